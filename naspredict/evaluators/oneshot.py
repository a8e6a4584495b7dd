"""One-shot evaluation: score any architecture with a trained supernet's shared weights.

:class:`OneShotEvaluator` answers ``evaluate(arch, fidelity=FULL, report=None) -> Result`` in
seconds instead of a training run: the arch's path through a weight-sharing
:class:`~naspredict.oneshot.supernet.Supernet` is scored on the validation (and test) split
after its batch-norm statistics are recomputed on a few training batches
(:func:`naspredict.oneshot.spos.score`; Guo et al., ECCV 2020).  The supernet is

* trained here (:func:`~naspredict.oneshot.spos.train_supernet`), lazily on the first
  evaluation, once per process, with uniform single-path sampling (``sampler="uniform"``;
  Bender et al., ICML 2018; Guo et al., 2020) or FairNAS's strictly fair sampling
  (``sampler="fair"``; Chu et al., ICCV 2021: each step the paths that use every op of every
  edge once, gradients summed, one update);
* or loaded from a file written by :meth:`OneShotEvaluator.save` /
  :func:`~naspredict.oneshot.spos.save_supernet`;
* or taken as it is (a ``Supernet`` module, or any object with a ``supernet`` attribute such
  as a DARTS search result).

Because it is an evaluator, search strategies, the run loop and predictors use it like any
other, typically as the cheap low-fidelity source of a multi-fidelity setup.  One-shot scores
rank architectures only roughly like stand-alone training does (``benchmarks/oneshot_ranking.py``
measures the Kendall tau); they are not accuracies a trained network would reach.  Rank by
``val_loss`` (minimised) rather than ``val_accuracy``: on the 100-cell Fashion-MNIST set the
one-shot loss of a fair supernet ranks markedly better than its accuracy, which ties on a
few thousand images and favours parameter-free ops.

``Result.cost`` is the seconds spent on the arch itself (BN recalibration and evaluation); the
one-off supernet training is reported in ``info["supernet"]["train_seconds"]`` and not charged
to any arch.  The evaluator pickles without its data set: a trained supernet travels as its spec
plus a CPU state dict (or the file path it was loaded from), so process-pool workers do not
retrain it.  Call :meth:`OneShotEvaluator.prepare` before handing it to an executor, or every
worker trains its own copy (the same one: training is seeded).
"""
from __future__ import annotations

import copy
import os
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from ..trials import FULL, Fidelity, Reporter, Result, TrialState
from .tabular import as_fidelity
from .training import _check_source, _input_shape, _stable_int, resolve_device

__all__ = ["OneShotEvaluator"]


