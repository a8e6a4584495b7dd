"""The one op registry every network builder (and, later, the one-shot supernet) draws from.

An op is made by name::

    make_op("sep_conv_3x3", C_in=16, C_out=16, stride=2)

Each registered factory has the signature ``factory(C_in, C_out, stride=1, *, affine=True,
track_running_stats=True, **options) -> nn.Module``.  ``domain`` says what the module eats:

* ``"image"`` ops map an ``(N, C_in, H, W)`` tensor to ``(N, C_out, H / stride, W / stride)``;
* ``"graph"`` ops (NAS-Bench-Graph, PyTorch Geometric convs) are called ``op(x, edge_index)``
  on node features ``(n_nodes, C_in)`` and return ``(n_nodes, C_out)``; stride must be 1.

The op names are the labels the spaces put on their DAG nodes (``space.to_dag(arch).ops``),
so a builder looks an op up by the label it reads.  Names shared by two spaces mean the same
module in both (NAS-Bench-201's and DARTS's ``skip_connect`` and ``avg_pool_3x3`` coincide at
their in-cell shapes: identity / ``FactorizedReduce`` and a 3x3 average pool that ignores the
padding; a pool that must change the channel count first applies a ReLU-conv1x1-BN, as
NAS-Bench-201's ``POOLING`` does).

Module definitions follow the published code: NAS-Bench-201 (``xautodl/models/cell_operations``,
Dong & Yang 2020), DARTS (``cnn/operations.py``, Liu et al. 2019), NAS-Bench-101
(``nasbench/lib/base_ops.py``, Ying et al. 2019), NAS-Bench-Graph (Qin et al. 2022, built on
``torch_geometric.nn`` convs).  Weights are initialised by torch's default module init from
the global RNG; seed with ``torch.random.fork_rng`` around the build to make it reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

__all__ = ["OpSpec", "OPS", "register_op", "make_op", "op_names", "ReLUConvBN", "ConvBNReLU",
           "Zero", "Identity", "FactorizedReduce", "Pool", "SepConv", "DilConv", "GraphOp"]


@dataclass(frozen=True)
class OpSpec:
    """A registered op: its name, factory, domain (``"image"`` / ``"graph"``) and a line of doc."""

    name: str
    factory: Callable[..., nn.Module]
    domain: str
    doc: str


#: name -> :class:`OpSpec`.  Filled at the bottom of this module (no registration by import
#: side effect elsewhere); :func:`register_op` adds more.
OPS: dict[str, OpSpec] = {}
_DOMAINS = ("image", "graph")


def register_op(name: str, factory: Callable[..., nn.Module], *, domain: str = "image",
                doc: str = "", replace: bool = False) -> OpSpec:
    """Register ``factory`` under ``name`` and return its :class:`OpSpec`.

    ``ValueError`` when the name is taken (pass ``replace=True`` to override on purpose) or the
    domain is not ``"image"`` / ``"graph"``.
    """
    if domain not in _DOMAINS:
        raise ValueError(f"op domain must be one of {_DOMAINS}, got {domain!r}")
    if name in OPS and not replace:
        raise ValueError(f"op {name!r} is already registered; pass replace=True to override it")
    spec = OpSpec(name, factory, domain, doc)
    OPS[name] = spec
    return spec


def op_names(domain: str | None = None) -> tuple[str, ...]:
    """Registered op names, optionally only those of one domain."""
    return tuple(n for n, s in OPS.items() if domain is None or s.domain == domain)


def make_op(name: str, C_in: int, C_out: int, stride: int = 1, *, affine: bool = True,
            track_running_stats: bool = True, **options) -> nn.Module:
    """Build the op ``name`` (see the module docstring for shapes and signature)."""
    spec = OPS.get(name)
    if spec is None:
        raise ValueError(f"unknown op {name!r}; registered ops: {', '.join(OPS)}")
    for what, v in (("C_in", C_in), ("C_out", C_out), ("stride", stride)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"op {name!r}: {what} must be a positive int, got {v!r}")
    if spec.domain == "graph" and stride != 1:
        raise ValueError(f"graph op {name!r} has no stride; got stride={stride}")
    return spec.factory(C_in, C_out, stride, affine=affine,
                        track_running_stats=track_running_stats, **options)


# -- image modules ---------------------------------------------------------------------------

class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d: NB201's ``nor_conv_*``, DARTS's preprocessing."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 dilation: int = 1, affine: bool = True, track_running_stats: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=padding, dilation=dilation,
                      bias=False),
            nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats),
        )


class ConvBNReLU(nn.Sequential):
    """Conv2d (no bias, 'same' padding) -> BatchNorm2d -> ReLU: NAS-Bench-101's ``conv_bn_relu``."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int = 1,
                 affine: bool = True, track_running_stats: bool = True):
        super().__init__(
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats),
            nn.ReLU(inplace=False),
        )


