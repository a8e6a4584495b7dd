"""Ray: trials as Ray tasks on this machine or on a Ray cluster.

Each trial is one Ray core task (no actors) with its own resources (``num_cpus``,
``num_gpus``).  The evaluator is put into Ray's object store once at :meth:`RayExecutor.start`
and each worker process deserialises it once (it is cached per worker), so a trial sends only
``(arch, fidelity, report)``.  A worker process that dies is retried by Ray up to
``max_retries`` times; a task that still fails becomes a ``failed`` trial naming the Ray
error.  Exceptions raised by the evaluator are failed trials already in the worker.

Needs ``ray`` (``pip install 'naspredict[ray]'``).
"""
from __future__ import annotations

import logging
import math
import re
import sys
import time
from typing import Any, Mapping

from ..trials import Fidelity, Reporter, Result, Trial
from .base import Executor, execute_trial, worker_name

try:
    import ray
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("the 'ray' executor needs Ray, which is not installed; install it with "
                      "pip install 'naspredict[ray]' (or pip install ray), or use the 'local' "
                      "process-pool executor") from err

__all__ = ["RayExecutor"]

# -- worker side (these globals live in Ray worker processes) ------------------------------------
_EVALUATORS: dict[str, Any] = {}     # object-ref hex -> deserialised evaluator
_TORCH_THREADS_SET = False


def _set_torch_threads(n: int) -> None:
    """Once per worker process: torch's intra-op threads = the trial's CPUs (if torch is in)."""
    global _TORCH_THREADS_SET
    if _TORCH_THREADS_SET:
        return
    torch = sys.modules.get("torch")
    if torch is None:
        return  # not imported (yet); OMP_NUM_THREADS, which Ray sets per task, is its default
    torch.set_num_threads(max(1, n))
    _TORCH_THREADS_SET = True


_MAX_CACHED = 4   # evaluators kept per worker (several executors may share a cluster)


def _evaluator_of(boxed_ref: list):
    """The evaluator behind ``boxed_ref`` (``[ObjectRef]``, boxed so that Ray does not resolve
    it for every task): fetched once per worker process, then cached."""
    ref = boxed_ref[0]
    key = ref.hex()
    evaluator = _EVALUATORS.get(key)
    if evaluator is None:
        while len(_EVALUATORS) >= _MAX_CACHED:
            _EVALUATORS.pop(next(iter(_EVALUATORS)))
        evaluator = _EVALUATORS[key] = ray.get(ref)
    return evaluator


def _run_on_worker(boxed_ref: list, arch: Any, fidelity: Fidelity, report: Reporter | None,
                   n_threads: int) -> Result:
    """Ray task body: one trial with the cached evaluator."""
    evaluator = _evaluator_of(boxed_ref)
    _set_torch_threads(n_threads)
    result = execute_trial(evaluator, arch, fidelity, report)
    _set_torch_threads(n_threads)
    return result


def _warm_worker(boxed_ref: list, n_threads: int, hold_s: float) -> str:
    """Warm-up task: load the evaluator into this worker, then hold it a moment so the other
    warm-up tasks land on other workers."""
    _evaluator_of(boxed_ref)
    _set_torch_threads(n_threads)
    time.sleep(hold_s)
    return worker_name()


_remote_run = ray.remote(_run_on_worker)
_remote_warm = ray.remote(_warm_worker)


