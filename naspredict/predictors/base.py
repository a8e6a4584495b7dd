"""Predictor contract: a scikit-learn regressor over lists of architectures.

``__init__`` only stores parameters; ``fit(archs, y)`` learns (state ends in ``_``);
``predict(archs, return_std=False)`` returns means, and ``(mean, std)`` for predictors with
``supports_std = True``.  ``clone``, ``get_params`` and ``set_params`` work as in scikit-learn.
Every predictor takes ``random_state``: the same seed gives the same predictions.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError

from ..spaces import SearchSpace, UsesSpace


class Predictor(UsesSpace, RegressorMixin, BaseEstimator):
    """Base class of every naspredict predictor.

    Subclasses implement ``_fit(archs, y, **extra)`` and ``_predict(archs) -> mean`` or
    ``-> (mean, std)`` when ``supports_std``.  This class checks the input and raises clear
    errors: archs and y of different lengths, NaN/inf in y, too few training points, archs from
    another space, predict before fit, ``return_std`` on a predictor without uncertainty.
    """

    #: fewest training points the model can fit.
    min_train: int = 2
    #: whether ``predict(..., return_std=True)`` is available.
    supports_std: bool = False

    def __init__(self, space: str | SearchSpace = "nb201", random_state: int | None = 0):
        self.space = space
        self.random_state = random_state

    # -- helpers for subclasses ------------------------------------------------------------
    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(self.random_state)

    def _torch_seed(self) -> int:
        return int(np.random.default_rng(self.random_state).integers(2**31 - 1))

    def _check_archs(self, archs: Sequence[Any]) -> list:
        if isinstance(archs, (str, bytes)) or not hasattr(archs, "__len__"):
            raise ValueError("archs must be a list of architectures")
        sp = self.space_
        out = []
        for i, a in enumerate(archs):
            try:
                out.append(sp.validate(a))
            except ValueError as err:
                raise ValueError(f"arch {i} is not in the {sp.name!r} space this predictor was "
                                 f"built for ({err}); pass space= matching your data") from None
        return out

    # -- public API --------------------------------------------------------------------------
    def fit(self, archs: Sequence[Any], y: Sequence[float], **extra) -> "Predictor":
        """Fit on ``archs`` (list of architectures) and ``y`` (shape ``(n,)``)."""
        archs = self._check_archs(archs)
        y = np.asarray(y, dtype=float).ravel()
        if len(archs) != len(y):
            raise ValueError(f"got {len(archs)} archs but {len(y)} targets; they must match")
        bad = ~np.isfinite(y)
        if bad.any():
            raise ValueError(f"y has {int(bad.sum())} NaN/inf value(s); drop those rows first "
                             f"(e.g. Benchmark.dropna(metric))")
        if len(y) < self.min_train:
            raise ValueError(f"{type(self).__name__} needs at least {self.min_train} training "
                             f"points, got {len(y)}")
        self._fit(archs, y, **extra)
        self.n_train_ = len(y)
        return self

    def predict(self, archs: Sequence[Any], return_std: bool = False):
        """Predicted means, shape ``(n,)``; with ``return_std`` also the predictive std."""
        if not hasattr(self, "n_train_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(archs, y) first")
        if return_std and not self.supports_std:
            raise ValueError(f"{type(self).__name__} gives no uncertainty; use a predictor with "
                             f"supports_std (gp, gcn-blr, mlp-ensemble, ...)")
        archs = self._check_archs(archs)
        if len(archs) == 0:
            return (np.zeros(0), np.zeros(0)) if return_std else np.zeros(0)
        out = self._predict(archs, return_std=return_std)
        if return_std:
            mean, std = out
            return np.asarray(mean, float).ravel(), np.asarray(std, float).ravel()
        return np.asarray(out, float).ravel()

    def _fit(self, archs: list, y: np.ndarray, **extra) -> None:  # pragma: no cover
        raise NotImplementedError

    def _predict(self, archs: list, return_std: bool = False):  # pragma: no cover
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.non_deterministic = False
        return tags


class Standardizer:
    """Centre and scale targets; keeps predictions in the caller's units."""

    def __init__(self, y: np.ndarray):
        self.mean = float(np.mean(y))
        self.scale = float(np.std(y)) or 1.0

    def forward(self, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y, float) - self.mean) / self.scale

    def inverse(self, z: np.ndarray, std: np.ndarray | None = None):
        mean = np.asarray(z, float) * self.scale + self.mean
        if std is None:
            return mean
        return mean, np.asarray(std, float) * self.scale
