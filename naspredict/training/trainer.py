"""The training routine: one loop for every task (images, graphs), with the schedule, the
per-epoch report, failure detection and exact continuation.

:func:`train` runs epochs ``start..epochs-1`` of a :class:`TrainConfig` on a *task* (an
:class:`ImageTask` or :class:`GraphTask`, anything with ``train_batches``, ``eval_batches``
and ``logits``).  What it guarantees:

* **Seeds, not global state.**  Batch order and augmentation come from generators seeded by
  ``(seed, epoch)``; the weight initialisation and dropout draw from torch's global RNG
  inside :func:`torch.random.fork_rng`, so the caller's RNG state is the same afterwards.
  The same seed gives the same curves on the CPU.
* **Schedules a continuation can honour.**  The learning rate is a function of the fractional
  epoch only (cosine from ``lr`` to 0 over the *horizon*, updated every step).  With
  ``anneal="schedule"`` (the default) the horizon is ``config.epochs``, so a run of ``k``
  epochs is the first ``k`` epochs of the full schedule (as NAS-Bench-201's per-epoch values
  are), and continuing a saved ``k``-epoch run to ``k' > k`` epochs gives the same weights as
  training ``k'`` epochs straight through.  With ``anneal="trial"`` each trial anneals to 0
  over its own epochs (NAS-Bench-201's short-schedule protocol); a continuation then restarts
  the cosine from the checkpoint's weights (a warm restart) and is *not* the same as training
  ``k'`` epochs from scratch: the evaluator records that in ``info``.
* **Failures are results.**  A non-finite loss or a loss above ``config.max_loss`` stops the
  run with :class:`TrainingFailed` naming the epoch and step; the curves up to there are kept.
"""
from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .._config import FieldsConfig

__all__ = ["TrainConfig", "TrainingFailed", "TrainRun", "train", "lr_at", "CURVES"]

#: the curves every task reports, per epoch (accuracies in percent, as the tables give them)
CURVES = ("train", "val", "train_loss", "val_loss")


