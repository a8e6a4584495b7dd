"""Evaluator contract: ``evaluate(arch, fidelity=FULL, report=None) -> Result``.

``report(step, metrics)`` (optional) is called by the evaluator after each epoch; when it
returns True the evaluator stops and returns a ``PRUNED`` result with its partial curves.
``Result`` lives in :mod:`naspredict.trials` (re-exported here).
"""
from __future__ import annotations

from typing import Any, Protocol, Sequence

from ..trials import FULL, Fidelity, Reporter, Result


class Evaluator(Protocol):
    """Anything with ``evaluate(arch, fidelity=FULL, report=None) -> Result`` and a ``space``."""

    space: Any

    def evaluate(self, arch: Any, fidelity: Fidelity = FULL, report: Reporter | None = None) -> Result: ...


def evaluate_many(evaluator: Evaluator, archs: Sequence[Any], fidelity: Fidelity = FULL) -> list[Result]:
    """Evaluate in-process, one after the other."""
    return [evaluator.evaluate(a, fidelity) for a in archs]


__all__ = ["Evaluator", "Result", "evaluate_many"]
