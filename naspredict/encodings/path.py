"""Path encoding (White et al., BANANAS, AAAI 2021).

One feature per possible sequence of ops along an input-to-output path; the value counts the
cell's paths with that sequence.  Paths through a zero op (NB201's ``none``) carry nothing and
are not counted, so cells equal under ``space.canonical`` share their encoding.  The layout
keeps every sequence over the full op vocabulary (width 5 + 25 + 125 = 155 on NB201); columns
of sequences through a zero op stay 0.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..spaces.base import LabelledDAG
from .base import Encoding, io_paths, live_dag


class PathEncoding(Encoding):
    """Parameters
    ----------
    space : space name or instance.
    max_length : longest path (in ops) to encode; default ``space.max_path_length``.
    truncate : keep only the first ``truncate`` features (shortest paths come first), as
        BANANAS does for large spaces; ``None`` keeps all.
    """

    def __init__(self, space="nb201", max_length: int | None = None, truncate: int | None = None):
        super().__init__(space)
        self.max_length = max_length
        self.truncate = truncate

    def _vocab(self) -> dict[tuple[str, ...], int]:
        sp = self.space_
        hi = self.max_length if self.max_length is not None else sp.max_path_length
        lo = sp.min_path_length
        if hi < lo:
            raise ValueError(f"max_length={hi} is below the shortest path length {lo}")
        vocab: dict[tuple[str, ...], int] = {}
        for length in range(lo, hi + 1):
            n_new = len(sp.ops) ** length
            if self.truncate is not None and len(vocab) + n_new > self.truncate and length > lo:
                # enumerate lazily: only what fits
                for seq in itertools.product(sp.ops, repeat=length):
                    if len(vocab) >= self.truncate:
                        break
                    vocab[seq] = len(vocab)
                break
            for seq in itertools.product(sp.ops, repeat=length):
                vocab[seq] = len(vocab)
        if self.truncate is not None:
            vocab = {k: v for k, v in vocab.items() if v < self.truncate}
        return vocab

    @property
    def width(self) -> int:
        if getattr(self, "_vocab_cache", None) is None or self._vocab_key != self._key():
            self._vocab_cache = self._vocab()
            self._vocab_key = self._key()
        return len(self._vocab_cache)

    def _key(self):
        sp = self.space_
        return (sp.name, sp.ops, self.max_length, self.truncate)

    def _encode_one(self, dag: LabelledDAG, row: np.ndarray) -> None:
        sp = self.space_
        vocab = self._vocab_cache
        m, labels = live_dag(sp, dag)
        hi = self.max_length if self.max_length is not None else sp.max_path_length
        for path in io_paths(m, labels, dag.n_inputs, set(sp.ops), hi):
            j = vocab.get(path)
            if j is not None:
                row[j] += 1.0

    def transform(self, archs):
        self.width  # builds the vocabulary
        return super().transform(archs)
