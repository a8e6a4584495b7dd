"""Search plots: best-so-far against queries, the Pareto front found against the true one, and
the learning curves of trained trials."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..plotting import finish, metric_label, new_figure
from .base import SearchTrace

#: budgets up to this many queries get a linear x axis (a log axis squeezes small runs).
LINEAR_UP_TO = 200


def plot_best_so_far(traces: Mapping[str, Sequence[SearchTrace]] | SearchTrace,
                     path: str | Path | None = None, optimum: float | None = None,
                     title: str = "") -> Figure:
    """Best value so far against the number of queries, as a step function.

    ``traces`` maps a label (strategy) to its runs; each line is the median over runs with a
    band from the 25th to the 75th percentile (said in the legend).  The y label names the
    metric and its direction; ``optimum`` (the table's best, in the same direction) is drawn
    as a dashed line.  The x axis is linear up to :data:`LINEAR_UP_TO` queries, logarithmic
    beyond.  Returns the Figure; ``path`` also writes it.
    """
    if isinstance(traces, SearchTrace):
        traces = {"run": [traces]}
    fig, ax = new_figure((6.4, 4.2))
    longest = 1
    band_shown = False
    for label, runs in traces.items():
        n = min(len(t.frame) for t in runs)
        if n == 0:
            continue
        longest = max(longest, n)
        curves = np.array([t.frame["best_so_far"].to_numpy(float)[:n] for t in runs])
        x = np.arange(1, n + 1)
        text = label if len(runs) == 1 else f"{label} (median of {len(runs)} runs)"
        (line,) = ax.step(x, np.nanmedian(curves, 0), where="post", label=text)
        if len(runs) > 1:
            lo, hi = np.nanpercentile(curves, 25, 0), np.nanpercentile(curves, 75, 0)
            ax.fill_between(x, lo, hi, step="post", alpha=0.15, color=line.get_color(),
                            label=None if band_shown else "band: 25th to 75th percentile of runs")
            band_shown = True
    first = next(iter(traces.values()))[0]
    direction = first.directions[0]
    if optimum is not None:
        ax.axhline(optimum, color="k", lw=0.8, ls="--", label=f"table optimum ({optimum:g})")
    ax.set_xlabel("queries")
    ax.set_ylabel(f"best {metric_label(first.targets[0], direction)}")
    if longest > LINEAR_UP_TO:
        ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right" if direction == "max" else "upper right")
    ax.set_title(title, fontsize=10)
    return finish(fig, path)


def plot_pareto(found: np.ndarray, path: str | Path | None, names: Sequence[str],
                directions: Sequence[str], table: np.ndarray | None = None,
                title: str = "") -> Figure:
    """The points a search evaluated and their Pareto front, against the table's true front
    (2-D; for more objectives the first two are drawn).  Axis labels carry each metric's unit
    (when known) and direction.  Returns the Figure; ``path`` (may be ``None``) also writes it."""
    from .pareto import pareto_front

    signs = np.array([1.0 if d == "max" else -1.0 for d in directions[:2]])
    fig, ax = new_figure((5.6, 4.4))
    if table is not None:
        ax.scatter(table[:, 0], table[:, 1], s=2, color="0.85", label="all archs in the table")
        tf = table[pareto_front(table[:, :2] * signs)]
        tf = tf[np.argsort(tf[:, 0])]
        ax.step(tf[:, 0], tf[:, 1], where="post", color="k", lw=1, label="true Pareto front")
    ax.scatter(found[:, 0], found[:, 1], s=8, color="tab:blue", alpha=0.6, label="evaluated")
    ff = found[pareto_front(found[:, :2] * signs)]
    ff = ff[np.argsort(ff[:, 0])]
    ax.step(ff[:, 0], ff[:, 1], where="post", color="tab:red", lw=1.5, label="front found")
    ax.set_xlabel(metric_label(names[0], directions[0]))
    ax.set_ylabel(metric_label(names[1], directions[1]))
    if table is not None and directions[1] == "min" and (table[:, 1] > 0).all():
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return finish(fig, path)


def plot_learning_curves(curves: Sequence[Sequence[float]], path: str | Path | None = None, *,
                         labels: Sequence[str] | None = None, highlight: int = 0,
                         ylabel: str = "validation accuracy (%)", title: str = "") -> Figure:
    """One line per trial: a curve's value against the epoch (e.g. ``result.curves["val"]``).

    ``highlight`` > 0 draws the ``highlight`` curves with the best last value in colour (with
    their ``labels``, when given) and the rest in grey; pruned (shorter) curves end where they
    stopped.  Returns the Figure; ``path`` also writes it.
    """
    curves = [np.asarray(c, float) for c in curves]
    if not curves:
        raise ValueError("no curves to plot")
    last = np.array([c[-1] if len(c) else -np.inf for c in curves])
    top = set(np.argsort(-last)[:highlight].tolist()) if highlight else set(range(len(curves)))
    fig, ax = new_figure((5.6, 4.0))
    for i, c in enumerate(curves):
        x = np.arange(1, len(c) + 1)
        if i in top:
            ax.plot(x, c, lw=1.4, marker="o" if len(c) < 15 else None, ms=3,
                    label=labels[i] if labels is not None else None)
        else:
            ax.plot(x, c, lw=0.7, color="0.75", zorder=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if labels is not None:  # below the axes: a legend inside would cover the late epochs
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.17), frameon=False)
    if title:
        ax.set_title(title, fontsize=9)
    return finish(fig, path)
