"""Benchmark tables and logged results behind one API.

>>> from naspredict import data
>>> bench = data.load("nb201-cifar10")
>>> bench.top("baseline_accuracy", k=3)

``load(name)`` knows the names in :func:`available`; ``read_results`` loads a user's own log.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .benchmark import Benchmark
from .logged import read_results, write_results
from .naslib import load_nb201_12epoch, load_nb201_curves, load_naslib_zc
from .tables import load_nb201_analog, load_nbgraph

NBGRAPH_DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins")


def _registry() -> dict[str, tuple[Callable[..., Benchmark], str]]:
    reg: dict[str, tuple[Callable[..., Benchmark], str]] = {
        "nb201-cifar10": (load_nb201_analog, "NAS-Bench-201, CIFAR-10, analog-hardware metrics (analog-nasbench 0.1.3)"),
    }
    for ds in NBGRAPH_DATASETS:
        reg[f"nbgraph-{ds}"] = (lambda path=None, ds=ds: load_nbgraph(ds, path),
                                f"NAS-Bench-Graph, {ds} (nas-bench-graph 1.4.0)")
    reg["nb101-zc"] = (lambda path=None: load_naslib_zc("nb101", "cifar10", path),
                       "NAS-Bench-101 subset with zero-cost proxies (NASLib, shared data)")
    for ds in ("cifar10", "cifar100", "ImageNet16-120"):
        suffix = "" if ds == "cifar10" else f"-{ds}"
        reg[f"nb201-zc{suffix}"] = (lambda path=None, ds=ds: load_naslib_zc("nb201", ds, path),
                                    f"NAS-Bench-201 subset, {ds}, zero-cost proxies (NASLib, shared data)")
    reg["nb301-zc"] = (lambda path=None: load_naslib_zc("nb301", "cifar10", path),
                       "NAS-Bench-301 (DARTS) subset with zero-cost proxies (NASLib, shared data)")
    reg["nb201-curves"] = (load_nb201_curves, "200 NB201 cells with full 200-epoch curves (shared data)")
    reg["nb201-12epoch"] = (load_nb201_12epoch, "all NB201 cells after 12 epochs (shared data)")
    return reg


def available() -> dict[str, str]:
    """Benchmark names and one-line descriptions."""
    return {k: v[1] for k, v in _registry().items()}


_CACHE: dict[str, Benchmark] = {}


def load(name: str, path: str | Path | None = None) -> Benchmark:
    """Load the benchmark called ``name`` (see :func:`available`).

    ``path`` reads a user's own copy of the same format instead of the default file.  Default
    tables are cached per process; treat the result as read-only (use ``subset`` to slice it).
    """
    reg = _registry()
    if name not in reg:
        raise ValueError(f"unknown benchmark {name!r}; available: {', '.join(reg)}. "
                         f"For your own logs use naspredict.data.read_results(path, space)")
    if path is not None:
        if not Path(path).is_file():
            raise FileNotFoundError(f"no file at {path} for {name} ({'a folder' if Path(path).is_dir() else 'missing'}); "
                                    f"pass your copy of {name}'s data file, or leave path out to read the "
                                    f"default one")
        return reg[name][0](path)
    if name not in _CACHE:
        _CACHE[name] = reg[name][0]()
    return _CACHE[name]


def set_data_dir(path: str | Path | None) -> None:
    """Read the shared tables from ``path`` from now on (``None``: the default lookup).

    Same as ``naspredict --data-dir PATH`` or ``NASPREDICT_DATA_DIR=PATH``; see
    :func:`naspredict.data.paths.data_dir_candidates` for where the folder is looked for
    otherwise.  Clears this process's table cache.
    """
    from . import paths
    paths.set_data_dir(path)
    _CACHE.clear()


__all__ = ["Benchmark", "load", "available", "set_data_dir", "read_results", "write_results", "load_naslib_zc",
           "load_nb201_curves", "load_nb201_12epoch", "load_nb201_analog", "load_nbgraph",
           "NBGRAPH_DATASETS"]
