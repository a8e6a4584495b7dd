"""Evaluators: where ground truth comes from (table lookup; real training)."""
from .base import Evaluator, Result, evaluate_many
from .delayed import DelayedEvaluator
from .oneshot import OneShotEvaluator
from .multifidelity import MultiFidelityTableEvaluator, TableLevel, nb201_mf
from .tabular import FidelitySpace, TabularEvaluator, as_evaluator
from .training import TrainingEvaluator

__all__ = ["Evaluator", "Result", "evaluate_many", "TabularEvaluator", "as_evaluator", "DelayedEvaluator",
           "FidelitySpace", "MultiFidelityTableEvaluator", "TableLevel", "nb201_mf", "TrainingEvaluator",
           "OneShotEvaluator"]
