"""Evaluator contract: ``evaluate(arch, fidelity=None) -> Result``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence


@dataclass
class Result:
    """One evaluation.

    ``metrics``: name -> value; ``curve``: per-epoch values (optional); ``cost``: seconds the
    evaluation took or would take (simulated for tables); ``status``: ``"ok"`` or
    ``"failed"``, with ``error`` saying why.
    """

    metrics: dict[str, float] = field(default_factory=dict)
    curve: list[float] | None = None
    cost: float = 0.0
    status: str = "ok"
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Evaluator(Protocol):
    """Anything with ``evaluate(arch, fidelity=None) -> Result`` and a ``space``."""

    space: Any

    def evaluate(self, arch: Any, fidelity: Any = None) -> Result: ...


def evaluate_many(evaluator: Evaluator, archs: Sequence[Any], fidelity: Any = None) -> list[Result]:
    """Evaluate in-process, one after the other."""
    return [evaluator.evaluate(a, fidelity) for a in archs]
