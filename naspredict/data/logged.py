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
  ``Benchmark.aggregate()`` merges them (mean or median, with an ``n_logged`` count);
- an empty file, text that is not UTF-8, a line that is not a JSON object or a curve that is not
  a list of numbers raise ``ValueError`` naming the file, the row and the expected form.

**Round trip.**  :func:`write_results` and :meth:`ResultsStore.export
<naspredict.store.ResultsStore.export>` also write a small sidecar, ``<file>.naspredict.json``,
holding each metric's direction and which columns are bookkeeping (trial number, fidelity, state,
cost); :func:`read_results` reads it, so latency comes back lower-is-better and ``cost`` does not
come back as a metric.  Values are exact: CSV is read with round-trip float parsing and JSON lines
are written and read by Python's ``json`` (shortest repr floats), so every float reloads to the
same bits.
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

#: the sidecar's suffix, appended to the data file's name.
SIDECAR_SUFFIX = ".naspredict.json"


def sidecar_path(path: str | Path) -> Path:
    """Where the metadata of logged results at ``path`` lie (``run.csv`` ->
    ``run.csv.naspredict.json``)."""
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_sidecar(path: str | Path) -> dict | None:
    """The sidecar of ``path`` (``{"higher_is_better": {...}, "bookkeeping": [...]}``), or
    ``None`` when there is none.  Raises ``ValueError`` for a damaged one."""
    side = sidecar_path(path)
    if not side.exists():
        return None
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{side} is not valid JSON ({err}); delete it to read {Path(path).name} "
                         f"without its directions, or rewrite it") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("higher_is_better", {}), dict):
        raise ValueError(f"{side} is not a naspredict sidecar (expected an object with "
                         f"'higher_is_better'); delete it or rewrite it")
    return meta


def _read_table(path: Path, fmt: str) -> pd.DataFrame:
    """The file as a frame, with errors that name the file, the row and the expected form."""
    try:
        if fmt == "csv":
            return pd.read_csv(path, float_precision="round_trip")
        if fmt == "parquet":
            return pd.read_parquet(path)
        rows = []
        with open(path, encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}, line {i + 1}: not valid JSON ({err.msg}); expected one "
                                     f'JSON object per line, like {{"arch": "...", "accuracy": 91.2}}') from None
                if not isinstance(rec, dict):
                    raise ValueError(f"{path}, line {i + 1}: a JSON {type(rec).__name__}, expected an "
                                     f'object like {{"arch": "...", "accuracy": 91.2}}')
                rows.append(rec)
        return pd.DataFrame(rows)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty; expected a header row with an 'arch' column and one "
                         f"column per metric, then one row per evaluation") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is not UTF-8 text ({err.reason} at byte {err.start}); save it as "
                         f"UTF-8 (for CSV: a comma-separated text file)") from None
    except pd.errors.ParserError as err:
        raise ValueError(f"{path} is not a readable CSV ({err}); expected comma-separated columns "
                         f"with a header row") from None
    except (OSError, ValueError) as err:
        if fmt == "parquet" and not isinstance(err, FileNotFoundError):
            raise ValueError(f"{path} is not a readable parquet file ({err})") from None
        raise


def _parse_curve(cell, path: Path, row: int, column: str) -> list:
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return []
    if isinstance(cell, str):
        try:
            cell = json.loads(cell)
        except json.JSONDecodeError:
            raise ValueError(f"{path}, row {row}: column {column!r} holds {cell[:40]!r}, not a JSON "
                             f"list of numbers like [51.2, 63.0, 70.4]") from None
    return cell


