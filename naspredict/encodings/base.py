"""Encoding contract: a scikit-learn transformer from a list of archs to features.

Every encoding reads only ``space.to_dag(arch)`` (a :class:`~naspredict.spaces.LabelledDAG`), so
it is written once for all spaces.  ``width`` is known before ``fit``.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..spaces import SearchSpace, UsesSpace
from ..spaces.base import LabelledDAG, prune


class Encoding(UsesSpace, TransformerMixin, BaseEstimator):
    """Base class: ``fit`` is a no-op that checks the archs; ``transform`` encodes them."""

    def __init__(self, space: str | SearchSpace = "nb201"):
        self.space = space

    @property
    def width(self) -> int:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def fit(self, archs: Sequence[Any], y=None) -> "Encoding":
        self._check(archs)
        self.n_features_out_ = self.width
        return self

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Column names, ``width`` of them (object array): ``"x0"``, ``"x1"``, ... unless the
        encoding names its columns (``features`` and ``proxies`` do)."""
        return np.asarray([f"x{i}" for i in range(self.width)], dtype=object)

    def _check(self, archs: Sequence[Any]) -> SearchSpace:
        sp = self.space_
        if len(archs) == 0:
            raise ValueError("no architectures to encode")
        sp.validate(archs[0])
        return sp

    def transform(self, archs: Sequence[Any]) -> np.ndarray:
        """Encode ``archs`` into a ``(len(archs), width)`` float32 matrix.

        Rows are cached per encoding configuration (an arch always encodes the same way), so
        search loops and evaluations that re-encode the same candidates pay once.
        """
        sp = self._check(archs)
        cache = _row_cache(self._cache_key(sp))
        out = np.zeros((len(archs), self.width), dtype=np.float32)
        for i, a in enumerate(archs):
            row = cache.get(a)
            if row is None:
                self._encode_one(sp.to_dag(sp.validate(a)), out[i])
                if len(cache) < _CACHE_ROWS:
                    cache[a] = out[i].copy()
            else:
                out[i] = row
        return out

    def _cache_key(self, sp: SearchSpace) -> tuple:
        params = tuple(sorted((k, repr(v)) for k, v in self.get_params(deep=False).items() if k != "space"))
        return (type(self).__name__, sp.name, repr(sp), tuple(sp.ops), params)

    def _encode_one(self, dag: LabelledDAG, row: np.ndarray) -> None:  # pragma: no cover
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


#: most rows kept per encoding configuration (all of NB201 and NAS-Bench-Graph fit).
_CACHE_ROWS = 100_000
_CACHES: dict[tuple, dict] = {}


def _row_cache(key: tuple) -> dict:
    return _CACHES.setdefault(key, {})


def n_inputs(space: SearchSpace) -> int:
    return int(getattr(space, "n_inputs", 1))


def live_dag(space: SearchSpace, dag: LabelledDAG) -> tuple[np.ndarray, list[str]]:
    """The DAG with zero-op nodes and dead nodes removed (what actually computes).

    Cached per (zero ops, DAG): several encodings of one arch share the work.  The returned
    matrix is read-only.
    """
    m, labels = _live_dag(tuple(space.zero_ops), dag)
    return m, list(labels)


@lru_cache(maxsize=100_000)
def _live_dag(zero_ops: tuple[str, ...], dag: LabelledDAG) -> tuple[np.ndarray, tuple[str, ...]]:
    m = dag.matrix().copy()
    for i, op in enumerate(dag.ops):
        if op in zero_ops:
            m[i, :] = 0
            m[:, i] = 0
    m, labels = prune(m, list(dag.ops), dag.n_inputs)
    m.flags.writeable = False
    return m, tuple(labels)


def io_paths(matrix: np.ndarray, labels: Sequence[str], n_in: int, keep: set[str],
             max_ops: int | None = None) -> list[tuple[str, ...]]:
    """Every input-to-output path as the sequence of labels in ``keep`` along it.

    Nodes whose labels are not in ``keep`` (structural nodes) are passed through without adding
    a token.  Paths with more than ``max_ops`` tokens are dropped.
    """
    n = len(labels)
    succ = [np.nonzero(matrix[i])[0].tolist() for i in range(n)]
    out: list[tuple[str, ...]] = []
    stack: list[tuple[int, tuple[str, ...]]] = [(i, ()) for i in range(n_in)]
    while stack:
        node, path = stack.pop()
        if node == n - 1:
            out.append(path)
            continue
        for s in succ[node]:
            p = path + (labels[s],) if labels[s] in keep else path
            if max_ops is None or len(p) <= max_ops:
                stack.append((s, p))
    return out
