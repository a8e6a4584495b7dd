"""Multi-objective Bayesian optimisation over a discrete architecture space.

Each round fits a surrogate to every objective and scores a discrete set of candidate
architectures with a multi-objective acquisition; the best-scoring new ones are proposed.

Acquisitions
------------
``"qnehvi"``
    q-Noisy Expected Hypervolume Improvement (Daulton, Balandat & Bakshy, "Parallel Bayesian
    optimization of multiple noisy objectives with expected hypervolume improvement",
    NeurIPS 2021), in its numerically robust log form (Ament et al., "Unexpected improvements
    to expected improvement for Bayesian optimization", NeurIPS 2023):
    BoTorch's ``qLogNoisyExpectedHypervolumeImprovement``.
``"qnparego"``
    ParEGO (Knowles, "ParEGO: a hybrid algorithm with on-line landscape approximation for
    expensive multiobjective optimization problems", IEEE TEC 2006): a random augmented
    Chebyshev scalarisation per proposed point, maximised with noisy log-EI -- BoTorch's
    ``qLogNParEGO`` (the qNParEGO of Daulton et al., NeurIPS 2020, with log-EI).
``"ehvi"``
    Expected hypervolume improvement (Emmerich, Giannakoglou & Naujoks, IEEE TEC 2006) of the
    *observed* front by a new *observation*: the GP's per-objective predictive marginals
    (latent variance plus the learned noise) as independent Gaussians.  Without a log or rank
    transform it is BoTorch's analytic ``ExpectedHypervolumeImprovement`` (Yang et al., "Efficient
    computation of expected hypervolume improvement using box decomposition algorithms",
    J. Global Optim. 2019), exact; with one, the Gaussians live on the model scale and the
    expectation is taken by Monte Carlo (``mc_samples`` common random draws per candidate mapped
    back to the objectives' units, each scored by its exact improvement of the observed front).
    The same two paths serve the ``gcn-blr`` surrogate.  qNEHVI instead integrates over
    the noise-free values of the observed points, so a lucky noisy observation does not raise
    its bar.  ``"ehvi"`` is about 3x faster per run on NAS-Bench-Graph, but reached less
    hypervolume there (benchmarks/results/search_nbgraph.md: 0.790 against 0.816 of the true
    hypervolume after 200 queries, 10 seeds each).

Surrogates
----------
``surrogate="gp"`` (default)
    The ``botorch-gp`` predictor (:class:`~naspredict.predictors.mogp.BoTorchGPPredictor`):
    one BoTorch ``SingleTaskGP`` with an independent output per objective (batched
    multi-output GP, ``Standardize`` outcome transform), fitted by maximising the exact
    marginal likelihood, on a vector encoding of the cell scaled to ``[0, 1]``
    (default ``"features+onehot"``: GRAF-style graph features, Kadlecova et al., ICML 2024,
    plus the adjacency one-hot of White et al., NeurIPS 2020).
``surrogate="gcn-blr"``
    BOGCN-NAS style (Shi et al., "Bridging the gap between sample-based and one-shot neural
    architecture search with BONAS", NeurIPS 2020; Ma et al., "Deep neural architecture search
    with deep graph Bayesian optimization", WI 2019): one ``gcn-blr`` predictor per objective
    (GCN embedding + Bayesian linear regression on it), treated as independent Gaussians
    ``N(mean, std^2)``.  EHVI is then analytic (exact) without an objective transform, and
    estimated by Monte Carlo with one (``mc_samples`` common random draws per candidate, each
    scored by its exact hypervolume improvement over the observed front, box decomposition,
    :func:`~naspredict.search.pareto.hypervolume_improvement`).  ParEGO uses the Monte-Carlo expected improvement of the augmented Chebyshev scalarisation.
    Batches (``q > 1``) are built greedily with the "Kriging believer" heuristic (Ginsbourger
    et al., 2010): each chosen candidate's predicted mean joins the front before the next pick.

Discrete optimisation
---------------------
Candidates (:mod:`naspredict.search.candidates`) are every architecture of the space when it
is finite with at most ``max_enumerate`` cells (NAS-Bench-201, NAS-Bench-Graph), else
neighbours and random multi-step mutants of the observed Pareto set (``n_random`` of them)
plus ``n_random`` random cells.  To keep a round cheap, the candidates
are first pre-filtered by an optimistic criterion: with per-objective upper confidence bounds
``U = mean + beta * std`` (in the objective's "higher is better" sense), a candidate's score is
``max(eps(U, front), max_j (ref_j - U_j))`` in standardised units, where ``eps`` is the
additive epsilon indicator (Zitzler et al., IEEE TEC 2003): the least amount ``U`` must improve
in every objective before it is not dominated by the observed front.  Lower is more promising;
the ``max_candidates`` best go to the acquisition, evaluated in chunks of ``chunk_size``.
Batches of ``q > 1`` are chosen by sequential greedy selection with the earlier picks as
pending points (as ``botorch.optim.optimize_acqf_discrete`` does).  With asynchronous
workers, trials still running when ``ask`` is called are pending points too (``X_pending``
of qNEHVI / qNParEGO; believed observations at their predicted means for the Monte-Carlo
acquisitions).

Reference point
---------------
``ref_point`` is given in the objectives' original units (turned into maximisation with the
direction signs).  Without one it is inferred every round from the observed Pareto front as
``nadir - 0.1 * (ideal - nadir)`` (BoTorch's ``infer_reference_point``, after Ishibuchi et al.,
2011).

Modelling tricks (both optional)
--------------------------------
``quantile_transform``: model the normal scores of each objective's ranks among the
observations (:class:`~naspredict.predictors.transforms.RankGauss`, a Gaussian-copula
transform, as in Salinas, Shen & Perrone, ICML 2020, and as ``bo`` does by default), refitted
every round; the Monte-Carlo objective maps samples back by the monotone inverse (saturating
beyond the observed extremes), so hypervolumes stay in the original units.  It overrides ``log_transform`` for the objectives it covers.
``log_transform``: model ``log(y)`` for positive objectives (e.g. latency); the Monte-Carlo
objective maps samples back with ``exp`` so hypervolumes stay in the original units.
``clip_at_ref``: with a reference point given, values worse than it are clipped to it before
modelling; an observation's hypervolume contribution only depends on ``max(y, ref)``, so
nothing is lost, and a long tail of bad cells (e.g. diverged training) no longer dominates
the GP's standardisation.
"""
from __future__ import annotations

