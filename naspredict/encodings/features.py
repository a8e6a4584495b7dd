"""Graph features in the spirit of GRAF (Kadlecová et al., ICML 2024).

Interpretable, hand-made features computed on the cell as it computes (zero ops and dead
nodes removed, see :func:`live_dag`), so cells equal under ``space.canonical`` share them:

- ``count[op]``: live nodes of each op;
- ``on_paths[op]``: occurrences of each op summed over all input-to-output paths;
- ``min_len``, ``max_len``, ``mean_len``: op nodes per input-to-output path;
- ``n_paths``: number of input-to-output paths;
- ``in_degree_out``, ``out_degree_in``: live fan-in of the output, fan-out of the input(s);
- ``n_live``: live op nodes;  ``dead``: 1 when no input reaches the output.
"""
from __future__ import annotations

import numpy as np

from ..spaces.base import LabelledDAG
from .base import Encoding, io_paths, live_dag

_SCALARS = ("min_len", "max_len", "mean_len", "n_paths", "in_degree_out", "out_degree_in",
            "n_live", "dead")


class GraphFeatures(Encoding):
    """GRAF-style features; width ``2 * len(space.ops) + 8``.  ``feature_names_`` names them."""

    @property
    def width(self) -> int:
        return 2 * len(self.space_.ops) + len(_SCALARS)

    @property
    def feature_names(self) -> list[str]:
        ops = self.space_.ops
        return [f"count[{o}]" for o in ops] + [f"on_paths[{o}]" for o in ops] + list(_SCALARS)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.feature_names, dtype=object)

    def _encode_one(self, dag: LabelledDAG, row: np.ndarray) -> None:
        sp = self.space_
        ops = sp.ops
        idx = {o: i for i, o in enumerate(ops)}
        m, labels = live_dag(sp, dag)
        k = dag.n_inputs
        n = len(labels)
        dead = n == k + 1 and not m.any()
        for lab in labels[k:-1]:
            if lab in idx:
                row[idx[lab]] += 1
        paths = [] if dead else io_paths(m, labels, k, set(ops))
        for p in paths:
            for lab in p:
                row[len(ops) + idx[lab]] += 1
        base = 2 * len(ops)
        if paths:
            lens = np.array([len(p) for p in paths], float)
            row[base + 0], row[base + 1], row[base + 2] = lens.min(), lens.max(), lens.mean()
        row[base + 3] = len(paths)
        row[base + 4] = m[:, n - 1].sum()
        row[base + 5] = m[:k, :].sum()
        row[base + 6] = sum(1 for lab in labels[k:-1] if lab in idx)
        row[base + 7] = float(dead)
