"""Candidate pools for model-based strategies (bo, mobo, mf-bo): which unevaluated archs a
surrogate scores each round.

* :func:`enumerated_pool`: every arch of a small finite space, one representative per
  canonical form, cached per process and keyed by the space's identity (``space.space_id``,
  which includes e.g. NAS-Bench-Graph's op set).
* :func:`encoded_pool`: the same archs with a vector encoding scaled to ``[0, 1]`` over the
  whole space (cached per ``(space_id, encoding)``), for GP surrogates that score the whole
  space every round.
* :func:`trust_region`: breadth-first neighbours of incumbents (all of radius 1 before radius
  2, ...) plus random new archs: a BO / local-search hybrid.
* :func:`mutants`: neighbours and random multi-step mutants of parents plus uniform random
  archs (the BANANAS pool of White, Neiswanger & Savani, AAAI 2021).

The pool functions take the strategy's view of what is already done as callables (``key`` maps
an arch to its canonical key, ``is_new`` says whether it is neither evaluated nor pending) and
draw from the ``rng`` they are given, so the same seed gives the same pool.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Container, Sequence

import numpy as np

#: space_id -> (archs listed, (one representative per canonical form, keys))
_POOLS: dict[str, tuple[int, tuple[list, list]]] = {}
#: (space_id, encoding) -> EncodedPool
_ENCODED: dict[tuple[str, str], "EncodedPool"] = {}


def space_size(space, limit: int) -> int | None:
    """Number of archs a finite space lists, or ``None`` when it is infinite or lists more
    than ``limit``."""
    if not space.finite:
        return None
    try:
        n = len(space)
    except TypeError:
        n = 0
        for n, _ in enumerate(space.enumerate(), start=1):
            if n > limit:
                break
    return n if n <= limit else None


def enumerated_pool(space, key_fn: Callable[[Any], Any] | None = None,
                    max_size: int = 50_000) -> tuple[list, list] | None:
    """One representative per canonical form of a finite space, with its key.

    Parameters
    ----------
    space : a search space.
    key_fn : arch -> canonical key (default ``space.canonical``).
    max_size : largest number of listed archs enumerated.

    Returns
    -------
    ``(archs, keys)`` (lists of equal length, in the space's enumeration order; cached per
    process by ``space.space_id``), or ``None`` when the space is infinite or lists more than
    ``max_size`` archs.
    """
    if not space.finite:
        return None
    key_fn = key_fn or space.canonical
    cache_key = space.space_id
    hit = _POOLS.get(cache_key)
    if hit is not None:
        return hit[1] if hit[0] <= max_size else None
    archs = []
    for a in space.enumerate():
        archs.append(a)
        if len(archs) > max_size:
            return None
    reps, keys, seen = [], [], set()
    for a in archs:
        k = key_fn(a)
        if k not in seen:
            seen.add(k)
            reps.append(a)
            keys.append(k)
    _POOLS[cache_key] = (len(archs), (reps, keys))
    return reps, keys


@dataclass(frozen=True)
class EncodedPool:
    """Every arch a finite space lists, encoded and scaled to ``[0, 1]`` over the space.

    Attributes
    ----------
    archs : list of the ``N`` archs (the space's enumeration order, duplicates by canonical
        form included: they are the table's rows).
    index : dict arch -> row.
    X : array ``(N, d)``, the encoding scaled by ``(X - lo) / span``.
    lo, span : arrays ``(d,)``; ``span`` is 1 where a column is constant.
    """

    archs: list
    index: dict
    X: np.ndarray
    lo: np.ndarray
    span: np.ndarray

    def scale(self, X: np.ndarray) -> np.ndarray:
        """Raw encodings ``(n, d)`` -> the pool's scale, clipped to ``[0, 1]``."""
        return np.clip((np.asarray(X, float) - self.lo) / self.span, 0.0, 1.0)

    def levels(self) -> list[np.ndarray]:
        """The distinct scaled values of each column (for level-based kernels)."""
        return [np.unique(c) for c in self.X.T]


def encoded_pool(space, encoding: str, max_size: int = 50_000) -> EncodedPool | None:
    """The whole finite space with ``encoding`` (a name for
    :func:`naspredict.encodings.make_encoding`) scaled to ``[0, 1]``, cached per process by
    ``(space.space_id, encoding)``; ``None`` when the space is infinite or lists more than
    ``max_size`` archs."""
    if space_size(space, max_size) is None:
        return None
    key = (space.space_id, encoding)
    if key not in _ENCODED:
        from ..encodings import make_encoding
        archs = list(space.enumerate())
        X = np.asarray(make_encoding(encoding, space).transform(archs), dtype=np.float64)
        lo, span = X.min(0), X.max(0) - X.min(0)
        span[span == 0] = 1.0
        _ENCODED[key] = EncodedPool(archs, {a: i for i, a in enumerate(archs)}, (X - lo) / span, lo, span)
    return _ENCODED[key]


def trust_region(space, parents: Sequence[Any], *, radius: int, max_size: int, n_random: int,
                 key: Callable[[Any], Any], is_new: Callable[[Any], bool],
                 rng: np.random.Generator, pool: tuple[list, list] | None = None,
                 exclude: Sequence[Container] = (), sample_new: Callable[[int], list] | None = None) -> list:
    """Unevaluated archs within ``radius`` neighbour steps of ``parents``, plus random ones.

    Parameters
    ----------
    space : the search space (its ``neighbours``).
    parents : incumbents whose neighbourhoods form the region (best first).
    radius : neighbour steps, breadth first: all of radius 1 before radius 2.
    max_size : the region stops growing once it holds this many new archs.
    n_random : random new archs added after the region (global exploration).
    key, is_new : canonical key of an arch; whether an arch is neither evaluated nor pending.
    rng : the generator the random archs are drawn with.
    pool : ``(archs, keys)`` of an enumerated space (:func:`enumerated_pool`): the random archs
        are then drawn without replacement from its rows whose keys are neither in the region
        nor in ``exclude``.
    exclude : containers (sets, dicts) of keys known to be evaluated or pending (with ``pool``).
    sample_new : ``n -> list`` of random new archs (without ``pool``).

    Returns
    -------
    list of distinct new archs, the region first.
    """
    out, keys = [], set()

    def add(a) -> bool:
        k = key(a)
        if k in keys:
            return False
        keys.add(k)
        if is_new(a):
            out.append(a)
        return True

    frontier = list(parents)
    for a in frontier:
        keys.add(key(a))
    for _ in range(radius):
        nxt = []
        for a in frontier:
            for b in space.neighbours(a):
                if add(b):
                    nxt.append(b)
            if len(out) >= max_size:
                break
        frontier = nxt
        if len(out) >= max_size:
            break
    if n_random:
        if pool is not None:
            rest = [i for i, k in enumerate(pool[1])
                    if k not in keys and not any(k in c for c in exclude)]
            pick = rng.choice(len(rest), min(n_random, len(rest)), replace=False)
            for i in np.sort(pick):
                add(pool[0][rest[i]])
        elif sample_new is not None:
            for a in sample_new(n_random):
                add(a)
        else:
            raise ValueError("trust_region needs pool= or sample_new= to add random archs "
                             "(or n_random=0)")
    return out


def mutants(space, parents: Sequence[Any], *, n_mutants: int, n_total: int,
            key: Callable[[Any], Any], is_new: Callable[[Any], bool], rng: np.random.Generator,
            sample_new: Callable[[int], list], steps: tuple[int, int] = (2, 3)) -> list:
    """Neighbours and multi-step mutants of ``parents``, then uniform random new archs.

    First every one-step neighbour of each parent in turn, then (round robin over the parents)
    mutants of ``steps[0]`` to ``steps[1]`` random mutation steps, until ``n_mutants`` new archs
    are collected (or ``20 * n_mutants`` tries); then ``n_total - len(mutants)`` random new
    archs from ``sample_new``.

    Returns
    -------
    list of distinct new archs (at most ``n_total``; fewer when the space runs out).
    """
    out, keys = [], set()

    def add(a):
        k = key(a)
        if k not in keys and is_new(a):
            keys.add(k)
            out.append(a)

    for p in parents:
        for a in space.neighbours(p):
            add(a)
            if len(out) >= n_mutants:
                break
    tries = 0
    while len(out) < n_mutants and len(parents) and tries < 20 * n_mutants:
        a = parents[tries % len(parents)]
        for _ in range(int(rng.integers(steps[0], steps[1] + 1))):
            a = space.mutate(a, rng)
        add(a)
        tries += 1
    for a in sample_new(n_total - len(out)):
        add(a)
    return out
