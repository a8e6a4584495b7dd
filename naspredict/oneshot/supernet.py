"""The weight-sharing supernet: a mixed op on every decision of a cell space.

:class:`Supernet` holds, on every edge a cell may use, a :class:`MixedOp` over the space's
candidate ops (built by the one op registry, :func:`naspredict.nets.ops.make_op`, so the
supernet's ops are the stand-alone networks' modules), and wires each cell with
:class:`~naspredict.nets.dag.DagCell`.  One forward serves every one-shot method:

* ``forward(x, weights={kind: (n_edges, n_ops)})``: each edge outputs
  ``sum_o w[e, o] * op_o(x)`` (DARTS's continuous relaxation, Liu et al., ICLR 2019, with
  ``w = softmax(alpha)``; a GDAS straight-through one-hot, Dong & Yang, CVPR 2019).  A row
  with a single non-zero entry (in value) runs only that op (``w[e, o] * op_o(x)``), so a
  hard sample costs one op per edge; when the row carries a gradient, the other entries (zero
  in value) are added as scalars, GDAS's estimator, so every entry of the row gets a gradient
  (reaching ``alpha`` through the softmax of a straight-through sample).  A row that is all
  zeros outputs zeros without running any op.
* ``forward(x, arch=a)``: the single path of ``a``: each edge the arch uses runs only its op;
  edges it does not use (darts) output zeros, i.e. contribute nothing to their node's sum.
  This equals ``forward(x, weights=arch_weights(a))`` exactly.

Spaces
------
``"nb201"`` (NAS-Bench-201, Dong & Yang, ICLR 2020): NB201Network's skeleton (conv3x3 stem +
BN, ``cells`` cells per stage at C, 2C, 4C with ``ResNetBasicBlock`` reductions, BN-ReLU,
global pool, linear), each cell 6 mixed edges ``(0,1), (0,2), (0,3), (1,2), (1,3), (2,3)``
(NASLib's order) over NB201's 5 ops.  The NB201 paper's search setting: C=16, N=5.

``"darts"`` (Liu et al., ICLR 2019, the search network of ``cnn/model_search.py``): conv3x3
stem to 3C + BN; ``cells`` cells, those at ``cells // 3`` and ``2 * cells // 3`` reduction
cells (so ``cells >= 3`` is needed for a normal cell to exist); each cell preprocesses its two
inputs to C channels (``FactorizedReduce`` after a reduction, else ReLU-conv1x1-BN), has 14
mixed edges ``(i -> k)`` for nodes ``k = 2..5``, ``i < k``, over ``none`` and the 7 DARTS
ops (a pool followed by a non-affine BN, as DARTS's search ``MixedOp`` has it), strided when a
reduction cell's edge reads a cell input, and concatenates nodes 2..5.  Global pool, linear.
DARTS's search setting: C=16, 8 cells.

BatchNorm in the mixed ops and the cell preprocessing is ``affine=False`` by default (DARTS and
NB201's search networks); the stem, NB201's reduction blocks and its final BN are affine as in
those networks.

Nothing here seeds: weights come from torch's global RNG (build under
``torch.random.fork_rng`` with a seed to make it reproducible).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from torch import nn

from ..nets.dag import DagCell
from ..nets.ops import FactorizedReduce, ReLUConvBN, Zero, make_op
from ..nets.nb201 import ResNetBasicBlock
from ..spaces import SearchSpace, resolve_space
from ..spaces.base import LabelledDAG

__all__ = ["Supernet", "MixedOp", "SUPERNET_SPACES", "DEFAULTS"]

#: spaces with a supernet
SUPERNET_SPACES = ("nb201", "darts")
#: the search settings of the papers: (channels, cells)
DEFAULTS = {"nb201": (16, 5), "darts": (16, 8)}
_DARTS_NODES = 4
_DARTS_STEM = 3

#: ``choice`` values of :meth:`MixedOp.forward`
ALL = None      # mix every op
NOTHING = -1    # output zeros


class MixedOp(nn.Module):
    """One edge's candidate ops, mixed by a weight vector.

    Parameters
    ----------
    op_names : the candidate ops, registry names (column order of the weights).
    C_in, C_out, stride : the edge's shape (see :mod:`naspredict.nets.ops`).
    edge : this edge's row in its cell's weight matrix.
    affine, track_running_stats : passed to every op's BatchNorm.
    pool_bn : follow each pool with a ``BatchNorm2d(C_out, affine=False)`` (DARTS's search
        ``MixedOp``).

    ``forward(x, weights, choices)`` reads row :attr:`edge`: ``weights`` is the cell's
    ``(n_edges, n_ops)`` matrix or ``None``, ``choices`` a per-edge sequence whose entry is
    ``None`` (mix every op: ``sum_o w[o] * op_o(x)``), an op index ``o`` (run op ``o`` only,
    times ``w[o]`` when weights are given) or ``-1`` (zeros of the output shape).  Shapes:
    ``(N, C_in, H, W) -> (N, C_out, H / stride, W / stride)``.
    """

    def __init__(self, op_names: Sequence[str], C_in: int, C_out: int, stride: int = 1, *,
                 edge: int = 0, affine: bool = False, track_running_stats: bool = True,
                 pool_bn: bool = False):
        super().__init__()
        self.op_names = tuple(op_names)
        self.edge = int(edge)
        ops = []
        for name in self.op_names:
            op = make_op(name, C_in, C_out, stride, affine=affine,
                         track_running_stats=track_running_stats)
            if pool_bn and "pool" in name:
                op = nn.Sequential(op, nn.BatchNorm2d(C_out, affine=False,
                                                      track_running_stats=track_running_stats))
            ops.append(op)
        self.ops = nn.ModuleList(ops)
        self.zero = Zero(C_in, C_out, stride)  # no parameters: the state dict is the ops'

    def mix(self, x: torch.Tensor, w: torch.Tensor | None, choice: int | None) -> torch.Tensor:
        """This edge's output for its weight row ``w`` (``(n_ops,)`` or ``None``) and
        ``choice`` (see the class docstring)."""
        if choice is None:
            if w is None:
                raise ValueError("mixing every op needs a weight row")
            out = w[0] * self.ops[0](x)
            for o in range(1, len(self.ops)):
                out = out + w[o] * self.ops[o](x)
            return out
        if choice == NOTHING:
            return self.zero(x)
        y = self.ops[choice](x)
        if w is None:
            return y
        out = w[choice] * y
        if w.requires_grad:
            # GDAS's estimator (Dong & Yang, CVPR 2019): the ops not sampled still add their
            # weights, zero in value, as scalars, so each of them receives the summed upstream
            # gradient and the row's whole softmax learns from every sample, the sampled
            # op's output scale and the others' alike.  Without these terms a sampled 'none'
            # (output 0) never gets a gradient and short searches drift towards it (measured:
            # benchmarks/results/oneshot_search.md).  The forward value is unchanged.
            out = out + (w.sum() - w[choice])
        return out

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None,
                choices: Sequence[int | None]) -> torch.Tensor:
        return self.mix(x, None if weights is None else weights[self.edge], choices[self.edge])

    def extra_repr(self) -> str:
        return f"edge={self.edge}, ops={list(self.op_names)}"


def _nb201_cell(space, C: int, op_names, kw) -> DagCell:
    """NB201's edge-as-node DAG (the same topology for every cell) with a mixed op on each of
    the 6 edge nodes; edge node ``j`` is edge ``j - 1`` in NASLib's order."""
    from ..spaces.nb201 import NB201Arch
    dag = space.to_dag(NB201Arch((op_names[0],) * 6))
    node_ops = {j: MixedOp(op_names, C, C, 1, edge=j - 1, **kw) for j in range(1, dag.n_nodes - 1)}
    return DagCell(dag, node_ops, merge="sum", extra_args=True)


