"""The one run loop: a strategy, an evaluator, an executor, a budget, and a store.

:func:`run` keeps every worker of the executor busy: whenever a slot is free it asks the
strategy for proposals, records them in the store as ``running`` (together with the
strategy's state) and dispatches them; each finished trial is told to the strategy (and the
pruner) as it arrives, and its result is committed with the strategy's new state in one
transaction.  So:

* a crash or ``kill -9`` of the driver loses no finished trial;
* ``resume=True`` restores the strategy from its saved state, re-dispatches the trials that
  were running at the kill, and never re-runs a finished one; a serial run resumed this way
  produces exactly the trace of an uninterrupted run.

Budgets count evaluations (finished trials, failed and pruned ones included), the summed
``Result.cost`` (seconds; simulated for tables) or wall seconds on the executor's clock
(the simulated clock for :class:`~naspredict.executors.SimulatedExecutor`).  When an
evaluation or cost budget is reached no new trial starts and the running ones are awaited;
when the wall budget is reached the running ones are abandoned and left ``running`` in the
store, so a resume dispatches them again.
"""
from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

from tqdm.auto import tqdm

from ..executors import Executor, SerialExecutor
from ..trials import Trial, TrialState
from .base import Proposal, SearchTrace, Strategy

__all__ = ["Budget", "run"]


@dataclass(frozen=True)
class Budget:
    """When a run stops: after ``evaluations`` finished trials, ``cost_seconds`` of summed
    ``Result.cost``, or ``wall_seconds`` on the executor's clock, whichever comes first
    (``None``: no limit of that kind; at least one must be set)."""

    evaluations: int | None = None
    cost_seconds: float | None = None
    wall_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.evaluations is None and self.cost_seconds is None and self.wall_seconds is None:
            raise ValueError("a Budget needs evaluations, cost_seconds or wall_seconds")
        if self.evaluations is not None and (isinstance(self.evaluations, bool) or int(self.evaluations) != self.evaluations
                                             or self.evaluations < 1):
            raise ValueError(f"budget evaluations must be a whole number >= 1, got {self.evaluations!r}")
        for name in ("cost_seconds", "wall_seconds"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
                raise ValueError(f"budget {name} must be a positive number of seconds, got {v!r}")

    @classmethod
    def coerce(cls, budget: "Budget | int") -> "Budget":
        """A Budget from a Budget or a number of evaluations."""
        if isinstance(budget, Budget):
            return budget
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget != int(budget):
            raise ValueError(f"budget must be a whole number of evaluations or a Budget, got {budget!r}")
        if budget < 1:
            raise ValueError("budget must be at least 1")
        return cls(evaluations=int(budget))


def _config(strategy: Strategy, budget: Budget, config: dict | None) -> dict:
    return {"strategy": type(strategy).__name__, "targets": strategy.targets,
            "directions": strategy.directions, "seed": strategy.seed,
            "budget": {k: v for k, v in asdict(budget).items() if v is not None}, **(config or {})}


def _check_resumable(name: str, stored: dict, strategy: Strategy) -> None:
    """Refuse to continue a run with a strategy that would give other results."""
    for key, have in (("strategy", type(strategy).__name__), ("targets", strategy.targets),
                      ("directions", strategy.directions), ("seed", strategy.seed)):
        if key in stored and stored[key] != have:
            raise ValueError(f"run {name!r} was made with {key}={stored[key]!r}, not {have!r}; resume it with "
                             f"the same settings (only the budget may grow) or pick a new run name")


class _Run:
    """The state of one call of :func:`run` (kept out of the strategy)."""

    def __init__(self, strategy, executor, budget, store, run_id, pruner, callbacks, after_tell, stop_when, bar):
        self.strategy, self.executor, self.budget = strategy, executor, budget
        self.store, self.run_id, self.pruner = store, run_id, pruner
        self.callbacks, self.after_tell, self.stop_when, self.bar = callbacks, after_tell, stop_when, bar
        self.next_number = 0
        self.cost = 0.0
        self.counts = {s: 0 for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)}
        self.stopped = False      # stop_when said so, or the strategy ran out of proposals
        self.t0 = executor.now()

    # -- budget ---------------------------------------------------------------------------------
    def out_of_time(self) -> bool:
        w = self.budget.wall_seconds
        return w is not None and self.executor.now() - self.t0 >= w

    def slots(self) -> int:
        """How many trials may start now."""
        if self.stopped or self.out_of_time():
            return 0
        if self.budget.cost_seconds is not None and self.cost >= self.budget.cost_seconds:
            return 0
        n = self.executor.free_slots
        if self.budget.evaluations is not None:
            n = min(n, self.budget.evaluations - len(self.strategy.history) - len(self.executor.running))
        return max(0, n)

    # -- dispatch and arrival -------------------------------------------------------------------
    def dispatch(self, trials: list[Trial], *, redispatch: bool = False) -> None:
        if self.store is not None:
            self.store.start_trials(self.run_id, [self._stored(t) for t in trials],
                                    None if redispatch else self.strategy.state_dict(bookkeeping=False),
                                    redispatch=redispatch)
        for t in trials:
            self.executor.submit(t, None if self.pruner is None else self.pruner.reporter(t))

    def _stored(self, t: Trial) -> Trial:
        return Trial(t.id, self.strategy.space.to_str(t.arch), t.fidelity, t.state, parent=t.parent)

    def ask_and_dispatch(self) -> None:
        n = self.slots()
        if n <= 0:
            return
        proposals = self.strategy.ask(n)
        if not proposals:
            self.stopped = True  # the space is exhausted
            return
        trials = []
        for p in proposals:
            trials.append(Trial(self.next_number, p.arch, p.fidelity))
            self.next_number += 1
        self.dispatch(trials)

    def arrive(self, done: list[Trial]) -> None:
        s = self.strategy
        s.tell(done)
        for t in done:
            self.cost += t.result.cost
            self.counts[t.state] = self.counts.get(t.state, 0) + 1
            if self.pruner is not None:
                self.pruner.tell(t)
        if self.store is not None:
            self.store.finish_trials(self.run_id, [self._stored(t).finish(t.result) for t in done],
                                    s.state_dict(bookkeeping=False))
        for t in done:
            for cb in self.callbacks:
                cb(t)
        if self.after_tell is not None:
            self.after_tell(s)
        if self.stop_when is not None and self.stop_when(s):
            self.stopped = True
        self.bar.update(len(done))
        self.show()

    def show(self) -> None:
        if self.bar.disable:
            return
        c = self.counts
        text = (f"running {len(self.executor.running)} done {c[TrialState.COMPLETE]} "
                f"failed {c[TrialState.FAILED]} pruned {c[TrialState.PRUNED]}")
        best = self.strategy.progress_text()
        self.bar.set_postfix_str(f"{text} {best}".strip())


