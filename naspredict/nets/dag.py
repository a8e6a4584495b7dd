"""Cell wiring over a labelled DAG, apart from the ops that fill it.

:class:`DagCell` evaluates a DAG in topological order whose nodes are ops (the form every
space's ``to_dag`` returns): the first ``n_inputs`` nodes take the cell's inputs, each later
node merges the values of its predecessors (``"sum"`` or ``"concat"``, optionally after a
per-edge module such as NB101's input projection) and applies its op, and the last node's
merged value is the cell output.  Which module sits on a node is the builder's choice, so the
same wiring serves a discrete network (one op per node) and a supernet (a mixed op per node).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import nn

from ..spaces.base import LabelledDAG

__all__ = ["DagCell", "MERGES", "predecessors", "sub_dag"]

#: how a node combines its inputs.  ``"concat_add_inputs"`` concatenates the inputs coming from
#: op nodes along channels and adds those coming from cell inputs (NB101's output vertex).
MERGES = ("sum", "concat", "concat_add_inputs")


def predecessors(dag: LabelledDAG) -> list[list[int]]:
    """``preds[j]``: the nodes with an edge into ``j``, ascending."""
    m = dag.matrix()
    return [[int(i) for i in range(dag.n_nodes) if m[i, j]] for j in range(dag.n_nodes)]


def sub_dag(dag: LabelledDAG, nodes: Sequence[int], labels: Sequence[str] | None = None,
            n_inputs: int | None = None) -> LabelledDAG:
    """The DAG induced on ``nodes`` (kept in the given order), optionally relabelled."""
    m = dag.matrix()[list(nodes)][:, list(nodes)]
    ops = tuple(labels) if labels is not None else tuple(dag.ops[i] for i in nodes)
    return LabelledDAG(tuple(map(tuple, m.tolist())), ops,
                       dag.n_inputs if n_inputs is None else n_inputs)


class DagCell(nn.Module):
    """Evaluate ``dag`` with ``node_ops[j]`` on op node ``j``.

    Parameters
    ----------
    dag : the cell's labelled DAG (inputs first, output last).
    node_ops : op node index -> module.  Nodes without an entry pass their merged input on.
    merge : ``"sum"`` (default for every node) or a mapping node -> one of :data:`MERGES`.
    edge_ops : ``(i, j)`` -> module applied to node ``i``'s value on its way into ``j``.
    extra_args : call node ops as ``op(x, *extra)`` with the ``extra`` given to
        :meth:`forward` (graph ops take ``edge_index``); otherwise ``op(x)``.

    ``forward(*inputs, extra=())`` takes one tensor per input node and returns the output
    node's value.  A node with no predecessors is an error at construction (prune first).
    """

    def __init__(self, dag: LabelledDAG, node_ops: Mapping[int, nn.Module], *,
                 merge: str | Mapping[int, str] = "sum",
                 edge_ops: Mapping[tuple[int, int], nn.Module] | None = None,
                 extra_args: bool = False):
        super().__init__()
        self.dag = dag
        self.n_inputs = dag.n_inputs
        self.preds = predecessors(dag)
        n = dag.n_nodes
        for j in range(self.n_inputs, n):
            if not self.preds[j]:
                raise ValueError(f"DAG node {j} ({dag.ops[j]!r}) has no inputs; prune the DAG first")
        bad = [j for j in node_ops if not self.n_inputs <= j < n - 1]
        if bad:
            raise ValueError(f"node_ops may only fill op nodes {self.n_inputs}..{n - 2}, got {bad}")
        self.merges = [merge if isinstance(merge, str) else merge.get(j, "sum") for j in range(n)]
        for m in self.merges:
            if m not in MERGES:
                raise ValueError(f"unknown merge {m!r}; expected one of {MERGES}")
        self.node_ops = nn.ModuleDict({str(j): op for j, op in node_ops.items()})
        self.edge_ops = nn.ModuleDict({f"{i}_{j}": op for (i, j), op in (edge_ops or {}).items()})
        self.extra_args = extra_args

    def _merge(self, j: int, xs: list[torch.Tensor]) -> torch.Tensor:
        how = self.merges[j]
        if len(xs) == 1:
            return xs[0]
        if how == "sum":
            out = xs[0]
            for x in xs[1:]:
                out = out + x
            return out
        if how == "concat":
            return torch.cat(xs, dim=1)
        # concat_add_inputs
        srcs = self.preds[j]
        inner = [x for i, x in zip(srcs, xs) if i >= self.n_inputs]
        outer = [x for i, x in zip(srcs, xs) if i < self.n_inputs]
        out = torch.cat(inner, dim=1) if len(inner) > 1 else inner[0] if inner else outer.pop(0)
        for x in outer:
            out = out + x
        return out

    def forward(self, *inputs: torch.Tensor, extra: tuple = ()) -> torch.Tensor:
        if len(inputs) != self.n_inputs:
            raise ValueError(f"this cell takes {self.n_inputs} input tensor(s), got {len(inputs)}")
        values: list[torch.Tensor | None] = list(inputs) + [None] * (self.dag.n_nodes - self.n_inputs)
        for j in range(self.n_inputs, self.dag.n_nodes):
            xs = []
            for i in self.preds[j]:
                key = f"{i}_{j}"
                x = values[i]
                xs.append(self.edge_ops[key](x) if key in self.edge_ops else x)
            x = self._merge(j, xs)
            op = self.node_ops[str(j)] if str(j) in self.node_ops else None
            if op is not None:
                x = op(x, *extra) if self.extra_args else op(x)
            values[j] = x
        return values[-1]  # type: ignore[return-value]

    def extra_repr(self) -> str:
        return f"nodes={self.dag.n_nodes}, labels={list(self.dag.ops)}"
