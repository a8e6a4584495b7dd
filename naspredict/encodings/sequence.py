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

    def inverse_transform(self, tokens) -> list:
        """Architectures back from token sequences (rows of :meth:`transform`'s output).

        NB201 (fixed topology): the op tokens become the 6 edge ops of an ``NB201Arch``.
        NB101: the edge / no-edge and op tokens rebuild the padded cell's matrix and labels, and
        ``space.make`` prunes it (so the result is canonical up to dangling nodes).  Other spaces
        raise ``NotImplementedError``.  Sequences that name no valid cell (a pad or edge token in
        an op slot, an op token in an edge slot, a partly padded node, a disconnected or
        over-sized NB101 cell) raise ``ValueError``.  A single 1-D sequence is read as one row.
        """
        sp = self.space_
        arr = np.asarray(tokens)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != self.width:
            raise ValueError(f"expected token sequences of shape (n, {self.width}) for the "
                             f"{sp.name!r} space, got shape {np.shape(tokens)}")
        if arr.size and not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.equal(np.mod(arr, 1), 0)):
                raise ValueError("token sequences must hold integer token ids")
        arr = arr.astype(np.int64)
        n_tok = self.vocab_size
        if sp.name == "nb201":
            from ..spaces.nb201 import NB201Arch
            out = []
            for r, row in enumerate(arr):
                bad = [int(t) for t in row if not FIRST_OP <= t < n_tok]
                if bad:
                    raise ValueError(f"sequence {r} has non-op token(s) {bad} in op slots; "
                                     f"NB201 op tokens are {FIRST_OP}..{n_tok - 1}")
                out.append(NB201Arch(tuple(sp.ops[int(t) - FIRST_OP] for t in row)))
            return out
        if sp.name == "nb101":
            return [self._inverse_dag_row(r, row) for r, row in enumerate(arr)]
        raise NotImplementedError(f"SequenceEncoding.inverse_transform supports the nb201 and "
                                  f"nb101 spaces, not {sp.name!r}")

    def _inverse_dag_row(self, r: int, row: np.ndarray):
        """One NB101-style sequence -> ``space.make(matrix, ops)`` (see :meth:`inverse_transform`)."""
        from ..spaces.base import INPUT, OUTPUT
        sp = self.space_
        n_max, k = sp.max_nodes, n_inputs(sp)
        n_tok = self.vocab_size
        full = np.zeros((n_max, n_max), np.int8)
        labels: list = [INPUT] * k + [None] * (n_max - k - 1) + [OUTPUT]
        t = 0
        for j in range(k, n_max):
            edges = row[t:t + j]
            t += j
            op = None
            if j < n_max - 1:
                op = int(row[t])
                t += 1
            is_out = j == n_max - 1
            if not is_out and op == PAD and np.all(edges == PAD):
                continue  # padded (absent) node
            if np.any((edges != NO_EDGE) & (edges != EDGE)):
                raise ValueError(f"sequence {r}: node {j} has token(s) other than edge/no-edge "
                                 f"({NO_EDGE}/{EDGE}) in its edge slots: {edges.tolist()}")
            if not is_out:
                if not FIRST_OP <= op < n_tok:
                    raise ValueError(f"sequence {r}: node {j} has token {op} in its op slot; "
                                     f"op tokens are {FIRST_OP}..{n_tok - 1}")
                labels[j] = sp.ops[op - FIRST_OP]
            full[:j, j] = edges == EDGE
        present = [i for i in range(n_max) if labels[i] is not None]
        absent = [i for i in range(n_max) if labels[i] is None]
        if absent and full[absent, :].any():
            raise ValueError(f"sequence {r}: an edge leaves a padded (absent) node")
        m = full[np.ix_(present, present)]
        return sp.make(m.tolist(), [labels[i] for i in present])
