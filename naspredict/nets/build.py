"""``build_network``: a torch network from a space and an architecture.

Dispatch goes through :data:`BUILDERS` (space name -> :class:`NetBuilder`); each builder lives
in its own module and is imported on first use (the graph builder needs PyTorch Geometric,
the image builders do not).  Add a space with :func:`register_builder`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from ..spaces import SearchSpace, resolve_space

__all__ = ["NetBuilder", "BUILDERS", "register_builder", "build_network", "default_settings"]


@dataclass(frozen=True)
class NetBuilder:
    """How to build one space's network.

    ``target`` is ``"module:function"`` (imported lazily) or the function itself, called as
    ``fn(space, arch, channels=, cells=, n_classes=, input_shape=)``.  ``channels`` / ``cells``
    are the published defaults and say what the two knobs mean for the space;
    ``input_rank`` is 3 for images ``(C, H, W)`` and 1 for graphs ``(n_features,)``;
    ``default_input_shape`` is used when the caller gives none.
    """

    target: str | Callable[..., nn.Module]
    channels: int
    cells: int
    channels_doc: str
    cells_doc: str
    input_rank: int = 3
    default_input_shape: tuple[int, ...] | None = (3, 32, 32)
    channels_multiple: int = 1
    min_spatial: int = 4

    def load(self) -> Callable[..., nn.Module]:
        if callable(self.target):
            return self.target
        module, _, func = self.target.partition(":")
        return getattr(importlib.import_module(module), func)


BUILDERS: dict[str, NetBuilder] = {
    "nb201": NetBuilder("naspredict.nets.nb201:build", 16, 5,
                        "C, the channels of the first stage (then 2C, 4C)",
                        "N, cells per stage (3 stages)"),
    "nb101": NetBuilder("naspredict.nets.nb101:build", 128, 3,
                        "stem and first-stack channels (doubled at each of the 2 downsamplings)",
                        "cells (modules) per stack (3 stacks)"),
    "darts": NetBuilder("naspredict.nets.darts:build", 32, 8,
                        "C, the initial cell channels (stem 3C; doubled at each reduction)",
                        "layers: cells in total, reduction cells at 1/3 and 2/3"),
    "nbgraph": NetBuilder("naspredict.nets.nbgraph:build", 256, 1,
                          "hidden dimension of every GNN op", "cells in series",
                          input_rank=1, default_input_shape=None, channels_multiple=4),
}


def register_builder(name: str, builder: NetBuilder, *, replace: bool = False) -> None:
    """Add (or with ``replace=True`` override) the builder of space ``name``."""
    if name in BUILDERS and not replace:
        raise ValueError(f"a network builder for {name!r} exists; pass replace=True to override it")
    BUILDERS[name] = builder


def default_settings(space: str | SearchSpace) -> dict[str, Any]:
    """The published defaults ``{"channels", "cells", "input_shape"}`` of a space's network."""
    b = _builder(resolve_space(space).name)
    return {"channels": b.channels, "cells": b.cells, "input_shape": b.default_input_shape}


def _builder(name: str) -> NetBuilder:
    if name not in BUILDERS:
        raise ValueError(f"no network builder for space {name!r}; spaces with one: "
                         f"{', '.join(BUILDERS)} (add one with register_builder)")
    return BUILDERS[name]


def _positive_int(value: Any, what: str, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}; {fix}")
    return value


def build_network(space: str | SearchSpace, arch: Any, *, channels: int | None = None,
                  cells: int | None = None, n_classes: int = 10,
                  input_shape: tuple[int, ...] | None = None) -> nn.Module:
    """The torch network of ``arch`` in ``space``, freshly initialised.

    Parameters
    ----------
    space : a :class:`~naspredict.spaces.SearchSpace` or its name (``"nb201"``, ``"nb101"``,
        ``"darts"``, ``"nbgraph"``).
    arch : an architecture of the space, or its canonical string (``space.from_str``).
    channels, cells : network width and depth; ``None`` is the space's published setting
        (nb201: C=16, N=5 cells per stage; nb101: 128 channels, 3 cells per stack; darts:
        C=32, 8 layers, NAS-Bench-301's training setting; nbgraph: hidden dim 256, 1 cell).
        :data:`BUILDERS` documents each space's meaning.
    n_classes : outputs of the classifier.
    input_shape : ``(C, H, W)`` for the image spaces, no batch dimension (``None``: CIFAR's
        ``(3, 32, 32)``; only ``C`` changes the network, ``H`` and ``W`` must be at least 4 to
        survive the two downsamplings); ``(n_features,)`` for nbgraph, where it is required.

    Returns
    -------
    An ``nn.Module`` in training mode.  Image networks map ``(N, C, H, W)`` to logits
    ``(N, n_classes)``; the graph network maps a PyG ``Data`` (``x``, ``edge_index``) to
    per-node logits ``(n_nodes, n_classes)``.  Weights come from torch's global RNG (wrap the
    call in ``torch.random.fork_rng`` with a seed to make it reproducible).

    Raises
    ------
    ValueError
        For an unknown space, an arch not in the space, a malformed string, non-positive
        ``channels`` / ``cells`` / ``n_classes``, or an ``input_shape`` of the wrong form.

    Examples
    --------
    >>> net = build_network("nb201", "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    ...                     "+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    >>> sum(p.numel() for p in net.parameters())
    1288506
    """
    space = resolve_space(space)
    b = _builder(space.name)
    if isinstance(arch, str):
        arch = space.from_str(arch)
    arch = space.validate(arch)
    if channels is None:
        channels = b.channels
    if cells is None:
        cells = b.cells
    _positive_int(channels, "channels", f"for {space.name} it is {b.channels_doc} "
                                        f"(default {b.channels}; None gives the default)")
    if channels % b.channels_multiple:
        raise ValueError(f"{space.name} needs channels divisible by {b.channels_multiple}, got "
                         f"{channels}; pick e.g. {channels + b.channels_multiple - channels % b.channels_multiple}")
    _positive_int(cells, "cells", f"for {space.name} it is {b.cells_doc} (default {b.cells})")
    _positive_int(n_classes, "n_classes", "the number of classifier outputs")
    input_shape = _check_input_shape(space.name, b, input_shape)
    return b.load()(space, arch, channels=channels, cells=cells, n_classes=n_classes,
                    input_shape=input_shape)



def _check_input_shape(name: str, b: NetBuilder, input_shape: Any) -> tuple[int, ...]:
    form = "(C, H, W)" if b.input_rank == 3 else "(n_features,)"
    if input_shape is None:
        if b.default_input_shape is None:
            raise ValueError(f"{name} needs input_shape=(n_features,), the width of the node "
                             f"features, e.g. (1433,) for Cora")
        return b.default_input_shape
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise ValueError(f"input_shape for {name} must be a tuple {form}, got {input_shape!r}") from None
    if b.input_rank == 1 and len(shape) == 3:
        raise ValueError(f"{name} is a graph space: input_shape is (n_features,), e.g. (1433,) "
                         f"for Cora, not an image shape {shape}")
    if len(shape) != b.input_rank or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape):
        raise ValueError(f"input_shape for {name} must be {form} of positive ints (no batch "
                         f"dimension), got {input_shape!r}")
    if b.input_rank == 3 and min(shape[1:]) < b.min_spatial:
        raise ValueError(f"input_shape {shape} is too small for {name}: H and W must be at least "
                         f"{b.min_spatial} to survive its downsamplings")
    return shape
