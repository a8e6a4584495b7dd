"""Executor contract, the worker-side call, and the in-process executors.

An executor stands between the run loop and an evaluator.  The loop calls ``start(evaluator)``
once (the evaluator is sent to each worker once), ``submit(trial)`` while ``free_slots`` is
positive, and ``poll()`` for finished trials, which may arrive in any order.  Executors never
write the store and never import ``search``: workers return results, the driver records them.

Every executor turns an exception raised by the evaluator into a ``failed`` trial with the
reason (the run goes on); only the driver's own errors stop a run.
"""
from __future__ import annotations

import heapq
import inspect
import os
import socket
import time
import traceback
from abc import ABC, abstractmethod
from typing import Any

from ..trials import Fidelity, Reporter, Result, Trial, TrialState

__all__ = ["Executor", "SerialExecutor", "SimulatedExecutor", "execute_trial", "worker_name"]


def worker_name() -> str:
    """``host:pid`` of the calling process (kept in ``Result.info["worker"]``)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _accepts_report(evaluator) -> bool:
    try:
        params = inspect.signature(evaluator.evaluate).parameters
    except (TypeError, ValueError):
        return True
    return "report" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def execute_trial(evaluator, arch: Any, fidelity: Fidelity, report: Reporter | None = None) -> Result:
    """Run one evaluation where the executor runs it (in-process or in a worker).

    Calls ``evaluator.evaluate(arch, fidelity, report=report)`` (``report`` only when given;
    an evaluator without a ``report`` argument simply runs to the end).  Any exception becomes
    a ``failed`` result naming it; the wall time is the cost when the evaluator gives none,
    and ``info["worker"]`` says where it ran.
    """
    t0 = time.perf_counter()
    try:
        if report is not None and _accepts_report(evaluator):
            result = evaluator.evaluate(arch, fidelity, report=report)
        else:
            result = evaluator.evaluate(arch, fidelity)
        if not isinstance(result, Result):
            raise TypeError(f"{type(evaluator).__name__}.evaluate returned {type(result).__name__}, "
                            f"not a naspredict Result")
    except Exception as err:  # the trial fails, the run goes on
        tb = traceback.format_exc(limit=-3)
        result = Result.failed(f"{type(err).__name__}: {err}\n{tb}", cost=time.perf_counter() - t0,
                               fidelity=fidelity)
    if result.fidelity.is_full and not fidelity.is_full:
        result.fidelity = fidelity
    result.info.setdefault("worker", worker_name())
    return result


class Executor(ABC):
    """Runs trials of one evaluator on some workers.

    Subclasses implement :meth:`_start`, :meth:`submit`, :meth:`poll` and may override
    :meth:`cancel` and :meth:`shutdown`.  ``n_workers`` is how many trials run at once.
    """

    n_workers: int = 1

    def __init__(self) -> None:
        self.evaluator = None
        self._running: dict[int, Trial] = {}

    # -- life cycle ---------------------------------------------------------------------------
    def start(self, evaluator) -> "Executor":
        """Bind the evaluator (sent to each worker once); returns ``self``."""
        if not callable(getattr(evaluator, "evaluate", None)):
            raise TypeError(f"an evaluator needs an evaluate(arch, fidelity, report=None) method; "
                            f"got {type(evaluator).__name__}")
        self.evaluator = evaluator
        self._start(evaluator)
        return self

    def _start(self, evaluator) -> None:
        """Hook: set up workers."""

    def shutdown(self, wait: bool = True) -> None:
        """Release the workers (running trials are abandoned when ``wait`` is False)."""
        self._running.clear()

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown(wait=exc[0] is None)

    # -- trials --------------------------------------------------------------------------------
    @property
    def free_slots(self) -> int:
        """How many more trials can be submitted now."""
        return max(0, self.n_workers - len(self._running))

    @property
    def running(self) -> list[Trial]:
        """Trials submitted and not yet returned by :meth:`poll`."""
        return list(self._running.values())

    def now(self) -> float:
        """The executor's clock in seconds (wall time; simulated time for the simulator)."""
        return time.monotonic()

    @abstractmethod
    def submit(self, trial: Trial, report: Reporter | None = None) -> None:
        """Start ``trial`` (its state becomes ``running``); ``report`` runs where it runs."""

    @abstractmethod
    def poll(self, timeout: float | None = None) -> list[Trial]:
        """Finished trials (any order), each with its ``result``; waits up to ``timeout``
        seconds for at least one (``None``: until one finishes) while any is running."""

    def cancel(self, trial_id: int) -> None:
        """Forget a running trial (its result, if it ever arrives, is dropped)."""
        self._running.pop(trial_id, None)

    def _check_started(self) -> None:
        if self.evaluator is None:
            raise RuntimeError(f"{type(self).__name__}.start(evaluator) must be called before submit")

    def _register(self, trial: Trial) -> None:
        self._check_started()
        if trial.id is None:
            raise ValueError("a submitted trial needs an id (the run loop numbers them)")
        if trial.id in self._running:
            raise ValueError(f"trial {trial.id} is already running")
        if self.free_slots <= 0:
            raise RuntimeError(f"no free slot: {len(self._running)} of {self.n_workers} workers busy")
        trial.state = TrialState.RUNNING
        self._running[trial.id] = trial


