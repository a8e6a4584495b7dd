"""Graph-convolutional predictors over the cell's labelled DAG.

- :class:`GCNPredictor`: the neural predictor of Wen et al. ("Neural Predictor for Neural
  Architecture Search", ECCV 2020): graph-convolution layers that pass messages along the
  edges in both directions, mean pooling over nodes, an MLP head, MSE on standardised targets.
- :class:`GCNBLRPredictor` (``"gcn-blr"``): the same network trained with a linear output layer,
  then a Bayesian linear regression on its learned graph embedding, as in BOGCN-NAS (Shi et al.,
  "Multi-objective Neural Architecture Search via Predictive Network Performance Optimization",
  2019) and BONAS (Shi et al., "Bridging the Gap between Sample-based and One-shot Neural
  Architecture Search with BONAS", NeurIPS 2020).  The BLR gives closed-form predictive means and
  variances; its prior and noise precisions (alpha, beta) maximise the evidence (MacKay, 1992;
  Bishop, 2006, sec. 3.5).

Both read :class:`~naspredict.encodings.GraphEncoding` (one-hot node labels, optional BONAS
global node) and run on dense, padded adjacency batches, so they work on every space.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..encodings.graph import GraphEncoding
from .base import Predictor, Standardizer


# -- dense batches ------------------------------------------------------------------------------
def dense_batch(graphs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad PyG graphs into ``x (B, N, F)``, normalised propagation ``P (B, 2, N, N)`` and node
    ``mask (B, N)``.

    ``P[:, 0]`` averages over a node's predecessors and itself (messages along the edges),
    ``P[:, 1]`` over its successors and itself (messages against the edges), i.e.
    ``D^-1 (A + I)`` for ``A`` and ``A^T``.
    """
    sizes = torch.tensor([g.num_nodes for g in graphs])
    B, N, F = len(graphs), int(sizes.max()), graphs[0].x.shape[1]
    batch = torch.repeat_interleave(torch.arange(B), sizes)
    starts = torch.cumsum(sizes, 0) - sizes
    pos = torch.arange(int(sizes.sum())) - starts[batch]
    x = torch.zeros(B, N, F)
    x[batch, pos] = torch.cat([g.x for g in graphs]).float()
    mask = torch.zeros(B, N)
    mask[batch, pos] = 1.0
    n_edges = torch.tensor([g.edge_index.shape[1] for g in graphs])
    ei = torch.cat([g.edge_index for g in graphs], 1)
    eb = torch.repeat_interleave(torch.arange(B), n_edges)
    adj = torch.zeros(B, 2, N, N)
    adj[eb, 0, ei[1], ei[0]] = 1.0          # row = receiver, column = sender
    adj[eb, 1, ei[0], ei[1]] = 1.0
    adj = adj + torch.diag_embed(mask).unsqueeze(1)
    adj = adj / adj.sum(-1, keepdim=True).clamp_min(1.0)
    return x, adj, mask


