"""NAS-Bench-Graph GNN space (Qin et al., NeurIPS 2022 Datasets & Benchmarks).

A cell has an input node, 4 op nodes and an output node.  ``link[i]`` names the node op node
``i + 1`` reads: 0 is the input, ``j >= 1`` is op node ``j`` (so ``link[i] <= i``).  Op nodes
that no other op node reads are the cell's outputs and feed the output node.  Only 9 wiring
patterns (:data:`LINKS`) are used; each op node carries one of 9 GNN ops (:data:`OPS`).

The benchmark keeps one representative per equivalence class: ``skip`` is an identity, so a
skip that is read by another op, or that only copies the input, or that is the only reader of
its parent, is "hoisted" to the front of the cell; then ops on interchangeable positions are
sorted.  The representatives are the cells this normal form leaves unchanged (the all-skip
cell excluded): 26,206 cells, 2,021 of them built only from :data:`PROTEINS_OPS`.
:func:`normal_form` reimplements that rule, and :meth:`NBGraphSpace.enumerate` lists the fixed
points; both agree exactly with the keys of the published ``.bench`` tables.

Benchmark keys (:meth:`NBGraphSpace.to_key`) are ``link_id * 10**4`` plus the four op indices
as base-10 digits, op indices into the 9-op :data:`OPS` list.  The proteins table uses the
same encoding (its digits are only 1, 4, 5, 7, 8 = gcn, sage, arma, fc, skip), not indices
into the package's 5-op ``gnn_list_proteins``.

Choices schema (:meth:`NBGraphSpace.choices`): ``"link"`` (the 9 :data:`LINKS` patterns) then
``"op 1"`` .. ``"op 4"`` (the space's op set: 9 ops, or 5 for ``ops_set="proteins"``).  Most
vectors are not a benchmark representative; :meth:`~NBGraphSpace.from_choices` maps a vector to
the representative of its class with :func:`normal_form` (``None`` for the all-skip cell, which
has none), so ``from_choices(to_choices(a)) == a`` for every cell of the space.
"""
from __future__ import annotations

import importlib.util
import itertools
import pathlib
import re
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from .base import INPUT, OUTPUT, Choice, LabelledDAG, SearchSpace

#: the 9 wiring patterns, in the benchmark's link-id order (link id = index here).
LINKS: tuple[tuple[int, int, int, int], ...] = (
    (0, 0, 0, 0),
    (0, 0, 0, 1),
    (0, 0, 1, 1),
    (0, 0, 1, 2),
    (0, 0, 1, 3),
    (0, 1, 1, 1),
    (0, 1, 1, 2),
    (0, 1, 2, 2),
    (0, 1, 2, 3),
)
#: the 9 GNN ops, in the benchmark's op-digit order (digit = index here).
OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
#: the 5 ops of the proteins table.
PROTEINS_OPS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
#: names of the 9 light benchmark tables shipped in the ``nas-bench-graph`` wheel.
DATASETS: tuple[str, ...] = (
    "cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins",
)
OP_SETS: dict[str, tuple[str, ...]] = {"full": OPS, "proteins": PROTEINS_OPS}

_N_OPS = 4
_KEY_BASE = 10
_LINK_UNIT = _KEY_BASE ** _N_OPS
_LINK_ID = {lk: i for i, lk in enumerate(LINKS)}
_OP_ID = {op: i for i, op in enumerate(OPS)}
_FORM = "'link=a,b,c,d;ops=o1,o2,o3,o4' with (a,b,c,d) one of the 9 LINKS patterns and o in OPS"
_STR_RE = re.compile(r"^link=([^;]*);ops=([^;]*)$")


@dataclass(frozen=True)
class NBGraphArch:
    """One NAS-Bench-Graph cell: the wiring pattern ``link`` and the 4 op names ``ops``.

    ``link`` must be one of :data:`LINKS` and each op one of :data:`OPS`.  Any such pair is a
    well-formed cell; only normal forms (see :func:`normal_form`) are in the benchmark.
    """

    link: tuple[int, int, int, int]
    ops: tuple[str, str, str, str]

    def __post_init__(self) -> None:
        link, ops = tuple(self.link), tuple(self.ops)
        if len(link) != _N_OPS or link not in _LINK_ID:
            raise ValueError(f"link must be a 4-tuple among the 9 LINKS patterns "
                             f"{', '.join(map(str, LINKS))}; got {self.link!r}")
        if len(ops) != _N_OPS:
            raise ValueError(f"ops must be 4 op names from OPS ({', '.join(OPS)}); got {self.ops!r}")
        bad = [o for o in ops if o not in _OP_ID]
        if bad:
            raise ValueError(f"unknown NAS-Bench-Graph op(s) {bad}; expected one of {', '.join(OPS)}")
        object.__setattr__(self, "link", tuple(int(i) for i in link))
        object.__setattr__(self, "ops", ops)

    def __str__(self) -> str:
        return "link=" + ",".join(map(str, self.link)) + ";ops=" + ",".join(self.ops)


