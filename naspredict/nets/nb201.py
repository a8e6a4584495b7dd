"""The NAS-Bench-201 network (Dong & Yang, ICLR 2020; the ``TinyNetwork`` of their code).

Skeleton: 3x3 conv stem + BN; ``cells`` cells at ``C``; a ResNet basic block that halves the
resolution and doubles the channels; ``cells`` cells at ``2C``; another such block; ``cells``
cells at ``4C``; BN-ReLU, global average pool, linear classifier.  Published setting:
``C=16``, ``cells=5`` (N), 10 classes on CIFAR-10.

A cell is evaluated over the space's labelled DAG (``NB201Space.to_dag``: one node per edge):
an edge-node ``(i -> j)`` applies its op to cell node ``i``, the sum of the edges entering
``i`` (or the cell input), and the cell output (node 3) sums the edges entering it, exactly
``node_j = sum_{i<j} op_ij(node_i)``.  ``none`` edges give zeros, so a cell whose output is
reached only through ``none`` outputs zeros and the network outputs constant logits (in eval
mode, and also in train mode since BN of a constant is its shift), as in NAS-Bench-201.
"""
from __future__ import annotations

import torch
from torch import nn

from ..spaces.nb201 import NB201Arch, NB201Space
from .dag import DagCell
from .ops import ReLUConvBN, make_op

__all__ = ["NB201Network", "ResNetBasicBlock", "build_nb201_cell", "DEFAULT_CHANNELS", "DEFAULT_CELLS"]

DEFAULT_CHANNELS = 16
DEFAULT_CELLS = 5


class ResNetBasicBlock(nn.Module):
    """NB201's reduction block: ReLU-conv3x3(stride)-BN, ReLU-conv3x3-BN, plus a shortcut
    (2x2 average pool + 1x1 conv at stride 2, ReLU-conv1x1-BN when only channels change)."""

    def __init__(self, C_in: int, C_out: int, stride: int = 2, affine: bool = True,
                 track_running_stats: bool = True):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"ResNetBasicBlock stride must be 1 or 2, got {stride}")
        kw = dict(affine=affine, track_running_stats=track_running_stats)
        self.conv_a = ReLUConvBN(C_in, C_out, 3, stride, 1, 1, **kw)
        self.conv_b = ReLUConvBN(C_out, C_out, 3, 1, 1, 1, **kw)
        if stride == 2:
            self.downsample: nn.Module | None = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(C_in, C_out, kernel_size=1, bias=False))
        elif C_in != C_out:
            self.downsample = ReLUConvBN(C_in, C_out, 1, 1, 0, 1, **kw)
        else:
            self.downsample = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        return residual + self.conv_b(self.conv_a(x))


def build_nb201_cell(arch: NB201Arch, C: int, *, space: NB201Space | None = None,
                     affine: bool = True, track_running_stats: bool = True) -> DagCell:
    """One NB201 cell at ``C`` channels: an op from :mod:`.ops` on each edge-node of
    ``space.to_dag(arch)``, all nodes merged by sum."""
    dag = (space or NB201Space()).to_dag(arch)
    node_ops = {j: make_op(dag.ops[j], C, C, 1, affine=affine,
                           track_running_stats=track_running_stats)
                for j in range(dag.n_inputs, dag.n_nodes - 1)}
    return DagCell(dag, node_ops, merge="sum")


class NB201Network(nn.Module):
    """NAS-Bench-201's ``TinyNetwork``; ``forward(x)`` returns the logits ``(N, n_classes)``.

    ``sum(p.numel() for p in net.parameters())`` counts every trainable tensor: convolution
    and linear weights, the classifier bias and the BatchNorm affine weight and bias (BN
    running statistics are buffers, not counted), as NAS-Bench-201's ``params`` do: 1,531,546
    for the all-``nor_conv_3x3`` cell at ``C=16, N=5``, 10 classes.
    """

    def __init__(self, arch: NB201Arch, C: int = DEFAULT_CHANNELS, N: int = DEFAULT_CELLS,
                 n_classes: int = 10, in_channels: int = 3, *, space: NB201Space | None = None):
        super().__init__()
        space = space or NB201Space()
        self.arch = space.validate(arch)
        self.C, self.N = C, N
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(C))
        cells: list[nn.Module] = []
        C_prev = C
        for stage, C_curr in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                cells.append(ResNetBasicBlock(C_prev, C_curr, 2))
            cells += [build_nb201_cell(arch, C_curr, space=space) for _ in range(N)]
            C_prev = C_curr
        self.cells = nn.ModuleList(cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(C_prev), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_prev, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled features ``(N, 4C)`` before the classifier."""
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        return self.global_pooling(self.lastact(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build(space: NB201Space, arch: NB201Arch, *, channels: int, cells: int, n_classes: int,
          input_shape: tuple[int, ...]) -> NB201Network:
    """Builder entry of the registry in :mod:`.build`."""
    return NB201Network(arch, channels, cells, n_classes, input_shape[0], space=space)
