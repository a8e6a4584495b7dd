"""Multi-fidelity / multi-task exact GP: the arch encoding times a fidelity and a task kernel.

Fidelity and task enter as input columns with their own kernels, the way BoTorch's
``SingleTaskMultiFidelityGP`` and ``MultiTaskGP`` treat them:

``k((x, s, t), (x', s', t')) = k_arch(x, x') * k_fid(s, s') * k_task(t, t')``

* ``x``: the cell's vector encoding (any naspredict encoding; default ``"features"`` as in
  :class:`~naspredict.predictors.gp.GPPredictor`), scaled to ``[0, 1]`` on the training set;
  ``k_arch`` is a Matern-5/2 or RBF kernel with ARD lengthscales.
* ``s``: the fidelity as the log of the epochs, normalised to ``[0, 1]`` between the lowest
  and highest level (``fidelity_bounds``, default: those seen in ``fit``); ``k_fid`` is an RBF
  kernel on ``s``, as in the product kernels of multi-fidelity GP bandits (Kandasamy et al.,
  "Multi-fidelity Bayesian optimisation with continuous approximations", ICML 2017), times a
  learned log-linear amplitude ``exp(c (s + s'))`` (ours: lets the levels differ in spread).
  The mean is ``m + b * s``, so a level's offset (12-epoch accuracies sit below 200-epoch
  ones) is learned rather than forced into the kernel.
* ``t``: the task (data set) label; ``k_task`` is a low-rank-plus-diagonal coregionalisation
  matrix ``B = W W^T + diag(v)`` (gpytorch ``IndexKernel``; Bonilla, Chai & Williams,
  "Multi-task Gaussian process prediction", NeurIPS 2007).  Targets are standardised (or
  rank-transformed) per task.

Hyper-parameters are fitted by Adam on the exact marginal likelihood (as in ``gp``), on a
random subset of at most ``max_hyper_points`` rows; the posterior then conditions on all rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import gpytorch
import numpy as np
import torch

from ..encodings import make_encoding
from .base import Predictor
from .gp import _KERNELS, _cholesky, _ExactGP, hyper_subset, joint_draws, maximise_evidence
from .transforms import target_scaler

__all__ = ["MultiTaskGPPredictor", "FidelityPair"]


@dataclass(frozen=True)
class FidelityPair:
    """Latent posterior of each arch at two fidelities, in the model's units (the targets
    after ``target_transform`` and per-task scaling: where the noise is one number; any
    ranking or expected improvement computed from them is that of the transformed targets).

    Attributes
    ----------
    mean_low, std_low : ``(n,)`` latent mean and std at the lower fidelity.
    mean_high, std_high : ``(n,)`` latent mean and std at the higher fidelity.
    corr : ``(n,)`` posterior correlation of the two latent values of each arch.
    noise_std : the observation-noise std.
    """

    mean_low: np.ndarray
    std_low: np.ndarray
    mean_high: np.ndarray
    std_high: np.ndarray
    corr: np.ndarray
    noise_std: float


class _FidelityMean(gpytorch.means.Mean):
    """``c + b * s`` with ``s`` the fidelity column (``col``); ``c`` alone when ``col`` is None."""

    def __init__(self, col: int | None):
        super().__init__()
        self.col = col
        self.register_parameter("constant", torch.nn.Parameter(torch.zeros(1)))
        self.register_parameter("slope", torch.nn.Parameter(torch.zeros(1)))

    def forward(self, x):
        out = self.constant.expand(x.shape[:-1])
        if self.col is not None:
            out = out + self.slope * x[..., self.col]
        return out


class _FidelityKernel(gpytorch.kernels.Kernel):
    """``k(s, s') = exp(c (s + s')) * exp(-(s - s')^2 / (2 l^2))`` on the fidelity column.

    An RBF kernel times a log-linear amplitude ``exp(c s)``: the levels may differ in spread
    (the full-schedule accuracies of good cells vary less than their short-run ones) while
    their correlation is still the RBF's.  ``c = 0`` is the plain RBF.
    """

    has_lengthscale = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.register_parameter("amp_slope", torch.nn.Parameter(torch.zeros(1)))

    def forward(self, x1, x2, diag: bool = False, **params):
        s1, s2 = x1[..., 0], x2[..., 0]
        ls = self.lengthscale.reshape(())
        if diag:
            return torch.exp(self.amp_slope * (s1 + s2) - 0.5 * ((s1 - s2) / ls) ** 2)
        d = s1.unsqueeze(-1) - s2.unsqueeze(-2)
        amp = self.amp_slope * (s1.unsqueeze(-1) + s2.unsqueeze(-2))
        return torch.exp(amp - 0.5 * (d / ls) ** 2)


class MultiTaskGPPredictor(Predictor):
    """Exact GP over (architecture, fidelity, task).

    Parameters
    ----------
    space, random_state : see :class:`~naspredict.predictors.base.Predictor`.
    encoding : vector encoding name (``+`` joins several); default ``"features"``.
    kernel : arch kernel, ``"rbf"`` or ``"matern"`` (nu = 2.5).
    ard : one lengthscale per encoding column.
    fidelity_bounds : ``(low, high)`` epochs mapped to ``s = 0`` and ``s = 1`` (log scale);
        ``None`` takes the lowest and highest fidelity given to ``fit``.  Fix it when the
        training rows may not yet cover both ends (a search that has only run short jobs).
    fidelity_corr : prior correlation between the latent values at ``s = 0`` and ``s = 1``
        that sets the starting lengthscale of ``k_fid`` (learned from there when the data
        hold more than one level).
    task_rank : rank of ``W`` in the task covariance ``W W^T + diag(v)``.
    n_iter : Adam steps on the negative exact marginal log-likelihood.
    lr : Adam learning rate.
    min_noise : floor of the (standardised) observation-noise variance.
    max_hyper_points : hyper-parameters are learned on a random subset of at most this many
        rows (``None``: all); the posterior conditions on every row.
    batch_size : test points per block in :meth:`predict`.
    target_transform : ``"rank"`` (default: normal scores of the ranks,
        :class:`~naspredict.predictors.transforms.RankGauss`, which tames the heavy low tail
        of accuracy tables such as NB201's dead cells at 10 %) or ``"standard"`` (centre and
        scale), per task over all fidelities of that task; predictions are mapped back to
        target units.  Measured (``tests/test_mtgp.py``'s setting: 150 NB201 cells at 12
        epochs, 30 of them also at 200, predicting the other 120 at 200; ``n_iter=60``):
        Kendall tau 0.738 with ``"rank"``, 0.618 with ``"standard"``, against 0.660 for the
        cells' own 12-epoch values and 0.606 for ``gp`` on the 30 full values alone.
    warm_start : hyper-parameters to start from: the ``hyperparameters_`` of an earlier fit
        with the same encoding, kernel, inputs and tasks (``None``: the defaults above).  With
        ``n_iter=0`` the model only conditions on the new rows (cheap refits in a search).

    Attributes
    ----------
    hyperparameters_ : dict of tensors, the fitted hyper-parameters (for ``warm_start``).

    Notes
    -----
    ``fit(archs, y, fidelity=..., task=...)``: either context input may be left out (then its
    kernel is left out too), and ``predict`` / ``posterior`` must be given the same inputs (any
    positive fidelity; a task label seen in ``fit``).  ``predict(..., return_std=True)`` gives
    the std of a new observation (latent plus noise); :meth:`posterior` draws the latent
    function jointly.  :meth:`fidelity_pair` gives the latent correlation between two levels.

    Raises
    ------
    ValueError
        on an unknown kernel, a ``fidelity_bounds`` that is not ``0 < low < high``, a
        ``fidelity_corr`` outside ``(0, 1)``, ``task_rank < 1``, an unknown
        ``target_transform``, or a task label in predict that ``fit`` never saw.
    """

    supports_std = True
    min_train = 3
    context_inputs = frozenset({"fidelity", "task"})

    def __init__(self, space="nb201", encoding: str = "features", kernel: str = "matern",
                 ard: bool = True, fidelity_bounds: tuple[float, float] | None = None,
                 fidelity_corr: float = 0.8, task_rank: int = 1, n_iter: int = 100,
                 lr: float = 0.1, min_noise: float = 1e-4, max_hyper_points: int | None = 300,
                 batch_size: int = 4096, target_transform: str = "rank",
                 warm_start: dict | None = None,
                 random_state: int | None = 0):
        super().__init__(space, random_state)
        self.encoding = encoding
        self.kernel = kernel
        self.ard = ard
        self.fidelity_bounds = fidelity_bounds
        self.fidelity_corr = fidelity_corr
        self.task_rank = task_rank
        self.n_iter = n_iter
        self.lr = lr
        self.min_noise = min_noise
        self.max_hyper_points = max_hyper_points
        self.batch_size = batch_size
        self.target_transform = target_transform
        self.warm_start = warm_start

    # -- inputs ---------------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.kernel not in _KERNELS:
            raise ValueError(f"kernel must be one of {', '.join(_KERNELS)}, got {self.kernel!r}")
        if self.fidelity_bounds is not None:
            lo, hi = (float(v) for v in self.fidelity_bounds)
            if not (0 < lo < hi and np.isfinite(hi)):
                raise ValueError(f"fidelity_bounds must be (low, high) epochs with 0 < low < high, "
                                 f"got {self.fidelity_bounds!r}")
        if not 0.0 < float(self.fidelity_corr) < 1.0:
            raise ValueError(f"fidelity_corr must be in (0, 1), got {self.fidelity_corr!r}")
        if int(self.task_rank) < 1:
            raise ValueError(f"task_rank must be >= 1, got {self.task_rank!r}")

    def _s(self, fidelity: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((np.log(fidelity) - self.log_lo_) / self.log_span_)

    def _task_index(self, task: np.ndarray) -> np.ndarray:
        idx = np.empty(len(task), dtype=np.int64)
        for i, t in enumerate(task):
            j = self.task_ids_.get(t)
            if j is None:
                raise ValueError(f"task {t!r} was not in fit (tasks: {list(self.task_ids_)}); "
                                 f"predict for one of those")
            idx[i] = j
        return idx

    def _inputs(self, archs, fidelity=None, task=None) -> torch.Tensor:
        X = torch.from_numpy(make_encoding(self.encoding, self.space_).transform(archs).astype(np.float64))
        cols = [(X - self.x_min_) / self.x_scale_]
        if self.fid_col_ is not None:
            cols.append(self._s(np.asarray(fidelity, float)).unsqueeze(1))
        if self.task_col_ is not None:
            cols.append(torch.from_numpy(self._task_index(task).astype(np.float64)).unsqueeze(1))
        return torch.cat(cols, 1)

    # -- fitting --------------------------------------------------------------------------------
    def _fit(self, archs, y, fidelity=None, task=None):
        self._check_params()
        X = torch.from_numpy(make_encoding(self.encoding, self.space_).transform(archs).astype(np.float64))
        d = X.shape[1]
        self.x_min_ = X.min(0).values
        span = X.max(0).values - self.x_min_
        self.x_scale_ = torch.where(span > 0, span, torch.ones_like(span))
        self.fid_col_ = d if fidelity is not None else None
        self.task_col_ = (d + (fidelity is not None)) if task is not None else None
        if fidelity is not None:
            lo, hi = (self.fidelity_bounds if self.fidelity_bounds is not None
                      else (fidelity.min(), fidelity.max()))
            self.log_lo_ = float(np.log(lo))
            self.log_span_ = float(np.log(hi / lo)) if hi > lo else 1.0
        # per-task standardisation (one scaler when there is no task)
        self.task_ids_ = ({t: i for i, t in enumerate(dict.fromkeys(task.tolist()))}
                          if task is not None else {})
        tid = self._task_index(task) if task is not None else np.zeros(len(y), np.int64)
        self.scalers_ = [target_scaler(self.target_transform, y[tid == j])
                         for j in range(max(len(self.task_ids_), 1))]
        t = np.empty(len(y))
        for j, sc in enumerate(self.scalers_):
            t[tid == j] = sc.forward(y[tid == j])
        Xall = self._inputs(archs, fidelity, task)
        t = torch.from_numpy(t)

        kw = dict(ard_num_dims=d if self.ard else None, active_dims=tuple(range(d)))
        k_arch = (gpytorch.kernels.RBFKernel(**kw) if self.kernel == "rbf"
                  else gpytorch.kernels.MaternKernel(nu=2.5, **kw))
        k_arch.lengthscale = np.sqrt(d) / 2 if self.ard else 1.0
        covar = k_arch
        if self.fid_col_ is not None:
            k_fid = _FidelityKernel(active_dims=(self.fid_col_,))
            # exp(-1 / (2 l^2)) = fidelity_corr between s = 0 and s = 1
            k_fid.lengthscale = float(np.sqrt(-0.5 / np.log(float(self.fidelity_corr))))
            covar = covar * k_fid
        if self.task_col_ is not None:
            with torch.random.fork_rng(devices=[]):  # IndexKernel draws its start from torch's RNG
                k_task = gpytorch.kernels.IndexKernel(num_tasks=len(self.task_ids_),
                                                      rank=min(int(self.task_rank), len(self.task_ids_)),
                                                      active_dims=(self.task_col_,))
            covar = covar * k_task  # the task kernel carries each task's variance
        else:
            covar = gpytorch.kernels.ScaleKernel(covar)
            covar.outputscale = 1.0
        likelihood = gpytorch.likelihoods.GaussianLikelihood(
            noise_constraint=gpytorch.constraints.GreaterThan(self.min_noise))
        Xh, th = hyper_subset(Xall, t, self.max_hyper_points, self._torch_seed())
        model = _ExactGP(Xh, th, likelihood, covar)
        model.mean_module = _FidelityMean(self.fid_col_)
        model = model.double()
        likelihood.noise = 0.1
        if self.task_col_ is not None:  # deterministic start: B = 0.25 (all ones) + I
            with torch.no_grad():
                k_task.covar_factor.copy_(torch.full_like(k_task.covar_factor, 0.5))
                k_task.raw_var.zero_()
        if self.warm_start is not None:
            try:
                model.load_state_dict(self.warm_start)
            except (RuntimeError, KeyError) as err:
                raise ValueError("warm_start does not match this model (another encoding, kernel, "
                                 "set of inputs or number of tasks?); pass the hyperparameters_ "
                                 f"of a fit of the same configuration, or None ({err})") from None
        maximise_evidence(model, likelihood, Xh, th, self.n_iter, self.lr)
        with torch.no_grad():
            self.covar_ = covar.eval()
            self.mean_ = model.mean_module.eval()
            self.noise_ = float(likelihood.noise.detach())
            K = covar(Xall).to_dense() + self.noise_ * torch.eye(len(Xall), dtype=Xall.dtype)
            self.chol_ = _cholesky(K)
            self.alpha_ = torch.cholesky_solve((t - self.mean_(Xall)).unsqueeze(1), self.chol_).squeeze(1)
            self.X_train_ = Xall
            self.hyperparameters_ = {k: v.detach().clone() for k, v in model.state_dict().items()}

    # -- prediction -----------------------------------------------------------------------------
    def _latent(self, Xs: torch.Tensor, full_cov: bool = False, mean_only: bool = False):
        Ks = self.covar_(Xs, self.X_train_).to_dense()
        mean = self.mean_(Xs) + Ks @ self.alpha_
        if mean_only:
            return mean, None
        V = torch.linalg.solve_triangular(self.chol_, Ks.T, upper=False)
        if full_cov:
            return mean, self.covar_(Xs).to_dense() - V.T @ V
        var = self.covar_(Xs, diag=True) - (V * V).sum(0)
        return mean, var.clamp_min(1e-12)

    def _to_target(self, z: np.ndarray, sd: np.ndarray | None, task):
        """Model units -> target units, row by row through each task's scaler."""
        tid = self._task_index(task) if task is not None else np.zeros(len(z), np.int64)
        mean = np.empty_like(z)
        std = None if sd is None else np.empty_like(z)
        for j in np.unique(tid):
            rows = tid == j
            if sd is None:
                mean[rows] = self.scalers_[j].inverse(z[rows])
            else:
                mean[rows], std[rows] = self.scalers_[j].inverse(z[rows], sd[rows])
        return mean if sd is None else (mean, std)

    def _predict(self, archs, return_std=False, fidelity=None, task=None):
        Xs = self._inputs(archs, fidelity, task)
        means, stds = [], []
        with torch.no_grad():
            for s in range(0, len(Xs), self.batch_size):
                m, v = self._latent(Xs[s:s + self.batch_size], mean_only=not return_std)
                means.append(m)
                if return_std:
                    stds.append(torch.sqrt(v + self.noise_))
        mean = torch.cat(means).numpy()
        return self._to_target(mean, torch.cat(stds).numpy() if return_std else None, task)

    def _joint_samples(self, archs, n: int, seed: int | None, fidelity=None, task=None) -> np.ndarray:
        """Joint draws of the latent function at ``archs`` (and their fidelity / task), shape
        ``(n, len(archs))``; cubic in ``len(archs)``."""
        with torch.no_grad():
            mean, cov = self._latent(self._inputs(archs, fidelity, task), full_cov=True)
            draws = joint_draws(mean, cov, n, seed)
        tid = self._task_index(task) if task is not None else np.zeros(len(archs), np.int64)
        out = np.empty_like(draws)
        for j in np.unique(tid):
            out[:, tid == j] = self.scalers_[j].inverse(draws[:, tid == j])
        return out

    def fidelity_pair(self, archs, low: float, high: float, *, task=None) -> FidelityPair:
        """Latent posterior of each arch at fidelities ``low`` and ``high`` and their correlation.

        Parameters
        ----------
        archs : list of ``n`` architectures.
        low, high : epochs (positive numbers).
        task : task label (scalar or ``(n,)``) when the model was fitted with ``task=``.

        Returns
        -------
        FidelityPair
            means and latent stds ``(n,)`` at both levels, their correlation ``(n,)`` and the
            noise std, in model units (see :class:`FidelityPair`).

        Raises
        ------
        ValueError
            if the model was fitted without ``fidelity=``, or on inputs ``predict`` refuses.
        """
        if not hasattr(self, "n_train_") or self.fid_col_ is None:
            raise ValueError("fidelity_pair needs a model fitted with fidelity=; call "
                             "fit(archs, y, fidelity=epochs) first")
        ctx = {"task": task} if task is not None else {}
        archs, ctx = self._check_predict(archs, True, {"fidelity": low, **ctx})
        n = len(archs)
        t = ctx.get("task")
        lo = self._inputs(archs, ctx["fidelity"], t)
        hi = lo.clone()
        hi[:, self.fid_col_] = self._s(np.full(n, float(high)))
        out = {k: [] for k in ("ml", "vl", "mh", "vh", "c")}
        with torch.no_grad():
            for s in range(0, n, self.batch_size):
                a, b = lo[s:s + self.batch_size], hi[s:s + self.batch_size]
                Ka = self.covar_(a, self.X_train_).to_dense()
                Kb = self.covar_(b, self.X_train_).to_dense()
                Va = torch.linalg.solve_triangular(self.chol_, Ka.T, upper=False)
                Vb = torch.linalg.solve_triangular(self.chol_, Kb.T, upper=False)
                out["ml"].append(self.mean_(a) + Ka @ self.alpha_)
                out["mh"].append(self.mean_(b) + Kb @ self.alpha_)
                out["vl"].append((self.covar_(a, diag=True) - (Va * Va).sum(0)).clamp_min(1e-12))
                out["vh"].append((self.covar_(b, diag=True) - (Vb * Vb).sum(0)).clamp_min(1e-12))
                # k((x, low), (x, high)) row by row: the kernel between matched rows only
                kab = self.covar_(a, b, diag=True)
                out["c"].append(kab - (Va * Vb).sum(0))
        ml, mh, vl, vh, c = (torch.cat(out[k]).numpy() for k in ("ml", "mh", "vl", "vh", "c"))
        corr = np.clip(c / np.sqrt(vl * vh), -1.0, 1.0)
        return FidelityPair(ml, np.sqrt(vl), mh, np.sqrt(vh), corr, float(np.sqrt(self.noise_)))