def _darts_edges() -> list[tuple[int, int]]:
    return [(i, k) for k in range(2, 2 + _DARTS_NODES) for i in range(k)]


def _darts_dag() -> tuple[LabelledDAG, dict[tuple[int, int], int]]:
    """A DARTS search cell as a DAG: ``input0, input1``, then per node ``k = 2..5`` one node
    per edge ``(i, k)`` (reading state ``i``) and a ``sum`` node, then the ``concat`` output."""
    labels = ["input0", "input1"]
    reads: list[tuple[int, int]] = []  # (source DAG node, target DAG node)
    state = {0: 0, 1: 1}
    edge_node = {}
    for k in range(2, 2 + _DARTS_NODES):
        mine = []
        for i in range(k):
            j = len(labels)
            labels.append(f"mixed_{i}_{k}")
            reads.append((state[i], j))
            edge_node[(i, k)] = j
            mine.append(j)
        s = len(labels)
        labels.append("sum")
        reads += [(j, s) for j in mine]
        state[k] = s
    labels.append("concat")
    out = len(labels) - 1
    reads += [(state[k], out) for k in range(2, 2 + _DARTS_NODES)]
    n = len(labels)
    adj = [[0] * n for _ in range(n)]
    for a, b in reads:
        adj[a][b] = 1
    return LabelledDAG(tuple(map(tuple, adj)), tuple(labels), n_inputs=2), edge_node


