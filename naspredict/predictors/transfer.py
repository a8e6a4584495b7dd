"""Transfer predictors: any predictor helped by measurements of the same archs on a related task.

A *source* is a related measurement of (some of) the same architectures: another data set of
the same benchmark (NAS-Bench-Graph's citeseer for cora), another training schedule or data set
(NB201 CIFAR-10 after 200 epochs for ImageNet16-120 after 12), or a predictor already fitted on
such data.  :class:`TransferPredictor` wraps any naspredict predictor (the *base*) and uses the
sources in one of three ways (``mode``):

``"residual"`` (default, any base)
    On the target rows, ``t = RankGauss(y)`` (normal scores of the target's ranks) is regressed
    linearly on the sources' normal scores ``s``: ``t ~ a + s b``; the base is fitted to the
    residual ``t - a - s b`` on the arch alone, and a prediction is ``a + s b + w r(arch)``,
    mapped back to target units.  The residual weight ``w`` is chosen by cross-validation on the
    target rows (``shrink="cv"``: the ``w`` in ``shrink_grid`` with the best out-of-fold Kendall
    tau) or fixed (a number).  This is a stacking of "source only" (``w = 0``) and "source plus
    a model of what the source gets wrong" (``w = 1``).  Ordering by the source alone is what a
    user without labels would do; the linear map on normal scores costs two parameters, so it
    is safe at 20 labels, and the base only has to learn the (smaller) disagreement.
``"feature"`` (bases with an ``encoding`` parameter: rf, xgb, gp, mlp-ensemble; and ensemble)
    The sources' normal scores become extra encoding columns (a :class:`SourceEncoding` joined
    to the base's encoding by :class:`~naspredict.encodings.ConcatEncoding`); the base is fitted
    on the target rows as usual.  With an ``ensemble`` base every member that has an encoding
    gets the columns and a member that cannot take them (the additive GP) is fitted in residual
    mode over the same sources.
``"residual+feature"``
    Residual mode whose base also sees the source columns (so it can model a non-linear link).
``"finetune"`` (neural bases: gcn, mlp-ensemble)
    The base is first fitted on the source rows (at most ``max_source_rows`` of them, drawn with
    the predictor's seed), then trained further on the target rows from those weights with a
    smaller learning rate (``finetune_lr``) for a fraction of its usual steps
    (``finetune_steps``).  Uses the first source.

Where the sources come from: ``source=`` (a benchmark table and metric, ``"nbgraph-citeseer:valid_perf"``,
a ``(Benchmark, metric)`` pair, a fitted predictor, or a list of these), and/or the rows of
``fit`` whose ``task`` label is not the target's (``fit(archs, y, task=labels)``, the
predictor-input contract: the other tasks' rows are auxiliary data, one source per label).  A
source's value for an arch is looked up where the source measured it (the mean over repeated
rows); for archs the source lacks, a ``source_model`` fitted on the source's rows predicts it
(only built when the source does not cover the whole space).

Measured with ``benchmarks/transfer.py`` (Kendall tau on every remaining arch of the target;
numbers and seed counts in ``benchmarks/results/transfer.md``), on the issue's two pairs (cora
<- citeseer; NB201 ImageNet16-120 12-epoch <- CIFAR-10 200-epoch):

- With an RF base, residual mode ranks better than "RF + source value" (feature mode), most at
  n = 20, where the RF with a source column ranks below the source alone.
- An ``ensemble`` base in feature mode (``base="ensemble", mode="feature"``) is the best at
  n = 50 and 100: NB201 0.602 / 0.700 / 0.750 at n = 20 / 50 / 100 (10 seeds; the target-only
  ensemble 0.404 / 0.577 / 0.655, the source alone 0.588); cora 0.296 / 0.410 / 0.478
  (10 seeds; residual RF 0.305 / 0.401 / 0.450 over 8, the source alone 0.360).
  Its fits cost 5-10x the RF's.
- At n = 20 nothing tried beats the source alone by much (the issue asks for 0.64 on NB201 and
  0.41 on cora there).  Known weakness: with 20 labels the fitted slope on the source can come
  out negative when the sample happens to be anti-correlated with the source (cora, seed 5:
  tau -0.10 against 0.36 for the source alone); the cross-validated weight cannot see that.
  ``benchmarks/results/transfer_bounds.md`` says why n = 20 is hard: the best one-feature
  linear correction of the source, its weight chosen on *all* target labels, reaches only
  0.387 (cora) and 0.611 (NB201); a residual RF on 6,000 target labels reaches 0.589 / 0.832.
- Several sources (a list): one linear weight each, shrunk towards a common weight (see
  :func:`_linear`).  A second data set helps most with few labels: citeseer + pubmed rank cora
  at 0.407 with no cora label at all.
"""
from __future__ import annotations