def _open(strategy, store, run_name, resume, cfg) -> int | None:
    """Create or find the run; returns its id (``None`` without a store)."""
    if store is None:
        if resume:
            raise ValueError("resume=True needs a store to resume from")
        return None
    info = store.get_run(run_name)
    if info is not None and not resume:
        raise ValueError(f"run {run_name!r} already exists in {store.path}; resume it or pick a new name")
    if info is None:
        return store.create_run(run_name, strategy.space.name, cfg)
    if info["space"] != strategy.space.name:
        raise ValueError(f"run {run_name!r} is in space {info['space']}, not {strategy.space.name}")
    _check_resumable(run_name, info["config"], strategy)
    return info["run_id"]


def _read(store, run_id, run_name, cfg) -> tuple[list[Trial], list[Trial]]:
    """The run's ``(finished, unfinished)`` trials, read once its lock is held (so a driver that
    just finished cannot have changed them since); stores a changed budget."""
    if store is None:
        return [], []
    info = store.get_run(run_name)
    if info["config"].get("budget") != cfg.get("budget"):
        store.update_config(run_id, {**info["config"], "budget": cfg.get("budget")})
    return store.trials(run_id, finished=True), store.trials(run_id, finished=False)


def _drive(strategy, evaluator, executor, own_executor, budget, store, run_id, run_name, pruner,
           callbacks, after_tell, stop_when, progress, cfg) -> None:
    """The body of :func:`run`, once the run is open (and locked)."""
    finished, unfinished = _read(store, run_id, run_name, cfg)

    redispatch: list[Trial] = []
    if finished or unfinished:
        saved = store.strategy_state(run_id)
        space = strategy.space
        if saved is not None:
            redispatch = [Trial(t.id, space.from_str(t.arch), t.fidelity, parent=t.parent) for t in unfinished]
            strategy.load_state_dict(
                saved, finished=[Trial(t.id, space.from_str(t.arch), t.fidelity).finish(t.result) for t in finished],
                pending=[Proposal(t.arch, t.fidelity) for t in redispatch])
        else:  # a run stored without strategy state (store v1): replay its results
            warnings.warn(f"run {run_name!r} has no saved strategy state (written by an older version); "
                          f"resuming by replaying its {len(finished)} results, which restores what the "
                          f"strategy saw but not its random state", stacklevel=2)
            replay, keys = [], set()
            for t in finished:  # stores of old versions may hold an evaluation twice: tell it once
                arch = space.from_str(t.arch)
                key = strategy.trial_key(arch, t.fidelity)
                if key not in keys:
                    keys.add(key)
                    replay.append(Trial(t.id, arch, t.fidelity).finish(t.result))
            if len(replay) < len(finished):
                warnings.warn(f"run {run_name!r} holds {len(finished) - len(replay)} repeated evaluations; "
                              f"the strategy is told the first of each", stacklevel=2)
            strategy.tell(replay)
            if unfinished:
                raise ValueError(f"run {run_name!r} has unfinished trials but no strategy state to resume them")
    total = budget.evaluations
    bar = tqdm(total=total, initial=min(len(strategy.history), total or 0), disable=not progress,
               desc=type(strategy).__name__)
    state = _Run(strategy, executor, budget, store, run_id, pruner, list(callbacks), after_tell, stop_when, bar)
    state.next_number = max([t.id for t in finished + unfinished], default=-1) + 1
    for t in finished:
        state.cost += t.result.cost
        state.counts[t.state] = state.counts.get(t.state, 0) + 1
        if pruner is not None:
            pruner.tell(t)

    executor.start(evaluator)
    try:
        while redispatch and executor.free_slots > 0:
            batch = redispatch[: executor.free_slots]
            redispatch = redispatch[len(batch):]
            state.dispatch(batch, redispatch=True)
            if redispatch:
                state.arrive(executor.poll())
        while True:
            state.ask_and_dispatch()
            if not executor.running:
                break
            if state.out_of_time():
                for t in executor.running:
                    executor.cancel(t.id)
                break
            timeout = None
            if budget.wall_seconds is not None:
                timeout = max(0.0, budget.wall_seconds - (executor.now() - state.t0))
            done = executor.poll(timeout)
            if done:
                state.arrive(done)
    finally:
        bar.close()
        if own_executor:
            executor.shutdown()


