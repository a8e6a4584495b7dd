"""DARTS / NAS-Bench-301 space (Liu et al., ICLR 2019; Siems et al., 2020).

A genotype is a normal cell and a reduction cell, each 8 ``(input, op)`` pairs.  Pairs ``2k``
and ``2k+1`` feed intermediate node ``k+2`` (k = 0..3), which sums them; inputs 0 and 1 are
the cell inputs ``c_{k-2}`` and ``c_{k-1}``, inputs 2..5 intermediate nodes, so pair ``p``
may read inputs ``0..p//2+1``.  The two pairs of one node read different inputs (as DARTS
derives them; all 725 NAS-Bench-301 rows in NASLib's data obey this).  The cell output
concatenates nodes 2..5.

String form (:meth:`DartsSpace.to_str`)::

    normal=[(0,sep_conv_3x3),(1,skip_connect),...8 pairs];reduce=[...8 pairs]

Choices schema (:meth:`DartsSpace.choices`), 24 choices: for the normal then the reduction
cell, for each intermediate node ``k = 2..5`` in turn,

* ``"<cell> node k inputs"``: the ordered input pair ``(i, j)`` of pairs ``2(k-2)`` and
  ``2(k-2)+1``, options every ordered pair of distinct inputs in ``0..k-1`` (2, 6, 12 and 20
  options for k = 2..5);
* ``"<cell> node k op 0"`` and ``"<cell> node k op 1"``: the ops of those two pairs, options
  :data:`OPS`.

Every index vector is a genotype, and ``from_choices(to_choices(a)) == a`` exactly (the order
of a node's two pairs is kept: ``(i, j)`` and ``(j, i)`` are different options).
"""
from __future__ import annotations

import itertools
import re
from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .base import OUTPUT, Choice, LabelledDAG, SearchSpace

#: NASLib's op order: the op id of a pair indexes this tuple.
OPS: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                        "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
N_PAIRS = 8
CONCAT: tuple[int, ...] = (2, 3, 4, 5)
#: the DARTS code's genotype record: ``normal``/``reduce`` are lists of ``(op, input)``.
Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

Pair = tuple[int, str]
CELLS: tuple[str, ...] = ("normal", "reduce")