import copy
from typing import Any, Sequence

import numpy as np
from sklearn.base import clone

from ..encodings import ConcatEncoding
from ..encodings.base import Encoding
from .base import Predictor
from .transforms import RankGauss

MODES = ("residual", "feature", "residual+feature", "finetune")
#: bases whose warm start ``mode="finetune"`` knows (class name -> how to continue training)
_FINETUNE = ("GCNPredictor", "MLPEnsemblePredictor")


# -- sources --------------------------------------------------------------------------------------
class _Source:
    """One source: known values by arch, their normal-score map, and a model for the rest.

    ``scores(archs)`` returns normal scores ``(n,)``; ``values(archs)`` the source's own units.
    """

    def __init__(self, label: str, known: dict, model: Predictor | None = None,
                 predictor: Predictor | None = None):
        self.label = label
        self.known = known
        self.model = model
        self.predictor = predictor
        ref = (np.fromiter(known.values(), float, len(known)) if known else np.zeros(0))
        self.scaler = RankGauss(ref) if len(ref) >= 2 else None

    def values(self, archs: Sequence[Any]) -> np.ndarray:
        if self.predictor is not None:
            return np.asarray(self.predictor.predict(list(archs)), float)
        out = np.array([self.known.get(a, np.nan) for a in archs], float)
        missing = np.isnan(out)
        if missing.any():
            if self.model is None:  # pragma: no cover - guarded by _needs_model
                raise ValueError(f"source {self.label!r} has no value for {int(missing.sum())} "
                                 f"arch(s) and no source model")
            out[missing] = self.model.predict([a for a, m in zip(archs, missing) if m])
        return out

    def fit_scaler(self, reference: np.ndarray) -> None:
        """For predictor sources: normal scores relative to the predictions at ``reference``."""
        if self.scaler is None:
            self.scaler = RankGauss(np.asarray(reference, float))

    def scores(self, archs: Sequence[Any]) -> np.ndarray:
        return self.scaler.forward(self.values(archs))


def _known_values(archs: Sequence[Any], values: np.ndarray) -> dict:
    """Arch -> mean of its finite values (repeated rows merged)."""
    sums: dict = {}
    for a, v in zip(archs, values):
        if np.isfinite(v):
            s = sums.setdefault(a, [0.0, 0])
            s[0] += float(v)
            s[1] += 1
    return {a: s / c for a, (s, c) in sums.items()}


def _covers(space, known: dict) -> bool:
    try:
        return bool(space.finite) and len(known) >= len(space)
    except TypeError:
        return False


def parse_source(text: str):
    """``"BENCH:METRIC"`` -> ``(Benchmark, metric)`` via :func:`naspredict.data.load`.

    Raises
    ------
    ValueError : no ``:METRIC`` part, an unknown table or metric.
    """
    from .. import data
    if not isinstance(text, str) or ":" not in text:
        raise ValueError(f"a source string is 'BENCH:METRIC' (e.g. 'nbgraph-citeseer:valid_perf'), "
                         f"got {text!r}")
    name, metric = text.split(":", 1)
    bench = data.load(name)
    bench._check_metric(metric)
    return bench, metric


