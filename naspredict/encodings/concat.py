"""Side-by-side concatenation of several vector encodings (``"features+onehot"``)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .base import Encoding


class ConcatEncoding(Encoding):
    """Concatenate vector encodings named in ``parts`` (e.g. ``("features", "onehot")``)."""

    def __init__(self, space="nb201", parts: Sequence[str] = ("features", "onehot")):
        super().__init__(space)
        self.parts = parts

    def _encoders(self) -> list[Encoding]:
        from . import make_encoding
        if not self.parts:
            raise ValueError("ConcatEncoding needs at least one part")
        if "graph" in self.parts:
            raise ValueError("the graph encoding gives PyG graphs, not vectors; it cannot be concatenated")
        return [make_encoding(p, self.space_) for p in self.parts]

    @property
    def width(self) -> int:
        return sum(e.width for e in self._encoders())

    def transform(self, archs) -> np.ndarray:
        self._check(archs)
        return np.hstack([e.transform(archs) for e in self._encoders()]).astype(np.float32)
