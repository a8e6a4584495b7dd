"""Graph-convolutional predictors over the cell's labelled DAG.

- :class:`GCNPredictor`: the neural predictor of Wen et al. ("Neural Predictor for Neural
  Architecture Search", ECCV 2020): graph-convolution layers that pass messages along the
  edges in both directions, a pooled graph embedding, an MLP head, MSE regression.
- :class:`GCNBLRPredictor` (``"gcn-blr"``): the same network trained with a linear output layer,
  then a Bayesian linear regression on its learned graph embedding, as in BOGCN-NAS (Shi et al.,
  "Multi-objective Neural Architecture Search via Predictive Network Performance Optimization",
  2019) and BONAS (Shi et al., "Bridging the Gap between Sample-based and One-shot Neural
  Architecture Search with BONAS", NeurIPS 2020).  The BLR gives closed-form predictive means and
  variances; its prior and noise precisions (alpha, beta) maximise the evidence (MacKay, 1992;
  Bishop, 2006, sec. 3.5).

Both read the space's :class:`~naspredict.spaces.base.LabelledDAG` with the node labels of
:class:`~naspredict.encodings.GraphEncoding` (one-hot, optional BONAS global node) and run on
dense, padded adjacency batches, so they work on every space.

Choices of ours, each measured on NB201 (CIFAR-10, Kendall tau on all held-out cells):

* ``target_transform="rank"`` (default): the net is trained on normal scores of the targets'
  ranks (:class:`RankGauss`), not on standardised values, and predictions are mapped back
  monotonically.  Benchmark accuracies have a heavy low tail (NB201: hundreds of dead cells at
  10%) that otherwise dominates the MSE.
* At least ``min_steps`` optimiser steps, so small training sets still get trained.
* The readout concatenates mean pooling over the cell's nodes with the global node's state.
* ``fit`` / ``predict`` use the process's torch thread count, which the application sets
  (``naspredict --threads``, default 1; :func:`naspredict.torch_utils.set_threads`): the nets
  are tiny and intra-op threads only slow them down on a shared machine.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..encodings.graph import GLOBAL, GraphEncoding
from .base import Predictor
from .transforms import RankGauss, target_scaler  # noqa: F401  (RankGauss re-exported)



# -- dense batches ------------------------------------------------------------------------------
def _normalise(adj: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Raw adjacency ``(B, N, N)`` (``adj[b, i, j] = 1`` for ``i -> j``) -> ``P (B, 2, N, N)``.

    ``P[:, 0]`` averages over a node's predecessors and itself (messages along the edges),
    ``P[:, 1]`` over its successors and itself (messages against the edges), i.e.
    ``D^-1 (A + I)`` for ``A`` and ``A^T``.  Padded nodes get nothing.
    """
    P = torch.stack([adj.transpose(1, 2), adj], 1) + torch.diag_embed(mask).unsqueeze(1)
    return P / P.sum(-1, keepdim=True).clamp_min(1.0)


