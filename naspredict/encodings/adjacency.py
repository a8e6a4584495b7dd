"""Adjacency one-hot encoding (White et al., 2021, "adj" encoding)."""
from __future__ import annotations

import numpy as np

from ..spaces.base import LabelledDAG
from .base import Encoding, n_inputs


class AdjacencyOneHot(Encoding):
    """Upper-triangular adjacency bits (omitted when the space's topology is fixed) followed by
    a one-hot op vector for every op node.

    Nodes keep their DAG positions; a cell with fewer than ``space.max_nodes`` nodes is padded
    before its output node, which always takes the last position.  Width on NB201: 6 x 5 = 30.
    """

    @property
    def width(self) -> int:
        sp = self.space_
        n = sp.max_nodes
        adj = 0 if sp.fixed_topology else n * (n - 1) // 2
        return adj + (n - n_inputs(sp) - 1) * len(sp.ops)

    def _encode_one(self, dag: LabelledDAG, row: np.ndarray) -> None:
        sp = self.space_
        n_max, k = sp.max_nodes, n_inputs(sp)
        n = dag.n_nodes
        pos = list(range(n - 1)) + [n_max - 1]  # output goes last
        off = 0
        if not sp.fixed_topology:
            m = dag.matrix()
            full = np.zeros((n_max, n_max), np.float32)
            full[np.ix_(pos, pos)] = m
            iu = np.triu_indices(n_max, 1)
            row[: len(iu[0])] = full[iu]
            off = len(iu[0])
        op_index = {o: i for i, o in enumerate(sp.ops)}
        for node in range(k, n - 1):
            j = op_index.get(dag.ops[node])
            if j is not None:
                row[off + (pos[node] - k) * len(sp.ops) + j] = 1.0
