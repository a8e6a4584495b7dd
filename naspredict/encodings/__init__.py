"""Encodings: architectures -> features, written once over the labelled DAG.

``make_encoding(name, space)`` builds one of ``ENCODINGS``.  Each is a scikit-learn transformer
with a ``width`` known before ``fit``.
"""
from __future__ import annotations

from .adjacency import AdjacencyOneHot
from .base import Encoding
from .concat import ConcatEncoding
from .features import GraphFeatures
from .graph import GraphEncoding
from .path import PathEncoding
from .proxies import ProxyEncoding
from .sequence import SequenceEncoding

ENCODINGS = {
    "onehot": AdjacencyOneHot,
    "path": PathEncoding,
    "sequence": SequenceEncoding,
    "graph": GraphEncoding,
    "features": GraphFeatures,
    "proxies": ProxyEncoding,
}


def make_encoding(name: str, space="nb201", **params) -> Encoding:
    """The encoding called ``name`` (one of ``ENCODINGS``) for ``space``.

    Several vector encodings joined with ``+`` (``"features+onehot"``) are concatenated.  An
    :class:`Encoding` instance is returned as it is (so a configured one, e.g. a
    ``ConcatEncoding(parts=("features", ProxyEncoding(channels=8)))``, can stand wherever a
    name is taken).
    """
    if isinstance(name, Encoding):
        return name
    if "+" in name:
        return ConcatEncoding(space=space, parts=tuple(name.split("+")))
    if name not in ENCODINGS:
        raise ValueError(f"unknown encoding {name!r}; expected one of {', '.join(ENCODINGS)}")
    return ENCODINGS[name](space=space, **params)


__all__ = ["Encoding", "AdjacencyOneHot", "PathEncoding", "SequenceEncoding", "GraphEncoding",
           "GraphFeatures", "ConcatEncoding", "ProxyEncoding", "ENCODINGS", "make_encoding"]
