"""Side-by-side ranking evaluation of predictors over a (predictor, train size, seed) grid."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from tqdm.auto import tqdm

from ..data import Benchmark
from ..metrics import ranking_metrics
from ..predictors import Predictor, make
from .splits import train_test_split

COLUMNS = ["predictor", "train_size", "seed", "kendall_tau", "spearman", "pearson", "mae", "rmse",
           "precision_top1", "precision_top5", "fit_seconds", "predict_seconds",
           "coverage_68", "coverage_95", "sources"]


@dataclass
class EvaluationResult:
    """``table``: one row per run (the tidy CSV).  ``predictions``: ``(predictor, size, seed)``
    -> ``(y_true, y_pred)`` for the runs with the first seed, for predicted-vs-true plots."""

    table: pd.DataFrame
    predictions: dict = field(default_factory=dict)

    def summary(self, metric: str = "kendall_tau") -> pd.DataFrame:
        """Mean of ``metric`` per predictor (rows) and train size (columns)."""
        return self.table.pivot_table(index="predictor", columns="train_size", values=metric, aggfunc="mean")


def _as_predictors(predictors, space) -> dict[str, Predictor]:
    if isinstance(predictors, Mapping):
        items = predictors.items()
    else:
        items = [(p if isinstance(p, str) else type(p).__name__, p) for p in predictors]
    out = {}
    for label, p in items:
        out[label] = make(p, space=space) if isinstance(p, str) else p
    if not out:
        raise ValueError("give at least one predictor")
    return out


def _source_rows(sources, space) -> tuple[list, np.ndarray, list, str]:
    """All rows of each ``(Benchmark, metric)`` source: archs, values, task labels, and the
    resume key (``"BENCH:METRIC+..."``, ``""`` without sources)."""
    archs, values, tasks, keys = [], [], [], []
    for k, item in enumerate(sources or ()):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Benchmark)):
            raise ValueError(f"source {k} must be a (Benchmark, metric) pair, got {item!r}")
        src, metric = item
        src._check_metric(metric)
        if src.space.name != space.name:
            raise ValueError(f"source {src.name} is in the {src.space.name} space, the target in "
                             f"{space.name}; a source must measure archs of the same space")
        rows = src.dropna(metric)
        label = f"{src.name}:{metric}"
        archs += list(rows.archs)
        values.append(rows.values(metric))
        tasks += [label] * len(rows)
        keys.append(label)
    vals = np.concatenate(values) if values else np.zeros(0)
    return archs, vals, tasks, "+".join(keys)


def evaluate(bench: Benchmark, target: str, predictors, train_sizes: Sequence[int] = (100,),
             seeds: Sequence[int] | int = 3, split: str = "uniform", test_size: int | None = None,
             out_csv: str | Path | None = None, progress: bool = True,
             sources: Sequence[tuple[Benchmark, str]] = ()) -> EvaluationResult:
    """Fit each predictor on ``train_size`` archs and score its ranking of the test archs.

    Parameters
    ----------
    bench : benchmark table or logged results; rows with a NaN/inf ``target`` are dropped and
        duplicate archs are merged (mean) first.
    target : metric to predict.  Lower-is-better metrics are negated for the precision@top sets.
    predictors : list of names / instances, or a ``{label: name or instance}`` dict.
    train_sizes, seeds : the grid (``seeds`` may be a count).  Seed ``s`` fixes the split and
        the predictor's ``random_state``.
    split : ``"uniform"`` or ``"mutation"``.
    test_size : ``None`` tests on every remaining arch; else a fixed-size random sample.
    out_csv : when given, each run is appended to this CSV as it completes, and runs already
        in it are skipped, so an interrupted evaluation resumes where it stopped.  The resume
        key is (predictor, train size, seed, sources).
    sources : ``(Benchmark, metric)`` pairs of related tasks (e.g. the same archs on another
        data set).  Every finite row of each becomes auxiliary training data of its own task:
        the predictors (which must accept ``task``, :func:`naspredict.predictors.accepting`)
        are fitted with ``task=`` labels (``"BENCH:METRIC"`` for a source row, ``"BENCH:TARGET"``
        for the target's training rows) and asked with the target's label.  A predictor with a
        ``target_task`` parameter left at ``None`` gets the target's label.  The rows of the
        table written to ``out_csv`` carry the sources in their ``sources`` column.

    Raises
    ------
    ValueError : an unknown metric or split, a train size that leaves no test rows, a source
        from another space, or ``sources`` with a predictor that does not take ``task``.
    """
    bench._check_metric(target)
    if len(set(bench.archs)) < len(bench.archs):
        bench = bench.aggregate()
    bench = bench.dropna(target)
    y_all = bench.values(target)
    sign = 1.0 if bench.higher_is_better[target] else -1.0
    preds = _as_predictors(predictors, bench.space)
    src_archs, src_y, src_tasks, src_key = _source_rows(sources, bench.space)
    target_label = f"{bench.name}:{target}"
    if src_key:
        refuse = [label for label, p in preds.items() if "task" not in p.context_inputs]
        if refuse:
            from ..predictors import accepting
            raise ValueError(f"--source / sources= feeds other tasks' rows through task=, which "
                             f"{', '.join(refuse)} do(es) not take; predictors that do: "
                             f"{', '.join(accepting('task'))}")
        if target_label in src_tasks:
            raise ValueError(f"the source {target_label} is the target itself; pick another "
                             f"table or metric")
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    done = _done_runs(out_csv, src_key)
    grid = [(label, n, s) for label in preds for n in train_sizes for s in seeds]
    rows, kept = [], {}
    bar = tqdm(grid, desc=f"evaluate {bench.name}:{target}", disable=not progress)
    for label, n, s in bar:
        bar.set_postfix_str(f"{label} n={n} seed={s}")
        if (label, int(n), int(s)) in done:
            continue
        rng = np.random.default_rng(s)
        train, test = train_test_split(bench, target, int(n), rng, split, test_size)
        model = clone(preds[label])
        if "random_state" in model.get_params():
            model.set_params(random_state=int(s))
        archs_tr = [bench.archs[i] for i in train]
        archs_te = [bench.archs[i] for i in test]
        ctx = {}
        if src_key:
            if model.get_params().get("target_task", 0) is None:
                model.set_params(target_task=target_label)
            archs_tr = archs_tr + src_archs
            y_tr = np.concatenate([y_all[train], src_y])
            fit_ctx = {"task": [target_label] * len(train) + src_tasks}
            ctx = {"task": target_label}
        else:
            y_tr, fit_ctx = y_all[train], {}
        t0 = time.perf_counter()
        model.fit(archs_tr, y_tr, **fit_ctx)
        t1 = time.perf_counter()
        if model.supports_std:
            mean, std = model.predict(archs_te, return_std=True, **ctx)
        else:
            mean, std = model.predict(archs_te, **ctx), None
        t2 = time.perf_counter()
        m = ranking_metrics(sign * y_all[test], sign * mean, std)
        row = {"predictor": label, "train_size": int(n), "seed": int(s), **m,
               "fit_seconds": t1 - t0, "predict_seconds": t2 - t1, "sources": src_key}
        rows.append(row)
        if out_csv is not None:
            _append(out_csv, row)
        if s == seeds[0]:
            kept[(label, int(n), int(s))] = (y_all[test].astype(np.float32), mean.astype(np.float32))
    table = pd.DataFrame(rows, columns=COLUMNS)
    if out_csv is not None and Path(out_csv).exists():
        table = _read(out_csv)
        table = table[table["sources"] == src_key]
    return EvaluationResult(table.reindex(columns=COLUMNS).reset_index(drop=True), kept)


def _read(out_csv) -> pd.DataFrame:
    """The results CSV with a ``sources`` column (``""`` for runs without sources, and for
    CSVs written before the column existed)."""
    df = pd.read_csv(out_csv)
    df["sources"] = ([("" if pd.isna(v) else str(v)) for v in df["sources"]]
                     if "sources" in df else "")
    return df


def _done_runs(out_csv, sources: str | None = None) -> set[tuple[str, int, int]]:
    """(predictor, train size, seed) of the runs in ``out_csv``; with ``sources`` (a resume key
    of :func:`evaluate`, ``""`` for none) only the runs made with exactly those sources."""
    if out_csv is None or not Path(out_csv).exists():
        return set()
    df = _read(out_csv)
    if sources is not None:
        df = df[df["sources"] == sources]
    return {(str(r.predictor), int(r.train_size), int(r.seed)) for r in df.itertuples()}


def _append(out_csv, row: dict) -> None:
    path = Path(out_csv)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and pd.read_csv(path, nrows=0).columns.tolist() != COLUMNS:
        _read(path).reindex(columns=COLUMNS).to_csv(path, index=False)  # an older layout
    frame = pd.DataFrame([row]).reindex(columns=COLUMNS)
    frame.to_csv(path, mode="a", header=not path.exists(), index=False)
