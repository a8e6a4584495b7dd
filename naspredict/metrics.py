"""Ranking and regression metrics for predictor evaluation."""
from __future__ import annotations

import numpy as np
from scipy import stats


def precision_at_top(y_true: np.ndarray, y_pred: np.ndarray, fraction: float) -> float:
    """Share of the true top-``fraction`` set that is also in the predicted top set (higher is
    better for both ``y_true`` and ``y_pred``).  The sets hold ``max(1, round(fraction*n))``."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    k = max(1, int(round(fraction * len(y_true))))
    true_top = set(np.argsort(-y_true, kind="stable")[:k].tolist())
    pred_top = set(np.argsort(-y_pred, kind="stable")[:k].tolist())
    return len(true_top & pred_top) / k


def interval_coverage(y_true, mean, std, level: float) -> float:
    """Fraction of ``y_true`` inside the central Gaussian ``level`` interval ``mean ± z*std``."""
    z = stats.norm.ppf(0.5 + level / 2)
    y_true, mean, std = (np.asarray(a, float) for a in (y_true, mean, std))
    return float(np.mean(np.abs(y_true - mean) <= z * std))


def ranking_metrics(y_true, y_pred, std=None) -> dict[str, float]:
    """Kendall tau, Spearman, Pearson (signed), MAE, RMSE, precision@top-1%/5%, and interval
    coverage (68% and 95%) when ``std`` is given.

    The three correlations are NaN (undefined) when ``y_true`` is constant: there is no
    ranking to recover.  A constant ``y_pred`` against a varying ``y_true`` scores 0.0: a
    predictor that ranks nothing gets no credit (scipy would return NaN there).

    Raises
    ------
    ValueError : arrays of different lengths, fewer than 2 values, or NaN/inf in either.
    """
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if len(y_true) != len(y_pred) or len(y_true) < 2:
        raise ValueError("need two equally long arrays with at least 2 values")
    if not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
        which = "y_true" if not np.isfinite(y_true).all() else "y_pred (the predictions)"
        raise ValueError(f"{which} holds NaN or inf values; ranking metrics need finite values")
    if np.ptp(y_true) == 0:
        corr = dict.fromkeys(("kendall_tau", "spearman", "pearson"), float("nan"))
    elif np.ptp(y_pred) == 0:
        corr = dict.fromkeys(("kendall_tau", "spearman", "pearson"), 0.0)
    else:
        corr = {"kendall_tau": float(stats.kendalltau(y_true, y_pred).statistic),
                "spearman": float(stats.spearmanr(y_true, y_pred).statistic),
                "pearson": float(stats.pearsonr(y_true, y_pred).statistic)}
    out = {
        **corr,
        "mae": float(np.mean(np.abs(y_true - y_pred))),
        "rmse": float(np.sqrt(np.mean((y_true - y_pred) ** 2))),
        "precision_top1": precision_at_top(y_true, y_pred, 0.01),
        "precision_top5": precision_at_top(y_true, y_pred, 0.05),
    }
    if std is not None:
        out["coverage_68"] = interval_coverage(y_true, y_pred, std, 0.68)
        out["coverage_95"] = interval_coverage(y_true, y_pred, std, 0.95)
    return out
