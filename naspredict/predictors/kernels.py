"""GP kernels for the GP predictors (moved from ``naspredict.search``; used by ``botorch-gp``, which mobo fits).

``FirstOrderAdditiveKernel``: ``k(x, x') = mean_j exp(-(x_j - x'_j)^2 / (2 l^2))``, the
first-order term of an additive GP (Duvenaud, Nickisch & Rasmussen, "Additive Gaussian
processes", NeurIPS 2011), with one lengthscale shared by all inputs.  On encodings whose
columns are one-hot choices and counts, it models a sum of per-choice effects (what TPE's
independent per-variable densities exploit) with three hyper-parameters per output instead of
one lengthscale per column.  On NAS-Bench-Graph Cora with 100 random training cells (4 draws),
a GP with it ranks ``valid_perf`` over the whole table at Spearman 0.51, against 0.39 for
BoTorch's default ARD kernel on the same ``features+onehot`` encoding.  That did not carry
over to search: ``mobo`` with ``acquisition="ehvi"`` reached 0.584 / 0.671 / 0.790 of the true
hypervolume after 50 / 100 / 200 queries with this kernel, against 0.540 / 0.711 / 0.790 with the
default (10 seeds each, benchmarks/results/search_nbgraph.md).  Most runs of both stall at the
same front: they find the low-latency end of the true front but no cell with ``valid_perf`` above
about 0.807, of which the table has 56 among its 13,103 faster-than-median cells.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from gpytorch.kernels import Kernel


class FirstOrderAdditiveKernel(Kernel):
    """Mean over input columns of one-dimensional RBF kernels with a shared lengthscale.

    ``levels`` (optional): the values each column can take (one array per column).  Inputs
    are then snapped to the nearest level and the kernel is computed as ``E1 M E2^T / d``, with
    ``E`` the one-hot of every column's level and ``M`` the block-diagonal matrix of
    per-column level-to-level kernel values: a matrix product instead of an
    ``n1 x n2 x d`` tensor of exponentials (26k x 200 cells: about 50x less work for the
    77 NAS-Bench-Graph ``features+onehot`` columns, which take 233 levels in all).  Without
    ``levels`` the formula is evaluated directly.
    """

    has_lengthscale = True

    def __init__(self, levels: Sequence[np.ndarray] | None = None, **kwargs):
        super().__init__(**kwargs)
        self._n_cols = None  # columns of the levels path (None: direct formula)
        if levels is not None:
            lv = [np.unique(np.asarray(v, dtype=np.float64)) for v in levels]
            sizes = [len(v) for v in lv]
            self.register_buffer("_values", torch.as_tensor(np.concatenate(lv)))
            self.register_buffer("_offsets", torch.as_tensor(np.cumsum([0] + sizes[:-1])))
            cols = np.repeat(np.arange(len(lv)), sizes)
            self.register_buffer("_same_col", torch.as_tensor((cols[:, None] == cols[None, :]).astype(np.float64)))
            # per column: midpoints between consecutive levels, padded with +inf, for bucketize
            width = max(sizes)
            mids = np.full((len(lv), max(width - 1, 1)), np.inf)
            for j, v in enumerate(lv):
                mids[j, : len(v) - 1] = (v[1:] + v[:-1]) / 2
            self.register_buffer("_mids", torch.as_tensor(mids))
            self._n_cols = len(lv)

    def _onehot(self, x: torch.Tensor) -> torch.Tensor:
        """``... x n x d`` inputs -> ``... x n x W`` one-hot of each column's nearest level."""
        d = x.shape[-1]
        if d != self._n_cols:
            raise ValueError(f"kernel built for {self._n_cols} columns, got inputs with {d}")
        idx = (x.unsqueeze(-1) > self._mids.to(x)).sum(-1)  # ... x n x d, level index per column
        E = torch.zeros(*x.shape[:-1], self._values.numel(), dtype=x.dtype, device=x.device)
        return E.scatter_(-1, idx + self._offsets, 1.0)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False, **params) -> torch.Tensor:
        if diag:
            a, b = x1.div(self.lengthscale), x2.div(self.lengthscale)
            return torch.exp(-0.5 * (a - b) ** 2).mean(-1)
        if self._n_cols is None:
            a, b = x1.div(self.lengthscale), x2.div(self.lengthscale)
            return torch.exp(-0.5 * (a.unsqueeze(-2) - b.unsqueeze(-3)) ** 2).mean(-1)
        v = self._values.to(x1)
        sq = (v[:, None] - v[None, :]) ** 2  # W x W
        M = torch.exp(-0.5 * sq / self.lengthscale ** 2) * self._same_col.to(x1)
        E1, E2 = self._onehot(x1), self._onehot(x2)
        return (E1 @ M @ E2.transpose(-1, -2)) / x1.shape[-1]
