"""NAS-Bench-201 cell space (Dong & Yang, ICLR 2020).

A cell has 4 nodes and 6 edges ``(0->1, 0->2, 0->3, 1->2, 1->3, 2->3)`` (NASLib's order); each
edge carries one of 5 ops, so the space holds 5**6 = 15,625 cells.

Choices schema (:meth:`NB201Space.choices`): 6 choices ``"edge i->j"`` in NASLib's edge order,
each with the 5 :data:`OPS` as options; the choice vector is NASLib's op-id tuple, and every
vector names a cell (``from_choices(to_choices(a)) == a`` for all 15,625).
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from .base import INPUT, OUTPUT, Choice, LabelledDAG, SearchSpace

#: NASLib's op ids: 0=skip_connect, 1=none, 2=nor_conv_3x3, 3=nor_conv_1x1, 4=avg_pool_3x3.
OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: edges as (from, to), in NASLib's order.
NASLIB_ORDER: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
#: the choices schema: the op on each edge, NASLib's edge order.
CHOICES: tuple[Choice, ...] = tuple(Choice(f"edge {i}->{j}", OPS) for i, j in NASLIB_ORDER)
_FORM = "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' with op in " + ", ".join(OPS)
_TOKEN = re.compile(r"^([a-z0-9_]+)~(\d)$")


@dataclass(frozen=True, order=True)
class NB201Arch:
    """One NB201 cell: the op on each edge, in NASLib's edge order ``NASLIB_ORDER``."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.ops, tuple) or len(self.ops) != 6:
            raise ValueError(f"an NB201 cell has 6 edge ops in NASLib order, got {self.ops!r}")
        bad = [o for o in self.ops if o not in OPS]
        if bad:
            raise ValueError(f"unknown NB201 op(s) {bad}; expected one of {', '.join(OPS)}")

    def __str__(self) -> str:
        return to_nb201_string(self)


def to_nb201_string(arch: NB201Arch) -> str:
    by_edge = dict(zip(NASLIB_ORDER, arch.ops))
    parts = []
    for j in (1, 2, 3):
        parts.append("|" + "|".join(f"{by_edge[(i, j)]}~{i}" for i in range(j)) + "|")
    return "+".join(parts)


def from_nb201_string(text: str) -> NB201Arch:
    if not isinstance(text, str):
        raise ValueError(f"expected an NB201 string {_FORM}, got {type(text).__name__}")
    nodes = text.strip().split("+")
    if len(nodes) != 3:
        raise ValueError(f"{text!r} is not an arch of NB201: expected 3 node groups in an NB201 string {_FORM}")
    by_edge: dict[tuple[int, int], str] = {}
    for j, group in enumerate(nodes, start=1):
        if not (group.startswith("|") and group.endswith("|")):
            raise ValueError(f"node group {group!r} must be wrapped in '|'; expected {_FORM}")
        tokens = group[1:-1].split("|")
        if len(tokens) != j:
            raise ValueError(f"node {j} needs {j} inputs, got {group!r}; expected {_FORM}")
        for i, tok in enumerate(tokens):
            m = _TOKEN.match(tok)
            if not m or int(m.group(2)) != i:
                raise ValueError(f"bad edge token {tok!r} (want 'op~{i}'); expected {_FORM}")
            if m.group(1) not in OPS:
                raise ValueError(f"unknown NB201 op {m.group(1)!r}; expected one of {', '.join(OPS)}")
            by_edge[(i, j)] = m.group(1)
    return NB201Arch(tuple(by_edge[e] for e in NASLIB_ORDER))


