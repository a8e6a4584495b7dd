"""Single-path one-shot training of a weight-sharing supernet, BN recalibration, one-shot scores.

Guo et al., "Single Path One-Shot Neural Architecture Search with Uniform Sampling", ECCV 2020
(SPOS), after Bender et al., "Understanding and Simplifying One-Shot Architecture Search",
ICML 2018: every training step draws one architecture of the space (uniformly, from an explicit
generator) and trains only its path through the :class:`~naspredict.oneshot.supernet.Supernet`;
afterwards any architecture is scored with the shared weights.  Because the batch-norm running
statistics of a supernet are a mixture over all the paths trained, SPOS recomputes them for each
architecture on a few training batches before scoring (:func:`recalibrate_bn`).

Chu et al., "FairNAS: Rethinking Evaluation Fairness of Weight Sharing NAS", ICCV 2021, make
the sampling *strictly fair* (:func:`fair_sampler`, ``sampler="fair"``): each step draws, per
choice, a random permutation of its options and builds the ``m`` paths that together use every
option of every choice exactly once; the gradients of all ``m`` paths on the same batch are
summed and the optimiser takes one step, so every op has been trained exactly as often as
every other op of its edge after every step, not only in expectation.  On the 100-cell
Fashion-MNIST set of ``benchmarks/oneshot_ranking.py`` it ranks cells better than uniform
sampling, by the one-shot validation loss (see ``benchmarks/results/oneshot_ranking.md``).

* :func:`train_supernet` -- the training loop (SGD + cosine from
  :mod:`naspredict.training.trainer`: :func:`~naspredict.training.trainer.make_optimizer`,
  :func:`~naspredict.training.trainer.lr_at`, :class:`~naspredict.training.TrainConfig`);
  :class:`SupernetTrainer` is the same loop one epoch at a time, with any sampler (ENAS trains
  on its controller's samples with it).
* :func:`uniform_sampler`, :func:`fair_sampler`, :func:`make_sampler` -- what a step trains.
* :func:`recalibrate_bn`, :func:`score` -- the one-shot evaluation of one architecture
  (``bn_mode="recalibrate"``, SPOS's per-arch running statistics, or ``"batch"``: each
  evaluation batch normalised by its own statistics, BN in train mode as in Bender et al.,
  2018, who keep BN in training mode when scoring one-shot models).
* :class:`SupernetSpec`, :func:`build_supernet`, :func:`save_supernet`, :func:`load_supernet`
  -- what is needed to rebuild a supernet, and one file holding it with its weights.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SupernetSpec", "SupernetHistory", "SupernetTrainer", "build_supernet", "train_supernet",
           "uniform_sampler", "fair_sampler", "make_sampler", "SAMPLERS", "recalibrate_bn", "bn_batches_of",
           "score", "BN_MODES", "ArchPath", "save_supernet", "load_supernet"]

#: a sampler draws what one training step trains: ``sampler(step, rng) -> arch`` (one path) or
#: ``-> list of archs`` (several paths on the same batch, gradients summed, one optimiser step)
Sampler = Callable[[int, np.random.Generator], Any]
#: the named samplers of :func:`make_sampler`
SAMPLERS = ("uniform", "fair")
#: how :func:`score` normalises: per-arch recalibrated running statistics, or batch statistics
BN_MODES = ("recalibrate", "batch")


# -- what a supernet is ----------------------------------------------------------------------

@dataclass(frozen=True)
class SupernetSpec:
    """The settings that rebuild a :class:`~naspredict.oneshot.supernet.Supernet`.

    Parameters
    ----------
    space : the space's name (``"nb201"``, ``"darts"``).
    channels, cells : the supernet's width and depth (``None``: the space's default).
    n_classes : classifier outputs.
    input_shape : ``(C, H, W)`` of one input.
    affine, track_running_stats : the ops' batch-norm settings (SPOS keeps running statistics
        and recalibrates them per arch; non-affine BN as in DARTS's search networks).
    seed : the weight initialisation's seed.
    """

    space: str
    channels: int | None = None
    cells: int | None = None
    n_classes: int = 10
    input_shape: tuple[int, ...] = (3, 32, 32)
    affine: bool = False
    track_running_stats: bool = True
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SupernetSpec":
        d = dict(d)
        d["input_shape"] = tuple(d.get("input_shape", (3, 32, 32)))
        return cls(**d)


def build_supernet(spec: SupernetSpec) -> nn.Module:
    """The supernet of ``spec``, initialised under ``torch.manual_seed(spec.seed)`` inside
    :func:`torch.random.fork_rng` (the caller's RNG is untouched)."""
    from .supernet import Supernet
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(spec.seed))
        return Supernet(spec.space, channels=spec.channels, cells=spec.cells, n_classes=spec.n_classes,
                        input_shape=tuple(spec.input_shape), affine=spec.affine,
                        track_running_stats=spec.track_running_stats)


