"""Graph encoding for GCN predictors: one PyG ``Data`` per architecture.

Nodes are the DAG's nodes with a one-hot label over ``input``/``output``, the space's ops and
its structural labels; edges follow the DAG.  ``global_node=True`` adds a node linked to every
other node, as in BONAS (Shi et al., 2020).  Edges are directed (``edge_index[0]`` -> ``[1]``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from .base import Encoding

GLOBAL = "global"


class GraphEncoding(Encoding):
    """Parameters
    ----------
    space : space name or instance.
    global_node : add a global node connected to all nodes (both directions).
    """

    def __init__(self, space="nb201", global_node: bool = False):
        super().__init__(space)
        self.global_node = global_node

    @property
    def labels(self) -> tuple[str, ...]:
        sp = self.space_
        structural = tuple(getattr(sp, "structural_labels", ("input", "output")))
        return structural + tuple(o for o in sp.ops if o not in structural) + (GLOBAL,)

    @property
    def width(self) -> int:
        """Node feature width."""
        return len(self.labels)

    def transform(self, archs: Sequence) -> list[Data]:
        sp = self._check(archs)
        index = {l: i for i, l in enumerate(self.labels)}
        out = []
        for a in archs:
            dag = sp.to_dag(sp.validate(a))
            n = dag.n_nodes
            x = np.zeros((n + self.global_node, self.width), np.float32)
            for i, lab in enumerate(dag.ops):
                if lab not in index:
                    raise ValueError(f"node label {lab!r} of {sp.name} is not in the encoding's "
                                     f"labels {self.labels}; declare it in space.structural_labels")
                x[i, index[lab]] = 1.0
            src, dst = np.nonzero(dag.matrix())
            if self.global_node:
                x[n, index[GLOBAL]] = 1.0
                others = np.arange(n)
                src = np.concatenate([src, np.full(n, n), others])
                dst = np.concatenate([dst, others, np.full(n, n)])
            out.append(Data(x=torch.from_numpy(x),
                            edge_index=torch.as_tensor(np.stack([src, dst]), dtype=torch.long),
                            num_nodes=len(x)))
        return out
