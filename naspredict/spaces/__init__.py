"""Search spaces: what an architecture is.

``get_space(name)`` returns one of ``nb201``, ``nb101``, ``darts``, ``nbgraph``.  Each declares
its categorical choices schema (:meth:`SearchSpace.choices`, :class:`Choice`).
"""
from __future__ import annotations

from .base import Choice, LabelledDAG, SearchSpace, graph_hash, prune
from .nb201 import NB201Arch, NB201Space

__all__ = ["Choice", "LabelledDAG", "SearchSpace", "graph_hash", "prune", "NB201Arch", "NB201Space",
           "get_space", "resolve_space", "UsesSpace", "SPACE_NAMES"]

SPACE_NAMES = ("nb201", "nb101", "darts", "nbgraph")


def resolve_space(space: "str | SearchSpace") -> SearchSpace:
    """A space from its name, or the instance itself."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, str):
        return get_space(space)
    raise ValueError(f"space must be a space name or a SearchSpace, got {type(space).__name__}")


class UsesSpace:
    """Mixin for estimators with a ``space`` parameter (a name or an instance): ``space_`` is
    the resolved space, cached while the parameter is unchanged."""

    space: "str | SearchSpace"

    @property
    def space_(self) -> SearchSpace:
        cached = self.__dict__.get("_space_cache")
        if cached is None or cached[0] != self.space:
            cached = (self.space, resolve_space(self.space))
            self.__dict__["_space_cache"] = cached
        return cached[1]


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
