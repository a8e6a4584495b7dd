"""The embedded benchmark tables, read from the PyPI wheels they ship in.

- ``nb201-cifar10``: analog-nasbench 0.1.3 (all 15,625 NAS-Bench-201 cells, CIFAR-10).
- ``nbgraph-<dataset>``: nas-bench-graph 1.4.0 (26,206 GNN archs; 2,021 for proteins).
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from ..spaces.nb201 import NB201Space
from .benchmark import Benchmark
from .paths import package_file

ANALOG_FIELDS = ("baseline_accuracy", "ptq_accuracy", "qat_accuracy", "noisy_accuracy",
                 "analog_accuracy")
DRIFT_FIELDS = tuple(f"{kind}_drift_{t}" for kind in ("baseline", "analog")
                     for t in (60, 3600, 86400, 2592000))


class _Record:
    """Stand-in for the wheel's pickled classes: keeps the attributes, runs none of its code."""

    def __setstate__(self, state):
        self.__dict__.update(state)


class _RecordUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module.split(".")[0] in ("analognasbench", "__main__"):
            return _Record
        return super().find_class(module, name)


def _drift(value) -> tuple[float, float]:
    """A drift entry as (value, std): a parsed record, a number, or a 'value ± std' string."""
    if isinstance(value, _Record):
        return float(value.value), float(value.uncertainty)
    if isinstance(value, (int, float, np.floating)):
        return float(value), 0.0
    if isinstance(value, str) and "±" in value:
        v, u = value.split("±")
        return float(v), float(u)
    if isinstance(value, str):
        return float(value), 0.0
    raise ValueError(f"cannot read drift value {value!r}; expected 'value ± uncertainty'")


def load_nb201_analog(path: str | Path | None = None) -> Benchmark:
    """NAS-Bench-201 on CIFAR-10 with analog-hardware metrics (analog-nasbench 0.1.3).

    Reads the wheel's pickle ``analognasbench/data.anb`` directly (importing the package needs
    ``pkg_resources``).  Every field keeps its source name; the drift fields, stored as
    "value ± uncertainty", become ``<name>`` and ``<name>_std``.  All metrics are accuracies in
    percent (higher is better) except the ``_std`` columns.
    """
    path = Path(path) if path is not None else package_file("analognasbench", "data.anb")
    with open(path, "rb") as fh:
        data = _RecordUnpickler(fh).load()
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a pickled dict of NB201 6-tuples, got {type(data).__name__}")
    space = NB201Space()
    archs, rows = [], []
    for key, rec in data.items():
        archs.append(space.from_naslib(key))
        row = {f: float(getattr(rec, f)) for f in ANALOG_FIELDS}
        for f in DRIFT_FIELDS:
            row[f], row[f + "_std"] = _drift(getattr(rec, f))
        rows.append(row)
    metrics = pd.DataFrame(rows)
    hib = {c: not c.endswith("_std") for c in metrics.columns}
    return Benchmark("nb201-cifar10", space, archs, metrics, hib, source=str(path))


def load_nbgraph(dataset: str, path: str | Path | None = None) -> Benchmark:
    """One NAS-Bench-Graph data set (nas-bench-graph 1.4.0), keys decoded to architectures.

    Metrics keep the source names: ``valid_perf`` and ``perf`` (validation / test score, higher
    is better), ``latency`` (seconds) and ``para`` (millions of parameters), lower is better.
    """
    from ..spaces.nbgraph import NBGraphSpace, bench_path

    path = Path(path) if path is not None else bench_path(dataset)
    with open(path, "rb") as fh:
        data = pickle.load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a pickled dict of int keys, got {type(data).__name__}")
    space = NBGraphSpace("proteins" if dataset == "proteins" else "full")
    archs = [space.from_key(int(k)) for k in data]
    metrics = pd.DataFrame([{m: float(v[m]) for m in ("valid_perf", "perf", "latency", "para")}
                            for v in data.values()])
    hib = {"valid_perf": True, "perf": True, "latency": False, "para": False}
    return Benchmark(f"nbgraph-{dataset}", space, archs, metrics, hib, source=str(path))