class _DartsSearchCell(nn.Module):
    """Preprocessing of the two inputs, then the mixed-edge :class:`DagCell`."""

    def __init__(self, op_names, C_pp: int, C_p: int, C: int, reduction: bool,
                 reduction_prev: bool, kw):
        super().__init__()
        self.reduction = reduction
        bn = dict(affine=kw["affine"], track_running_stats=kw["track_running_stats"])
        self.preprocess0 = (FactorizedReduce(C_pp, C, 2, **bn) if reduction_prev
                            else ReLUConvBN(C_pp, C, 1, 1, 0, **bn))
        self.preprocess1 = ReLUConvBN(C_p, C, 1, 1, 0, **bn)
        dag, edge_node = _darts_dag()
        node_ops = {edge_node[(i, k)]: MixedOp(op_names, C, C, 2 if reduction and i < 2 else 1,
                                               edge=e, pool_bn=True, **kw)
                    for e, (i, k) in enumerate(_darts_edges())}
        self.cell = DagCell(dag, node_ops, merge={dag.n_nodes - 1: "concat"}, extra_args=True)
        self.out_channels = _DARTS_NODES * C

    def forward(self, s0, s1, weights, choices):
        return self.cell(self.preprocess0(s0), self.preprocess1(s1), extra=(weights, choices))


