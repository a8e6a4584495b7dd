"""Torch networks built from an architecture.

* :func:`build_network` (``build.py``): the network of any space, dispatched through a
  registry of per-space builders (``nb201.py``, ``nb101.py``, ``darts.py``, ``nbgraph.py``).
* :mod:`.ops`: the one op registry (name -> factory) the builders share.
* :mod:`.dag`: :class:`DagCell`, cell wiring over a space's labelled DAG, apart from its ops.
* :func:`profile` (``profile.py``): parameters, FLOPs/MACs and latency of a built network.

Nothing here seeds or sets thread counts: weights come from torch's global RNG.
"""
from __future__ import annotations

from .build import BUILDERS, NetBuilder, build_network, default_settings, register_builder
from .dag import DagCell
from .ops import OPS, make_op, op_names, register_op
from .profile import Profile, profile

__all__ = ["build_network", "default_settings", "register_builder", "BUILDERS", "NetBuilder",
           "DagCell", "OPS", "make_op", "op_names", "register_op", "count_params", "profile",
           "Profile"]


def count_params(model) -> int:
    """``sum(p.numel() for p in model.parameters())``: every parameter tensor (conv / linear
    weights and biases, BatchNorm affine weight and bias); BN running statistics are buffers
    and are not counted."""
    return sum(p.numel() for p in model.parameters())