# -- driver side --------------------------------------------------------------------------------
class RayExecutor(Executor):
    """Run each trial as a Ray task.

    Parameters
    ----------
    n_workers : how many trials run at once.  Default: what the cluster holds,
        ``min(cluster[r] // resources_per_trial[r])`` over the requested resources.  When
        this executor starts Ray itself on this machine, ``n_workers * CPUs per trial`` CPUs
        are given to it.
    address : a running Ray cluster (``"auto"``, ``"ray://host:10001"``, ...).  ``None``
        uses Ray if this process already initialised it, else starts a local Ray.
    resources_per_trial : Ray resources of one trial: ``{"CPU": 1}`` (the default),
        ``{"CPU": 4, "GPU": 1}``, or custom resource names.
    max_retries : how often Ray reruns a task whose worker process died.
    init_kwargs : extra ``ray.init`` arguments (override this executor's defaults).
    warm_start : at :meth:`start`, start ``n_workers`` worker processes and load the evaluator
        into each (waiting up to ``start_timeout`` seconds), so the first trials do not pay
        for worker start-up; a worker that cannot load the evaluator is then an error at start.
    start_timeout : seconds the warm-up waits at most.
    force_cancel : :meth:`cancel` kills the worker of a running trial (so its CPUs/GPUs are
        free at once); ``False`` only interrupts it (see :meth:`cancel`).

    Ray is shut down by :meth:`shutdown` only if this executor started it.  Starting again
    with the same evaluator object reuses it; another evaluator is put in its place.

    The evaluator must be serialisable by Ray (cloudpickle) and everything it needs importable
    on the workers.
    """

    def __init__(self, n_workers: int | None = None, *, address: str | None = None,
                 resources_per_trial: Mapping[str, float] | None = None, max_retries: int = 1,
                 init_kwargs: Mapping[str, Any] | None = None, warm_start: bool = True,
                 start_timeout: float = 60.0, force_cancel: bool = True):
        super().__init__()
        if n_workers is not None and (isinstance(n_workers, bool) or not isinstance(n_workers, int)
                                      or n_workers < 1):
            raise ValueError(f"n_workers must be a positive integer or None (use the cluster's "
                             f"capacity), got {n_workers!r}")
        res = dict({"CPU": 1} if resources_per_trial is None else resources_per_trial)
        for k, v in res.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"resources_per_trial[{k!r}] must be a number >= 0, got {v!r}")
        if not any(v > 0 for v in res.values()):
            raise ValueError(f"resources_per_trial must ask for some resource, e.g. {{'CPU': 1}}; got {res}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < -1:
            raise ValueError(f"max_retries must be an integer >= 0 (or -1: retry forever), got {max_retries!r}")
        self._requested_workers = n_workers
        self.n_workers = n_workers or 0     # known at start() when taken from the cluster
        self.address = address
        self.resources_per_trial = res
        self.max_retries = max_retries
        self.init_kwargs = dict(init_kwargs or {})
        self.warm_start = bool(warm_start)
        self.force_cancel = bool(force_cancel)
        self.start_timeout = float(start_timeout)
        self._owns_ray = False
        self._evaluator_ref = None
        self._bound: Any = None
        self._refs: dict[Any, int] = {}      # ObjectRef -> trial id
        self._options: dict[str, Any] = {}

    # -- life cycle ---------------------------------------------------------------------------
    def _start(self, evaluator) -> None:
        if self._evaluator_ref is not None and ray.is_initialized():
            if evaluator is self._bound:
                return  # started again with the same evaluator (e.g. a second run)
            if self._running:
                self.evaluator = self._bound
                raise RuntimeError("cannot bind a new evaluator while trials are running; poll them "
                                   "to the end or shut the executor down first")
            self._evaluator_ref = ray.put(evaluator)
            self._bound = evaluator
            if self.warm_start:
                self._warm_up()
            return
        res = self.resources_per_trial
        cpus = float(res.get("CPU", 0))
        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING,
                                  "configure_logging": True}
            if self.address is not None:
                kw["address"] = self.address
            elif self._requested_workers is not None and cpus > 0:
                kw["num_cpus"] = int(math.ceil(self._requested_workers * cpus))
            kw.update(self.init_kwargs)
            ray.init(**kw)
            self._owns_ray = True
        if self._requested_workers is None:
            self.n_workers = self._cluster_capacity()
        try:
            self._evaluator_ref = ray.put(evaluator)
        except Exception as err:
            self._fail_start()
            raise TypeError(f"Ray cannot serialise the evaluator {type(evaluator).__name__} "
                            f"({type(err).__name__}: {err}); make it picklable or use the 'serial' "
                            f"executor") from err
        self._bound = evaluator
        options: dict[str, Any] = {"max_retries": self.max_retries, "num_cpus": cpus,
                                   "num_gpus": float(res.get("GPU", 0))}
        custom = {k: float(v) for k, v in res.items() if k not in ("CPU", "GPU")}
        if custom:
            options["resources"] = custom
        self._options = options
        if self.warm_start:
            self._warm_up()

    def _fail_start(self) -> None:
        self._evaluator_ref = None
        self._bound = None
        self.evaluator = None
        self._stop_ray()

    def _warm_up(self) -> None:
        """Start ``n_workers`` worker processes and load the evaluator into each, so the first
        trials do not pay for it.  Waits at most ``start_timeout`` seconds (on a busy cluster
        the warm-up tasks simply run later)."""
        n_threads = max(1, int(self._options["num_cpus"]))
        refs = [_remote_warm.options(**self._options).remote([self._evaluator_ref], n_threads, 0.3)
                for _ in range(self.n_workers)]
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=self.start_timeout)
        for ref in ready:
            try:
                ray.get(ref)
            except ray.exceptions.RayError as err:
                self._fail_start()
                raise RuntimeError(f"a Ray worker could not load the evaluator: {_describe(err)}\n"
                                   f"Everything the evaluator needs must be importable on the workers "
                                   f"(install the packages there, or pass a runtime_env in init_kwargs)") from err

    def _cluster_capacity(self) -> int:
        total = ray.cluster_resources()
        fits = []
        for name, need in self.resources_per_trial.items():
            if need <= 0:
                continue
            have = float(total.get(name, 0.0))
            if have < need:
                raise RuntimeError(f"the Ray cluster has {have:g} {name}, less than one trial needs "
                                   f"({need:g}); lower resources_per_trial or add {name} to the cluster")
            fits.append(int(math.floor(have / need + 1e-9)))
        return max(1, min(fits))

    def _stop_ray(self) -> None:
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
        self._owns_ray = False

    def shutdown(self, wait: bool = True) -> None:
        """Release the trials' tasks; with ``wait=True`` running trials end first (their results
        are dropped), with ``wait=False`` they are cancelled (their workers killed).  Ray itself
        is shut down only if this executor started it."""
        refs = list(self._refs)
        self._refs.clear()
        if refs and ray.is_initialized():
            if wait:
                ray.wait(refs, num_returns=len(refs), timeout=None)
            else:
                for ref in refs:
                    try:
                        ray.cancel(ref, force=True)
                    except Exception:
                        pass
        self._evaluator_ref = None
        self._bound = None
        self.evaluator = None
        self._stop_ray()
        super().shutdown(wait)

    # -- trials --------------------------------------------------------------------------------
    def submit(self, trial: Trial, report: Reporter | None = None) -> None:
        """Launch ``trial`` as a Ray task with :attr:`resources_per_trial`."""
        self._register(trial)
        n_threads = max(1, int(self._options["num_cpus"]))
        try:
            ref = _remote_run.options(**self._options).remote(
                [self._evaluator_ref], trial.arch, trial.fidelity, report, n_threads)
        except Exception:
            self._running.pop(trial.id, None)
            raise
        self._refs[ref] = trial.id

    def poll(self, timeout: float | None = None) -> list[Trial]:
        """Finished trials (any order): waits up to ``timeout`` seconds for one, then returns
        every trial that is ready."""
        if not self._refs:
            return []
        refs = list(self._refs)
        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if not ready:
            return []
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        done = []
        for ref in ready:
            tid = self._refs.pop(ref)
            trial = self._running.pop(tid, None)
            if trial is None:
                continue  # cancelled
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as err:
                result = Result.failed(
                    f"Ray could not run this trial ({type(err).__name__}"
                    f"{' after ' + str(self.max_retries) + ' retries' if self.max_retries else ''}): "
                    f"{_describe(err)}", fidelity=trial.fidelity, info={"ray_error": type(err).__name__})
            done.append(trial.finish(result))
        return done

    def cancel(self, trial_id: int) -> None:
        """Forget ``trial_id`` and cancel its Ray task: a queued one never runs; a running one
        is stopped by killing its worker process (``force_cancel=True``, the default; Ray
        starts a fresh worker) or interrupted with ``KeyboardInterrupt``, which Python sees
        only between bytecodes, not inside a long native call (``force_cancel=False``)."""
        super().cancel(trial_id)
        for ref, tid in list(self._refs.items()):
            if tid == trial_id:
                del self._refs[ref]
                try:
                    ray.cancel(ref, force=self.force_cancel)
                except Exception:
                    pass


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _describe(err: BaseException, n: int = 8) -> str:
    """The root of a Ray error in a few lines: the innermost cause Ray wraps (the exception
    raised in the worker), else the last lines of Ray's message."""
    seen = set()
    while getattr(err, "cause", None) is not None and id(err) not in seen:
        seen.add(id(err))
        err = err.cause
    text = _ANSI.sub("", str(err)).strip()
    lines = text.splitlines()
    if len(lines) > n:
        text = "...\n" + "\n".join(lines[-n:])
    return f"{type(err).__name__}: {text}"
