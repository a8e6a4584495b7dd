"""Exact Gaussian-process predictor (gpytorch) on a vector encoding of the cell.

GP surrogates for NAS go back to NASBOT (Kandasamy et al., NeurIPS 2018); White et al.
("How powerful are performance predictors in NAS?", NeurIPS 2021) benchmark the plain GP on
adjacency / path encodings.  Here: a zero-cost encoding (default ``"features"``, the GRAF-style
graph features of Kadlecová et al., ICML 2024; ``"features+onehot"`` also works), inputs scaled to
``[0, 1]`` on the training set, standardised targets, a constant mean, a scaled RBF or Matern-5/2
kernel (optionally ARD), a Gaussian likelihood, and hyper-parameters fitted by Adam on the exact
marginal likelihood (Rasmussen & Williams, 2006, ch. 5).
"""
from __future__ import annotations

import warnings

import gpytorch
import numpy as np
import torch
from linear_operator.utils.warnings import NumericalWarning

from ..encodings import make_encoding
from .base import Predictor, Standardizer

_KERNELS = ("rbf", "matern")


class GPPredictor(Predictor):
    """Exact GP regression over architectures.

    Parameters
    ----------
    space, random_state : see :class:`~naspredict.predictors.base.Predictor`.
    encoding : vector encoding name (``+`` joins several); default ``"features"`` (best rank
        correlation with 100 training cells on NB201; ``"features+onehot"`` with ``additive=True``
        is as good from ~1,000 cells).
    kernel : ``"rbf"`` or ``"matern"`` (nu = 2.5), wrapped in an output scale.
    ard : one lengthscale per input column (automatic relevance determination).
    additive : with a joined encoding (``"features+onehot"``), one scaled kernel per part,
        summed (Duvenaud et al., "Additive Gaussian processes", NeurIPS 2011).
    n_iter : Adam steps on the negative exact marginal log-likelihood.
    lr : Adam learning rate.
    min_noise : floor of the (standardised) observation-noise variance.
    max_hyper_points : hyper-parameters are learned on a random subset of at most this many
        training points (the marginal likelihood costs O(n^3) per step); the posterior then
        conditions on *all* points.  ``None`` uses every point.
    batch_size : test points per block in :meth:`predict` (bounds memory).
    calibrate_std : ``"cv"`` (default) rescales the predictive std by cross-validation: the
        model is refitted (hyper-parameters included) on ``cv_folds - 1`` folds of at most
        ``cv_max_points`` training points, the held-out z-scores ``|y - mean| / std`` are
        pooled, and the std is multiplied by their 95 % quantile over 1.96, so that held-out
        95 % intervals cover as intended (a cross-validation variant of split-conformal
        calibration; cf. Barber, Candes, Ramdas & Tibshirani, "Predictive inference with the
        jackknife+", Annals of Statistics 2021).  Only the std changes, never the mean.
        ``None`` keeps the fitted model's std.
    cv_folds, cv_max_points : folds and largest (random) subset used by ``calibrate_std="cv"``.

    ``predict(archs, return_std=True)`` gives the std of a *new observation* (latent variance plus
    the learned noise variance), so 95% intervals are meant to cover held-out targets.
    :meth:`posterior` draws joint samples of the latent function (Thompson sampling).
    """

    supports_std = True
    min_train = 3

    def __init__(self, space="nb201", encoding: str = "features", kernel: str = "matern",
                 ard: bool = True, additive: bool = False, n_iter: int = 100, lr: float = 0.1, min_noise: float = 1e-4,
                 max_hyper_points: int | None = 300, batch_size: int = 4096,
                 calibrate_std: str | None = "cv", cv_folds: int = 5, cv_max_points: int = 200,
                 random_state: int | None = 0):
        super().__init__(space, random_state)
        self.encoding = encoding
        self.kernel = kernel
        self.ard = ard
        self.additive = additive
        self.n_iter = n_iter
        self.lr = lr
        self.min_noise = min_noise
        self.max_hyper_points = max_hyper_points
        self.batch_size = batch_size
        self.calibrate_std = calibrate_std
        self.cv_folds = cv_folds
        self.cv_max_points = cv_max_points

    # -- encoding -----------------------------------------------------------------------------
    def _X(self, archs) -> torch.Tensor:
        X = make_encoding(self.encoding, self.space_).transform(archs).astype(np.float64)
        return torch.from_numpy(X)

    def _scaled(self, archs) -> torch.Tensor:
        return (self._X(archs) - self.x_min_) / self.x_scale_

    # -- fitting --------------------------------------------------------------------------------
    def _fit(self, archs, y):
        if self.calibrate_std not in (None, "cv"):
            raise ValueError(f"calibrate_std must be 'cv' or None, got {self.calibrate_std!r}")
        if int(self.cv_folds) < 2 or int(self.cv_max_points) < 2 * int(self.cv_folds):
            raise ValueError("cv_folds must be >= 2 and cv_max_points >= 2 * cv_folds")
        self._fit_gp(archs, y)
        self.std_scale_ = 1.0
        if self.calibrate_std == "cv" and len(y) >= 2 * self.cv_folds:
            self.std_scale_ = self._cv_std_scale(archs, np.asarray(y, float))

    def _cv_std_scale(self, archs, y: np.ndarray) -> float:
        """95 % quantile of held-out |z| over 1.96 (see ``calibrate_std``)."""
        rng = np.random.default_rng(self._torch_seed())
        idx = rng.permutation(len(y))[: self.cv_max_points]
        folds = np.array_split(idx, self.cv_folds)
        z = []
        for k, test in enumerate(folds):
            train = np.concatenate([f for j, f in enumerate(folds) if j != k])
            sub = self.get_params()
            sub.update(calibrate_std=None, random_state=self._torch_seed() + k + 1)
            m = type(self)(**sub).fit([archs[i] for i in train], y[train])
            mu, sd = m.predict([archs[i] for i in test], return_std=True)
            z.append(np.abs(y[test] - mu) / np.maximum(sd, 1e-12))
        return float(np.quantile(np.concatenate(z), 0.95)) / 1.959964

    def _fit_gp(self, archs, y):
        if self.kernel not in _KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(_KERNELS)}, got {self.kernel!r}")
        X = self._X(archs)
        self.x_min_ = X.min(0).values
        span = X.max(0).values - self.x_min_
        self.x_scale_ = torch.where(span > 0, span, torch.ones_like(span))
        X = (X - self.x_min_) / self.x_scale_
        self.scaler_ = Standardizer(y)
        t = torch.from_numpy(self.scaler_.forward(y))

        parts = self.encoding.split("+") if self.additive else [self.encoding]
        widths = [make_encoding(p, self.space_).width for p in parts]
        offsets = np.cumsum([0] + widths)
        kernels = []
        for lo, w in zip(offsets, widths):
            dims = tuple(range(lo, lo + w)) if len(parts) > 1 else None
            kw = dict(ard_num_dims=w if self.ard else None, active_dims=dims)
            base = (gpytorch.kernels.RBFKernel(**kw) if self.kernel == "rbf"
                    else gpytorch.kernels.MaternKernel(nu=2.5, **kw))
            # inputs live in [0, 1]^w: start lengthscales near the typical distance between cells
            base.lengthscale = np.sqrt(w) / 2 if self.ard else 1.0
            k = gpytorch.kernels.ScaleKernel(base)
            k.outputscale = 1.0 / len(parts)
            kernels.append(k)
        covar = kernels[0] if len(kernels) == 1 else gpytorch.kernels.AdditiveKernel(*kernels)
        likelihood = gpytorch.likelihoods.GaussianLikelihood(
            noise_constraint=gpytorch.constraints.GreaterThan(self.min_noise))
        Xh, th = hyper_subset(X, t, self.max_hyper_points, self._torch_seed())
        model = _ExactGP(Xh, th, likelihood, covar).double()
        likelihood.noise = 0.1
        maximise_evidence(model, likelihood, Xh, th, self.n_iter, self.lr)

        # freeze the posterior: Cholesky of K + noise I and the weights alpha
        with torch.no_grad():
            self.covar_ = covar.eval()
            self.const_ = float(model.mean_module.constant.detach())
            self.noise_ = float(likelihood.noise.detach())
            K = covar(X).to_dense() + self.noise_ * torch.eye(len(X), dtype=X.dtype)
            self.chol_ = _cholesky(K)
            self.alpha_ = torch.cholesky_solve((t - self.const_).unsqueeze(1), self.chol_).squeeze(1)
            self.X_train_ = X

    # -- prediction ----------------------------------------------------------------------------
    def _latent(self, Xs: torch.Tensor, full_cov: bool = False, mean_only: bool = False):
        Ks = self.covar_(Xs, self.X_train_).to_dense()              # (m, n)
        mean = self.const_ + Ks @ self.alpha_
        if mean_only:  # the triangular solve below is most of the cost
            return mean, None
        V = torch.linalg.solve_triangular(self.chol_, Ks.T, upper=False)  # (n, m)
        if full_cov:
            cov = self.covar_(Xs).to_dense() - V.T @ V
            return mean, cov
        var = self.covar_(Xs, diag=True) - (V * V).sum(0)
        return mean, var.clamp_min(1e-12)

    def _predict(self, archs, return_std=False):
        Xs = self._scaled(archs)
        means, stds = [], []
        with torch.no_grad():
            for s in range(0, len(Xs), self.batch_size):
                m, v = self._latent(Xs[s:s + self.batch_size], mean_only=not return_std)
                means.append(m)
                if return_std:
                    stds.append(torch.sqrt(v + self.noise_) * self.std_scale_)
        if not return_std:
            return self.scaler_.inverse(torch.cat(means).numpy())
        return self.scaler_.inverse(torch.cat(means).numpy(), torch.cat(stds).numpy())

    def _joint_samples(self, archs, n: int, seed: int | None) -> np.ndarray:
        """Joint draws of the latent function at ``archs``, shape ``(n, len(archs))``
        (for :meth:`posterior`).

        Cost is cubic in ``len(archs)``: meant for candidate pools of up to a few thousand
        cells (Thompson sampling, Kandasamy et al., 2018).
        """
        with torch.no_grad():
            mean, cov = self._latent(self._scaled(archs), full_cov=True)
            draws = joint_draws(mean, cov * self.std_scale_ ** 2, n, seed)
        return self.scaler_.inverse(draws)


