"""Strategy contract: ask/tell, plus ``run(evaluator, budget)`` with a resumable store.

A strategy never proposes an architecture whose canonical form (``space.canonical``) it has
already evaluated or is waiting on.  Every strategy takes a ``seed``; the same seed gives the
same trace on the same evaluator.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..evaluators.base import Evaluator, Result
from ..spaces import SearchSpace, get_space


def _as_list(x) -> list:
    return [x] if isinstance(x, str) else list(x)


class Strategy(ABC):
    """Base class of search strategies.

    Parameters
    ----------
    space : search space (name or instance).
    target : metric name, or several for multi-objective strategies.
    direction : ``"max"`` / ``"min"``, one per target (a single value applies to all).
    seed : random seed.

    Subclasses implement ``_propose(n) -> list of archs`` and may override ``_update``
    (called by :meth:`tell` with the new (arch, result) pairs).
    """

    #: how many objectives the strategy can handle (1 for single-objective ones).
    max_objectives: int = 1

    def __init__(self, space: str | SearchSpace, target: str | Sequence[str] = "accuracy",
                 direction: str | Sequence[str] = "max", seed: int = 0):
        self.space = get_space(space) if isinstance(space, str) else space
        self.targets = _as_list(target)
        dirs = _as_list(direction)
        if len(dirs) == 1:
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
        self._pending: set[str] = set()

    # -- bookkeeping ---------------------------------------------------------------------------
    def key(self, arch) -> str:
        """Canonical form of ``arch`` (cached: proposal steps ask for it often)."""
        cache = self.__dict__.setdefault("_key_cache", {})
        k = cache.get(arch)
        if k is None:
            k = cache[arch] = self.space.canonical(arch)
        return k

    def is_new(self, arch) -> bool:
        k = self.key(arch)
        return k not in self._seen and k not in self._pending

    def signed(self, result: Result) -> np.ndarray | None:
        """Objective values turned into "higher is better"; ``None`` for a failed result."""
        if not result.ok:
            return None
        try:
            vals = np.array([float(result.metrics[t]) for t in self.targets])
        except KeyError as err:
            raise ValueError(f"the evaluator returned no metric {err.args[0]!r}; it returns "
                             f"{sorted(result.metrics)}") from None
        return None if not np.isfinite(vals).all() else vals * self.signs

    def observed(self) -> tuple[list, np.ndarray]:
        """Archs with ok results and their signed objective values ``(n, n_objectives)``."""
        archs, vals = [], []
        for a, r in self.history:
            v = self.signed(r)
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
    def ask(self, n: int = 1) -> list:
        """Propose ``n`` new architectures (never one already evaluated or pending)."""
        proposed = self._propose(n)
        out, keys = [], set()
        for a in proposed:
            k = self.key(self.space.validate(a))
            if k not in keys and k not in self._seen and k not in self._pending:
                out.append(a)
                keys.add(k)
            if len(out) == n:
                break
        if len(out) < n:  # a strategy came up short: top up with random new archs
            for a in self.sample_new(n - len(out)):
                if self.key(a) not in keys:
                    out.append(a)
                    keys.add(self.key(a))
        self._pending |= keys
        return out

    def tell(self, archs: Sequence[Any], results: Sequence[Result]) -> None:
        """Report results for archs (usually those from :meth:`ask`)."""
        if len(archs) != len(results):
            raise ValueError(f"tell got {len(archs)} archs but {len(results)} results")
        pairs = []
        for a, r in zip(archs, results):
            k = self.key(a)
            self._pending.discard(k)
            self._seen.add(k)
            self.history.append((a, r))
            pairs.append((a, r))
        self._update(pairs)

    @abstractmethod
    def _propose(self, n: int) -> list:
        """Return up to ``n`` candidate archs (the base class filters repeats)."""

    def _update(self, pairs: list[tuple[Any, Result]]) -> None:
        """Learn from new results (default: nothing beyond the history)."""

    # -- the loop ------------------------------------------------------------------------------
    def run(self, evaluator: Evaluator, budget: int, *, batch_size: int = 1, store=None,
            run_name: str | None = None, resume: bool = False, config: dict | None = None,
            progress: bool = True, callback: Callable[["Strategy"], None] | None = None,
            stop_when: Callable[["Strategy"], bool] | None = None) -> "SearchTrace":
        """Ask, evaluate and tell until ``budget`` evaluations are done.

        With a :class:`~naspredict.store.ResultsStore`, each evaluation is committed as it
        completes; ``resume=True`` replays the stored evaluations of ``run_name`` first and
        evaluates only what is missing.  ``stop_when(strategy)`` ends the run early when it
        returns True (checked after each round).
        """
        if budget < 1:
            raise ValueError("budget must be at least 1")
        run_id = None
        if store is not None:
            run_name = run_name or f"{type(self).__name__.lower()}-{self.seed}"
            info = store.get_run(run_name)
            if info is not None and not resume:
                raise ValueError(f"run {run_name!r} already exists in {store.path}; resume it or pick a new name")
            if info is None:
                cfg = {"strategy": type(self).__name__, "targets": self.targets,
                       "directions": self.directions, "seed": self.seed, "budget": budget, **(config or {})}
                run_id = store.create_run(run_name, self.space.name, cfg)
            else:
                run_id = info["run_id"]
                if info["space"] != self.space.name:
                    raise ValueError(f"run {run_name!r} is in space {info['space']}, not {self.space.name}")
                stored = list(store.evaluations(run_id))
                if stored:
                    self.tell([self.space.from_str(s) for s, _ in stored], [r for _, r in stored])
        bar = tqdm(total=budget, initial=min(len(self.history), budget), disable=not progress,
                   desc=f"{type(self).__name__}")
        while len(self.history) < budget:
            n = min(batch_size, budget - len(self.history))
            archs = self.ask(n)
            if not archs:
                break  # the space is exhausted
            results = []
            for a in archs:
                r = evaluator.evaluate(a)
                if store is not None:
                    store.add(run_id, self.space.to_str(a), r)
                results.append(r)
            self.tell(archs, results)
            bar.update(len(archs))
            bar.set_postfix_str(self.progress_text())
            if callback is not None:
                callback(self)
            if stop_when is not None and stop_when(self):
                break
        bar.close()
        return SearchTrace.from_strategy(self)

    def progress_text(self) -> str:
        b = self.best()
        return "" if b is None else f"best {self.targets[0]}={b[1]:.4g}"


@dataclass
class SearchTrace:
    """What a run evaluated, in order: ``frame`` has ``step, arch, <targets>, status`` and
    ``best_so_far`` (of the first target, in its own direction)."""

    frame: pd.DataFrame
    targets: list[str]
    directions: list[str]

    @classmethod
    def from_strategy(cls, s: Strategy) -> "SearchTrace":
        rows = []
        best = -np.inf
        for i, (a, r) in enumerate(s.history):
            v = s.signed(r)
            if v is not None:
                best = max(best, v[0])
            rows.append({"step": i + 1, "arch": s.space.to_str(a),
                         **{t: r.metrics.get(t, np.nan) for t in s.targets},
                         "status": r.status, "best_so_far": best * s.signs[0] if np.isfinite(best) else np.nan})
        return cls(pd.DataFrame(rows), list(s.targets), list(s.directions))

    def queries_to_reach(self, value: float) -> int | None:
        """Number of queries until the first target first reaches ``value`` (None if never)."""
        col = self.frame[self.targets[0]].to_numpy(float)
        hit = col >= value - 1e-9 if self.directions[0] == "max" else col <= value + 1e-9
        idx = np.nonzero(hit)[0]
        return int(idx[0]) + 1 if len(idx) else None

    def best_after(self, n: int) -> float:
        """Best value of the first target within the first ``n`` queries."""
        return float(self.frame["best_so_far"].iloc[: n].iloc[-1])
