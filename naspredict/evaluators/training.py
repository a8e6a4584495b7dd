"""Ground truth by training: build the arch's network, train it on local data, report each epoch.

:class:`TrainingEvaluator` answers ``evaluate(arch, fidelity=FULL, report=None) -> Result`` by
really training: the network comes from :func:`naspredict.nets.build_network`, the data from
:func:`naspredict.training.load_images` / :func:`~naspredict.training.load_graph` (local files
only), the loop from :func:`naspredict.training.train`.  It runs wherever an executor puts it
(in-process, a local process pool, Ray workers with or without GPUs); the data set is loaded
once per worker process and kept.

Fidelity fields and what they change (``None`` = the evaluator's own setting):

========================  =======================================================================
``epochs``                epochs trained; with ``anneal="schedule"`` the first ``k`` epochs of the
                          full ``TrainConfig.epochs`` cosine (so curves of shorter trials are
                          prefixes of longer ones)
``channels``, ``cells``   the network's width and depth (``build_network``'s ``channels`` /
                          ``cells``)
``data_fraction``         the share of the training split used (a seeded, stratified subsample)
``resolution``            images resized to ``resolution`` x ``resolution``
========================  =======================================================================

**Continuing.**  With ``checkpoint_dir`` set, every finished or pruned trial saves its weights,
optimiser state and curves there; a later trial of the same arch at the same
channels/cells/data/resolution but more epochs continues from the checkpoint with the most
epochs not above the new count instead of starting over.  Under ``anneal="schedule"`` this is
exact: the weights equal those of training straight through (batch order and augmentation are
seeded per epoch, the learning rate is a function of the epoch only).  Under
``anneal="trial"`` the continuation is a warm restart of the cosine over the added epochs,
which is not what training that many epochs from scratch gives; ``info["continued_from"]`` and
``info["warm_restart"]`` say so.  ``Result.cost`` counts only the epochs this call trained.

**Failures.**  A non-finite or diverging loss, an out-of-memory error or any other error while
training gives a ``failed`` result naming the reason (with the curves so far); the search goes
on.  Bad *arguments* (an arch outside the space, a fidelity the evaluator cannot honour) raise.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Mapping

from ..trials import FULL, Fidelity, Reporter, Result, TrialState
from .tabular import as_fidelity

__all__ = ["TrainingEvaluator", "resolve_device", "METRIC_HIGHER_IS_BETTER"]

#: the direction of every metric a training evaluator reports (exports keep them with the data).
METRIC_HIGHER_IS_BETTER = {"train_accuracy": True, "val_accuracy": True, "test_accuracy": True,
                           "train_loss": False, "val_loss": False, "test_loss": False,
                           "params": False, "flops": False, "latency_ms": False}


def resolve_device(device: str | None = "auto"):
    """``"auto"``/``None`` -> CUDA when present, else CPU; anything else as ``torch.device``."""
    import torch
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch sees no CUDA device here; "
                         f"use device='cpu' or 'auto'")
    return dev


def _stable_int(*parts: Any) -> int:
    return int(hashlib.md5("|".join(map(str, parts)).encode()).hexdigest()[:15], 16)


class TrainingEvaluator:
    """Train each arch for real and return its curves, final metrics and profile.

    Parameters
    ----------
    space : the search space (instance or name: ``"nb201"``, ``"nb101"``, ``"darts"``,
        ``"nbgraph"``).
    data : a data set name (``"fashion-mnist"``, ``"digits"``, ``"cifar10"``, ``"cifar100"``,
        ``"karate"``), a path (a ``.npz`` of images, a folder, a saved PyG graph), or an
        already loaded :class:`~naspredict.training.ImageData` / ``GraphData``.
    config : the :class:`~naspredict.training.TrainConfig` (``epochs`` = the full fidelity);
        default ``TrainConfig.for_space(space)``: NAS-Bench-201's protocol for images, Adam for
        graphs.
    epochs : shorthand for ``config.replace(epochs=...)``.
    channels, cells : the network's full width and depth (``None``: the space's published
        default, e.g. NB201's C=16, N=5).
    data_fraction, resolution : the full data setting (share of the training split; image
        size, ``None`` = native).
    seed : the run's seed.  Each trial's seed is derived from it and the arch, so an arch
        gives the same curve whatever order it is evaluated in.
    device : ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    data_root : the folder holding the data set's files when ``data`` is a name.
    val_fraction : share of the training split held out for validation.
    checkpoint_dir : where trials save their final weights, so a longer trial of the same
        arch continues from them (see the module docstring).  ``None``: no checkpoints.
    profile : measure params/FLOPs/MACs (always cheap) and, when True, latency at batch 1 and
        64 on the training device.  ``"static"`` skips the latency.
    progress : a callable ``progress(epoch, metrics)`` called after every epoch (the CLI's
        progress bar uses it); ``None``: silent.
    """

    def __init__(self, space: Any, data: Any = "fashion-mnist", *, config: Any = None,
                 epochs: int | None = None, channels: int | None = None, cells: int | None = None,
                 data_fraction: float = 1.0, resolution: int | None = None, seed: int = 0,
                 device: str | None = "auto", data_root: str | os.PathLike | None = None,
                 val_fraction: float = 0.1, checkpoint_dir: str | os.PathLike | None = None,
                 profile: bool | str = True, progress: Callable[[int, dict], None] | None = None):
        from ..spaces import resolve_space
        from ..training.trainer import TrainConfig
        self.space = resolve_space(space)
        if config is None:
            config = TrainConfig.for_space(self.space.name)
        elif not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a naspredict.training.TrainConfig, got {type(config).__name__}")
        if epochs is not None:
            config = config.replace(epochs=int(epochs))
        self.config = config
        self.data = _check_source(data, self.space.name)
        self.channels, self.cells = channels, cells
        self.full = Fidelity(epochs=config.epochs, channels=channels, cells=cells,
                             data_fraction=float(data_fraction), resolution=resolution)
        self.seed = int(seed)
        self.device = device
        resolve_device(device)  # fail now on a CUDA request without CUDA
        self.data_root = data_root
        self.val_fraction = float(val_fraction)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        if profile not in (True, False, "static"):
            raise ValueError(f"profile must be True, False or 'static', got {profile!r}")
        self.profile = profile
        self.progress = progress
        self._data_cache: dict[tuple, Any] = {}

    # -- pickling for worker processes: the loaded data set stays behind ----------------------
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_data_cache"] = {}
        state["progress"] = None
        return state

    def __repr__(self) -> str:
        name = self.data if isinstance(self.data, (str, os.PathLike)) else type(self.data).__name__
        return (f"TrainingEvaluator({self.space.name}, data={str(name)!r}, epochs={self.config.epochs}, "
                f"channels={self.channels}, cells={self.cells}, seed={self.seed})")

    # -- fidelity -------------------------------------------------------------------------
    def resolve(self, fidelity: Any) -> dict[str, Any]:
        """The concrete setting of ``fidelity``: epochs, channels, cells, data_fraction,
        resolution (``None`` fields take the evaluator's full values)."""
        fidelity = as_fidelity(fidelity)
        out = {f.name: getattr(fidelity, f.name) if getattr(fidelity, f.name) is not None
               else getattr(self.full, f.name) for f in fields(Fidelity)}
        if out["data_fraction"] is None:
            out["data_fraction"] = 1.0
        if self.config.anneal == "schedule" and out["epochs"] > self.config.epochs:
            raise ValueError(f"fidelity {fidelity.key()} asks for {out['epochs']} epochs, more than "
                             f"the full schedule's {self.config.epochs}; raise the evaluator's epochs "
                             f"or use TrainConfig(anneal='trial')")
        if not 0 < out["data_fraction"] <= 1:
            raise ValueError(f"data_fraction must be in (0, 1], got {out['data_fraction']}")
        return out

    # -- data -----------------------------------------------------------------------------
    def load_data(self, data_fraction: float = 1.0, resolution: int | None = None) -> Any:
        """The data set at this setting (loaded once per process, then cached)."""
        key = (float(data_fraction), resolution)
        if key not in self._data_cache:
            self._data_cache[key] = self._load(*key)
        return self._data_cache[key]

    def _load(self, data_fraction: float, resolution: int | None) -> Any:
        from ..training import data as image_data
        from ..training import graphs
        src = self.data
        if self.space.name == "nbgraph":
            if resolution is not None:
                raise ValueError("resolution is an image fidelity; a graph has none")
            if isinstance(src, graphs.GraphData):
                return graphs.subsample(src, data_fraction, seed=self.seed) if data_fraction < 1 else src
            return graphs.load_graph(src, root=self.data_root, seed=self.seed, data_fraction=data_fraction)
        if isinstance(src, image_data.ImageData):
            if data_fraction != 1.0 or resolution is not None:
                raise ValueError("a data_fraction or resolution fidelity needs the data set by name or "
                                 "path (TrainingEvaluator(space, 'fashion-mnist', ...)), not a loaded ImageData")
            return src
        return image_data.load_images(src, root=self.data_root, seed=self.seed,
                                      val_fraction=self.val_fraction, data_fraction=data_fraction,
                                      resolution=resolution)

    # -- the evaluation -------------------------------------------------------------------
    def trial_seed(self, arch: Any) -> int:
        """The seed of ``arch``'s trials (the same at every fidelity)."""
        return _stable_int(self.seed, self.space.name, self.space.to_str(arch))

    def build(self, arch: Any, *, channels: int | None = None, cells: int | None = None,
              data: Any = None):
        """``arch``'s network, initialised from its trial seed (the caller's RNG is untouched);
        ``channels`` / ``cells`` default to the evaluator's own full setting."""
        import torch
        from ..nets import build_network
        data = self.load_data(self.full.data_fraction or 1.0, self.full.resolution) if data is None else data
        channels = self.channels if channels is None else channels
        cells = self.cells if cells is None else cells
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.trial_seed(arch))
            return build_network(self.space, arch, channels=channels, cells=cells,
                                 n_classes=data.n_classes, input_shape=_input_shape(data))

    def evaluate(self, arch: Any, fidelity: Fidelity | None = FULL, report: Reporter | None = None) -> Result:
        """Train ``arch`` at ``fidelity`` and return its curves, metrics and profile.

        ``report(epoch, {"train", "val", "train_loss", "val_loss"})`` is called after every
        epoch; a True return stops the run with a ``pruned`` result that keeps its curves.
        """
        import torch
        from ..training.tasks import make_task
        from ..training.trainer import TrainingFailed, evaluate as eval_split, train
        arch = self.space.validate(self.space.from_str(arch) if isinstance(arch, str) else arch)
        fidelity = as_fidelity(fidelity)
        setting = self.resolve(fidelity)
        device = resolve_device(self.device)
        t0 = time.perf_counter()
        info: dict[str, Any] = {"device": str(device), "seed": self.trial_seed(arch),
                                "epochs_requested": setting["epochs"]}
        curves: dict[str, list[float]] = {}
        try:
            data = self.load_data(setting["data_fraction"], setting["resolution"])
            info["data"] = {"name": getattr(data, "name", str(self.data)), "n_train": _n(data, "train"),
                            "n_val": _n(data, "val"), "n_test": _n(data, "test"),
                            "input_shape": list(_input_shape(data))}
            model = self.build(arch, channels=setting["channels"], cells=setting["cells"], data=data)
            info.update(self._profile(model, data, device))
            ckpt_dir, resume = self._checkpoint_for(arch, setting)
            if resume is not None:
                info["continued_from"] = int(resume["epochs"])
                info["warm_restart"] = self.config.anneal == "trial"
            task = make_task(data, batch_size=self.config.batch_size,
                             eval_batch_size=self.config.eval_batch_size,
                             channels_last=self.config.channels_last and device.type == "cuda")
            run = train(model, task, self.config, epochs=setting["epochs"], seed=info["seed"],
                        device=device, report=report, resume=resume, progress=self.progress)
            curves = run.curves
            info["epochs_trained"] = run.epochs
            info["train_seconds"] = run.seconds
            if run.epochs > info.get("continued_from", 0):
                trained = run.epochs - info.get("continued_from", 0)
                info["train_images_per_second"] = trained * task.n_train / max(run.seconds, 1e-9)
            metrics = {"train_accuracy": curves["train"][-1], "val_accuracy": curves["val"][-1],
                       "train_loss": curves["train_loss"][-1], "val_loss": curves["val_loss"][-1]}
            if not run.pruned:
                metrics["test_loss"], metrics["test_accuracy"] = eval_split(model, task, "test")
            for k in ("params", "flops", "latency_ms"):
                if k in info:
                    metrics[k] = float(info[k])
            if ckpt_dir is not None and run.epochs > info.get("continued_from", 0):
                _save(ckpt_dir / f"e{run.epochs:04d}.pt", run.state)
            state = TrialState.PRUNED if run.pruned else TrialState.COMPLETE
            return Result(metrics, curves, cost=time.perf_counter() - t0, fidelity=fidelity,
                          state=state, info=info)
        except TrainingFailed as err:
            return Result(curves=err.curves, cost=time.perf_counter() - t0, fidelity=fidelity,
                          state=TrialState.FAILED, error=err.reason, info=info)
        except torch.cuda.OutOfMemoryError as err:
            torch.cuda.empty_cache()
            return Result.failed(f"out of memory on {device} ({err}); lower TrainConfig.batch_size, "
                                 f"the channels or cells, or use amp=True", cost=time.perf_counter() - t0,
                                 fidelity=fidelity, info=info)
        except Exception as err:  # any other failure while training: the search goes on
            tb = traceback.format_exc(limit=-4)
            return Result(curves=curves, cost=time.perf_counter() - t0, fidelity=fidelity,
                          state=TrialState.FAILED, error=f"{type(err).__name__}: {err}\n{tb}", info=info)

    # -- pieces -----------------------------------------------------------------------------
    def _profile(self, model, data, device) -> dict[str, Any]:
        if self.profile is False:
            return {}
        from ..nets import profile
        example = data.data if _is_graph(data) else _input_shape(data)
        prof = profile(model, example, device=device,
                       batch_sizes=(1, 64) if self.profile is True else ())
        out = {"params": prof.params, "flops": prof.flops, "macs": prof.macs}
        if self.profile is True and prof.latency_ms:
            out["latency_ms"] = prof.latency_ms.get(1, next(iter(prof.latency_ms.values())))
            out["latency_ms_by_batch"] = {str(k): v for k, v in prof.latency_ms.items()}
        return out

    def _checkpoint_key(self, arch: Any, setting: Mapping[str, Any]) -> str:
        cfg = self.config.to_dict()
        if self.config.anneal == "trial":
            cfg.pop("epochs")  # the horizon is each trial's own; schedule epochs do not matter
        data = self.data if isinstance(self.data, (str, os.PathLike)) else getattr(self.data, "name", "data")
        parts = {"space": self.space.name, "arch": self.space.to_str(arch), "seed": self.seed,
                 "data": str(data), "root": str(self.data_root), "val_fraction": self.val_fraction,
                 "config": cfg, **{k: v for k, v in setting.items() if k != "epochs"}}
        return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]

    def _checkpoint_for(self, arch: Any, setting: Mapping[str, Any]):
        if self.checkpoint_dir is None:
            return None, None
        import torch
        d = self.checkpoint_dir / self._checkpoint_key(arch, setting)
        best = None
        if d.is_dir():
            for f in d.glob("e*.pt"):
                try:
                    e = int(f.stem[1:])
                except ValueError:
                    continue
                if e <= setting["epochs"] and (best is None or e > best[0]):
                    best = (e, f)
        if best is None:
            return d, None
        return d, torch.load(best[1], map_location="cpu", weights_only=False)


