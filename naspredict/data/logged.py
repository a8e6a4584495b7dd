"""Logged results: a user's own CSV, parquet or JSON-lines file as a :class:`Benchmark`.

Layout: one row per evaluation, an ``arch`` column holding the canonical string of the
architecture (``space.to_str``), one numeric column per metric, and optionally a ``curve``
column holding the per-epoch values (a list, or its JSON text in CSV).

Bad data has fixed behaviour, never silent:

- a missing arch column, a non-numeric metric column or an empty file raise ``ValueError``;
- an arch string the space cannot parse raises ``ValueError`` naming the row
  (``on_bad_arch="drop"`` drops such rows with a warning instead);
- NaN metrics stay NaN (unmeasured); ``inf`` / ``-inf`` become NaN with a warning that counts
  them; use ``Benchmark.dropna(metric)`` before fitting;
- duplicate archs are kept as separate rows; ``Benchmark.query`` returns their mean and
  ``Benchmark.aggregate()`` merges them (mean or median, with an ``n_logged`` count).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..spaces import SearchSpace, get_space
from .benchmark import Benchmark, pad_curves

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _format(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in set(FORMATS.values()):
            raise ValueError(f"unknown format {fmt!r}; expected csv, parquet or jsonl")
        return fmt
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"cannot tell the format of {path}: use a .csv, .parquet or .jsonl "
                         f"suffix, or pass fmt=") from None


#: text columns the results store writes beside the metrics (trial number, fidelity key,
#: state); they are not metrics and are left out when reading.
BOOKKEEPING_COLUMNS = ("trial", "fidelity", "state")


def read_results(path: str | Path, space: str | SearchSpace, *, higher_is_better=None,
                 arch_column: str = "arch", curve_column: str = "curve", fmt: str | None = None,
                 on_bad_arch: str = "raise", name: str | None = None) -> Benchmark:
    """Read logged results into a :class:`Benchmark`.

    Parameters
    ----------
    path : CSV, parquet or JSON-lines file.
    space : the search space name (``"nb201"``...) or instance the arch strings belong to.
    higher_is_better : ``dict`` metric -> bool, or a single bool for all metrics (default True).
    arch_column, curve_column : column names.  The curve column is optional.
    on_bad_arch : ``"raise"`` (default) or ``"drop"``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"logged results file {path} does not exist")
    sp = get_space(space) if isinstance(space, str) else space
    fmt = _format(path, fmt)
    if fmt == "csv":
        df = pd.read_csv(path)
    elif fmt == "parquet":
        df = pd.read_parquet(path)
    else:
        df = pd.read_json(path, lines=True)
    if len(df) == 0:
        raise ValueError(f"{path} holds no rows")
    if arch_column not in df.columns:
        raise ValueError(f"{path} has no {arch_column!r} column (found {list(df.columns)}); "
                         f"name the arch column with arch_column=")
    if on_bad_arch not in ("raise", "drop"):
        raise ValueError(f"on_bad_arch must be 'raise' or 'drop', got {on_bad_arch!r}")

    archs, keep = [], []
    for i, text in enumerate(df[arch_column]):
        try:
            archs.append(sp.from_str(str(text)))
            keep.append(i)
        except ValueError as err:
            if on_bad_arch == "raise":
                raise ValueError(f"{path}, row {i}: {err}") from None
    if len(keep) < len(df):
        warnings.warn(f"{path}: dropped {len(df) - len(keep)} row(s) whose arch is not in the "
                      f"{sp.name} space", stacklevel=2)
        df = df.iloc[keep].reset_index(drop=True)

    curves = {}
    if "curves" in df.columns:  # named curves, as the store exports them
        dicts = [json.loads(c) if isinstance(c, str) else (c if isinstance(c, dict) else {})
                 for c in df["curves"]]
        for cname in sorted({k for d in dicts for k in d}):
            curves[cname] = pad_curves([[np.nan if v is None else v for v in (d.get(cname) or [])]
                                        for d in dicts])
        df = df.drop(columns=["curves"])
    df = df.drop(columns=[c for c in BOOKKEEPING_COLUMNS if c in df.columns])
    if curve_column in df.columns:
        raw = [json.loads(c) if isinstance(c, str) else ([] if c is None else list(c))
               for c in df[curve_column]]
        curves["curve"] = pad_curves(raw)
        df = df.drop(columns=[curve_column])
    metrics = df.drop(columns=[arch_column])
    for col in metrics.columns:
        try:
            metrics[col] = pd.to_numeric(metrics[col]).astype(float)
        except (ValueError, TypeError):
            raise ValueError(f"{path}: metric column {col!r} is not numeric; drop it or fix its "
                             f"values") from None
    values = metrics.to_numpy()
    n_inf = int(np.isinf(values).sum())
    if n_inf:
        warnings.warn(f"{path}: {n_inf} infinite metric value(s) read as NaN", stacklevel=2)
        metrics = metrics.replace([np.inf, -np.inf], np.nan)
    if higher_is_better is None or isinstance(higher_is_better, bool):
        hib = {c: True if higher_is_better is None else higher_is_better for c in metrics.columns}
    else:
        unknown = set(higher_is_better) - set(metrics.columns)
        if unknown:
            raise ValueError(f"higher_is_better names unknown metric(s) {sorted(unknown)}")
        hib = {c: bool(higher_is_better.get(c, True)) for c in metrics.columns}
    return Benchmark(name or path.stem, sp, archs, metrics, hib, curves=curves, source=str(path))


def write_results(bench: Benchmark, path: str | Path, *, curve: str | None = None,
                  fmt: str | None = None) -> Path:
    """Write ``bench`` as logged results (see the module docstring for the layout)."""
    if curve is None and len(bench.curves) == 1:
        curve = next(iter(bench.curves))
    return write_frame(bench.to_frame(curve=curve), path, fmt=fmt)


def write_frame(df: pd.DataFrame, path: str | Path, *, fmt: str | None = None) -> Path:
    """Write a frame in the logged-results layout (``arch``, metrics, optional ``curve`` of
    lists) as CSV (curves as JSON text), parquet or JSON lines, by suffix or ``fmt``."""
    path = Path(path)
    fmt = _format(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    if "curves" in df.columns:  # named curves: JSON text in every format (keys vary by row)
        df = df.copy()
        df["curves"] = [json.dumps(c or {}) for c in df["curves"]]
    if fmt == "csv":
        df = df.copy()
        if "curve" in df.columns:
            df["curve"] = [json.dumps(list(c)) if c is not None else "[]" for c in df["curve"]]
        df.to_csv(path, index=False)
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_json(path, orient="records", lines=True)
    return path