def hyper_subset(X: torch.Tensor, t: torch.Tensor, max_points: int | None, seed: int):
    """The points the hyper-parameters are fitted on: all of them, or a seeded random
    ``max_points`` of them (the exact posterior still uses every point)."""
    if max_points is not None and len(X) > max_points:
        sub = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))[:max_points]
        return X[sub], t[sub]
    return X, t


def maximise_evidence(model, likelihood, X: torch.Tensor, t: torch.Tensor, n_iter: int, lr: float) -> None:
    """``n_iter`` Adam steps on the exact marginal log likelihood of ``model`` at ``(X, t)``
    (exact Cholesky, so deterministic); leaves model and likelihood in training mode."""
    model.train()
    likelihood.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    mll = gpytorch.mlls.ExactMarginalLogLikelihood(likelihood, model)
    with gpytorch.settings.max_cholesky_size(10**5):
        for _ in range(int(n_iter)):
            opt.zero_grad()
            loss = -mll(model(X), t)
            loss.backward()
            opt.step()


def joint_draws(mean: torch.Tensor, cov: torch.Tensor, n: int, seed: int | None) -> np.ndarray:
    """``n`` seeded joint draws from ``N(mean, cov)``, shape ``(n, len(mean))``."""
    gen = torch.Generator().manual_seed(int(np.random.default_rng(seed).integers(2**31 - 1)))
    z = torch.randn(len(mean), n, generator=gen, dtype=cov.dtype)
    return (mean.unsqueeze(1) + _cholesky(cov) @ z).T.numpy()


