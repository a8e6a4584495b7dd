"""Search spaces: what an architecture is.

``get_space(name)`` returns one of ``nb201``, ``nb101``, ``darts``, ``nbgraph``.
"""
from __future__ import annotations

from .base import LabelledDAG, SearchSpace, graph_hash, prune
from .nb201 import NB201Arch, NB201Space

__all__ = ["LabelledDAG", "SearchSpace", "graph_hash", "prune", "NB201Arch", "NB201Space",
           "get_space", "SPACE_NAMES"]

SPACE_NAMES = ("nb201", "nb101", "darts", "nbgraph")


def get_space(name: str, **kwargs) -> SearchSpace:
    """The search space called ``name`` (one of ``SPACE_NAMES``)."""
    if name == "nb201":
        return NB201Space()
    if name == "nb101":
        from .nb101 import NB101Space
        return NB101Space()
    if name == "darts":
        from .darts import DartsSpace
        return DartsSpace()
    if name == "nbgraph":
        from .nbgraph import NBGraphSpace
        return NBGraphSpace(**kwargs)
    raise ValueError(f"unknown search space {name!r}; expected one of {', '.join(SPACE_NAMES)}")