def read_results(path: str | Path, space: str | SearchSpace, *, higher_is_better=None,
                 arch_column: str = "arch", curve_column: str = "curve", fmt: str | None = None,
                 on_bad_arch: str = "raise", name: str | None = None) -> Benchmark:
    """Read logged results into a :class:`Benchmark`.

    Parameters
    ----------
    path : CSV, parquet or JSON-lines file.
    space : the search space name (``"nb201"``...) or instance the arch strings belong to.
    higher_is_better : ``dict`` metric -> bool, or a single bool for all metrics.  Default:
        the directions in the file's sidecar (written by :func:`write_results` and ``naspredict
        export``), else True; given ones override the sidecar's.
    arch_column, curve_column : column names.  The curve column is optional.
    on_bad_arch : ``"raise"`` (default) or ``"drop"``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"logged results file {path} does not exist; check the path (a log is a .csv, "
                                f".parquet or .jsonl file with an 'arch' column and one column per metric)")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give the logged-results file in it (.csv, .parquet "
                         f"or .jsonl)")
    sp = get_space(space) if isinstance(space, str) else space
    fmt = _format(path, fmt)
    meta = read_sidecar(path) or {}
    df = _read_table(path, fmt)
    if len(df) == 0:
        raise ValueError(f"{path} holds no rows; give a file with a header and one row per "
                         f"evaluated arch (an {arch_column!r} column and metric columns)")
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
        dicts = [_parse_curve(c, path, i, "curves") if isinstance(c, str) else (c if isinstance(c, dict) else {})
                 for i, c in enumerate(df["curves"])]
        for i, d in enumerate(dicts):
            if not isinstance(d, dict):
                raise ValueError(f"{path}, row {i}: column 'curves' must map curve names to lists "
                                 f'of numbers, like {{"val": [51.2, 63.0]}}')
        for cname in sorted({k for d in dicts for k in d}):
            curves[cname] = pad_curves([[np.nan if v is None else v for v in (d.get(cname) or [])]
                                        for d in dicts])
        df = df.drop(columns=["curves"])
    skip = set(BOOKKEEPING_COLUMNS) | set(meta.get("bookkeeping", ()))
    df = df.drop(columns=[c for c in df.columns if c in skip])
    if curve_column in df.columns:
        raw = [_parse_curve(c, path, i, curve_column) for i, c in enumerate(df[curve_column])]
        try:
            curves["curve"] = pad_curves([[np.nan if v is None else v for v in r] for r in raw])
        except (TypeError, ValueError):
            bad = next(i for i, r in enumerate(raw) if not _numeric_list(r))
            raise ValueError(f"{path}, row {bad}: column {curve_column!r} holds {raw[bad]!r}, not a "
                             f"list of numbers like [51.2, 63.0, 70.4]") from None
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
    stored = {c: bool(v) for c, v in meta.get("higher_is_better", {}).items() if c in metrics.columns}
    if isinstance(higher_is_better, bool):
        hib = {c: higher_is_better for c in metrics.columns}
    else:
        given = dict(higher_is_better or {})
        unknown = set(given) - set(metrics.columns)
        if unknown:
            raise ValueError(f"higher_is_better names unknown metric(s) {sorted(unknown)}; the file "
                             f"has {', '.join(metrics.columns)}")
        hib = {c: bool(given.get(c, stored.get(c, True))) for c in metrics.columns}
    return Benchmark(name or path.stem, sp, archs, metrics, hib, curves=curves, source=str(path))


def _numeric_list(r) -> bool:
    try:
        np.asarray([np.nan if v is None else v for v in r], dtype=float)
        return True
    except (TypeError, ValueError):
        return False


def write_results(bench: Benchmark, path: str | Path, *, curve: str | None = None,
                  fmt: str | None = None) -> Path:
    """Write ``bench`` as logged results (see the module docstring for the layout), with its
    metrics' directions in the sidecar, so :func:`read_results` reloads it exactly."""
    if curve is None and len(bench.curves) == 1:
        curve = next(iter(bench.curves))
    return write_frame(bench.to_frame(curve=curve), path, fmt=fmt,
                       higher_is_better=bench.higher_is_better)


def write_frame(df: pd.DataFrame, path: str | Path, *, fmt: str | None = None,
                higher_is_better: dict[str, bool] | None = None,
                bookkeeping: tuple[str, ...] = ()) -> Path:
    """Write a frame in the logged-results layout (``arch``, metrics, optional ``curve`` of
    lists) as CSV (curves as JSON text), parquet or JSON lines, by suffix or ``fmt``.

    ``higher_is_better`` (metric -> bool) and ``bookkeeping`` (columns that are not metrics)
    go to the sidecar (:func:`sidecar_path`); without them no sidecar is written (and a stale
    one beside ``path`` is removed).
    """
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
    else:  # Python's json: shortest round-trip floats (pandas' writer rounds to 10 digits)
        with open(path, "w", encoding="utf-8") as fh:
            for rec in df.to_dict(orient="records"):
                fh.write(json.dumps({k: _jsonable(v) for k, v in rec.items()}) + "\n")
    side = sidecar_path(path)
    if higher_is_better is None and not bookkeeping:
        side.unlink(missing_ok=True)
    else:
        meta = {"naspredict_logged": 1,
                "higher_is_better": {k: bool(v) for k, v in (higher_is_better or {}).items()},
                "bookkeeping": list(bookkeeping)}
        side.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return path


def _jsonable(v):
    """A frame cell as a JSON value (NaN -> null, numpy scalars and arrays -> Python)."""
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v
