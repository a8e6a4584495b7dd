"""Semi-supervised self-training around any predictor (SemiNAS).

SemiNAS (Luo, Tan, Wang, Qin, Chen & Liu, "Semi-Supervised Neural Architecture Search",
NeurIPS 2020) trains a predictor on the few labelled architectures, predicts a large pool of
unlabelled ones, adds those pseudo-labelled architectures to the training set, and retrains.
SemiNAS's predictor is NAO (:class:`~naspredict.predictors.nao.NAOPredictor`); here any
predictor can be wrapped.

Written for this package from the paper's description.  Choices of ours:

* Pseudo-labelled points are down-weighted by ``pseudo_weight`` relative to labelled ones.
  When the base declares ``accepts_sample_weight`` (NAO does) the weights are passed to it;
  otherwise weighting is by replication: each labelled point appears
  ``round(1 / pseudo_weight)`` times and each pseudo-labelled point once.
* With ``n_pseudo`` set, a base with uncertainty contributes its ``n_pseudo`` most confident
  pool points (smallest predictive std); a base without it contributes a seeded random
  ``n_pseudo`` of them.  ``n_pseudo=None`` uses the whole pool, as SemiNAS does.
* Each round re-predicts the pool with the latest model and refits the base from scratch on
  labelled + pseudo-labelled data; ``rounds=0`` is the plain base predictor.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import clone

from .base import Predictor


class SemiSupervisedPredictor(Predictor):
    """Self-training wrapper (SemiNAS, Luo et al., 2020) around a base predictor.

    Parameters
    ----------
    base : a :class:`~naspredict.predictors.base.Predictor` instance (cloned, never modified)
        or a predictor name, built by ``naspredict.predictors.make(name, space=space,
        random_state=random_state)``.  Default ``"nao"``, SemiNAS's choice.
    space, random_state : see :class:`~naspredict.predictors.base.Predictor`.
    rounds : pseudo-labelling rounds (each refits the base).
    pool_size : unlabelled archs sampled from the space (seeded, excluding training archs)
        when ``fit`` gets no ``pool``.
    n_pseudo : pool points added per round (``None``: all of them).
    pseudo_weight : weight of a pseudo-labelled point relative to a labelled one, in (0, 1].

    ``fit(archs, y, pool=None)``: ``pool`` is an explicit list of unlabelled archs.
    ``supports_std`` and ``min_train`` are the base's.
    """

    def __init__(self, base="nao", space="nb201", rounds: int = 1, pool_size: int = 1000,
                 n_pseudo: int | None = None, pseudo_weight: float = 0.5,
                 random_state: int | None = 0):
        super().__init__(space, random_state)
        self.base = base
        self.rounds = rounds
        self.pool_size = pool_size
        self.n_pseudo = n_pseudo
        self.pseudo_weight = pseudo_weight

    # -- base handling --------------------------------------------------------------------
    def _make_base(self) -> Predictor:
        if isinstance(self.base, Predictor):
            return clone(self.base)
        if isinstance(self.base, str):
            from . import make  # lazy: the registry imports this module
            return make(self.base, space=self.space, random_state=self.random_state)
        raise ValueError(f"base must be a Predictor instance or a predictor name, got "
                         f"{type(self.base).__name__}")

    def _base_for_flags(self):
        fitted = self.__dict__.get("base_")
        if fitted is not None:
            return fitted
        if isinstance(self.base, Predictor):
            return self.base
        try:
            return self._make_base()
        except Exception:  # registry not importable: be conservative
            return None

    #: ``fit(archs, y, pool=...)``: an explicit list of unlabelled archs.
    fit_params = frozenset({"pool"})

    @property
    def supports_std(self) -> bool:  # type: ignore[override]
        b = self._base_for_flags()
        return bool(getattr(b, "supports_std", False))

    @property
    def min_train(self) -> int:  # type: ignore[override]
        b = self._base_for_flags()
        return int(getattr(b, "min_train", 2))

    # -- training -------------------------------------------------------------------------
    def _sample_pool(self, archs, rng) -> list:
        sp = self.space_
        seen = set(archs)
        pool: dict = {}
        if getattr(sp, "finite", False) and hasattr(sp, "__len__"):
            room = len(sp) - len(seen)
            target = min(int(self.pool_size), max(room, 0))
        else:
            target = int(self.pool_size)
        tries = 0
        while len(pool) < target and tries < 100 * target + 1000:
            a = sp.sample(rng)
            tries += 1
            if a not in seen:
                pool.setdefault(a, None)
        return list(pool)

    def _fit(self, archs, y, pool=None):
        if not 0 < float(self.pseudo_weight) <= 1:
            raise ValueError(f"pseudo_weight must be in (0, 1], got {self.pseudo_weight!r}")
        if int(self.rounds) < 0:
            raise ValueError(f"rounds must be >= 0, got {self.rounds!r}")
        rng = self._rng()
        base = self._make_base()
        if pool is None:
            pool = self._sample_pool(archs, rng)
        else:
            pool = self._check_archs(pool)
        self.pool_size_ = len(pool)
        base.fit(archs, y)
        weighted = bool(base.accepts_sample_weight)
        for _ in range(int(self.rounds)):
            if not pool:
                break
            chosen = self._choose(base, pool, rng)
            px = [pool[i] for i in chosen]
            py = np.asarray(base.predict(px), float)
            base = self._make_base()
            if weighted:
                w = np.concatenate([np.ones(len(y)), np.full(len(py), float(self.pseudo_weight))])
                base.fit(list(archs) + px, np.concatenate([y, py]), sample_weight=w)
            else:
                rep = max(1, int(round(1.0 / float(self.pseudo_weight))))
                base.fit(list(archs) * rep + px, np.concatenate([np.tile(y, rep), py]))
        self.base_ = base

    def _choose(self, base, pool, rng) -> np.ndarray:
        n = len(pool)
        if self.n_pseudo is None or int(self.n_pseudo) >= n:
            return np.arange(n)
        k = int(self.n_pseudo)
        if getattr(base, "supports_std", False):
            _, std = base.predict(pool, return_std=True)
            return np.sort(np.argsort(std, kind="stable")[:k])
        return np.sort(rng.choice(n, size=k, replace=False))

    def _predict(self, archs, return_std=False):
        return self.base_.predict(archs, return_std=return_std)

    def _joint_samples(self, archs, n, seed):
        return self.base_.posterior(archs, n_samples=n, seed=seed).samples

    @property
    def joint_samples(self) -> bool:  # type: ignore[override]
        b = self._base_for_flags()
        return bool(getattr(b, "joint_samples", False))
