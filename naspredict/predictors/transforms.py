"""Target transforms shared by predictors: each maps targets to a model scale and back.

Both follow one interface: ``forward(y)`` and ``inverse(z, std=None)`` (returning ``(mean,
std)`` in target units when a std is given).
"""
from __future__ import annotations

import numpy as np

from .base import Standardizer


class RankGauss:
    """Targets -> normal scores of their ranks, and back (monotone; linear past the ends).

    ``forward`` interpolates ``y -> Phi^-1((rank - 1/2) / n)`` between the training targets (ties
    share their average rank); ``inverse`` maps back, extrapolating linearly beyond the extreme
    scores with the slope of the outer deciles.  ``inverse(z, std)`` also returns a spread in
    target units: half the width of the mapped central 95% interval ``z +- 1.96 std`` divided by
    1.96, so ``mean +- 1.96 std`` keeps the width of the interval it came from even where the map
    is curved.  The same interface as :class:`~naspredict.predictors.base.Standardizer`.
    """

    def __init__(self, y: np.ndarray):
        from scipy.stats import norm, rankdata
        y = np.asarray(y, float)
        z = norm.ppf((rankdata(y) - 0.5) / len(y))
        self.y, idx = np.unique(y, return_index=True)
        self.z = z[idx]
        k = max(1, len(self.y) // 10)
        if len(self.y) > 1:
            self.lo = (self.y[k] - self.y[0]) / max(self.z[k] - self.z[0], 1e-12)
            self.hi = (self.y[-1] - self.y[-1 - k]) / max(self.z[-1] - self.z[-1 - k], 1e-12)
        else:
            self.lo = self.hi = 1.0

    def forward(self, y: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(y, float), self.y, self.z)

    def _inverse(self, z: np.ndarray) -> np.ndarray:
        out = np.interp(z, self.z, self.y)
        out = np.where(z < self.z[0], self.y[0] + (z - self.z[0]) * self.lo, out)
        return np.where(z > self.z[-1], self.y[-1] + (z - self.z[-1]) * self.hi, out)

    def inverse(self, z: np.ndarray, std: np.ndarray | None = None):
        z = np.asarray(z, float)
        out = self._inverse(z)
        if std is None:
            return out
        half = 1.96 * np.asarray(std, float)
        return out, (self._inverse(z + half) - self._inverse(z - half)) / (2 * 1.96)


def target_scaler(kind: str, y: np.ndarray):
    """``"rank"`` -> :class:`RankGauss`, ``"standard"`` -> :class:`Standardizer`."""
    if kind == "rank":
        return RankGauss(y)
    if kind == "standard":
        return Standardizer(y)
    raise ValueError(f"target_transform must be 'rank' or 'standard', got {kind!r}")
