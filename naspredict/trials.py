"""The record every layer shares: fidelities, results, trial states and trials.

This is the bottom layer of naspredict: it imports nothing of ours, so spaces, evaluators,
executors, strategies and the store can all speak the same types.

>>> f = Fidelity(epochs=12)
>>> f.key()
'epochs=12'
>>> Fidelity.from_key("epochs=12") == f, FULL.key()
(True, 'full')
>>> r = Result({"val_accuracy": 91.2}, curves={"val_accuracy": [80.0, 91.2]}, cost=3.5)
>>> r.ok, r.state
(True, <TrialState.COMPLETE: 'complete'>)
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any, Callable, Mapping

__all__ = ["Fidelity", "FULL", "TrialState", "Result", "Trial", "Reporter"]

_INT_FIELDS = ("epochs", "channels", "cells", "resolution")


@dataclass(frozen=True)
class Fidelity:
    """How much of an evaluation to spend: a frozen, hashable value.

    Every field is optional; ``None`` means "the evaluator's full setting" (its schedule,
    width, depth, all of the training split, native resolution), so ``Fidelity()`` (``FULL``)
    is the full evaluation.

    Parameters
    ----------
    epochs : training epochs (or the epoch of a table's curve to read).
    channels : initial channels (network width).
    cells : cells per stage (network depth).
    data_fraction : share of the training split, in ``(0, 1]``.
    resolution : input side length in pixels.
    """

    epochs: int | None = None
    channels: int | None = None
    cells: int | None = None
    data_fraction: float | None = None
    resolution: int | None = None

    def __post_init__(self) -> None:
        for name in _INT_FIELDS:
            v = getattr(self, name)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int,)) and not (
                    isinstance(v, float) and v.is_integer()):
                raise ValueError(f"Fidelity.{name} must be a positive integer or None, got {v!r}")
            if int(v) < 1:
                raise ValueError(f"Fidelity.{name} must be >= 1 (or None for the full setting), got {v!r}")
            object.__setattr__(self, name, int(v))
        d = self.data_fraction
        if d is not None:
            if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0.0 < float(d) <= 1.0:
                raise ValueError(f"Fidelity.data_fraction must be in (0, 1] or None, got {d!r}")
            object.__setattr__(self, "data_fraction", None if float(d) == 1.0 else float(d))

    # -- identity ------------------------------------------------------------------------------
    @property
    def is_full(self) -> bool:
        """True when every field is the evaluator's full setting."""
        return all(getattr(self, f.name) is None for f in fields(self))

    def key(self) -> str:
        """Canonical text: ``"full"``, or the set fields as ``name=value`` joined by commas in
        field order (``"epochs=12,channels=8"``).  Equal fidelities give equal keys."""
        parts = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if getattr(self, f.name) is not None]
        return ",".join(parts) if parts else "full"

    @classmethod
    def from_key(cls, text: str) -> "Fidelity":
        """Parse :meth:`key`'s form back (also ``""`` for full)."""
        text = (text or "").strip()
        if text in ("", "full"):
            return FULL
        kw: dict[str, Any] = {}
        names = {f.name for f in fields(cls)}
        for part in text.split(","):
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep or name not in names:
                raise ValueError(f"bad fidelity {text!r}: expected 'full' or comma-separated "
                                 f"name=value with names from {sorted(names)}, e.g. 'epochs=12'")
            try:
                kw[name] = float(value) if name == "data_fraction" else int(value)
            except ValueError:
                raise ValueError(f"bad fidelity {text!r}: {name} needs a number, got {value!r}") from None
        return cls(**kw)

    def at_most(self, other: "Fidelity") -> bool:
        """Partial order: every field of ``self`` is at most ``other``'s (``None`` = full,
        larger than any number).  ``Fidelity(epochs=12).at_most(FULL)`` is True."""
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if b is None:
                continue
            if a is None or a > b:
                return False
        return True

    def replace(self, **changes) -> "Fidelity":
        """A copy with some fields changed."""
        return replace(self, **changes)

    def __str__(self) -> str:
        return self.key()


#: the full evaluation (every field at the evaluator's own setting).
FULL = Fidelity()


class TrialState(str, Enum):
    """Life cycle of a trial: ``waiting -> running -> complete | pruned | failed``."""

    WAITING = "waiting"
    RUNNING = "running"
    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        """True for complete, pruned and failed trials."""
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)


_LEGACY_STATUS = {"ok": TrialState.COMPLETE, "failed": TrialState.FAILED, "pruned": TrialState.PRUNED}


