"""ENAS: a REINFORCE controller trained on one-shot rewards from a shared supernet.

Pham et al., "Efficient Neural Architecture Search via Parameter Sharing", ICML 2018.  Training
alternates two phases, once per epoch:

1. **shared weights**: one epoch over the training split in which every step trains the path
   of an architecture *sampled from the controller* (single-path, as in
   :mod:`naspredict.oneshot.spos`);
2. **controller**: ``controller_steps`` policy-gradient steps, each on ``controller_batch``
   architectures sampled from the controller and rewarded with their one-shot accuracy on a
   validation minibatch (the minibatch rotates through the validation split).

At the end ``final_samples`` architectures are sampled from the trained controller, scored on
the whole validation split, and the best is returned (Pham et al. then retrain it from
scratch; here that is the caller's evaluator's job, e.g. through
:class:`naspredict.search.enas.ENASSearch`).

The controller is the one of the ``rl`` strategy
(:class:`~naspredict.search.rl.ReinforceSearch`: an LSTM emitting one token per decision, the
``tanh`` logit squashing of ENAS, an exponential moving-average baseline, standardised
rewards); its policy-gradient step is the strategy's own :meth:`tell`.  Unlike Pham et al., each
arch's batch-norm statistics are recomputed on ``bn_batches`` training batches before its
reward is measured (as SPOS and :class:`~naspredict.evaluators.oneshot.OneShotEvaluator` do), so
rewards and the final ranking use the same one-shot score.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from ..trials import Result
from . import spos

__all__ = ["ENASResult", "enas_search", "make_policy", "sample_archs"]


@dataclass
class ENASResult:
    """What :func:`enas_search` returns.

    Attributes
    ----------
    arch : the best of the final samples by one-shot validation accuracy.
    score : its one-shot validation accuracy (%).
    candidates : the distinct final samples with their one-shot validation accuracies (%),
        best first.
    history : per epoch: ``epoch``, ``train_loss`` / ``train`` (supernet, the sampled paths),
        ``reward`` (mean controller reward, %), ``entropy`` (of the controller's policy, summed
        over the decisions, mean over the epoch's samples), ``seconds``.
    policy : the trained controller (a :class:`~naspredict.search.rl.ReinforceSearch`).
    supernet : the trained supernet; ``spec`` rebuilds it (:func:`~naspredict.oneshot.spos.save_supernet`).
    seconds : wall time of the whole search.
    """

    arch: Any
    score: float
    candidates: list[tuple[Any, float]]
    history: list[dict[str, float]]
    policy: Any = field(repr=False)
    supernet: Any = field(repr=False)
    spec: spos.SupernetSpec = field(repr=False)
    seconds: float = 0.0


def make_policy(space: Any, *, seed: int = 0, hidden_size: int = 64, lr: float = 0.0035,
                baseline_decay: float = 0.95, entropy_weight: float = 1e-4,
                tanh_constant: float | None = 2.5):
    """The REINFORCE controller of the ``rl`` strategy, rewarded by ``val_accuracy``.

    Defaults: ENAS's entropy weight (1e-4) and tanh constant (2.5); a larger Adam lr than
    ENAS's 3.5e-4 because a search here takes far fewer controller steps.

    Raises
    ------
    ValueError : for a space the controller cannot emit (see ``ReinforceSearch``).
    """
    from ..search.rl import ReinforceSearch
    return ReinforceSearch(space, target="val_accuracy", direction="max", seed=seed, hidden_size=hidden_size,
                           lr=lr, baseline_decay=baseline_decay, entropy_weight=entropy_weight,
                           tanh_constant=tanh_constant)


def sample_archs(policy: Any, n: int) -> list:
    """``n`` archs sampled from ``policy``'s controller with its own generator (repeats
    allowed, as ENAS samples; tokens with no arch of the space are drawn again)."""
    out: list = []
    for _ in range(100):
        tokens = policy.controller.sample(max(n - len(out), 1), policy.generator).numpy()
        for t in tokens:
            a = policy.codec.decode(t)
            if a is not None:
                out.append(a)
        if len(out) >= n:
            return out[:n]
    raise RuntimeError("the controller kept emitting token sequences with no architecture of the space")


def _policy_entropy(policy: Any, archs: list) -> float:
    with torch.no_grad():
        tokens = torch.as_tensor(np.array([policy.codec.encode(a) for a in archs]), dtype=torch.long)
        _, ent = policy.controller.log_prob(tokens)
    return float(ent.mean())


@torch.no_grad()
def _minibatch_accuracy(supernet, arch, x, y) -> float:
    supernet.eval()
    return 100.0 * float((supernet(x, arch=arch).argmax(1) == y).float().mean())


def enas_search(space: Any, data: Any = "fashion-mnist", *, epochs: int = 10, controller_steps: int = 10,
                controller_batch: int = 8, final_samples: int = 32, reward_images: int = 256,
                bn_batches: int = 2, channels: int | None = None, cells: int | None = None,
                data_fraction: float = 1.0, resolution: int | None = None, val_fraction: float = 0.1,
                batch_size: int = 256, config: Any = None, seed: int = 0, device: str | None = "auto",
                data_root: Any = None, policy: dict | None = None,
                progress: bool | Callable[[int, dict], None] = False) -> ENASResult:
    """Run ENAS (Pham et al., 2018) on ``space`` with a supernet trained on ``data``.

    Parameters
    ----------
    space : a space both the supernet and the ``rl`` controller support (``"nb201"``).
    data : an image data set name, path or loaded :class:`~naspredict.training.ImageData`.
    epochs : epochs of shared-weight training (each followed by a controller phase); also the
        cosine's horizon.
    controller_steps : policy-gradient steps per epoch.
    controller_batch : archs sampled and rewarded per controller step.
    final_samples : archs sampled from the final controller and ranked on the whole
        validation split.
    reward_images : validation images per reward (a rotating minibatch).
    bn_batches : training batches that recompute BN statistics before each score (0: none).
    channels, cells : the supernet's width and depth (``None``: the space's default).
    data_fraction, resolution, val_fraction, data_root : the data setting (as
        :func:`~naspredict.training.load_images` takes it; ignored for a loaded ImageData).
    batch_size : shared-weight training batch size.
    config : a :class:`~naspredict.training.TrainConfig` for the shared weights (default
        NAS-Bench-201's SGD + cosine); ``epochs`` and ``batch_size`` override its fields.
    seed : seeds everything: splits, supernet init, batches, controller init and sampling.
    device : ``"auto"``, ``"cpu"``, ``"cuda"``...
    policy : keyword arguments of :func:`make_policy` (``hidden_size``, ``lr``, ...).
    progress : True prints a line per epoch; a callable gets ``(epoch, row)``.

    Returns
    -------
    ENASResult.

    Raises
    ------
    ValueError : bad counts, or a space without a supernet or a controller.
    naspredict.training.TrainingFailed : when shared-weight training diverges.
    """
    from ..evaluators.training import _input_shape, _stable_int, resolve_device
    from ..spaces import resolve_space
    from ..training import data as image_data
    from ..training.tasks import make_task
    from ..training.trainer import TrainConfig
    for name, v in (("epochs", epochs), ("controller_steps", controller_steps),
                    ("controller_batch", controller_batch), ("final_samples", final_samples),
                    ("reward_images", reward_images)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if isinstance(bn_batches, bool) or not isinstance(bn_batches, (int, np.integer)) or bn_batches < 0:
        raise ValueError(f"bn_batches must be an integer >= 0, got {bn_batches!r}")
    space = resolve_space(space)
    device = resolve_device(device)
    t_start = time.perf_counter()
    if isinstance(data, image_data.ImageData):
        images = data
    else:
        images = image_data.load_images(data, root=data_root, seed=seed, val_fraction=val_fraction,
                                        data_fraction=data_fraction, resolution=resolution)
    if len(images.val[1]) == 0:
        raise ValueError("ENAS rewards the controller on the validation split, which is empty; use val_fraction > 0")
    config = TrainConfig() if config is None else config
    config = config.replace(epochs=int(epochs), batch_size=int(batch_size))
    spec = spos.SupernetSpec(space.name, channels=channels, cells=cells, n_classes=int(images.n_classes),
                             input_shape=tuple(_input_shape(images)), seed=_stable_int(seed, "supernet-init"))
    supernet = spos.build_supernet(spec)
    pol = make_policy(space, seed=_stable_int(seed, "controller") % (2 ** 31), **(policy or {}))
    task = make_task(images, batch_size=config.batch_size, eval_batch_size=config.eval_batch_size)
    trainer = spos.SupernetTrainer(supernet, task, config, seed=seed, device=device)
    task = trainer.task  # on the device
    bn = spos.bn_batches_of(task, int(bn_batches), seed=seed) if bn_batches else []
    x_val, y_val = task.data.val
    n_val = len(y_val)
    window = min(int(reward_images), n_val)
    cursor = 0

    def from_controller(step: int, rng: np.random.Generator) -> Any:
        return sample_archs(pol, 1)[0]

    history: list[dict[str, float]] = []
    for epoch in range(int(epochs)):
        t0 = time.perf_counter()
        row = trainer.epoch(from_controller)
        rewards = []
        for _ in range(int(controller_steps)):
            idx = torch.arange(cursor, cursor + window, device=y_val.device) % n_val
            cursor = (cursor + window) % n_val
            xb, yb = x_val[idx], y_val[idx]
            archs = sample_archs(pol, int(controller_batch))
            trials = []
            for a in archs:
                if bn:
                    spos.recalibrate_bn(supernet, a, bn)
                r = _minibatch_accuracy(supernet, a, xb, yb)
                rewards.append(r)
                trials.append(_told(pol, a, r))
            with warnings.catch_warnings():
                # ENAS samples with repetition and rewards every sample on a fresh minibatch, so
                # a repeated arch is expected here, not the caller's mistake the strategy warns of
                warnings.filterwarnings("ignore", message=".*was already told", category=UserWarning)
                pol.tell(trials)
        entropy = _policy_entropy(pol, sample_archs(pol, 16))
        out = {"epoch": epoch + 1, "train_loss": row["train_loss"], "train": row["train"],
               "reward": float(np.mean(rewards)), "entropy": entropy, "seconds": time.perf_counter() - t0}
        history.append(out)
        if progress is True:
            print(f"enas epoch {epoch + 1}/{epochs}: supernet loss {out['train_loss']:.3f}, "
                  f"reward {out['reward']:.1f} %, entropy {entropy:.2f}, {out['seconds']:.1f} s", flush=True)
        elif callable(progress):
            progress(epoch + 1, out)
    # final: sample from the trained controller, rank the distinct samples on the whole val split
    seen: dict[str, Any] = {}
    for a in sample_archs(pol, int(final_samples)):
        seen.setdefault(space.to_str(a), a)
    scored = []
    for a in seen.values():
        acc, _ = spos.score(supernet, a, task, "val", bn if bn else 0, seed=seed)
        scored.append((a, float(acc)))
    scored.sort(key=lambda p: -p[1])  # stable: ties keep the controller's sampling order
    best, best_score = scored[0]
    return ENASResult(arch=best, score=best_score, candidates=scored, history=history, policy=pol,
                      supernet=supernet, spec=spec, seconds=time.perf_counter() - t_start)


def _told(policy: Any, arch: Any, reward: float):
    """A finished trial of ``arch`` with one-shot reward ``reward`` for ``policy.tell``."""
    from ..search.base import Proposal
    return Proposal(arch).trial(Result({"val_accuracy": float(reward)}))
