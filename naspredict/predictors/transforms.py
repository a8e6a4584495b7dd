"""Target transforms: one family, each mapping targets to the scale a model fits and back.

Every class is fitted on the training targets when it is built (``T(y)``) and offers

* ``forward(y) -> z`` (numpy, any shape);
* ``inverse(z, std=None)``: back to target units; with a model-scale ``std`` it returns
  ``(mean, std)`` in target units;
* ``inverse_tensor(z)``: the same map on a torch tensor (for Monte-Carlo acquisitions that
  score posterior samples in target units); exact in torch where the map is (``Log``,
  ``Standard``, ``Identity``), through numpy otherwise (no gradient: the acquisitions that use
  it only score discrete candidates).

Members: :class:`Identity`, :class:`Standard` (centre and scale), :class:`Log` (``log`` of a
positive signed quantity), :class:`RankGauss` (normal scores of the ranks, a Gaussian copula)
and :class:`ClipLowTail` (raise a heavy low tail to a Tukey fence).  :func:`make_transform`
builds one by name; :func:`target_scaler` is the predictors' ``target_transform`` option.
bo, mobo and the predictors all use these classes.
"""
from __future__ import annotations

import numpy as np

from .base import Standardizer

#: names accepted by :func:`make_transform`
TRANSFORMS = ("none", "standard", "log", "rank", "clip")


