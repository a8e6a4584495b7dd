"""Loaders for the real files described in ``../shared/data/PROVENANCE.md``.

Each takes an explicit ``path`` so users can point it at their own copy of the same format;
without one it reads the shared data folder (see :func:`naspredict.data.paths.shared_file`).
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..spaces import get_space
from .benchmark import Benchmark, pad_curves
from .paths import shared_file

#: NASLib zero-cost files: space name -> file name.
ZC_FILES = {"nb101": "zc_nasbench101.json", "nb201": "zc_nasbench201.json", "nb301": "zc_nasbench301.json"}
#: metrics where lower is better (everything else in these files is higher-is-better).
_LOWER = {"flops", "params", "latency", "para"}


def load_naslib_zc(space: str, dataset: str = "cifar10", path: str | Path | None = None) -> Benchmark:
    """A NASLib zero-cost JSON file as a benchmark.

    ``space`` is ``nb101``, ``nb201`` or ``nb301``; ``dataset`` picks the top-level section
    (``cifar10``; NB201 also has ``cifar100`` and ``ImageNet16-120``).  Columns:
    ``val_accuracy``, and for each proxy ``<proxy>`` (its score) and ``<proxy>_time``.
    ``flops`` and ``params`` are lower-is-better; accuracy and proxy scores higher-is-better.
    """
    if space not in ZC_FILES:
        raise ValueError(f"unknown zero-cost space {space!r}; expected one of {', '.join(ZC_FILES)}")
    path = Path(path) if path is not None else shared_file("naslib_zc", ZC_FILES[space])
    with open(path) as fh:
        raw = json.load(fh)
    if space == "nb101" and "nasbench101" in raw:
        raw = raw["nasbench101"]
    if dataset not in raw:
        raise ValueError(f"{path} has no data set {dataset!r}; it has {', '.join(raw)}")
    sp = get_space("darts" if space == "nb301" else space)
    archs, rows = [], []
    for key, rec in raw[dataset].items():
        archs.append(sp.from_naslib(ast.literal_eval(key)))
        row = {}
        for name, val in rec.items():
            if name in ("idx", "arch"):
                continue
            if isinstance(val, dict):
                row[name] = float(val["score"])
                if "time" in val:
                    row[name + "_time"] = float(val["time"])
            else:
                row[name] = float(val)
        rows.append(row)
    metrics = pd.DataFrame(rows)
    hib = {c: not (c in _LOWER or c.endswith("_time")) for c in metrics.columns}
    name = f"{space}-zc" + ("" if dataset == "cifar10" else f"-{dataset}")
    return Benchmark(name, sp, archs, metrics, hib, source=str(path))


def load_nb201_curves(path: str | Path | None = None) -> Benchmark:
    """The 200 full NB201 learning curves (CIFAR-10, 200 epochs).

    Metrics: the 8 zero-cost proxies of the file, plus ``final_val_accuracy`` and
    ``final_train_accuracy`` (the last epoch).  Curves: ``val`` and ``train`` (``(200, 200)``).
    """
    path = Path(path) if path is not None else shared_file("nb201_curves", "nb201_curves_200ep.csv")
    df = pd.read_csv(path)
    _require(df, ["arch_str", "train_accs", "val_accs"], path)
    sp = get_space("nb201")
    archs = [sp.from_str(s) for s in df["arch_str"]]
    curves = {"val": pad_curves(json.loads(s) for s in df["val_accs"]),
              "train": pad_curves(json.loads(s) for s in df["train_accs"])}
    metrics = df.drop(columns=["arch_i", "arch_str", "train_accs", "val_accs"], errors="ignore")
    metrics = metrics.apply(pd.to_numeric, errors="raise").astype(float)
    metrics["final_val_accuracy"] = _last(curves["val"])
    metrics["final_train_accuracy"] = _last(curves["train"])
    hib = {c: True for c in metrics.columns}
    return Benchmark("nb201-curves", sp, archs, metrics, hib, curves=curves, source=str(path))


def load_nb201_12epoch(path: str | Path | None = None) -> Benchmark:
    """All 15,625 NB201 cells after the 12-epoch schedule (a real low-fidelity view).

    Metrics keep the file's names: ``cifar10-test``, ``cifar10-val``, ``cifar100-test``, ...
    plus ``nb201_index`` (the NB201 API index, column ``arch`` in the file).
    """
    path = Path(path) if path is not None else shared_file("nb201_12epoch", "nb201_12epoch_accs.csv")
    df = pd.read_csv(path)
    _require(df, ["arch", "cellstr"], path)
    sp = get_space("nb201")
    archs = [sp.from_str(s) for s in df["cellstr"]]
    metrics = df.drop(columns=["cellstr"]).rename(columns={"arch": "nb201_index"}).astype(float)
    hib = {c: c != "nb201_index" for c in metrics.columns}
    fid = {c: "12-epoch schedule" for c in metrics.columns if c != "nb201_index"}
    return Benchmark("nb201-12epoch", sp, archs, metrics, hib, fidelities=fid, source=str(path))


def _last(curves: np.ndarray) -> np.ndarray:
    out = np.full(len(curves), np.nan)
    for i, row in enumerate(curves):
        finite = np.nonzero(np.isfinite(row))[0]
        if len(finite):
            out[i] = row[finite[-1]]
    return out


def _require(df: pd.DataFrame, columns: list[str], path) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