@dataclass(frozen=True)
class TrainConfig(FieldsConfig):
    """How a network is trained.  The defaults follow NAS-Bench-201's protocol (Dong & Yang,
    2020): SGD with Nesterov momentum 0.9, lr 0.1 annealed to 0 by a cosine, weight decay
    5e-4, batch 256; only the epoch count differs (``epochs`` is the full fidelity here).

    Parameters
    ----------
    epochs : epochs of the full schedule (what ``Fidelity(epochs=None)`` means).
    batch_size, eval_batch_size : training / evaluation batch sizes (images only; a graph is
        trained full-batch).
    optimizer : ``"sgd"`` or ``"adam"`` (NAS-Bench-Graph trains its GNNs with Adam).
    lr, momentum, nesterov, weight_decay : the optimiser's settings (momentum/nesterov: SGD).
    schedule : ``"cosine"`` (to 0 over the horizon) or ``"constant"``.
    anneal : the cosine's horizon: ``"schedule"`` = ``epochs`` (a shorter trial is a prefix of
        the full run; continuing is exact) or ``"trial"`` = the trial's own epochs.
    grad_clip : clip the gradients' global norm to this (``None``: no clipping).
    max_loss : a mean training loss above this counts as divergence (the trial fails).
    label_smoothing : cross-entropy label smoothing.
    augment : ``None`` uses the data set's standard augmentation, ``False`` none.
    amp : mixed precision (CUDA only: float16 autocast with a gradient scaler).
    channels_last : channels-last memory format for image models (CUDA only).
    """

    epochs: int = 12
    batch_size: int = 256
    eval_batch_size: int = 1024
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    anneal: str = "schedule"
    grad_clip: float | None = None
    max_loss: float = 1e4
    label_smoothing: float = 0.0
    augment: bool | None = None
    amp: bool = False
    channels_last: bool = False

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive integer, got {v!r}")
        if self.optimizer not in ("sgd", "adam"):
            raise ValueError(f"TrainConfig.optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"TrainConfig.schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if self.anneal not in ("schedule", "trial"):
            raise ValueError(f"TrainConfig.anneal must be 'schedule' (cosine over the full epochs) or "
                             f"'trial' (over each trial's epochs), got {self.anneal!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"TrainConfig.lr must be a positive number, got {self.lr!r}")
        if self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise ValueError("TrainConfig.weight_decay must be >= 0 and momentum in [0, 1)")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"TrainConfig.grad_clip must be positive or None, got {self.grad_clip!r}")

    @classmethod
    def for_space(cls, space: str, **changes) -> "TrainConfig":
        """The default setting for a space's networks, with ``changes`` applied.  Image spaces:
        the NAS-Bench-201 protocol above.  ``nbgraph``: Adam, lr 0.01, weight decay 5e-4,
        200 full-batch epochs, cosine; a common GNN setting, *not* NAS-Bench-Graph's tuned
        per-data-set values (which we do not have)."""
        base = cls()
        if space == "nbgraph":
            base = cls(optimizer="adam", lr=0.01, weight_decay=5e-4, epochs=200, nesterov=False)
        return base.replace(**changes) if changes else base



class TrainingFailed(RuntimeError):
    """A run stopped by a non-finite or diverging loss; ``curves`` holds the epochs done."""

    def __init__(self, reason: str, curves: Mapping[str, list[float]] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.curves = {k: list(v) for k, v in (curves or {}).items()}


@dataclass
class TrainRun:
    """What :func:`train` returns.

    ``curves`` are the per-epoch :data:`CURVES` from epoch 1 (including the epochs of the
    state it continued from); ``pruned`` is True when ``report`` stopped it; ``epochs`` is how
    many epochs the weights have seen; ``state`` is a checkpoint (model, optimiser, scaler,
    epochs, curves) that ``train(..., resume=state)`` continues from; ``seconds`` the wall time
    of this call's epochs.
    """

    curves: dict[str, list[float]]
    epochs: int
    pruned: bool
    seconds: float
    state: dict[str, Any] = field(repr=False, default_factory=dict)


def lr_at(config: TrainConfig, progress: float, horizon: int) -> float:
    """The learning rate after ``progress`` epochs (fractional) of a ``horizon``-epoch cosine."""
    if config.schedule == "constant":
        return config.lr
    t = min(max(progress / horizon, 0.0), 1.0)
    return 0.5 * config.lr * (1.0 + math.cos(math.pi * t))


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser of ``config`` over ``model``'s parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                           nesterov=config.nesterov and config.momentum > 0,
                           weight_decay=config.weight_decay)


def _seed_of(seed: int, epoch: int) -> int:
    return (int(seed) * 1_000_003 + epoch * 7_919) % (2 ** 63 - 1)


def train(model: nn.Module, task: Any, config: TrainConfig, *, epochs: int | None = None,
          seed: int = 0, device: torch.device | str = "cpu",
          report: Callable[[int, dict[str, float]], bool] | None = None,
          resume: Mapping[str, Any] | None = None,
          progress: Callable[[int, dict[str, float]], None] | None = None) -> TrainRun:
    """Train ``model`` on ``task`` for ``epochs`` epochs (default ``config.epochs``).

    Parameters
    ----------
    model : the network; moved to ``device`` (and left there).
    task : where batches come from and how logits are read (:class:`ImageTask`,
        :class:`GraphTask`).
    seed : seeds batch order, augmentation and dropout (the initial weights are the caller's:
        build the model under the seed you want; the evaluator does).
    report : called after each epoch as ``report(epoch, {"train", "val", "train_loss",
        "val_loss"})`` (epoch counted from 1); a True return stops training (``pruned``).
    resume : a :attr:`TrainRun.state` to continue from (its epochs are not repeated).
    progress : called like ``report`` after each epoch, for progress bars; its return is
        ignored.

    Raises :class:`TrainingFailed` on a non-finite or diverging loss.
    """
    epochs = config.epochs if epochs is None else int(epochs)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    device = torch.device(device)
    cuda = device.type == "cuda"
    horizon = config.epochs if config.anneal == "schedule" else epochs
    if config.anneal == "schedule" and epochs > config.epochs:
        raise ValueError(f"{epochs} epochs exceed the schedule's {config.epochs}: with "
                         f"anneal='schedule' a trial is a prefix of the full schedule; raise "
                         f"TrainConfig.epochs or use anneal='trial'")
    model.to(device)
    if config.channels_last and cuda:
        model.to(memory_format=torch.channels_last)
    task.to(device)
    opt = make_optimizer(model, config)
    use_amp = bool(config.amp and cuda)
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    curves: dict[str, list[float]] = {k: [] for k in CURVES}
    start = 0
    if resume:
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        if scaler is not None and resume.get("scaler"):
            scaler.load_state_dict(resume["scaler"])
        start = int(resume["epochs"])
        curves = {k: list(resume["curves"].get(k, [])) for k in CURVES}
        if start > epochs:
            raise ValueError(f"the checkpoint has {start} epochs, more than the {epochs} asked")
    # anneal='trial' continuing from a checkpoint: a warm restart over the remaining epochs
    offset = start if config.anneal == "trial" else 0
    horizon = horizon - offset
    autocast = (lambda: torch.autocast("cuda", dtype=torch.float16)) if use_amp else nullcontext
    fork_devices = [device.index if device.index is not None else torch.cuda.current_device()] if cuda else []
    # how often the loss is checked on the host: every step on the CPU, every 25 on a GPU (a
    # check is a synchronisation; a non-finite loss in between is still caught by the epoch's sum)
    check_every = 1 if device.type == "cpu" else 25
    t0 = time.perf_counter()
    pruned = False
    done = start
    if resume and report is not None:
        # the reporter (a pruner) follows the run from epoch 1: replay the saved epochs to it
        for e in range(start):
            if report(e + 1, {k: curves[k][e] for k in CURVES}):
                return TrainRun(curves={k: v[:e + 1] for k, v in curves.items()}, epochs=start,
                                pruned=True, seconds=0.0, state=dict(resume))
    with torch.random.fork_rng(devices=fork_devices):
        for epoch in range(start, epochs):
            torch.manual_seed(_seed_of(seed, epoch))  # dropout etc.; restored by fork_rng
            model.train()
            batches = task.train_batches(epoch, _seed_of(seed, epoch), augment=config.augment)
            n_batches = max(len(batches), 1)
            loss_sum = correct = count = 0.0
            for i, (inputs, y) in enumerate(batches):
                lr = lr_at(config, epoch - offset + i / n_batches, horizon)
                for g in opt.param_groups:
                    g["lr"] = lr
                with autocast():
                    logits = task.logits(model, inputs)
                    loss = F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)
                opt.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    if config.grad_clip:
                        scaler.unscale_(opt)
                        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                    scaler.step(opt)
                    scaler.update()
                else:
                    loss.backward()
                    if config.grad_clip:
                        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                    opt.step()
                n = len(y)
                loss_sum = loss_sum + loss.detach().double() * n  # device tensors: no sync per step
                correct = correct + (logits.detach().argmax(1) == y).sum()
                count += n
                if (i + 1) % check_every == 0 or i + 1 == n_batches:  # a host sync (free on the CPU)
                    lv = float(loss.detach())
                    if not math.isfinite(lv) or lv > config.max_loss:
                        what = ("became non-finite" if not math.isfinite(lv)
                                else f"diverged ({lv:.3g} > max_loss {config.max_loss:g})")
                        raise TrainingFailed(f"training loss {what} at epoch {epoch + 1}, step {i + 1} "
                                             f"(lr {lr:.3g}); lower TrainConfig.lr or set grad_clip", curves)
            loss_sum, correct = float(loss_sum), float(correct)
            if not math.isfinite(loss_sum):
                raise TrainingFailed(f"training loss became non-finite during epoch {epoch + 1}; lower "
                                     f"TrainConfig.lr or set grad_clip", curves)
            val_loss, val_acc = evaluate(model, task, "val", autocast)
            row = {"train": 100.0 * correct / max(count, 1), "val": val_acc,
                   "train_loss": loss_sum / max(count, 1), "val_loss": val_loss}
            for k in CURVES:
                curves[k].append(float(row[k]))
            done = epoch + 1
            if progress is not None:
                progress(done, row)
            if report is not None and report(done, dict(row)):
                pruned = done < epochs
                break
    state = {"model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
             "optimizer": _cpu(opt.state_dict()), "scaler": scaler.state_dict() if scaler else None,
             "epochs": done, "curves": curves}
    return TrainRun(curves=curves, epochs=done, pruned=pruned, seconds=time.perf_counter() - t0, state=state)


@torch.no_grad()
def evaluate(model: nn.Module, task: Any, split: str, autocast=nullcontext) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (%) of ``model`` on ``task``'s ``split``."""
    was_training = model.training
    model.eval()
    loss_sum = correct = count = 0.0
    for inputs, y in task.eval_batches(split):
        with autocast():
            logits = task.logits(model, inputs).float()
        loss_sum = loss_sum + F.cross_entropy(logits, y, reduction="sum").double()  # summed on the device
        correct = correct + (logits.argmax(1) == y).sum()
        count += len(y)
    model.train(was_training)
    if count == 0:
        raise ValueError(f"the {split} split is empty")
    return float(loss_sum) / count, 100.0 * float(correct) / count


def _cpu(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_cpu(v) for v in obj)
    return obj

