"""Local search (hill climbing with random restarts).

White, Nolen & Savani, "Exploring the loss landscape in neural architecture search"
(UAI 2021; first circulated as "Local search is state of the art for NAS benchmarks", 2020).
Start from the best of a few random architectures, evaluate the neighbours of the current
architecture, move to a better one, and restart from random when no neighbour improves.
"""
from __future__ import annotations

from .base import Strategy

_VARIANTS = ("first", "best")


class LocalSearch(Strategy):
    """Hill climbing over ``space.neighbours`` with random restarts (White et al., 2021).

    Parameters
    ----------
    space, target, direction, seed : see :class:`~naspredict.search.base.Strategy`.
    n_initial : random archs evaluated at the start and at every restart; the best becomes
        the current architecture.
    variant : ``"first"`` (default, first improvement, as in the NASLib implementation the
        paper used): neighbours of the current arch are evaluated in random order and the
        search moves as soon as one beats it.  ``"best"`` (steepest ascent): the whole
        neighbourhood is evaluated, then the search moves to its best member if that beats
        the current arch.

    Only neighbours whose canonical form is unevaluated are queried; a neighbour isomorphic to
    an evaluated arch is skipped (its value is already known and, having been seen, it cannot
    be an improvement that was missed except through a restart's earlier climb).  When the
    neighbourhood holds no improvement the current arch is a local optimum and the search
    restarts with ``n_initial`` fresh random archs.
    """

    def __init__(self, space, target="accuracy", direction=None, seed: int = 0,
                 n_initial: int = 10, variant: str = "first"):
        super().__init__(space, target=target, direction=direction, seed=seed)
        if n_initial < 1:
            raise ValueError(f"n_initial must be >= 1, got {n_initial}")
        if variant not in _VARIANTS:
            raise ValueError(f"variant must be one of {_VARIANTS}, got {variant!r}")
        self.n_initial = int(n_initial)
        self.variant = variant
        self.current = None          # (arch, signed value) the climb is centred on
        self.restarts = 0            # completed restarts (0 during the first climb)
        self._init_left = self.n_initial   # random archs still to propose in this (re)start
        self._init_results: list = []      # (arch, value) of this (re)start's random phase
        self._queue: list = []             # neighbours of current not yet proposed
        self._nbhd_best = None             # best neighbour seen around current ("best" variant)
        self._nbhd_pending = 0             # neighbours proposed but not yet told

    # -- state transitions -----------------------------------------------------------------
    def _centre_on(self, arch, value: float) -> None:
        self.current = (arch, value)
        nbrs = list(self.space.neighbours(arch))
        order = self.rng.permutation(len(nbrs))
        self._queue = [nbrs[int(i)] for i in order]
        self._nbhd_best = None

    def _restart(self) -> None:
        self.current = None
        self.restarts += 1
        self._init_left = self.n_initial
        self._init_results = []
        self._queue = []
        self._nbhd_best = None

    def _update(self, pairs) -> None:
        for arch, result in pairs:
            v = self.signed(result)
            value = None if v is None else float(v[0])
            if self.current is None:
                if value is not None:
                    self._init_results.append((arch, value))
                continue
            self._nbhd_pending = max(0, self._nbhd_pending - 1)
            if value is None:
                continue
            if self.variant == "first":
                if value > self.current[1]:
                    self._centre_on(arch, value)
            elif self._nbhd_best is None or value > self._nbhd_best[1]:
                self._nbhd_best = (arch, value)
        # the random phase ends when all its archs are proposed and every result is in
        if self.current is None and self._init_left <= 0 and not self._pending:
            if self._init_results:
                self._centre_on(*max(self._init_results, key=lambda av: av[1]))
            else:  # every random arch failed: try another batch
                self._init_left = self.n_initial

    def _next_neighbours(self, n: int) -> list:
        out = []
        while self._queue and len(out) < n:
            a = self._queue.pop()
            if self.is_new(a):
                out.append(a)
        return out

    # -- proposals ---------------------------------------------------------------------------
    def _propose(self, n: int) -> list:
        out: list = []
        for _ in range(n + 2):  # each pass either proposes, moves or restarts
            if len(out) >= n:
                break
            if self.current is None:
                if self._init_left > 0:
                    batch = self.sample_new(min(n - len(out), self._init_left))
                    self._init_left -= len(batch)
                    out += batch
                    if not batch:
                        break  # the space is exhausted
                    continue
                break  # waiting for the random phase's results
            got = self._next_neighbours(n - len(out))
            self._nbhd_pending += len(got)
            out += got
            if len(out) >= n or self._nbhd_pending > 0 or out:
                break  # wait for results before deciding on a move or restart
            # the neighbourhood is exhausted and every result is in
            if self.variant == "best" and self._nbhd_best is not None and self._nbhd_best[1] > self.current[1]:
                self._centre_on(*self._nbhd_best)
            else:
                self._restart()
        return out
