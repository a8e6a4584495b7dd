"""Evaluators: where ground truth comes from (table lookup; real training)."""
from .base import Evaluator, Result, evaluate_many
from .delayed import DelayedEvaluator
from .tabular import TabularEvaluator, as_evaluator

__all__ = ["Evaluator", "Result", "evaluate_many", "TabularEvaluator", "as_evaluator", "DelayedEvaluator"]