class TargetTransform:
    """Base of the target transforms (see the module doc).  Subclasses set their fitted state
    in ``__init__(y)`` and implement :meth:`forward` and :meth:`_inverse`; the interval-based
    std mapping of :meth:`inverse` is shared."""

    #: whether ``inverse`` is affine (then a Gaussian in model units stays Gaussian in target
    #: units, and analytic acquisitions remain exact)
    affine: bool = False

    def forward(self, y: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _inverse(self, z: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse(self, z: np.ndarray, std: np.ndarray | None = None):
        """Model scale -> target units.

        Parameters
        ----------
        z : array, any shape, in model units.
        std : optional array broadcastable to ``z``: a model-scale std.

        Returns
        -------
        The mapped values, or ``(mean, std)`` when ``std`` is given: the std in target units is
        half the width of the mapped central 95 % interval ``z +- 1.96 std`` divided by 1.96, so
        ``mean +- 1.96 std`` keeps the width of the interval it came from even where the map is
        curved (for an affine map this is the usual ``scale * std``).
        """
        z = np.asarray(z, float)
        out = self._inverse(z)
        if std is None:
            return out
        half = 1.96 * np.asarray(std, float)
        return out, (self._inverse(z + half) - self._inverse(z - half)) / (2 * 1.96)

    def inverse_tensor(self, z):
        """:meth:`inverse` on a torch tensor (same dtype and device); through numpy unless a
        subclass gives an exact torch form, so no gradient flows."""
        import torch
        back = self._inverse(z.detach().cpu().numpy())
        return torch.as_tensor(back, dtype=z.dtype, device=z.device)


class Identity(TargetTransform):
    """The identity (``"none"``): targets are modelled as they are."""

    affine = True

    def __init__(self, y: np.ndarray | None = None):
        pass

    def forward(self, y):
        return np.array(y, dtype=float, copy=True)

    def _inverse(self, z):
        return np.array(z, dtype=float, copy=True)

    def inverse_tensor(self, z):
        return z


class Standard(Standardizer, TargetTransform):
    """Centre by the mean and divide by the std of ``y`` (a constant ``y`` keeps scale 1).

    The same numbers as :class:`~naspredict.predictors.base.Standardizer`, which it extends.
    """

    affine = True

    def _inverse(self, z):
        return np.asarray(z, float) * self.scale + self.mean

    def inverse(self, z, std=None):  # the affine map: exact, no interval needed
        return Standardizer.inverse(self, z, std)

    def inverse_tensor(self, z):
        return z * self.scale + self.mean


class Log(TargetTransform):
    """``z = log(sign * y)`` for a quantity that is positive in its original units.

    Parameters
    ----------
    y : training targets (only checked: every ``sign * y`` must be positive).
    sign : ``+1`` (default) or ``-1``: the sign the caller applied to the original values
        (mobo negates minimised objectives); ``inverse`` gives ``sign * exp(z)``.

    Raises
    ------
    ValueError : when some ``sign * y`` is not positive.
    """

    def __init__(self, y: np.ndarray, sign: float = 1.0, name: str = "the target"):
        if sign not in (1, -1, 1.0, -1.0):
            raise ValueError(f"sign must be +1 or -1, got {sign!r}")
        self.sign = float(sign)
        raw = np.asarray(y, float) * self.sign
        if (raw <= 0).any():
            raise ValueError(f"a log transform needs positive values of {name}; got "
                             f"{int((raw <= 0).sum())} value(s) <= 0. Drop the log transform for it")

    def forward(self, y):
        return np.log(np.asarray(y, float) * self.sign)

    def _inverse(self, z):
        return self.sign * np.exp(z)

    def inverse_tensor(self, z):
        import torch
        return self.sign * torch.exp(z)


class RankGauss(TargetTransform):
    """Targets -> normal scores of their ranks, and back (monotone, bounded past the ends).

    ``forward`` interpolates ``y -> Phi^-1((rank - 1/2) / n)`` between the training targets
    (ties share their average rank), the Gaussian-copula transform of Salinas, Shen & Perrone
    (ICML 2020); it is constant beyond the extremes.

    ``inverse`` maps back by the same interpolation inside the observed scores.  Beyond them
    the ranks say nothing, and extrapolating linearly gave impossible values (an accuracy of
    -222 % at ``z = -6`` on NAS-Bench-201).  So past each end the map *saturates*:

        ``y(z) = y_end +- D * (1 - exp(-s |z - z_end| / D))``

    with ``s`` the slope of the outer decile (so the map is continuous with a continuous slope
    at the end) and ``D`` the mean gap between consecutive distinct values in that decile,
    ``|y_end - y_(k)| / k`` with ``k = max(1, n_distinct // 10)``: a value predicted past the
    best observation can exceed it by at most about the spacing of the next order statistic
    that the tail's observed spacings suggest, and the map stays strictly increasing (ranks are
    kept; far out it reaches the asymptote in floating point).  On 200 NB201 CIFAR-10 accuracies, the low tail's dead cells made the old linear map
    give -58 % at ``z = -6``; the saturated map stays above the lowest observation minus one
    gap.
    ``bounds=(low, high)`` (e.g. ``(0, 100)`` for an accuracy in %) additionally caps ``D`` so
    that the asymptotes never leave the physically possible range.

    Parameters
    ----------
    y : array ``(n,)`` of training targets (finite).
    bounds : optional ``(low, high)``; either may be ``None``.  The observed values must lie in
        it.

    Raises
    ------
    ValueError : when ``y`` is empty or lies outside ``bounds``.
    """

    def __init__(self, y: np.ndarray, bounds: tuple[float | None, float | None] | None = None):
        from scipy.stats import norm, rankdata
        y = np.asarray(y, float).ravel()
        if not len(y):
            raise ValueError("RankGauss needs at least one target value")
        z = norm.ppf((rankdata(y) - 0.5) / len(y))
        self.y, idx = np.unique(y, return_index=True)
        self.z = z[idx]
        k = max(1, len(self.y) // 10)
        if len(self.y) > 1:
            self.lo = (self.y[k] - self.y[0]) / max(self.z[k] - self.z[0], 1e-12)
            self.hi = (self.y[-1] - self.y[-1 - k]) / max(self.z[-1] - self.z[-1 - k], 1e-12)
            self.d_lo, self.d_hi = (self.y[k] - self.y[0]) / k, (self.y[-1] - self.y[-1 - k]) / k
        else:  # one distinct value: unit slope, a tail as wide as the value's magnitude (or 1)
            self.lo = self.hi = 1.0
            self.d_lo = self.d_hi = max(abs(float(self.y[0])), 1.0)
        low, high = (None, None) if bounds is None else bounds
        if low is not None:
            if self.y[0] < low:
                raise ValueError(f"observed value {self.y[0]} is below bounds[0]={low}; fix bounds")
            self.d_lo = min(self.d_lo, self.y[0] - low)
        if high is not None:
            if self.y[-1] > high:
                raise ValueError(f"observed value {self.y[-1]} is above bounds[1]={high}; fix bounds")
            self.d_hi = min(self.d_hi, high - self.y[-1])
        self.bounds = (low, high)

    def forward(self, y):
        return np.interp(np.asarray(y, float), self.y, self.z)

    @staticmethod
    def _tail(excess: np.ndarray, slope: float, span: float) -> np.ndarray:
        """``span * (1 - exp(-slope * excess / span))`` for ``excess >= 0`` (0 when span is 0)."""
        if span <= 0:
            return np.zeros_like(excess)
        return span * -np.expm1(-slope * excess / span)

    def _inverse(self, z):
        z = np.asarray(z, float)
        out = np.interp(z, self.z, self.y)
        below = np.maximum(self.z[0] - z, 0.0)
        above = np.maximum(z - self.z[-1], 0.0)
        out = np.where(z < self.z[0], self.y[0] - self._tail(below, self.lo, self.d_lo), out)
        return np.where(z > self.z[-1], self.y[-1] + self._tail(above, self.hi, self.d_hi), out)


class ClipLowTail(TargetTransform):
    """Raise values below the lower Tukey fence ``Q1 - 1.5 IQR`` of ``y`` to it (``"clip"``).

    Meant for a heavy low tail (dead cells of an accuracy table) that would dominate a
    stationary GP.  ``inverse`` is the identity: clipped values are not recoverable, and model
    outputs are already in target units.  With fewer than two targets nothing is clipped.
    """

    affine = True

    def __init__(self, y: np.ndarray):
        y = np.asarray(y, float)
        if len(y) < 2:
            self.fence = -np.inf
        else:
            q1, q3 = np.percentile(y, [25, 75])
            self.fence = q1 - 1.5 * (q3 - q1)

    def forward(self, y):
        return np.maximum(np.asarray(y, float), self.fence)

    def _inverse(self, z):
        return np.array(z, dtype=float, copy=True)

    def inverse_tensor(self, z):
        return z


_CLASSES = {"none": Identity, "standard": Standard, "log": Log, "rank": RankGauss, "clip": ClipLowTail}


def make_transform(kind: str, y: np.ndarray, **params) -> TargetTransform:
    """The transform called ``kind`` (one of :data:`TRANSFORMS`) fitted on ``y``.

    ``params`` go to the class (``sign=`` for ``"log"``, ``bounds=`` for ``"rank"``).

    Raises
    ------
    ValueError : for an unknown ``kind`` (naming the accepted ones).
    """
    if kind not in _CLASSES:
        raise ValueError(f"unknown target transform {kind!r}; expected one of {', '.join(TRANSFORMS)}")
    return _CLASSES[kind](y, **params)


def target_scaler(kind: str, y: np.ndarray) -> TargetTransform:
    """The predictors' ``target_transform`` option: ``"rank"`` -> :class:`RankGauss`,
    ``"standard"`` -> :class:`Standard`.

    Raises
    ------
    ValueError : for any other ``kind``.
    """
    if kind not in ("rank", "standard"):
        raise ValueError(f"target_transform must be 'rank' or 'standard', got {kind!r}")
    return make_transform(kind, y)
