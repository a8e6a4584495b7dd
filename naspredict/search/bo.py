"""Bayesian optimisation over architectures: a surrogate with uncertainty plus an acquisition.

The loop follows the NAS-BO recipe studied by White, Neiswanger & Savani (BANANAS, AAAI 2021)
and by NASBOT (Kandasamy et al., NeurIPS 2018): after ``n_initial`` random architectures, each
round fits a predictor with a predictive std on everything observed so far, scores a pool of
unevaluated candidates with an acquisition function (:mod:`naspredict.search.acquisition`) and
proposes the best.

Choices of ours (the papers leave them open or differ):

* **Candidate pool: a trust region by default** (built by :mod:`naspredict.search.candidates`,
  which mobo shares).  Each round scores the unevaluated archs within
  ``local_radius=2`` neighbour steps of the ``local_parents=5`` best observed archs (breadth
  first, at most ``n_candidates``) plus ``local_random=200`` random new archs: a BO / local-search
  hybrid (local search is strong on these tables: White, Zela, Ru, Liu & Hutter, "Exploring the
  loss landscape in NAS", UAI 2021).  On NB201 the global EI argmax nearly always lies in that
  region anyway, so the trace barely changes, but a round scores ~1k cells instead of 8,765.
  With ``local_radius=0``, a finite space that lists at most ``max_enumerate`` architectures is
  enumerated once (one representative per canonical form, cached per process) and the whole
  unevaluated remainder is scored every round.  Otherwise the pool is BANANAS-style: mutations
  of the best observed archs (all one-step neighbours of the top parents, plus random
  two/three-step mutants) and uniform samples, ``n_candidates`` in all.
* **Surrogate.**  ``predictor="gp"`` defaults to ``encoding="features+onehot"``, ``calibrate_std=None``
  (:data:`PREDICTOR_DEFAULTS`); ``n_initial=5`` random archs before the first fit.
* **Target transform.**  Accuracy tables have a heavy low tail (NB201 has 341 dead cells at
  10%), which makes a stationary GP with Gaussian noise fit the top badly.  By default the
  surrogate is fitted on *normal scores* of the ranks (a Gaussian-copula transform, as in
  Salinas, Shen & Perrone, ICML 2020); the acquisition runs in that space.  ``"clip"`` raises
  values below ``Q1 - 1.5 IQR`` to that bound; ``"none"`` fits the raw signed values.
* **Batches** of ``k > 1`` proposals per :meth:`ask`: ``batch="kb"``, the Kriging believer
  (Ginsbourger, Le Riche & Carraro, 2010: propose the acquisition's argmax, add its predicted
  mean as a fake observation, refit, repeat), or ``batch="ts"``: ``k`` Thompson draws
  (Kandasamy et al., AISTATS 2018), joint over the ``ts_pool`` candidates with the highest UCB
  when the predictor's posterior draws are joint (``joint_samples``), independent per
  candidate otherwise.
  ``acquisition="ts"`` always proposes by Thompson draws.
* **Asynchronous workers.**  Proposals still being evaluated when ``ask`` is called (the run
  loop keeps them as pending trials) join the fit as Kriging-believer fantasies (their
  predicted means), so busy workers are not all sent to the same region; with Thompson
  sampling the independent draws already spread them.
* The strategy leaves torch's thread count alone: the application sets it once
  (``naspredict --threads``, default 1, or :func:`naspredict.torch_utils.set_threads`).  One
  thread suits these small models; on a busy machine intra-op threads made GP fitting ~20x
  slower in our measurements.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from .acquisition import ACQUISITIONS, score, thompson_draws, upper_confidence_bound
from ..predictors.transforms import make_transform
from .base import Strategy
from .candidates import enumerated_pool, mutants, trust_region  # noqa: F401  (enumerated_pool re-exported)

_TRANSFORMS = ("quantile", "clip", "none")
_BATCH_MODES = ("kb", "ts")
#: bo's target_transform names -> the transform family's (naspredict.predictors.transforms)
_TRANSFORM_KIND = {"quantile": "rank", "clip": "clip", "none": "none"}

#: constructor defaults of BO's surrogates when named (user ``predictor_params`` override them):
#: the one-hot block lets the GP tell apart cells with equal graph features, which matters once
#: the search homes in on the top cells (NB201-CIFAR-10, n_initial=5, seeds 0-7: median queries
#: to the optimum 26.5 with "features+onehot" against 40 for "features" on seeds 0-3).
#: The GP also keeps its fitted std (``calibrate_std=None``), as in every BO result we report:
#: EI runs in the quantile-transformed space, and the CV rescaling would cost five extra fits
#: per round.
PREDICTOR_DEFAULTS: dict[str, dict] = {"gp": {"encoding": "features+onehot", "calibrate_std": None}}


def transform_targets(y: np.ndarray, how: str) -> np.ndarray:
    """Monotone transform of signed targets (higher is better) before fitting the surrogate.

    Parameters
    ----------
    y : array ``(n,)``.
    how : ``"quantile"`` (rank normal scores, :class:`~naspredict.predictors.transforms.RankGauss`),
        ``"clip"`` (:class:`~naspredict.predictors.transforms.ClipLowTail`) or ``"none"``.

    Returns
    -------
    array ``(n,)`` (a copy; unchanged when ``n < 2``).

    Raises
    ------
    ValueError : for an unknown ``how``.
    """
    y = np.asarray(y, dtype=float)
    if how not in _TRANSFORM_KIND:
        raise ValueError(f"target_transform must be one of {', '.join(_TRANSFORMS)}, got {how!r}")
    if how == "none" or len(y) < 2:
        return y.copy()
    return make_transform(_TRANSFORM_KIND[how], y).forward(y)


class BayesianOptimization(Strategy):
    """BO with a predictor that gives a predictive std.

    Parameters
    ----------
    space, target, direction, seed : see :class:`~naspredict.search.base.Strategy`.
    predictor : predictor name (built with ``space`` and a seed-derived ``random_state``) or an
        instance (cloned before every fit).  It must have ``supports_std``.
    predictor_params : extra constructor parameters when ``predictor`` is a name; for ``"gp"``
        they are laid over :data:`PREDICTOR_DEFAULTS` (``encoding="features+onehot"``).
    acquisition : ``"ei"`` (default; log-EI), ``"ucb"`` or ``"ts"``.
    beta : UCB weight on the std.
    xi : EI margin over the incumbent (in transformed units).
    n_initial : random architectures before the first fit.
    batch : ``"kb"`` (Kriging believer) or ``"ts"`` (Thompson draws) for ``ask(k)`` with ``k > 1``.
    kb_refit : refit the predictor after each Kriging-believer fantasy (``False`` keeps the
        model and only excludes the chosen arch: cheaper, less diverse).
    target_transform : ``"quantile"`` (normal scores, default), ``"clip"`` or ``"none"``.
    n_candidates : pool size when the space is not enumerated.
    n_parents : best observed archs whose mutations enter a non-enumerated pool.
    max_enumerate : largest finite space scored exhaustively.
    refit_every : refit the predictor every this many rounds (the model is reused between).
    ts_pool : candidates (highest UCB) over which joint Thompson draws are taken.
    local_radius : when > 0, the candidates are a trust region: unevaluated archs within this
        many neighbour steps of the ``local_parents`` best observed archs (at most
        ``n_candidates``), plus ``local_random`` random new archs; ``0`` scores the whole pool.
    local_parents : observed archs whose neighbourhoods form the trust region.
    local_random : random new archs added to the trust region (global exploration).
    """

    #: the enumerated pool is a per-process cache that ``__init__`` rebuilds
    _transient = ("_pool",)

    def __init__(self, space, target="accuracy", direction=None, seed: int = 0, *,
                 predictor: Any = "gp", predictor_params: dict | None = None,
                 acquisition: str = "ei", beta: float = 2.0, xi: float = 0.0, n_initial: int = 5,
                 batch: str = "kb", kb_refit: bool = True, target_transform: str = "quantile",
                 n_candidates: int = 2000, n_parents: int = 10, max_enumerate: int = 50_000,
                 refit_every: int = 1, ts_pool: int = 1000, local_radius: int = 2,
                 local_parents: int = 5, local_random: int = 200):
        super().__init__(space, target=target, direction=direction, seed=seed)
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"acquisition must be one of {', '.join(ACQUISITIONS)}, got {acquisition!r}")
        if batch not in _BATCH_MODES:
            raise ValueError(f"batch must be one of {', '.join(_BATCH_MODES)}, got {batch!r}")
        if target_transform not in _TRANSFORMS:
            raise ValueError(f"target_transform must be one of {', '.join(_TRANSFORMS)}, "
                             f"got {target_transform!r}")
        if refit_every < 1 or n_initial < 0 or n_candidates < 1:
            raise ValueError("refit_every and n_candidates must be >= 1, n_initial >= 0")
        if local_radius < 0 or local_parents < 1 or local_random < 0:
            raise ValueError("local_radius and local_random must be >= 0, local_parents >= 1")
        self.acquisition = acquisition
        self.beta = float(beta)
        self.xi = float(xi)
        self.n_initial = int(n_initial)
        self.batch = batch
        self.kb_refit = bool(kb_refit)
        self.target_transform = target_transform
        self.n_candidates = int(n_candidates)
        self.n_parents = int(n_parents)
        self.max_enumerate = int(max_enumerate)
        self.refit_every = int(refit_every)
        self.ts_pool = int(ts_pool)
        self.local_radius = int(local_radius)
        self.local_parents = int(local_parents)
        self.local_random = int(local_random)
        self.predictor = self._build_predictor(predictor, predictor_params or {})
        self.model_ = None
        self._rounds_since_fit = 0
        self._pool = enumerated_pool(self.space, self.space.canonical, self.max_enumerate)
        if self._pool is not None:  # prefill the key cache: is_new on the pool is then free
            self._key_cache.update(zip(*self._pool))

    # -- predictor ------------------------------------------------------------------------------
    def _build_predictor(self, predictor, params: dict):
        from ..predictors import Predictor, make
        if isinstance(predictor, str):
            params = {**PREDICTOR_DEFAULTS.get(predictor, {}), **params}
            model = make(predictor, space=self.space, random_state=self.seed, **params)
        elif isinstance(predictor, Predictor) or hasattr(predictor, "fit"):
            if params:
                raise ValueError("predictor_params only apply when predictor is a name")
            model = clone(predictor)
        else:
            raise ValueError(f"predictor must be a predictor name or instance, got {type(predictor).__name__}")
        if not getattr(model, "supports_std", False):
            label = repr(predictor) if isinstance(predictor, str) else type(model).__name__
            raise ValueError(f"BO needs a predictor with a predictive std (supports_std); "
                             f"{label} has none. Use -p / predictor= gp, gcn-blr, mlp-ensemble, rf, ...")
        return model

    def _fit(self, archs: list, z: np.ndarray):
        model = clone(self.predictor)
        if "random_state" in model.get_params():
            model.set_params(random_state=int(self.rng.integers(2**31 - 1)))
        return model.fit(archs, z)

    # -- candidates (naspredict.search.candidates) ------------------------------------------------
    def _candidates(self, archs: list, vals: np.ndarray) -> list:
        if self.local_radius > 0:
            local = self._local_candidates(archs, vals)
            if local:
                return local
        if self._pool is not None:
            seen, pending = self._seen, self._pending
            return [a for a, k in zip(*self._pool) if k not in seen and k not in pending]
        order = np.argsort(-vals, kind="stable")[: self.n_parents]
        return mutants(self.space, [archs[i] for i in order], n_mutants=self.n_candidates // 2,
                       n_total=self.n_candidates, key=self.key, is_new=self.is_new, rng=self.rng,
                       sample_new=self.sample_new)

    def _local_candidates(self, archs: list, vals: np.ndarray) -> list:
        """Trust-region pool: unevaluated archs within ``local_radius`` neighbour steps of the
        ``local_parents`` best observed archs, plus ``local_random`` random new archs."""
        order = np.argsort(-vals, kind="stable")[: self.local_parents]
        return trust_region(self.space, [archs[i] for i in order], radius=self.local_radius,
                            max_size=self.n_candidates, n_random=self.local_random, key=self.key,
                            is_new=self.is_new, rng=self.rng, pool=self._pool,
                            exclude=(self._seen, self._pending), sample_new=self.sample_new)

    # -- proposals ------------------------------------------------------------------------------
    def _propose(self, n: int) -> list:
        archs, vals = self.observed()
        min_train = max(int(getattr(self.predictor, "min_train", 2)), 2)
        if len(archs) < max(self.n_initial, min_train):
            return self.sample_new(n)
        return self._propose_bo(n, archs, vals[:, 0])

    def _propose_bo(self, n: int, archs: list, y: np.ndarray) -> list:
        z = transform_targets(y, self.target_transform)
        if self.model_ is None or self._rounds_since_fit + 1 >= self.refit_every:
            self.model_ = self._fit(archs, z)
            self._rounds_since_fit = 0
        else:
            self._rounds_since_fit += 1
        pool = self._candidates(archs, y)
        if not pool:
            return []
        model = self.model_
        thompson = self.acquisition == "ts" or (n > 1 and self.batch == "ts")
        fake_archs, fake_z = list(archs), list(z)
        busy = [p.arch for p in self.pending() if p.fidelity.is_full]
        if busy and not thompson:
            # asynchronous workers: trials still running enter as Kriging-believer fantasies
            # (their predicted means), so the next proposal looks elsewhere
            fake_archs += busy
            fake_z += [float(v) for v in model.predict(busy)]
            model = self._fit(fake_archs, np.asarray(fake_z))
        mean, std = model.predict(pool, return_std=True)
        if thompson:
            return self._thompson(n, model, pool, mean, std)

        best = float(z.max())
        chosen: list[int] = []
        for j in range(n):
            acq = score(self.acquisition, mean, std, best, beta=self.beta, xi=self.xi, rng=self.rng)
            if chosen:
                acq[chosen] = -np.inf
            i = int(np.argmax(acq))
            if not np.isfinite(acq[i]):
                break
            chosen.append(i)
            if j + 1 < n and self.kb_refit:
                # Kriging believer: the predicted mean becomes a fake observation
                fake_archs.append(pool[i])
                fake_z.append(float(mean[i]))
                model = self._fit(fake_archs, np.asarray(fake_z))
                mean, std = model.predict(pool, return_std=True)
        return [pool[i] for i in chosen]

    def _thompson(self, n: int, model, pool: list, mean: np.ndarray, std: np.ndarray) -> list:
        sub = np.arange(len(pool))
        if getattr(model, "joint_samples", False) and len(pool) > self.ts_pool:
            ucb = upper_confidence_bound(mean, std, beta=max(self.beta, 2.0))
            sub = np.sort(np.argsort(-ucb, kind="stable")[: self.ts_pool])
        seed = int(self.rng.integers(2**31 - 1))
        draws = thompson_draws(model, [pool[i] for i in sub], n, seed=seed,
                               mean=mean[sub], std=std[sub])
        chosen: list[int] = []
        for d in draws:
            d = d.copy()
            if chosen:
                d[chosen] = -np.inf
            i = int(np.argmax(d))
            if np.isfinite(d[i]):
                chosen.append(i)
        return [pool[sub[i]] for i in chosen]
