"""Hyperband, successive halving and BOHB over a list of epoch levels.

Successive halving (Jamieson & Talwalkar, AISTATS 2016) evaluates ``n`` new architectures at
the cheapest level, promotes the best ``1/eta`` of them to the next level, and so on up to the
full fidelity.  Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, JMLR 18(185),
2018, Algorithm 1) hedges over how aggressive that is: it cycles through brackets
``s = s_max, ..., 0``; bracket ``s`` starts ``n_s = ceil((s_max + 1) / (s + 1) * eta**s)``
architectures ``s`` levels below the full one and keeps ``floor(n_s * eta**-i)`` of them at
its ``i``-th rung.  BOHB (Falkner, Klein & Hutter, ICML 2018) keeps Hyperband's brackets and
draws the first rung's architectures from a TPE-style density model instead of uniformly.

Choices of ours:

* **Levels are given, not derived.**  ``fidelities`` lists the epoch levels the evaluator
  answers (``nb201_mf()``: 12 and 200; a learning-curve table any subset of 1..200), and
  ``s_max = len(fidelities) - 1``.  Li et al. derive the levels as ``R * eta**-k`` from ``R``
  and ``eta``; with levels that are not a geometric series, the bracket sizes still follow
  their formula with the given ``eta``, so ``eta`` sets how many are promoted, not the
  spacing of the levels.  ``n_configs`` overrides the first rung of the most exploratory
  bracket (the others are scaled by the same factor): ``SuccessiveHalving(fidelities=(12,
  200), eta=9, n_configs=27)`` runs 27 at 12 epochs, then the best 3 at 200, and repeats.
* **Promotion is synchronous per bracket, brackets run concurrently.**  A rung's best are
  promoted once every result of that rung is in (failed and pruned ones count as results and
  are never promoted), so promotions are exactly successive halving's.  When ``ask`` finds no
  open bracket with work to hand out (its rung is waiting for results), it opens the next
  bracket of the cycle, as BOHB's parallel version does, so no worker idles.  (ASHA, Li et al.
  MLSys 2020, promotes before a rung is complete; we do not.)
* **Nothing runs twice.**  A bracket's first rung only takes architectures never proposed at
  any fidelity (``fresh`` in canonical form), and a promotion goes to a level above the one
  it came from; an (arch, level) pair already known (told by hand) is answered from the
  history instead of being run again.  On the training evaluator with ``checkpoint_dir`` a
  promoted trial continues from the lower level's checkpoint, so its cost is the added epochs.
* **The model (``sampler="model"``).**  BOHB's own: a kernel density over the space's
  categorical choices (``space.choices()``), fitted on the highest level with at least
  ``min_points + 2`` complete results (``min_points`` = number of choices + 1, as BOHB).  The
  ``good_fraction`` best (at least ``min_points``) form ``l(x)``, the rest (at least
  ``min_points``) ``g(x)``; each choice uses the Aitchison-Aitken kernel (probability ``1 - b``
  of the centre's option, ``b / (c - 1)`` for each other one).  BOHB takes ``b`` from
  statsmodels' normal-reference rule ``1.06 * std(codes) * n**(-1/(4+d))``; on NB201's
  5-option edges that is above ``(c - 1) / c = 0.8`` for any n below about 10^4, where the
  kernel is flat (measured: the density ratio is then the same for every cell, so the model
  proposes uniformly).  We use ``b = (c - 1) / c * n**(-1/(4+d))`` instead: flat for one point,
  narrowing at the normal-reference rate.  Fitted on the 12-epoch values of 200 random NB201
  cells (good: the best 30, ``b = 0.57``; bad: 170, ``b = 0.48``), ``l/g`` ranks all 15,625
  cells with Kendall tau 0.33 against their 12-epoch accuracy; with the statsmodels rule every
  cell scores the same.  Draws come from ``l`` itself (``bandwidth_factor=1``): BOHB widens the
  bandwidths 3x, which for these categorical bandwidths (``3 b >= 1``) makes every draw uniform;
  on ``nb201_mf()``, epochs until the optimum is evaluated at full fidelity, median over seeds
  (``benchmarks/multifidelity.py``'s ``strategy_run``): 27 -> 3 successive halving with the
  model, seeds 0-5, 32,864 with factor 3 and 20,128 with factor 1; the ``bohb`` row
  (``eta=3``), 56,404 with factor 3 (seeds 0-9) and 17,508 with factor 1 (seeds 0-29).  ``n_samples`` draws from ``l`` with bandwidths widened by
  ``bandwidth_factor`` are scored by ``l(x) / g(x)``, and the best fresh one is proposed; a
  ``random_fraction`` of proposals stays uniform.  We chose it over a naspredict predictor with
  EI because it is the published BOHB model, needs no fit (a density per proposal costs
  milliseconds at thousands of observations) and works on any space with a choices schema.
* **Exhaustion.**  When no fresh architecture is left and every open bracket is waiting,
  ``ask`` returns fewer proposals (none at all stops the run loop); the strategy never tops
  up with full-fidelity evaluations outside a bracket.

>>> s = make_strategy("hyperband", "nb201", "test_accuracy", seed=0, fidelities=(12, 200))
>>> trace = s.run(nb201_mf(), Budget(cost_seconds=5000), progress=False)  # cost = epochs
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..trials import FULL, Fidelity, Result
from .base import Strategy

__all__ = ["Hyperband", "SuccessiveHalving", "BOHB", "bracket_sizes"]

_SAMPLERS = ("random", "model")


def bracket_sizes(n_levels: int, eta: float, n_configs: int | None = None,
                  brackets: int | None = None) -> list[list[int]]:
    """Rung sizes of each bracket of one Hyperband cycle, most exploratory first.

    Parameters
    ----------
    n_levels : number of fidelity levels (``s_max = n_levels - 1``).
    eta : the reduction factor (> 1).
    n_configs : first-rung size of the most exploratory bracket (default: Li et al.'s
        ``ceil((s_max + 1) / (s_max + 1) * eta**s_max)``); the other brackets are scaled by the
        same factor.
    brackets : how many brackets the cycle has, from ``s = s_max`` down (default all
        ``s_max + 1``; 1 is successive halving).

    Returns
    -------
    list of brackets, each a list of rung sizes; bracket ``s`` has ``s + 1`` rungs, the first
    at level ``s_max - s``.

    >>> bracket_sizes(3, 3)
    [[9, 3, 1], [5, 1], [3]]
    >>> bracket_sizes(2, 9, n_configs=27, brackets=1)
    [[27, 3]]
    """
    s_max = n_levels - 1
    n_br = s_max + 1 if brackets is None else brackets
    base = [math.ceil((s_max + 1) / (s + 1) * eta ** s - 1e-9) for s in range(s_max, s_max - n_br, -1)]
    scale = 1.0 if n_configs is None else n_configs / base[0]
    out = []
    for j, s in enumerate(range(s_max, s_max - n_br, -1)):
        n = max(1, round(base[j] * scale)) if j else (base[0] if n_configs is None else int(n_configs))
        out.append([max(1, math.floor(n * eta ** -i + 1e-9)) for i in range(s + 1)])
    return out


class Hyperband(Strategy):
    """Hyperband over epoch levels, with uniform or BOHB-style model proposals.

    Parameters
    ----------
    space, target, direction, seed : see :class:`~naspredict.search.base.Strategy`.
    fidelities : the epoch levels the evaluator answers, ascending; the last is the full one
        (proposed as ``FULL``).  ``nb201_mf()``: ``(12, 200)``; an evaluator's
        ``fidelities`` (a ``FidelitySpace``) is accepted too.  Required.
    eta : reduction factor: each rung keeps the best ``1/eta`` (default 3, as Li et al.).
    brackets : brackets per cycle, from the most exploratory (``None``: all
        ``len(fidelities)``; 1: successive halving).
    n_configs : first-rung size of the most exploratory bracket (``None``: Li et al.'s).
    sampler : ``"random"`` (Hyperband) or ``"model"`` (BOHB's density model; needs a space
        with ``choices()``).
    random_fraction : share of model-sampler proposals drawn uniformly (BOHB: 1/3).
    good_fraction : share of observations forming the "good" density (BOHB: 0.15).
    n_samples : draws from the good density scored per proposal (BOHB: 64).
    bandwidth_factor : widening of the good density's bandwidths when drawing (BOHB: 3; our
        default 1, see the module docstring).
    min_bandwidth : smallest kernel bandwidth (BOHB: 1e-3).
    min_points : least points per density (``None``: number of choices + 1).

    Raises
    ------
    ValueError
        For missing or unsorted ``fidelities``, ``eta <= 1``, ``brackets`` outside
        ``1..len(fidelities)``, ``n_configs < 1``, an unknown ``sampler`` or ``"model"`` on a
        space without a choices schema.

    Attributes
    ----------
    brackets_ : every bracket opened so far (dicts: ``s``, ``start`` level index, rung
        ``sizes``, current ``rung``, per-rung ``values`` ``{canonical: signed value or None}``,
        ``done``).
    """

    _transient = ("_fids", "_choice_sizes")

    def __init__(self, space, target="accuracy", direction=None, seed: int = 0, *,
                 fidelities: Sequence[int] | Any = None, eta: float = 3, brackets: int | None = None,
                 n_configs: int | None = None, sampler: str = "random", random_fraction: float = 1 / 3,
                 good_fraction: float = 0.15, n_samples: int = 64, bandwidth_factor: float = 1.0,
                 min_bandwidth: float = 1e-3, min_points: int | None = None):
        super().__init__(space, target=target, direction=direction, seed=seed)
        self.levels = _check_levels(fidelities, type(self).__name__)
        if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not eta > 1 or not math.isfinite(eta):
            raise ValueError(f"eta must be a number > 1 (Li et al. use 3), got {eta!r}")
        n_levels = len(self.levels)
        if brackets is not None and (isinstance(brackets, bool) or not isinstance(brackets, int)
                                     or not 1 <= brackets <= n_levels):
            raise ValueError(f"brackets must be an int in 1..{n_levels} (one per starting level; 1 is "
                             f"successive halving) or None for all, got {brackets!r}")
        if n_configs is not None and (isinstance(n_configs, bool) or not isinstance(n_configs, int)
                                      or n_configs < 1):
            raise ValueError(f"n_configs must be a positive int or None, got {n_configs!r}")
        if sampler not in _SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(_SAMPLERS)}, got {sampler!r}")
        if sampler == "model" and not self.space.has_choices:
            raise ValueError(f"sampler='model' needs a space with a choices schema; {self.space.name!r} "
                             f"has none: use sampler='random'")
        if not 0 <= random_fraction <= 1 or not 0 < good_fraction < 1:
            raise ValueError(f"random_fraction must be in [0, 1] and good_fraction in (0, 1), got "
                             f"{random_fraction!r} and {good_fraction!r}")
        if n_samples < 1 or bandwidth_factor <= 0 or min_bandwidth <= 0:
            raise ValueError("n_samples must be >= 1, bandwidth_factor and min_bandwidth > 0")
        if min_points is not None and min_points < 1:
            raise ValueError(f"min_points must be >= 1 or None, got {min_points!r}")
        self.eta = float(eta)
        self.n_brackets = n_levels if brackets is None else int(brackets)
        self.n_configs = n_configs
        self.sampler = sampler
        self.random_fraction = float(random_fraction)
        self.good_fraction = float(good_fraction)
        self.n_samples = int(n_samples)
        self.bandwidth_factor = float(bandwidth_factor)
        self.min_bandwidth = float(min_bandwidth)
        self.min_points = min_points
        self.cycle = bracket_sizes(n_levels, self.eta, n_configs, self.n_brackets)
        #: every bracket opened so far, in order
        self.brackets_: list[dict] = []
        #: indices of the brackets not known to be done, oldest first
        self._open: list[int] = []
        #: canonical key -> arch of every arch a bracket holds
        self._archs: dict[str, Any] = {}
        #: canonical key -> index of its bracket in brackets_
        self._where: dict[str, int] = {}
        #: canonical keys of archs proposed or told at any fidelity (never a first rung again)
        self._touched: set[str] = set()
        self._exhausted = False
        #: model sampler: level index -> (choice codes, signed values) of complete results
        self._obs: dict[int, tuple[list, list]] = {}
        self._init_transient()

    def _init_transient(self) -> None:
        self._fids = [Fidelity(epochs=e) for e in self.levels[:-1]] + [FULL]
        self._choice_sizes = (np.array([len(c) for c in self.space.choices()])
                              if self.space.has_choices else None)

    # -- levels ---------------------------------------------------------------------------------
    @property
    def fidelities(self) -> list[Fidelity]:
        """The level of each index as a proposal's fidelity (the last is ``FULL``)."""
        return list(self._fids)

    def level_of(self, fidelity: Fidelity) -> int | None:
        """Index of ``fidelity`` among the levels (``FULL`` and ``Fidelity(epochs=levels[-1])``
        are the last one); ``None`` for a fidelity that is not a level."""
        if fidelity.is_full:
            return len(self.levels) - 1
        if fidelity == Fidelity(epochs=fidelity.epochs) and fidelity.epochs in self.levels:
            return self.levels.index(fidelity.epochs)
        return None

    # -- brackets -------------------------------------------------------------------------------
    def _open_bracket(self) -> dict:
        sizes = list(self.cycle[len(self.brackets_) % len(self.cycle)])
        s = len(sizes) - 1
        b = {"s": s, "start": len(self.levels) - 1 - s, "sizes": sizes, "rung": 0, "queue": [],
             "issued": 0, "waiting": set(), "values": [{} for _ in sizes], "done": False}
        self.brackets_.append(b)
        self._open.append(len(self.brackets_) - 1)
        return b

    def _take(self, i: int, b: dict):
        """The next proposal of open bracket ``b`` (index ``i``), or ``None``."""
        r = b["rung"]
        fid = self._fids[b["start"] + r]
        if r == 0:
            if b["issued"] >= b["sizes"][0]:
                return None
            arch = self._first_rung_arch()
            if arch is None:  # no fresh arch left: this rung is what it has
                self._exhausted = True
                self._shrink(i, b)
                return None
            k = self.key(arch)
            self._touched.add(k)
            self._archs[k] = arch
            self._where[k] = i
        else:
            if not b["queue"]:
                return None
            k = b["queue"].pop(0)
            arch = self._archs[k]
        b["issued"] += 1
        b["waiting"].add(k)
        return (arch, fid)

    def _shrink(self, i: int, b: dict) -> None:
        n = b["issued"]
        if n == 0:
            b["done"] = True
            return
        b["sizes"] = [min(size, max(1, math.floor(n * self.eta ** -j + 1e-9))) for j, size in enumerate(b["sizes"])]
        b["sizes"][0] = n
        self._advance(i, b)

    def _advance(self, i: int, b: dict) -> None:
        """Promote when the current rung is complete (repeatedly: promoted pairs already
        known are answered from the history)."""
        while not b["done"] and not b["waiting"] and not b["queue"] and b["issued"] >= b["sizes"][b["rung"]]:
            r = b["rung"]
            if r == len(b["sizes"]) - 1:
                b["done"] = True
                return
            vals = b["values"][r]
            ranked = sorted((k for k, v in vals.items() if v is not None), key=lambda k: -vals[k])
            top = ranked[: b["sizes"][r + 1]]  # ties keep arrival order (sorted is stable)
            if not top:
                b["done"] = True
                return
            b["rung"], b["issued"], b["queue"] = r + 1, 0, []
            b["sizes"][r + 1] = len(top)
            fid = self._fids[b["start"] + r + 1]
            for k in top:
                known = self._known(k, fid)
                if known is None:
                    b["queue"].append(k)
                else:  # already evaluated at this level (told by hand): never run it again
                    b["issued"] += 1
                    b["values"][r + 1][k] = known[0]

    def _known(self, k: str, fid: Fidelity):
        """``(signed value or None,)`` of an (arch, level) pair already in the history."""
        if self.trial_key(self._archs[k], fid) not in self._seen:
            return None
        lv = self.level_of(fid)
        for a, r in reversed(self.history):
            if self.key(a) == k and self.level_of(r.fidelity) == lv:
                v = self.signed(r)
                return (None if v is None else float(v[0]),)
        return (None,)

    # -- proposals ------------------------------------------------------------------------------
    def _propose(self, n: int) -> list:
        from .base import Proposal
        out = []
        while len(out) < n:
            got = None
            self._open = [i for i in self._open if not self.brackets_[i]["done"]]
            for i in self._open:
                got = self._take(i, self.brackets_[i])
                if got is not None:
                    break
            if got is not None:
                out.append(Proposal(*got))
                continue
            if self._exhausted:
                break
            self._open_bracket()
        return out

    def sample_new(self, n: int, max_tries: int = 10000) -> list:
        """Always empty: every proposal belongs to a bracket, so the base class never tops up
        a short :meth:`ask` with full-fidelity evaluations (first rungs draw fresh archs
        themselves)."""
        return []

    def _fresh(self, max_tries: int = 2000):
        """A uniformly drawn arch never proposed or told at any fidelity, or ``None``."""
        for _ in range(max_tries):
            a = self.space.sample(self.rng)
            if self.key(a) not in self._touched and self.is_new(a):
                return a
        if self.space.finite:  # nearly exhausted: draw among what is left
            left = {}
            for a in self.space.enumerate():
                k = self.key(a)
                if k not in self._touched and k not in left and self.is_new(a):
                    left[k] = a
            if left:
                keys = sorted(left)
                return left[keys[int(self.rng.integers(len(keys)))]]
        return None

    def _first_rung_arch(self):
        if self.sampler == "model" and self.rng.random() >= self.random_fraction:
            a = self._model_arch()
            if a is not None:
                return a
        return self._fresh()

    # -- BOHB's density model ---------------------------------------------------------------------
    def _model_data(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Choice codes and signed values at the highest level with enough complete results."""
        d = len(self._choice_sizes)
        need = (d + 1 if self.min_points is None else self.min_points) + 2
        for lv in sorted(self._obs, reverse=True):
            xs, ys = self._obs[lv]
            if len(ys) >= need:
                return np.array(xs, dtype=int), np.array(ys)
        return None

    def _bandwidths(self, x: np.ndarray) -> np.ndarray:
        """Per-choice Aitchison-Aitken bandwidths ``(c - 1) / c * n**(-1 / (4 + d))`` (see the
        module docstring), at least ``min_bandwidth``."""
        n, d = x.shape
        c = self._choice_sizes
        return np.maximum((c - 1) / c * n ** (-1.0 / (4 + d)), self.min_bandwidth)

    def _log_density(self, cand: np.ndarray, centres: np.ndarray, bw: np.ndarray) -> np.ndarray:
        c = self._choice_sizes
        log_same = np.log1p(-np.minimum(bw, 1 - 1e-12))
        log_other = np.log(bw) - np.log(np.maximum(c - 1, 1))
        eq = cand[:, None, :] == centres[None, :, :]
        logk = np.where(eq, log_same, log_other).sum(axis=2)  # (n_cand, n_centres)
        m = logk.max(axis=1, keepdims=True)
        return (m[:, 0] + np.log(np.exp(logk - m).sum(axis=1))) - math.log(len(centres))

    def _model_arch(self):
        """BOHB's proposal: the best fresh draw by ``l(x) / g(x)``, or ``None``."""
        got = self._model_data()
        if got is None:
            return None
        x, y = got
        d = x.shape[1]
        m = d + 1 if self.min_points is None else self.min_points
        order = np.argsort(-y, kind="stable")
        n_good = max(m, int(self.good_fraction * len(y)))
        n_bad = max(m, len(y) - n_good)
        good, bad = x[order[:n_good]], x[order[-n_bad:]]
        bw_good, bw_bad = self._bandwidths(good), self._bandwidths(bad)
        c = self._choice_sizes
        centres = good[self.rng.integers(len(good), size=self.n_samples)]
        widened = np.minimum(bw_good * self.bandwidth_factor, 1.0)
        resample = self.rng.random(centres.shape) < widened
        uniform = (self.rng.random(centres.shape) * c).astype(int)
        cand = np.where(resample, uniform, centres)
        score = self._log_density(cand, good, bw_good) - self._log_density(cand, bad, bw_bad)
        for j in np.argsort(-score, kind="stable"):
            a = self.space.from_choices(cand[j])
            if a is not None and self.key(a) not in self._touched and self.is_new(a):
                return a
        return None

    # -- results ----------------------------------------------------------------------------------
    def _update(self, pairs: list[tuple[Any, Result]]) -> None:
        for arch, result in pairs:
            k = self.key(arch)
            self._touched.add(k)
            lv = self.level_of(result.fidelity)
            v = self.signed(result)
            if self.sampler == "model" and lv is not None and v is not None:
                xs, ys = self._obs.setdefault(lv, ([], []))
                xs.append(self.space.to_choices(arch))
                ys.append(float(v[0]))
            i = self._where.get(k)
            if i is None:
                continue  # not a bracket's (told by hand)
            b = self.brackets_[i]
            if k not in b["waiting"] or (result.ok and lv is not None and lv != b["start"] + b["rung"]):
                continue
            b["waiting"].discard(k)
            b["values"][b["rung"]][k] = None if v is None else float(v[0])
            self._advance(i, b)

    def load_state_dict(self, state, *, finished=None, pending=None) -> None:
        super().load_state_dict(state, finished=finished, pending=pending)
        self._init_transient()

    def progress_text(self) -> str:
        text = super().progress_text()
        open_ = sum(not b["done"] for b in self.brackets_)
        return f"{text} brackets {len(self.brackets_)} ({open_} open)".strip()


class SuccessiveHalving(Hyperband):
    """Successive halving (Jamieson & Talwalkar, 2016): Hyperband's most exploratory bracket,
    repeated.  ``n_configs`` new archs at the cheapest level, the best ``1/eta`` promoted
    level by level (see :class:`Hyperband` for the parameters; ``brackets`` is 1)."""

    def __init__(self, space, target="accuracy", direction=None, seed: int = 0, **params):
        if params.get("brackets", 1) != 1:
            raise ValueError("successive halving has one bracket; use the 'hyperband' strategy for more")
        params["brackets"] = 1
        super().__init__(space, target=target, direction=direction, seed=seed, **params)


class BOHB(Hyperband):
    """BOHB (Falkner, Klein & Hutter, ICML 2018): Hyperband whose first rungs are drawn from
    a TPE-style density model (``sampler="model"``; see :class:`Hyperband`)."""

    def __init__(self, space, target="accuracy", direction=None, seed: int = 0, **params):
        params.setdefault("sampler", "model")
        super().__init__(space, target=target, direction=direction, seed=seed, **params)


def _check_levels(fidelities, who: str) -> tuple[int, ...]:
    if fidelities is not None and hasattr(fidelities, "epochs") and not isinstance(fidelities, Fidelity):
        fidelities = fidelities.epochs  # an evaluator's FidelitySpace
    hint = ("give the evaluator's epoch levels, ascending, the full one last: fidelities=(12, 200) "
            "for nb201_mf(), or fidelities=evaluator.fidelities")
    if fidelities is None:
        raise ValueError(f"{who} needs fidelities: {hint}")
    try:
        levels = tuple(fidelities)
    except TypeError:
        raise ValueError(f"{who}: fidelities must be a sequence of epoch counts, got {fidelities!r}; {hint}") from None
    if not levels or any(isinstance(e, bool) or not isinstance(e, (int, np.integer)) or e < 1 for e in levels):
        raise ValueError(f"{who}: fidelities must be positive int epoch counts, got {fidelities!r}; {hint}")
    levels = tuple(int(e) for e in levels)
    if list(levels) != sorted(set(levels)):
        raise ValueError(f"{who}: fidelities must be distinct and ascending, got {levels!r}; {hint}")
    return levels