import time
import warnings
from typing import Sequence

import numpy as np

from ..predictors.transforms import Identity, Log, RankGauss
from .base import Strategy
from .candidates import encoded_pool, mutants
from .pareto import hypervolume, hypervolume_improvement, nondominated_cells, pareto_front

ACQUISITIONS = ("qnehvi", "qnparego", "ehvi")
SURROGATES = ("gp", "gcn-blr")
KERNELS = ("default", "additive")


class _FixedGaussians:
    """Independent Gaussian predictions ``N(mu, sd^2)`` per candidate and objective, served to
    BoTorch's analytic EHVI as a model whose input is the candidate's row number."""

    def __init__(self, mu: np.ndarray, sd: np.ndarray):
        import torch
        self.mean = torch.as_tensor(mu, dtype=torch.double)
        self.variance = torch.as_tensor(sd, dtype=torch.double) ** 2

    def model(self):
        import torch
        from botorch.models.model import Model

        outer = self

        class _Post:
            def __init__(self, mean, variance):
                self.mean, self.variance = mean, variance

        class _Lookup(Model):
            num_outputs = outer.mean.shape[-1]

            def posterior(self, X, output_indices=None, observation_noise=False,
                          posterior_transform=None, **kw):
                idx = X[..., 0].long()  # batch x q
                return _Post(outer.mean[idx], outer.variance[idx])

            @property
            def batch_shape(self):
                return torch.Size([])

        return _Lookup()