def bench_path(dataset: str) -> pathlib.Path:
    """Path of the wheel's ``light/<dataset>.bench`` table, found without importing the package.

    Raises ``ValueError`` for a name outside :data:`DATASETS` and ``FileNotFoundError`` when
    ``nas-bench-graph`` is not installed or lacks the file.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown NAS-Bench-Graph dataset {dataset!r}; expected one of "
                         f"{', '.join(DATASETS)}")
    spec = importlib.util.find_spec("nas_bench_graph")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package nas-bench-graph is not installed "
                                "(pip install nas-bench-graph==1.4.0)")
    for root in spec.submodule_search_locations:
        path = pathlib.Path(root) / "light" / f"{dataset}.bench"
        if path.is_file():
            return path
    raise FileNotFoundError(f"no light/{dataset}.bench in the installed nas_bench_graph package")


# -- the benchmark's normal form -------------------------------------------------------------

def _copies_input(link: Sequence[int], ops: Sequence[str], k: int) -> bool:
    """True when op ``k`` is a chain of skips back to the input (its value is the input)."""
    while k >= 0:
        if ops[k] != "skip":
            return False
        k = link[k] - 1
    return True


def _hoist(link: list[int], ops: list[str], k: int) -> tuple[list[int], list[str]]:
    """Move skip op ``k`` to the front, reading the input.

    Readers of the skip read its parent instead; every reader of the input reads the hoisted
    skip (node 1) instead; op nodes before ``k`` shift up by one.
    """
    def new_id(node: int) -> int:
        if node == 0:
            return 1
        if node <= k:
            return node + 1
        if node == k + 1:
            return new_id(link[k])
        return node

    rest = [j for j in range(_N_OPS) if j != k]
    return [0] + [new_id(link[j]) for j in rest], [ops[k]] + [ops[j] for j in rest]


def _hoist_skips(link: list[int], ops: list[str]) -> tuple[list[int], list[str]]:
    """One left-to-right pass hoisting every skip except a cell output with a sibling that
    does not merely copy the input; then fold two mirror patterns back into :data:`LINKS`."""
    for i in range(_N_OPS):
        if ops[i] != "skip":
            continue
        read = any(p == i + 1 for p in link)
        sibling = any(j != i and p == link[i] for j, p in enumerate(link))
        if read or not sibling or _copies_input(link, ops, i):
            link, ops = _hoist(link, ops, i)
    if link == [0, 1, 2, 1]:
        link, ops = [0, 1, 1, 2], [ops[0], ops[1], ops[3], ops[2]]
    elif link == [0, 1, 1, 3]:
        link, ops = [0, 1, 1, 2], [ops[0], ops[2], ops[1], ops[3]]
    return link, ops


#: positions holding interchangeable ops (same parent, no readers), per link pattern.
_SYMMETRIC = {
    (0, 0, 0, 0): (0, 1, 2, 3),
    (0, 0, 0, 1): (1, 2),
    (0, 0, 1, 1): (2, 3),
    (0, 1, 1, 1): (1, 2, 3),
    (0, 1, 2, 2): (2, 3),
}


def _sort_symmetric(link: Sequence[int], ops: list[str]) -> list[str]:
    """Sort interchangeable ops by their :data:`OPS` index.

    In ``(0, 0, 1, 2)`` the two branches (op 1 -> op 3, op 2 -> op 4) swap as wholes, ordered
    by (first op, second op).
    """
    ops = list(ops)
    link = tuple(link)
    if link == (0, 0, 1, 2):
        a, b = (_OP_ID[ops[0]], _OP_ID[ops[2]]), (_OP_ID[ops[1]], _OP_ID[ops[3]])
        if a > b:
            ops = [ops[1], ops[0], ops[3], ops[2]]
    elif link in _SYMMETRIC:
        pos = _SYMMETRIC[link]
        for p, op in zip(pos, sorted((ops[p] for p in pos), key=_OP_ID.__getitem__)):
            ops[p] = op
    return ops


def _normal_pair(link: Sequence[int], ops: Sequence[str]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    link, ops = _hoist_skips(list(link), list(ops))
    return tuple(link), tuple(_sort_symmetric(link, ops))


def is_normal(arch: NBGraphArch) -> bool:
    """True when ``arch`` is the benchmark's representative of its class (fixed point of the
    normal form, and not the all-skip cell)."""
    if all(o == "skip" for o in arch.ops):
        return False
    return _normal_pair(arch.link, arch.ops) == (arch.link, arch.ops)


def normal_form(arch: NBGraphArch) -> NBGraphArch | None:
    """The benchmark representative of ``arch``'s class, or ``None`` for the all-skip cell.

    For cells with a link in :data:`LINKS` one pass of the rule is idempotent and lands in the
    benchmark (checked for all 9 * 9**4 cells), so no iteration is needed.
    """
    if all(o == "skip" for o in arch.ops):
        return None
    link, ops = _normal_pair(arch.link, arch.ops)
    if link not in _LINK_ID:  # cannot happen for LINKS inputs; guard against misuse
        return None
    return NBGraphArch(link, ops)  # type: ignore[arg-type]


# -- the space ------------------------------------------------------------------------------

class NBGraphSpace(SearchSpace):
    """The NAS-Bench-Graph space: exactly the cells with a row in the benchmark tables.

    ``ops_set="full"`` (9 ops, 26,206 cells; the 8 tables other than proteins) or
    ``"proteins"`` (5 ops, 2,021 cells; the proteins table).
    """

    name = "nbgraph"
    zero_ops: tuple[str, ...] = ()
    max_path_length = 4
    min_path_length = 1
    fixed_topology = False
    max_nodes = 6  # input, 4 op nodes, output

    def __init__(self, ops_set: str = "full") -> None:
        if ops_set not in OP_SETS:
            raise ValueError(f"unknown ops_set {ops_set!r}; expected one of {', '.join(OP_SETS)}")
        self.ops_set = ops_set
        self.ops = OP_SETS[ops_set]
        self._archs: list[NBGraphArch] | None = None

    def __repr__(self) -> str:
        return f"NBGraphSpace(ops_set={self.ops_set!r})"

    def __len__(self) -> int:
        return len(self._all())

    # identity
    def to_str(self, arch: NBGraphArch) -> str:
        """``'link=0,0,1,2;ops=gcn,gat,skip,sage'``."""
        return str(self.validate(arch))

    def from_str(self, text: str) -> NBGraphArch:
        """Parse :meth:`to_str`'s form; ``ValueError`` naming the form on bad input."""
        if not isinstance(text, str):
            raise ValueError(f"expected a NAS-Bench-Graph string {_FORM}, got {type(text).__name__}")
        m = _STR_RE.match(text.strip().replace(" ", ""))
        if not m:
            raise ValueError(f"expected a NAS-Bench-Graph string {_FORM}, got {text!r}")
        try:
            link = tuple(int(t) for t in m.group(1).split(","))
        except ValueError:
            raise ValueError(f"link must be 4 integers; expected {_FORM}, got {text!r}") from None
        return self.validate(NBGraphArch(link, tuple(m.group(2).split(","))))  # type: ignore[arg-type]

    def validate(self, arch) -> NBGraphArch:
        """``arch`` if it is a benchmark cell of this space, else ``ValueError``."""
        if not isinstance(arch, NBGraphArch):
            raise ValueError(f"expected an NBGraphArch (nbgraph space), got {type(arch).__name__}: {arch!r}")
        bad = [o for o in arch.ops if o not in self.ops]
        if bad:
            raise ValueError(f"op(s) {bad} not in the {self.ops_set!r} op set ({', '.join(self.ops)})")
        if not is_normal(arch):
            raise ValueError(f"{arch} is not a NAS-Bench-Graph benchmark cell (not the representative "
                             f"of its class); normal_form(arch) gives the representative")
        return arch

    # benchmark keys
    def to_key(self, arch: NBGraphArch) -> int:
        """The integer key of ``arch`` in the ``.bench`` tables."""
        arch = self.validate(arch)
        key = _LINK_ID[arch.link]
        for op in arch.ops:
            key = key * _KEY_BASE + _OP_ID[op]
        return key

    def from_key(self, key: int) -> NBGraphArch:
        """Decode a ``.bench`` key; ``ValueError`` when it is not a key of this space's table."""
        if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
            raise ValueError(f"a NAS-Bench-Graph key is an int (link_id * 10**4 + 4 op digits), got {key!r}")
        key = int(key)
        link_id, digits = divmod(key, _LINK_UNIT)
        if key < 0 or link_id >= len(LINKS):
            raise ValueError(f"unknown NAS-Bench-Graph key {key}: link id must be 0..{len(LINKS) - 1} "
                             f"(key = link_id * 10**4 + 4 op digits)")
        ids = [int(c) for c in f"{digits:04d}"]
        if any(i >= len(OPS) for i in ids):
            raise ValueError(f"unknown NAS-Bench-Graph key {key}: op digits must be 0..{len(OPS) - 1}")
        arch = NBGraphArch(LINKS[link_id], tuple(OPS[i] for i in ids))  # type: ignore[arg-type]
        try:
            return self.validate(arch)
        except ValueError as err:
            raise ValueError(f"unknown NAS-Bench-Graph key {key} for the {self.ops_set!r} table: {err}") from None

    # choices schema
    def choices(self) -> tuple[Choice, ...]:
        """``"link"`` (options :data:`LINKS`), then ``"op 1"`` .. ``"op 4"`` (options
        :attr:`ops`, this space's op set)."""
        return (Choice("link", LINKS),) + tuple(Choice(f"op {k}", self.ops) for k in range(1, _N_OPS + 1))

    def _encode_choices(self, arch: NBGraphArch) -> list[int]:
        return [_LINK_ID[arch.link]] + [self.ops.index(op) for op in arch.ops]

    def _decode_choices(self, index: tuple[int, ...]) -> NBGraphArch | None:
        """The benchmark representative of the cell the vector spells (:func:`normal_form`),
        ``None`` for the all-skip cell."""
        cell = NBGraphArch(LINKS[index[0]], tuple(self.ops[i] for i in index[1:]))  # type: ignore[arg-type]
        return normal_form(cell)

    # enumeration and sampling
    def _all(self) -> list[NBGraphArch]:
        if self._archs is None:
            self._archs = [
                a for link in LINKS for ops in itertools.product(self.ops, repeat=_N_OPS)
                if is_normal(a := NBGraphArch(link, ops))  # type: ignore[arg-type]
            ]
        return self._archs

    def enumerate(self) -> Iterator[NBGraphArch]:
        """Every benchmark cell of this op set (26,206 full, 2,021 proteins), link-major."""
        return iter(self._all())

    def sample(self, rng: np.random.Generator) -> NBGraphArch:
        """A benchmark cell drawn uniformly."""
        archs = self._all()
        return archs[int(rng.integers(len(archs)))]

    def neighbours(self, arch: NBGraphArch) -> list[NBGraphArch]:
        """Cells one op change or one link-pattern change away, mapped to their benchmark
        representative (dropped when it has none, duplicates and ``arch`` itself removed)."""
        arch = self.validate(arch)
        cands = [NBGraphArch(lk, arch.ops) for lk in LINKS if lk != arch.link]
        for i, old in enumerate(arch.ops):
            cands += [NBGraphArch(arch.link, arch.ops[:i] + (op,) + arch.ops[i + 1:])
                      for op in self.ops if op != old]
        out: dict[NBGraphArch, None] = {}
        for cand in cands:
            rep = normal_form(cand)
            if rep is not None and rep != arch:
                out.setdefault(rep, None)
        return list(out)

    # structure
    def to_dag(self, arch: NBGraphArch) -> LabelledDAG:
        """Input (node 0), op nodes 1..4 labelled with their ops, output (node 5).

        Edge ``link[i] -> i + 1`` for each op; op nodes nobody reads feed the output.
        """
        arch = self.validate(arch)
        return _dag(arch)


def _dag(arch: NBGraphArch) -> LabelledDAG:
    n = _N_OPS + 2
    adj = [[0] * n for _ in range(n)]
    for i, parent in enumerate(arch.link):
        adj[parent][i + 1] = 1
    read = set(arch.link)
    for node in range(1, _N_OPS + 1):
        if node not in read:
            adj[node][n - 1] = 1
    return LabelledDAG(tuple(map(tuple, adj)), (INPUT, *arch.ops, OUTPUT))