def dense_batch(graphs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad PyG graphs into ``x (B, N, F)``, normalised propagation ``P (B, 2, N, N)`` (see
    :func:`_normalise`) and node ``mask (B, N)``."""
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
    adj = torch.zeros(B, N, N)
    adj[eb, ei[0], ei[1]] = 1.0
    return x, _normalise(adj, mask), mask


def dense_graphs(space, archs, global_node: bool = True):
    """``x, P, mask`` (as :func:`dense_batch`) straight from the space's DAGs.

    Same node labels and global node as :class:`~naspredict.encodings.GraphEncoding`, without
    building one PyG object per architecture (about 8x faster on all 15,625 NB201 cells).  The
    global node, when present, is the last node of each graph, linked to and from all others.
    """
    enc = GraphEncoding(space, global_node=global_node)
    index = {l: i for i, l in enumerate(enc.labels)}
    dags = [space.to_dag(a) for a in archs]
    sizes = np.array([d.n_nodes for d in dags]) + global_node
    B, N = len(dags), int(sizes.max())
    x = np.zeros((B, N, enc.width), np.float32)
    adj = np.zeros((B, N, N), np.float32)
    mask = np.arange(N)[None, :] < sizes[:, None]
    for b, d in enumerate(dags):
        n = d.n_nodes
        try:
            x[b, np.arange(n), [index[l] for l in d.ops]] = 1.0
        except KeyError as err:
            raise ValueError(f"node label {err.args[0]!r} of {space.name} is not in the encoding's "
                             f"labels {enc.labels}; declare it in space.structural_labels") from None
        adj[b, :n, :n] = d.matrix()
        if global_node:
            x[b, n, index[GLOBAL]] = 1.0
            adj[b, n, :n] = adj[b, :n, n] = 1.0
    mask = torch.from_numpy(mask.astype(np.float32))
    return torch.from_numpy(x), _normalise(torch.from_numpy(adj), mask), mask


class _GCN(nn.Module):
    """Bidirectional GCN trunk -> readout -> MLP head; ``embed`` gives the last hidden layer.

    Each layer is ``relu(norm((P_fwd h W_f + P_bwd h W_b) / 2))``.  The readout is the mean over
    the cell's nodes, concatenated with the global node's state when the graphs have one.
    """

    def __init__(self, in_dim: int, hidden: int, n_layers: int, head_layers: int, dropout: float,
                 global_node: bool, layer_norm: bool):
        super().__init__()
        dims = [in_dim] + [hidden] * n_layers
        self.hidden = hidden
        self.convs = nn.ModuleList(nn.Linear(a, 2 * b) for a, b in zip(dims, dims[1:]))
        self.norms = nn.ModuleList((nn.LayerNorm(hidden) if layer_norm else nn.Identity())
                                   for _ in range(n_layers))
        self.global_node = global_node
        width = hidden * (1 + global_node)
        head = []
        for _ in range(head_layers):
            head += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.head = nn.Sequential(*head)
        self.out = nn.Linear(width, 1)
        self.dropout = nn.Dropout(dropout)

    def embed(self, x, P, mask):
        B, N = mask.shape
        Pcat = torch.cat([P[:, 0], P[:, 1]], -1) * 0.5          # (B, N, 2N)
        h = x
        for conv, norm in zip(self.convs, self.norms):
            u = conv(h).view(B, N, 2, self.hidden).transpose(1, 2).reshape(B, 2 * N, self.hidden)
            h = self.dropout(torch.relu(norm(Pcat @ u)))
        if self.global_node:
            last = mask.sum(1).long() - 1                          # the global node
            cell = mask.clone()
            cell[torch.arange(B), last] = 0.0
            pooled = (h * cell.unsqueeze(-1)).sum(1) / cell.sum(1, keepdim=True).clamp_min(1.0)
            pooled = torch.cat([pooled, h[torch.arange(B), last]], 1)
        else:
            pooled = (h * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
        return self.head(pooled)

    def forward(self, x, P, mask):
        return self.out(self.embed(x, P, mask)).squeeze(-1)


# -- shared predictor plumbing ---------------------------------------------------------------------
class _GCNBase(Predictor):
    """Training loop shared by the GCN predictors."""

    #: hidden MLP layers between pooling and the output layer.
    _head_layers = 1

    def __init__(self, space="nb201", hidden: int = 128, n_layers: int = 3, epochs: int = 200,
                 min_steps: int = 1000, lr: float = 3e-3, weight_decay: float = 1e-4,
                 batch_size: int = 64, dropout: float = 0.0, loss: str = "mse",
                 target_transform: str = "rank", global_node: bool = True,
                 layer_norm: bool = False, predict_batch_size: int = 1024,
                 random_state: int | None = 0):
        super().__init__(space, random_state)
        self.hidden = hidden
        self.n_layers = n_layers
        self.epochs = epochs
        self.min_steps = min_steps
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.dropout = dropout
        self.loss = loss
        self.target_transform = target_transform
        self.global_node = global_node
        self.layer_norm = layer_norm
        self.predict_batch_size = predict_batch_size

    def _graphs(self, archs):
        return dense_graphs(self.space_, archs, self.global_node)

    def _fit(self, archs, y):
        self.scaler_ = target_scaler(self.target_transform, y)
        self._fit_model(self._graphs(archs), self.scaler_.forward(y))

    def _predict(self, archs, return_std=False):
        with torch.no_grad():
            return self._predict_model(self._graphs(archs), return_std)

    def _steps(self, n: int) -> int:
        per_epoch = -(-n // max(1, min(self.batch_size, n)))
        return max(int(self.epochs) * per_epoch, int(self.min_steps))

    def _train_net(self, graphs, t: np.ndarray, steps: int, net=None, lr_scale: float = 1.0):
        """Train ``net`` (a fresh one when None) for ``steps`` Adam steps on transformed
        targets ``t``; sets and returns ``self.net_``."""
        if self.loss not in ("mse", "huber"):
            raise ValueError(f"loss must be 'mse' or 'huber', got {self.loss!r}")
        x, P, mask = graphs
        t = torch.as_tensor(t, dtype=torch.float32)
        n = len(t)
        bs = max(1, min(self.batch_size, n))
        seed = self._torch_seed() + (net is not None)
        gen = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):  # CPU only: leave CUDA untouched
            torch.manual_seed(seed)  # weight init and dropout
            if net is None:
                net = _GCN(x.shape[-1], self.hidden, self.n_layers, self._head_layers,
                           self.dropout, self.global_node, self.layer_norm)
            opt = torch.optim.Adam(net.parameters(), lr=self.lr * lr_scale,
                                   weight_decay=self.weight_decay)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
            loss_fn = nn.MSELoss() if self.loss == "mse" else nn.HuberLoss(delta=1.0)
            net.train()
            step = 0
            while step < steps:
                order = torch.randperm(n, generator=gen)
                for s in range(0, n, bs):
                    i = order[s:s + bs]
                    if len(i) < bs // 2:  # skip a ragged last batch that is too small
                        continue
                    opt.zero_grad()
                    loss_fn(net(x[i], P[i], mask[i]), t[i]).backward()
                    opt.step()
                    sched.step()
                    step += 1
                    if step >= steps:
                        break
        self.net_ = net.eval()
        return net

    def _forward_all(self, graphs, fn):
        x, P, mask = graphs
        bs = self.predict_batch_size
        return torch.cat([fn(x[s:s + bs], P[s:s + bs], mask[s:s + bs])
                          for s in range(0, len(x), bs)])


_COMMON_DOC = """
    space, random_state : see :class:`~naspredict.predictors.base.Predictor`.
    hidden : width of the graph-convolution and head layers.
    n_layers : graph-convolution layers (each averages messages along and against the edges).
    epochs, min_steps : passes over the data, but at least ``min_steps`` optimiser steps.
    lr, weight_decay, batch_size : Adam training (cosine learning-rate decay over all steps).
    dropout : dropout after each graph convolution.
    loss : ``"mse"`` (as in the paper) or ``"huber"``.
    target_transform : ``"rank"`` (default: normal scores of the targets' ranks, mapped back
        monotonically; see :class:`RankGauss`) or ``"standard"`` (standardised targets).
    global_node : add the BONAS global node linked to every node; its state joins the readout.
    layer_norm : layer normalisation after each graph convolution.
    predict_batch_size : graphs per forward pass in :meth:`predict`.
"""


class GCNPredictor(_GCNBase):
    __doc__ = """Neural predictor of Wen et al. (ECCV 2020): GCN over the cell graph, MSE regression.

    Parameters
    ----------""" + _COMMON_DOC

    def _fit_model(self, graphs, t):
        self._train_net(graphs, t, self._steps(len(t)))

    def _predict_model(self, graphs, return_std=False):
        return self.scaler_.inverse(self._forward_all(graphs, self.net_).numpy())


class GCNBLRPredictor(_GCNBase):
    __doc__ = """GCN embedding + Bayesian linear regression ("gcn-blr"; BOGCN-NAS / BONAS, Shi et al.).

    The GCN (same parameters as :class:`GCNPredictor`) is trained with a linear output layer on
    the transformed targets; its last hidden layer ``phi(a)`` (plus a bias) is the basis of a BLR
    ``t = w^T phi(a) + eps``, ``w ~ N(0, alpha^-1 I)``, ``eps ~ N(0, beta^-1)`` on the same
    transformed targets ``t``.  ``alpha`` and ``beta`` maximise the evidence by MacKay's
    fixed-point updates.  Because the embedding was fitted to the same points, training
    residuals understate the noise (a net trained to convergence nearly interpolates them).  So
    the noise variance is calibrated on held-out points: the net is first trained without a
    random ``calibration_split`` of the training set, a BLR on that net's embedding predicts the
    held-out points, and their mean squared error less the BLR's epistemic variance bounds
    ``1/beta`` from below; then the same net is fine-tuned on all points (half the steps, half
    the learning rate) and the final BLR is fitted on every point.  Measured on NB201 this keeps
    95% intervals covering 0.9-0.95 of new cells, where the in-sample estimate covered 0.3-0.5
    at 100 training points; the warm start ranks better than retraining from scratch.

    ``predict(..., return_std=True)`` maps ``sqrt(1/beta + phi^T S phi)`` (the std of a new
    observation) back to target units (see :class:`RankGauss`).  :meth:`posterior`
    draws joint samples of ``w^T phi``.

    Parameters
    ----------""" + _COMMON_DOC + """    blr_iter : evidence-maximisation iterations.
    noise_floor : fixed lower bound on ``1/beta`` (in transformed-target units, variance ~1).
    calibration_split : fraction held out to calibrate the noise (0 turns it off; it needs at
        least 2 points on each side).
"""

    supports_std = True
    min_train = 3

    def __init__(self, space="nb201", hidden: int = 128, n_layers: int = 3, epochs: int = 200,
                 min_steps: int = 1000, lr: float = 3e-3, weight_decay: float = 1e-4,
                 batch_size: int = 64, dropout: float = 0.0, loss: str = "mse",
                 target_transform: str = "rank", global_node: bool = True,
                 layer_norm: bool = False, blr_iter: int = 50, noise_floor: float = 0.0,
                 calibration_split: float = 0.2, predict_batch_size: int = 1024,
                 random_state: int | None = 0):
        super().__init__(space, hidden=hidden, n_layers=n_layers, epochs=epochs,
                         min_steps=min_steps, lr=lr, weight_decay=weight_decay,
                         batch_size=batch_size, dropout=dropout, loss=loss,
                         target_transform=target_transform, global_node=global_node,
                         layer_norm=layer_norm, predict_batch_size=predict_batch_size,
                         random_state=random_state)
        self.blr_iter = blr_iter
        self.noise_floor = noise_floor
        self.calibration_split = calibration_split

    def _basis(self, x, P, mask):
        e = self.net_.embed(x, P, mask).double()
        return torch.cat([e, torch.ones(len(e), 1, dtype=e.dtype)], 1)

    def _fit_model(self, graphs, t):
        n = len(t)
        steps = self._steps(n)
        noise = self.noise_floor
        k = int(round(self.calibration_split * n))
        if k >= 2 and n - k >= 2:
            hold = self._rng().permutation(n)[:k]
            keep = np.setdiff1d(np.arange(n), hold)
            net = self._train_net(_take(graphs, keep), t[keep], steps)
            with torch.no_grad():
                Phi = self._basis(*graphs)
            tt = torch.as_tensor(t, dtype=torch.float64)
            _, beta, m, S = _evidence_blr(Phi[keep], tt[keep], self.blr_iter, self.noise_floor)
            r2 = (tt[hold] - Phi[hold] @ m) ** 2
            epi = ((Phi[hold] @ S) * Phi[hold]).sum(1)
            noise = max(noise, float((r2 - epi).mean()), 1.0 / beta)
            self.calibration_noise_ = noise
            # then fine-tune on all points (half the steps, half the learning rate)
            self._train_net(graphs, t, max(1, steps // 2), net=net, lr_scale=0.5)
        else:
            self._train_net(graphs, t, steps)
        with torch.no_grad():
            Phi = self._basis(*graphs)
        self.alpha_, self.beta_, self.w_mean_, self.w_cov_ = _evidence_blr(
            Phi, torch.as_tensor(t, dtype=torch.float64), self.blr_iter, noise)

    def _predict_model(self, graphs, return_std=False):
        Phi = self._forward_all(graphs, self._basis)
        mean = (Phi @ self.w_mean_).numpy()
        if not return_std:
            return self.scaler_.inverse(mean)
        var = ((Phi @ self.w_cov_) * Phi).sum(1).clamp_min(0) + 1.0 / self.beta_
        return self.scaler_.inverse(mean, var.sqrt().numpy())

    def _joint_samples(self, archs, n: int, seed: int | None) -> np.ndarray:
        """Joint draws of the BLR mean function at ``archs``, shape ``(n, len(archs))``, in
        target units (for :meth:`posterior`).  Sampling the weights ``w ~ N(m, S)`` makes this
        linear in ``len(archs)``.
        """
        with torch.no_grad():
            Phi = self._forward_all(self._graphs(archs), self._basis)
        gen = torch.Generator().manual_seed(int(np.random.default_rng(seed).integers(2**31 - 1)))
        from .gp import _cholesky  # lazy: gcn alone does not need gpytorch
        L = _cholesky(self.w_cov_)
        w = self.w_mean_.unsqueeze(1) + L @ torch.randn(len(L), n, generator=gen, dtype=torch.float64)
        return self.scaler_.inverse((Phi @ w).T.numpy())


def _take(graphs, idx):
    idx = torch.as_tensor(idx)
    return tuple(g[idx] for g in graphs)


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
