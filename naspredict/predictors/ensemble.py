"""Averaging ensemble of predictors: naspredict's strongest ranker on NB201.

Each member is fitted on the same data; predictions are averaged (optionally weighted).  With
``return_std`` the ensemble reports the mixture's std: members' own variances (where they
give one) plus the spread between members' means.

The default members were chosen on NB201 (benchmarks/predictors.py): a random forest on GRAF
features + one-hot + path encoding, gradient-boosted trees on GRAF features + one-hot, and the
GP, joined by the MLP ensemble from 400 training archs on.  Their errors differ enough that
the average ranks better than any one of them.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import clone

from .base import Predictor


class EnsemblePredictor(Predictor):
    """Parameters
    ----------
    members : predictor names (built with :func:`naspredict.predictors.make`) or instances
        (cloned, their ``space`` set to the ensemble's).  ``None``: :func:`default_members`
        for the training-set size.
    weights : one weight per member (default equal).
    """

    supports_std = True

    def __init__(self, space="nb201", members=None, weights=None, random_state: int | None = 0):
        super().__init__(space, random_state)
        self.members = members
        self.weights = weights

    def _members(self, n_train: int) -> list:
        return default_members(n_train) if self.members is None else list(self.members)

    def _build(self, n_train: int):
        from . import make
        out = []
        for i, m in enumerate(self._members(n_train)):
            seed = None if self.random_state is None else self.random_state + i
            if isinstance(m, str):
                out.append(make(m, space=self.space, random_state=seed))
            else:
                out.append(clone(m).set_params(space=self.space, random_state=seed))
        return out

    def _fit(self, archs, y):
        members = self._members(len(y))
        if not members:
            raise ValueError("EnsemblePredictor needs at least one member")
        w = np.ones(len(members)) if self.weights is None else np.asarray(self.weights, float)
        if len(w) != len(members) or (w < 0).any() or w.sum() == 0:
            raise ValueError("weights must be non-negative, one per member, not all zero")
        self.weights_ = w / w.sum()
        self.members_ = [m.fit(archs, y) for m in self._build(len(y))]

    def _predict(self, archs, return_std=False):
        means, variances = [], []
        for m in self.members_:
            if return_std and m.supports_std:
                mu, sd = m.predict(archs, return_std=True)
                variances.append(sd ** 2)
            else:
                mu = m.predict(archs)
                variances.append(np.zeros_like(mu))
            means.append(mu)
        means, variances = np.array(means), np.array(variances)
        w = self.weights_[:, None]
        mean = (w * means).sum(0)
        if not return_std:
            return mean
        var = (w * (variances + (means - mean) ** 2)).sum(0)
        return mean, np.sqrt(var)


#: from this many training archs on, the MLP ensemble joins the default members.
MLP_FROM = 400


def default_members(n_train: int = 0) -> list:
    """RF on features+onehot+path, XGBoost on features+onehot (shallow, slow learning rate) and
    the GP; from ``MLP_FROM`` training archs on also BANANAS' MLP ensemble, which is weak on
    little data but strong and different from the trees on more (NB201: +0.01 tau at 400 and
    1,000 archs, mixed at 100)."""
    from .gp import GPPredictor
    from .mlp import MLPEnsemblePredictor
    from .trees import RandomForestPredictor, XGBPredictor
    members = [RandomForestPredictor(encoding="features+onehot+path"),
               XGBPredictor(encoding="features+onehot", max_depth=4, learning_rate=0.03, n_estimators=800),
               GPPredictor()]
    if n_train >= MLP_FROM:
        members.append(MLPEnsemblePredictor())
    return members
