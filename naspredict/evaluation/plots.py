"""Plots for predictor evaluation: tau against train size, predicted against true.

Both return the matplotlib ``Figure``; ``path`` (optional) also writes it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..plotting import finish, new_figure


def plot_metric_vs_size(table: pd.DataFrame, path: str | Path | None = None,
                        metric: str = "kendall_tau", title: str | None = None) -> Figure:
    """One line per predictor (mean over seeds) with a band from the min to the max seed.

    ``table`` is :attr:`EvaluationResult.table` (columns ``predictor``, ``train_size``, ``seed``
    and ``metric``).  Returns the Figure; ``path`` also writes it.
    """
    fig, ax = new_figure((6.4, 4.2))
    n_seeds = int(table.groupby(["predictor", "train_size"]).size().max()) if len(table) else 0
    for label, g in table.groupby("predictor", sort=False):
        stats = g.groupby("train_size")[metric].agg(["mean", "min", "max"]).sort_index()
        ax.plot(stats.index, stats["mean"], marker="o", label=label)
        ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.15)
    ax.set_xscale("log")
    sizes = sorted(table["train_size"].unique())
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("training architectures")
    ax.set_ylabel(metric.replace("_", " "))
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if n_seeds > 1:
        from matplotlib.patches import Patch
        handles.append(Patch(color="0.6", alpha=0.3))
        labels.append(f"band: min to max over {n_seeds} seeds")
    ax.legend(handles, labels, fontsize=8)
    if title:
        ax.set_title(title)
    return finish(fig, path)


def plot_pred_vs_true(y_true, y_pred, path: str | Path | None = None, title: str = "",
                      metric: str = "target") -> Figure:
    """Scatter of predicted against true values with the identity line; the Kendall tau and
    the number of points are written in the corner.  Returns the Figure; ``path`` also
    writes it."""
    from scipy.stats import kendalltau

    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    fig, ax = new_figure((4.6, 4.4))
    ax.scatter(y_true, y_pred, s=3, alpha=0.3)
    lo, hi = np.nanmin([y_true.min(), y_pred.min()]), np.nanmax([y_true.max(), y_pred.max()])
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, label="predicted = true")
    ok = np.isfinite(y_true) & np.isfinite(y_pred)
    tau = kendalltau(y_true[ok], y_pred[ok]).statistic if ok.sum() > 1 else float("nan")
    tau_text = "undefined" if not np.isfinite(tau) else f"{tau:.3f}"
    ax.text(0.03, 0.97, f"Kendall tau {tau_text}\nn = {int(ok.sum()):,}", transform=ax.transAxes,
            va="top", fontsize=8, bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})
    ax.set_xlabel(f"true {metric}")
    ax.set_ylabel(f"predicted {metric}")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    return finish(fig, path)
