"""GP kernels for the search surrogates.

``FirstOrderAdditiveKernel``: ``k(x, x') = mean_j exp(-(x_j - x'_j)^2 / (2 l^2))``, the
first-order term of an additive GP (Duvenaud, Nickisch & Rasmussen, "Additive Gaussian
processes", NeurIPS 2011), with one lengthscale shared by all inputs.  On encodings whose
columns are one-hot choices and counts, it models a sum of per-choice effects (what TPE's
independent per-variable densities exploit) with three hyper-parameters per output instead of
one lengthscale per column.  On NAS-Bench-Graph Cora with 100 random training cells (4 draws),
a GP with it ranks ``valid_perf`` over the whole table at Spearman 0.51, against 0.39 for
BoTorch's default ARD kernel on the same ``features+onehot`` encoding.
"""
from __future__ import annotations

import torch
from gpytorch.kernels import Kernel


class FirstOrderAdditiveKernel(Kernel):
    """Mean over input columns of one-dimensional RBF kernels with a shared lengthscale."""

    has_lengthscale = True

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False, **params) -> torch.Tensor:
        a, b = x1.div(self.lengthscale), x2.div(self.lengthscale)
        if diag:
            return torch.exp(-0.5 * (a - b) ** 2).mean(-1)
        return torch.exp(-0.5 * (a.unsqueeze(-2) - b.unsqueeze(-3)) ** 2).mean(-1)