class SourceEncoding(Encoding):
    """Normal scores of source values as encoding columns, for :class:`TransferPredictor`'s
    ``"feature"`` modes.

    Parameters
    ----------
    space : the search space.
    sources : fitted ``_Source`` objects (one column each); built by the transfer predictor.

    ``transform(archs)`` gives ``(len(archs), len(sources))`` float32.  Rows are not cached
    (the values depend on the sources, not only on the arch).
    """

    def __init__(self, space="nb201", sources: tuple = ()):
        super().__init__(space)
        self.sources = sources

    @property
    def width(self) -> int:
        return len(self.sources)

    @property
    def feature_names(self) -> list[str]:
        return [f"source[{s.label}]" for s in self.sources]

    def transform(self, archs: Sequence[Any]) -> np.ndarray:
        self._check(archs)
        return np.stack([s.scores(archs) for s in self.sources], 1).astype(np.float32)


# -- the predictor ----------------------------------------------------------------------------------
class TransferPredictor(Predictor):
    """Any predictor plus related measurements of the same architectures (see the module text).

    Parameters
    ----------
    space, random_state : see :class:`~naspredict.predictors.base.Predictor`.
    base : the wrapped predictor: a registry name (built with :func:`naspredict.predictors.make`)
        or an instance (cloned; its ``space`` and ``random_state`` set to this predictor's).
    source : ``None``, a ``"BENCH:METRIC"`` string, a ``(Benchmark, metric)`` pair, a fitted
        predictor (its predictions are the source values), or a list of these.  ``None`` needs
        ``fit(..., task=...)`` rows of another task.
    mode : ``"residual"`` (default), ``"feature"``, ``"residual+feature"`` or ``"finetune"``.
    target_task : with ``fit(..., task=...)``, the label of the task to predict; the rows of
        every other label are sources.  ``None``: the label with the fewest rows.
    shrink : residual weight ``w`` (``"residual"`` modes): ``"cv"`` (default) picks it from
        ``shrink_grid`` by out-of-fold Kendall tau over ``cv_folds`` folds of the target rows;
        a number in ``[0, 1]`` fixes it.
    shrink_grid : candidate weights for ``shrink="cv"`` (default ``(0, 0.25, 0.5, 0.75, 1)``).
    cv_folds : folds for ``shrink="cv"`` (each fold refits the base: ``cv_folds`` extra fits).
    source_model : predictor (name or instance) fitted on a source's rows to give its value for
        archs it did not measure; built only when a source does not cover the whole space.
    max_source_rows : ``"finetune"``: at most this many source rows pre-train the base.
    finetune_lr : ``"finetune"``: learning-rate factor for the target phase.
    finetune_steps : ``"finetune"``: fraction of the base's usual training length on the target.

    ``fit(archs, y, task=None)``; ``predict(archs, return_std=False, task=None)``: with ``task``,
    rows labelled with the target task get the transfer prediction and rows labelled with a
    source task get that source's value (looked up, or its source model's prediction).
    ``return_std`` is available when the base has it (not in ``"finetune"`` mode): in the
    residual modes the std of ``w * r`` plus ``(1 - w)`` times the residual's spread on the
    target rows, mapped back to target units.

    Raises
    ------
    ValueError : no source at all, an unknown ``mode``, ``"feature"`` with a base that has no
        ``encoding``, ``"finetune"`` with a base it cannot warm-start, a ``target_task`` not
        among the fit labels, predict with a task label ``fit`` never saw.
    """

    context_inputs = frozenset({"task"})
    min_train = 3

    def __init__(self, space="nb201", base="rf", source=None, mode: str = "residual",
                 target_task=None, shrink: float | str = "cv",
                 shrink_grid: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0), cv_folds: int = 5,
                 source_model="rf", max_source_rows: int = 2000, finetune_lr: float = 0.3,
                 finetune_steps: float = 0.5, random_state: int | None = 0):
        super().__init__(space, random_state)
        self.base = base
        self.source = source
        self.mode = mode
        self.target_task = target_task
        self.shrink = shrink
        self.shrink_grid = shrink_grid
        self.cv_folds = cv_folds
        self.source_model = source_model
        self.max_source_rows = max_source_rows
        self.finetune_lr = finetune_lr
        self.finetune_steps = finetune_steps

    # -- building blocks -----------------------------------------------------------------------
    def _make(self, spec, seed_offset: int = 0) -> Predictor:
        from . import make
        seed = None if self.random_state is None else int(self.random_state) + seed_offset
        if isinstance(spec, str):
            return make(spec, space=self.space, random_state=seed)
        if not isinstance(spec, Predictor):
            raise ValueError(f"base / source_model must be a predictor name or instance, got "
                             f"{type(spec).__name__}")
        return clone(spec).set_params(space=self.space, random_state=seed)

    @property
    def supports_std(self) -> bool:  # type: ignore[override]
        """The base's uncertainty, where the mode keeps it (not ``"finetune"``)."""
        if self.mode == "finetune":
            return False
        base = self.base
        if isinstance(base, str):
            from . import predictor_class
            try:
                cls = predictor_class(base)
            except ValueError:
                return False
            sup = cls.supports_std
            return sup if isinstance(sup, bool) else bool(self._make(base).supports_std)
        return bool(getattr(base, "supports_std", False))

    def _table_source(self, bench, metric: str, k: int) -> _Source:
        bench._check_metric(metric)
        known = _known_values(bench.archs, bench.values(metric))
        if len(known) < 2:
            raise ValueError(f"source {bench.name}:{metric} has fewer than 2 finite values")
        label = f"{bench.name}:{metric}"
        return self._with_model(label, known, k)

    def _with_model(self, label: str, known: dict, k: int) -> _Source:
        model = None
        if not _covers(self.space_, known):
            archs = list(known)
            model = self._make(self.source_model, 1000 + k).fit(archs, np.fromiter(known.values(), float))
        return _Source(label, known, model)

    def _sources(self, archs, y, task) -> tuple[list[_Source], np.ndarray]:
        """The sources (from ``source=`` and other-task rows) and the mask of target rows."""
        sources: list[_Source] = []
        specs = self.source
        if specs is None:
            specs = []
        elif isinstance(specs, (str, Predictor)) or (isinstance(specs, tuple) and len(specs) == 2
                                                      and isinstance(specs[1], str)):
            specs = [specs]
        for k, spec in enumerate(specs):
            if isinstance(spec, str):
                sources.append(self._table_source(*parse_source(spec), k))
            elif isinstance(spec, _Source):  # resolved already: an outer transfer predictor's
                sources.append(spec)          # (see _ensemble_with_sources)
            elif isinstance(spec, Predictor):
                if not hasattr(spec, "n_train_"):
                    raise ValueError("a predictor given as source must be fitted first")
                if getattr(spec, "context_fitted_", frozenset()):
                    raise ValueError("a source predictor fitted with context inputs (task=, "
                                     "fidelity=) cannot be asked per arch alone; give a table")
                sources.append(_Source(f"predictor:{type(spec).__name__}", {}, predictor=spec))
            elif isinstance(spec, tuple) and len(spec) == 2 and hasattr(spec[0], "archs"):
                sources.append(self._table_source(spec[0], spec[1], k))
            else:
                raise ValueError(f"source {k} is {spec!r}; give 'BENCH:METRIC', "
                                 f"(Benchmark, metric) or a fitted predictor")
        target = np.ones(len(y), bool)
        self.tasks_: list = []
        if task is not None:
            labels = list(dict.fromkeys(task.tolist()))
            counts = {t: int(np.sum(task == t)) for t in labels}
            tgt = self.target_task
            if tgt is None:
                tgt = min(labels, key=lambda t: counts[t])
            elif tgt not in counts:
                raise ValueError(f"target_task {tgt!r} is not among the fit task labels {labels}")
            self.target_label_ = tgt
            target = task == tgt
            for k, lab in enumerate(t for t in labels if t != tgt):
                rows = np.nonzero(task == lab)[0]
                known = _known_values([archs[i] for i in rows], y[rows])
                if len(known) < 2:
                    raise ValueError(f"task {lab!r} has fewer than 2 rows; a source task needs more")
                sources.append(self._with_model(f"task:{lab}", known, 100 + k))
            self.tasks_ = labels
        if not sources:
            raise ValueError("TransferPredictor needs a source: pass source='BENCH:METRIC' (or a "
                             "fitted predictor), or fit with task= labels where rows of another "
                             "task are the source")
        if int(target.sum()) < self.min_train:
            raise ValueError(f"only {int(target.sum())} rows of the target task; need at least "
                             f"{self.min_train}")
        return sources, target

    # -- fit ---------------------------------------------------------------------------------------
    def _fit(self, archs, y, task=None):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        self.sources_, mask = self._sources(archs, y, task)
        archs_t = [a for a, m in zip(archs, mask) if m]
        y_t = y[mask]
        for s in self.sources_:
            s.fit_scaler(s.values(archs_t))
        if self.mode == "finetune":
            self._fit_finetune(archs_t, y_t)
            return
        self.scaler_ = RankGauss(y_t)
        t = self.scaler_.forward(y_t)
        S = self._S(archs_t)
        if self.mode == "feature":
            self.coef_ = None
            self.model_ = self._base_with_sources().fit(archs_t, y_t)
            self.w_ = 1.0
            return
        self.coef_ = _linear(S, t)
        r = t - _apply(self.coef_, S)
        self.resid_scale_ = float(np.std(r)) or 1.0
        self.w_ = self._choose_w(archs_t, S, t)
        self.model_ = self._residual_base().fit(archs_t, r) if self.w_ > 0 else None

    def _S(self, archs) -> np.ndarray:
        return np.stack([s.scores(archs) for s in self.sources_], 1)

    def _base_with_sources(self) -> Predictor:
        """The base with the source columns joined to its encoding; for an ensemble base, each
        member that has an encoding gets them and each that cannot (an additive GP) models the
        residual after the sources (:meth:`_ensemble_with_sources`)."""
        from .ensemble import EnsemblePredictor
        base = self._make(self.base)
        if isinstance(base, EnsemblePredictor):
            return self._ensemble_with_sources(base)
        return self._join_sources(base, check=True)

    def _join_sources(self, base: Predictor, check: bool) -> Predictor | None:
        """``base`` with :class:`SourceEncoding` appended to its encoding; ``None`` (or, with
        ``check``, ValueError) when it has no encoding or is an additive GP."""
        params = base.get_params(deep=False)
        if "encoding" not in params:
            if not check:
                return None
            import inspect

            from . import names, predictor_class
            takers = [n for n in names()
                      if "encoding" in inspect.signature(predictor_class(n).__init__).parameters]
            raise ValueError(f"mode={self.mode!r} appends source columns to the base's encoding, "
                             f"but {type(base).__name__} has none; use mode='residual' (any base) "
                             f"or a base with an encoding: {', '.join(takers)}, or ensemble")
        if params.get("additive"):
            if not check:
                return None
            raise ValueError("mode='feature' cannot join source columns to an additive GP's parts; "
                             "use additive=False or mode='residual'")
        enc = params["encoding"]
        parts = tuple(enc.split("+")) if isinstance(enc, str) else (enc,)
        sp = self.space
        return base.set_params(encoding=ConcatEncoding(sp, parts + (SourceEncoding(sp, tuple(self.sources_)),)))

    def _ensemble_with_sources(self, ens) -> Predictor:
        """An ensemble base in the feature modes: the members that take an encoding get the
        source columns; the others (an additive GP, whose parts cannot take one more column)
        become residual-mode transfer predictors over the same sources.  On the NB201 pair of
        ``benchmarks/transfer.py`` this beat both the ensemble in residual mode and the
        feature-mode RF and GP at 50 and 100 target labels (``results/transfer.md``)."""
        members = []
        for member in ens._build(0):
            joined = self._join_sources(member, check=False)
            if joined is None:
                joined = TransferPredictor(
                    self.space, base=member, source=list(self.sources_),
                    mode="residual", shrink=self.shrink, shrink_grid=self.shrink_grid,
                    cv_folds=self.cv_folds, random_state=self.random_state)
            members.append(joined)
        return ens.set_params(members=members)

    def _residual_base(self) -> Predictor:
        return self._base_with_sources() if self.mode == "residual+feature" else self._make(self.base)

    def _choose_w(self, archs, S, t) -> float:
        if self.shrink != "cv":
            w = float(self.shrink)
            if not 0.0 <= w <= 1.0:
                raise ValueError(f"shrink must be 'cv' or a number in [0, 1], got {self.shrink!r}")
            return w
        from scipy.stats import kendalltau
        grid = np.asarray(self.shrink_grid, float)
        if grid.size == 0 or (grid < 0).any() or (grid > 1).any():
            raise ValueError("shrink_grid must hold weights in [0, 1]")
        k = int(self.cv_folds)
        if k < 2:
            raise ValueError(f"cv_folds must be >= 2, got {self.cv_folds!r}")
        n = len(t)
        k = min(k, n // 2)
        if k < 2:
            return float(grid.max())
        order = self._rng().permutation(n)
        lin, res = np.zeros(n), np.zeros(n)
        for j, test in enumerate(np.array_split(order, k)):
            train = np.setdiff1d(order, test)
            coef = _linear(S[train], t[train])
            r = t[train] - _apply(coef, S[train])
            lin[test] = _apply(coef, S[test])
            m = self._residual_base().set_params(random_state=None if self.random_state is None
                                                 else int(self.random_state) + 7 + j)
            m.fit([archs[i] for i in train], r)
            res[test] = m.predict([archs[i] for i in test])
        scores = [kendalltau(t, lin + w * res).statistic for w in grid]
        scores = np.nan_to_num(np.asarray(scores, float), nan=-1.0)
        self.cv_scores_ = dict(zip(grid.tolist(), scores.tolist()))
        best = scores.max()
        return float(grid[np.nonzero(scores >= best - 1e-12)[0].max()])  # ties: the larger w

    # -- finetune ---------------------------------------------------------------------------------
    def _fit_finetune(self, archs_t, y_t) -> None:
        base = self._make(self.base)
        name = type(base).__name__
        if name not in _FINETUNE:
            raise ValueError(f"mode='finetune' warm-starts gcn or mlp-ensemble, not {name}; use "
                             f"mode='residual' for other bases")
        src = self.sources_[0]
        if src.predictor is not None:
            raise ValueError("mode='finetune' pre-trains on a source's rows; give a table or task "
                             "rows, not a predictor")
        pool = list(src.known)
        rng = self._rng()
        if len(pool) > int(self.max_source_rows):
            pool = [pool[i] for i in np.sort(rng.choice(len(pool), int(self.max_source_rows), replace=False))]
        pre = self._make(self.base, 500).fit(pool, np.array([src.known[a] for a in pool]))
        self.pretrained_ = pre
        self.model_ = _finetune(base, pre, archs_t, y_t, float(self.finetune_lr),
                                float(self.finetune_steps))
        self.coef_ = None
        self.w_ = 1.0

    # -- predict ------------------------------------------------------------------------------------
    def _predict(self, archs, return_std=False, task=None):
        if task is None:
            return self._predict_target(archs, return_std)
        mean = np.zeros(len(archs))
        std = np.zeros(len(archs))
        by_label = {s.label: s for s in self.sources_}
        for lab in dict.fromkeys(task.tolist()):
            rows = np.nonzero(task == lab)[0]
            sub = [archs[i] for i in rows]
            if lab == self.target_label_:
                out = self._predict_target(sub, return_std)
                if return_std:
                    mean[rows], std[rows] = out
                else:
                    mean[rows] = out
            elif f"task:{lab}" in by_label:
                mean[rows] = by_label[f"task:{lab}"].values(sub)
            else:
                raise ValueError(f"task {lab!r} was not in fit (tasks: {self.tasks_}); ask for the "
                                 f"target {self.target_label_!r} or a source task")
        return (mean, std) if return_std else mean

    def _predict_target(self, archs, return_std):
        if self.mode == "finetune":
            return self.model_.predict(archs)
        if self.mode == "feature":
            return self.model_.predict(archs, return_std=return_std) if return_std else self.model_.predict(archs)
        S = self._S(archs)
        z = _apply(self.coef_, S)
        sd = np.full(len(archs), self.resid_scale_)
        if self.model_ is not None:
            if return_std:
                r, rs = self.model_.predict(archs, return_std=True)
                sd = self.w_ * rs + (1.0 - self.w_) * self.resid_scale_
            else:
                r = self.model_.predict(archs)
            z = z + self.w_ * r
        return self.scaler_.inverse(z, sd) if return_std else self.scaler_.inverse(z)


def _linear(S: np.ndarray, t: np.ndarray, ridge: float = 1e-3, spread: float = 5.0) -> np.ndarray:
    """Least squares ``t ~ a + S b``; returns ``[a, b...]``.

    ``b = c + d`` with a common weight ``c`` (tiny ridge ``ridge``) and per-source deviations
    ``d`` (ridge ``spread``, both scaled by the row count): the sources are normal scores, so
    "weigh them equally" is the prior, and a few labels only move the weights apart when they
    insist.  One source: plain least squares.  Why: with citeseer and pubmed for cora, free
    weights fitted on 20-25 labels ranked worse than either the equal-weight sum or citeseer
    alone (tests/test_transfer.py, ``benchmarks/transfer.py --pairs cora+pubmed``).
    """
    n, k = S.shape
    if k > 1:  # columns [1, sum(S), S]: intercept, common weight, deviations
        A = np.hstack([np.ones((n, 1)), S.sum(1, keepdims=True), S])
        reg = np.diag([0.0, ridge] + [spread] * k) * n
        sol = np.linalg.solve(A.T @ A + reg, A.T @ t)
        return np.r_[sol[0], sol[1] + sol[2:]]
    A = np.hstack([np.ones((n, 1)), S])
    reg = ridge * n * np.eye(k + 1)
    reg[0, 0] = 0.0
    return np.linalg.solve(A.T @ A + reg, A.T @ t)


def _apply(coef: np.ndarray, S: np.ndarray) -> np.ndarray:
    return coef[0] + S @ coef[1:]


def _finetune(base: Predictor, pre: Predictor, archs, y, lr_scale: float, frac: float) -> Predictor:
    """``base`` (unfitted, same parameters as the fitted ``pre``) trained on ``(archs, y)`` from
    ``pre``'s weights: the target's own target scaler, ``lr_scale`` times the learning rate and
    ``frac`` of the usual number of steps / epochs."""
    import torch

    from .base import Standardizer
    from .transforms import target_scaler
    name = type(base).__name__
    if not (0 < frac and 0 < lr_scale):
        raise ValueError("finetune_lr and finetune_steps must be positive")
    if name == "GCNPredictor":
        base.scaler_ = target_scaler(base.target_transform, y)
        t = base.scaler_.forward(y)
        steps = max(1, int(round(frac * base._steps(len(t)))))
        base._train_net(base._graphs(archs), t, steps, net=copy.deepcopy(pre.net_), lr_scale=lr_scale)
    else:  # MLPEnsemblePredictor: continue each member with Adam, MAE loss as in its own fit
        base.scaler_ = Standardizer(y)
        X = base._X(archs)
        t = torch.as_tensor(base.scaler_.forward(y), dtype=torch.float32)
        gen = torch.Generator().manual_seed(base._torch_seed())
        epochs = max(1, int(round(frac * base.epochs)))
        members = []
        for net in pre.members_:
            net = copy.deepcopy(net).train()
            opt = torch.optim.Adam(net.parameters(), lr=base.lr * lr_scale, weight_decay=base.weight_decay)
            for _ in range(epochs):
                perm = torch.randperm(len(t), generator=gen)
                for s in range(0, len(t), base.batch_size):
                    idx = perm[s:s + base.batch_size]
                    opt.zero_grad()
                    (net(X[idx]).squeeze(-1) - t[idx]).abs().mean().backward()
                    opt.step()
            members.append(net.eval())
        base.members_ = members
    base.n_train_ = len(y)
    base.context_fitted_ = frozenset()
    return base
