"""Tree baselines on a chosen vector encoding: random forest and gradient boosting (XGBoost).

With ``encoding="features+onehot"`` the random forest is the GRAF-style reference
(Kadlecová et al., ICML 2024); with ``"onehot"`` it is NASLib's tree family (White et al., 2021).
"""
from __future__ import annotations

import numpy as np

from ..encodings import make_encoding
from .base import Predictor


class _EncodedPredictor(Predictor):
    """Shared plumbing: encode archs with ``self.encoding``, then a vector model."""

    def _encoder(self):
        return make_encoding(self.encoding, self.space_)

    def _X(self, archs) -> np.ndarray:
        return self._encoder().transform(archs)


class RandomForestPredictor(_EncodedPredictor):
    """Random forest regressor (scikit-learn).  ``return_std`` gives the spread across trees.

    Parameters
    ----------
    space, random_state : see :class:`~naspredict.predictors.base.Predictor`.
    encoding : vector encoding name, ``+`` joins several (default ``"features+onehot"``).
    n_estimators, max_features, min_samples_leaf : forest settings.
    """

    supports_std = True

    def __init__(self, space="nb201", encoding: str = "features+onehot", n_estimators: int = 500,
                 max_features: float | str | None = 0.5, min_samples_leaf: int = 1,
                 n_jobs: int | None = None, random_state: int | None = 0):
        super().__init__(space, random_state)
        self.encoding = encoding
        self.n_estimators = n_estimators
        self.max_features = max_features
        self.min_samples_leaf = min_samples_leaf
        self.n_jobs = n_jobs

    def _fit(self, archs, y):
        from sklearn.ensemble import RandomForestRegressor
        self.model_ = RandomForestRegressor(
            n_estimators=self.n_estimators, max_features=self.max_features,
            min_samples_leaf=self.min_samples_leaf, n_jobs=self.n_jobs,
            random_state=self.random_state).fit(self._X(archs), y)

    def _predict(self, archs, return_std=False):
        X = self._X(archs)
        mean = self.model_.predict(X)
        if not return_std:
            return mean
        per_tree = np.stack([t.predict(X) for t in self.model_.estimators_])
        return mean, per_tree.std(axis=0)


class XGBPredictor(_EncodedPredictor):
    """Gradient-boosted trees (XGBoost) on a vector encoding (default ``"onehot"``)."""

    def __init__(self, space="nb201", encoding: str = "onehot", n_estimators: int = 500,
                 learning_rate: float = 0.05, max_depth: int = 6, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, n_jobs: int | None = None,
                 random_state: int | None = 0):
        super().__init__(space, random_state)
        self.encoding = encoding
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.n_jobs = n_jobs

    def _fit(self, archs, y):
        from xgboost import XGBRegressor
        self.model_ = XGBRegressor(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            max_depth=self.max_depth, subsample=self.subsample,
            colsample_bytree=self.colsample_bytree, n_jobs=self.n_jobs,
            random_state=self.random_state if self.random_state is not None else 0,
            verbosity=0).fit(self._X(archs), y)

    def _predict(self, archs, return_std=False):
        return self.model_.predict(self._X(archs))
