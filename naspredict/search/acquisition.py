"""Acquisition functions for Bayesian optimisation over a pool of candidate architectures.

Everything is vectorised over candidates and works in "higher is better" units.

* Expected improvement (Močkus, 1975; Jones, Schonlau & Welch, 1998):
  ``EI = s * h(z)`` with ``z = (mu - best - xi) / s`` and ``h(z) = phi(z) + z Phi(z)``.
  :func:`log_expected_improvement` evaluates ``log EI`` stably far into the left tail
  (Ament et al., "Unexpected Improvements to Expected Improvement", NeurIPS 2023), so that
  candidates whose plain EI underflows to 0 are still ranked.
* Upper confidence bound ``mu + beta * s`` (GP-UCB, Srinivas et al., ICML 2010; here ``beta``
  multiplies the std directly).
* Thompson sampling (Thompson, 1933; for GPs and batches: Kandasamy et al., AISTATS 2018):
  draws of the objective at the candidates, joint when the model offers
  ``posterior(archs, n_samples=n, seed=seed)`` draws jointly, otherwise independent normals from the marginal
  mean and std.

Stds are floored at ``min_std`` so a zero predictive std never divides by zero.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

#: names accepted by :func:`score`.
ACQUISITIONS = ("ei", "ucb", "ts")

_C1 = 0.5 * math.log(2 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2)
_INV_SQRT_EPS = 1.0 / math.sqrt(np.finfo(float).eps)


def _prep(mean, std, min_std: float):
    mean = np.asarray(mean, dtype=float)
    std = np.maximum(np.asarray(std, dtype=float), min_std)
    if mean.shape != std.shape:
        raise ValueError(f"mean and std must have the same shape, got {mean.shape} and {std.shape}")
    return mean, std


def expected_improvement(mean, std, best: float, xi: float = 0.0, min_std: float = 1e-9) -> np.ndarray:
    """Expected improvement over ``best + xi`` of a normal ``N(mean, std^2)`` (elementwise).

    ``EI(mean=best, std=1) = phi(0) = 0.3989...``.  Computed as ``exp(log EI)`` so it is
    non-negative and exact where representable; use :func:`log_expected_improvement` to rank.
    """
    return np.exp(log_expected_improvement(mean, std, best, xi, min_std))


def _log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z * Phi(z))``, stable for all z (Ament et al., 2023, eq. 9)."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    hi = z > -1.0
    if hi.any():
        zh = z[hi]
        h = np.exp(-0.5 * zh * zh - _C1) + zh * ndtr(zh)
        out[hi] = np.log(np.maximum(h, np.finfo(float).tiny))
    mid = (~hi) & (z > -_INV_SQRT_EPS)
    if mid.any():
        zm = z[mid]
        # log1mexp(x) for x < 0: log(1 - e^x)
        x = np.log(erfcx(-zm / math.sqrt(2)) * np.abs(zm)) + _C2
        log1mexp = np.where(x > -math.log(2), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))
        out[mid] = -0.5 * zm * zm - _C1 + log1mexp
    lo = ~(hi | mid)
    if lo.any():
        zl = z[lo]
        out[lo] = -0.5 * zl * zl - _C1 - 2.0 * np.log(np.abs(zl))
    return out


def log_expected_improvement(mean, std, best: float, xi: float = 0.0,
                             min_std: float = 1e-9) -> np.ndarray:
    """``log EI`` (finite everywhere: no ties at 0 among hopeless candidates)."""
    mean, std = _prep(mean, std, min_std)
    z = (mean - float(best) - float(xi)) / std
    return np.log(std) + _log_h(z)


def probability_of_improvement(mean, std, best: float, xi: float = 0.0,
                               min_std: float = 1e-9, log: bool = False) -> np.ndarray:
    """``P(f > best + xi)`` (Kushner, 1964); ``log=True`` gives its log."""
    mean, std = _prep(mean, std, min_std)
    z = (mean - float(best) - float(xi)) / std
    return log_ndtr(z) if log else ndtr(z)


def upper_confidence_bound(mean, std, beta: float = 2.0, min_std: float = 0.0) -> np.ndarray:
    """``mean + beta * std``."""
    mean, std = _prep(mean, std, min_std)
    return mean + float(beta) * std


def thompson_independent(mean, std, n: int = 1, rng: np.random.Generator | int | None = None,
                         min_std: float = 0.0) -> np.ndarray:
    """``n`` draws from independent normals ``N(mean_i, std_i^2)``, shape ``(n, len(mean))``."""
    mean, std = _prep(mean, std, min_std)
    rng = np.random.default_rng(rng)
    return mean[None, :] + std[None, :] * rng.standard_normal((int(n), mean.size))


def thompson_draws(model: Any, archs: Sequence[Any], n: int = 1, seed: int | None = 0,
                   mean=None, std=None, **context) -> np.ndarray:
    """``n`` Thompson draws of ``model`` at ``archs``, shape ``(n, len(archs))``.

    Joint draws from ``model.posterior(archs, n_samples=n, seed=seed)`` when the model's
    draws are joint (``model.joint_samples``, e.g. the GP); otherwise independent normals from
    ``model.predict(archs, return_std=True)`` (``mean``/``std`` may be passed to skip that call).
    ``context`` (e.g. ``fidelity=200``, ``task=...``) goes to the model.
    """
    if len(archs) == 0:
        return np.zeros((int(n), 0))
    if getattr(model, "joint_samples", False):
        draws = model.posterior(archs, n_samples=int(n), seed=seed, **context).samples
        return np.asarray(draws, dtype=float).reshape(int(n), len(archs))
    if mean is None or std is None:
        mean, std = model.predict(archs, return_std=True, **context)
    return thompson_independent(mean, std, n, rng=seed)


def score(name: str, mean, std, best: float, *, beta: float = 2.0, xi: float = 0.0,
          rng: np.random.Generator | int | None = None, min_std: float = 1e-9) -> np.ndarray:
    """Acquisition values (higher is better) of candidates with predictive ``mean``/``std``.

    ``"ei"`` returns ``log EI`` (same ranking as EI, no underflow), ``"ucb"`` the bound,
    ``"ts"`` one independent-normal Thompson draw.
    """
    if name == "ei":
        return log_expected_improvement(mean, std, best, xi, min_std)
    if name == "ucb":
        return upper_confidence_bound(mean, std, beta)
    if name == "ts":
        return thompson_independent(mean, std, 1, rng=rng)[0]
    raise ValueError(f"acquisition must be one of {', '.join(ACQUISITIONS)}, got {name!r}")


__all__ = ["ACQUISITIONS", "expected_improvement", "log_expected_improvement",
           "probability_of_improvement", "upper_confidence_bound", "thompson_independent",
           "thompson_draws", "score"]