def _check_source(data: Any, space: str) -> Any:
    """Fail at construction, not in every trial, on a data set that cannot exist."""
    if not isinstance(data, (str, os.PathLike)):
        return data
    from ..training.data import IMAGE_DATASETS, _ALIASES
    from ..training.graphs import GRAPH_DATASETS
    names = GRAPH_DATASETS if space == "nbgraph" else IMAGE_DATASETS
    key = str(data).lower()
    if key in names or _ALIASES.get(key) in names or Path(data).exists():
        return data
    kind = "graph" if space == "nbgraph" else "image"
    raise ValueError(f"unknown {kind} data set {str(data)!r}: give one of {', '.join(names)} or the path "
                     f"of a local file/folder (a .npz of x/y arrays, an idx or CIFAR folder, a saved PyG graph)")


def _is_graph(data: Any) -> bool:
    return hasattr(getattr(data, "data", None), "edge_index")


def _input_shape(data: Any) -> tuple[int, ...]:
    """(C, H, W) of an image data set; (n_features,) of a graph."""
    return (int(data.n_features),) if _is_graph(data) else tuple(data.input_shape)


def _n(data: Any, split: str) -> int | None:
    try:
        part = getattr(data, split)
        return int(len(part[1]))
    except Exception:
        try:
            return int(getattr(data.data, f"{split}_mask").sum())
        except Exception:
            return None


def _save(path: Path, state: Mapping[str, Any]) -> None:
    """Write atomically: a crash mid-write leaves no half checkpoint behind."""
    import torch
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(dict(state), tmp)
    os.replace(tmp, path)
