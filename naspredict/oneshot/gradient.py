"""Differentiable architecture search on the :class:`~naspredict.oneshot.supernet.Supernet`:
DARTS (first and second order), GDAS and DrNAS.

**DARTS** (Liu et al., ICLR 2019).  Every mixed edge outputs ``sum_o softmax(alpha)_o op_o(x)``;
the supernet weights ``w`` and the architecture parameters ``alpha`` (one ``(n_edges, n_ops)``
matrix per cell kind) are optimised in turn, bi-level: each step first updates ``alpha`` on a
batch of the *architecture* half of the training split, then ``w`` on a batch of the *weight*
half (the order of DARTS's search loop).  ``order=1`` takes ``grad_alpha L_val(w, alpha)``;
``order=2`` the gradient of ``L_val(w', alpha)`` at one unrolled virtual step
``w' = w - xi grad_w L_train(w, alpha)`` (``xi`` = the weights' current learning rate), i.e.
``grad_alpha L_val(w', alpha) - xi * H v`` with ``v = grad_w' L_val(w', alpha)`` and the
Hessian-vector product by the paper's finite difference
``H v ~ (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps)``,
``w+- = w +- eps v``, ``eps = 0.01 / ||v||``.  The virtual step is plain gradient descent (no
momentum or weight-decay term), and the unrolled forwards leave the BatchNorm running
statistics as they were before the architecture step.

**GDAS** (Dong & Yang, CVPR 2019), the collapse-resistant variant.  Each step draws, per edge,
a Gumbel-softmax sample ``h = softmax((log_softmax(alpha) + g) / tau)`` (``g`` Gumbel(0, 1)
noise from the search's own generator) and uses its straight-through hard form
``one_hot(argmax h) - h.detach() + h``: the forward runs only the sampled op of each edge
and adds the other entries of ``h`` (zero in value) as scalars, as GDAS does, so every entry's
gradient reaches ``alpha`` through ``h`` (:class:`~naspredict.oneshot.supernet.MixedOp`).  ``tau`` falls linearly from 10 to 0.1 over the
epochs (the paper's setting).  The weights step uses the detached one-hot sample on a weight
batch, then the architecture step a fresh sample on an architecture batch (NB201's GDAS
loop).  Why GDAS and not DrNAS or DARTS-: on NAS-Bench-201 every DARTS seed collapses to the
all-skip cell (54.30 % on CIFAR-10 in the NB201 paper, Dong & Yang, ICLR 2020) while GDAS
finds cells at 93.61 % with a small seed variance; and GDAS computes one op per edge per step,
so a search step costs a fraction of a DARTS step on the CPU where our CI and most benchmarks
run.  Measured with ``python benchmarks/gradient_steps.py --steps 4 --channels 16 --cells 5``
(nb201 supernet at NB201's search size C=16, N=5, Fashion-MNIST at 32x32, batch 64 per half,
1 thread, on this project's shared 2-core CPU with other jobs running, so the absolute times
are inflated; wall time per step of one epoch, its small evaluation included): GDAS 5.2 s,
DARTS first order 24.2 s, second order 60.6 s per step: **GDAS/DARTS = 0.22** (0.23 with
``--steps 3 --channels 8 --cells 2``), second/first order 2.5.

**DrNAS** (Chen, Wang, Cheng, Tang & Hsieh, "DrNAS: Dirichlet neural architecture search",
ICLR 2021; 94.36 % on NB201's CIFAR-10 in its paper).  The mixing weights of every edge are a
*random* vector ``w ~ Dirichlet(beta)`` with concentration ``beta = elu(alpha) + 1`` (positive
for any ``alpha``); each step draws a fresh ``w`` per edge, the weights step under a detached
draw, the architecture step under a reparameterised one (``Dirichlet.rsample``: implicit
pathwise gradients, Figurnov et al., NeurIPS 2018), whose loss adds the anchor penalty
``drnas_reg * sum((beta - 1)^2)`` pulling ``beta`` towards the uniform Dirichlet, so that no
op's concentration grows without bound.  The noise of the draws is the point: an op is only
favoured if the supernet does well under many random mixtures, which is the paper's remedy
for DARTS's drift to parameter-free ops.  The op probabilities reported (history, plot,
derivation) are the Dirichlet's mean ``beta / sum(beta)``.  First order only here; the draws
come from the global RNG inside the search's seeded ``fork_rng``.  Why add it beside GDAS: on
our CPU fidelity GDAS's derived cells kept ``none`` on most edges (``benchmarks/results/oneshot_search.md``), while DARTS's
continuous mixing kept convolutions; DrNAS is the continuous relaxation made robust.

Derivation: :meth:`Supernet.derive` of ``softmax(alpha)`` (DrNAS: of the Dirichlet mean):
nb201 the argmax op per edge; darts DARTS's top-2 incoming edges per node with their argmax
non-``none`` op.

Hyperparameters (:class:`GradientConfig`): the NB201 paper's settings for its DARTS and GDAS
runs as issue #11 gives them: weights by SGD, momentum 0.9, lr 0.025 annealed per epoch by a
cosine to 0.001, weight decay 3e-4, gradient norm clipped at 5; ``alpha`` by Adam, lr 3e-4,
betas (0.5, 0.999), weight decay 1e-3, initialised as ``1e-3 * N(0, 1)`` (DARTS); batch 64;
50 epochs by default (DARTS's search length; pass ``epochs`` for short runs).  The data set's
standard augmentation (random crop, flip where it suits) is applied to both halves, as DARTS's
search loaders do.

Data: the training split of the :class:`~naspredict.training.ImageData` is cut into two seeded
halves (weights on one, architecture parameters on the other, as DARTS does); its validation
split only reports the supernet's accuracy per epoch.

Randomness: the supernet is built and the search runs inside ``torch.random.fork_rng`` seeded
by ``seed``; the halves, batch order, augmentation, ``alpha`` initialisation and Gumbel noise
come from explicit generators.  The same seed gives the same derived cell and history on the
CPU; the caller's RNG state is untouched.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import pandas as pd
import torch
import torch.nn.functional as F

from .._config import FieldsConfig
from .supernet import SUPERNET_SPACES, Supernet

__all__ = ["GradientConfig", "SearchResult", "gradient_search", "METHODS", "gumbel_hard",
           "concentration", "op_probabilities"]

METHODS = ("darts", "gdas", "drnas")


@dataclass(frozen=True)
class GradientConfig(FieldsConfig):
    """Optimisation settings of :func:`gradient_search` (defaults: see the module docstring).

    Parameters
    ----------
    epochs : search epochs (passes over the weight half).
    batch_size : batch of each half per step; eval_batch_size : for the validation split.
    w_lr, w_lr_min : the weights' cosine schedule, per epoch, from ``w_lr`` to ``w_lr_min``.
    w_momentum, w_weight_decay : SGD settings of the weights.
    grad_clip : clip the weights' gradient norm (``None``: no clipping).
    a_lr, a_betas, a_weight_decay : Adam settings of the architecture parameters.
    alpha_init : std of the normal initialisation of ``alpha``.
    tau_max, tau_min : GDAS's Gumbel-softmax temperature, linear from max to min over the
        epochs that update ``alpha`` (those after the warm-up).
    drnas_reg : DrNAS's anchor penalty weight on ``sum((beta - 1)^2)`` (default 1e-3).
    warmup_epochs : the first epochs train the weights only, ``alpha`` frozen at its
        initialisation (PC-DARTS, Xu et al., ICLR 2020, warm up 15 of 50 epochs so that the
        parameter-free ops do not win merely because the convolutions are still untrained);
        0 (the default) is DARTS's and GDAS's own loop.
    augment : apply the data set's standard augmentation to both training halves.
    """

    epochs: int = 50
    batch_size: int = 64
    eval_batch_size: int = 512
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    grad_clip: float | None = 5.0
    a_lr: float = 3e-4
    a_betas: tuple[float, float] = (0.5, 0.999)
    a_weight_decay: float = 1e-3
    alpha_init: float = 1e-3
    tau_max: float = 10.0
    tau_min: float = 0.1
    drnas_reg: float = 1e-3
    warmup_epochs: int = 0
    augment: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"GradientConfig.{name} must be a positive int, got {v!r}")
        for name in ("w_lr", "a_lr", "tau_max", "tau_min"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
                raise ValueError(f"GradientConfig.{name} must be a positive number, got {v!r}")
        if not 0 <= self.w_lr_min <= self.w_lr:
            raise ValueError(f"GradientConfig.w_lr_min must be in [0, w_lr={self.w_lr}], got {self.w_lr_min!r}")
        w = self.warmup_epochs
        if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w < self.epochs:
            raise ValueError(f"GradientConfig.warmup_epochs must be an int in [0, epochs={self.epochs}) "
                             f"(at least one epoch must update the architecture), got {w!r}")
        if not (isinstance(self.drnas_reg, (int, float)) and self.drnas_reg >= 0 and math.isfinite(self.drnas_reg)):
            raise ValueError(f"GradientConfig.drnas_reg must be a non-negative number, got {self.drnas_reg!r}")
        if self.tau_min > self.tau_max:
            raise ValueError(f"GradientConfig.tau_min ({self.tau_min}) must not exceed tau_max ({self.tau_max})")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"GradientConfig.grad_clip must be positive or None, got {self.grad_clip!r}")
        object.__setattr__(self, "a_betas", tuple(float(b) for b in self.a_betas))


    def w_lr_at(self, epoch: int) -> float:
        """The weights' learning rate during ``epoch`` (0-based): cosine over ``epochs``."""
        t = epoch / self.epochs
        return self.w_lr_min + 0.5 * (self.w_lr - self.w_lr_min) * (1.0 + math.cos(math.pi * t))

    def tau_at(self, epoch: int) -> float:
        """GDAS's temperature during ``epoch`` (0-based): ``tau_max`` up to the first epoch
        after the warm-up, ``tau_min`` at the last."""
        span = self.epochs - self.warmup_epochs - 1
        if span <= 0:
            return self.tau_max
        t = min(max(epoch - self.warmup_epochs, 0) / span, 1.0)
        return (1.0 - t) * self.tau_max + t * self.tau_min