class _GCN(nn.Module):
    """Bidirectional GCN trunk + mean pooling + MLP head; ``embed`` gives the last hidden layer."""

    def __init__(self, in_dim: int, hidden: int, n_layers: int, head_layers: int, dropout: float):
        super().__init__()
        dims = [in_dim] + [hidden] * n_layers
        self.fwd = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:]))
        self.bwd = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(dims, dims[1:]))
        head = []
        for _ in range(head_layers):
            head += [nn.Linear(hidden, hidden), nn.ReLU()]
        self.head = nn.Sequential(*head)
        self.out = nn.Linear(hidden, 1)
        self.dropout = nn.Dropout(dropout)

    def embed(self, x, adj, mask):
        h = x
        for f, b in zip(self.fwd, self.bwd):
            h = torch.relu(0.5 * (adj[:, 0] @ f(h) + adj[:, 1] @ b(h)))
            h = self.dropout(h)
        pooled = (h * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
        return self.head(pooled)

    def forward(self, x, adj, mask):
        return self.out(self.embed(x, adj, mask)).squeeze(-1)


# -- shared predictor plumbing ---------------------------------------------------------------------
class _GCNBase(Predictor):
    """Training loop shared by the GCN predictors."""

    #: hidden MLP layers between pooling and the output layer.
    _head_layers = 1

    def __init__(self, space="nb201", hidden: int = 128, n_layers: int = 3, epochs: int = 200,
                 lr: float = 3e-3, weight_decay: float = 1e-4, batch_size: int = 64,
                 dropout: float = 0.0, loss: str = "mse", global_node: bool = True,
                 predict_batch_size: int = 8192, random_state: int | None = 0):
        super().__init__(space, random_state)
        self.hidden = hidden
        self.n_layers = n_layers
        self.epochs = epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.dropout = dropout
        self.loss = loss
        self.global_node = global_node
        self.predict_batch_size = predict_batch_size

    def _graphs(self, archs):
        return dense_batch(GraphEncoding(self.space_, global_node=self.global_node).transform(archs))

    def _train_net(self, archs, z: np.ndarray) -> None:
        if self.loss not in ("mse", "huber"):
            raise ValueError(f"loss must be 'mse' or 'huber', got {self.loss!r}")
        x, adj, mask = self._graphs(archs)
        t = torch.as_tensor(z, dtype=torch.float32)
        seed = self._torch_seed()
        gen = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng():
            torch.manual_seed(seed)  # weight init and dropout
            net = _GCN(x.shape[-1], self.hidden, self.n_layers, self._head_layers, self.dropout)
            opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(self.epochs, 1))
            loss_fn = nn.MSELoss() if self.loss == "mse" else nn.HuberLoss(delta=1.0)
            n = len(t)
            bs = min(self.batch_size, n)
            net.train()
            for _ in range(self.epochs):
                order = torch.randperm(n, generator=gen)
                for s in range(0, n - bs + 1, bs):  # drop the ragged last batch
                    i = order[s:s + bs]
                    opt.zero_grad()
                    loss_fn(net(x[i], adj[i], mask[i]), t[i]).backward()
                    opt.step()
                sched.step()
        self.net_ = net.eval()
        return x, adj, mask

    def _forward_all(self, archs, fn):
        x, adj, mask = self._graphs(archs)
        bs = self.predict_batch_size
        with torch.no_grad():
            return torch.cat([fn(x[s:s + bs], adj[s:s + bs], mask[s:s + bs])
                              for s in range(0, len(x), bs)])


class GCNPredictor(_GCNBase):
    """Neural predictor of Wen et al. (ECCV 2020): GCN over the cell graph, MSE regression.

    Parameters
    ----------
    space, random_state : see :class:`~naspredict.predictors.base.Predictor`.
    hidden : width of the graph-convolution and head layers.
    n_layers : graph-convolution layers (each averages messages along and against the edges).
    epochs, lr, weight_decay, batch_size : Adam training (cosine learning-rate decay).
    dropout : dropout after each graph convolution.
    loss : ``"mse"`` (as in the paper) or ``"huber"`` (robust to the heavy low-accuracy tail).
    global_node : add the BONAS global node linked to every node.
    predict_batch_size : graphs per forward pass in :meth:`predict`.
    """

    def _fit(self, archs, y):
        self.scaler_ = Standardizer(y)
        self._train_net(archs, self.scaler_.forward(y))

    def _predict(self, archs, return_std=False):
        return self.scaler_.inverse(self._forward_all(archs, self.net_).numpy())


