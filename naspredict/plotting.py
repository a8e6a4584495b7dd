"""Matplotlib set-up shared by the plot modules: figures without pyplot, one way to save.

Importing naspredict never switches the user's matplotlib backend: plots are built on
:class:`matplotlib.figure.Figure` objects that pyplot does not manage (no global state, nothing
to close, safe in threads and on headless machines), and every plotting function returns its
Figure (saving to ``path`` is optional), as scikit-learn's and Optuna's displays do.  In a
notebook the returned Figure displays itself; ``fig.savefig(...)`` writes it anywhere.
"""
from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

#: words for a direction, used in axis labels.
DIRECTION_WORDS = {"max": "higher is better", "min": "lower is better"}

#: units of the metrics our tables carry, for axis labels (names not listed get none).
UNITS = {"latency": "s", "para": "M params", "params": "M params", "flops": "MFLOPs",
         "baseline_accuracy": "%", "test_accuracy": "%", "val_accuracy": "%", "valid_perf": "",
         "perf": ""}


def new_figure(figsize: tuple[float, float] = (6.4, 4.2), nrows: int = 1, ncols: int = 1, **subplot_kw):
    """A Figure not managed by pyplot, and its axes (one ``Axes``, or an array with
    ``squeeze=False`` / several rows or columns)."""
    fig = Figure(figsize=figsize)
    axes = fig.subplots(nrows, ncols, **subplot_kw)
    return fig, axes


def metric_label(name: str, direction: str | None = None) -> str:
    """``"latency (s), lower is better"``: the metric's name, its unit when known, and the
    direction when given."""
    unit = UNITS.get(name, "")
    text = f"{name} ({unit})" if unit else name
    return f"{text}, {DIRECTION_WORDS[direction]}" if direction in DIRECTION_WORDS else text


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Lay out and write ``fig`` (creating the folder; the format follows the suffix); returns
    the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=130, bbox_inches="tight")  # keeps legends placed outside the axes
    return path


def finish(fig: Figure, path: str | Path | None) -> Figure:
    """Save ``fig`` to ``path`` when one is given; return the Figure either way."""
    if path is not None:
        save_figure(fig, path)
    return fig