@dataclass
class SearchResult:
    """What :func:`gradient_search` returns.

    Attributes
    ----------
    arch : the derived architecture (an arch of ``supernet.space``); ``arch_str`` its string.
    history : one row per ``(epoch, kind, edge, op)``: ``method, seed, space, epoch`` (0 =
        the initialisation, then after each epoch), ``kind, edge`` (``"i->j"``), ``edge_index,
        op, prob`` (the row's op probability: ``softmax(alpha)``, drnas the Dirichlet mean).
    curves : one row per epoch: ``epoch, train_loss, train_acc`` (the weight steps, %),
        ``arch_loss`` (the architecture steps' loss; NaN in warm-up epochs), ``val_acc`` (% on the validation split:
        darts / drnas the relaxed supernet under the op probabilities, gdas the derived arch's single
        path), ``derived_val_acc`` (the derived arch's single path, every method), ``w_lr``,
        ``tau`` (gdas; NaN otherwise), ``seconds``, ``arch`` (derived after the epoch).
    seconds : wall time of the search (data loading excluded).
    supernet : the trained :class:`Supernet` (on the CPU, eval mode); rebuild one with
        ``Supernet(**supernet_kwargs)`` and load ``supernet.state_dict()`` into it.
    alphas : per kind, the final architecture parameters ``(n_edges, n_ops)`` (CPU).
    method, order, seed, config, device, data : what ran.
    """

    arch: Any
    arch_str: str
    history: pd.DataFrame
    curves: pd.DataFrame
    seconds: float
    supernet: Supernet
    alphas: dict[str, torch.Tensor]
    method: str
    order: int
    seed: int
    config: GradientConfig
    device: str
    data: dict[str, Any] = field(default_factory=dict)
    supernet_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def probabilities(self) -> dict[str, torch.Tensor]:
        """The op probabilities per kind: ``softmax(alpha)`` (DrNAS: the Dirichlet mean)."""
        return {k: op_probabilities(self.method, a) for k, a in self.alphas.items()}

    def final_probabilities(self) -> pd.DataFrame:
        """The last epoch's rows of :attr:`history`, one row per edge, one column per op."""
        last = self.history[self.history["epoch"] == self.history["epoch"].max()]
        table = last.pivot_table(index=["kind", "edge_index", "edge"], columns="op", values="prob",
                                 sort=False)
        return table[list(self.supernet.op_names)].reset_index(level="edge_index", drop=True)