class GCNBLRPredictor(_GCNBase):
    """GCN embedding + Bayesian linear regression ("gcn-blr"; BOGCN-NAS / BONAS, Shi et al.).

    The GCN (same parameters as :class:`GCNPredictor`) is trained with a linear output layer on
    standardised targets; its last hidden layer ``phi(a)`` (plus a bias) is the basis of a BLR
    ``y = w^T phi(a) + eps``, ``w ~ N(0, alpha^-1 I)``, ``eps ~ N(0, beta^-1)``.  ``alpha`` and
    ``beta`` maximise the evidence by MacKay's fixed-point updates.  Because the embedding was
    fitted to the same points, training residuals understate the noise; ``noise_floor`` bounds
    the noise variance from below (in units of the target variance) so intervals stay honest.

    ``predict(..., return_std=True)`` gives ``sqrt(1/beta + phi^T S phi)``: the std of a new
    observation.  :meth:`posterior_samples` draws joint samples of ``w^T phi``.

    Extra parameters
    ----------------
    blr_iter : evidence-maximisation iterations.
    noise_floor : lower bound on ``1/beta`` relative to the standardised target variance.
    """

    supports_std = True
    min_train = 3

    def __init__(self, space="nb201", hidden: int = 128, n_layers: int = 3, epochs: int = 200,
                 lr: float = 3e-3, weight_decay: float = 1e-4, batch_size: int = 64,
                 dropout: float = 0.0, loss: str = "mse", global_node: bool = True,
                 blr_iter: int = 50, noise_floor: float = 0.0, predict_batch_size: int = 8192,
                 random_state: int | None = 0):
        super().__init__(space, hidden=hidden, n_layers=n_layers, epochs=epochs, lr=lr,
                         weight_decay=weight_decay, batch_size=batch_size, dropout=dropout,
                         loss=loss, global_node=global_node,
                         predict_batch_size=predict_batch_size, random_state=random_state)
        self.blr_iter = blr_iter
        self.noise_floor = noise_floor

    def _basis(self, x, adj, mask):
        e = self.net_.embed(x, adj, mask).double()
        return torch.cat([e, torch.ones(len(e), 1, dtype=e.dtype)], 1)

    def _fit(self, archs, y):
        self.scaler_ = Standardizer(y)
        z = self.scaler_.forward(y)
        x, adj, mask = self._train_net(archs, z)
        with torch.no_grad():
            Phi = self._basis(x, adj, mask)
        t = torch.as_tensor(z, dtype=torch.float64)
        self.alpha_, self.beta_, self.w_mean_, self.w_cov_ = _evidence_blr(
            Phi, t, self.blr_iter, self.noise_floor)

    def _predict(self, archs, return_std=False):
        Phi = self._forward_all(archs, self._basis)
        mean = (Phi @ self.w_mean_).numpy()
        if not return_std:
            return self.scaler_.inverse(mean)
        var = ((Phi @ self.w_cov_) * Phi).sum(1).clamp_min(0) + 1.0 / self.beta_
        return self.scaler_.inverse(mean, var.sqrt().numpy())

    def posterior_samples(self, archs, n: int = 1, seed: int | None = 0) -> np.ndarray:
        """Joint draws of the BLR mean function at ``archs``, shape ``(n, len(archs))``.

        Sampling the weights ``w ~ N(m, S)`` makes this linear in ``len(archs)``.
        """
        if not hasattr(self, "n_train_"):
            from sklearn.exceptions import NotFittedError
            raise NotFittedError("this GCNBLRPredictor is not fitted yet; call fit(archs, y) first")
        archs = self._check_archs(archs)
        if len(archs) == 0:
            return np.zeros((n, 0))
        Phi = self._forward_all(archs, self._basis)
        gen = torch.Generator().manual_seed(int(np.random.default_rng(seed).integers(2**31 - 1)))
        L = torch.linalg.cholesky(self.w_cov_ + 1e-10 * torch.eye(len(self.w_cov_), dtype=torch.float64))
        w = self.w_mean_.unsqueeze(1) + L @ torch.randn(len(L), n, generator=gen, dtype=torch.float64)
        return self.scaler_.inverse((Phi @ w).T.numpy())


def _evidence_blr(Phi: torch.Tensor, t: torch.Tensor, n_iter: int, noise_floor: float):
    """Bayesian linear regression with evidence-maximised precisions (Bishop, 2006, 3.5.2).

    Returns ``alpha, beta, m, S`` with ``S^-1 = alpha I + beta Phi^T Phi``, ``m = beta S Phi^T t``.
    """
    n, d = Phi.shape
    G = Phi.T @ Phi
    eig = torch.linalg.eigvalsh(G).clamp_min(0)
    Pt = Phi.T @ t
    alpha, beta = 1.0, 1.0 / max(float(t.var()), 1e-6)
    beta_max = 1.0 / noise_floor if noise_floor > 0 else 1e8
    eye = torch.eye(d, dtype=Phi.dtype)
    for _ in range(max(n_iter, 1)):
        m = beta * torch.linalg.solve(alpha * eye + beta * G, Pt)
        lam = beta * eig
        gamma = float((lam / (alpha + lam)).sum())
        alpha = max(gamma, 1e-6) / max(float(m @ m), 1e-12)
        resid = float(((t - Phi @ m) ** 2).sum())
        beta = min(max(n - gamma, 1e-6) / max(resid, 1e-12), beta_max)
    S = torch.linalg.inv(alpha * eye + beta * G)
    S = 0.5 * (S + S.T)
    m = beta * S @ Pt
    return alpha, beta, m, S