def run(strategy: Strategy, evaluator, budget: "Budget | int", *, executor: Executor | None = None,
        store=None, run_name: str | None = None, resume: bool = False, pruner=None,
        callbacks: Sequence[Callable[[Trial], None]] = (), config: dict | None = None,
        progress: bool = True, after_tell: Callable[[Strategy], None] | None = None,
        stop_when: Callable[[Strategy], bool] | None = None) -> SearchTrace:
    """Run ``strategy`` against ``evaluator`` until ``budget`` is spent.

    Parameters
    ----------
    strategy : any :class:`~naspredict.search.base.Strategy`.
    evaluator : anything with ``evaluate(arch, fidelity, report=None) -> Result``.
    budget : a number of evaluations or a :class:`Budget`.
    executor : where trials run (default :class:`~naspredict.executors.SerialExecutor`, in
        this process).  The loop starts it with the evaluator; an executor the loop made is
        shut down at the end, one passed in is left running (cancelled trials aside).
    store : a :class:`~naspredict.store.ResultsStore`; every trial is recorded before it is
        dispatched and its result as it arrives.  The call holds the run's lock
        (:meth:`~naspredict.store.ResultsStore.acquire`) from before it reads the run until it
        returns or raises (``KeyboardInterrupt`` included), so a second driver of the same run
        gets :class:`~naspredict.store.RunLocked` instead of duplicating its evaluations.
    run_name : the run's name in the store (default ``<strategy>-<seed>``).
    resume : continue the stored run ``run_name`` (see the module docstring).
    pruner : a :class:`~naspredict.search.pruners.Pruner`; its reporter runs next to each
        evaluation and may stop it (the trial ends ``pruned`` with its partial curves).
    callbacks : called with each finished trial, in arrival order.
    config : extra run settings to store (e.g. the benchmark's name).
    progress : show a progress bar (running / done / failed / pruned counts, best so far).
    after_tell, stop_when : called with the strategy after each arrival; ``stop_when``
        returning True stops new trials (the running ones are awaited).

    Returns
    -------
    SearchTrace of every finished trial in arrival order (resumed ones included).
    """
    budget = Budget.coerce(budget)
    ev_space = getattr(evaluator, "space", None)
    if ev_space is not None and getattr(ev_space, "name", None) != strategy.space.name:
        raise ValueError(f"the evaluator's space is {ev_space.name}, the strategy's {strategy.space.name}")
    own_executor = executor is None
    executor = SerialExecutor() if executor is None else executor
    run_name = run_name or f"{type(strategy).__name__.lower()}-{strategy.seed}"
    cfg = _config(strategy, budget, config)
    run_id = _open(strategy, store, run_name, resume, cfg)
    lock = store.acquire(run_id) if store is not None else contextlib.nullcontext()
    with lock:
        _drive(strategy, evaluator, executor, own_executor, budget, store, run_id, run_name, pruner,
               callbacks, after_tell, stop_when, progress, cfg)
    return SearchTrace.from_strategy(strategy)