class NB201Space(SearchSpace):
    """The NAS-Bench-201 cell space.  Finite: :meth:`enumerate` lists all 15,625 cells."""

    name = "nb201"
    ops = OPS
    max_path_length = 3
    min_path_length = 1
    zero_ops = ("none",)
    fixed_topology = True
    max_nodes = 8  # input, one node per edge, output

    def __len__(self) -> int:
        return len(OPS) ** 6

    # identity
    def to_str(self, arch: NB201Arch) -> str:
        return to_nb201_string(self.validate(arch))

    def from_str(self, text: str) -> NB201Arch:
        return from_nb201_string(text)

    def validate(self, arch) -> NB201Arch:
        if not isinstance(arch, NB201Arch):
            raise ValueError(f"expected an NB201Arch (nb201 space), got {type(arch).__name__}: {arch!r}")
        return arch

    # public formats
    def from_naslib(self, ids: Sequence[int]) -> NB201Arch:
        """From NASLib's 6-tuple of op ids (edge order ``NASLIB_ORDER``, ids index ``OPS``)."""
        ids = tuple(ids)
        if len(ids) != 6 or not all(isinstance(i, (int, np.integer)) and 0 <= i < 5 for i in ids):
            raise ValueError(f"expected NASLib's 6-tuple of NB201 op ids in 0..4, got {ids!r}")
        return NB201Arch(tuple(OPS[int(i)] for i in ids))

    def to_naslib(self, arch: NB201Arch) -> tuple[int, ...]:
        return tuple(OPS.index(o) for o in self.validate(arch).ops)

    # choices schema
    def choices(self) -> tuple[Choice, ...]:
        """6 choices ``"edge i->j"`` (NASLib's edge order), options :data:`OPS`."""
        return CHOICES

    def _encode_choices(self, arch: NB201Arch) -> tuple[int, ...]:
        return tuple(OPS.index(o) for o in arch.ops)

    def _decode_choices(self, index: tuple[int, ...]) -> NB201Arch:
        return NB201Arch(tuple(OPS[i] for i in index))

    # sampling
    def sample(self, rng: np.random.Generator) -> NB201Arch:
        return NB201Arch(tuple(OPS[i] for i in rng.integers(0, 5, size=6)))

    def neighbours(self, arch: NB201Arch) -> list[NB201Arch]:
        arch = self.validate(arch)
        out = []
        for e in range(6):
            for op in OPS:
                if op != arch.ops[e]:
                    out.append(NB201Arch(arch.ops[:e] + (op,) + arch.ops[e + 1:]))
        return out

    def enumerate(self) -> Iterator[NB201Arch]:
        for ops in itertools.product(OPS, repeat=6):
            yield NB201Arch(ops)

    # structure
    def to_dag(self, arch: NB201Arch) -> LabelledDAG:
        """Edges become nodes: input, the 6 edge ops (NASLib order), output.

        Edge-node ``(i->j)`` feeds edge-node ``(j->k)``; edges leaving cell node 0 read the input;
        edges entering cell node 3 feed the output.
        """
        arch = self.validate(arch)
        return LabelledDAG(_NB201_ADJ, (INPUT, *arch.ops, OUTPUT))

    def has_live_path(self, arch: NB201Arch) -> bool:
        """True when some input-to-output path avoids every ``none`` edge."""
        live = {0}
        by_edge = dict(zip(NASLIB_ORDER, self.validate(arch).ops))
        for j in (1, 2, 3):
            if any(i in live and by_edge[(i, j)] != "none" for i in range(j)):
                live.add(j)
        return 3 in live

    def functional_key(self, arch: NB201Arch) -> str:
        """Key under NB201's own rule for "unique" cells (Dong & Yang, 2020), giving 6,466 classes.

        Each node is written as the sorted sum of its input terms: ``skip_connect`` passes its
        input's expression, ``none`` (or an input that is exactly one zero term) gives a zero
        term ``#``, any other op wraps its input.  Zero terms stay in the sum, and a node whose
        inputs are several zero terms is not recognised as zero; both follow the reference rule,
        so the count matches the paper.  :meth:`canonical` is plain graph isomorphism after
        pruning ``none`` edges and dead nodes (8,765 classes): it does not treat skip as
        identity, so it merges fewer cells.
        """
        by_edge = dict(zip(NASLIB_ORDER, self.validate(arch).ops))
        expr = {0: "in"}
        for j in (1, 2, 3):
            terms = []
            for i in range(j):
                op, src = by_edge[(i, j)], expr[i]
                if op == "none" or src == "#":
                    terms.append("#")
                elif op == "skip_connect":
                    terms.append(src)
                else:
                    terms.append(f"({src})@{op}")
            expr[j] = "+".join(sorted(terms))
        return expr[3]


def _build_adj() -> tuple[tuple[int, ...], ...]:
    """Adjacency of the edge-as-node DAG shared by every NB201 cell."""
    n = 8
    m = [[0] * n for _ in range(n)]
    for a, (i, j) in enumerate(NASLIB_ORDER, start=1):
        if i == 0:
            m[0][a] = 1
        if j == 3:
            m[a][n - 1] = 1
        for b, (k, _l) in enumerate(NASLIB_ORDER, start=1):
            if k == j:
                m[a][b] = 1
    return tuple(tuple(r) for r in m)


_NB201_ADJ = _build_adj()
