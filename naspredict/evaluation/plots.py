"""Plots for predictor evaluation: tau against train size, predicted against true."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..plotting import plt, save_figure


def plot_metric_vs_size(table: pd.DataFrame, path: str | Path, metric: str = "kendall_tau",
                        title: str | None = None) -> Path:
    """One line per predictor (mean over seeds) with a band from the min to the max seed."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
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
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def plot_pred_vs_true(y_true, y_pred, path: str | Path, title: str = "") -> Path:
    """Scatter of predicted against true values with the identity line."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    ax.scatter(y_true, y_pred, s=3, alpha=0.3)
    lo, hi = np.nanmin([y_true.min(), y_pred.min()]), np.nanmax([y_true.max(), y_pred.max()])
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)
