"""An evaluator that takes real time: any evaluator followed by a real sleep.

Table lookups finish in microseconds, so on their own they cannot show whether an executor
really runs trials side by side.  ``DelayedEvaluator`` makes each trial last a chosen time
(fixed, or proportional to the table's simulated train time) so executors can be benchmarked
and tested with real per-trial durations and results that arrive out of order.
"""
from __future__ import annotations

import inspect
import math
import time
from typing import Any

from ..trials import Fidelity, Reporter, Result

__all__ = ["DelayedEvaluator"]


def _takes_report(evaluate) -> bool:
    try:
        params = inspect.signature(evaluate).parameters
    except (TypeError, ValueError):
        return True
    return "report" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class DelayedEvaluator:
    """Evaluate with ``inner``, then sleep.

    Parameters
    ----------
    inner : any evaluator (``evaluate(arch, fidelity, report=None) -> Result``).
    seconds : a fixed sleep after every evaluation.
    scale : sleep ``scale * result.cost`` seconds instead (e.g. ``scale=1e-3`` turns a
        table's 1,000 simulated seconds into 1 real second).

    Give exactly one of ``seconds`` and ``scale``.  The result is the inner one unchanged
    except ``info["delay_s"]``, the seconds slept (``cost`` stays the inner evaluator's).
    ``fidelity`` and ``report`` are passed through to ``inner`` when given (``report`` only
    if ``inner.evaluate`` takes it; otherwise the inner evaluation runs to its end).

    >>> class Const:
    ...     space = None
    ...     def evaluate(self, arch, fidelity=None):
    ...         return Result({"acc": 1.0}, cost=2.0)
    >>> DelayedEvaluator(Const(), scale=0.001).evaluate("a").info["delay_s"]
    0.002
    """

    def __init__(self, inner: Any, seconds: float | None = None, scale: float | None = None):
        if not callable(getattr(inner, "evaluate", None)):
            raise TypeError(f"inner must be an evaluator with an evaluate(arch, fidelity, report=None) "
                            f"method, got {type(inner).__name__}")
        if (seconds is None) == (scale is None):
            raise ValueError("give exactly one of seconds= (a fixed sleep per trial) and scale= "
                             "(sleep scale * result.cost)")
        for name, v in (("seconds", seconds), ("scale", scale)):
            if v is not None and not (isinstance(v, (int, float)) and not isinstance(v, bool)
                                      and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        self.inner = inner
        self.seconds = None if seconds is None else float(seconds)
        self.scale = None if scale is None else float(scale)

    @property
    def space(self):
        """The inner evaluator's search space."""
        return getattr(self.inner, "space", None)

    def delay_for(self, result: Result) -> float:
        """Seconds to sleep after ``result``."""
        if self.seconds is not None:
            return self.seconds
        cost = result.cost if math.isfinite(result.cost) else 0.0
        return max(0.0, self.scale * cost)

    def evaluate(self, arch: Any, fidelity: Fidelity | None = None, report: Reporter | None = None) -> Result:
        """The inner evaluation, then a real sleep of :meth:`delay_for` its result."""
        args = (arch,) if fidelity is None else (arch, fidelity)
        if report is not None and _takes_report(self.inner.evaluate):
            result = self.inner.evaluate(*args, report=report)
        else:
            result = self.inner.evaluate(*args)
        delay = self.delay_for(result)
        if delay > 0:
            time.sleep(delay)
        result.info["delay_s"] = delay
        return result

    def __repr__(self) -> str:
        how = f"seconds={self.seconds}" if self.seconds is not None else f"scale={self.scale}"
        return f"DelayedEvaluator({self.inner!r}, {how})"
