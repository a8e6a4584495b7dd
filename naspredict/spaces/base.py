"""Search-space contract and the labelled DAG every encoding reads.

A search space owns an immutable, hashable architecture type.  Every space can turn an
architecture into a :class:`LabelledDAG` (node-labelled adjacency, input node first, output
node last), so encodings and graph predictors are written once for all spaces.

A space may also declare its *categorical choices schema*: :meth:`SearchSpace.choices` is a
fixed tuple of :class:`Choice` (one decision each, with its options), and an architecture is a
vector of option indices, one per choice (:meth:`SearchSpace.to_choices` /
:meth:`SearchSpace.from_choices`).  Sequential samplers (the RL controller), supernets and
decoders read this one schema instead of knowing each space.
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


@dataclass(frozen=True)
class Choice:
    """One categorical decision of a space's choices schema.

    Parameters
    ----------
    name : str
        What is decided, e.g. ``"edge 0->1"`` or ``"normal node 3 inputs"``.
    options : tuple
        The human-readable values the decision can take (op names, input tuples, 0/1...), at
        least one, all distinct; an architecture's choice vector holds the index of its option
        in this tuple.

    Raises
    ------
    ValueError
        For a non-string or empty name, no options, or repeated options.
    """

    name: str
    options: tuple

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a Choice needs a non-empty string name, got {self.name!r}")
        try:
            options = tuple(self.options)
        except TypeError:
            raise ValueError(f"choice {self.name!r}: options must be a sequence, got {self.options!r}") from None
        if not options:
            raise ValueError(f"choice {self.name!r} needs at least one option")
        if len(set(options)) != len(options):
            raise ValueError(f"choice {self.name!r} has repeated options {options!r}")
        object.__setattr__(self, "options", options)

    def __len__(self) -> int:
        return len(self.options)


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

    # -- categorical choices schema ----------------------------------------------------------
    def choices(self) -> tuple[Choice, ...]:
        """The space's categorical decisions, in a fixed order (see the module docstring).

        Raises
        ------
        ValueError
            When the space declares no schema (:attr:`has_choices` is False).
        """
        raise ValueError(f"space {self.name or type(self).__name__!r} declares no categorical choices "
                         f"schema (choices() / to_choices() / from_choices()); implement choices(), "
                         f"_encode_choices() and _decode_choices() on {type(self).__name__}")

    @property
    def has_choices(self) -> bool:
        """True when the space declares :meth:`choices`."""
        return type(self).choices is not SearchSpace.choices

    def to_choices(self, arch: Any) -> tuple[int, ...]:
        """The option index of ``arch`` for every choice, ``len(choices())`` ints.

        Raises
        ------
        ValueError
            When ``arch`` is not an architecture of the space, or the space has no schema.
        """
        self.choices()  # a clear error for spaces without a schema
        return tuple(int(i) for i in self._encode_choices(self.validate(arch)))

    def from_choices(self, index: Sequence[int]) -> Any | None:
        """The architecture an index vector names, or ``None`` when it names none of this space
        (an NB101 graph that is disconnected, an NAS-Bench-Graph cell with no benchmark
        representative, an arch outside a subset...).

        Parameters
        ----------
        index : sequence of int, length ``len(choices())``
            One option index per choice (Python or numpy ints; a numpy int array is fine).

        Raises
        ------
        ValueError
            For a malformed vector (wrong length, an entry that is not an int, an index out of
            its choice's range), or when the space has no schema.
        """
        return self._decode_choices(self.check_choices(index))

    def check_choices(self, index: Sequence[int]) -> tuple[int, ...]:
        """``index`` as a tuple of Python ints after checking it against :meth:`choices`.

        Raises
        ------
        ValueError
            Naming the first problem: not a sequence, wrong length, a non-int entry (bools and
            floats are refused), or an index outside ``0 .. len(options) - 1``.
        """
        schema = self.choices()
        if isinstance(index, (str, bytes)) or not hasattr(index, "__len__"):
            raise ValueError(f"a choice vector is a sequence of {len(schema)} ints (one option index "
                             f"per choice of {self.name!r}), got {index!r}")
        if isinstance(index, np.ndarray):
            index = index.tolist()
        if len(index) != len(schema):
            raise ValueError(f"the {self.name!r} space has {len(schema)} choices, got a vector of "
                             f"{len(index)}: {tuple(index)!r}")
        out = []
        for i, (v, c) in enumerate(zip(index, schema)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"choice {i} ({c.name!r}) needs an int option index, got {v!r}")
            if not 0 <= v < len(c.options):
                raise ValueError(f"choice {i} ({c.name!r}) has {len(c.options)} options, so its index "
                                 f"must be in 0..{len(c.options) - 1}; got {v}")
            out.append(int(v))
        return tuple(out)

    def _encode_choices(self, arch: Any) -> Sequence[int]:
        """Index vector of a validated ``arch`` (override with :meth:`choices`)."""
        self.choices()
        raise NotImplementedError(f"{type(self).__name__} declares choices() but not _encode_choices()")

    def _decode_choices(self, index: tuple[int, ...]) -> Any | None:
        """Architecture of a checked index vector, or ``None`` (override with :meth:`choices`)."""
        self.choices()
        raise NotImplementedError(f"{type(self).__name__} declares choices() but not _decode_choices()")

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
