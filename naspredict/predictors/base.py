"""Predictor contract: a scikit-learn regressor over lists of architectures.

``__init__`` only stores parameters; ``fit(archs, y)`` learns (state ends in ``_``);
``predict(archs, return_std=False)`` returns means, and ``(mean, std)`` for predictors with
``supports_std = True``.  ``clone``, ``get_params`` and ``set_params`` work as in scikit-learn.
Every predictor takes ``random_state``: the same seed gives the same predictions.

**Declared inputs.**  Besides the archs, a predictor may take *context* per row on both ``fit``
and ``predict``: ``fidelity`` (the epochs a value was measured at), ``task`` (which data set or
benchmark it comes from) and ``curves`` (partial learning curves); ``fit`` may also take
``sample_weight``.  A class declares what it takes (:attr:`Predictor.context_inputs`,
:attr:`Predictor.required_inputs`, :attr:`Predictor.accepts_sample_weight`); the base class
checks and normalises the inputs and passes the subclass only those that were given.  The
contract is symmetric: a model fitted with ``task=`` must be asked with ``task=`` (the label of
the task to predict), and one fitted without it must not be given it.

>>> gp = make("mtgp", space="nb201").fit(archs, y, fidelity=epochs)   # doctest: +SKIP
>>> gp.predict(new_archs, fidelity=200)                               # doctest: +SKIP
>>> post = gp.posterior(new_archs, n_samples=8, fidelity=200)          # doctest: +SKIP
>>> post.mean.shape, post.samples.shape                                # doctest: +SKIP
((n,), (8, n))
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError

from ..spaces import SearchSpace, UsesSpace

#: every context input a predictor may declare (sample_weight is fit-only and declared apart).
CONTEXT_INPUTS = ("fidelity", "task", "curves")

_HINTS = {
    "fidelity": "the epochs each value was measured at (a number, or one per arch)",
    "task": "the data set / benchmark each value comes from (a label, or one per arch)",
    "curves": "partial learning curves, one sequence per arch",
}


@dataclass(frozen=True)
class Posterior:
    """A predictor's predictive distribution at ``n`` archs.

    Attributes
    ----------
    mean, std : arrays ``(n,)`` in target units.
    samples : ``(n_samples, n)`` draws in target units, or ``None`` when none were asked.
    joint : whether the draws are joint over the archs (the GP, gcn-blr) or independent
        normals from ``mean`` and ``std``.
    """

    mean: np.ndarray
    std: np.ndarray
    samples: np.ndarray | None = None
    joint: bool = False


def _per_row(name: str, value: Any, n: int) -> np.ndarray:
    """A scalar broadcast to ``n`` rows, or a sequence of exactly ``n`` entries."""
    if np.ndim(value) == 0 or isinstance(value, (str, bytes)):
        return np.array([value] * n, dtype=object)
    arr = list(value)
    if len(arr) != n:
        raise ValueError(f"got {n} archs but {len(arr)} {name} values; give one per arch "
                         f"(or a single value for all)")
    return np.array(arr, dtype=object)


def _fidelity_values(value: Any, n: int) -> np.ndarray:
    raw = _per_row("fidelity", value, n)
    out = np.empty(n)
    for i, v in enumerate(raw):
        if hasattr(v, "epochs") and hasattr(v, "key"):  # a naspredict.trials.Fidelity
            if v.epochs is None:
                raise ValueError(f"fidelity {i} is {v!r}, which names no epoch count; give the "
                                 f"full level's epochs instead (e.g. 200 on NAS-Bench-201)")
            v = v.epochs
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"fidelity {i} is {v!r}; give epochs as a positive number") from None
        if not np.isfinite(out[i]) or out[i] <= 0:
            raise ValueError(f"fidelity {i} is {v!r}; fidelities are positive finite epoch counts")
    return out


def _task_values(value: Any, n: int) -> np.ndarray:
    raw = _per_row("task", value, n)
    for i, v in enumerate(raw):
        if v is None or isinstance(v, float) and not np.isfinite(v):
            raise ValueError(f"task {i} is {v!r}; every row needs a task label (a str or int)")
        try:
            hash(v)
        except TypeError:
            raise ValueError(f"task {i} is {v!r}; task labels must be hashable (a str or int)") from None
    return raw


def _curve_values(value: Any, n: int) -> list[np.ndarray]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise ValueError(f"curves must be one sequence of values per arch, got {type(value).__name__}")
    if len(value) != n:
        raise ValueError(f"got {n} archs but {len(value)} curves; they must match")
    out = []
    for i, row in enumerate(value):
        try:
            c = np.asarray(row, dtype=float).ravel()
        except (TypeError, ValueError):
            raise ValueError(f"curves[{i}] is not a sequence of numbers: {row!r}") from None
        out.append(c)  # NaN padding is the predictor's to judge (lc-srm reads the first k only)
    return out


def _sample_weights(value: Any, n: int) -> np.ndarray:
    try:
        w = np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ValueError("sample_weight must be numbers, one per arch") from None
    if len(w) != n:
        raise ValueError(f"got {n} archs but {len(w)} sample weights; they must match")
    if not np.isfinite(w).all() or (w < 0).any() or not (w > 0).any():
        raise ValueError("sample_weight must be finite, >= 0 and not all zero")
    return w


_NORMALISE = {"fidelity": _fidelity_values, "task": _task_values, "curves": _curve_values}


class Predictor(UsesSpace, RegressorMixin, BaseEstimator):
    """Base class of every naspredict predictor.

    Subclasses implement ``_fit(archs, y, **ctx)`` and ``_predict(archs, return_std, **ctx)``
    (returning the mean, or ``(mean, std)`` when ``supports_std``), where ``ctx`` holds only
    the declared context inputs the caller gave, in normal form: ``fidelity`` a float array
    ``(n,)``, ``task`` an object array ``(n,)`` of labels, ``curves`` a list of 1-D float
    arrays (ragged, possibly NaN-padded), ``sample_weight`` (fit only) a float array ``(n,)``.  An optional
    ``_joint_samples(archs, n, seed, **ctx) -> (n, len(archs))`` gives joint posterior draws.
    This class checks the input and raises clear errors: archs and y of different lengths,
    NaN/inf in y, too few training points, archs from another space, predict before fit,
    ``return_std`` on a predictor without uncertainty, a context input the class does not
    take, a missing required one, or a different set of inputs on predict than on fit.
    """

    #: fewest training points the model can fit.
    min_train: int = 2
    #: whether ``predict(..., return_std=True)`` is available.
    supports_std: bool = False
    #: context inputs ``fit`` and ``predict`` take (a subset of :data:`CONTEXT_INPUTS`).
    context_inputs: frozenset[str] = frozenset()
    #: context inputs that must always be given.
    required_inputs: frozenset[str] = frozenset()
    #: whether ``fit`` takes ``sample_weight``.
    accepts_sample_weight: bool = False
    #: extra fit-only keywords a subclass takes as they are (e.g. ``semi``'s ``pool``).
    fit_params: frozenset[str] = frozenset()

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

    def _check_context(self, n: int, given: dict, fitting: bool) -> dict:
        """Normalised context inputs that were given (``None`` values dropped), or ValueError."""
        name = type(self).__name__
        given = {k: v for k, v in given.items() if v is not None}
        for k in given:
            if k not in self.context_inputs:
                from . import accepting  # lazy: the registry imports this module
                takers = ", ".join(accepting(k)) or "none"
                raise ValueError(f"{name} does not take {k}= ({_HINTS[k]}); predictors that do: "
                                 f"{takers}. Drop {k}= or pick one of those")
        for k in sorted(self.required_inputs - set(given)):
            raise ValueError(f"{name} needs {k}= ({_HINTS[k]}) on fit and predict")
        if not fitting:
            fitted = getattr(self, "context_fitted_", frozenset())
            missing, extra = sorted(fitted - set(given)), sorted(set(given) - fitted)
            if missing:
                raise ValueError(f"this {name} was fitted with {', '.join(k + '=' for k in missing)}; "
                                 f"pass the same to predict (e.g. the target task's label, or the "
                                 f"full level's epochs)")
            if extra:
                raise ValueError(f"this {name} was fitted without {', '.join(k + '=' for k in extra)}; "
                                 f"drop it from predict, or refit with it")
        return {k: _NORMALISE[k](v, n) for k, v in given.items()}

    # -- public API --------------------------------------------------------------------------
    def fit(self, archs: Sequence[Any], y: Sequence[float], *, fidelity=None, task=None,
            curves=None, sample_weight=None, **params) -> "Predictor":
        """Fit on ``archs`` (list of architectures) and ``y`` (shape ``(n,)``).

        ``fidelity``, ``task`` and ``curves`` are per-row context (only for predictors that
        declare them in :attr:`context_inputs`); ``sample_weight`` weights the rows (only where
        :attr:`accepts_sample_weight`).  Raises ``ValueError`` on bad or undeclared input.
        """
        unknown = sorted(set(params) - set(self.fit_params))
        if unknown:
            raise TypeError(f"{type(self).__name__}.fit() got unexpected keyword(s) "
                            f"{', '.join(unknown)}; it takes fidelity=, task=, curves=, "
                            f"sample_weight= where declared")
        archs = self._check_archs(archs)
        try:
            y = np.asarray(y, dtype=float)
        except (TypeError, ValueError) as err:
            raise ValueError(f"y must be numbers, one per arch ({err}); convert the target column "
                             f"to floats first") from None
        if y.ndim > 1 and max(y.shape[1:]) > 1:
            raise ValueError(f"y has shape {y.shape}; a predictor fits one target: pass a 1-D array "
                             f"(one column), or fit one predictor per target")
        y = y.ravel()
        if len(archs) != len(y):
            raise ValueError(f"got {len(archs)} archs but {len(y)} targets; they must match")
        bad = ~np.isfinite(y)
        if bad.any():
            raise ValueError(f"y has {int(bad.sum())} NaN/inf value(s); drop those rows first "
                             f"(e.g. Benchmark.dropna(metric))")
        if len(y) < self.min_train:
            raise ValueError(f"{type(self).__name__} needs at least {self.min_train} training "
                             f"points, got {len(y)}")
        ctx = self._check_context(len(y), {"fidelity": fidelity, "task": task, "curves": curves},
                                  fitting=True)
        if sample_weight is not None:
            if not self.accepts_sample_weight:
                from . import accepting
                raise ValueError(f"{type(self).__name__} does not take sample_weight=; predictors "
                                 f"that do: {', '.join(accepting('sample_weight')) or 'none'}")
            ctx["sample_weight"] = _sample_weights(sample_weight, len(y))
        self._fit(archs, y, **ctx, **params)
        self.context_fitted_ = frozenset(k for k in ctx if k != "sample_weight")
        self.n_train_ = len(y)
        return self

    def _check_predict(self, archs, return_std: bool, context: dict):
        if not isinstance(return_std, (bool, np.bool_, int, np.integer)) or return_std not in (0, 1):
            raise TypeError(f"return_std must be a bool, got {return_std!r}; pass context inputs "
                            f"by keyword (predict(archs, curves=...))")
        if not hasattr(self, "n_train_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(archs, y) first")
        if return_std and not self.supports_std:
            raise ValueError(f"{type(self).__name__} gives no uncertainty; use a predictor with "
                             f"supports_std (gp, gcn-blr, mlp-ensemble, ...)")
        archs = self._check_archs(archs)
        return archs, self._check_context(len(archs), context, fitting=False)

    def predict(self, archs: Sequence[Any], return_std: bool = False, *, fidelity=None,
                task=None, curves=None):
        """Predicted means, shape ``(n,)``; with ``return_std`` also the predictive std.

        Give the same context inputs as ``fit`` got (e.g. ``fidelity=200`` to predict the
        full-schedule value, ``task="cora"`` for the target task).
        """
        archs, ctx = self._check_predict(archs, return_std,
                                         {"fidelity": fidelity, "task": task, "curves": curves})
        if len(archs) == 0:
            return (np.zeros(0), np.zeros(0)) if return_std else np.zeros(0)
        out = self._predict(archs, return_std=bool(return_std), **ctx)
        if return_std:
            mean, std = out
            return np.asarray(mean, float).ravel(), np.asarray(std, float).ravel()
        return np.asarray(out, float).ravel()

    @property
    def joint_samples(self) -> bool:
        """Whether :meth:`posterior` draws joint samples (the class has ``_joint_samples``)."""
        return getattr(type(self), "_joint_samples", None) is not None

    def posterior(self, archs: Sequence[Any], *, n_samples: int = 0, seed: int | None = 0,
                  fidelity=None, task=None, curves=None) -> Posterior:
        """Predictive mean, std and (with ``n_samples > 0``) draws at ``archs``.

        Draws are joint where the predictor can give them (:attr:`joint_samples`), else
        independent normals from the mean and std.  Needs :attr:`supports_std`.
        """
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 0:
            raise ValueError(f"n_samples must be an int >= 0, got {n_samples!r}")
        archs, ctx = self._check_predict(archs, True,
                                         {"fidelity": fidelity, "task": task, "curves": curves})
        n = len(archs)
        if n == 0:
            return Posterior(np.zeros(0), np.zeros(0), np.zeros((n_samples, 0)) if n_samples else None,
                             self.joint_samples)
        mean, std = self._predict(archs, return_std=True, **ctx)
        mean, std = np.asarray(mean, float).ravel(), np.asarray(std, float).ravel()
        samples = None
        if n_samples:
            if self.joint_samples:
                samples = np.asarray(self._joint_samples(archs, int(n_samples), seed, **ctx),
                                     float).reshape(int(n_samples), n)
            else:
                rng = np.random.default_rng(seed)
                samples = mean[None, :] + np.maximum(std, 0)[None, :] * rng.standard_normal((int(n_samples), n))
        return Posterior(mean, std, samples, self.joint_samples)

    def _fit(self, archs: list, y: np.ndarray, **ctx) -> None:  # pragma: no cover
        raise NotImplementedError

    def _predict(self, archs: list, return_std: bool = False, **ctx):  # pragma: no cover
        raise NotImplementedError

    #: subclasses with joint posterior draws define ``_joint_samples(archs, n, seed, **ctx)``.
    _joint_samples = None

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