def uniform_sampler(space: Any) -> Sampler:
    """SPOS's sampler: every step an architecture drawn uniformly by ``space.sample(rng)``."""
    return lambda step, rng: space.sample(rng)


def fair_sampler(space: Any, paths: int | None = None) -> Sampler:
    """FairNAS's strictly fair sampler (Chu et al., ICCV 2021) over ``space.choices()``.

    Every step draws, independently per choice, a random permutation of its option indices and
    returns ``m = max_i len(choices[i])`` architectures, path ``p`` taking the ``p``-th entry of
    every choice's permutation: over the ``m`` paths every option of every choice is used exactly
    once (NB201: 5 paths, each of the 5 ops of each of the 6 edges once).  A choice with fewer
    options than ``m`` (DARTS's input pairs of the first nodes) concatenates fresh permutations
    and keeps the first ``m`` entries, so each of its options is used ``floor(m / k)`` or
    ``ceil(m / k)`` times -- as fair as ``m`` paths allow.  On darts ``m`` is 20 (node 5's
    ordered input pairs); ``paths`` sets a smaller ``m``, and a choice with more options than
    ``m`` then uses ``m`` distinct options drawn at random.

    Parameters
    ----------
    space : a space declaring a choices schema (``space.has_choices``), every index vector of
        which names an architecture (``space.from_choices`` never ``None``): nb201, darts.
    paths : paths per step (default ``None``: the largest choice's option count, FairNAS's m).

    Returns
    -------
    ``sampler(step, rng) -> list`` of ``m`` architectures (draws only from ``rng``).

    Raises
    ------
    ValueError : a space without a choices schema, a bad ``paths``; at sampling time, a vector
        naming no arch.
    """
    if not getattr(space, "has_choices", False):
        raise ValueError(f"the fair sampler needs a space with a choices schema (space.choices()); "
                         f"{getattr(space, 'name', space)!r} has none, use sampler='uniform'")
    sizes = [len(c) for c in space.choices()]
    m = max(sizes) if paths is None else paths
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"paths must be a positive integer (or None for the largest choice's size), got {paths!r}")
    m = int(m)

    def sample(step: int, rng: np.random.Generator) -> list:
        cols = [np.concatenate([rng.permutation(k) for _ in range(-(-m // k))])[:m] for k in sizes]
        index = np.stack(cols, axis=1)  # (m paths, n choices)
        archs = []
        for row in index:
            arch = space.from_choices(row)
            if arch is None:
                raise ValueError(f"choice vector {tuple(int(i) for i in row)} names no architecture of "
                                 f"{space.name!r}; the fair sampler needs a space where every vector is one")
            archs.append(arch)
        return archs

    sample.paths_per_step = m
    return sample


def make_sampler(sampler: str | Sampler, space: Any) -> Sampler:
    """``"uniform"`` (:func:`uniform_sampler`), ``"fair"`` (:func:`fair_sampler`) or a callable
    ``sampler(step, rng) -> arch | list of archs``, returned as it is.

    Raises
    ------
    ValueError : any other value.
    """
    if sampler == "uniform":
        return uniform_sampler(space)
    if sampler == "fair":
        return fair_sampler(space)
    if callable(sampler):
        return sampler
    raise ValueError(f"sampler must be one of {SAMPLERS} or a callable (step, rng) -> arch, got {sampler!r}")


class ArchPath(nn.Module):
    """One architecture's path through a supernet as an ordinary model:
    ``ArchPath(supernet, arch)(x) == supernet(x, arch=arch)``, so the trainer's
    :func:`~naspredict.training.trainer.evaluate` can score it."""

    def __init__(self, supernet: nn.Module, arch: Any):
        super().__init__()
        self.supernet = supernet
        self.arch = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.supernet(x, arch=self.arch)


# -- training ----------------------------------------------------------------------------------

@dataclass
class SupernetHistory:
    """What supernet training did, per epoch: ``train_loss`` (mean cross-entropy of the sampled
    paths), ``train`` (their accuracy, %), ``lr`` at the epoch's end, ``seconds`` (wall);
    ``steps`` (optimiser steps) in all, ``paths`` (path forward/backward passes: ``steps``
    for SPOS, ``m * steps`` for FairNAS) and ``archs`` (the distinct architectures trained)."""

    train_loss: list[float] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    steps: int = 0
    archs: int = 0
    paths: int = 0

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    @property
    def total_seconds(self) -> float:
        return float(sum(self.seconds))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _seed_of(seed: int, epoch: int) -> int:
    return (int(seed) * 1_000_003 + epoch * 7_919 + 17) % (2 ** 63 - 1)


def _as_task(data_or_task: Any, batch_size: int, eval_batch_size: int = 1024):
    if hasattr(data_or_task, "train_batches") and hasattr(data_or_task, "eval_batches"):
        return data_or_task
    if not hasattr(data_or_task, "train"):
        raise TypeError(f"expected an ImageData (naspredict.training.load_images) or an ImageTask, got "
                        f"{type(data_or_task).__name__}")
    from ..training.tasks import make_task
    return make_task(data_or_task, batch_size=batch_size, eval_batch_size=eval_batch_size)


class SupernetTrainer:
    """Single-path training of ``supernet``, one epoch at a time.

    Parameters
    ----------
    supernet : the :class:`~naspredict.oneshot.supernet.Supernet` (moved to ``device``).
    task : an :class:`~naspredict.training.ImageTask` (or an ``ImageData``, made into one with
        ``config.batch_size``).
    config : the :class:`~naspredict.training.TrainConfig`: optimiser, lr, weight decay,
        schedule; the cosine runs over ``config.epochs`` epochs (per step).
    seed : seeds batch order, augmentation and the uniform sampler's generator
        (``np.random.default_rng``); the torch RNG is forked, so the caller's is untouched.
    device : where to train.

    :meth:`epoch` trains one epoch, drawing each step's architecture from a sampler
    ``sampler(step, rng) -> arch`` (default: uniform).  A sampler that returns a *list* of
    archs (:func:`fair_sampler`) has all of them trained on the step's batch: each path's
    loss is back-propagated in turn, the gradients add up (a sum, as FairNAS accumulates them)
    and the optimiser steps once.  The same seed and sampler give the same weights on the CPU.
    """

    def __init__(self, supernet: nn.Module, task: Any, config: Any, *, seed: int = 0,
                 device: torch.device | str = "cpu"):
        from ..training.trainer import TrainConfig, make_optimizer
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a naspredict.training.TrainConfig, got {type(config).__name__}")
        self.supernet = supernet
        self.config = config
        self.device = torch.device(device)
        self.task = _as_task(task, config.batch_size, config.eval_batch_size).to(self.device)
        self.seed = int(seed)
        self.rng = np.random.default_rng([self.seed, 0x5F05])
        supernet.to(self.device)
        self.optimizer = make_optimizer(supernet, config)
        self.history = SupernetHistory()
        self._archs: set[Any] = set()

    def epoch(self, sampler: str | Sampler | None = None) -> dict[str, float]:
        """Train one more epoch (at most ``config.epochs`` in all) and return
        ``{"train_loss", "train", "lr", "seconds"}``.

        Raises
        ------
        ValueError : when the schedule's epochs are all done.
        naspredict.training.TrainingFailed : on a non-finite or diverging loss.
        """
        from ..training.trainer import TrainingFailed, lr_at
        cfg = self.config
        e = self.history.epochs
        if e >= cfg.epochs:
            raise ValueError(f"the supernet has trained all {cfg.epochs} epochs of its schedule; "
                             f"build the trainer with a TrainConfig of more epochs")
        sampler = make_sampler("uniform" if sampler is None else sampler, self.supernet.space)
        t0 = time.perf_counter()
        cuda = self.device.type == "cuda"
        fork = [self.device.index if self.device.index is not None else torch.cuda.current_device()] if cuda else []
        net = self.supernet
        with torch.random.fork_rng(devices=fork):
            torch.manual_seed(_seed_of(self.seed, e))
            net.train()
            batches = self.task.train_batches(e, _seed_of(self.seed, e), augment=cfg.augment)
            n_batches = max(len(batches), 1)
            loss_sum = correct = 0.0
            count = 0
            lr = cfg.lr
            for i, (x, y) in enumerate(batches):
                lr = lr_at(cfg, e + i / n_batches, cfg.epochs)
                for g in self.optimizer.param_groups:
                    g["lr"] = lr
                drawn = sampler(self.history.steps, self.rng)
                paths = drawn if isinstance(drawn, list) else [drawn]
                if not paths:
                    raise ValueError("the sampler returned an empty list of architectures")
                self.optimizer.zero_grad(set_to_none=True)
                for arch in paths:  # gradients accumulate over the step's paths
                    self._archs.add(arch)
                    logits = net(x, arch=arch)
                    loss = F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
                    loss.backward()
                    loss_sum = loss_sum + loss.detach().double() * len(y)
                    correct = correct + (logits.detach().argmax(1) == y).sum()
                    count += len(y)
                if cfg.grad_clip:
                    nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
                self.optimizer.step()
                self.history.steps += 1
                self.history.paths += len(paths)
                if not cuda or (i + 1) % 25 == 0 or i + 1 == n_batches:
                    lv = float(loss.detach())
                    if not math.isfinite(lv) or lv > cfg.max_loss:
                        raise TrainingFailed(f"supernet training loss {'became non-finite' if not math.isfinite(lv) else 'diverged'} "
                                             f"({lv:.3g}) at epoch {e + 1}, step {i + 1} (lr {lr:.3g}); lower "
                                             f"TrainConfig.lr or set grad_clip", self.curves())
        row = {"train_loss": float(loss_sum) / max(count, 1), "train": 100.0 * float(correct) / max(count, 1),
               "lr": float(lr), "seconds": time.perf_counter() - t0}
        h = self.history
        h.train_loss.append(row["train_loss"])
        h.train.append(row["train"])
        h.lr.append(row["lr"])
        h.seconds.append(row["seconds"])
        h.archs = len(self._archs)
        return row

    def curves(self) -> dict[str, list[float]]:
        return {"train": list(self.history.train), "train_loss": list(self.history.train_loss)}


def train_supernet(supernet: nn.Module, data_or_task: Any, *, epochs: int, sampler: str | Sampler = "uniform",
                   batch_size: int = 256, seed: int = 0, device: torch.device | str = "cpu",
                   config: Any = None, progress: bool | Callable[[int, dict], None] = False) -> SupernetHistory:
    """Train ``supernet`` by single-path sampling (SPOS; Guo et al., 2020).

    Parameters
    ----------
    supernet : a :class:`~naspredict.oneshot.supernet.Supernet`; trained in place, left on
        ``device``, in train mode (score paths with :func:`score`).
    data_or_task : an :class:`~naspredict.training.ImageData` or an
        :class:`~naspredict.training.ImageTask`.
    epochs : epochs over the training split (the cosine's horizon).
    sampler : ``"uniform"`` (SPOS: each step ``space.sample(rng)`` from a seeded
        ``np.random.Generator``), ``"fair"`` (FairNAS, :func:`fair_sampler`: each step the
        ``m`` paths that use every op of every edge once, gradients summed, one update; ``m``
        times the compute of a uniform step) or a callable ``sampler(step, rng) -> arch``
        (or a list of archs, trained together).
    batch_size : training batch size (ignored when a task is given: the task's own).
    seed : seeds batches, augmentation and the sampler (not the initial weights: build the
        supernet under the seed you want, e.g. with :func:`build_supernet`).
    device : where to train.
    config : a :class:`~naspredict.training.TrainConfig` (default: NAS-Bench-201's SGD, lr 0.1,
        Nesterov momentum 0.9, weight decay 5e-4, cosine to 0); ``epochs`` and ``batch_size``
        override its fields.
    progress : True prints a line per epoch; a callable gets ``(epoch, row)``.

    Returns
    -------
    SupernetHistory, per-epoch loss, accuracy of the sampled paths, lr and seconds.

    Raises
    ------
    ValueError : on a bad ``sampler`` or ``epochs``.
    naspredict.training.TrainingFailed : on a non-finite or diverging loss.
    """
    from ..training.trainer import TrainConfig
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a naspredict.training.TrainConfig, got {type(config).__name__}")
    config = config.replace(epochs=int(epochs), batch_size=int(batch_size))
    sampler = make_sampler(sampler, supernet.space)
    trainer = SupernetTrainer(supernet, data_or_task, config, seed=seed, device=device)
    for e in range(int(epochs)):
        row = trainer.epoch(sampler)
        if progress is True:
            print(f"supernet epoch {e + 1}/{epochs}: loss {row['train_loss']:.3f}, "
                  f"train {row['train']:.1f} %, {row['seconds']:.1f} s", flush=True)
        elif callable(progress):
            progress(e + 1, row)
    return trainer.history


# -- one-shot evaluation -----------------------------------------------------------------------

def _batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
            and m.track_running_stats]


def bn_batches_of(task: Any, n: int, *, seed: int = 0) -> list[torch.Tensor]:
    """The inputs of the first ``n`` training batches of ``task`` in a seeded order, without
    augmentation: the same batches for every architecture, so their scores compare."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"BN recalibration needs at least one batch, got {n!r}")
    out = []
    for x, _ in task.train_batches(0, _seed_of(seed, 10_007), augment=False):
        out.append(x)
        if len(out) == n:
            break
    return out


@torch.no_grad()
def recalibrate_bn(supernet: nn.Module, arch: Any, batches: Iterable[Any]) -> int:
    """Recompute the batch-norm running statistics for ``arch``'s path (SPOS).

    Every BN layer with running statistics is reset, then ``arch``'s forward passes over
    ``batches`` (tensors or ``(x, y)`` pairs) accumulate the *cumulative* average of their
    batch means and variances (``momentum=None``); the layers' momenta are restored and the
    supernet is left in eval mode.  Layers off ``arch``'s path end reset (mean 0, variance 1),
    which the path never reads.

    Returns
    -------
    int, the number of batches used.

    Raises
    ------
    ValueError : when ``batches`` is empty.
    """
    bns = _batch_norms(supernet)
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    supernet.train()
    n = 0
    try:
        device = next(supernet.parameters()).device
        for b in batches:
            x = b[0] if isinstance(b, (tuple, list)) else b
            supernet(x.to(device), arch=arch)
            n += 1
    finally:
        for m, mom in zip(bns, momenta):
            m.momentum = mom
        supernet.eval()
    if n == 0:
        raise ValueError("recalibrate_bn got no batches; pass a few training batches (bn_batches_of(task, 4))")
    return n


class _BatchStatistics:
    """Inside ``with _BatchStatistics(net):`` every tracking BN layer normalises by the
    statistics of the batch it sees even in eval mode (its running buffers are set aside and
    put back on exit)."""

    def __init__(self, module: nn.Module):
        self.bns = _batch_norms(module)
        self.kept: list[tuple[torch.Tensor, torch.Tensor]] = []

    def __enter__(self):
        self.kept = [(m.running_mean, m.running_var) for m in self.bns]
        for m in self.bns:  # torch's BN uses batch statistics when both buffers are None
            m.running_mean = None
            m.running_var = None
        return self

    def __exit__(self, *exc):
        for m, (mean, var) in zip(self.bns, self.kept):
            m.running_mean, m.running_var = mean, var
        return False


def score(supernet: nn.Module, arch: Any, task: Any, split: str = "val", bn_batches: int | list = 4,
          *, seed: int = 0, bn_mode: str = "recalibrate") -> tuple[float, float]:
    """One-shot score of ``arch``: recalibrate BN on training batches, then evaluate ``split``.

    Parameters
    ----------
    supernet : a trained supernet (its BN statistics are overwritten when recalibrating).
    arch : an architecture of ``supernet.space``.
    task : an :class:`~naspredict.training.ImageTask` (or ImageData) on the supernet's device.
    split : ``"val"``, ``"test"`` or ``"train"``.
    bn_batches : how many training batches recalibrate BN (:func:`bn_batches_of` with
        ``seed``), or the batches themselves (a list, reused across archs); 0 skips the
        recalibration and uses the running statistics as they are.  Ignored for
        ``bn_mode="batch"``.
    seed : the order the recalibration batches are drawn in.
    bn_mode : ``"recalibrate"`` (SPOS, Guo et al., 2020: running statistics recomputed for
        ``arch``) or ``"batch"`` (every evaluation batch normalised by its own statistics,
        BN in training mode as Bender et al., ICML 2018, score their one-shot models; the
        scores then depend on the evaluation batch size, ``task``'s ``eval_batch_size``).

    Returns
    -------
    (accuracy in %, mean cross-entropy) on ``split``.

    Raises
    ------
    ValueError : an unknown ``bn_mode``.
    """
    from ..training.trainer import evaluate
    if bn_mode not in BN_MODES:
        raise ValueError(f"bn_mode must be one of {BN_MODES}, got {bn_mode!r}")
    task = _as_task(task, 256)
    if bn_mode == "batch":
        with _BatchStatistics(supernet):
            loss, acc = evaluate(ArchPath(supernet, arch), task, split)
        return acc, loss
    if isinstance(bn_batches, (list, tuple)):
        recalibrate_bn(supernet, arch, bn_batches)
    elif bn_batches:
        recalibrate_bn(supernet, arch, bn_batches_of(task, int(bn_batches), seed=seed))
    loss, acc = evaluate(ArchPath(supernet, arch), task, split)
    return acc, loss


# -- one file per trained supernet -------------------------------------------------------------

def save_supernet(path: str | os.PathLike, supernet: nn.Module, spec: SupernetSpec,
                  history: SupernetHistory | None = None, **meta: Any) -> Path:
    """Write ``supernet``'s weights with the ``spec`` that rebuilds it (and the training
    ``history`` and any JSON-able ``meta``) to one file, atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": "naspredict-supernet-1", "spec": spec.to_dict(),
             "state_dict": {k: v.detach().cpu().clone() for k, v in supernet.state_dict().items()},
             "history": history.to_dict() if history is not None else None, "meta": dict(meta)}
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_supernet(path: str | os.PathLike, device: torch.device | str = "cpu"
                  ) -> tuple[nn.Module, SupernetSpec, dict[str, Any]]:
    """Rebuild a supernet written by :func:`save_supernet`.

    Returns
    -------
    (supernet on ``device``, its SupernetSpec, ``{"history": SupernetHistory | None, "meta": dict}``)

    Raises
    ------
    FileNotFoundError : no such file.
    ValueError : the file is not a saved supernet.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved supernet at {path}; train one with OneShotEvaluator(...).save(path) "
                                f"or naspredict.oneshot.spos.save_supernet")
    state = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(state, dict) or state.get("format") != "naspredict-supernet-1":
        raise ValueError(f"{path} is not a supernet saved by naspredict.oneshot.spos.save_supernet")
    spec = SupernetSpec.from_dict(state["spec"])
    net = build_supernet(spec)
    net.load_state_dict(state["state_dict"])
    hist = SupernetHistory(**state["history"]) if state.get("history") else None
    return net.to(device), spec, {"history": hist, "meta": state.get("meta", {})}
