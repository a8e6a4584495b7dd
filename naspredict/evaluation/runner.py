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
           "coverage_68", "coverage_95"]


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


def evaluate(bench: Benchmark, target: str, predictors, train_sizes: Sequence[int] = (100,),
             seeds: Sequence[int] | int = 3, split: str = "uniform", test_size: int | None = None,
             out_csv: str | Path | None = None, progress: bool = True) -> EvaluationResult:
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
        in it are skipped, so an interrupted evaluation resumes where it stopped.
    """
    bench._check_metric(target)
    if len(set(bench.archs)) < len(bench.archs):
        bench = bench.aggregate()
    bench = bench.dropna(target)
    y_all = bench.values(target)
    sign = 1.0 if bench.higher_is_better[target] else -1.0
    preds = _as_predictors(predictors, bench.space)
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    done = _done_runs(out_csv)
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
        t0 = time.perf_counter()
        model.fit(archs_tr, y_all[train])
        t1 = time.perf_counter()
        if model.supports_std:
            mean, std = model.predict(archs_te, return_std=True)
        else:
            mean, std = model.predict(archs_te), None
        t2 = time.perf_counter()
        m = ranking_metrics(sign * y_all[test], sign * mean, std)
        row = {"predictor": label, "train_size": int(n), "seed": int(s), **m,
               "fit_seconds": t1 - t0, "predict_seconds": t2 - t1}
        rows.append(row)
        if out_csv is not None:
            _append(out_csv, row)
        if s == seeds[0]:
            kept[(label, int(n), int(s))] = (y_all[test].astype(np.float32), mean.astype(np.float32))
    table = pd.DataFrame(rows, columns=COLUMNS)
    if out_csv is not None and Path(out_csv).exists():
        table = pd.read_csv(out_csv)
    return EvaluationResult(table.reindex(columns=COLUMNS), kept)


def _done_runs(out_csv) -> set[tuple[str, int, int]]:
    if out_csv is None or not Path(out_csv).exists():
        return set()
    df = pd.read_csv(out_csv)
    return {(str(r.predictor), int(r.train_size), int(r.seed)) for r in df.itertuples()}


def _append(out_csv, row: dict) -> None:
    path = Path(out_csv)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame([row]).reindex(columns=COLUMNS)
    frame.to_csv(path, mode="a", header=not path.exists(), index=False)
