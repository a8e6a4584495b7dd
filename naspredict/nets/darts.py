"""The DARTS / NAS-Bench-301 evaluation network (Liu et al., ICLR 2019, ``cnn/model.py``
``NetworkCIFAR``; Siems et al. 2020 trained NAS-Bench-301's genotypes on it).

Skeleton: conv3x3 stem to ``3C`` + BN; ``cells`` (layers) cells, the ones at ``layers // 3``
and ``2 * layers // 3`` reduction cells that double the channels and halve the resolution;
global average pool; linear classifier.  Cell ``k`` reads the outputs of cells ``k-2`` and
``k-1`` (both the stem output for the first cell), preprocessed to ``C`` channels
(``FactorizedReduce`` for ``k-2`` when cell ``k-1`` reduced, else ReLU-conv1x1-BN); each of
the 4 intermediate nodes sums two ops on earlier nodes, strided when a reduction cell's op
reads a cell input; the output concatenates the 4 intermediate nodes (``4C`` channels).

Ops come from :mod:`.ops` (pools without BN as in the evaluation network, ``skip_connect`` a
``FactorizedReduce`` at stride 2).  The cell is a :class:`~naspredict.nets.dag.DagCell` over
the genotype's DAG with the intermediate nodes made explicit (:func:`cell_dag`): the space's
``to_dag`` folds a node's sum into the edges of its readers, which cannot express the concat
of node sums at the output.

Published setting (NAS-Bench-301's training of its genotypes): ``C=32``, 8 layers.  Options:
``auxiliary=True`` adds DARTS's auxiliary head after the second reduction (its logits are
returned as ``(logits, aux_logits)`` in training mode only); ``drop_path_prob`` > 0 drops
each non-identity op's output per sample in training (set the attribute between epochs, as
DARTS's training loop does).

Parameters counted: every parameter tensor, BN affine weight and bias included.  Checked:
DARTS_V2 at ``C=36``, 20 layers has 3,349,342 parameters without the auxiliary head, DARTS's
reported "param size = 3.349342MB".  NASLib's ``zc_nasbench301.json`` ``params`` (all 725
genotypes) are this network at ``C=32``, 8 layers, no auxiliary head, with the cell ops' BN
non-affine (``op_affine=False``: NASLib builds the discrete network from its search-space ops);
the default ``op_affine=True`` is DARTS's evaluation network.
"""
from __future__ import annotations

import torch
from torch import nn

from ..spaces.base import LabelledDAG
from ..spaces.darts import CONCAT, N_PAIRS, DartsArch, DartsSpace
from .dag import DagCell
from .ops import FactorizedReduce, Identity, ReLUConvBN, make_op

__all__ = ["DartsNetwork", "DartsCell", "DropPath", "cell_dag", "DEFAULT_CHANNELS", "DEFAULT_CELLS"]

DEFAULT_CHANNELS = 32
DEFAULT_CELLS = 8
STEM_MULTIPLIER = 3
N_NODES = N_PAIRS // 2


def cell_dag(cell: tuple[tuple[int, str], ...]) -> tuple[LabelledDAG, list[int]]:
    """The DAG of one cell with explicit intermediate nodes, and the DAG index of each pair.

    Order: ``input0, input1``, then for each intermediate node its two op nodes followed by
    a ``"sum"`` node, then the ``"concat"`` output reading the 4 sum nodes.
    """
    n = 2 + N_PAIRS + N_NODES + 1
    adj = [[0] * n for _ in range(n)]
    labels = ["input0", "input1"]
    state_index = {0: 0, 1: 1}  # DARTS state (0, 1 inputs; 2..5 intermediate) -> DAG node
    pair_index = []
    for k in range(N_NODES):
        ops_at = []
        for p in (2 * k, 2 * k + 1):
            i, op = cell[p]
            j = len(labels)
            labels.append(op)
            adj[state_index[i]][j] = 1
            ops_at.append(j)
            pair_index.append(j)
        s = len(labels)
        labels.append("sum")
        for j in ops_at:
            adj[j][s] = 1
        state_index[k + 2] = s
    labels.append("concat")
    for state in CONCAT:
        adj[state_index[state]][n - 1] = 1
    return LabelledDAG(tuple(map(tuple, adj)), tuple(labels), n_inputs=2), pair_index