def _build_choices() -> tuple[Choice, ...]:
    out = []
    for cell in CELLS:
        for k in range(2, 2 + N_PAIRS // 2):
            out.append(Choice(f"{cell} node {k} inputs", tuple(itertools.permutations(range(k), 2))))
            out += [Choice(f"{cell} node {k} op {s}", OPS) for s in (0, 1)]
    return tuple(out)


#: the choices schema (module docstring): per cell and node, its input pair then its two ops.
CHOICES: tuple[Choice, ...] = _build_choices()
#: option index of an ordered input pair, per node (node k at position k - 2).
_PAIR_INDEX: tuple[dict[tuple[int, int], int], ...] = tuple(
    {pair: i for i, pair in enumerate(CHOICES[3 * (k - 2)].options)} for k in range(2, 6))
_CELL_FORM = "8 (input, op) pairs, pair p reading input 0..p//2+1, op in " + ", ".join(OPS)
_FORM = "'normal=[(i,op),...8 pairs];reduce=[(i,op),...8 pairs]'"
_STR = re.compile(r"^normal=\[(.*)\];reduce=\[(.*)\]$")
_PAIR = re.compile(r"^\((\d+),([a-z0-9_]+)\)$")


@dataclass(frozen=True, order=True)
class DartsArch:
    """One genotype: ``normal`` and ``reduce`` are 8 ``(input, op name)`` pairs each."""

    normal: tuple[Pair, ...]
    reduce: tuple[Pair, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "normal", _check_cell(self.normal, "normal"))
        object.__setattr__(self, "reduce", _check_cell(self.reduce, "reduce"))

    def __str__(self) -> str:
        return to_darts_string(self)


def _check_cell(cell: Any, which: str) -> tuple[Pair, ...]:
    try:
        pairs = tuple(tuple(p) for p in cell)
    except TypeError:
        raise ValueError(f"the {which} cell must be {_CELL_FORM}, got {cell!r}") from None
    if len(pairs) != N_PAIRS or any(len(p) != 2 for p in pairs):
        raise ValueError(f"the {which} cell must be {_CELL_FORM}, got {cell!r}")
    out = []
    for p, (i, op) in enumerate(pairs):
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise ValueError(f"{which} pair {p}: input must be an int, got {i!r}; expected {_CELL_FORM}")
        if not 0 <= i <= p // 2 + 1:
            raise ValueError(f"{which} pair {p}: illegal input index {i} (pair {p} feeds node "
                             f"{p // 2 + 2}, so it may read 0..{p // 2 + 1})")
        if op not in OPS:
            raise ValueError(f"{which} pair {p}: unknown DARTS op {op!r}; expected one of {', '.join(OPS)}")
        out.append((int(i), op))
    for k in range(N_PAIRS // 2):
        if out[2 * k][0] == out[2 * k + 1][0]:
            raise ValueError(f"{which} node {k + 2}: its two pairs must read different inputs, "
                             f"both read {out[2 * k][0]}")
    return tuple(out)


def _cell_str(cell: Sequence[Pair]) -> str:
    return "[" + ",".join(f"({i},{op})" for i, op in cell) + "]"


def to_darts_string(arch: DartsArch) -> str:
    """``normal=[(i,op),...];reduce=[(i,op),...]`` with no spaces."""
    return f"normal={_cell_str(arch.normal)};reduce={_cell_str(arch.reduce)}"


def from_darts_string(text: str) -> DartsArch:
    """Parse :func:`to_darts_string`'s form; ``ValueError`` naming the form otherwise."""
    m = _STR.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"expected a DARTS string {_FORM}, got {text!r}")
    cells = []
    for body in m.groups():
        tokens = re.findall(r"\([^()]*\)", body)
        if ",".join(tokens) != body:
            raise ValueError(f"bad pair list [{body}]; expected a DARTS string {_FORM}")
        pairs = []
        for tok in tokens:
            pm = _PAIR.match(tok)
            if not pm:
                raise ValueError(f"bad pair {tok!r}; expected a DARTS string {_FORM}")
            pairs.append((int(pm.group(1)), pm.group(2)))
        cells.append(pairs)
    try:
        return DartsArch(*cells)
    except ValueError as err:
        raise ValueError(f"{err}; expected a DARTS string {_FORM}") from None


class DartsSpace(SearchSpace):
    """The DARTS / NAS-Bench-301 genotype space (about 10**18 genotypes: not enumerable)."""

    name = "darts"
    ops = OPS
    #: paths the path encoding keeps, in op nodes: a full chain through one cell (4).  The DAG
    #: has paths of up to 8 op nodes (4 per cell), but 7**8 path features would be unusable.
    max_path_length = 4
    #: ``input1`` -> one reduction pair reading ``c_{k-2}`` -> output.
    min_path_length = 1
    zero_ops = ()
    fixed_topology = False
    max_nodes = 2 + N_PAIRS + 1 + N_PAIRS + 1  # inputs, normal pairs, concat, reduce pairs, output
    #: input nodes at the front of every DAG (read by the encodings).
    n_inputs = 2
    #: DAG labels that are not ops (read by the graph encoding).
    structural_labels: tuple[str, ...] = ("input0", "input1", "concat", OUTPUT)

    # identity
    def to_str(self, arch: DartsArch) -> str:
        return to_darts_string(self.validate(arch))

    def from_str(self, text: str) -> DartsArch:
        return from_darts_string(text)

    def validate(self, arch) -> DartsArch:
        if not isinstance(arch, DartsArch):
            raise ValueError(f"expected a DartsArch (darts space), got {type(arch).__name__}: {arch!r}")
        return arch

    # public formats
    def from_naslib(self, cells: Sequence[Sequence[Sequence[int]]]) -> DartsArch:
        """From NASLib's ``[[8 x (input, op id)], [8 x (input, op id)]]`` (normal, reduce)."""
        try:
            normal, reduce = cells
            conv = [[(i, OPS[o] if isinstance(o, (int, np.integer)) and 0 <= o < len(OPS) else o)
                     for i, o in cell] for cell in (normal, reduce)]
        except (TypeError, ValueError):
            raise ValueError("expected NASLib's [[8 x (input, op id)], [8 x (input, op id)]], "
                             f"got {cells!r}") from None
        bad = [o for cell in conv for _, o in cell if o not in OPS]
        if bad:
            raise ValueError(f"NASLib DARTS op ids must be ints in 0..{len(OPS) - 1}, got {bad}")
        return DartsArch(*conv)

    def to_naslib(self, arch: DartsArch) -> list[list[tuple[int, int]]]:
        """NASLib's nested lists of ``(input, op id)`` tuples; ``str()`` of it is NASLib's key."""
        arch = self.validate(arch)
        return [[(i, OPS.index(op)) for i, op in cell] for cell in (arch.normal, arch.reduce)]

    def from_genotype(self, genotype: Any) -> DartsArch:
        """From a DARTS ``Genotype`` (or any object / mapping with ``normal`` and ``reduce``
        lists of ``(op, input)``); concat lists, when given, must be ``[2, 3, 4, 5]``."""
        get = genotype.get if isinstance(genotype, dict) else lambda k, d=None: getattr(genotype, k, d)
        cells = []
        for which in ("normal", "reduce"):
            concat = get(f"{which}_concat", None)
            if concat is not None and tuple(concat) != CONCAT:
                raise ValueError(f"{which}_concat must be [2, 3, 4, 5] in the DARTS space, got {concat!r}")
            cell = get(which, None)
            try:
                cells.append([(i, op) for op, i in cell])
            except (TypeError, ValueError):
                raise ValueError(f"genotype.{which} must be 8 (op, input) pairs, got {cell!r}") from None
        return DartsArch(*cells)

    def to_genotype(self, arch: DartsArch) -> Genotype:
        """The DARTS ``Genotype``: ``(op, input)`` lists, concat ``[2, 3, 4, 5]``."""
        arch = self.validate(arch)
        return Genotype(normal=[(op, i) for i, op in arch.normal], normal_concat=list(CONCAT),
                        reduce=[(op, i) for i, op in arch.reduce], reduce_concat=list(CONCAT))

    # choices schema
    def choices(self) -> tuple[Choice, ...]:
        """24 choices: per cell and intermediate node, its ordered input pair and its two ops
        (see the module docstring)."""
        return CHOICES

    def _encode_choices(self, arch: DartsArch) -> list[int]:
        out = []
        for cell in (arch.normal, arch.reduce):
            for n in range(N_PAIRS // 2):
                (i, op_a), (j, op_b) = cell[2 * n], cell[2 * n + 1]
                out += [_PAIR_INDEX[n][(i, j)], OPS.index(op_a), OPS.index(op_b)]
        return out

    def _decode_choices(self, index: tuple[int, ...]) -> DartsArch:
        cells = []
        half = len(index) // 2
        for c in range(2):
            cell = []
            for n in range(N_PAIRS // 2):
                at = c * half + 3 * n
                i, j = CHOICES[at].options[index[at]]
                cell += [(i, OPS[index[at + 1]]), (j, OPS[index[at + 2]])]
            cells.append(cell)
        return DartsArch(*cells)

    # sampling
    def sample(self, rng: np.random.Generator) -> DartsArch:
        """Each node draws two distinct inputs uniformly from its range and an op per pair."""
        cells = []
        for _ in range(2):
            cell = []
            for k in range(N_PAIRS // 2):
                inputs = rng.choice(k + 2, size=2, replace=False)
                ops = rng.integers(0, len(OPS), size=2)
                cell += [(int(i), OPS[int(o)]) for i, o in zip(inputs, ops)]
            cells.append(cell)
        return DartsArch(*cells)

    def neighbours(self, arch: DartsArch) -> list[DartsArch]:
        """Every genotype differing in one pair's op or one pair's input (either cell), keeping
        the two inputs of each node distinct."""
        arch = self.validate(arch)
        out = []
        for c, cell in enumerate((arch.normal, arch.reduce)):
            for p, (i, op) in enumerate(cell):
                other = cell[p ^ 1][0]
                moves = [(i, o) for o in OPS if o != op]
                moves += [(j, op) for j in range(p // 2 + 2) if j not in (i, other)]
                for pair in moves:
                    new = cell[:p] + (pair,) + cell[p + 1:]
                    out.append(DartsArch(new, arch.reduce) if c == 0 else DartsArch(arch.normal, new))
        return out

    # structure
    def to_dag(self, arch: DartsArch) -> LabelledDAG:
        """One DAG for both cells in series, one node per pair (20 nodes)::

            0 input0 (c_{k-2}), 1 input1 (c_{k-1}),
            2..9 normal pairs 0..7, 10 concat (normal-cell output),
            11..18 reduction pairs 0..7, 19 output

        A pair reading cell input 0 / 1 gets an edge from that cell's input node; a pair reading
        intermediate node ``m`` gets edges from the op nodes of pairs ``2(m-2)`` and
        ``2(m-2)+1`` (the node is their sum).  All normal op nodes feed ``concat``; all reduction
        op nodes feed ``output``.  As in the DARTS network, the reduction cell's inputs are the
        normal cell's input ``c_{k-1}`` (node 1) and its output (``concat``), so reduction input 0
        maps to node 1 and input 1 to node 10.
        """
        arch = self.validate(arch)
        n = self.max_nodes
        m = np.zeros((n, n), dtype=np.int8)
        concat = 2 + N_PAIRS
        for base, cell, inputs, sink in ((2, arch.normal, (0, 1), concat),
                                         (concat + 1, arch.reduce, (1, concat), n - 1)):
            for p, (i, _) in enumerate(cell):
                srcs = [inputs[i]] if i < 2 else [base + 2 * (i - 2), base + 2 * (i - 2) + 1]
                m[srcs, base + p] = 1
                m[base + p, sink] = 1
        labels = ("input0", "input1", *(op for _, op in arch.normal), "concat",
                  *(op for _, op in arch.reduce), OUTPUT)
        return LabelledDAG(tuple(map(tuple, m.tolist())), labels, n_inputs=2)
