"""Warm starts from related tasks: the cells a source table ranks best, to evaluate first.

A search on a new data set rarely starts from nothing: the same space was often measured on a
related data set (NAS-Bench-Graph's citeseer and pubmed for cora; another benchmark's table).
Feurer, Springenberg & Hutter (AAAI 2015) initialise Bayesian optimisation with the best
configurations of similar data sets instead of random ones; :func:`source_front` gives such an
initial design for any strategy, through :meth:`naspredict.search.base.Strategy.enqueue`::

    s = make_strategy("mobo", "nbgraph", ["valid_perf", "latency"], ["max", "min"], seed=0)
    s.enqueue(source_front(["nbgraph-citeseer", "nbgraph-pubmed"], ["valid_perf", "latency"],
                           ["max", "min"], k=10))

With one target the order is simply best first.  With several, each source's cells are taken
in non-dominated-sorting layers (its Pareto front first, then the front of the rest, ...), and
within a layer by NSGA-II's crowding distance (Deb et al., IEEE TEC 2002: the two extremes
first, then the cells with the most room around them), so that a short prefix already spans
the front.  Several sources are taken in turn (one cell of each, then the next of each).

Measured on protocol (b) of ``benchmarks/search.py`` (nbgraph-cora, valid_perf vs latency;
``benchmarks/results/search_refactor.md``): qNEHVI warm-started from citeseer's and pubmed's
fronts reached hypervolume fractions 0.645 / 0.769 / 0.802 after 50 / 100 / 200 queries against
0.571 / 0.700 / 0.769 from a random start (seeds 0-4, same code).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .pareto import pareto_front, signed


def _table(source):
    from .. import data
    from ..data.benchmark import Benchmark
    if isinstance(source, str):
        return data.load(source)
    if isinstance(source, Benchmark):
        return source
    raise TypeError(f"a source is a table name ('nbgraph-citeseer') or a Benchmark, got "
                    f"{type(source).__name__}")


def crowding_order(Y: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``Y`` (one non-dominated layer, ``n x m``) by decreasing NSGA-II
    crowding distance; the extremes of each objective (infinite distance) first, ties by row."""
    Y = np.asarray(Y, float)
    n, m = Y.shape
    if n <= 2:
        return np.arange(n)
    dist = np.zeros(n)
    for j in range(m):
        o = np.argsort(Y[:, j], kind="stable")
        span = Y[o[-1], j] - Y[o[0], j]
        dist[o[0]] = dist[o[-1]] = np.inf
        if span > 0:
            dist[o[1:-1]] += (Y[o[2:], j] - Y[o[:-2], j]) / span
    return np.argsort(-dist, kind="stable")


def ranked_cells(Y: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` row indices of ``Y`` (signed: every column maximised; rows with a
    non-finite value left out) in non-dominated-sorting order, crowding order within a layer."""
    Y = np.asarray(Y, float)
    left = np.nonzero(np.isfinite(Y).all(1))[0]
    if Y.shape[1] == 1:
        return left[np.argsort(-Y[left, 0], kind="stable")][:k]
    out: list[int] = []
    while len(left) and len(out) < k:
        on = pareto_front(Y[left])
        layer = left[on]
        out.extend(layer[crowding_order(Y[layer])].tolist())
        left = left[~on]
    return np.array(out[:k], dtype=int)


def source_front(sources, targets: str | Sequence[str], directions: str | Sequence[str] | None = None,
                 k: int = 10, space=None, within: Sequence[Any] | None = None) -> list[Any]:
    """The ``k`` cells that related tables rank best, for :meth:`Strategy.enqueue`.

    Parameters
    ----------
    sources : a table name (``"nbgraph-citeseer"``), a :class:`~naspredict.data.Benchmark`, or a
        list of them; each must have every metric in ``targets``.
    targets : the metric(s) to rank by (the search's own targets, measured on the source).
    directions : ``"max"`` / ``"min"`` per target (one string applies to all); ``None``: each
        table's own ``higher_is_better``.
    k : how many cells (fewer when the sources hold fewer finite rows).
    space : when given, cells are de-duplicated by the space's canonical form (isomorphic cells
        of two sources count once); otherwise by equality.
    within : when given, only cells among these archs are taken (e.g. the searched table's own
        cells, when a table answers only for those); same identity as the de-duplication.

    Returns
    -------
    list of archs: one source's best cell, then the next source's best, and so on in turn.

    Raises
    ------
    ValueError : no source, ``k < 1``, a metric a source lacks, a direction other than
        ``"max"`` / ``"min"`` or a count that does not match ``targets``.
    """
    targets = [targets] if isinstance(targets, str) else list(targets)
    if not targets:
        raise ValueError("source_front needs at least one target metric")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    tables = [_table(s) for s in ([sources] if isinstance(sources, str) or not hasattr(sources, "__iter__")
                                  else list(sources))]
    if not tables:
        raise ValueError("source_front needs at least one source table")
    key = space.canonical if space is not None else (lambda a: a)
    allowed = None if within is None else {key(a) for a in within}
    ranked = []
    for t in tables:
        for m in targets:
            t._check_metric(m)
        dirs = (["max" if t.higher_is_better[m] else "min" for m in targets] if directions is None
                else [directions] * len(targets) if isinstance(directions, str) else list(directions))
        Y = signed(np.column_stack([np.asarray(t.values(m), float) for m in targets]), dirs)
        if allowed is not None:  # cells outside ``within`` are left out like non-finite rows
            Y[[key(a) not in allowed for a in t.archs]] = np.nan
        ranked.append([t.archs[i] for i in ranked_cells(Y, int(k))])
    out, seen = [], set()
    for depth in range(max(map(len, ranked))):
        for cells in ranked:
            if depth < len(cells) and key(cells[depth]) not in seen:
                seen.add(key(cells[depth]))
                out.append(cells[depth])
    return out[: int(k)]
