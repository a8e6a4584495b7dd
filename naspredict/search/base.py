"""Strategy contract: ask/tell on trials, with a state that survives a restart.

* :meth:`Strategy.ask` ``(n)`` returns ``n`` proposals (:class:`Proposal`) ``(arch, fidelity)``;
* :meth:`Strategy.tell` takes finished trials (:class:`~naspredict.trials.Trial`) in any order,
  one at a time or many, complete, pruned or failed;
* :meth:`Strategy.state_dict` / :meth:`Strategy.load_state_dict` capture everything the
  strategy has learned (random state included), so a resumed run continues exactly where it
  stopped.

A trial's identity is ``(space.canonical(arch), fidelity)``: a strategy never proposes a pair
that is done or pending (it may propose an evaluated arch again at another fidelity).  Every
strategy takes a ``seed``; the same seed gives the same trace on the same evaluator.
The run loop itself lives in :mod:`naspredict.search.loop`; :meth:`Strategy.run` is a thin
wrapper around it.
"""
from __future__ import annotations

import pickle
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..spaces import SearchSpace, get_space
from ..trials import FULL, Fidelity, Result, Trial


def _as_list(x) -> list:
    return [x] if isinstance(x, str) else list(x)


@dataclass(frozen=True)
class Proposal:
    """What :meth:`Strategy.ask` returns: an architecture and the fidelity to evaluate it at."""

    arch: Any
    fidelity: Fidelity = FULL

    def trial(self, result: Result | None = None, id: int | None = None) -> Trial:
        """A :class:`~naspredict.trials.Trial` of this proposal, finished with ``result``
        when one is given (handy when driving ask/tell by hand)."""
        t = Trial(id, self.arch, self.fidelity)
        return t if result is None else t.finish(result)


