"""BoTorch ``SingleTaskGP`` as a predictor, with one independent output per objective.

The surrogate of ``mobo`` (and usable on its own): a vector encoding of the cell scaled to
``[0, 1]``, BoTorch's ``SingleTaskGP`` (its default kernel, an RBF with one lengthscale per
input column and priors on the hyper-parameters, or the first-order additive kernel of
:mod:`naspredict.predictors.kernels`), a ``Standardize`` outcome transform, and
hyper-parameters fitted by L-BFGS-B on the exact marginal likelihood
(``botorch.fit.fit_gpytorch_mll``).

**Several outputs.**  The predictor contract is one target per row, so :meth:`fit` /
:meth:`predict` / :meth:`posterior` serve one objective.  Several objectives share one
*batched* model (``m`` independent GPs fitted in one L-BFGS run) behind a small API:
:meth:`~BoTorchGPPredictor.fit_outputs` ``(archs, Y (n, m))``, :meth:`predict_outputs`,
:meth:`marginals` on encoded rows, and :attr:`model_` (the fitted BoTorch model) for BoTorch's
acquisition functions.  A batched model rather than one predictor per objective: it is
exactly the model ``mobo`` always fitted (so its search traces are unchanged), BoTorch's
multi-objective acquisitions take it directly, and one Cholesky factor per round serves all
objectives.

**Scaling the inputs.**  When the space is finite and small (``max_enumerate``), columns are
scaled by their range over the whole space (:func:`naspredict.search.candidates.encoded_pool`,
cached per process); otherwise by their range over the training archs plus the fit-only
keyword ``scale_with=`` (e.g. the candidates the caller will score), and predictions clip to
``[0, 1]``.

**Transfer.**  ``source_features``: a mapping arch -> values of that arch on related tasks
(e.g. the same cell's validation accuracy and latency on other data sets of the same table),
appended to the encoding as extra input columns, each as the normal scores of its ranks over
the mapping (:class:`~naspredict.predictors.transforms.RankGauss`) scaled to ``[0, 1]``; the
ARD kernel learns how much each source column matters (the "source objectives as features"
form of transfer, cf. the warm-starting features of Feurer, Springenberg & Hutter, AAAI 2015).
Every arch the model sees must be in the mapping.

**Warm starts.**  With ``warm_start=True`` a refit starts from the previous fit's
hyper-parameters; with ``optimize_hypers=False`` as well it keeps them and only conditions on
the new data (exact and cheap; ``mobo``'s ``refit_every``).
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any, Sequence

import numpy as np

from .base import Predictor
from .gp import _cholesky

_KERNELS = ("default", "additive")


@contextmanager
def _quiet():
    """Hide BoTorch's input-scaling and optimisation notices and gpytorch's jitter notices
    (they repeat every round); other warnings still show."""
    from botorch.exceptions.warnings import InputDataWarning, OptimizationWarning
    from gpytorch.utils.warnings import NumericalWarning
    with warnings.catch_warnings():
        for cat in (InputDataWarning, OptimizationWarning, NumericalWarning):
            warnings.simplefilter("ignore", cat)
        yield


class BoTorchGPPredictor(Predictor):
    """Exact GP regression with BoTorch's ``SingleTaskGP`` (one or several independent outputs).

    Parameters
    ----------
    space, random_state : see :class:`~naspredict.predictors.base.Predictor`.  The fit runs
        under ``torch.random.fork_rng`` seeded with ``random_state`` (the caller's torch RNG is
        left alone).
    encoding : vector encoding (default ``"features+onehot"``).
    kernel : ``"default"`` (BoTorch's ``SingleTaskGP`` kernel) or ``"additive"``
        (:class:`~naspredict.predictors.kernels.FirstOrderAdditiveKernel` in a ``ScaleKernel``).
    fit_maxiter : L-BFGS-B iterations of the marginal-likelihood fit (default 200).
    warm_start : start a refit from the previous fit's hyper-parameters (same input width).
    optimize_hypers : learn the hyper-parameters on fit (default ``True``); ``False`` with a
        warm start keeps the previous ones and only conditions on the data.
    max_enumerate : finite spaces up to this size are scaled over all their archs.
    source_features : optional mapping arch -> sequence of ``k`` floats (values on related
        tasks), appended as ``k`` input columns (see the module doc).  Default ``None``.

    Attributes
    ----------
    model_ : the fitted ``botorch.models.SingleTaskGP`` (``m`` batched outputs), in eval mode.
    n_outputs_ : number of outputs ``m``.
    """

    supports_std = True
    min_train = 2
    fit_params = frozenset({"scale_with"})

    def __init__(self, space="nb201", encoding: str = "features+onehot", kernel: str = "default",
                 fit_maxiter: int = 200, warm_start: bool = False, optimize_hypers: bool = True,
                 max_enumerate: int = 50_000, source_features=None, random_state: int | None = 0):
        super().__init__(space, random_state)
        self.source_features = source_features
        self.encoding = encoding
        self.kernel = kernel
        self.fit_maxiter = fit_maxiter
        self.warm_start = warm_start
        self.optimize_hypers = optimize_hypers
        self.max_enumerate = max_enumerate

    # -- encoding ---------------------------------------------------------------------------
    def _pool(self):
        from ..search.candidates import encoded_pool
        return encoded_pool(self.space_, self.encoding, self.max_enumerate)

    def _raw(self, archs) -> np.ndarray:
        from ..encodings import make_encoding
        return np.asarray(make_encoding(self.encoding, self.space_).transform(list(archs)), dtype=np.float64)

    def _source_columns(self, archs) -> np.ndarray:
        """``(n, k)`` source-feature columns in ``[0, 1]`` (see ``source_features``)."""
        from .transforms import RankGauss
        src = self.source_features
        if getattr(self, "_src_key", None) != id(src):
            keys = list(src)
            V = np.asarray([np.asarray(src[a], float).ravel() for a in keys], float)
            if V.ndim != 2 or not np.isfinite(V).all():
                raise ValueError("source_features must map every arch to the same number of finite values")
            cols = []
            for j in range(V.shape[1]):
                z = RankGauss(V[:, j]).forward(V[:, j])
                span = z.max() - z.min()
                cols.append((z - z.min()) / (span if span > 0 else 1.0))
            self._src_table = {a: i for i, a in enumerate(keys)}
            self._src_X = np.column_stack(cols)
            self._src_key = id(src)
        rows = []
        for a in archs:
            i = self._src_table.get(a)
            if i is None:
                raise ValueError(f"arch {a} has no entry in source_features; give values for every "
                                 f"arch the model is fitted on or asked about")
            rows.append(i)
        return self._src_X[np.asarray(rows, dtype=int)].reshape(len(rows), -1)

    def encode(self, archs: Sequence[Any]) -> np.ndarray:
        """Archs -> the model's inputs, array ``(n, d)`` in ``[0, 1]`` (pool rows are looked
        up, not re-encoded; ``source_features`` columns last).  Needs a fitted model."""
        X = self._encode_arch(archs)
        if self.source_features is None:
            return X
        return np.hstack([X, self._source_columns(archs)])

    def _encode_arch(self, archs: Sequence[Any]) -> np.ndarray:
        pool = self._pool()
        if pool is not None:
            rows = [pool.index.get(a) for a in archs]
            if all(r is not None for r in rows):
                return pool.X[np.asarray(rows, dtype=int)] if rows else np.zeros((0, pool.X.shape[1]))
        X = self._raw(archs)
        return np.clip((X - self.x_lo_) / self.x_span_, 0.0, 1.0)

    # -- fitting ------------------------------------------------------------------------------
    def _fit(self, archs, y, scale_with=None):
        self._fit_outputs(archs, np.asarray(y, float).reshape(-1, 1), scale_with)

    def fit_outputs(self, archs: Sequence[Any], Y: np.ndarray, *, scale_with: Sequence[Any] | None = None):
        """Fit one independent output per column of ``Y``.

        Parameters
        ----------
        archs : list of ``n`` archs.
        Y : array ``(n, m)`` of targets (finite).
        scale_with : more archs whose encodings set the input scaling (only when the space is
            not enumerated), e.g. the candidates that will be scored.

        Returns
        -------
        self

        Raises
        ------
        ValueError : on a shape mismatch, non-finite targets or too few rows.
        """
        archs = self._check_archs(archs)
        Y = np.asarray(Y, dtype=float)
        if Y.ndim != 2 or len(Y) != len(archs):
            raise ValueError(f"Y must be an array (n_archs, n_outputs) = ({len(archs)}, m), got shape {Y.shape}")
        if not np.isfinite(Y).all():
            raise ValueError("Y has NaN/inf values; drop those rows first")
        if len(Y) < self.min_train:
            raise ValueError(f"{type(self).__name__} needs at least {self.min_train} training points, got {len(Y)}")
        self._fit_outputs(archs, Y, scale_with)
        self.context_fitted_ = frozenset()
        self.n_train_ = len(Y)
        return self

    def _fit_outputs(self, archs, Y, scale_with):
        import torch
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from botorch.models.transforms.outcome import Standardize
        from gpytorch.mlls import ExactMarginalLogLikelihood

        if self.kernel not in _KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(_KERNELS)}, got {self.kernel!r}")
        pool = self._pool()
        if pool is not None:
            self.x_lo_, self.x_span_ = pool.lo, pool.span
            X = self._encode_arch(archs)
        else:
            extra = list(scale_with or [])
            raw = self._raw(list(archs) + extra)
            lo, span = raw.min(0), raw.max(0) - raw.min(0)
            span[span == 0] = 1.0
            self.x_lo_, self.x_span_ = lo, span
            X = (raw[: len(archs)] - lo) / span
        if self.source_features is not None:
            X = np.hstack([X, self._source_columns(archs)])
        m = Y.shape[1]
        prev = getattr(self, "hyper_state_", None) if self.warm_start else None
        seed = 0 if self.random_state is None else int(self.random_state)
        with _quiet():
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                tX = torch.as_tensor(X, dtype=torch.double)
                tY = torch.as_tensor(np.array(Y, dtype=np.float64))
                model = SingleTaskGP(tX, tY, outcome_transform=Standardize(m=m), covar_module=self._covar(m))
                warm = prev is not None and prev[0] == (tX.shape[-1], m)
                if warm:
                    model.load_state_dict(prev[1], strict=False)
                if not warm or self.optimize_hypers:
                    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model),
                                     optimizer_kwargs={"options": {"maxiter": int(self.fit_maxiter)}})
        self.hyper_state_ = ((tX.shape[-1], m), {k: v.detach().clone() for k, v in model.state_dict().items()
                                                 if "outcome_transform" not in k})
        model.eval()
        self.model_ = model
        self.n_outputs_ = m
        self.X_train_ = X

    def _covar(self, m: int):
        if self.kernel == "default":
            return None  # BoTorch's SingleTaskGP default
        import torch
        from gpytorch.kernels import ScaleKernel

        from .kernels import FirstOrderAdditiveKernel
        batch = torch.Size([m]) if m > 1 else torch.Size([])
        pool = self._pool()
        levels = None if pool is None or self.source_features is not None else pool.levels()
        return ScaleKernel(FirstOrderAdditiveKernel(levels=levels, batch_shape=batch), batch_shape=batch)

    # -- prediction -----------------------------------------------------------------------------
    def marginals(self, X: np.ndarray, *, observation: bool = False,
                  chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and std of every output at encoded rows ``X`` ``(N, d)``.

        The same numbers as ``model_.posterior(X)``'s marginals, computed with one Cholesky
        factor of the training covariance (``posterior`` on ``N x 1 x d`` re-evaluates the
        training kernel per row, and on ``N x d`` builds the joint ``N x N`` covariance).

        Parameters
        ----------
        X : array ``(N, d)`` from :meth:`encode`.
        observation : add the learned noise variance (the std of a new observation) instead of
            the latent function's std.
        chunk : rows per block (bounds memory).

        Returns
        -------
        ``(mean, std)``, arrays ``(N, m)`` in target units.
        """
        import torch
        model = self.model_
        X = torch.as_tensor(np.asarray(X, float), dtype=torch.double)
        with torch.no_grad():
            Xtr = model.train_inputs[0]
            if Xtr.dim() == 2:  # one output: give it the batch axis the loop below uses
                Xtr = Xtr.unsqueeze(0)
            K = model.covar_module(Xtr).to_dense()
            noise = model.likelihood.noise
            K = K + torch.diag_embed(noise.reshape(-1, 1).expand(K.shape[:-1]) if noise.numel() == K.shape[0]
                                     else noise.expand(K.shape[:-1]))
            L = _cholesky(K)
            targets = model.train_targets.reshape(Xtr.shape[0], -1)
            resid = (targets - model.mean_module(Xtr).reshape(Xtr.shape[0], -1)).unsqueeze(-1)
            alpha = torch.cholesky_solve(resid, L)
            mus, vs = [], []
            for s in range(0, len(X), chunk):
                C = X[s: s + chunk].expand(Xtr.shape[0], -1, -1)
                Ks = model.covar_module(C, Xtr).to_dense()
                mus.append(model.mean_module(C).reshape(Xtr.shape[0], -1) + (Ks @ alpha).squeeze(-1))
                V = torch.linalg.solve_triangular(L, Ks.transpose(-1, -2), upper=False)
                vs.append(model.covar_module(C, diag=True).reshape(Xtr.shape[0], -1) - (V ** 2).sum(-2))
            mu, var = torch.cat(mus, -1).T, torch.cat(vs, -1).T.clamp_min(0)
            tf = model.outcome_transform
            mu = mu * tf.stdvs.reshape(1, -1) + tf.means.reshape(1, -1)
            sd = var.sqrt() * tf.stdvs.reshape(1, -1)
        mu, sd = mu.numpy(), sd.numpy()
        if observation:
            sd = np.sqrt(sd ** 2 + self.noise_variance()[None, :])
        return mu, sd

    def noise_variance(self) -> np.ndarray:
        """The learned observation-noise variance of each output, in target units ``(m,)``."""
        model = self.model_
        noise = model.likelihood.noise.detach().reshape(-1)
        return (noise * model.outcome_transform.stdvs.detach().reshape(-1) ** 2).numpy()

    def predict_outputs(self, archs: Sequence[Any], return_std: bool = False):
        """Means ``(n, m)`` of every output (and the std of a new observation, ``(n, m)``)."""
        archs, _ = self._check_predict(archs, return_std, {})
        mu, sd = self.marginals(self.encode(archs), observation=True)
        return (mu, sd) if return_std else mu

    def _single(self):
        if self.n_outputs_ != 1:
            raise ValueError(f"this model has {self.n_outputs_} outputs; use predict_outputs / "
                             f"marginals for several, predict / posterior for one")

    def _predict(self, archs, return_std=False):
        self._single()
        mu, sd = self.marginals(self.encode(archs), observation=True)
        return (mu[:, 0], sd[:, 0]) if return_std else mu[:, 0]

    def _joint_samples(self, archs, n: int, seed: int | None) -> np.ndarray:
        """Joint draws of the latent function at ``archs``, ``(n, len(archs))`` (cubic in
        ``len(archs)``)."""
        import torch
        self._single()
        X = torch.as_tensor(self.encode(archs), dtype=torch.double)
        s = int(np.random.default_rng(seed).integers(2**31 - 1))
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(s)
            draws = self.model_.posterior(X).rsample(torch.Size([int(n)]))
        return draws[..., 0].numpy()
