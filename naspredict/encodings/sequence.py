"""Token sequences for LSTM encoders (NAO, Luo et al. 2018; SemiNAS, Luo et al. 2020).

For a space with a fixed topology (NB201) the sequence is the op token of every op node.
Otherwise every node after the input(s), in topological order, contributes one
edge / no-edge token per earlier node, then its op token (the output node contributes only
its edge tokens).  Cells with fewer nodes are padded before the output, like
:class:`AdjacencyOneHot`.  Token ids: ``0`` padding, ``1`` no edge, ``2`` edge, ``3 + i`` the
``i``-th op of ``space.ops``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..spaces.base import LabelledDAG
from .base import Encoding, n_inputs

PAD, NO_EDGE, EDGE, FIRST_OP = 0, 1, 2, 3


class SequenceEncoding(Encoding):
    """Integer token sequences, shape ``(n_archs, width)``; ``vocab_size`` tokens in all."""

    @property
    def vocab_size(self) -> int:
        return FIRST_OP + len(self.space_.ops)

    @property
    def width(self) -> int:
        sp = self.space_
        n, k = sp.max_nodes, n_inputs(sp)
        if sp.fixed_topology:
            return n - k - 1
        return sum(range(k, n)) + (n - k - 1)  # edge tokens for nodes k..n-1, op tokens for k..n-2

    def transform(self, archs: Sequence) -> np.ndarray:
        return super().transform(archs).astype(np.int64)

    def _encode_one(self, dag: LabelledDAG, row: np.ndarray) -> None:
        sp = self.space_
        n_max, k = sp.max_nodes, n_inputs(sp)
        op_tok = {o: FIRST_OP + i for i, o in enumerate(sp.ops)}
        n = dag.n_nodes
        if sp.fixed_topology:
            for t, node in enumerate(range(k, n - 1)):
                row[t] = op_tok.get(dag.ops[node], PAD)
            return
        m = dag.matrix()
        pos = list(range(n - 1)) + [n_max - 1]
        full = np.zeros((n_max, n_max), np.int8)
        full[np.ix_(pos, pos)] = m
        labels = [None] * n_max
        for node in range(n):
            labels[pos[node]] = dag.ops[node]
        t = 0
        for j in range(k, n_max):
            present = labels[j] is not None
            for i in range(j):
                row[t] = (EDGE if full[i, j] else NO_EDGE) if present else PAD
                t += 1
            if j < n_max - 1:
                row[t] = op_tok.get(labels[j], PAD) if present else PAD
                t += 1