class SerialExecutor(Executor):
    """Runs each trial in this process when polled (today's behaviour; the default).

    ``n_slots`` trials may be queued at once (a strategy's batch); :meth:`poll` evaluates
    all of them, in submission order, and returns them together.
    """

    def __init__(self, n_slots: int = 1):
        super().__init__()
        if n_slots < 1:
            raise ValueError(f"n_slots must be >= 1, got {n_slots}")
        self.n_workers = int(n_slots)
        self._queue: list[tuple[Trial, Reporter | None]] = []

    def submit(self, trial: Trial, report: Reporter | None = None) -> None:
        self._register(trial)
        self._queue.append((trial, report))

    def poll(self, timeout: float | None = None) -> list[Trial]:
        done = []
        queue, self._queue = self._queue, []
        for trial, report in queue:
            if trial.id not in self._running:
                continue  # cancelled
            result = execute_trial(self.evaluator, trial.arch, trial.fidelity, report)
            done.append(self._running.pop(trial.id).finish(result))
        return done

    def cancel(self, trial_id: int) -> None:
        super().cancel(trial_id)
        self._queue = [(t, r) for t, r in self._queue if t.id != trial_id]


class SimulatedExecutor(Executor):
    """``n_workers`` virtual workers on a simulated clock.

    A trial is evaluated at once, in this process, but "finishes" ``Result.cost`` simulated
    seconds after it started on a free virtual worker; :meth:`poll` returns trials in the
    order of their simulated finish times (ties by submission), and :meth:`now` is the
    simulated clock.  Asynchronous and multi-fidelity strategies can so be benchmarked on
    tables in seconds, results arriving out of order as they would on a real cluster (the idea
    of syne-tune's simulator back-end).

    ``cost`` : optional ``cost(trial, result) -> seconds`` overriding ``Result.cost`` (e.g.
    a seeded draw for a table without train times).
    """

    def __init__(self, n_workers: int = 4, cost=None):
        super().__init__()
        if n_workers < 1:
            raise ValueError(f"n_workers must be >= 1, got {n_workers}")
        self.n_workers = int(n_workers)
        self.cost = cost
        self.clock = 0.0
        self._events: list[tuple[float, int, int]] = []   # (finish time, order, trial id)
        self._done: dict[int, Result] = {}
        self._order = 0

    def now(self) -> float:
        return self.clock

    def submit(self, trial: Trial, report: Reporter | None = None) -> None:
        self._register(trial)
        result = execute_trial(self.evaluator, trial.arch, trial.fidelity, report)
        seconds = float(self.cost(trial, result)) if self.cost is not None else result.cost
        if not seconds >= 0:
            raise ValueError(f"simulated cost must be >= 0 seconds, got {seconds!r}")
        result.info["simulated_start"] = self.clock
        self._done[trial.id] = result
        heapq.heappush(self._events, (self.clock + seconds, self._order, trial.id))
        self._order += 1

    def poll(self, timeout: float | None = None) -> list[Trial]:
        """The next trial to finish on the simulated clock; with ``timeout``, nothing (and the
        clock moved on by ``timeout``) when none finishes that soon."""
        while self._events:
            if timeout is not None and self._events[0][0] > self.clock + timeout:
                self.clock += timeout
                return []
            finish, _, tid = heapq.heappop(self._events)
            result = self._done.pop(tid)
            trial = self._running.pop(tid, None)
            if trial is None:
                continue  # cancelled
            self.clock = max(self.clock, finish)
            result.info["simulated_finish"] = self.clock
            return [trial.finish(result)]
        return []

    def cancel(self, trial_id: int) -> None:
        super().cancel(trial_id)
        self._done.pop(trial_id, None)