class Zero(nn.Module):
    """The ``none`` op: zeros of the output shape (``x * 0`` when the shape is kept, so the
    result stays in the graph as NB201's ``Zero`` does)."""

    def __init__(self, C_in: int, C_out: int, stride: int = 1):
        super().__init__()
        self.C_in, self.C_out, self.stride = C_in, C_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.C_in == self.C_out:
            return x.mul(0.0) if self.stride == 1 else x[:, :, ::self.stride, ::self.stride].mul(0.0)
        shape = list(x.shape)
        shape[1] = self.C_out
        if self.stride > 1:
            shape[2] = (shape[2] + self.stride - 1) // self.stride
            shape[3] = (shape[3] + self.stride - 1) // self.stride
        return x.new_zeros(shape)

    def extra_repr(self) -> str:
        return f"C_in={self.C_in}, C_out={self.C_out}, stride={self.stride}"


class Identity(nn.Identity):
    """The ``skip_connect`` op at stride 1 with equal channels (a marker class: drop-path and
    the zero-cost proxies recognise it)."""


class FactorizedReduce(nn.Module):
    """ReLU, then two stride-2 1x1 convs on the input and on the input shifted by one pixel,
    concatenated, then BN (DARTS / NB201).  At stride 1 (channel change only) one 1x1 conv."""

    def __init__(self, C_in: int, C_out: int, stride: int = 2, affine: bool = True,
                 track_running_stats: bool = True):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"FactorizedReduce supports stride 1 or 2, got {stride}")
        self.stride = stride
        self.relu = nn.ReLU(inplace=False)
        if stride == 2:
            halves = (C_out // 2, C_out - C_out // 2)
            self.convs = nn.ModuleList(nn.Conv2d(C_in, c, 1, stride=2, bias=False) for c in halves)
        else:
            self.convs = nn.ModuleList([nn.Conv2d(C_in, C_out, 1, bias=False)])
        self.bn = nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        if self.stride == 1:
            return self.bn(self.convs[0](x))
        shifted = nn.functional.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.convs[0](x), self.convs[1](shifted)], dim=1))