def concentration(alpha: torch.Tensor) -> torch.Tensor:
    """DrNAS's Dirichlet concentration ``elu(alpha) + 1`` (positive for every ``alpha``)."""
    return F.elu(alpha) + 1.0


def op_probabilities(method: str, alpha: torch.Tensor) -> torch.Tensor:
    """Op probabilities of architecture parameters ``alpha`` ``(n_edges, n_ops)``:
    ``softmax(alpha)`` for darts and gdas, the Dirichlet mean ``beta / sum(beta)`` for drnas."""
    if method == "drnas":
        beta = concentration(alpha)
        return beta / beta.sum(-1, keepdim=True)
    return alpha.softmax(-1)


def gumbel_hard(alpha: torch.Tensor, tau: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One GDAS sample per row of ``alpha`` ``(n_edges, n_ops)``.

    Returns ``(hard, index)``: ``hard = one_hot(index) - h.detach() + h`` with
    ``h = softmax((log_softmax(alpha) + g) / tau)`` and ``index = argmax h`` (``(n_edges,)``);
    ``g`` is Gumbel(0, 1) noise drawn on the CPU from ``generator`` (so the draw does not
    depend on ``alpha``'s device), redrawn until finite.
    """
    while True:
        e = torch.empty(alpha.shape, dtype=torch.float32).exponential_(generator=generator)
        g = -e.log()
        if bool(torch.isfinite(g).all()):
            break
    h = ((alpha.log_softmax(-1) + g.to(alpha.device, alpha.dtype)) / tau).softmax(-1)
    index = h.detach().argmax(-1)
    one = F.one_hot(index, alpha.shape[-1]).to(alpha.dtype)
    return one - h.detach() + h, index


def _seed_of(seed: int, *parts: int) -> int:
    v = int(seed)
    for p in parts:
        v = (v * 1_000_003 + p * 7_919 + 17) % (2 ** 63 - 1)
    return v


def _load(data: Any, space: str, *, data_root, data_fraction, resolution, seed, val_fraction):
    """The :class:`ImageData` the way :class:`TrainingEvaluator` loads it."""
    from ..evaluators.training import TrainingEvaluator
    ev = TrainingEvaluator(space, data, data_fraction=1.0 if data_fraction is None else data_fraction,
                           resolution=resolution, seed=seed, device="cpu", data_root=data_root,
                           val_fraction=val_fraction, profile=False)
    return ev.load_data(1.0 if data_fraction is None else float(data_fraction), resolution)


def _halves(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    if n < 2:
        raise ValueError(f"the training split has {n} sample(s); the search needs at least 2 to "
                         f"split into a weight half and an architecture half (raise data_fraction)")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(_seed_of(seed, 11)))
    return perm[: n // 2].sort().values, perm[n // 2:].sort().values


def _check_loss(loss: torch.Tensor, what: str, epoch: int, step: int, curves) -> None:
    v = float(loss.detach())
    if not math.isfinite(v):
        from ..training.trainer import TrainingFailed
        raise TrainingFailed(f"the {what} loss became non-finite at epoch {epoch + 1}, step {step + 1}; "
                             f"lower the learning rates (w_lr / a_lr) or set grad_clip", curves)


def _grads(loss, tensors) -> list[torch.Tensor]:
    gs = torch.autograd.grad(loss, tensors, allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for t, g in zip(tensors, gs)]


def _alpha_step(a_opt, alphas: Mapping[str, torch.Tensor], grads, loss_a: torch.Tensor, epoch: int,
                step: int, curves) -> None:
    """One architecture update: ``grads`` (one per kind, in ``alphas``' order) become the
    parameters' gradients (replacing any), the loss is checked, then the optimiser steps."""
    for a, g in zip(alphas.values(), grads):
        a.grad = g
    _check_loss(loss_a, "architecture", epoch, step, curves)
    a_opt.step()


def _unrolled_alpha_grads(net: Supernet, alphas: Mapping[str, torch.Tensor], xt, yt, xv, yv,
                          xi: float) -> tuple[list[torch.Tensor], torch.Tensor]:
    """DARTS's second-order architecture gradient (see the module docstring), per kind, and
    the architecture loss ``L_val(w', alpha)``.  Weights and BN buffers are restored."""
    kinds = list(net.kinds)
    alist = [alphas[k] for k in kinds]
    params = [p for p in net.parameters() if p.requires_grad]
    buffers = [b.detach().clone() for b in net.buffers()]
    w0 = [p.detach().clone() for p in params]
    soft = lambda: {k: a.softmax(-1) for k, a in zip(kinds, alist)}  # noqa: E731
    try:
        # the virtual step w' = w - xi grad_w L_train(w, alpha)
        g = _grads(F.cross_entropy(net(xt, weights={k: v.detach() for k, v in soft().items()}), yt), params)
        with torch.no_grad():
            for p, gi in zip(params, g):
                p.sub_(xi * gi)
        loss_v = F.cross_entropy(net(xv, weights=soft()), yv)
        grads = _grads(loss_v, alist + params)
        d_alpha, v = grads[:len(alist)], grads[len(alist):]
        norm = torch.cat([t.flatten() for t in v]).norm()
        eps = 0.01 / max(float(norm), 1e-12)
        hv = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for p, p0, vi in zip(params, w0, v):
                    p.copy_(p0 + sign * eps * vi)
            hv.append(_grads(F.cross_entropy(net(xt, weights=soft()), yt), alist))
        out = [da - xi * (gp - gm) / (2 * eps) for da, gp, gm in zip(d_alpha, *hv)]
    finally:
        with torch.no_grad():
            for p, p0 in zip(params, w0):
                p.copy_(p0)
            for b, b0 in zip(net.buffers(), buffers):
                b.copy_(b0)
    return out, loss_v.detach()


@torch.no_grad()
def _accuracy(net: Supernet, x: torch.Tensor, y: torch.Tensor, batch: int, **how) -> float:
    if len(y) == 0:
        return float("nan")
    was = net.training
    net.eval()
    correct = 0
    for i in range(0, len(y), batch):
        correct += int((net(x[i:i + batch], **how).argmax(1) == y[i:i + batch]).sum())
    net.train(was)
    return 100.0 * correct / len(y)


def _history_rows(net: Supernet, alphas, epoch: int, method: str, seed: int) -> list[dict]:
    rows = []
    for kind in net.kinds:
        probs = op_probabilities(method, alphas[kind].detach()).cpu().tolist()
        for e, (i, j) in enumerate(net.edges[kind]):
            for o, op in enumerate(net.op_names):
                rows.append({"method": method, "seed": seed, "space": net.space.name, "epoch": epoch,
                             "kind": kind, "edge": f"{i}->{j}", "edge_index": e, "op": op,
                             "prob": probs[e][o]})
    return rows


def gradient_search(space: Any, data: Any = "fashion-mnist", *, method: str = "darts", order: int = 1,
                    epochs: int | None = None, channels: int | None = None, cells: int | None = None,
                    batch_size: int | None = None, data_fraction: float | None = None,
                    resolution: int | None = None, seed: int = 0, device: str | None = "auto",
                    data_root: Any = None, val_fraction: float = 0.1, progress: bool = False,
                    callback: Callable[[int, dict], bool | None] | None = None,
                    config: GradientConfig | None = None, **overrides) -> SearchResult:
    """Search ``space`` by DARTS, GDAS or DrNAS on a weight-sharing supernet; return the derived arch.

    Parameters
    ----------
    space : ``"nb201"`` or ``"darts"`` (or the space instance).
    data : as :class:`~naspredict.evaluators.training.TrainingEvaluator` takes it: a data set
        name (``"fashion-mnist"``, ``"digits"``, ...), a path, or a loaded ``ImageData``.
    method : ``"darts"``, ``"gdas"`` or ``"drnas"``.
    order : DARTS's approximation, 1 (first order) or 2 (one unrolled step); gdas, drnas: 1 only.
    epochs : search epochs (default ``config.epochs``, 50).
    channels, cells : the supernet's size (``None``: 16 channels; 5 cells per stage for nb201,
        8 cells for darts).  darts needs ``cells >= 3`` for a normal cell to exist.
    batch_size : batch of each training half per step (``None``: ``config.batch_size``, 64).
    data_fraction, resolution : share of the training split kept; image size (``None``: all,
        native).  Only with ``data`` given by name or path.
    seed : seeds the data splits, the supernet's initialisation, ``alpha``, batch order,
        augmentation and Gumbel noise.
    device : ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``...
    data_root, val_fraction : where a named data set lives; the validation share of its
        training file (reporting only).
    progress : show a tqdm bar on stderr, per step, with the epoch's loss and accuracy.
    callback : ``callback(epoch, row)`` after every epoch (1-based; ``row`` as in
        :attr:`SearchResult.curves`); a True return stops the search after that epoch.
    config : a :class:`GradientConfig`; ``overrides`` replace its fields (e.g. ``w_lr=0.05``).

    Returns
    -------
    SearchResult

    Raises
    ------
    ValueError : an unknown method or space, ``order`` not 1/2, ``order=2`` with gdas or drnas, bad
        config values, a data set that is unknown or too small.
    naspredict.training.trainer.TrainingFailed : a non-finite loss (the message names the
        epoch and step; ``curves`` holds the epochs done).
    """
    from ..evaluators.training import resolve_device
    from ..spaces import resolve_space
    from ..training.data import TensorLoader

    if method not in METHODS:
        raise ValueError(f"unknown gradient method {method!r}; expected one of {', '.join(METHODS)}")
    if order not in (1, 2):
        raise ValueError(f"order must be 1 (first-order DARTS) or 2 (second order, unrolled), got {order!r}")
    if method != "darts" and order != 1:
        raise ValueError(f"order=2 is DARTS's unrolled approximation; {method} has no second-order form "
                         f"here: use --order 1 with {method}, or --method darts --order 2")
    sp = resolve_space(space)
    if sp.name not in SUPERNET_SPACES:
        raise ValueError(f"gradient search needs a supernet space ({', '.join(SUPERNET_SPACES)}), "
                         f"got {sp.name!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    cfg = config or GradientConfig()
    changes = dict(overrides)
    if epochs is not None:
        changes["epochs"] = epochs
    if batch_size is not None:
        changes["batch_size"] = batch_size
    cfg = cfg.replace(**changes) if changes else cfg
    dev = resolve_device(device)

    img = _load(data, sp.name, data_root=data_root, data_fraction=data_fraction,
                resolution=resolution, seed=seed, val_fraction=val_fraction)
    x_all, y_all = img.train
    w_idx, a_idx = _halves(len(y_all), seed)
    xw, yw = x_all[w_idx].to(dev), y_all[w_idx].to(dev)
    xa, ya = x_all[a_idx].to(dev), y_all[a_idx].to(dev)
    xval, yval = img.val[0].to(dev), img.val[1].to(dev)
    augment = img.default_augment() if cfg.augment else None
    kwargs = dict(space=sp.name, channels=channels, cells=cells, n_classes=img.n_classes,
                  input_shape=tuple(img.input_shape))

    fork = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=fork):
        torch.manual_seed(_seed_of(seed, 1))
        net = Supernet(**kwargs).to(dev)
        kwargs.update(channels=net.channels, cells=net.n_cells)
        g_alpha = torch.Generator().manual_seed(_seed_of(seed, 2))
        alphas = {k: (cfg.alpha_init * torch.randn(net.weight_shape(k), generator=g_alpha)).to(dev)
                  .requires_grad_() for k in net.kinds}
        gen_gumbel = torch.Generator().manual_seed(_seed_of(seed, 3))
        w_opt = torch.optim.SGD(net.parameters(), lr=cfg.w_lr, momentum=cfg.w_momentum,
                                weight_decay=cfg.w_weight_decay)
        a_opt = torch.optim.Adam(list(alphas.values()), lr=cfg.a_lr, betas=cfg.a_betas,
                                 weight_decay=cfg.a_weight_decay)
        history = _history_rows(net, alphas, 0, method, seed)
        rows: list[dict] = []
        n_steps = min(-(-len(yw) // cfg.batch_size), -(-len(ya) // cfg.batch_size))
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=cfg.epochs * n_steps, desc=f"{method} {sp.name}", unit="step", file=sys.stderr)
        t_start = time.perf_counter()
        try:
            for epoch in range(cfg.epochs):
                t_epoch = time.perf_counter()
                lr = cfg.w_lr_at(epoch)
                for group in w_opt.param_groups:
                    group["lr"] = lr
                tau = cfg.tau_at(epoch) if method == "gdas" else float("nan")
                net.train()
                loaders = [TensorLoader(x, y, cfg.batch_size, shuffle=True, augment=augment,
                                        generator=torch.Generator().manual_seed(_seed_of(seed, 5, epoch, half)))
                           for half, (x, y) in enumerate(((xw, yw), (xa, ya)))]
                curves_so_far = {k: [r[k] for r in rows] for k in ("train_loss", "train_acc", "val_acc")}
                loss_sum = arch_sum = 0.0
                correct = count = arch_count = 0
                arch_step = epoch >= cfg.warmup_epochs
                for step, ((xt, yt), (xv, yv)) in enumerate(zip(*loaders)):
                    if method == "darts" and arch_step:
                        if order == 1:
                            loss_a = F.cross_entropy(net(xv, weights={k: a.softmax(-1) for k, a in alphas.items()}), yv)
                            ga = _grads(loss_a, list(alphas.values()))
                        else:
                            ga, loss_a = _unrolled_alpha_grads(net, alphas, xt, yt, xv, yv, lr)
                        _alpha_step(a_opt, alphas, ga, loss_a, epoch, step, curves_so_far)
                    if method == "drnas" and arch_step:
                        betas = {k: concentration(a) for k, a in alphas.items()}
                        sample = {k: torch.distributions.Dirichlet(b).rsample() for k, b in betas.items()}
                        loss_a = F.cross_entropy(net(xv, weights=sample), yv)
                        anchor = sum(((b - 1.0) ** 2).sum() for b in betas.values())
                        ga = _grads(loss_a + cfg.drnas_reg * anchor, list(alphas.values()))
                        _alpha_step(a_opt, alphas, ga, loss_a, epoch, step, curves_so_far)
                    if method == "darts":
                        weights = {k: a.detach().softmax(-1) for k, a in alphas.items()}
                    elif method == "drnas":
                        weights = {k: torch.distributions.Dirichlet(concentration(a.detach())).sample()
                                   for k, a in alphas.items()}
                    else:
                        hard = {k: gumbel_hard(a.detach(), tau, gen_gumbel)[1] for k, a in alphas.items()}
                        weights = {k: F.one_hot(i, len(net.op_names)).float() for k, i in hard.items()}
                    logits = net(xt, weights=weights)
                    loss = F.cross_entropy(logits, yt)
                    w_opt.zero_grad(set_to_none=True)
                    loss.backward()
                    _check_loss(loss, "training", epoch, step, curves_so_far)
                    if cfg.grad_clip:
                        torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
                    w_opt.step()
                    if method == "gdas" and arch_step:
                        sample = {k: gumbel_hard(a, tau, gen_gumbel)[0] for k, a in alphas.items()}
                        loss_a = F.cross_entropy(net(xv, weights=sample), yv)
                        _alpha_step(a_opt, alphas, _grads(loss_a, list(alphas.values())), loss_a,
                                    epoch, step, curves_so_far)
                    n = len(yt)
                    loss_sum += float(loss.detach()) * n
                    if arch_step:
                        arch_sum += float(loss_a.detach()) * len(yv)
                        arch_count += len(yv)
                    correct += int((logits.detach().argmax(1) == yt).sum())
                    count += n
                    if bar is not None:
                        bar.set_postfix(epoch=epoch + 1, loss=f"{loss_sum / count:.3f}",
                                        acc=f"{100.0 * correct / count:.1f}", refresh=False)
                        bar.update(1)
                probs = {k: op_probabilities(method, a.detach()) for k, a in alphas.items()}
                derived = net.derive(probs)
                derived_acc = _accuracy(net, xval, yval, cfg.eval_batch_size, arch=derived)
                val_acc = (derived_acc if method == "gdas" else
                           _accuracy(net, xval, yval, cfg.eval_batch_size, weights=probs))
                row = {"epoch": epoch + 1, "train_loss": loss_sum / max(count, 1),
                       "train_acc": 100.0 * correct / max(count, 1),
                       "arch_loss": arch_sum / arch_count if arch_count else float("nan"), "val_acc": val_acc,
                       "derived_val_acc": derived_acc, "w_lr": lr, "tau": tau,
                       "seconds": time.perf_counter() - t_epoch, "arch": sp.to_str(derived)}
                rows.append(row)
                history += _history_rows(net, alphas, epoch + 1, method, seed)
                if callback is not None and callback(epoch + 1, dict(row)):
                    break
        finally:
            if bar is not None:
                bar.close()
        seconds = time.perf_counter() - t_start
    final = {k: a.detach().cpu() for k, a in alphas.items()}
    arch = net.derive({k: op_probabilities(method, a) for k, a in final.items()})
    net = net.cpu().eval()
    return SearchResult(arch=arch, arch_str=sp.to_str(arch), history=pd.DataFrame(history),
                        curves=pd.DataFrame(rows), seconds=seconds, supernet=net, alphas=final,
                        method=method, order=order, seed=seed, config=cfg, device=str(dev),
                        data={"name": img.name, **{f"n_{k}": v for k, v in img.sizes.items()},
                              "n_weight_half": len(yw), "n_arch_half": len(ya),
                              "input_shape": list(img.input_shape), "n_classes": img.n_classes},
                        supernet_kwargs=kwargs)