def analytic_ehvi(mu: np.ndarray, sd: np.ndarray, front: np.ndarray, ref: np.ndarray,
                  chunk: int = 4096) -> np.ndarray:
    """Exact expected hypervolume improvement of ``front`` by one new point with independent
    Gaussian objectives ``N(mu, sd^2)`` (maximised), BoTorch's analytic
    ``ExpectedHypervolumeImprovement`` (Yang et al., 2019) over a box decomposition of the front.

    Parameters
    ----------
    mu, sd : arrays ``(N, m)``, means and stds (BoTorch floors the variance at ``1e-9``).
    front : array ``(k, m)`` of observed (signed) points; only those better than ``ref`` in every
        objective matter.
    ref : array ``(m,)``, the reference point.

    Returns
    -------
    array ``(N,)`` of EHVI values, in the objectives' units (product).
    """
    import torch
    from botorch.acquisition.multi_objective.analytic import ExpectedHypervolumeImprovement
    from botorch.utils.multi_objective.box_decompositions.non_dominated import NondominatedPartitioning

    ref = np.asarray(ref, float)
    F = np.asarray(front, float)
    F = F[(F > ref).all(1)] if len(F) else F.reshape(0, len(ref))
    tref = torch.as_tensor(ref, dtype=torch.double)
    part = NondominatedPartitioning(ref_point=tref, Y=torch.as_tensor(F, dtype=torch.double).reshape(-1, len(ref)))
    acq = ExpectedHypervolumeImprovement(_FixedGaussians(mu, sd).model(), ref.tolist(), part)
    rows = torch.arange(len(mu), dtype=torch.double).reshape(-1, 1, 1)
    with torch.no_grad():
        return torch.cat([acq(r) for r in rows.split(chunk)]).numpy().astype(float)