class Pool(nn.Module):
    """3x3 average (padding not counted) or max pool; a ReLU-conv1x1-BN first when the channel
    count changes (NB201's ``POOLING``)."""

    def __init__(self, C_in: int, C_out: int, stride: int, mode: str, affine: bool = True,
                 track_running_stats: bool = True):
        super().__init__()
        self.preprocess = (None if C_in == C_out else
                           ReLUConvBN(C_in, C_out, 1, affine=affine,
                                      track_running_stats=track_running_stats))
        if mode == "avg":
            self.pool = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
        elif mode == "max":
            self.pool = nn.MaxPool2d(3, stride=stride, padding=1)
        else:
            raise ValueError(f"pool mode must be 'avg' or 'max', got {mode!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x if self.preprocess is None else self.preprocess(x))


class DilConv(nn.Sequential):
    """ReLU -> depthwise (dilated) conv -> pointwise conv -> BN (DARTS ``dil_conv``)."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int,
                 dilation: int, affine: bool = True, track_running_stats: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=padding, dilation=dilation,
                      groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats),
        )


class SepConv(nn.Sequential):
    """Two :class:`DilConv` blocks at dilation 1, the first strided (DARTS ``sep_conv``)."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True, track_running_stats: bool = True):
        kw = dict(affine=affine, track_running_stats=track_running_stats)
        super().__init__(DilConv(C_in, C_in, kernel_size, stride, padding, 1, **kw),
                         DilConv(C_in, C_out, kernel_size, 1, padding, 1, **kw))


def _skip(C_in, C_out, stride, *, affine=True, track_running_stats=True):
    if stride == 1 and C_in == C_out:
        return Identity()
    return FactorizedReduce(C_in, C_out, stride, affine=affine,
                            track_running_stats=track_running_stats)


def _none(C_in, C_out, stride, *, affine=True, track_running_stats=True):
    return Zero(C_in, C_out, stride)


def _relu_conv_bn(k):
    def factory(C_in, C_out, stride, *, affine=True, track_running_stats=True):
        return ReLUConvBN(C_in, C_out, k, stride, k // 2, 1, affine, track_running_stats)
    return factory


def _conv_bn_relu(k):
    def factory(C_in, C_out, stride, *, affine=True, track_running_stats=True):
        return ConvBNReLU(C_in, C_out, k, stride, affine, track_running_stats)
    return factory


def _pool(mode):
    def factory(C_in, C_out, stride, *, affine=True, track_running_stats=True):
        return Pool(C_in, C_out, stride, mode, affine, track_running_stats)
    return factory


def _sep(k):
    def factory(C_in, C_out, stride, *, affine=True, track_running_stats=True):
        return SepConv(C_in, C_out, k, stride, k // 2, affine, track_running_stats)
    return factory


def _dil(k):
    def factory(C_in, C_out, stride, *, affine=True, track_running_stats=True):
        return DilConv(C_in, C_out, k, stride, k - 1, 2, affine, track_running_stats)
    return factory


def _nb101_maxpool(C_in, C_out, stride, *, affine=True, track_running_stats=True):
    if C_in != C_out:
        raise ValueError(f"NB101's maxpool3x3 keeps the channel count; got C_in={C_in}, C_out={C_out}")
    return nn.MaxPool2d(3, stride=stride, padding=1)


# -- graph modules (NAS-Bench-Graph) ---------------------------------------------------------

class GraphOp(nn.Module):
    """A graph op: ``forward(x, edge_index)``.  Wraps a PyG conv, or a Linear (``fc``), or
    nothing (``skip``), so every node of a graph cell has the same call signature."""

    def __init__(self, name: str, module: nn.Module | None):
        super().__init__()
        self.name = name
        self.module = module

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        if self.module is None:
            return x
        if isinstance(self.module, nn.Linear):
            return self.module(x)
        return self.module(x, edge_index)

    def extra_repr(self) -> str:
        return self.name if self.module is None else ""


def _graph(name):
    """NAS-Bench-Graph's ``gnn_map``: the conv each op name stands for (``normalize=False`` is
    their setting for ogbn-proteins: no self loops in GAT, no normalisation in GCN)."""
    def factory(C_in, C_out, stride=1, *, affine=True, track_running_stats=True,
                normalize: bool = True, bias: bool = True):
        from torch_geometric import nn as gnn

        if name == "gat":
            if C_out % 4:
                raise ValueError(f"gat uses 4 heads of C_out // 4 channels: C_out must be a "
                                 f"multiple of 4, got {C_out}")
            module = gnn.GATConv(C_in, C_out // 4, heads=4, concat=True, bias=bias,
                                 add_self_loops=normalize)
        elif name == "gcn":
            # PyG >= 2.3 refuses self loops without normalisation; the benchmark's
            # (add_self_loops=True, normalize=False) added none in the PyG it used
            module = gnn.GCNConv(C_in, C_out, add_self_loops=normalize, normalize=normalize)
        elif name == "gin":
            module = gnn.GINConv(nn.Linear(C_in, C_out))
        elif name == "cheb":
            module = gnn.ChebConv(C_in, C_out, K=2, bias=bias)
        elif name == "sage":
            module = gnn.SAGEConv(C_in, C_out, bias=bias)
        elif name == "arma":
            module = gnn.ARMAConv(C_in, C_out, bias=bias)
        elif name == "graph":
            module = gnn.GraphConv(C_in, C_out, bias=bias)
        elif name == "fc":
            module = nn.Linear(C_in, C_out, bias=bias)
        elif name == "skip":
            if C_in != C_out:
                raise ValueError(f"skip keeps the width; got C_in={C_in}, C_out={C_out}")
            module = None
        else:  # pragma: no cover - only the names registered below reach here
            raise ValueError(f"no graph op {name!r}")
        return GraphOp(name, module)
    return factory


# -- the registry ----------------------------------------------------------------------------

for _name, _factory, _doc in (
    ("none", _none, "zeros (NB201 'none')"),
    ("skip_connect", _skip, "identity; FactorizedReduce when striding or changing channels"),
    ("nor_conv_1x1", _relu_conv_bn(1), "ReLU-conv1x1-BN (NB201)"),
    ("nor_conv_3x3", _relu_conv_bn(3), "ReLU-conv3x3-BN (NB201)"),
    ("avg_pool_3x3", _pool("avg"), "3x3 average pool, padding not counted (NB201, DARTS)"),
    ("max_pool_3x3", _pool("max"), "3x3 max pool (DARTS)"),
    ("sep_conv_3x3", _sep(3), "two ReLU-dw3x3-pw-BN blocks (DARTS)"),
    ("sep_conv_5x5", _sep(5), "two ReLU-dw5x5-pw-BN blocks (DARTS)"),
    ("dil_conv_3x3", _dil(3), "ReLU-dw3x3 dilation 2-pw-BN (DARTS)"),
    ("dil_conv_5x5", _dil(5), "ReLU-dw5x5 dilation 2-pw-BN (DARTS)"),
    ("conv3x3-bn-relu", _conv_bn_relu(3), "conv3x3-BN-ReLU (NB101)"),
    ("conv1x1-bn-relu", _conv_bn_relu(1), "conv1x1-BN-ReLU (NB101)"),
    ("maxpool3x3", _nb101_maxpool, "3x3 max pool, stride 1, same padding (NB101)"),
):
    register_op(_name, _factory, domain="image", doc=_doc)

for _name, _doc in (
    ("gat", "GATConv, 4 heads of C_out // 4 channels, concatenated"),
    ("gcn", "GCNConv"),
    ("gin", "GINConv over one Linear"),
    ("cheb", "ChebConv, K=2"),
    ("sage", "SAGEConv"),
    ("arma", "ARMAConv"),
    ("graph", "GraphConv (k-GNN)"),
    ("fc", "Linear on node features (no message passing)"),
    ("skip", "identity"),
):
    register_op(_name, _graph(_name), domain="graph", doc=_doc)
del _name, _factory, _doc
