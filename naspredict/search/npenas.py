"""Predictor-guided evolution (NPENAS).

Wei, Niu, Tang, Wang, Hu & Liang, "NPENAS: Neural predictor guided evolution for neural
architecture search", IEEE TNNLS 2022.  Evolution in which mutation is cheap and evaluation is
dear: each round the best evaluated architectures are mutated many times, a performance
predictor trained on everything evaluated so far scores the mutants, and only the mutants it
ranks highest are evaluated.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import clone

from .base import Strategy


class PredictorGuidedEvolution(Strategy):
    """NPENAS-style search: mutants of the top parents, ranked by a refitted predictor.

    Parameters
    ----------
    space, target, direction, seed : see :class:`~naspredict.search.base.Strategy`.
    predictor : a predictor name (built with ``predictors.make(name, space=...,
        random_state=seed)``) or a :class:`~naspredict.predictors.Predictor` instance, which is
        cloned (``sklearn.base.clone``) before every fit so the caller's object is untouched.
    predictor_params : extra constructor parameters when ``predictor`` is a name.
    n_initial : random archs evaluated before the predictor is first used.
    n_parents : ``k``, the best evaluated archs that are mutated each round.
    n_mutations : mutants drawn per parent each round.
    max_edits : a mutant is ``1..max_edits`` successive ``space.mutate`` steps (uniform).
    n_random_candidates : random unseen archs added to the candidate pool each round, so the
        predictor may pick something far from the parents (0 = the paper's pure mutation pool).
    kappa : 0 (default) ranks candidates by the predicted mean, as NPENAS-NP does; a positive
        value ranks by ``mean + kappa * std`` (an upper confidence bound, in the spirit of
        NPENAS-BO's uncertainty-aware acquisition) and needs a predictor with ``supports_std``.

    The predictor is fitted on the signed target (higher is better) every time new results
    have arrived since the last fit; the ``n`` candidates with the highest predicted value are
    proposed (so with ``batch_size=1`` the predictor is refitted after every query).
    """

    def __init__(self, space, target="accuracy", direction=None, seed: int = 0,
                 predictor="rf", predictor_params: dict | None = None, n_initial: int = 10,
                 n_parents: int = 10, n_mutations: int = 20, max_edits: int = 1,
                 n_random_candidates: int = 0, kappa: float = 0.0):
        super().__init__(space, target=target, direction=direction, seed=seed)
        if n_initial < 2:
            raise ValueError(f"n_initial must be >= 2 (the predictor needs data), got {n_initial}")
        if n_parents < 1 or n_mutations < 1 or max_edits < 1 or n_random_candidates < 0:
            raise ValueError("n_parents, n_mutations and max_edits must be >= 1 and "
                             "n_random_candidates >= 0")
        self.predictor = predictor
        self.predictor_params = dict(predictor_params or {})
        self.n_initial = int(n_initial)
        self.n_parents = int(n_parents)
        self.n_mutations = int(n_mutations)
        self.max_edits = int(max_edits)
        self.n_random_candidates = int(n_random_candidates)
        if kappa < 0:
            raise ValueError(f"kappa must be >= 0, got {kappa}")
        self.kappa = float(kappa)
        self.model_ = None
        self._fitted_on = -1

    def _new_model(self):
        if isinstance(self.predictor, str):
            from ..predictors import make
            return make(self.predictor, space=self.space, random_state=self.seed, **self.predictor_params)
        if self.predictor_params:
            return clone(self.predictor).set_params(**self.predictor_params)
        return clone(self.predictor)

    def _fit(self, archs, y) -> None:
        if self._fitted_on != len(archs):
            self.model_ = self._new_model().fit(archs, y)
            self._fitted_on = len(archs)

    def _mutants(self, parents) -> list:
        out, keys = [], set()
        for parent in parents:
            got = 0
            for _ in range(3 * self.n_mutations):
                if got >= self.n_mutations:
                    break
                child = parent
                for _ in range(int(self.rng.integers(1, self.max_edits + 1))):
                    child = self.space.mutate(child, self.rng)
                k = self.key(child)
                if k not in keys and self.is_new(child):
                    out.append(child)
                    keys.add(k)
                    got += 1
        for a in self.sample_new(self.n_random_candidates):
            if self.key(a) not in keys:
                out.append(a)
                keys.add(self.key(a))
        return out

    def _propose(self, n: int) -> list:
        archs, vals = self.observed()
        if len(archs) < self.n_initial:
            return self.sample_new(n)
        y = vals[:, 0]
        self._fit(archs, y)
        order = np.argsort(-y, kind="stable")[: self.n_parents]
        cands = self._mutants([archs[int(i)] for i in order])
        if not cands:
            return []  # the base class tops up with random archs
        if self.kappa > 0:
            if not getattr(self.model_, "supports_std", False):
                raise ValueError(f"kappa > 0 needs a predictor with uncertainty (supports_std); "
                                 f"{type(self.model_).__name__} has none")
            mean, std = self.model_.predict(cands, return_std=True)
            pred = np.asarray(mean, dtype=float) + self.kappa * np.asarray(std, dtype=float)
        else:
            pred = np.asarray(self.model_.predict(cands), dtype=float)
        pred = np.where(np.isfinite(pred), pred, -np.inf)
        best = np.argsort(-pred, kind="stable")[:n]
        return [cands[int(i)] for i in best]
