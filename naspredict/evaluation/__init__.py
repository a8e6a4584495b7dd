"""Predictor evaluation: ranking metrics over a (predictor, train size, seed) grid, with plots."""
from .plots import plot_metric_vs_size, plot_pred_vs_true
from .runner import COLUMNS, EvaluationResult, adopt_results, evaluate
from .splits import SPLITS, train_test_split

__all__ = ["evaluate", "adopt_results", "EvaluationResult", "COLUMNS", "train_test_split", "SPLITS",
           "plot_metric_vs_size", "plot_pred_vs_true"]