class OneShotEvaluator:
    """Score archs with a weight-sharing supernet (BN recalibrated per arch).

    Parameters
    ----------
    space : the search space (instance or name); one the supernet supports (``"nb201"``,
        ``"darts"``).
    data : an image data set name (``"fashion-mnist"``, ``"digits"``, ``"cifar10"``...), a path,
        or a loaded :class:`~naspredict.training.ImageData`.
    supernet : ``None`` (train one here on first use), the path of a saved supernet, a
        ``Supernet`` module, or an object with a ``supernet`` attribute (a DARTS
        ``SearchResult``).  A given module is used as it is (not copied, not trained).
    epochs : epochs of supernet training when the evaluator trains its own (default 10).
    channels, cells : the supernet's width and depth when it trains its own (``None``: the
        space's default).
    data_fraction, resolution : the data setting (share of the training split, image side).
    seed : seeds the supernet's initialisation, its training, the BN recalibration batches
        and (unless ``data_seed`` is given) the data splits.  The same seed gives the same scores.
    data_seed : seeds the data splits and subsample (``None``: ``seed``); fix it to compare
        supernets of several seeds on the same data.
    device : ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    sampler : how the supernet trains here: ``"fair"`` (default; FairNAS, ``m`` = 5 paths per
        step on nb201, so 5x the compute of an epoch) or ``"uniform"`` (SPOS), see
        :func:`naspredict.oneshot.spos.make_sampler`.  ``"fair"`` is the default because it
        ranked best in ``benchmarks/results/oneshot_ranking.md`` (by ``val_loss``).
    bn_batches : training batches that recompute BN statistics per arch (0: no
        recalibration, the running statistics of training are used).
    bn_mode : ``"recalibrate"`` (per-arch running statistics from ``bn_batches``) or
        ``"batch"`` (each evaluation batch normalised by its own statistics), see
        :func:`naspredict.oneshot.spos.score`.
    batch_size : supernet training and recalibration batch size.
    config : the supernet's :class:`~naspredict.training.TrainConfig` (default: NAS-Bench-201's
        SGD + cosine, lr 0.1); ``epochs`` and ``batch_size`` override its fields.  On the
        benchmark's one setting a FairNAS supernet ranked better at lr 0.05 and best at 0.025,
        worse again at 0.01 (``oneshot_ranking.md``, one seed each); the default is left at
        NB201's protocol, pass ``TrainConfig(lr=0.025)`` to use the best measured one.
    val_fraction : share of the training file held out for validation.
    data_root : the folder holding the data set's files when ``data`` is a name.
    test : also score the test split (``test_accuracy``, ``test_loss``).
    params : report the stand-alone network's parameter count at the supernet's width/depth.
    progress : print a line per supernet epoch.

    Raises
    ------
    ValueError : an unknown data set, a CUDA device without CUDA, a negative ``bn_batches``.
    """

    def __init__(self, space: Any, data: Any = "fashion-mnist", *, supernet: Any = None, epochs: int = 10,
                 channels: int | None = None, cells: int | None = None, data_fraction: float = 1.0,
                 resolution: int | None = None, seed: int = 0, data_seed: int | None = None,
                 device: str | None = "auto", sampler: str = "fair",
                 bn_batches: int = 4, bn_mode: str = "recalibrate", batch_size: int = 256,
                 config: Any = None, val_fraction: float = 0.1,
                 data_root: str | os.PathLike | None = None, test: bool = True, params: bool = True,
                 progress: bool | Callable[[int, dict], None] = False):
        from ..oneshot.spos import BN_MODES, SAMPLERS
        from ..spaces import resolve_space
        from ..training.trainer import TrainConfig
        self.space = resolve_space(space)
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
        if bn_mode not in BN_MODES:
            raise ValueError(f"bn_mode must be one of {BN_MODES}, got {bn_mode!r}")
        self.sampler, self.bn_mode = sampler, bn_mode
        self.data = _check_source(data, self.space.name)
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        if isinstance(bn_batches, bool) or not isinstance(bn_batches, int) or bn_batches < 0:
            raise ValueError(f"bn_batches must be an integer >= 0, got {bn_batches!r}")
        if not 0 < float(data_fraction) <= 1:
            raise ValueError(f"data_fraction must be in (0, 1], got {data_fraction}")
        config = TrainConfig() if config is None else config
        if not isinstance(config, TrainConfig):
            raise TypeError(f"config must be a naspredict.training.TrainConfig, got {type(config).__name__}")
        self.config = config.replace(epochs=int(epochs), batch_size=int(batch_size))
        self.epochs, self.channels, self.cells = int(epochs), channels, cells
        self.data_fraction, self.resolution = float(data_fraction), resolution
        self.seed = int(seed)
        self.data_seed = self.seed if data_seed is None else int(data_seed)
        self.device = device
        resolve_device(device)
        self.bn_batches = int(bn_batches)
        self.val_fraction = float(val_fraction)
        self.data_root = data_root
        self.test, self.params = bool(test), bool(params)
        self.progress = progress
        # the supernet: where it comes from, and (once ready) the module and what describes it
        self._source: str = "trained"
        self._path: Path | None = None
        self._given: Any = None
        if supernet is None:
            pass
        elif isinstance(supernet, (str, os.PathLike)):
            self._source, self._path = "file", Path(supernet)
            if not self._path.is_file():
                raise ValueError(f"no saved supernet at {self._path}; pass supernet=None to train one "
                                 f"(and OneShotEvaluator.save(path) to keep it)")
        else:
            module = getattr(supernet, "supernet", supernet)
            if not callable(getattr(module, "forward", None)) or not hasattr(module, "space"):
                raise TypeError(f"supernet must be None, a path, a Supernet or an object with a .supernet "
                                f"(a DARTS SearchResult), got {type(supernet).__name__}")
            if getattr(module.space, "name", None) != self.space.name:
                raise ValueError(f"the supernet is over {module.space.name}, the evaluator's space is "
                                 f"{self.space.name}")
            self._source, self._given = "given", module
        self._net: Any = None
        self._spec: Any = None
        self._history: Any = None
        self._train_seconds = 0.0
        self._error: str | None = None
        self._blob: dict | None = None
        self._data: Any = None
        self._task: Any = None
        self._bn: list | None = None

    # -- pickling: weights travel, the data set and the device tensors do not -------------------
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.update(_data=None, _task=None, _bn=None, progress=None)
        net = self._net if self._net is not None else self._given
        if net is not None and self._source != "file":
            if self._spec is not None:
                state["_blob"] = {"spec": self._spec,
                                  "state_dict": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}}
            else:  # a given module whose constructor settings we do not know: the module itself
                state["_blob"] = {"module": copy.deepcopy(net).cpu()}
        state["_net"] = None
        state["_given"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        state.setdefault("sampler", "uniform")  # pickled before these options existed
        state.setdefault("bn_mode", "recalibrate")
        self.__dict__.update(state)

    def __repr__(self) -> str:
        name = self.data if isinstance(self.data, (str, os.PathLike)) else type(self.data).__name__
        src = str(self._path) if self._source == "file" else self._source
        return (f"OneShotEvaluator({self.space.name}, data={str(name)!r}, supernet={src}, epochs={self.epochs}, "
                f"channels={self.channels}, cells={self.cells}, sampler={self.sampler!r}, bn_batches={self.bn_batches}, "
                f"bn_mode={self.bn_mode!r}, seed={self.seed})")

    # -- data ---------------------------------------------------------------------------------
    def load_data(self):
        """The data set (loaded once per process)."""
        if self._data is None:
            from ..training import data as image_data
            src = self.data
            if isinstance(src, image_data.ImageData):
                if self.data_fraction != 1.0 or self.resolution is not None:
                    raise ValueError("a data_fraction or resolution needs the data set by name or path "
                                     "(OneShotEvaluator(space, 'fashion-mnist', ...)), not a loaded ImageData")
                self._data = src
            else:
                self._data = image_data.load_images(src, root=self.data_root, seed=self.data_seed,
                                                    val_fraction=self.val_fraction,
                                                    data_fraction=self.data_fraction, resolution=self.resolution)
        return self._data

    def _task_on(self, device):
        if self._task is None:
            from ..training.tasks import make_task
            self._task = make_task(self.load_data(), batch_size=self.config.batch_size,
                                   eval_batch_size=self.config.eval_batch_size)
        return self._task.to(device)

    # -- the supernet ---------------------------------------------------------------------------
    def prepare(self):
        """Make the supernet ready now (train, load or take it) and return it; evaluation
        calls this lazily.  Raises what training raises
        (:class:`~naspredict.training.TrainingFailed` on a diverging loss)."""
        if self._net is not None:
            return self._net
        if self._error is not None:
            raise RuntimeError(self._error)
        from ..oneshot import spos
        device = resolve_device(self.device)
        if self._blob is not None:  # unpickled in a worker
            if "module" in self._blob:
                net = self._blob["module"]
            else:
                net = spos.build_supernet(self._spec)
                net.load_state_dict(self._blob["state_dict"])
            self._blob = None
        elif self._source == "file":
            net, self._spec, extra = spos.load_supernet(self._path, device)
            self._history = extra["history"]
            self._train_seconds = self._history.total_seconds if self._history else 0.0
        elif self._source == "given":
            net = self._given
        else:
            data = self.load_data()
            self._spec = spos.SupernetSpec(self.space.name, channels=self.channels, cells=self.cells,
                                           n_classes=int(data.n_classes), input_shape=tuple(_input_shape(data)),
                                           seed=_stable_int(self.seed, "supernet-init"))
            net = spos.build_supernet(self._spec)
            t0 = time.perf_counter()
            try:
                self._history = spos.train_supernet(net, self._task_on(device), epochs=self.epochs,
                                                    batch_size=self.config.batch_size, seed=self.seed,
                                                    sampler=self.sampler, device=device, config=self.config, progress=self.progress)
            except Exception as err:
                self._error = f"supernet training failed: {type(err).__name__}: {err}"
                raise
            self._train_seconds = time.perf_counter() - t0
        self._check_fits(net)
        self._net = net.to(device)
        return self._net

    def _check_fits(self, net) -> None:
        if self._spec is None:
            return
        data = self.load_data()
        if tuple(self._spec.input_shape) != tuple(_input_shape(data)) or self._spec.n_classes != data.n_classes:
            raise ValueError(f"the supernet takes inputs {tuple(self._spec.input_shape)} with "
                             f"{self._spec.n_classes} classes, the data set has {tuple(_input_shape(data))} and "
                             f"{data.n_classes}; use the data setting it was trained on (resolution, data set)")

    @property
    def supernet(self):
        """The supernet module (trained or loaded on first access)."""
        return self.prepare()

    def save(self, path: str | os.PathLike) -> Path:
        """Write the (trained) supernet to ``path`` with its spec and history; a later
        ``OneShotEvaluator(space, data, supernet=path)`` scores with it without training.

        Raises
        ------
        ValueError : for a given module whose constructor settings are unknown.
        """
        from ..oneshot import spos
        net = self.prepare()
        if self._spec is None:
            raise ValueError("this supernet was passed in as a module; save it with "
                             "naspredict.oneshot.spos.save_supernet(path, supernet, SupernetSpec(...))")
        return spos.save_supernet(path, net, self._spec, self._history, seed=self.seed,
                                  train_seconds=self._train_seconds, sampler=self.sampler)

    def supernet_info(self) -> dict[str, Any]:
        """Where the supernet came from, its spec and training time (``info["supernet"]``)."""
        out: dict[str, Any] = {"source": str(self._path) if self._source == "file" else self._source,
                               "train_seconds": float(self._train_seconds)}
        if self._spec is not None:
            out["spec"] = self._spec.to_dict()
        if self._history is not None:
            out["epochs"] = self._history.epochs
            out["final_train_loss"] = self._history.train_loss[-1] if self._history.train_loss else None
        return out

    # -- the evaluation -------------------------------------------------------------------------
    def _bn_batches(self, task) -> list:
        if self._bn is None:
            from ..oneshot.spos import bn_batches_of
            self._bn = bn_batches_of(task, self.bn_batches, seed=self.seed) if self.bn_batches else []
        return self._bn

    def evaluate(self, arch: Any, fidelity: Fidelity | None = FULL, report: Reporter | None = None) -> Result:
        """One-shot score of ``arch``: ``val_accuracy``, ``val_loss`` (and ``test_accuracy``,
        ``test_loss``; accuracies in %), ``params`` of its stand-alone network.

        ``fidelity`` must be the full one: a one-shot score has no epochs or width of its own
        to vary.  ``report`` is accepted for the evaluator contract and never called (there
        are no epochs to report).  A failure of supernet training or scoring gives a
        ``failed`` result naming it; an arch outside the space raises ``ValueError``.
        """
        import torch
        from ..oneshot.spos import score
        arch = self.space.validate(self.space.from_str(arch) if isinstance(arch, str) else arch)
        fidelity = as_fidelity(fidelity)
        if not fidelity.is_full:
            raise ValueError(f"the one-shot evaluator has one fidelity (the supernet's); got {fidelity.key()}. "
                             f"Use a second OneShotEvaluator (other epochs/channels) or a multi-fidelity "
                             f"evaluator that maps fidelities to evaluators")
        device = resolve_device(self.device)
        info: dict[str, Any] = {"oneshot": True, "device": str(device), "bn_batches": self.bn_batches,
                                "bn_mode": self.bn_mode}
        try:
            net = self.prepare()
        except Exception as err:
            info["supernet"] = self.supernet_info()
            return Result.failed(self._error or f"{type(err).__name__}: {err}", fidelity=fidelity, info=info)
        info["supernet"] = self.supernet_info()
        t0 = time.perf_counter()
        try:
            task = self._task_on(device)
            bn = self._bn_batches(task) if self.bn_mode == "recalibrate" else []
            val_acc, val_loss = score(net, arch, task, "val", bn if bn else 0, seed=self.seed, bn_mode=self.bn_mode)
            metrics = {"val_accuracy": val_acc, "val_loss": val_loss}
            if self.test:  # BN as just set for the val split (0: no second recalibration)
                metrics["test_accuracy"], metrics["test_loss"] = score(net, arch, task, "test", 0,
                                                                       bn_mode=self.bn_mode)
            if self.params:
                metrics["params"] = float(self._params(arch))
            info["n_val"] = int(len(task.data.val[1]))
            return Result(metrics, cost=time.perf_counter() - t0, fidelity=fidelity,
                          state=TrialState.COMPLETE, info=info)
        except torch.cuda.OutOfMemoryError as err:
            torch.cuda.empty_cache()
            return Result.failed(f"out of memory on {device} ({err}); lower batch_size or the channels",
                                 cost=time.perf_counter() - t0, fidelity=fidelity, info=info)
        except Exception as err:
            tb = traceback.format_exc(limit=-4)
            return Result.failed(f"{type(err).__name__}: {err}\n{tb}", cost=time.perf_counter() - t0,
                                 fidelity=fidelity, info=info)

    def _params(self, arch: Any) -> int:
        """Trainable parameters of ``arch``'s stand-alone network at the supernet's width and depth."""
        import torch
        from ..nets import build_network
        spec, net = self._spec, self._net
        if spec is not None:
            channels, cells = spec.channels, spec.cells
        else:  # a given supernet: its own width and depth
            channels, cells = getattr(net, "channels", self.channels), getattr(net, "n_cells", self.cells)
        data = self.load_data()
        with torch.random.fork_rng(devices=[]):
            net = build_network(self.space, arch, channels=channels, cells=cells, n_classes=int(data.n_classes),
                                input_shape=tuple(_input_shape(data)))
        return sum(p.numel() for p in net.parameters())