def _cholesky(K: torch.Tensor) -> torch.Tensor:
    """Lower Cholesky factor of ``K`` with a growing jitter when ``K`` is numerically singular.

    Jitter 0, then 1e-8, 1e-7, ..., 1e-3 times the mean absolute diagonal (scaled, so a kernel
    in raw target units gets the same relative help as a standardised one), through
    ``linear_operator``'s ``psd_safe_cholesky``.  Measured (benchmarks/cholesky_speed.py, float64,
    1 thread): identical factor to the former hand-written ladder on well-conditioned ``K`` and
    faster (n=1,000: 37 ms vs 56 ms; n=2,000 singular: 262 ms vs 435 ms), since it adds jitter in
    place instead of copying ``K`` per try.

    Parameters
    ----------
    K : torch.Tensor
        ``(n, n)`` symmetric matrix.

    Returns
    -------
    torch.Tensor
        ``(n, n)`` lower-triangular ``L`` with ``L @ L.T`` = ``K`` (+ the jitter used).

    Raises
    ------
    ValueError
        ``K`` holds NaN or infinite entries (a kernel on NaN inputs or diverged hyper-parameters).
    numpy.linalg.LinAlgError
        ``K`` is not positive definite even with a jitter of 1e-3 times its mean diagonal.
    """
    from linear_operator.utils.cholesky import psd_safe_cholesky
    from linear_operator.utils.errors import NotPSDError

    if not bool(torch.isfinite(K).all()):
        bad = int((~torch.isfinite(K)).sum())
        raise ValueError(f"covariance matrix has {bad} NaN or infinite entries of {K.numel()}; "
                         "check the inputs and targets for NaN / inf before fitting")
    scale = float(K.diagonal().abs().mean()) or 1.0
    try:
        with warnings.catch_warnings():  # a jitter notice per try; the ladder is by design
            warnings.simplefilter("ignore", NumericalWarning)
            return psd_safe_cholesky(K, jitter=1e-8 * scale, max_tries=6)
    except NotPSDError as e:
        raise np.linalg.LinAlgError("covariance matrix is not positive definite even with a jitter "
                                    f"of 1e-3 x its mean diagonal ({e}); check for duplicated or "
                                    "constant inputs, or raise the noise floor") from None


class _ExactGP(gpytorch.models.ExactGP):
    """Constant mean plus the given covariance module."""

    def __init__(self, X, y, likelihood, covar):
        super().__init__(X, y, likelihood)
        self.mean_module = gpytorch.means.ConstantMean()
        self.covar_module = covar

    def forward(self, x):
        return gpytorch.distributions.MultivariateNormal(self.mean_module(x), self.covar_module(x))
