"""The NAS-Bench-Graph GNN (Qin et al., NeurIPS 2022 Datasets & Benchmarks; their ``Net`` /
``Cell`` model, built on PyTorch Geometric convs).

Network: dropout on the input features; ``num_pre`` linear pre-processing layers (ELU between
two of them); ``cells`` cells; ``num_pro`` linear post-processing layers (ELU between two).
A cell is wired over the space's DAG (``NBGraphSpace.to_dag``): op node ``i + 1`` reads node
``link[i]``; before its conv the input goes through BatchNorm1d-ReLU-dropout, except when the
input is the raw feature matrix (the cell input with ``num_pre == 0``, or a chain of ``skip``
from it); the op nodes no other op reads are concatenated, passed through ReLU and a linear
layer to ``dim`` (``num_pro > 0``) or to the classes.  Ops (:mod:`.ops`, graph domain):
``gat`` (GATConv, 4 heads of ``dim // 4``), ``gcn``, ``gin`` (over one Linear), ``cheb``
(K=2), ``sage``, ``arma``, ``graph`` (GraphConv), ``fc`` (Linear), ``skip`` (identity).

The network's shape differs per data set (:data:`BENCH_HP`: hidden dim, pre- and
post-processing layers, inferred from and checked against the tables' ``para``;
:meth:`NBGraphNetwork.for_dataset` builds it).  ``build_network`` builds Cora's shape with
``channels`` as the hidden dim and ``cells`` cells in series; :class:`NBGraphNetwork` takes
the rest.  Parameters counted: every parameter tensor, including each op's BatchNorm1d (one
per op node, created even when that op reads the raw features and skips it, as the benchmark
code does, so counts match its ``para``).

``forward(data)`` takes a PyG ``Data`` (``x``, ``edge_index``) and returns per-node logits
``(n_nodes, n_classes)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..spaces.nbgraph import NBGraphArch, NBGraphSpace
from .dag import DagCell
from .ops import make_op

__all__ = ["NBGraphNetwork", "GraphNode", "GraphCell", "GraphHP", "BenchSetting", "BENCH_HP", "DEFAULT_CHANNELS", "DEFAULT_CELLS"]

DEFAULT_CHANNELS = 256
DEFAULT_CELLS = 1


@dataclass(frozen=True)
class GraphHP:
    """The parts of the benchmark's per-data-set setting that shape the network: hidden
    ``dim``, ``num_pre`` / ``num_pro`` linear layers before / after the cell, ``dropout``.
    The defaults are Cora's shape (256, 0, 1); the dropout 0.5 is a placeholder, not the
    benchmark's value (it changes no parameter count)."""

    dim: int = 256
    num_pre: int = 0
    num_pro: int = 1
    dropout: float = 0.5


@dataclass(frozen=True)
class BenchSetting:
    """One light table's data set: feature width, classes (tasks for proteins), network shape."""

    n_features: int
    n_classes: int
    hp: GraphHP
    normalize: bool = True  # False on ogbn-proteins: GCN unnormalised, GAT without self loops


#: the shapes under which the networks reproduce the tables' ``para``: every cell of cora,
#: citeseer, pubmed, cs, photo, computers, arxiv (26,206 each) and proteins (2,021); physics
#: 24,639 of 26,206 (the other rows' ``para`` are means over runs of different sizes).
BENCH_HP: dict[str, BenchSetting] = {
    "cora": BenchSetting(1433, 7, GraphHP(256, 0, 1)),
    "citeseer": BenchSetting(3703, 6, GraphHP(256, 0, 1)),
    "pubmed": BenchSetting(500, 3, GraphHP(128, 0, 0)),
    "cs": BenchSetting(6805, 15, GraphHP(128, 1, 0)),
    "physics": BenchSetting(8415, 5, GraphHP(256, 1, 0)),
    "photo": BenchSetting(745, 8, GraphHP(128, 0, 0)),
    "computers": BenchSetting(767, 10, GraphHP(64, 1, 1)),
    "arxiv": BenchSetting(128, 40, GraphHP(128, 0, 1)),
    "proteins": BenchSetting(8, 112, GraphHP(256, 1, 1), normalize=False),
}


class GraphNode(nn.Module):
    """One op node: optional BatchNorm1d-ReLU-dropout, then the graph op ``op(x, edge_index)``."""

    def __init__(self, op: nn.Module, bn: nn.BatchNorm1d, *, preprocess: bool, dropout: float):
        super().__init__()
        self.op = op
        self.bn = bn
        self.preprocess = preprocess
        self.dropout = dropout

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        if self.preprocess:
            x = F.dropout(F.relu(self.bn(x)), p=self.dropout, training=self.training)
        return self.op(x, edge_index)


