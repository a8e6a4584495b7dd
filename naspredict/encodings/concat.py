"""Side-by-side concatenation of several vector encodings (``"features+onehot"``).

Built on scikit-learn's :class:`~sklearn.pipeline.FeatureUnion`, so ``get_feature_names_out``
names every column after the encoding it comes from (``"features__..."``, ``"onehot__x3"``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.pipeline import FeatureUnion

from .base import Encoding


class ConcatEncoding(Encoding):
    """Concatenate the vector encodings named in ``parts``, left to right.

    Parameters
    ----------
    space : str or SearchSpace, default "nb201"
        The search space every part encodes.
    parts : sequence of str or Encoding, default ("features", "onehot")
        Encoding names (see :data:`naspredict.encodings.ENCODINGS`) or configured
        :class:`Encoding` instances.  ``"graph"`` is refused (it gives graphs, not vectors).

    Notes
    -----
    ``transform`` gives a ``(len(archs), width)`` float32 matrix equal to ``np.hstack`` of the
    parts' matrices.  The joining is a :class:`~sklearn.pipeline.FeatureUnion` (see
    :meth:`union`); the parts keep their own row caches.

    Raises
    ------
    ValueError
        ``parts`` is empty or holds ``"graph"`` or an unknown name (on first use).
    """

    def __init__(self, space="nb201", parts: Sequence[str] = ("features", "onehot")):
        super().__init__(space)
        self.parts = parts

    def _encoders(self) -> list[Encoding]:
        from . import make_encoding
        if not self.parts:
            raise ValueError("ConcatEncoding needs at least one part, e.g. parts=('features', 'onehot')")
        if "graph" in self.parts:
            raise ValueError("the graph encoding gives PyG graphs, not vectors; it cannot be concatenated "
                             "(use a vector encoding such as 'features' or 'onehot', or the gcn predictor)")
        return [make_encoding(p, self.space_) for p in self.parts]

    def union(self) -> FeatureUnion:
        """The parts as a scikit-learn ``FeatureUnion``, one ``(name, encoding)`` per part.

        A part's name is its encoding name (an instance's class name, lower case), with
        ``"-2"``, ``"-3"``, ... added when a name repeats.
        """
        named, seen = [], {}
        for p, enc in zip(self.parts, self._encoders()):
            name = p if isinstance(p, str) else type(p).__name__.lower()
            seen[name] = seen.get(name, 0) + 1
            named.append((name if seen[name] == 1 else f"{name}-{seen[name]}", enc))
        return FeatureUnion(named)

    @property
    def width(self) -> int:
        return sum(e.width for e in self._encoders())

    def transform(self, archs) -> np.ndarray:
        """Encode ``archs`` into a ``(len(archs), width)`` float32 matrix (the parts side by side).

        Raises
        ------
        ValueError
            ``archs`` is empty or not of this space.
        """
        self._check(archs)
        return np.asarray(self.union().transform(archs), dtype=np.float32)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Column names ``"<part>__<name>"``, ``width`` of them (object array)."""
        return self.union().get_feature_names_out()