class Strategy(ABC):
    """Base class of search strategies.

    Parameters
    ----------
    space : search space (name or instance).
    target : metric name, or several for multi-objective strategies.
    direction : ``"max"`` / ``"min"``, one per target (a single string applies to all).  Left
        out: ``"max"`` for one target; several targets need it spelled out.
    seed : random seed.

    Subclasses implement ``_propose(n) -> list of archs (or Proposals)`` and may override
    ``_update`` (called by :meth:`tell` with the new ``(arch, result)`` pairs).  Attributes
    named in ``_transient`` (caches, read-only tables rebuilt by ``__init__``) are left out of
    :meth:`state_dict`; everything else set on the instance is its state.

    >>> s = make_strategy("evolution", "nb201", "baseline_accuracy", seed=0)
    >>> props = s.ask(2)
    >>> s.tell([p.trial(evaluator.evaluate(p.arch, p.fidelity)) for p in props])
    """

    #: how many objectives the strategy can handle (1 for single-objective ones).
    max_objectives: int = 1
    #: instance attributes that are not state (rebuilt by ``__init__``; merged over the MRO).
    _transient: tuple[str, ...] = ("space", "_key_cache")

    def __init__(self, space: str | SearchSpace, target: str | Sequence[str] = "accuracy",
                 direction: str | Sequence[str] | None = None, seed: int = 0):
        self.space = get_space(space) if isinstance(space, str) else space
        self.targets = _as_list(target)
        if not self.targets:
            raise ValueError("give at least one target metric")
        if direction is None:
            if len(self.targets) > 1:  # a default would silently maximise a latency
                raise ValueError(f"{len(self.targets)} targets need a direction each: direction="
                                 f"{['max'] * len(self.targets)} (use 'min' for latency, size, error...)")
            direction = "max"
        dirs = _as_list(direction)
        if len(dirs) == 1 and isinstance(direction, str):  # one word for all targets
            dirs = dirs * len(self.targets)
        if len(dirs) != len(self.targets) or any(d not in ("max", "min") for d in dirs):
            raise ValueError(f"direction must be 'max' or 'min', one per target; got {direction!r} "
                             f"for targets {self.targets}")
        if len(self.targets) > self.max_objectives:
            raise ValueError(f"{type(self).__name__} optimises one objective; got {self.targets}. "
                             f"Use the 'mobo' strategy for several")
        self.directions = dirs
        self.signs = np.array([1.0 if d == "max" else -1.0 for d in dirs])
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.history: list[tuple[Any, Result]] = []
        self._seen: set[str] = set()
        self._pending: dict[str, Proposal] = {}
        self._key_cache: dict = {}
        self._enqueued: list[Proposal] = []  # enqueue(): asked before the strategy's own proposals

    # -- bookkeeping ---------------------------------------------------------------------------
    def key(self, arch) -> str:
        """Canonical form of ``arch`` (cached: proposal steps ask for it often)."""
        k = self._key_cache.get(arch)
        if k is None:
            k = self._key_cache[arch] = self.space.canonical(arch)
        return k

    def trial_key(self, arch, fidelity: Fidelity = FULL) -> str:
        """Identity of an (arch, fidelity) pair: the canonical form, plus ``@fidelity`` when
        it is not the full one (so full-fidelity keys are plain canonical forms)."""
        k = self.key(arch)
        return k if fidelity.is_full else f"{k}@{fidelity.key()}"

    def is_new(self, arch, fidelity: Fidelity = FULL) -> bool:
        """True when ``(arch, fidelity)`` is neither done nor pending."""
        k = self.trial_key(arch, fidelity)
        return k not in self._seen and k not in self._pending

    def pending(self) -> list[Proposal]:
        """Proposals asked and not yet told, oldest first."""
        return list(self._pending.values())

    def signed(self, result: Result) -> np.ndarray | None:
        """Objective values turned into "higher is better"; ``None`` for a failed or pruned
        result."""
        if not result.ok:
            return None
        try:
            vals = np.array([float(result.metrics[t]) for t in self.targets])
        except KeyError as err:
            raise ValueError(f"the evaluator returned no metric {err.args[0]!r}; it returns "
                             f"{sorted(result.metrics)}") from None
        return None if not np.isfinite(vals).all() else vals * self.signs

    def observed(self) -> tuple[list, np.ndarray]:
        """Archs with complete full-fidelity results and their signed objective values
        ``(n, n_objectives)``."""
        archs, vals = [], []
        for a, r in self.history:
            v = self.signed(r) if r.fidelity.is_full else None
            if v is not None:
                archs.append(a)
                vals.append(v)
        return archs, np.array(vals).reshape(len(vals), len(self.targets))

    def best(self) -> tuple[Any, float] | None:
        """Best arch so far and its (unsigned) value of the first target."""
        archs, vals = self.observed()
        if not archs:
            return None
        i = int(np.argmax(vals[:, 0]))
        return archs[i], float(vals[i, 0] * self.signs[0])

    def sample_new(self, n: int, max_tries: int = 10000) -> list:
        """``n`` random archs not yet seen (fewer if the space runs out)."""
        out, keys = [], set()
        for _ in range(max_tries):
            if len(out) >= n:
                break
            a = self.space.sample(self.rng)
            k = self.key(a)
            if k not in keys and self.is_new(a):
                out.append(a)
                keys.add(k)
        return out

    # -- ask / tell ----------------------------------------------------------------------------
    def enqueue(self, archs: Sequence[Any], fidelity: Fidelity = FULL) -> int:
        """Have the next :meth:`ask` calls return ``archs`` first, in this order, before the
        strategy's own proposals (Optuna's ``enqueue_trial``).  A warm start: cells that did
        well on a related task (:func:`naspredict.search.warm_start.source_front`), a user's
        own favourites, the best cells of an earlier run.  Their results are told like any
        other, so they count towards a model-based strategy's initial design (``n_initial``).
        An arch that is already done or pending at ``fidelity`` when its turn comes is skipped;
        the queue is part of :meth:`state_dict`, so a resumed run keeps what is left of it.

        Returns the number of proposals now waiting.

        Raises
        ------
        ValueError : an arch that is not valid in the strategy's space (the space says why).
        TypeError : ``archs`` is a single arch string instead of a list of them, or
            ``fidelity`` is not a :class:`~naspredict.trials.Fidelity`.
        """
        if isinstance(archs, (str, bytes)) or not hasattr(archs, "__iter__"):
            raise TypeError(f"enqueue takes a list of archs, got {type(archs).__name__}; wrap a "
                            f"single arch in a list: enqueue([arch])")
        if not isinstance(fidelity, Fidelity):
            raise TypeError(f"fidelity must be a naspredict.trials.Fidelity, got {type(fidelity).__name__}")
        for a in archs:
            self._enqueued.append(Proposal(self.space.validate(a), fidelity))
        return len(self._enqueued)

    def _take_enqueued(self, n: int, keys: set[str]) -> list[Proposal]:
        """Up to ``n`` enqueued proposals that are still new (the rest of the queue is kept)."""
        out: list[Proposal] = []
        while self._enqueued and len(out) < n:
            p = self._enqueued.pop(0)
            k = self.trial_key(p.arch, p.fidelity)
            if k not in keys and k not in self._seen and k not in self._pending:
                out.append(p)
                keys.add(k)
        return out

    def ask(self, n: int = 1) -> list[Proposal]:
        """Propose ``n`` new ``(arch, fidelity)`` pairs, never one that is done or pending
        (fewer only when the space is exhausted).  Enqueued archs (:meth:`enqueue`) come
        first."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"ask(n) needs a positive integer n, got {n!r}")
        keys: set[str] = set()
        out: list[Proposal] = self._take_enqueued(int(n), keys)
        own = self._propose(int(n) - len(out)) if len(out) < n else []
        for p in own:
            if not isinstance(p, Proposal):
                p = Proposal(p)
            k = self.trial_key(self.space.validate(p.arch), p.fidelity)
            if k not in keys and k not in self._seen and k not in self._pending:
                out.append(p)
                keys.add(k)
            if len(out) == n:
                break
        if len(out) < n:  # a strategy came up short: top up with random new archs
            for a in self.sample_new(n - len(out)):
                if self.key(a) not in keys:
                    out.append(Proposal(a))
                    keys.add(self.key(a))
        for p in out:
            self._pending[self.trial_key(p.arch, p.fidelity)] = p
        return out

    def tell(self, trials: Trial | Sequence[Trial], results: Sequence[Result] | None = None) -> None:
        """Report finished trials (usually of proposals from :meth:`ask`), in any order.

        ``tell(archs, results)`` (two lists) is the deprecated form of earlier versions.
        """
        if results is not None:
            warnings.warn("tell(archs, results) is deprecated; pass finished trials: "
                          "tell([proposal.trial(result), ...])", DeprecationWarning, stacklevel=2)
            archs = list(trials)
            results = list(results)
            if len(archs) != len(results):
                raise ValueError(f"tell got {len(archs)} archs but {len(results)} results; give one "
                                 f"result per arch")
            trials = [(a.trial(r) if isinstance(a, Proposal) else Trial(None, a, getattr(r, "fidelity", FULL)).finish(r))
                      for a, r in zip(archs, results)]
        if isinstance(trials, Trial):
            trials = [trials]
        if isinstance(trials, (str, bytes, Result)) or not hasattr(trials, "__iter__"):
            raise TypeError(f"tell() takes finished Trials (one, or a list), got {type(trials).__name__}; "
                            f"build them with proposal.trial(Result(metrics={{...}})) or "
                            f"Trial(id, arch).finish(result)")
        trials = list(trials)
        for t in trials:
            if not isinstance(t, Trial):
                raise TypeError(f"tell() takes finished Trials, got {type(t).__name__}; build them with "
                                f"proposal.trial(Result(metrics={{...}})) or Trial(id, arch).finish(result)")
            if not isinstance(t.result, Result) or not t.state.finished:
                raise ValueError(f"trial {t.id} of {self.space.to_str(t.arch)} has no result yet; "
                                 f"finish it with trial.finish(Result(...)) before telling it")
        keys = [self.trial_key(t.arch, t.fidelity) for t in trials]
        told: set[str] = set()
        for t, k in zip(trials, keys):
            if k in self._seen or k in told:
                # a table may hold two encodings of one network (NB101's isomorphic cells), and a
                # repeated measurement is data, so a repeat is kept; but it is said, since telling
                # one proposal's result twice is more often a bug
                warnings.warn(f"{self.space.to_str(t.arch)} ({t.fidelity.key()}) was already told; it is "
                              f"counted again, as a repeated measurement of the same network",
                              stacklevel=2)
            told.add(k)
            if t.result.ok and t.result.fidelity.is_full:  # what observed() will read (it raises later)
                try:
                    self.signed(t.result)
                except ValueError:
                    raise ValueError(f"the result of {self.space.to_str(t.arch)} has no "
                                     f"{'/'.join(m for m in self.targets if m not in t.result.metrics)} "
                                     f"(the strategy's target); it has {sorted(t.result.metrics)}: give "
                                     f"Result(metrics={{{self.targets[0]!r}: value, ...}})") from None
        pairs = []
        for t, k in zip(trials, keys):
            self._pending.pop(k, None)
            self._seen.add(k)
            self.history.append((t.arch, t.result))
            pairs.append((t.arch, t.result))
        self._update(pairs)

    @abstractmethod
    def _propose(self, n: int) -> list:
        """Return up to ``n`` candidate archs or Proposals (the base class filters repeats)."""

    def _update(self, pairs: list[tuple[Any, Result]]) -> None:
        """Learn from new results (default: nothing beyond the history)."""

    # -- state -----------------------------------------------------------------------------------
    @classmethod
    def _transient_names(cls) -> set[str]:
        names: set[str] = set()
        for klass in cls.__mro__:
            names.update(getattr(klass, "_transient", ()))
        return names

    #: bookkeeping the run loop rebuilds from the store's trials on resume, so the state it
    #: saves after every ask and tell stays small however long the run
    _bookkeeping: tuple[str, ...] = ("history", "_seen", "_pending")

    def state_dict(self, *, bookkeeping: bool = True) -> dict[str, Any]:
        """Everything the strategy has learned: history, pending proposals, models and random
        state (``_transient`` caches excluded).  Like ``torch``'s, the values are references;
        :meth:`load_state_dict` copies them.  ``bookkeeping=False`` leaves out the history and
        the done/pending sets (the run loop saves that form: its store holds the trials)."""
        skip = self._transient_names() | (set() if bookkeeping else set(self._bookkeeping))
        state = {k: v for k, v in vars(self).items() if k not in skip}
        return {"__strategy__": type(self).__qualname__, "attrs": state, "bookkeeping": bookkeeping}

    def load_state_dict(self, state: dict[str, Any], *, finished: Sequence[Trial] | None = None,
                        pending: Sequence[Proposal] | None = None) -> None:
        """Restore a :meth:`state_dict` into a strategy built with the same parameters.  A
        state saved with ``bookkeeping=False`` also needs the ``finished`` trials (in the order
        they were told) and the ``pending`` proposals (in the order they were asked)."""
        if not isinstance(state, dict) or "attrs" not in state:
            raise ValueError("load_state_dict needs a dict from Strategy.state_dict()")
        if state.get("__strategy__") != type(self).__qualname__:
            raise ValueError(f"this state belongs to a {state.get('__strategy__')} strategy, "
                             f"not {type(self).__qualname__}")
        attrs = pickle.loads(pickle.dumps(state["attrs"], protocol=pickle.HIGHEST_PROTOCOL))
        for name in ("targets", "directions", "seed"):
            if name in attrs and attrs[name] != getattr(self, name):
                raise ValueError(f"the saved strategy has {name}={attrs[name]!r}, this one "
                                 f"{getattr(self, name)!r}; build it with the same parameters")
        if not state.get("bookkeeping", True):
            if finished is None or pending is None:
                raise ValueError("this state was saved without its trials (bookkeeping=False); pass "
                                 "finished= and pending= as the run loop does")
            attrs["history"] = [(t.arch, t.result) for t in finished]
            attrs["_seen"] = {self.trial_key(t.arch, t.fidelity) for t in finished}
            attrs["_pending"] = {self.trial_key(p.arch, p.fidelity): p for p in pending}
        self.__dict__.update(attrs)

    # -- the loop ------------------------------------------------------------------------------
    def run(self, evaluator, budget, *, batch_size: int = 1, executor=None, store=None,
            run_name: str | None = None, resume: bool = False, config: dict | None = None,
            progress: bool = True, pruner=None, callbacks: Sequence[Callable[[Trial], None]] = (),
            callback: Callable[["Strategy"], None] | None = None,
            stop_when: Callable[["Strategy"], bool] | None = None) -> "SearchTrace":
        """Ask, evaluate and tell until ``budget`` is spent: a thin wrapper of
        :func:`naspredict.search.loop.run` (see there).  ``batch_size`` proposals are asked
        and evaluated together in this process when no ``executor`` is given;
        ``callback(strategy)`` runs after each told batch, ``stop_when(strategy)`` ends the
        run early."""
        from ..executors import SerialExecutor
        from .loop import run as run_loop
        if executor is None:
            executor = SerialExecutor(batch_size)
        elif batch_size != 1:
            raise ValueError("batch_size applies to the in-process run; with an executor, its workers set the batch")
        return run_loop(self, evaluator, budget, executor=executor, store=store, run_name=run_name,
                        resume=resume, config=config, progress=progress, pruner=pruner,
                        callbacks=callbacks, after_tell=callback, stop_when=stop_when)

    def progress_text(self) -> str:
        b = self.best()
        return "" if b is None else f"best {self.targets[0]}={b[1]:.4g}"


@dataclass
class SearchTrace:
    """What a run evaluated, in arrival order: ``frame`` has ``step, arch, fidelity, <targets>,
    status, cost`` and ``best_so_far`` (of the first target, in its own direction, over
    complete full-fidelity results)."""

    frame: pd.DataFrame
    targets: list[str]
    directions: list[str]

    @classmethod
    def from_strategy(cls, s: Strategy) -> "SearchTrace":
        rows = []
        best = -np.inf
        for i, (a, r) in enumerate(s.history):
            v = s.signed(r) if r.fidelity.is_full else None
            if v is not None:
                best = max(best, v[0])
            rows.append({"step": i + 1, "arch": s.space.to_str(a), "fidelity": r.fidelity.key(),
                         **{t: r.metrics.get(t, np.nan) for t in s.targets},
                         "status": r.status, "cost": r.cost,
                         "best_so_far": best * s.signs[0] if np.isfinite(best) else np.nan})
        return cls(pd.DataFrame(rows, columns=["step", "arch", "fidelity", *s.targets, "status", "cost",
                                               "best_so_far"]), list(s.targets), list(s.directions))

    def queries_to_reach(self, value: float) -> int | None:
        """Number of queries until the first target first reaches ``value`` (None if never)."""
        col = self.frame[self.targets[0]].to_numpy(float)
        hit = col >= value - 1e-9 if self.directions[0] == "max" else col <= value + 1e-9
        idx = np.nonzero(hit)[0]
        return int(idx[0]) + 1 if len(idx) else None

    def best_after(self, n: int) -> float:
        """Best value of the first target within the first ``n`` queries."""
        return float(self.frame["best_so_far"].iloc[: n].iloc[-1])
