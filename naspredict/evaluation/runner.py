"""Side-by-side ranking evaluation of predictors over a (predictor, train size, seed) grid."""
from __future__ import annotations

import hashlib
import numbers
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
from .splits import SPLITS, train_test_split

#: what defines one evaluation file: a results CSV holds runs of one setting only, and a run
#: with another setting is refused (``data`` fingerprints the table's archs and target values)
SETTING_COLUMNS = ["data", "target", "split", "test_size"]
#: what tells the runs of one file apart: a run with a key already in the file is not repeated
RUN_KEY_COLUMNS = ["predictor", "params", "train_size", "seed", "sources"]
COLUMNS = ["predictor", "train_size", "seed", "kendall_tau", "spearman", "pearson", "mae", "rmse",
           "precision_top1", "precision_top5", "fit_seconds", "predict_seconds",
           "coverage_68", "coverage_95", "sources", "params", *SETTING_COLUMNS]


@dataclass
class EvaluationResult:
    """``table``: one row per run (the tidy CSV).  ``predictions``: ``(predictor, size, seed)``
    -> ``(y_true, y_pred)`` for the runs with the first seed, for predicted-vs-true plots."""

    table: pd.DataFrame
    predictions: dict = field(default_factory=dict)

    def summary(self, metric: str = "kendall_tau") -> pd.DataFrame:
        """Mean of ``metric`` per predictor (rows) and train size (columns).  A cell is NaN
        ("undefined") when any of its runs is: a rank correlation is undefined when the test
        values are all equal, and averaging only the defined runs would hide that."""
        return self.table.pivot_table(index="predictor", columns="train_size", values=metric,
                                      aggfunc=lambda v: v.mean(skipna=False), dropna=False)


def _as_predictors(predictors, space) -> dict[str, Predictor]:
    if isinstance(predictors, Mapping):
        items = predictors.items()
    else:
        items = [(p if isinstance(p, str) else type(p).__name__, p) for p in predictors]
    out = {}
    for label, p in items:
        if label in out:
            raise ValueError(f"predictor {label!r} is given twice; give each once (or a dict "
                             f"{{label: predictor}} with distinct labels)")
        out[label] = make(p, space=space) if isinstance(p, str) else p
    if not out:
        raise ValueError("give at least one predictor")
    return out


def _check_grid(train_sizes, seeds, test_size, n_rows: int) -> tuple[list[int], list[int], int | None]:
    """The grid as integer lists, refusing what would yield an empty or meaningless table."""
    def whole(v, what):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            if isinstance(v, numbers.Real) and float(v).is_integer():
                return int(v)
            raise ValueError(f"{what} must be whole numbers, got {v!r}; a fractional size is not "
                             f"rounded for you")
        return int(v)

    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ValueError(f"seeds={seeds} gives an empty grid; give a count >= 1 (--seeds 1) "
                             f"or a list of seeds")
        seeds = list(range(int(seeds)))
    seeds = [whole(s, "seeds") for s in seeds]
    if not seeds:
        raise ValueError("no seeds given: the grid is empty; give seeds=1 or more (--seeds 1)")
    if min(seeds) < 0 or len(set(seeds)) < len(seeds):
        raise ValueError(f"seeds must be distinct and >= 0, got {seeds}")
    sizes = [whole(n, "train sizes") for n in train_sizes]
    if not sizes:
        raise ValueError("no train sizes given: the grid is empty; give e.g. train_sizes=[50, 100] (--train-sizes 50,100)")
    if len(set(sizes)) < len(sizes):
        raise ValueError(f"train sizes must be distinct, got {sizes}")
    if test_size is not None:
        test_size = whole(test_size, "test_size")
        if test_size < 2:
            raise ValueError(f"test size (--test-size / test_size=) {test_size} cannot rank anything; "
                             f"give at least 2 (or leave it out to test on all the remaining rows)")
    for n in sizes:
        if n < 2:
            raise ValueError(f"train size {n} is too small to fit a predictor; give at least 2")
        if n > n_rows - 2:
            raise ValueError(f"train size {n} leaves fewer than 2 test rows of the {n_rows} "
                             f"usable rows; give train sizes below {n_rows - 1}")
    if test_size is not None and test_size > n_rows - max(sizes):
        raise ValueError(f"test size {test_size} is more than the {n_rows - max(sizes)} rows left after the "
                         f"largest train size ({max(sizes)} of {n_rows}); give at most "
                         f"{n_rows - max(sizes)}, or leave it out to test on all the remaining rows")
    return sizes, seeds, test_size