@dataclass(init=False)
class Result:
    """One evaluation.

    Parameters
    ----------
    metrics : name -> final value.
    curves : name -> per-epoch values (e.g. ``val_accuracy``, ``train_loss``); a pruned
        trial keeps its partial curves.
    cost : seconds the evaluation took or would take (simulated for tables).
    fidelity : the fidelity it was evaluated at.
    state : ``COMPLETE``, ``PRUNED`` or ``FAILED`` (a ``TrialState`` or its value).
    error : why it failed.
    info : anything else worth keeping: params, FLOPs, latency, device, worker.
    curve : deprecated alias: one anonymous curve, stored as ``curves["curve"]``.
    status : deprecated alias of ``state``: ``"ok"``, ``"failed"`` or ``"pruned"``.
    """

    metrics: dict[str, float]
    curves: dict[str, list[float]]
    cost: float
    fidelity: Fidelity
    state: TrialState
    error: str | None
    info: dict[str, Any]

    def __init__(self, metrics: Mapping[str, float] | None = None,
                 curves: Mapping[str, list[float]] | None = None, cost: float = 0.0,
                 fidelity: Fidelity | None = None, state: TrialState | str = TrialState.COMPLETE,
                 error: str | None = None, info: Mapping[str, Any] | None = None, *,
                 curve: list[float] | None = None, status: str | None = None):
        if metrics is not None and not isinstance(metrics, Mapping):
            raise TypeError(f"Result.metrics must be a mapping name -> value, got {type(metrics).__name__}")
        if curves is not None and not isinstance(curves, Mapping):
            raise TypeError("Result.curves must be a mapping name -> list of per-epoch values; "
                            "for one anonymous curve use curves={'curve': values}")
        self.metrics = dict(metrics or {})
        self.curves = {str(k): [float(v) for v in c] for k, c in (curves or {}).items()}
        if curve is not None:
            warnings.warn("Result(curve=...) is deprecated; use curves={'name': values}",
                          DeprecationWarning, stacklevel=2)
            self.curves.setdefault("curve", [float(v) for v in curve])
        self.cost = float(cost)
        if fidelity is not None and not isinstance(fidelity, Fidelity):
            raise TypeError(f"Result.fidelity must be a Fidelity, got {type(fidelity).__name__}")
        self.fidelity = FULL if fidelity is None else fidelity
        if status is not None:
            if status not in _LEGACY_STATUS:
                raise ValueError(f"status must be one of {sorted(_LEGACY_STATUS)}, got {status!r}")
            state = _LEGACY_STATUS[status]
        try:
            self.state = TrialState(state)
        except ValueError:
            raise ValueError(f"Result.state must be one of {[s.value for s in TrialState]}, got {state!r}") from None
        if not self.state.finished:
            raise ValueError(f"a Result ends a trial: its state is complete, pruned or failed, not {self.state.value}")
        self.error = error
        self.info = dict(info or {})

    @property
    def ok(self) -> bool:
        """True for a complete evaluation."""
        return self.state is TrialState.COMPLETE

    @property
    def status(self) -> str:
        """Deprecated short form of :attr:`state`: ``"ok"``, ``"failed"`` or ``"pruned"``."""
        return "ok" if self.ok else self.state.value

    @property
    def curve(self) -> list[float] | None:
        """Deprecated: the only curve (or ``curves["curve"]``); ``None`` when there is none."""
        if "curve" in self.curves:
            return self.curves["curve"]
        if len(self.curves) == 1:
            return next(iter(self.curves.values()))
        return None

    @classmethod
    def failed(cls, error: str, *, cost: float = 0.0, fidelity: Fidelity | None = None,
               info: Mapping[str, Any] | None = None) -> "Result":
        """A failed evaluation with its reason."""
        return cls(cost=cost, fidelity=fidelity, state=TrialState.FAILED, error=error, info=info)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (the store and executors use it)."""
        return {"metrics": {k: _json_float(v) for k, v in self.metrics.items()}, "curves": self.curves,
                "cost": self.cost, "fidelity": self.fidelity.key(), "state": self.state.value,
                "error": self.error, "info": self.info}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Result":
        """Inverse of :meth:`to_dict`."""
        return cls(metrics={k: (math.nan if v is None else v) for k, v in d.get("metrics", {}).items()},
                   curves=d.get("curves") or {}, cost=d.get("cost", 0.0),
                   fidelity=Fidelity.from_key(d.get("fidelity", "full")),
                   state=d.get("state", "complete"), error=d.get("error"), info=d.get("info") or {})


def _json_float(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return f if math.isfinite(f) else (None if math.isnan(f) else f)


@dataclass
class Trial:
    """One (arch, fidelity) evaluation as the run loop tracks it.

    ``id`` is the trial's number within its run (assigned by the loop; ``None`` for a trial
    made by hand).  ``parent`` is the trial it was promoted from (multi-fidelity search).
    """

    id: int | None
    arch: Any
    fidelity: Fidelity = FULL
    state: TrialState = TrialState.WAITING
    result: Result | None = None
    parent: int | None = None
    worker: str | None = None

    def finish(self, result: Result) -> "Trial":
        """Attach ``result`` and take its state; returns ``self``."""
        if not isinstance(result, Result):
            raise TypeError(f"a trial finishes with a Result, got {type(result).__name__}; "
                            f"wrap values as Result(metrics={{'name': value}})")
        self.result = result
        self.state = result.state
        return self


#: ``report(step, metrics) -> stop?``: an evaluator calls it after each epoch (step 1, 2, ...);
#: a True return asks it to stop and return a ``PRUNED`` result with its partial curves.
Reporter = Callable[[int, Mapping[str, float]], bool]
