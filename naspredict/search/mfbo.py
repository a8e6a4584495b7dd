"""Multi-fidelity Bayesian optimisation: pick the arch *and* the fidelity to run it at.

The surrogate is the multi-fidelity GP :class:`~naspredict.predictors.mtgp.MultiTaskGPPredictor`
fitted on every result so far, each at its own fidelity (short runs and full runs together).
Each round scores every new ``(arch, level)`` pair by the *augmented expected improvement* of
Huang, Allen, Notz & Miller ("Sequential kriging optimization using multiple-fidelity
evaluations", Struct. Multidisc. Optim. 2006), a cost-aware rule:

``AEI(x, l) = EI_m(x) * corr(f_l(x), f_m(x)) * (1 - sigma_eps / sqrt(s_l(x)^2 + sigma_eps^2)) * C_m / C_l``

* ``EI_m(x)``: expected improvement of the *full-fidelity* value ``f_m(x)`` over the effective
  incumbent ``u = max_x (mu_m(x) - c * s_m(x))`` over the observed archs (Huang et al.'s robust
  incumbent, ``c = incumbent_std``; it exists before any full run is done);
* ``corr``: the posterior correlation of the latent values at level ``l`` and at the full
  level (1 at the full level): how much running ``l`` tells about the value that counts;
* the third factor: how much a run at ``l`` still reduces the uncertainty there (small when the
  posterior std ``s_l`` is already below the noise std ``sigma_eps``);
* ``C_m / C_l``: the full level's cost over level ``l``'s (costs default to the epochs).

So a cheap run wins while the arch is uncertain and cheap runs still say much about its full
value; once an arch has its short run (that pair is done), only its full run is left, and it
is *promoted* when its full-fidelity EI beats every cheap run's cost-weighted value.  With
``promote_only`` (default) a level above the lowest is only ever run for an arch that has a
complete result at the level below (ours: without it, early rounds sent unseen cells straight
to 200 epochs on their full-level EI, a cell at 63 % after 12 epochs among them).  A pair that
is done or pending is never proposed.  Before ``n_initial`` results the strategy proposes
random new archs at the lowest level.

Measured on ``nb201_mf()`` (cost = epochs, 12 and 200; epochs until the NB201 optimum is run
at full fidelity): 30 seeds of ``benchmarks/multifidelity.py --part search --methods mf-bo``
with the code before the random-start fix (commit f05d57c) gave median 1,288, worst 6,992
(``benchmarks/results/multifidelity_search.md``).  With the fix (a different random start
per seed), ``benchmarks/mfbo_dev.py`` on 19 seeds gave median 1,744, worst 5,412, with a wide
spread (784 to 5,412): some seeds promote cells that were poor after 12 epochs while the
learned 12-to-200 correlation is still low.  Single-fidelity ``bo`` with the GP: 5,800.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..predictors.transforms import RankGauss
from ..trials import FULL, Fidelity
from .acquisition import log_expected_improvement
from .base import Proposal, Strategy
from .candidates import enumerated_pool

__all__ = ["MultiFidelityBO"]

_TRANSFORMS = ("quantile", "none")


class MultiFidelityBO(Strategy):
    """Cost-aware multi-fidelity BO over ``Fidelity(epochs=e)`` levels.

    Parameters
    ----------
    space, target, direction, seed : see :class:`~naspredict.search.base.Strategy`.
    fidelities : the epoch levels, ascending (default ``(12, 200)``); the last is the full
        level and is proposed as ``FULL``, the others as ``Fidelity(epochs=e)``.  Results told
        at ``FULL`` count as the last level.
    costs : cost of one run at each level (same length as ``fidelities``); ``None`` uses the
        epochs.  Only the ratios matter.
    predictor_params : extra parameters of the ``mtgp`` surrogate (``fidelity_bounds`` is set
        to the levels' ends).
    n_initial : random archs run at the lowest level before the first fit.
    target_transform : ``"quantile"`` (normal scores pooled over the levels, default) or
        ``"none"``.
    incumbent_std : ``c`` in the effective incumbent ``max (mu_m - c s_m)``.
    hyper_every : re-learn the GP hyper-parameters every this many rounds (``1``: every round).
    warm_iter : Adam steps from the last hyper-parameters in the rounds between (``0``: only
        condition on the new rows).
    promote_only : run an arch at a level above the lowest only once it has a complete result
        at the level below (every higher run is a promotion; default).  ``False`` lets the
        acquisition send an unseen arch straight to a higher level.
    n_candidates : pool size when the space is not enumerated (random new archs plus
        neighbours of the best archs).
    max_enumerate : largest finite space scored exhaustively.

    Raises
    ------
    ValueError
        on fewer than two or unsorted levels, costs of another length or not positive, an
        unknown ``target_transform``, or negative counts.
    """

    _transient = ("_pool",)

    def __init__(self, space, target="accuracy", direction=None, seed: int = 0, *,
                 fidelities: Sequence[int] = (12, 200), costs: Sequence[float] | None = None,
                 predictor_params: dict | None = None, n_initial: int = 10,
                 target_transform: str = "quantile", incumbent_std: float = 1.0,
                 hyper_every: int = 5, warm_iter: int = 0, promote_only: bool = True,
                 n_candidates: int = 2000, max_enumerate: int = 50_000):
        super().__init__(space, target=target, direction=direction, seed=seed)
        levels = [int(e) for e in fidelities]
        if len(levels) < 2 or levels != sorted(set(levels)) or levels[0] < 1:
            raise ValueError(f"fidelities must be at least two distinct ascending epoch counts "
                             f"(the last is the full level), got {tuple(fidelities)!r}")
        c = np.asarray(levels if costs is None else costs, dtype=float)
        if c.shape != (len(levels),) or not np.isfinite(c).all() or (c <= 0).any():
            raise ValueError(f"costs must give one positive cost per fidelity level {levels}, "
                             f"got {costs!r}")
        if target_transform not in _TRANSFORMS:
            raise ValueError(f"target_transform must be one of {', '.join(_TRANSFORMS)}, "
                             f"got {target_transform!r}")
        if n_initial < 0 or hyper_every < 1 or warm_iter < 0 or n_candidates < 1:
            raise ValueError("n_initial and warm_iter must be >= 0, hyper_every and n_candidates >= 1")
        self.levels = levels
        self.costs = [float(v) for v in c]
        self.predictor_params = dict(predictor_params or {})
        self.n_initial = int(n_initial)
        self.target_transform = target_transform
        self.incumbent_std = float(incumbent_std)
        self.hyper_every = int(hyper_every)
        self.warm_iter = int(warm_iter)
        self.promote_only = bool(promote_only)
        self.n_candidates = int(n_candidates)
        self.max_enumerate = int(max_enumerate)
        self.hypers_ = None
        self._rounds = 0
        self._pool = enumerated_pool(self.space, self.space.canonical, self.max_enumerate)
        if self._pool is not None:
            self._key_cache.update(zip(*self._pool))

    # -- levels ---------------------------------------------------------------------------------
    @property
    def full_level(self) -> int:
        """Epochs of the full level."""
        return self.levels[-1]

    def fidelity_of(self, level: int) -> Fidelity:
        """The :class:`~naspredict.trials.Fidelity` a run at ``level`` epochs is proposed with."""
        return FULL if level == self.full_level else Fidelity(epochs=int(level))

    def level_of(self, fidelity: Fidelity) -> int | None:
        """The level a fidelity belongs to (``None`` if it is none of them)."""
        if fidelity.is_full:
            return self.full_level
        if fidelity.epochs is not None and fidelity.replace(epochs=None).is_full \
                and fidelity.epochs in self.levels:
            return int(fidelity.epochs)
        return None

    def _taken(self) -> dict[int, set]:
        """Level -> canonical forms done or pending there (one pass over the history)."""
        out: dict[int, set] = {lv: set() for lv in self.levels}
        for a, r in self.history:
            lv = self.level_of(r.fidelity)
            if lv is not None:
                out[lv].add(self.key(a))
        for p in self.pending():
            lv = self.level_of(p.fidelity)
            if lv is not None:
                out[lv].add(self.key(p.arch))
        return out

    def observations(self) -> tuple[list, np.ndarray, np.ndarray]:
        """Complete results at any level: ``(archs, levels (n,), signed values (n,))``."""
        archs, lv, vals = [], [], []
        for a, r in self.history:
            level = self.level_of(r.fidelity)
            v = self.signed(r) if level is not None else None
            if v is not None:
                archs.append(a)
                lv.append(level)
                vals.append(v[0])
        return archs, np.asarray(lv, float), np.asarray(vals, float)

    # -- surrogate ------------------------------------------------------------------------------
    def _transform(self, y: np.ndarray) -> np.ndarray:
        if self.target_transform == "none" or len(y) < 2:
            return y.copy()
        return RankGauss(y).forward(y)

    def _fit(self, archs: list, z: np.ndarray, levels: np.ndarray, learn: bool):
        from ..predictors.mtgp import MultiTaskGPPredictor
        params = {"encoding": "features+onehot", **self.predictor_params, "target_transform": "standard",
                  "fidelity_bounds": (self.levels[0], self.full_level)}
        if not learn and self.hypers_ is not None:
            params.update(warm_start=self.hypers_, n_iter=self.warm_iter)
        model = MultiTaskGPPredictor(space=self.space, random_state=int(self.rng.integers(2**31 - 1)),
                                     **params)
        model.fit(archs, z, fidelity=levels)
        if learn:
            self.hypers_ = model.hyperparameters_
        return model

    def _candidates(self) -> list:
        """Archs with at least one level not yet done or pending."""
        taken = self._taken()
        full = set.intersection(*taken.values())
        if self._pool is not None:
            return [a for a, k in zip(*self._pool) if k not in full]
        out, keys = [], set()
        archs, _, vals = self.observations()

        def add(a):
            k = self.key(a)
            if k not in keys and k not in full:
                keys.add(k)
                out.append(a)

        for a in archs:  # every observed arch may still be promoted
            add(a)
        for i in np.argsort(-vals, kind="stable")[:10]:
            for b in self.space.neighbours(archs[i]):
                add(b)
        for a in self.sample_new(max(self.n_candidates - len(out), 0)):
            add(a)
        return out

    def acquisition(self, model, pool: list, observed: list) -> np.ndarray:
        """``log AEI`` of every ``(arch, level)`` pair, shape ``(len(pool), n_levels)``
        (``-inf`` for pairs done or pending, and with ``promote_only`` for pairs whose arch
        has no result at the level below); ``observed`` are the archs the effective
        incumbent is taken over.  See the module docstring for the terms."""
        top, n = self.full_level, len(pool)
        pairs = {lv: model.fidelity_pair(pool, lv, top) for lv in self.levels[:-1]}
        first = pairs[self.levels[0]]
        mean_m, sd_m = first.mean_high, first.std_high
        if observed:
            ref = model.fidelity_pair(observed, top, top)
            u = float(np.max(ref.mean_high - self.incumbent_std * ref.std_high))
        else:
            u = float(np.max(mean_m))
        log_ei = log_expected_improvement(mean_m, sd_m, u)
        taken = self._taken()
        done: dict[int, set] = {lv: set() for lv in self.levels}
        for a, lv in zip(*self.observations()[:2]):
            done[int(lv)].add(self.key(a))
        keys = [self.key(a) for a in pool]
        out = np.full((n, len(self.levels)), -np.inf)
        for j, lv in enumerate(self.levels):
            if lv == top:
                corr, s_l = np.ones(n), sd_m
            else:
                corr, s_l = pairs[lv].corr, pairs[lv].std_low
            noise = first.noise_std
            gain = 1.0 - noise / np.sqrt(s_l ** 2 + noise ** 2)
            with np.errstate(divide="ignore", invalid="ignore"):
                val = (log_ei + np.log(np.maximum(corr, 0.0)) + np.log(np.maximum(gain, 0.0))
                       + np.log(self.costs[-1] / self.costs[j]))
            below = done[self.levels[j - 1]] if j and self.promote_only else None
            new = np.fromiter((k not in taken[lv] and (below is None or k in below) for k in keys),
                              bool, n)
            out[:, j] = np.where(new & np.isfinite(val), val, -np.inf)
        return out

    def _sample_low(self, n: int, max_tries: int = 10000) -> list:
        """``n`` random archs not yet done or pending at the lowest level (uniform over the
        canonical forms when the space is enumerated: raw NB201 cells collide often)."""
        taken = self._taken()[self.levels[0]]
        if self._pool is not None:
            free = [i for i, k in enumerate(self._pool[1]) if k not in taken]
            pick = self.rng.choice(len(free), min(n, len(free)), replace=False)
            return [self._pool[0][free[i]] for i in pick]
        out, keys = [], set(taken)
        for _ in range(max_tries):
            if len(out) >= n:
                break
            a = self.space.sample(self.rng)
            k = self.key(a)
            if k not in keys:
                keys.add(k)
                out.append(a)
        return out

    # -- proposals ------------------------------------------------------------------------------
    def _propose(self, n: int) -> list:
        archs, levels, vals = self.observations()
        if len(archs) < max(self.n_initial, 3):
            lo = self.fidelity_of(self.levels[0])
            return [Proposal(a, lo) for a in self._sample_low(n)]
        z = self._transform(vals)
        learn = self.hypers_ is None or self._rounds % self.hyper_every == 0
        self._rounds += 1
        model = self._fit(archs, z, levels, learn)
        pool = self._candidates()
        if not pool:
            return []
        fa, fl, fz = list(archs), list(levels), list(z)
        busy = [p for p in self.pending() if self.level_of(p.fidelity) is not None]
        if busy:  # asynchronous workers: pending runs enter as their predicted means
            b_lv = np.array([self.level_of(p.fidelity) for p in busy], float)
            fa += [p.arch for p in busy]
            fl += list(b_lv)
            fz += list(model.predict([p.arch for p in busy], fidelity=b_lv))
            model = self._fit(fa, np.asarray(fz), np.asarray(fl), learn=False)
        observed = list({self.key(a): a for a in archs}.values())
        index = {self.key(a): i for i, a in enumerate(pool)}
        out: list[Proposal] = []
        acq = None
        for j in range(n):
            acq = self.acquisition(model, pool, observed)
            for p in out:
                acq[index[self.key(p.arch)], self.levels.index(self.level_of(p.fidelity))] = -np.inf
            i, li = divmod(int(np.argmax(acq)), len(self.levels))
            if not np.isfinite(acq[i, li]):
                break
            a, lv = pool[i], self.levels[li]
            out.append(Proposal(a, self.fidelity_of(lv)))
            if j + 1 < n:  # Kriging believer: the predicted mean becomes a fake observation
                fa.append(a)
                fl.append(float(lv))
                fz.append(float(model.predict([a], fidelity=float(lv))[0]))
                model = self._fit(fa, np.asarray(fz), np.asarray(fl), learn=False)
        if len(out) < n:  # nothing left worth a run: short runs of random new archs, never a
            # full run the base class would top up with
            lo = self.fidelity_of(self.levels[0])
            mine = {self.key(p.arch) for p in out if p.fidelity == lo}
            out += [Proposal(a, lo) for a in self._sample_low(n - len(out) + len(mine))
                    if self.key(a) not in mine][: n - len(out)]
        return out

    def progress_text(self) -> str:
        b = self.best()
        spent = sum(r.cost for _, r in self.history if r.cost is not None)
        head = "" if b is None else f"best {self.targets[0]}={b[1]:.4g} "
        return f"{head}cost {spent:.0f}"
