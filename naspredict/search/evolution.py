"""Regularized (aging) evolution.

Real, Aggarwal, Huang & Le, "Regularized evolution for image classifier architecture search",
AAAI 2019.  A population of the ``P`` most recently evaluated architectures is kept; each new
child is a one-step mutation of the best of ``S`` members drawn at random (tournament
selection), and adding a child removes the *oldest* member (aging), not the worst.
"""
from __future__ import annotations

from collections import deque


from .base import Strategy


class RegularizedEvolution(Strategy):
    """Aging evolution with tournament selection (Real et al., 2019).

    Parameters
    ----------
    space, target, direction, seed : see :class:`~naspredict.search.base.Strategy`.
    population_size : ``P``, how many of the most recent evaluations form the population.
        The first ``P`` queries are uniform random samples (the initial population).
    sample_size : ``S``, tournament size: the parent is the best of ``S`` members drawn
        without replacement from the population.
    mutation_tries : how many times one parent is mutated in search of an unseen child
        before another tournament is held.

    Defaults (``P=30``, ``S=10``) were picked on NAS-Bench-201 CIFAR-10 (baseline accuracy,
    40 seeds): median 111 queries to the optimum, worst seed 274; ``P=20, S=5`` had a
    similar median but seeds stuck for 1000 queries.  The paper's image-scale runs used
    ``P=100``, ``S=25``.
    Failed evaluations never enter the population.  A mutation is a uniformly random
    neighbour (``space.mutate``); children whose canonical form was already evaluated are
    skipped, so every query is new.
    """

    def __init__(self, space, target="accuracy", direction=None, seed: int = 0,
                 population_size: int = 30, sample_size: int = 10, mutation_tries: int = 20):
        super().__init__(space, target=target, direction=direction, seed=seed)
        if population_size < 1:
            raise ValueError(f"population_size must be >= 1, got {population_size}")
        if not 1 <= sample_size <= population_size:
            raise ValueError(f"sample_size must be in 1..population_size ({population_size}), got {sample_size}")
        self.population_size = int(population_size)
        self.sample_size = int(sample_size)
        self.mutation_tries = int(mutation_tries)
        #: (arch, signed value of the first target), oldest first.
        self.population: deque = deque()

    def _update(self, pairs) -> None:
        for arch, result in pairs:
            v = self.signed(result)
            if v is None:
                continue
            self.population.append((arch, float(v[0])))
            if len(self.population) > self.population_size:
                self.population.popleft()  # aging: the oldest dies, whatever its fitness

    def _tournament(self):
        pop = self.population
        idx = self.rng.choice(len(pop), size=min(self.sample_size, len(pop)), replace=False)
        return max((pop[int(i)] for i in idx), key=lambda av: av[1])[0]

    def _propose(self, n: int) -> list:
        # still building the initial population (archs in flight count towards it)
        n_random = self.population_size - len(self.population) - len(self._pending)
        if not self.population:
            return self.sample_new(n)
        out = self.sample_new(min(n, n_random)) if n_random > 0 else []
        keys = {self.key(a) for a in out}
        for _ in range(4 * (n - len(out)) + 10):  # a few tournaments per requested child at most
            if len(out) >= n:
                break
            parent = self._tournament()
            for _ in range(self.mutation_tries):
                child = self.space.mutate(parent, self.rng)
                k = self.key(child)
                if k not in keys and self.is_new(child):
                    out.append(child)
                    keys.add(k)
                    break
        return out  # the base class tops up with random archs if we came up short