def _fingerprint(value) -> str:
    """A stable text of a parameter value (no memory addresses): estimators by their
    parameters, named objects (spaces, tables) by type and name."""
    if value is None or isinstance(value, (bool, numbers.Number, str)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_fingerprint(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k!r}:{_fingerprint(v)}" for k, v in sorted(value.items(), key=str)) + "}"
    if hasattr(value, "get_params"):
        return f"{type(value).__name__}({_fingerprint(value.get_params(deep=False))})"
    if isinstance(value, np.ndarray):
        return f"array:{hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest()[:12]}"
    name = getattr(value, "name", None)
    return f"{type(value).__name__}:{name}" if isinstance(name, str) else type(value).__name__


def params_key(model) -> str:
    """Short hash of a predictor's class and parameters (the ``params`` column)."""
    return hashlib.sha1(_fingerprint(model).encode()).hexdigest()[:12]


def data_key(bench: Benchmark, target: str) -> str:
    """``NAME:ROWS:HASH`` of the table as evaluated: its archs and target values (the
    ``data`` column), so another table, log or an edited log is told apart."""
    h = hashlib.sha1()
    h.update("\n".join(bench.arch_strings).encode())
    h.update(np.ascontiguousarray(bench.values(target), dtype=np.float64).tobytes())
    return f"{bench.name}:{len(bench)}:{h.hexdigest()[:12]}"


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
        in it are skipped, so an interrupted evaluation resumes where it stopped.  A run is
        known by :data:`RUN_KEY_COLUMNS` (the predictor's label and a hash of its parameters,
        train size, seed, sources); a file holds one setting (:data:`SETTING_COLUMNS`: a
        fingerprint of the table's archs and target values, the target, split and test size)
        and a different one is refused.  The returned table holds this call's grid only.
    sources : ``(Benchmark, metric)`` pairs of related tasks (e.g. the same archs on another
        data set).  Every finite row of each becomes auxiliary training data of its own task:
        the predictors (which must accept ``task``, :func:`naspredict.predictors.accepting`)
        are fitted with ``task=`` labels (``"BENCH:METRIC"`` for a source row, ``"BENCH:TARGET"``
        for the target's training rows) and asked with the target's label.  A predictor with a
        ``target_task`` parameter left at ``None`` gets the target's label.  The rows of the
        table written to ``out_csv`` carry the sources in their ``sources`` column.

    Raises
    ------
    ValueError : an unknown metric or split; a constant target; an empty grid (no seeds or
        sizes), fractional, repeated or too small sizes, a train size that leaves fewer than 2
        test rows; a predictor given twice; a source from another space, or ``sources`` with a
        predictor that does not take ``task``; an ``out_csv`` of another setting.
    """
    bench._check_metric(target)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    if len(set(bench.archs)) < len(bench.archs):
        bench = bench.aggregate()
    bench = bench.dropna(target)
    y_all = bench.values(target)
    if len(y_all) and np.ptp(y_all) == 0:
        raise ValueError(f"{target} has the same value ({y_all[0]:g}) in all {len(y_all)} rows of "
                         f"{bench.name}: a ranking of it is undefined; pick a metric that varies")
    train_sizes, seeds, test_size = _check_grid(train_sizes, seeds, test_size, len(bench))
    sign = 1.0 if bench.higher_is_better[target] else -1.0
    preds = _as_predictors(predictors, bench.space)
    for label, p in preds.items():
        needs = sorted(getattr(p, "required_inputs", frozenset()) - {"task"})
        if needs:
            raise ValueError(f"predictor {label} needs {', '.join(n + '=' for n in needs)} at fit and "
                             f"predict time, which evaluate does not pass; drop {label} from -p / "
                             f"predictors= (evaluate it in Python with its inputs)")
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
    setting = setting_of(bench, target, split, test_size)
    params = {label: params_key(p) for label, p in preds.items()}
    grid = [(label, n, s) for label in preds for n in train_sizes for s in seeds]
    keys = {(label, params[label], int(n), int(s), src_key) for label, n, s in grid}
    done = _done_runs(out_csv, setting)
    rows, kept = [], {}
    bar = tqdm(grid, desc=f"evaluate {bench.name}:{target}", disable=not progress)
    for label, n, s in bar:
        bar.set_postfix_str(f"{label} n={n} seed={s}")
        if (label, params[label], int(n), int(s), src_key) in done:
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
        if not np.isfinite(mean).all():
            raise ValueError(f"predictor {label} predicted NaN or inf for {int((~np.isfinite(mean)).sum())} "
                             f"test archs (train size {n}, seed {s}); its fit failed: try a larger "
                             f"train size or another predictor")
        m = ranking_metrics(sign * y_all[test], sign * mean, std)
        row = {"predictor": label, "train_size": int(n), "seed": int(s), **m,
               "fit_seconds": t1 - t0, "predict_seconds": t2 - t1, "sources": src_key,
               "params": params[label], **setting}
        rows.append(row)
        if out_csv is not None:
            _append(out_csv, row)
        if s == seeds[0]:
            kept[(label, int(n), int(s))] = (y_all[test].astype(np.float32), mean.astype(np.float32))
    table = pd.DataFrame(rows, columns=COLUMNS)
    if out_csv is not None and Path(out_csv).exists():
        table = _read(out_csv)
        mine = [(r.predictor, r.params, r.train_size, r.seed, r.sources) in keys
                for r in table[RUN_KEY_COLUMNS].itertuples()]
        table = table[mine]
    return EvaluationResult(table.reindex(columns=COLUMNS).reset_index(drop=True), kept)


def _read(out_csv) -> pd.DataFrame:
    """The results CSV, its key columns as text (``sources`` ``""`` when empty)."""
    path = Path(out_csv)
    try:
        df = pd.read_csv(path, dtype={c: str for c in ("sources", "params", *SETTING_COLUMNS)},
                         keep_default_na=False, na_values={c: ["", "nan", "NaN"] for c in COLUMNS
                                                           if c not in RUN_KEY_COLUMNS + SETTING_COLUMNS})
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"{path} is not a results CSV written by evaluate ({err}); give another "
                         f"--out (out_csv=) or delete the file") from None
    missing = [c for c in RUN_KEY_COLUMNS + SETTING_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {', '.join(missing)} that say what its runs "
                         f"measured (an older version of naspredict, or another tool, wrote it), so "
                         f"it cannot be resumed safely; give another --out (out_csv=) or delete it "
                         f"(or, knowing what it measured, stamp it with "
                         f"naspredict.evaluation.adopt_results)")
    df["train_size"] = df["train_size"].astype(int)
    df["seed"] = df["seed"].astype(int)
    return df


def setting_of(bench: Benchmark, target: str, split: str = "uniform",
               test_size: int | None = None) -> dict[str, str]:
    """The :data:`SETTING_COLUMNS` values of an evaluation of ``bench`` (already deduplicated
    and without NaN targets, as :func:`evaluate` prepares it)."""
    return {"data": data_key(bench, target), "target": target, "split": split,
            "test_size": "all" if test_size is None else str(int(test_size))}


def adopt_results(out_csv, bench: Benchmark, target: str, predictors, split: str = "uniform",
                  test_size: int | None = None) -> int:
    """Stamp a results CSV written before the resume key existed with the setting it was made
    with, so :func:`evaluate` resumes it.  Only you know that setting: this trusts it.

    Parameters
    ----------
    out_csv : the older results file (rewritten in place; a file that already has the key
        columns is left alone).
    bench, target, split, test_size : as given to :func:`evaluate` when the rows were made.
    predictors : as for :func:`evaluate`; each row's ``params`` is that of the predictor with
        its label (rows of other labels get ``""`` and are never matched).

    Returns
    -------
    The number of rows stamped (0 when the file already had the columns).
    """
    path = Path(out_csv)
    df = pd.read_csv(path)
    if all(c in df.columns for c in RUN_KEY_COLUMNS + SETTING_COLUMNS):
        return 0
    bench._check_metric(target)
    if len(set(bench.archs)) < len(bench.archs):
        bench = bench.aggregate()
    bench = bench.dropna(target)
    params = {label: params_key(p) for label, p in _as_predictors(predictors, bench.space).items()}
    df["sources"] = df["sources"].fillna("") if "sources" in df else ""
    df["params"] = [params.get(str(label), "") for label in df["predictor"]]
    for column, value in setting_of(bench, target, split, test_size).items():
        df[column] = value
    df.reindex(columns=COLUMNS).to_csv(path, index=False)
    return len(df)


def _done_runs(out_csv, setting: dict) -> set[tuple]:
    """The run keys (:data:`RUN_KEY_COLUMNS`) in ``out_csv``.

    Raises
    ------
    ValueError : the file holds runs of another setting (table, target, split or test size).
    """
    if out_csv is None or not Path(out_csv).exists():
        return set()
    df = _read(out_csv)
    if len(df):
        found = df[SETTING_COLUMNS].drop_duplicates()
        other = found[(found != pd.Series(setting)).any(axis=1)]
        if len(other):
            was = ", ".join(f"{c}={other.iloc[0][c]}" for c in SETTING_COLUMNS)
            now = ", ".join(f"{c}={setting[c]}" for c in SETTING_COLUMNS)
            raise ValueError(f"{out_csv} holds results of another evaluation ({was}); this one "
                             f"is {now}. Resuming would mix them: give another --out (out_csv=) "
                             f"or delete {out_csv} to start over")
    return {tuple(r) for r in df[RUN_KEY_COLUMNS].itertuples(index=False)}


def _append(out_csv, row: dict) -> None:
    path = Path(out_csv)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame([row]).reindex(columns=COLUMNS)
    frame.to_csv(path, mode="a", header=not path.exists(), index=False)
