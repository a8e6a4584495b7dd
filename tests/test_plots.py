"""Plot conventions: no backend switch on import, Figures returned (saving optional), step
functions for best-so-far with linear axes on small budgets, directions and units in axis
labels, tau and n on pred-vs-true, the seed band explained in the legend."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from naspredict.evaluation.plots import plot_metric_vs_size, plot_pred_vs_true
from naspredict.search.base import SearchTrace
from naspredict.search.plots import plot_best_so_far, plot_pareto


def test_importing_the_plot_modules_leaves_the_backend_and_pyplot_alone():
    code = ("import matplotlib, sys; matplotlib.use('svg'); before = matplotlib.get_backend(); "
            "import naspredict, naspredict.plotting, naspredict.search.plots, naspredict.evaluation.plots, "
            "naspredict.oneshot.plots; "
            "assert matplotlib.get_backend() == before, matplotlib.get_backend(); "
            "assert 'matplotlib.pyplot' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def _trace(values, direction="max", target="latency"):
    v = np.asarray(values, float)
    best = np.maximum.accumulate(v) if direction == "max" else np.minimum.accumulate(v)
    frame = pd.DataFrame({"step": np.arange(len(v)), target: v, "best_so_far": best})
    return SearchTrace(frame, [target], [direction])


def test_best_so_far_is_a_step_function_with_direction_and_linear_small_budgets(tmp_path):
    rng = np.random.default_rng(0)
    runs = [_trace(rng.uniform(0.01, 0.1, 30), "min") for _ in range(3)]
    fig = plot_best_so_far({"random": runs}, None, optimum=0.005)
    assert isinstance(fig, Figure) and not list(tmp_path.iterdir())
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"
    assert ax.get_ylabel() == "best latency (s), lower is better"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "random (median of 3 runs)" in labels and "band: 25th to 75th percentile of runs" in labels
    assert any("table optimum" in t for t in labels)
    line = ax.get_lines()[0]
    assert line.get_drawstyle() == "steps-post"
    long = plot_best_so_far({"r": [_trace(rng.uniform(size=500))]}, tmp_path / "b.png")
    assert long.axes[0].get_xscale() == "log" and (tmp_path / "b.png").stat().st_size > 3000


def test_pareto_labels_and_pred_vs_true_annotation():
    found = np.array([[0.8, 0.02], [0.7, 0.01], [0.9, 0.05]])
    fig = plot_pareto(found, None, ["valid_perf", "latency"], ["max", "min"])
    assert fig.axes[0].get_xlabel() == "valid_perf, higher is better"
    assert fig.axes[0].get_ylabel() == "latency (s), lower is better"
    y = np.arange(20.0)
    fig = plot_pred_vs_true(y, y[::-1], metric="baseline_accuracy")
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "Kendall tau -1.000" in texts and "n = 20" in texts
    fig = plot_pred_vs_true(np.ones(5), np.arange(5.0))
    assert "Kendall tau undefined" in " ".join(t.get_text() for t in fig.axes[0].texts)


def test_metric_vs_size_explains_the_seed_band():
    table = pd.DataFrame({"predictor": ["rf"] * 4, "train_size": [10, 10, 20, 20], "seed": [0, 1, 0, 1],
                          "kendall_tau": [0.1, 0.2, 0.3, 0.4]})
    fig = plot_metric_vs_size(table)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["rf", "band: min to max over 2 seeds"]
