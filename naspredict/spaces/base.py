"""Search-space contract and the labelled DAG every encoding reads.

A search space owns an immutable, hashable architecture type.  Every space can turn an
architecture into a :class:`LabelledDAG` (node-labelled adjacency, input node first, output
node last), so encodings and graph predictors are written once for all spaces.
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Hashable, Iterator, Sequence

import numpy as np

INPUT = "input"
OUTPUT = "output"


@dataclass(frozen=True)
class LabelledDAG:
    """A directed acyclic graph with one op label per node.

    ``adjacency[i][j] == 1`` means an edge ``i -> j``; nodes are topologically ordered with the
    input node first and the output node last.  ``ops[i]`` is the label of node ``i``
    (``"input"`` / ``"output"`` at the ends).  Cells with several inputs (DARTS) use the labels
    ``"input0"``, ``"input1"``... on their first nodes; :attr:`n_inputs` says how many.
    """

    adjacency: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]
    n_inputs: int = 1

    @property
    def n_nodes(self) -> int:
        return len(self.ops)

    def matrix(self) -> np.ndarray:
        return np.asarray(self.adjacency, dtype=np.int8).reshape(self.n_nodes, self.n_nodes)

    def edges(self) -> list[tuple[int, int]]:
        m = self.matrix()
        return [(int(i), int(j)) for i, j in zip(*np.nonzero(m))]


def graph_hash(matrix: np.ndarray, labels: Sequence[str]) -> str:
    """Isomorphism-invariant hash of a node-labelled DAG.

    The same iterated neighbourhood hashing NAS-Bench-101 uses (Ying et al., 2019): each node
    starts from (out-degree, in-degree, label); for ``n`` rounds a node's hash absorbs the sorted
    hashes of its in- and out-neighbours.  The sorted multiset of final hashes is the key.
    Isomorphic graphs always share the key; different graphs collide only in contrived cases.
    """
    m = np.asarray(matrix)
    n = m.shape[0]
    in_deg = m.sum(0).tolist()
    out_deg = m.sum(1).tolist()
    h = [_md5(f"{out_deg[i]}|{in_deg[i]}|{labels[i]}") for i in range(n)]
    preds = [np.nonzero(m[:, i])[0].tolist() for i in range(n)]
    succs = [np.nonzero(m[i, :])[0].tolist() for i in range(n)]
    for _ in range(n):
        h = [
            _md5("|".join(sorted(h[p] for p in preds[i]))
                 + "#" + "|".join(sorted(h[s] for s in succs[i])) + "#" + h[i])
            for i in range(n)
        ]
    return _md5("".join(sorted(h)))


def _md5(s: str) -> str:
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def live_nodes(matrix: np.ndarray, n_inputs: int = 1) -> np.ndarray:
    """Boolean mask of nodes on some input-to-output path (inputs are the first ``n_inputs``)."""
    rows = np.asarray(matrix, dtype=bool).tolist()  # plain lists: these graphs have < ~30 nodes
    n = len(rows)
    from_in = [i < n_inputs for i in range(n)]
    for j in range(n):  # topological order
        if not from_in[j]:
            from_in[j] = any(rows[i][j] and from_in[i] for i in range(n))
    to_out = [i == n - 1 for i in range(n)]
    for i in range(n - 1, -1, -1):
        if not to_out[i]:
            to_out[i] = any(r and t for r, t in zip(rows[i], to_out))
    return np.array([a and b for a, b in zip(from_in, to_out)], dtype=bool)


def prune(matrix: np.ndarray, ops: Sequence[str], n_inputs: int = 1) -> tuple[np.ndarray, list[str]]:
    """Drop nodes that are not on any input-to-output path.

    When no input reaches the output the graph is dead; it is returned as the inputs and the
    output with no edges, so callers can still hash and encode it.
    """
    m = np.asarray(matrix, dtype=np.int8)
    keep = live_nodes(m, n_inputs)
    if not keep[-1]:
        keep = np.zeros(len(ops), bool)
        keep[:n_inputs] = True
        keep[-1] = True
        sub = np.zeros((keep.sum(), keep.sum()), np.int8)
        return sub, [o for o, k in zip(ops, keep) if k]
    keep[:n_inputs] = True
    idx = np.nonzero(keep)[0]
    return m[np.ix_(idx, idx)], [ops[i] for i in idx]


def is_dag_upper(matrix: np.ndarray) -> bool:
    m = np.asarray(matrix)
    return bool(np.all(np.tril(m) == 0))


class SearchSpace(ABC):
    """A family of architectures.

    Subclasses define ``name``, the op vocabulary ``ops`` (labels that may appear on DAG nodes
    besides input/output), and the methods below.  Architectures are hashable values; use
    :meth:`to_str` / :meth:`from_str` for their canonical string form.
    """

    name: str = ""
    ops: tuple[str, ...] = ()
    #: longest input-to-output path (counted in op nodes) the path encoding keeps.
    max_path_length: int = 3
    #: shortest such path; 0 when the input may feed the output directly.
    min_path_length: int = 1
    #: op labels that carry no signal (the path encoding and graph features skip paths through them)
    zero_ops: tuple[str, ...] = ()

    # -- identity --------------------------------------------------------------------------
    @abstractmethod
    def to_str(self, arch: Any) -> str:
        """Canonical string form of ``arch``."""

    @abstractmethod
    def from_str(self, text: str) -> Any:
        """Parse the canonical string form; raise ``ValueError`` naming the expected form."""

    @abstractmethod
    def validate(self, arch: Any) -> Any:
        """Return ``arch`` if it belongs to this space, else raise ``ValueError``."""

    # -- sampling and moves ---------------------------------------------------------------
    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Any:
        """One architecture drawn uniformly (or as the space's usual sampler does)."""

    @abstractmethod
    def neighbours(self, arch: Any) -> list[Any]:
        """All architectures one elementary change away (one op or one edge)."""

    def mutate(self, arch: Any, rng: np.random.Generator) -> Any:
        """A random neighbour."""
        nbrs = self.neighbours(arch)
        return nbrs[int(rng.integers(len(nbrs)))]

    def enumerate(self) -> Iterator[Any]:
        """Every architecture, for finite spaces small enough to list."""
        raise NotImplementedError(f"space {self.name!r} is too large to enumerate")

    @property
    def finite(self) -> bool:
        return type(self).enumerate is not SearchSpace.enumerate

    # -- structure -----------------------------------------------------------------------
    @abstractmethod
    def to_dag(self, arch: Any) -> LabelledDAG:
        """The labelled DAG of ``arch`` (not pruned: encodings see the cell as written)."""

    def canonical(self, arch: Any) -> str:
        """A key shared by all architectures isomorphic to ``arch``.

        The DAG is pruned of ``zero_ops`` nodes and dead nodes, then hashed with
        :func:`graph_hash`.
        """
        dag = self.to_dag(arch)
        m = dag.matrix().copy()
        labels = list(dag.ops)
        for i, op in enumerate(labels):
            if op in self.zero_ops:
                m[i, :] = 0
                m[:, i] = 0
        m, labels = prune(m, labels, dag.n_inputs)
        return graph_hash(m, labels)

    def sample_unique(self, n: int, rng: np.random.Generator) -> list[Any]:
        """``n`` distinct architectures."""
        seen: dict[Hashable, None] = {}
        tries = 0
        while len(seen) < n:
            seen.setdefault(self.sample(rng), None)
            tries += 1
            if tries > 100 * n + 1000:
                raise ValueError(f"could not draw {n} distinct archs from {self.name}")
        return list(seen)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    @property
    def space_id(self) -> str:
        """Identity of the space for caches: class, name and constructor settings (so
        NAS-Bench-Graph's full and proteins op sets never share an entry)."""
        return f"{type(self).__module__}.{type(self).__qualname__}:{self.name}:{self!r}"
