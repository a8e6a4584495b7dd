"""NAS-Bench-101 cell space (Ying et al., ICML 2019).

A cell is a DAG of at most 7 nodes in topological order (upper-triangular adjacency): the
first node is ``input``, the last ``output``, and each node between carries one op of
:data:`OPS`.  Following the nasbench API, the 9-edge limit applies to the *pruned* cell (the
nodes on some input-to-output path): NASLib's data stores raw 7-node matrices whose dangling
nodes may hold more edges, and those are kept as given so their keys round-trip exactly.

String form (:meth:`NB101Space.to_str`): the adjacency rows as 0/1 digits joined by ``.``,
then ``:``, then the node labels joined by ``,``::

    011.001.000:input,conv3x3-bn-relu,output

Choices schema (:meth:`NB101Space.choices`), 26 choices on a 7-node cell: ``"edge i->j"`` for
the 21 upper-triangular entries of the adjacency, row-major, options ``(0, 1)``; then
``"node k op"`` for the 5 interior nodes k = 1..5, options :data:`OPS`.
:meth:`~NB101Space.from_choices` returns the 7-node cell as written, not pruned (like
:meth:`~NB101Space.from_naslib`, so the vector of a NASLib row decodes to exactly that row), or
``None`` when it is not a valid cell (input disconnected from the output, or more than 9 edges
after pruning).  Cells with fewer than 7 nodes (pruned ones, as :meth:`~NB101Space.sample`
makes) are padded by :meth:`~NB101Space.to_choices` with edgeless nodes labelled ``OPS[0]``
just before the output; they decode to that padded cell, whose :meth:`~NB101Space.pruned` form
and :meth:`~NB101Space.canonical` key are the original's.  So ``from_choices(to_choices(a)) ==
a`` for 7-node cells, ``to_choices(from_choices(v)) == v`` for every valid vector ``v``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .base import INPUT, OUTPUT, Choice, LabelledDAG, SearchSpace, live_nodes, prune

#: intermediate-node ops.
OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
MAX_NODES = 7
MAX_EDGES = 9
#: NASLib's node-label ids (its ``convert_spec_to_tuple``): 0=input, 1=output, 2=maxpool3x3,
#: 3=conv1x1-bn-relu, 4=conv3x3-bn-relu.  (Not the order of OPS: checked against the 500 cells of
#: NASLib's zc_nasbench101.json, whose params all equal our NB101 networks' only with this order.)
_NASLIB_LABELS: tuple[str, ...] = (INPUT, OUTPUT, "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")
#: the adjacency entries the choices schema decides, row-major upper triangle of 7x7.
_EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for i in range(MAX_NODES) for j in range(i + 1, MAX_NODES))
#: the choices schema (module docstring): 21 edge bits, then the op of each interior node.
CHOICES: tuple[Choice, ...] = (tuple(Choice(f"edge {i}->{j}", (0, 1)) for i, j in _EDGES)
                               + tuple(Choice(f"node {k} op", OPS) for k in range(1, MAX_NODES - 1)))
_FORM = ("'<row>.<row>...:<label>,<label>...' (0/1 adjacency rows, upper triangular, then "
         f"node labels: input, any of {', '.join(OPS)}, output)")


@dataclass(frozen=True)
class NB101Arch:
    """One NB101 cell: ``matrix[i][j] == 1`` for an edge ``i -> j``; ``ops`` labels every node.

    Lists and arrays are accepted and stored as tuples.  Construction only validates (it does
    not prune); use :meth:`NB101Space.make` to drop dangling nodes.
    """

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        matrix, ops = _coerce(self.matrix, self.ops)
        object.__setattr__(self, "matrix", matrix)
        object.__setattr__(self, "ops", ops)
        _check(matrix, ops)

    @property
    def n_nodes(self) -> int:
        return len(self.ops)

    def array(self) -> np.ndarray:
        """The adjacency as an ``int8`` array."""
        return np.asarray(self.matrix, dtype=np.int8).reshape(self.n_nodes, self.n_nodes)

    def __str__(self) -> str:
        return to_nb101_string(self)


def _coerce(matrix, ops) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...]]:
    try:
        rows = tuple(tuple(row) for row in matrix)
        ops = tuple(ops)
    except TypeError:
        raise ValueError(f"an NB101 cell needs a square 0/1 matrix (rows of ints) and a sequence "
                         f"of op names, got {matrix!r}, {ops!r}") from None
    for row in rows:
        for v in row:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v not in (0, 1):
                raise ValueError(f"NB101 adjacency entries must be the ints 0/1, got {v!r}")
    return tuple(tuple(int(v) for v in row) for row in rows), ops


def _check(matrix: tuple[tuple[int, ...], ...], ops: tuple[str, ...]) -> None:
    n = len(matrix)
    if any(len(row) != n for row in matrix) or len(ops) != n:
        raise ValueError(f"an NB101 cell needs an n x n matrix and n op labels (n nodes), got "
                         f"{n} rows of lengths {[len(r) for r in matrix]} and {len(ops)} ops")
    if n < 2:
        raise ValueError(f"an NB101 cell needs at least the input and output nodes, got {n} node(s)")
    if n > MAX_NODES:
        raise ValueError(f"an NB101 cell has at most {MAX_NODES} nodes, got {n}")
    m = np.asarray(matrix, dtype=np.int8)
    if np.tril(m).any():
        raise ValueError("the NB101 adjacency must be upper triangular (a DAG in topological "
                         "order): no self loops, edges only from lower to higher node index")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise ValueError(f"an NB101 cell's first node must be {INPUT!r} and its last {OUTPUT!r}, "
                         f"got {ops[0]!r} ... {ops[-1]!r}")
    bad = [o for o in ops[1:-1] if o not in OPS]
    if bad:
        raise ValueError(f"unknown NB101 op(s) {bad}; intermediate nodes take one of {', '.join(OPS)}")
    live = live_nodes(m)
    if not live[-1]:
        raise ValueError("invalid NB101 cell: the input is disconnected from the output")
    n_edges = int(m[np.ix_(live, live)].sum())
    if n_edges > MAX_EDGES:
        raise ValueError(f"an NB101 cell has at most {MAX_EDGES} edges (counted after pruning "
                         f"dangling nodes), got {n_edges}")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def nasbench_hash(arch: NB101Arch) -> str:
    """The string NAS-Bench-101 keys a cell by (its ``ModelSpec.hash_spec``), for a pruned cell.

    The same iterated-neighbourhood MD5 as the nasbench API (Ying et al., ICML 2019), written
    out here so the strings match it exactly: nodes are labelled -1 (input), -2 (output) or
    their op's index in :data:`OPS` (the API's canonical op order); each node starts from the
    MD5 of the Python text of ``(out_degree, in_degree, label)``; for as many rounds as there are
    nodes, a node's hash becomes the MD5 of its in-neighbours' hashes sorted and concatenated,
    ``|``, its out-neighbours' likewise, ``|``, its own; the key is the MD5 of the Python text of
    the sorted list of final hashes.  Prune first (:meth:`NB101Space.pruned`), as the API does:
    :meth:`NB101Space.canonical` does both.

    >>> nasbench_hash(NB101Space().make([[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0],
    ...     [0, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1, 0],
    ...     [0, 0, 0, 0, 0, 0, 1], [0] * 7], ["input", "conv3x3-bn-relu", "maxpool3x3",
    ...     "conv3x3-bn-relu", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"]))
    '00005c142e6f48ac74fdcf73e3439874'
    """
    m = arch.array().astype(int)
    n = len(arch.ops)
    labels = [-1] + [OPS.index(op) for op in arch.ops[1:-1]] + [-2]
    ins, outs = m.sum(0).tolist(), m.sum(1).tolist()
    h = [_md5(str((outs[v], ins[v], labels[v]))) for v in range(n)]
    preds = [[u for u in range(n) if m[u, v]] for v in range(n)]
    succs = [[w for w in range(n) if m[v, w]] for v in range(n)]
    for _ in range(n):
        h = [_md5("".join(sorted(h[u] for u in preds[v])) + "|"
                  + "".join(sorted(h[w] for w in succs[v])) + "|" + h[v]) for v in range(n)]
    return _md5(str(sorted(h)))


def to_nb101_string(arch: NB101Arch) -> str:
    """The string form ``rows:labels`` described in the module docstring."""
    rows = ".".join("".join(str(v) for v in row) for row in arch.matrix)
    return rows + ":" + ",".join(arch.ops)


def from_nb101_string(text: str) -> NB101Arch:
    """Parse :func:`to_nb101_string`'s form; ``ValueError`` naming the form otherwise."""
    if not isinstance(text, str) or text.count(":") != 1:
        raise ValueError(f"expected an NB101 string {_FORM}, got {text!r}")
    rows_txt, ops_txt = text.strip().split(":")
    rows = rows_txt.split(".")
    if not all(r and set(r) <= {"0", "1"} for r in rows):
        raise ValueError(f"adjacency rows must be non-empty 0/1 digit strings; expected an "
                         f"NB101 string {_FORM}, got {text!r}")
    matrix = tuple(tuple(int(c) for c in r) for r in rows)
    try:
        return NB101Arch(matrix, tuple(ops_txt.split(",")))
    except ValueError as err:
        raise ValueError(f"{err}; expected an NB101 string {_FORM}") from None


class NB101Space(SearchSpace):
    """The NAS-Bench-101 cell space (about 423k unique cells: too many to enumerate)."""

    name = "nb101"
    ops = OPS
    max_path_length = 5  # input -> 5 op nodes -> output in a 7-node chain
    min_path_length = 0  # the input may feed the output directly
    zero_ops = ()
    fixed_topology = False
    max_nodes = MAX_NODES

    # identity
    def to_str(self, arch: NB101Arch) -> str:
        return to_nb101_string(self.validate(arch))

    def from_str(self, text: str) -> NB101Arch:
        return from_nb101_string(text)

    def validate(self, arch) -> NB101Arch:
        if not isinstance(arch, NB101Arch):
            raise ValueError(f"expected an NB101Arch (nb101 space), got {type(arch).__name__}: {arch!r}")
        return arch

    def make(self, matrix, ops: Sequence[str]) -> NB101Arch:
        """A validated cell with dangling nodes pruned; ``ValueError`` if input and output are
        disconnected or the cell is otherwise invalid."""
        return self.pruned(NB101Arch(matrix, ops))

    def pruned(self, arch: NB101Arch) -> NB101Arch:
        """``arch`` without the nodes that lie on no input-to-output path."""
        m, ops = prune(self.validate(arch).array(), arch.ops)
        return NB101Arch(m.tolist(), ops)

    # public formats
    def from_naslib(self, t: Sequence[int]) -> NB101Arch:
        """From NASLib's 56-tuple: 7x7 adjacency row-major, then 7 op ids (0=input, 1=output,
        2=maxpool3x3, 3=conv1x1-bn-relu, 4=conv3x3-bn-relu).  Kept as given (not pruned), so
        ``to_naslib(from_naslib(t)) == t``."""
        t = tuple(t)
        n = MAX_NODES
        if len(t) != n * n + n or not all(isinstance(v, (int, np.integer)) for v in t):
            raise ValueError(f"expected NASLib's 56-tuple of ints (7x7 adjacency row-major + 7 op "
                             f"ids), got {len(t)} values: {t!r}")
        ids = t[n * n:]
        if not all(0 <= i < len(_NASLIB_LABELS) for i in ids):
            raise ValueError(f"NASLib NB101 op ids must be in 0..4, got {ids!r}")
        rows = [t[i * n:(i + 1) * n] for i in range(n)]
        return NB101Arch(rows, tuple(_NASLIB_LABELS[int(i)] for i in ids))

    def to_naslib(self, arch: NB101Arch) -> tuple[int, ...]:
        """NASLib's 56-tuple.  It has room for exactly 7 nodes, and NASLib's keys for smaller
        cells depend on which dangling nodes were sampled, so cells with fewer than 7 nodes are
        not padded: they raise ``ValueError``."""
        arch = self.validate(arch)
        if arch.n_nodes != MAX_NODES:
            raise ValueError(f"NASLib's 56-tuple needs a cell with exactly 7 nodes, got "
                             f"{arch.n_nodes}; padding would not match NASLib's keys")
        flat = [v for row in arch.matrix for v in row]
        return tuple(flat + [_NASLIB_LABELS.index(o) for o in arch.ops])

    def from_spec(self, matrix, ops: Sequence[str]) -> NB101Arch:
        """From the nasbench API's ``ModelSpec(matrix, ops)`` arguments, kept as given."""
        return NB101Arch(matrix, ops)

    def to_spec(self, arch: NB101Arch) -> tuple[list[list[int]], list[str]]:
        """``(matrix as nested lists, op names)`` for the nasbench API's ``ModelSpec``."""
        arch = self.validate(arch)
        return [list(row) for row in arch.matrix], list(arch.ops)

    # choices schema
    def choices(self) -> tuple[Choice, ...]:
        """21 edge bits ``"edge i->j"`` (options ``(0, 1)``) then 5 ``"node k op"`` choices
        (options :data:`OPS`); see the module docstring for padding and validity."""
        return CHOICES

    def _encode_choices(self, arch: NB101Arch) -> list[int]:
        m, ops = arch.array(), list(arch.ops)
        pad = MAX_NODES - arch.n_nodes
        if pad:  # edgeless OPS[0] nodes just before the output
            m = np.insert(np.insert(m, [arch.n_nodes - 1] * pad, 0, axis=0), [arch.n_nodes - 1] * pad, 0, axis=1)
            ops = ops[:-1] + [OPS[0]] * pad + ops[-1:]
        return [int(m[i, j]) for i, j in _EDGES] + [OPS.index(o) for o in ops[1:-1]]

    def _decode_choices(self, index: tuple[int, ...]) -> NB101Arch | None:
        """The 7-node cell as written, or ``None`` when it is not a valid NB101 cell."""
        m = [[0] * MAX_NODES for _ in range(MAX_NODES)]
        for (i, j), bit in zip(_EDGES, index):
            m[i][j] = bit
        ops = (INPUT, *(OPS[i] for i in index[len(_EDGES):]), OUTPUT)
        try:
            return NB101Arch(m, ops)
        except ValueError:
            return None

    # sampling
    def sample(self, rng: np.random.Generator) -> NB101Arch:
        """A random 7-node upper-triangular matrix and random ops, pruned; redrawn until valid."""
        while True:
            m = np.triu(rng.integers(0, 2, size=(MAX_NODES, MAX_NODES)), 1)
            mid = [OPS[i] for i in rng.integers(0, len(OPS), size=MAX_NODES - 2)]
            try:
                return self.make(m.tolist(), [INPUT, *mid, OUTPUT])
            except ValueError:
                continue

    def neighbours(self, arch: NB101Arch) -> list[NB101Arch]:
        """Every valid cell from one op change or one edge flip, pruned, one per isomorphism
        class (:meth:`canonical`), leaving out cells isomorphic to ``arch``.

        Pruned cells have no dangling nodes to grow from, so cells with fewer than 7 nodes also
        get one growth move: split an edge ``i -> j`` into ``i -> new -> j`` (any op on the new
        node).  Without it the 2-node cell ``input -> output`` would have no neighbours.
        """
        arch = self.validate(arch)
        m, ops, n = arch.array(), list(arch.ops), arch.n_nodes
        candidates = self._splits(m, ops) if n < MAX_NODES else []
        for i in range(1, n - 1):
            for op in OPS:
                if op != ops[i]:
                    candidates.append((m, ops[:i] + [op] + ops[i + 1:]))
        for i in range(n):
            for j in range(i + 1, n):
                flipped = m.copy()
                flipped[i, j] ^= 1
                candidates.append((flipped, ops))
        seen = {self.canonical(arch)}
        out = []
        for cm, cops in candidates:
            try:
                cand = self.make(cm.tolist(), cops)
            except ValueError:
                continue
            key = self.canonical(cand)
            if key not in seen:
                seen.add(key)
                out.append(cand)
        return out

    @staticmethod
    def _splits(m: np.ndarray, ops: list[str]) -> list[tuple[np.ndarray, list[str]]]:
        """Cells made by inserting a node on one edge ``i -> j`` (the new node takes index j)."""
        out = []
        for i, j in zip(*np.nonzero(m)):
            grown = np.insert(np.insert(m, j, 0, axis=0), j, 0, axis=1)
            grown[i, j + 1] = 0
            grown[i, j] = grown[j, j + 1] = 1
            for op in OPS:
                out.append((grown, ops[:j] + [op] + ops[j:]))
        return out

    # structure
    def canonical(self, arch: NB101Arch) -> str:
        """NAS-Bench-101's own hash of the cell (:func:`nasbench_hash`), so keys join with
        hash-keyed NB101 data; isomorphic cells share it."""
        return nasbench_hash(self.pruned(self.validate(arch)))

    def to_dag(self, arch: NB101Arch) -> LabelledDAG:
        """The cell itself: its adjacency and node labels, as given (not pruned)."""
        arch = self.validate(arch)
        return LabelledDAG(arch.matrix, arch.ops)