class MultiObjectiveBO(Strategy):
    """Multi-objective BO (qNEHVI / qNParEGO) over a GP or GCN-BLR surrogate.

    Parameters
    ----------
    space, target, direction, seed : see :class:`~naspredict.search.base.Strategy`.  Required:
        at least two targets (e.g. ``["valid_perf", "latency"]`` on NAS-Bench-Graph) and one
        direction, ``"max"`` or ``"min"``, per target.
    acquisition : ``"qnehvi"`` (default), ``"qnparego"`` or ``"ehvi"`` (see the module doc).
    surrogate : ``"gp"`` (default) or ``"gcn-blr"``.
    encoding : vector encoding of the GP's input (default ``"features+onehot"``: on nbgraph-cora,
        seed 0, HV ratio 0.62 / 0.76 after 50 / 100 queries against 0.27 / 0.49 with ``"onehot"``).
    ref_point : reference point in the original units, one value per target; default: inferred
        each round from the observed front (nadir minus 10 % of the front's range).
    n_initial : random cells evaluated before the first model (default 10).
    log_transform : ``True`` models ``log`` of every *minimised* target, or a list of target
        names to log-model; values must be positive.  Default ``False``.
    quantile_transform : ``True`` models every target's rank normal scores (see the module
        doc), or a list of target names.  Default ``False``.
    clip_at_ref : clip values worse than the reference point to it before modelling (only
        with an explicit ``ref_point``; default ``False``: on nbgraph-cora it made the GP of
        valid_perf worse, Spearman 0.38 -> 0.23 with 100 points).
    max_candidates : candidates kept by the optimistic pre-filter (default 1000).
    beta : UCB multiplier of the pre-filter (default 2).
    mc_samples : quasi-MC samples of the acquisition (default 128; 64 for ``gcn-blr``).
    chunk_size : candidates per acquisition evaluation.
    max_enumerate : finite spaces up to this size are scored exhaustively (default 50,000).
    n_random : random cells added to the mutants in spaces too large to enumerate.
    predictor_params : extra parameters of the ``gcn-blr`` predictors.
    fit_maxiter : L-BFGS-B iterations of the marginal-likelihood fit; each round starts from
        the previous round's hyper-parameters (default 200).
    refit_every : re-learn the surrogate every this many proposal rounds (default 1: every
        round).  In between, the GP keeps its kernel hyper-parameters and is only conditioned on
        the new observations (exact, cheap); ``gcn-blr`` predictors are reused as they are.
        The marginal-likelihood fit is most of a GP round's cost (about half at 190
        observations on NAS-Bench-Graph), and a GCN's training nearly all of it.
    kernel : ``"default"`` (BoTorch's ``SingleTaskGP`` kernel: RBF with one lengthscale per
        input column) or ``"additive"`` (:class:`~naspredict.predictors.kernels.FirstOrderAdditiveKernel`,
        a sum of per-column effects with one shared lengthscale), for the ``gp`` surrogate.
        With ``"qnehvi"`` / ``"qnparego"`` the additive kernel is slow (BoTorch evaluates the
        joint posterior of each candidate with every observed cell); it suits ``"ehvi"``, which
        needs only the marginals.
    source_features : transfer from related tasks (``surrogate="gp"`` only): a mapping arch ->
        that arch's values on other tasks (e.g. ``valid_perf`` and ``latency`` on
        ``nbgraph-citeseer`` and ``nbgraph-pubmed`` when searching ``nbgraph-cora``), given to
        the GP as extra input columns (``botorch-gp``'s ``source_features``).  Every candidate
        must be in it.  Default ``None``.
    torch_threads : deprecated and ignored (to be removed in the next release); passing
        anything but ``None`` warns.  The strategy no longer changes the process's thread
        count: the application sets it once (``naspredict --threads``, default 1, or
        :func:`naspredict.torch_utils.set_threads` at the start of a script; the executors'
        workers set their own).  One thread suits these small matrices: on a busy machine a
        thread pool made them far slower (measured 2,000x for 12 x 51 products with 2 threads
        on 2 loaded cores).
    """

    max_objectives = 10
    #: the enumerated pool and its encoding are per-process caches, rebuilt on demand
    _transient = ("_pool", "_gp", "source_features")

    def __init__(self, space, target: Sequence[str] | None = None,
                 direction: Sequence[str] | None = None, seed: int = 0, *,
                 acquisition: str = "qnehvi", surrogate: str = "gp", encoding: str = "features+onehot",
                 ref_point: Sequence[float] | None = None, n_initial: int = 10,
                 log_transform: bool | Sequence[str] = False,
                 quantile_transform: bool | Sequence[str] = False, clip_at_ref: bool = False,
                 max_candidates: int = 1000, beta: float = 2.0, mc_samples: int | None = None,
                 chunk_size: int = 256, max_enumerate: int = 50_000, n_random: int = 1000,
                 predictor_params: dict | None = None, torch_threads: int | None = None,
                 fit_maxiter: int = 200, refit_every: int = 1, kernel: str = "default",
                 source_features=None):
        if target is None or direction is None:
            raise ValueError("mobo needs target= (two or more metric names, e.g. "
                             "['valid_perf', 'latency'] on NAS-Bench-Graph) and direction= (one "
                             "'max' or 'min' per target); there are no defaults")
        super().__init__(space, target=target, direction=direction, seed=seed)
        m = len(self.targets)
        if m < 2:
            raise ValueError("mobo needs at least two targets; use 'bo' for a single objective")
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"unknown acquisition {acquisition!r}; expected one of {', '.join(ACQUISITIONS)}")
        if surrogate not in SURROGATES:
            raise ValueError(f"unknown surrogate {surrogate!r}; expected one of {', '.join(SURROGATES)}")
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}; expected one of {', '.join(KERNELS)}")
        self.kernel = kernel
        if source_features is not None and surrogate != "gp":
            raise ValueError("source_features (transfer from related tasks) needs surrogate='gp'")
        self.source_features = source_features
        self.acquisition = acquisition
        self.surrogate = surrogate
        self.encoding = encoding
        if ref_point is not None:
            ref = np.asarray(ref_point, dtype=float).reshape(-1)
            if ref.size != m or not np.isfinite(ref).all():
                raise ValueError(f"ref_point needs {m} finite values (one per target), got {ref_point!r}")
            self.ref_point = ref
        else:
            self.ref_point = None
        minimised = [t for t, d in zip(self.targets, self.directions) if d == "min"]
        quant = self._target_mask(quantile_transform, "quantile_transform", self.targets)
        self.quantile_mask = quant
        self.log_mask = self._target_mask(log_transform, "log_transform", minimised) & ~quant
        self._transforms: list = []  # per objective: the target transform fitted this round
        self.n_initial = int(n_initial)
        self.clip_at_ref = bool(clip_at_ref)
        self.max_candidates = int(max_candidates)
        self.beta = float(beta)
        self.mc_samples = int(mc_samples or (128 if surrogate == "gp" else 64))
        self.chunk_size = int(chunk_size)
        self.max_enumerate = int(max_enumerate)
        self.n_random = int(n_random)
        self.predictor_params = dict(predictor_params or {})
        if torch_threads is not None:
            warnings.warn("mobo's torch_threads is deprecated and ignored: the strategy no longer "
                          "changes the process's thread count; set it once at the start of the "
                          "program (naspredict.torch_utils.set_threads, naspredict --threads)",
                          DeprecationWarning, stacklevel=2)
        self.fit_maxiter = int(fit_maxiter)
        if int(refit_every) < 1:
            raise ValueError(f"refit_every must be >= 1, got {refit_every}")
        self.refit_every = int(refit_every)
        self._rounds = 0  # surrogate proposal rounds so far
        self._gp_state: tuple | None = None  # the GP's hyper-parameters (warm start), state
        self._gcn_models: list | None = None
        self.round_seconds: list[float] = []
        self._gp = self._make_gp() if surrogate == "gp" else None
        self._pool = None
        self._dead: set[int] = set()  # pool rows known to be evaluated / pending / duplicates

    def _target_mask(self, spec: bool | Sequence[str], what: str, when_true: Sequence[str]) -> np.ndarray:
        """Boolean mask over the targets from ``True``/``False`` (``when_true`` / none) or a
        list of target names."""
        if isinstance(spec, bool):
            names = list(when_true) if spec else []
        else:
            names = list(spec)
            bad = [t for t in names if t not in self.targets]
            if bad:
                raise ValueError(f"{what} names {bad}, which are not targets ({self.targets})")
        return np.array([t in names for t in self.targets])

    # -- candidates ------------------------------------------------------------------------------
    def _make_gp(self):
        """The ``botorch-gp`` predictor this strategy fits every round (warm-started)."""
        from ..predictors import make
        return make("botorch-gp", space=self.space, encoding=self.encoding, kernel=self.kernel,
                    fit_maxiter=self.fit_maxiter, warm_start=True, max_enumerate=self.max_enumerate,
                    source_features=self.source_features)

    def _load_pool(self):
        """The enumerated space with the GP's scaled encoding (cached per process), or ``None``."""
        if self._pool is None:
            enc = self.encoding if self.surrogate == "gp" else "onehot"
            self._pool = encoded_pool(self.space, enc, self.max_enumerate) or ()
        return self._pool or None

    def _candidates(self, front_archs: list) -> tuple[list, np.ndarray | None]:
        """Candidate archs (not yet seen or pending) and, for an enumerated space, their rows of
        the scaled encoding."""
        pool = self._load_pool()
        if pool is not None:
            for a in [a for a, _ in self.history]:
                i = pool.index.get(a)
                if i is not None:
                    self._dead.add(i)
            rows = np.setdiff1d(np.arange(len(pool.archs)), np.fromiter(self._dead, int, len(self._dead)))
            busy = {p.arch for p in self.pending()}
            rows = np.array([i for i in rows if pool.archs[i] not in busy], dtype=int)
            return [pool.archs[i] for i in rows], pool.X[rows]
        # too large to enumerate: mutants of the front plus random cells (candidates module)
        cands = mutants(self.space, front_archs[:20], n_mutants=self.n_random, n_total=2 * self.n_random,
                        key=self.key, is_new=self.is_new, rng=self.rng, sample_new=self.sample_new)
        return cands, None

    # -- helpers -----------------------------------------------------------------------------------
    def _signed_ref(self) -> np.ndarray | None:
        return None if self.ref_point is None else self.ref_point * self.signs

    @property
    def transformed(self) -> bool:
        """Whether some objective is modelled on a non-affine scale (log or rank): then the
        surrogate's Gaussians are not Gaussian in the objectives' units, and the acquisition
        integrates by Monte Carlo through the inverse map."""
        return bool(self.log_mask.any() or self.quantile_mask.any())

    def _to_model(self, Y: np.ndarray) -> np.ndarray:
        """Signed objective values -> the scale the surrogate models (log / rank normal scores
        where asked, :mod:`naspredict.predictors.transforms`; refitted on ``Y`` every round)."""
        self._transforms = []
        for j in range(Y.shape[1]):
            if self.quantile_mask[j]:
                t = RankGauss(Y[:, j])
            elif self.log_mask[j]:
                t = Log(Y[:, j], sign=self.signs[j], name=repr(self.targets[j]))
            else:
                t = Identity()
            self._transforms.append(t)
        Z = Y.copy()
        for j, t in enumerate(self._transforms):
            if not isinstance(t, Identity):
                Z[:, j] = t.forward(Y[:, j])
        return Z

    def _from_model(self, Z):
        """Inverse of :meth:`_to_model` (numpy or torch, last axis = objectives).  The rank
        transform's inverse goes through numpy: no gradient flows through it (the acquisition
        is only evaluated on discrete candidates)."""
        if not self.transformed:
            return Z
        if isinstance(Z, np.ndarray):
            out = Z.copy()
            for j, t in enumerate(self._transforms):
                if not isinstance(t, Identity):
                    out[..., j] = t.inverse(Z[..., j])
            return out
        import torch
        return torch.stack([t.inverse_tensor(Z[..., j]) for j, t in enumerate(self._transforms)], dim=-1)

    def _optimistic(self, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """Per-objective optimistic value (signed, original units) from model-scale mean/std."""
        hi = self._from_model(mu + self.beta * sd)
        lo = self._from_model(mu - self.beta * sd)
        return np.maximum(hi, lo)

    def _prefilter(self, U: np.ndarray, front: np.ndarray, ref: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Indices of the ``max_candidates`` most promising rows of ``U`` (see module doc)."""
        n = len(U)
        if n <= self.max_candidates:
            return np.arange(n)
        Un, rn = U / scale, ref / scale
        score = (rn - Un).max(1)
        F = front[(front > ref).all(1)] / scale
        if len(F):
            eps = np.full(n, np.inf)
            for s in range(0, n, 4096):
                eps[s: s + 4096] = (F[None, :, :] - Un[s: s + 4096, None, :]).max(-1).min(1)
            score = np.maximum(score, eps)
        perm = self.rng.permutation(n)  # random tie-break
        return perm[np.argsort(score[perm], kind="stable")[: self.max_candidates]]

    # -- proposal --------------------------------------------------------------------------------
    def _propose(self, n: int) -> list:
        archs, Y = self.observed()
        if len(archs) < max(self.n_initial, 2) or len(np.unique(Y, axis=0)) < 2:
            need = max(n, 0)
            return self.sample_new(need)
        t0 = time.perf_counter()
        self._rounds += 1
        front_mask = pareto_front(Y)
        front_archs = [a for a, f in zip(archs, front_mask) if f]
        ref = self._signed_ref()
        if ref is None:
            ref = self._infer_ref(Y[front_mask], Y)
        cands, Xc = self._candidates(front_archs)
        if not cands:
            return []
        if self.surrogate == "gp":
            order = self._propose_gp(archs, Y, ref, cands, Xc, n)
        else:
            order = self._propose_gcn(archs, Y, ref, cands, n)
        out = []
        for i in order:  # skip isomorphic repeats; remember them as dead
            a = cands[i]
            if self.is_new(a):
                out.append(a)
            else:
                self._mark_dead(a)
            if len(out) >= n:
                break
        self.round_seconds.append(time.perf_counter() - t0)
        return out

    def _refit_now(self) -> bool:
        """Whether this proposal round re-learns the surrogate (every ``refit_every`` rounds)."""
        return (self._rounds - 1) % self.refit_every == 0

    def _mark_dead(self, a) -> None:
        pool = self._load_pool()
        if pool is not None and a in pool.index:
            self._dead.add(pool.index[a])

    def _update(self, pairs) -> None:
        for a, _ in pairs:
            self._mark_dead(a)

    @staticmethod
    def _infer_ref(front: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """``nadir - 0.1 * range`` of the observed front (BoTorch's ``infer_reference_point``)."""
        nadir, ideal = front.min(0), front.max(0)
        rng = ideal - nadir
        rng = np.where(rng > 0, rng, np.maximum(Y.max(0) - Y.min(0), 1e-8))
        return nadir - 0.1 * rng

    def _model_targets(self, Y: np.ndarray, ref: np.ndarray) -> np.ndarray:
        if self.clip_at_ref and self.ref_point is not None:
            Y = np.maximum(Y, ref)
        return self._to_model(Y)

    # GP ------------------------------------------------------------------------------------------
    def _propose_gp(self, archs, Y, ref, cands, Xc, q) -> list[int]:
        import torch
        from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
        from botorch.acquisition.multi_objective.objective import GenericMCMultiOutputObjective
        from botorch.acquisition.multi_objective.parego import qLogNParEGO
        from botorch.sampling import SobolQMCNormalSampler

        busy = [p.arch for p in self.pending() if p.fidelity.is_full]  # asynchronous workers
        Z = self._model_targets(Y, ref)
        seed = int(self.rng.integers(2**31 - 1))
        gp = self._gp
        gp.set_params(random_state=seed, optimize_hypers=self._refit_now())
        if self._gp_state is not None:
            gp.hyper_state_ = self._gp_state  # warm start from the last round (also after a resume)
        gp.fit_outputs(archs, Z, scale_with=None if Xc is not None else list(cands) + busy)
        self._gp_state = gp.hyper_state_
        if Xc is None or self.source_features is not None:  # source columns go after the pool's
            Xc = gp.encode(cands)
        Xb = gp.encode(busy) if busy else None
        mu, sd = gp.marginals(Xc)
        if self.acquisition == "ehvi":  # predictive std of a new observation
            sd = np.sqrt(sd ** 2 + gp.noise_variance()[None, :])
            busy_mu = None if Xb is None else gp.marginals(Xb)[0]
            return self._select_ehvi(mu, sd, Y, ref, q, seed, busy_mu)
        model = gp.model_
        tX = torch.as_tensor(gp.X_train_, dtype=torch.double)
        tC = torch.as_tensor(Xc, dtype=torch.double)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # BoTorch's baseline pruning draws from the global RNG
            scale = np.maximum(Y.std(0), 1e-12)
            keep = self._prefilter(self._optimistic(mu, sd), Y, ref, scale)
            choices = tC[keep].unsqueeze(-2)
            objective = GenericMCMultiOutputObjective(lambda s, X=None: self._from_model(s))
            sampler = SobolQMCNormalSampler(sample_shape=torch.Size([self.mc_samples]), seed=seed)
            chosen: list[int] = []
            vals = None
            # trials still running elsewhere are pending points of the acquisition
            tB = None if Xb is None else torch.as_tensor(Xb, dtype=torch.double)
            for k in range(min(q, len(keep))):
                parts = ([tB] if tB is not None else []) + ([choices[chosen].squeeze(-2)] if chosen else [])
                pending = torch.cat(parts) if parts else None
                if self.acquisition == "qnehvi":
                    if k == 0:
                        acq = qLogNoisyExpectedHypervolumeImprovement(
                            model=model, ref_point=torch.as_tensor(ref, dtype=torch.double),
                            X_baseline=tX, sampler=sampler, objective=objective, prune_baseline=True)
                    if pending is not None:
                        acq.set_X_pending(pending)
                else:
                    w = torch.as_tensor(self.rng.dirichlet(np.ones(len(ref))), dtype=torch.double)
                    acq = qLogNParEGO(model=model, X_baseline=tX, scalarization_weights=w,
                                      sampler=sampler, objective=objective, X_pending=pending,
                                      prune_baseline=True)
                with torch.no_grad():
                    vals = torch.cat([acq(c) for c in choices.split(self.chunk_size)]).numpy().copy()
                vals[chosen] = -np.inf
                chosen.append(int(np.argmax(vals)))
        rest = [int(i) for i in np.argsort(-vals, kind="stable") if int(i) not in chosen]
        return [int(keep[i]) for i in chosen + rest]

    # GCN-BLR ---------------------------------------------------------------------------------------
    def _propose_gcn(self, archs, Y, ref, cands, q) -> list[int]:
        from ..predictors import make

        Z = self._model_targets(Y, ref)
        seed = int(self.rng.integers(2**31 - 1))
        mu = np.zeros((len(cands), Z.shape[1]))
        sd = np.zeros_like(mu)
        if self._gcn_models is None or self._refit_now():
            self._gcn_models = [
                make("gcn-blr", space=self.space, **{"random_state": seed + j, **self.predictor_params})
                .fit(archs, Z[:, j]) for j in range(Z.shape[1])]
        busy = [p.arch for p in self.pending() if p.fidelity.is_full]
        busy_mu = np.zeros((len(busy), Z.shape[1])) if busy else None
        for j, model in enumerate(self._gcn_models):
            m_j, s_j = model.predict(cands, return_std=True)
            mu[:, j], sd[:, j] = np.asarray(m_j, float), np.maximum(np.asarray(s_j, float), 1e-12)
            if busy:
                busy_mu[:, j] = np.asarray(model.predict(busy), float)
        return self._select_ehvi(mu, sd, Y, ref, q, seed, busy_mu)

    def _select_ehvi(self, mu, sd, Y, ref, q, seed, busy_mu=None) -> list[int]:
        """Candidate order from independent Gaussians ``N(mu, sd^2)`` per objective (model
        scale): BoTorch's analytic EHVI of the observed front when no objective is transformed
        (exact), else the Monte-Carlo estimate of :meth:`_select_mc`; ParEGO always by Monte
        Carlo.  The pre-filter, ``q`` picks by Kriging believer and ``busy_mu`` work as there."""
        if self.transformed or self.acquisition == "qnparego":
            return self._select_mc(mu, sd, Y, ref, q, seed, busy_mu)
        scale = np.maximum(Y.std(0), 1e-12)
        keep = self._prefilter(self._optimistic(mu, sd), Y, ref, scale)
        mu, sd = mu[keep], sd[keep]
        front = Y[pareto_front(Y)]
        if busy_mu is not None and len(busy_mu):
            front = np.vstack([front, busy_mu])
            front = front[pareto_front(front)]
        chosen: list[int] = []
        vals = None
        for _ in range(min(q, len(keep))):
            vals = analytic_ehvi(mu, sd, front, ref, chunk=max(self.chunk_size, 1))
            vals[chosen] = -np.inf
            i = int(np.argmax(vals))
            chosen.append(i)
            front = np.vstack([front, mu[i]])  # Kriging believer
            front = front[pareto_front(front)]
        rest = [int(i) for i in np.argsort(-vals, kind="stable") if int(i) not in chosen]
        return [int(keep[i]) for i in chosen + rest]

    def _select_mc(self, mu, sd, Y, ref, q, seed, busy_mu=None) -> list[int]:
        """Candidate order from independent Gaussian predictions ``N(mu, sd^2)`` per objective
        (model scale): the pre-filter, then Monte-Carlo EHVI of the *observed* front (or ParEGO's
        expected Chebyshev improvement), ``q`` picks by Kriging believer, then the rest by value.
        ``busy_mu``: predicted means of trials still running, which join the front as believed
        observations."""
        scale = np.maximum(Y.std(0), 1e-12)
        keep = self._prefilter(self._optimistic(mu, sd), Y, ref, scale)
        mu, sd = mu[keep], sd[keep]
        eps = np.random.default_rng(seed).standard_normal((self.mc_samples, 1, mu.shape[1]))
        samples = self._from_model(mu[None] + sd[None] * eps)  # S x N x m, signed original units
        mean = self._from_model(mu)
        front = Y[pareto_front(Y)]
        if busy_mu is not None and len(busy_mu):
            front = np.vstack([front, self._from_model(busy_mu)])
            front = front[pareto_front(front)]
        lo_y, hi_y = Y.min(0), Y.max(0)
        chosen: list[int] = []
        vals = None
        for _ in range(min(q, len(keep))):
            if self.acquisition != "qnparego":
                cells = nondominated_cells(front, ref)
                vals = np.zeros(len(keep))
                for s in range(0, len(keep), self.chunk_size):
                    vals[s: s + self.chunk_size] = hypervolume_improvement(
                        samples[:, s: s + self.chunk_size], None, None, cells=cells).mean(0)
            else:
                w = self.rng.dirichlet(np.ones(mu.shape[1]))
                span = np.where(hi_y > lo_y, hi_y - lo_y, 1.0)

                def cheb(V):
                    V = (V - lo_y) / span
                    return (w * V).min(-1) + 0.05 * (w * V).sum(-1)

                best = cheb(Y).max()
                vals = np.clip(cheb(samples) - best, 0, None).mean(0)
            vals[chosen] = -np.inf
            i = int(np.argmax(vals))
            chosen.append(i)
            front = np.vstack([front, mean[i]])  # Kriging believer
            front = front[pareto_front(front)]
        rest = [int(i) for i in np.argsort(-vals, kind="stable") if int(i) not in chosen]
        return [int(keep[i]) for i in chosen + rest]

    # -- reporting -----------------------------------------------------------------------------------
    def hypervolume(self, ref_point: Sequence[float] | None = None) -> float:
        """Hypervolume of the observed results w.r.t. ``ref_point`` (original units; default:
        the strategy's own ``ref_point``)."""
        if ref_point is None and self.ref_point is None:
            raise ValueError("give a reference point (the strategy has none)")
        ref = np.asarray(ref_point if ref_point is not None else self.ref_point, dtype=float)
        _, Y = self.observed()
        return hypervolume(Y, ref * self.signs)

    def progress_text(self) -> str:
        _, Y = self.observed()
        if not len(Y):
            return ""
        txt = f"front {int(pareto_front(Y).sum())}"
        if self.ref_point is not None:
            txt += f", hv {self.hypervolume():.4g}"
        return txt