class Supernet(nn.Module):
    """Weight-sharing network holding a mixed op on every decision of ``space``.

    Parameters
    ----------
    space : ``"nb201"`` or ``"darts"`` (or the space instance).
    channels : nb201: C of the first stage (then 2C, 4C); darts: C of the first cells (stem
        3C, doubled at each reduction).  ``None``: 16 (both papers' search setting).
    cells : nb201: cells per stage (3 stages); darts: cells in total, reductions at
        ``cells // 3`` and ``2 * cells // 3``.  ``None``: 5 (nb201), 8 (darts).
    n_classes : classifier outputs.
    input_shape : ``(C, H, W)`` of one input; only ``C`` changes the network.
    affine, track_running_stats : BatchNorm settings of the mixed ops (and darts's
        preprocessing); default non-affine, running statistics tracked.

    Attributes
    ----------
    space : the resolved :class:`~naspredict.spaces.SearchSpace`.
    kinds : cell kinds: ``("cell",)`` for nb201, ``("normal", "reduce")`` for darts.
    edges : per kind, the mixed edges ``(from, to)`` in row order of the weights.
    op_names : the candidate ops of every mixed edge, in column order.

    Raises
    ------
    ValueError : a space without a supernet, non-positive channels / cells / n_classes.
    """

    def __init__(self, space: str | SearchSpace, *, channels: int | None = None,
                 cells: int | None = None, n_classes: int = 10,
                 input_shape: tuple[int, int, int] = (3, 32, 32), affine: bool = False,
                 track_running_stats: bool = True):
        super().__init__()
        self.space = resolve_space(space)
        name = self.space.name
        if name not in SUPERNET_SPACES:
            raise ValueError(f"no supernet for space {name!r}; supernets exist for "
                             f"{', '.join(SUPERNET_SPACES)}")
        C0, N0 = DEFAULTS[name]
        channels = C0 if channels is None else channels
        cells = N0 if cells is None else cells
        for what, v in (("channels", channels), ("cells", cells), ("n_classes", n_classes)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"Supernet {what} must be a positive int, got {v!r}")
        self.channels, self.n_cells, self.n_classes = channels, cells, n_classes
        self.input_shape = tuple(input_shape)
        in_ch = int(self.input_shape[0])
        kw = dict(affine=affine, track_running_stats=track_running_stats)
        if name == "nb201":
            self.kinds = ("cell",)
            self.op_names = tuple(self.space.ops)
            from ..spaces.nb201 import NASLIB_ORDER
            self.edges = {"cell": list(NASLIB_ORDER)}
            self._build_nb201(in_ch, kw)
        else:
            self.kinds = ("normal", "reduce")
            self.op_names = ("none", *self.space.ops)
            self.edges = {k: _darts_edges() for k in self.kinds}
            self._build_darts(in_ch, kw)

    # -- construction ---------------------------------------------------------------------
    def _build_nb201(self, in_ch: int, kw) -> None:
        C, N = self.channels, self.n_cells
        self.stem = nn.Sequential(nn.Conv2d(in_ch, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        self._cell_kind: list[str | None] = []
        C_prev = C
        for stage, C_curr in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                layers.append(ResNetBasicBlock(C_prev, C_curr, 2))
                self._cell_kind.append(None)
            for _ in range(N):
                layers.append(_nb201_cell(self.space, C_curr, self.op_names, kw))
                self._cell_kind.append("cell")
            C_prev = C_curr
        self.cells = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(C_prev), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, self.n_classes)

    def _build_darts(self, in_ch: int, kw) -> None:
        C, layers = self.channels, self.n_cells
        C_curr = _DARTS_STEM * C
        self.stem = nn.Sequential(nn.Conv2d(in_ch, C_curr, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(C_curr))
        C_pp, C_p, C_curr = C_curr, C_curr, C
        reductions = {layers // 3, 2 * layers // 3}
        cells = []
        self._cell_kind = []
        reduction_prev = False
        for i in range(layers):
            reduction = i in reductions
            if reduction:
                C_curr *= 2
            cell = _DartsSearchCell(self.op_names, C_pp, C_p, C_curr, reduction, reduction_prev, kw)
            cells.append(cell)
            self._cell_kind.append("reduce" if reduction else "normal")
            reduction_prev = reduction
            C_pp, C_p = C_p, cell.out_channels
        self.cells = nn.ModuleList(cells)
        self.lastact = None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_p, self.n_classes)

    # -- weights <-> archs ----------------------------------------------------------------
    def weight_shape(self, kind: str) -> tuple[int, int]:
        """``(len(edges[kind]), len(op_names))``: the shape of one kind's weight matrix."""
        return (len(self.edges[kind]), len(self.op_names))

    def arch_weights(self, arch: Any) -> dict[str, torch.Tensor]:
        """``arch`` (or its string) as one-hot rows per kind, float32 on the CPU; darts: the
        rows of edges the arch does not use are all zeros."""
        arch = self._arch(arch)
        out = {}
        for kind in self.kinds:
            w = torch.zeros(self.weight_shape(kind))
            for e, o in enumerate(self._choices_of_arch(arch, kind)):
                if o != NOTHING:
                    w[e, o] = 1.0
            out[kind] = w
        return out

    def derive(self, weights: Mapping[str, torch.Tensor]) -> Any:
        """The discrete arch of a weight set (e.g. ``softmax(alpha)`` per kind).

        nb201: the argmax op of every edge (``none`` included, as NB201's search code derives).
        darts: DARTS's rule: for every node, the 2 incoming edges with the strongest non-``none``
        op weight (strongest first; ties to the lower input), each with its argmax non-``none``
        op.  ``none`` is never derived in darts.
        """
        weights = self._check_weights(weights)
        if self.space.name == "nb201":
            w = weights["cell"].detach().cpu()
            from ..spaces.nb201 import NB201Arch
            return NB201Arch(tuple(self.op_names[int(o)] for o in w.argmax(1).tolist()))
        from ..spaces.darts import DartsArch
        cells = []
        for kind in self.kinds:
            w = weights[kind].detach().cpu().double()[:, 1:]  # drop 'none' (column 0)
            rows = {edge: r for r, edge in enumerate(self.edges[kind])}
            pairs = []
            for k in range(2, 2 + _DARTS_NODES):
                strength = [float(w[rows[(i, k)]].max()) for i in range(k)]
                best = sorted(range(k), key=lambda i: -strength[i])[:2]
                for i in best:
                    pairs.append((i, self.op_names[1 + int(w[rows[(i, k)]].argmax())]))
            cells.append(tuple(pairs))
        return DartsArch(*cells)

    def _arch(self, arch: Any) -> Any:
        return self.space.validate(self.space.from_str(arch) if isinstance(arch, str) else arch)

    def _choices_of_arch(self, arch: Any, kind: str) -> list[int]:
        if self.space.name == "nb201":
            return [self.op_names.index(o) for o in arch.ops]
        rows = {edge: r for r, edge in enumerate(self.edges[kind])}
        choices = [NOTHING] * len(rows)
        for p, (i, op) in enumerate(getattr(arch, kind)):
            choices[rows[(i, p // 2 + 2)]] = self.op_names.index(op)
        return choices

    def _check_weights(self, weights: Any) -> dict[str, torch.Tensor]:
        if not isinstance(weights, Mapping) or set(weights) != set(self.kinds):
            got = sorted(weights) if isinstance(weights, Mapping) else type(weights).__name__
            raise ValueError(f"weights must map each cell kind {list(self.kinds)} to a "
                             f"(n_edges, n_ops) tensor, got {got}")
        for kind in self.kinds:
            w = weights[kind]
            if not isinstance(w, torch.Tensor) or tuple(w.shape) != self.weight_shape(kind):
                shape = tuple(w.shape) if isinstance(w, torch.Tensor) else type(w).__name__
                raise ValueError(f"weights[{kind!r}] must be a tensor of shape "
                                 f"{self.weight_shape(kind)} (edges x ops {list(self.op_names)}), "
                                 f"got {shape}")
        return dict(weights)

    @staticmethod
    def _choices_of_weights(w: torch.Tensor) -> list[int | None]:
        """Per row: the op index when exactly one entry is non-zero in value, -1 when none is,
        ``None`` (mix all) otherwise.  One host transfer per matrix."""
        nz = (w.detach() != 0).cpu()
        counts = nz.sum(1).tolist()
        first = nz.to(torch.int8).argmax(1).tolist()
        return [NOTHING if c == 0 else (f if c == 1 else ALL) for c, f in zip(counts, first)]

    # -- forward --------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, *, weights: Mapping[str, torch.Tensor] | None = None,
                arch: Any = None) -> torch.Tensor:
        """Logits ``(N, n_classes)`` of ``x`` ``(N, C, H, W)`` under exactly one of ``weights``
        (per kind, ``(n_edges, n_ops)`` mixing weights on ``x``'s device) or ``arch`` (an arch
        of the space or its string: the single path).  See the module docstring."""
        if (weights is None) == (arch is None):
            raise ValueError("Supernet.forward takes exactly one of weights= (mixing weights per "
                             "cell kind) or arch= (an architecture: single path)")
        if arch is not None:
            arch = self._arch(arch)
            plan = {k: (None, self._choices_of_arch(arch, k)) for k in self.kinds}
        else:
            weights = self._check_weights(weights)
            plan = {k: (weights[k], self._choices_of_weights(weights[k])) for k in self.kinds}
        return self._forward(x, plan)

    def _forward(self, x: torch.Tensor, plan) -> torch.Tensor:
        s = self.stem(x)
        if self.space.name == "nb201":
            for kind, layer in zip(self._cell_kind, self.cells):
                s = layer(s) if kind is None else layer(s, extra=plan[kind])
            s = self.lastact(s)
        else:
            s0 = s1 = s
            for kind, cell in zip(self._cell_kind, self.cells):
                s0, s1 = s1, cell(s0, s1, *plan[kind])
            s = s1
        return self.classifier(self.global_pooling(s).flatten(1))

    def mixed_ops(self) -> list[tuple[str, MixedOp]]:
        """Every :class:`MixedOp` with its cell kind, in module order."""
        out = []
        for kind, layer in zip(self._cell_kind, self.cells):
            if kind is not None:
                out += [(kind, m) for m in layer.modules() if isinstance(m, MixedOp)]
        return out

    def extra_repr(self) -> str:
        return (f"space={self.space.name}, channels={self.channels}, cells={self.n_cells}, "
                f"edges={ {k: len(v) for k, v in self.edges.items()} }, ops={len(self.op_names)}")
