"""Plots of a gradient search: the probability of every op on every edge against epoch."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from matplotlib import colormaps

from ..plotting import finish, new_figure

__all__ = ["plot_op_probabilities"]

_NEEDED = ("epoch", "edge", "op", "prob")


def plot_op_probabilities(history: pd.DataFrame, path: str | Path | None = None, *,
                          columns: int | None = None):
    """One panel per edge (a grid; darts: normal edges, then reduce edges), op probability
    against epoch, one line per op, one legend for the figure.

    Parameters
    ----------
    history : :attr:`naspredict.oneshot.gradient.SearchResult.history` (columns ``epoch, edge,
        op, prob``, optionally ``kind``, ``edge_index``, ``method``, ``seed``, ``space``); the
        title names the method, space and seed when the frame has them.
    path : write the figure there (PNG, PDF... by suffix; folders are created) and close it.
    columns : panels per row (default: 6 for up to 6 edges per kind, else 7).

    Returns
    -------
    The matplotlib ``Figure`` (not managed by pyplot; also written to ``path`` when given).

    Raises
    ------
    ValueError : the frame lacks one of ``epoch, edge, op, prob`` or is empty.
    """
    missing = [c for c in _NEEDED if c not in history.columns]
    if missing or len(history) == 0:
        raise ValueError(f"history needs the columns {list(_NEEDED)} and at least one row (a "
                         f"SearchResult.history); missing: {missing or 'rows'}")
    h = history.copy()
    if "kind" not in h.columns:
        h["kind"] = ""
    order = h["edge_index"] if "edge_index" in h.columns else h.groupby(["kind", "edge"]).ngroup()
    h["_order"] = order
    kinds = list(dict.fromkeys(h["kind"]))
    panels = [(k, e) for k in kinds
              for e in h[h["kind"] == k].sort_values("_order")["edge"].drop_duplicates()]
    ops = list(dict.fromkeys(h["op"]))
    per_kind = max(len(h[h["kind"] == k]["edge"].unique()) for k in kinds)
    ncols = columns or (per_kind if per_kind <= 6 else 7)
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = new_figure((2.4 * ncols, 2.0 * nrows + 0.6), nrows, ncols,
                           sharex=True, sharey=True, squeeze=False)
    cmap = colormaps["tab10"]
    lines = {}
    for ax, (kind, edge) in zip(axes.flat, panels):
        sub = h[(h["kind"] == kind) & (h["edge"] == edge)]
        for o, op in enumerate(ops):
            s = sub[sub["op"] == op].sort_values("epoch")
            (line,) = ax.plot(s["epoch"], s["prob"], color=cmap(o % 10), lw=1.4, label=op)
            lines.setdefault(op, line)
        ax.set_title(f"{kind} {edge}".strip(), fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    for ax in axes[:, 0]:
        ax.set_ylabel("op probability")
    title = "op probability per edge"
    meta = [f"{c} {h[c].iloc[0]}" for c in ("method", "space", "seed")
            if c in h.columns and h[c].nunique() == 1]
    if meta:
        title = f"{', '.join(meta)}: {title}"
    fig.suptitle(title)
    fig.legend(list(lines.values()), list(lines), loc="upper center", ncol=min(len(ops), 8),
               bbox_to_anchor=(0.5, 0.0), fontsize=8, frameon=False)
    return finish(fig, path)