class DropPath(nn.Module):
    """Wraps an op: in training with ``p > 0``, zeroes its output for a random subset of the
    samples and rescales the rest by ``1 / (1 - p)`` (DARTS's ``drop_path``)."""

    def __init__(self, op: nn.Module, p: float = 0.0):
        super().__init__()
        self.op = op
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.op(x)
        if self.training and self.p > 0.0:
            keep = 1.0 - self.p
            mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
            x = x / keep * mask
        return x


class DartsCell(nn.Module):
    """One DARTS cell: the two preprocessings, then the :class:`DagCell` of the genotype."""

    def __init__(self, cell: tuple[tuple[int, str], ...], C_prev_prev: int, C_prev: int, C: int,
                 reduction: bool, reduction_prev: bool, *, op_affine: bool = True):
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = (FactorizedReduce(C_prev_prev, C, 2) if reduction_prev
                            else ReLUConvBN(C_prev_prev, C, 1, 1, 0))
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0)
        dag, pair_index = cell_dag(cell)
        node_ops = {}
        for (i, name), j in zip(cell, pair_index):
            stride = 2 if reduction and i < 2 else 1
            op = make_op(name, C, C, stride, affine=op_affine)
            node_ops[j] = op if isinstance(op, Identity) else DropPath(op)
        self.dag = DagCell(dag, node_ops, merge={dag.n_nodes - 1: "concat"})
        self.out_channels = len(CONCAT) * C

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        return self.dag(self.preprocess0(s0), self.preprocess1(s1))


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS's auxiliary classifier for 8x8 feature maps."""

    def __init__(self, C: int, n_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(C, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=False))
        self.classifier = nn.Linear(768, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class DartsNetwork(nn.Module):
    """DARTS's ``NetworkCIFAR`` for a genotype; ``forward(x)`` returns logits ``(N, n_classes)``
    (``(logits, aux_logits)`` in training mode when built with ``auxiliary=True``)."""

    def __init__(self, arch: DartsArch, C: int = DEFAULT_CHANNELS, layers: int = DEFAULT_CELLS,
                 n_classes: int = 10, in_channels: int = 3, *, auxiliary: bool = False,
                 drop_path_prob: float = 0.0, op_affine: bool = True,
                 space: DartsSpace | None = None):
        super().__init__()
        self.arch = (space or DartsSpace()).validate(arch)
        C_curr = STEM_MULTIPLIER * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C_curr, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(C_curr))
        C_pp, C_p, C_curr = C_curr, C_curr, C
        reductions = {layers // 3, 2 * layers // 3}
        self.cells = nn.ModuleList()
        reduction_prev = False
        self.aux_after = None
        C_aux = None
        for i in range(layers):
            reduction = i in reductions
            if reduction:
                C_curr *= 2
            cell = DartsCell(arch.reduce if reduction else arch.normal, C_pp, C_p, C_curr,
                             reduction, reduction_prev, op_affine=op_affine)
            self.cells.append(cell)
            reduction_prev = reduction
            C_pp, C_p = C_p, cell.out_channels
            if i == 2 * layers // 3:
                self.aux_after, C_aux = i, C_p
        self.auxiliary_head = AuxiliaryHeadCIFAR(C_aux, n_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C_p, n_classes)
        self.drop_path_prob = drop_path_prob

    @property
    def drop_path_prob(self) -> float:
        return self._drop_path_prob

    @drop_path_prob.setter
    def drop_path_prob(self, p: float) -> None:
        if not 0.0 <= p < 1.0:
            raise ValueError(f"drop_path_prob must be in [0, 1), got {p!r}")
        self._drop_path_prob = float(p)
        for m in self.modules():
            if isinstance(m, DropPath):
                m.p = float(p)

    def forward(self, x: torch.Tensor):
        s0 = s1 = self.stem(x)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == self.aux_after and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return logits if aux is None else (logits, aux)


def build(space: DartsSpace, arch: DartsArch, *, channels: int, cells: int, n_classes: int,
          input_shape: tuple[int, ...]) -> DartsNetwork:
    """Builder entry of the registry in :mod:`.build`."""
    return DartsNetwork(arch, channels, cells, n_classes, input_shape[0], space=space)
