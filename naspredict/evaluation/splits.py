"""Train/test splits over a benchmark: uniform random, or mutation-based as in NASLib.

The mutation split mimics the data a search produces: a few random archs, then mutants of the
best archs found so far (White et al., "How powerful are performance predictors in NAS?",
NeurIPS 2021).  Both return row indices; the test rows never overlap the training rows.
"""
from __future__ import annotations

import numpy as np

from ..data import Benchmark

SPLITS = ("uniform", "mutation")


def train_test_split(bench: Benchmark, target: str, n_train: int, rng: np.random.Generator,
                     split: str = "uniform", test_size: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Row indices ``(train, test)``.  ``test_size=None`` tests on every remaining row."""
    n = len(bench)
    if n_train >= n:
        raise ValueError(f"train size {n_train} leaves no test rows in {bench.name} ({n} rows)")
    if split == "uniform":
        train = rng.choice(n, size=n_train, replace=False)
    elif split == "mutation":
        train = _mutation_rows(bench, target, n_train, rng)
    else:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    rest = np.setdiff1d(np.arange(n), train)
    if test_size is not None and test_size < len(rest):
        rest = np.sort(rng.choice(rest, size=test_size, replace=False))
    return np.asarray(train), rest


def _mutation_rows(bench: Benchmark, target: str, n_train: int, rng: np.random.Generator,
                   n_initial: int = 10, top_k: int = 10, max_tries: int = 50) -> np.ndarray:
    y = bench.values(target)
    sign = 1.0 if bench.higher_is_better[target] else -1.0
    n_init = min(n_initial, n_train)
    chosen = list(rng.choice(len(bench), size=n_init, replace=False))
    used = set(chosen)
    while len(chosen) < n_train:
        best = sorted(chosen, key=lambda i: -sign * y[i])[:top_k]
        parent = bench.archs[best[int(rng.integers(len(best)))]]
        row = None
        for _ in range(max_tries):
            child = bench.space.mutate(parent, rng)
            if child in bench:
                cand = bench.rows_of(child)[0]
                if cand not in used:
                    row = cand
                    break
        if row is None:  # the neighbourhood is exhausted: fall back to a random unused row
            free = np.setdiff1d(np.arange(len(bench)), list(used))
            row = int(rng.choice(free))
        chosen.append(row)
        used.add(row)
    return np.asarray(chosen)