class GraphCell(nn.Module):
    """A NAS-Bench-Graph cell: the :class:`DagCell` of the link pattern, ReLU, linear."""

    def __init__(self, arch: NBGraphArch, space: NBGraphSpace, in_dim: int, raw_input: bool,
                 hp: GraphHP, out_dim: int, *, normalize: bool = True):
        super().__init__()
        dag = space.to_dag(arch)
        raw = [raw_input] + [False] * (dag.n_nodes - 1)  # node carries the raw features
        width = [in_dim] + [hp.dim] * (dag.n_nodes - 1)
        nodes = {}
        for i, (parent, op) in enumerate(zip(arch.link, arch.ops)):
            j = i + 1
            if op == "skip":
                raw[j], width[j] = raw[parent], width[parent]
            c_in = width[parent]
            conv = make_op(op, c_in, c_in if op == "skip" else hp.dim, normalize=normalize)
            nodes[j] = GraphNode(conv, nn.BatchNorm1d(hp.dim), preprocess=not raw[parent],
                                 dropout=hp.dropout)
        outputs = [i for i in range(dag.n_nodes - 1) if dag.adjacency[i][dag.n_nodes - 1]]
        self.dag = DagCell(dag, nodes, merge={dag.n_nodes - 1: "concat"}, extra_args=True)
        self.fc = nn.Linear(sum(width[i] for i in outputs), out_dim)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.fc(F.relu(self.dag(x, extra=(edge_index,))))


class NBGraphNetwork(nn.Module):
    """NAS-Bench-Graph's ``Net`` for one cell; see the module docstring."""

    def __init__(self, arch: NBGraphArch, in_dim: int, n_classes: int, *,
                 hp: GraphHP = GraphHP(), cells: int = DEFAULT_CELLS, normalize: bool = True,
                 space: NBGraphSpace | None = None):
        super().__init__()
        space = space or NBGraphSpace()
        self.arch = space.validate(arch)
        self.hp = hp
        self.prep = nn.ModuleList(
            make_op("fc", in_dim if i == 0 else hp.dim, hp.dim) for i in range(hp.num_pre))
        self.cells = nn.ModuleList()
        width, raw = (hp.dim, False) if hp.num_pre else (in_dim, True)
        for c in range(cells):
            last = c == cells - 1
            out = hp.dim if (hp.num_pro or not last) else n_classes
            self.cells.append(GraphCell(arch, space, width, raw, hp, out, normalize=normalize))
            width, raw = out, False
        self.prop = nn.ModuleList(
            make_op("fc", hp.dim, n_classes if i == hp.num_pro - 1 else hp.dim)
            for i in range(hp.num_pro))

    @classmethod
    def for_dataset(cls, arch: NBGraphArch, dataset: str, *,
                    space: NBGraphSpace | None = None) -> "NBGraphNetwork":
        """The network the benchmark trained on ``dataset`` (a key of :data:`BENCH_HP`)."""
        if dataset not in BENCH_HP:
            raise ValueError(f"unknown NAS-Bench-Graph data set {dataset!r}; expected one of "
                             f"{', '.join(BENCH_HP)}")
        s = BENCH_HP[dataset]
        if space is None:
            space = NBGraphSpace("proteins" if dataset == "proteins" else "full")
        return cls(arch, s.n_features, s.n_classes, hp=s.hp, normalize=s.normalize, space=space)

    def forward(self, data) -> torch.Tensor:
        x, edge_index = data.x, data.edge_index
        x = F.dropout(x, p=self.hp.dropout, training=self.training)
        for i, layer in enumerate(self.prep):
            x = layer(x, edge_index)
            if i == len(self.prep) - 2:
                x = F.elu(x)
        for cell in self.cells:
            x = cell(x, edge_index)
        for i, layer in enumerate(self.prop):
            x = layer(x, edge_index)
            if i == len(self.prop) - 2:
                x = F.elu(x)
        return x


def build(space: NBGraphSpace, arch: NBGraphArch, *, channels: int, cells: int, n_classes: int,
          input_shape: tuple[int, ...]) -> NBGraphNetwork:
    """Builder entry of the registry in :mod:`.build` (``channels`` is the hidden dim)."""
    hp = GraphHP(dim=channels)
    return NBGraphNetwork(arch, input_shape[0], n_classes, hp=hp, cells=cells, space=space)
