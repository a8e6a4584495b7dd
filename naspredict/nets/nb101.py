"""The NAS-Bench-101 network (Ying et al., ICML 2019; ``nasbench/lib/model_builder.py``).

Skeleton: conv3x3-BN-ReLU stem at ``channels`` (128); 3 stacks of ``cells`` (3) cells each,
a 2x2 max pool (stride 2) and a doubling of the channels before stacks 2 and 3; global
average pool; dense layer.  Each cell is the *pruned* cell (nodes on no input-to-output path
dropped, as the nasbench API's ``ModelSpec`` does), wired over its labelled DAG:

* vertex channels follow ``compute_vertex_channels``: the cell's output channels are split
  evenly among the vertices feeding the output (the first ones get one more when it does not
  divide), other vertices take the largest of their successors';
* a vertex sums its inputs: interior vertices truncated to its channel count (a channel
  slice, no parameters), the cell input through a 1x1 conv-BN-ReLU projection;
* the output concatenates the vertices feeding it and adds a projection of the cell input
  when the input feeds the output directly (only the projection when nothing else does).

Parameter counts equal NAS-Bench-101's ``trainable_parameters`` (the TF trainable variables:
conv kernels without biases, BatchNorm beta and gamma, the dense kernel and bias; BN moving
statistics are not trainable).  Checked: equal to the ``params`` of all 500 cells in NASLib's
``zc_nasbench101.json`` (decoded with NASLib's op ids 2=maxpool3x3, 3=conv1x1, 4=conv3x3), and
2,694,282 for the Inception-like cell of the nasbench README.

Deviation: NB101 trained with TF's BN momentum 0.997 (torch ``momentum=0.003``); torch's
default 0.1 is kept here (pass ``bn_momentum`` to :class:`NB101Network` for the original),
which changes no parameter and only how fast the running statistics follow.  TF's 'same'
max pooling is ``ceil_mode=True`` (equal to torch's floor on even sizes).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..spaces.base import LabelledDAG
from ..spaces.nb101 import NB101Arch, NB101Space
from .dag import DagCell
from .ops import ConvBNReLU, make_op

__all__ = ["NB101Network", "build_nb101_cell", "compute_vertex_channels", "Truncate",
           "DEFAULT_CHANNELS", "DEFAULT_CELLS"]

DEFAULT_CHANNELS = 128
DEFAULT_CELLS = 3
N_STACKS = 3


def compute_vertex_channels(C_in: int, C_out: int, matrix: np.ndarray) -> list[int]:
    """Channels of every vertex of a pruned cell, as NAS-Bench-101 computes them.

    ``[C_in, ..., C_out]``: vertices feeding the output share ``C_out`` (the first
    ``C_out % k`` of the ``k`` such vertices get one extra channel); every other interior
    vertex takes the maximum over its interior successors.
    """
    m = np.asarray(matrix)
    n = m.shape[0]
    vc = [0] * n
    vc[0], vc[-1] = C_in, C_out
    if n == 2:
        return vc
    in_degree = m[1:].sum(axis=0)  # in-degree ignoring the input vertex
    share, extra = divmod(C_out, int(in_degree[-1]))
    for v in range(1, n - 1):
        if m[v, -1]:
            vc[v] = share + (1 if extra > 0 else 0)
            extra -= 1 if extra > 0 else 0
    for v in range(n - 3, 0, -1):
        if not m[v, -1]:
            for dst in range(v + 1, n - 1):
                if m[v, dst]:
                    vc[v] = max(vc[v], vc[dst])
        if vc[v] <= 0:
            raise ValueError(f"vertex {v} gets no channels; is the cell pruned?")
    return vc


class Truncate(nn.Module):
    """Keep the first ``channels`` channels (NB101's ``truncate``)."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :self.channels]

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


def build_nb101_cell(arch: NB101Arch, C_in: int, C_out: int, *, space: NB101Space | None = None,
                     bn_momentum: float | None = None) -> DagCell:
    """One NB101 cell (pruned first) mapping ``C_in`` to ``C_out`` channels."""
    space = space or NB101Space()
    cell = space.pruned(space.validate(arch))
    dag: LabelledDAG = space.to_dag(cell)
    m = dag.matrix()
    n = dag.n_nodes
    vc = compute_vertex_channels(C_in, C_out, m)
    node_ops: dict[int, nn.Module] = {}
    edge_ops: dict[tuple[int, int], nn.Module] = {}
    for t in range(1, n):
        for src in range(t):
            if not m[src, t]:
                continue
            if src == 0:
                edge_ops[(0, t)] = ConvBNReLU(C_in, vc[t], 1)  # projection
            elif t < n - 1 and vc[src] != vc[t]:
                if vc[src] < vc[t]:
                    raise ValueError(f"vertex {src} has fewer channels than its successor {t}")
                edge_ops[(src, t)] = Truncate(vc[t])
        if t < n - 1:
            node_ops[t] = make_op(dag.ops[t], vc[t], vc[t])
    merge = {n - 1: "concat_add_inputs"}
    module = DagCell(dag, node_ops, merge=merge, edge_ops=edge_ops)
    if bn_momentum is not None:
        for mod in module.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.momentum = bn_momentum
    module.vertex_channels = vc
    return module


class NB101Network(nn.Module):
    """NAS-Bench-101's network; ``forward(x)`` returns the logits ``(N, n_classes)``.

    ``sum(p.numel() for p in net.parameters())`` counts conv kernels (no biases), BN weight
    (gamma) and bias (beta) and the dense layer's weight and bias, which is NB101's
    ``trainable_parameters``.
    """

    def __init__(self, arch: NB101Arch, channels: int = DEFAULT_CHANNELS,
                 cells: int = DEFAULT_CELLS, n_classes: int = 10, in_channels: int = 3, *,
                 space: NB101Space | None = None, bn_momentum: float | None = None):
        super().__init__()
        space = space or NB101Space()
        self.arch = space.validate(arch)
        self.stem = ConvBNReLU(in_channels, channels, 3)
        layers: list[nn.Module] = []
        C_prev, C = channels, channels
        for stack in range(N_STACKS):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
                C *= 2
            for _ in range(cells):
                layers.append(build_nb101_cell(self.arch, C_prev, C, space=space,
                                               bn_momentum=bn_momentum))
                C_prev = C
        self.layers = nn.ModuleList(layers)
        self.classifier = nn.Linear(C_prev, n_classes)
        if bn_momentum is not None:
            for mod in self.stem.modules():
                if isinstance(mod, nn.BatchNorm2d):
                    mod.momentum = bn_momentum

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x)
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build(space: NB101Space, arch: NB101Arch, *, channels: int, cells: int, n_classes: int,
          input_shape: tuple[int, ...]) -> NB101Network:
    """Builder entry of the registry in :mod:`.build`."""
    return NB101Network(arch, channels, cells, n_classes, input_shape[0], space=space)

