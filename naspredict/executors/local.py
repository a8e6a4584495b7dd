"""A local process pool: trials run in ``n_workers`` worker processes on this machine.

The evaluator is pickled once in the driver and handed to each worker process when it starts
(the pool's initializer), so a submit sends only ``(arch, fidelity, report)``.  Workers are
started with the ``spawn`` method by default, so they never inherit the driver's threads,
CUDA state or random generators.

A worker process that dies in the middle of a trial (``os._exit``, a segfault, the OOM
killer) breaks a ``concurrent.futures`` pool for every trial in it.  This executor then finds
the trial whose worker died (each worker notes the trial it is running in a small marker
file), fails that trial with an error saying so, rebuilds the pool and resubmits the trials
that were only collateral damage, so the run goes on.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import multiprocessing.connection
import os
import pickle
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..trials import Fidelity, Reporter, Result, Trial
from .base import Executor, execute_trial

__all__ = ["ProcessPoolExecutor"]

#: how many times a trial that was running beside a dying worker is resubmitted before it
#: is failed as well.
MAX_COLLATERAL_RESUBMITS = 2

_THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_INIT_ERROR = "init-error.txt"

# -- worker side --------------------------------------------------------------------------------
# These globals live in the worker processes only (set by _init_worker).
_EVALUATOR: Any = None
_TORCH_THREADS: int | None = None
_TORCH_THREADS_SET = False
_MARKER_DIR: str | None = None


def _apply_torch_threads() -> None:
    """Set torch's intra-op threads in this worker once torch has been imported.

    torch is not imported here just for this: a worker whose evaluator never uses torch does
    not pay its import.  If the evaluator imports torch later, the next trial sets it (and
    the ``OMP_NUM_THREADS`` set in :func:`_init_worker` already gives torch that default).
    """
    global _TORCH_THREADS_SET
    if _TORCH_THREADS_SET or _TORCH_THREADS is None:
        return
    torch = sys.modules.get("torch")
    if torch is None:
        return
    torch.set_num_threads(_TORCH_THREADS)
    _TORCH_THREADS_SET = True


def _init_worker(payload: bytes, torch_threads: int | None, marker_dir: str) -> None:
    """Pool initializer: runs once in each worker process, before any trial."""
    global _EVALUATOR, _TORCH_THREADS, _MARKER_DIR
    _TORCH_THREADS = torch_threads
    _MARKER_DIR = marker_dir
    if torch_threads is not None:
        # This is the worker's own environment (a spawned process we own), set before the
        # evaluator is unpickled so that numpy/torch imported by it start with these threads.
        for var in _THREAD_ENV_VARS:
            os.environ[var] = str(torch_threads)
    _exit_with_parent()
    try:
        _EVALUATOR = pickle.loads(payload)
        _apply_torch_threads()
    except BaseException:
        # tell the driver why (the pool itself only reports a broken worker)
        with open(os.path.join(marker_dir, _INIT_ERROR), "a") as fh:
            fh.write(traceback.format_exc())
        raise


def _exit_with_parent() -> None:
    """End this worker as soon as the driver dies (e.g. ``kill -9``): a pool worker left
    behind would otherwise wait for work forever."""
    parent = mp.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch(sentinel=parent.sentinel):
        mp.connection.wait([sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="naspredict-parent-watch", daemon=True).start()


def _wait_for_all(n: int, deadline: float) -> int:
    """Warm-up task: check in, then hold this worker until ``n`` workers have checked in, so
    ``n`` such tasks need ``n`` distinct, started workers."""
    open(os.path.join(_MARKER_DIR, f"ready-{os.getpid()}"), "w").close()
    while time.time() < deadline:
        if sum(name.startswith("ready-") for name in os.listdir(_MARKER_DIR)) >= n:
            break
        time.sleep(0.005)
    return os.getpid()


def _note_start(token: str) -> None:
    """Write which trial this worker runs now (read by the driver only if a worker dies)."""
    if _MARKER_DIR is None:
        return
    path = os.path.join(_MARKER_DIR, str(os.getpid()))
    tmp = path + ".tmp"
    try:
        with open(tmp, "w") as fh:
            fh.write(token)
        os.replace(tmp, path)
    except OSError:
        pass  # the marker only helps to blame the right trial if this worker dies


def _run_trial(token: str, arch: Any, fidelity: Fidelity, report: Reporter | None) -> Result:
    """Task body: evaluate one trial with the worker's evaluator."""
    _note_start(token)
    _apply_torch_threads()
    result = execute_trial(_EVALUATOR, arch, fidelity, report)
    _apply_torch_threads()
    return result


# -- driver side --------------------------------------------------------------------------------
class ProcessPoolExecutor(Executor):
    """Run trials in ``n_workers`` local worker processes.

    Parameters
    ----------
    n_workers : how many trials run at once (one process each).
    mp_context : multiprocessing start method (``"spawn"``, the default and the safe choice
        with torch; ``"forkserver"``; ``"fork"``) or a context object.
    torch_threads : intra-op threads each worker gives torch (and ``OMP_NUM_THREADS`` /
        ``MKL_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` in the worker), so ``n_workers``
        workers do not oversubscribe the cores; ``None`` leaves the libraries' defaults.
        Only the worker processes are changed, never the caller's.
    start_timeout : seconds :meth:`start` waits for every worker to be up with the evaluator.

    The evaluator must be picklable (module-level classes and functions); it is pickled once
    at :meth:`start` and unpickled once in each worker process.  :meth:`start` returns once
    every worker is up (a few seconds: each imports what the evaluator needs); starting again
    with the same evaluator object keeps the workers, another evaluator replaces them.  :meth:`cancel` forgets a
    trial at once, but a trial already running keeps its worker busy until it ends (a
    process pool cannot stop one task without killing its worker), so :attr:`free_slots`
    counts it until then.
    """

    def __init__(self, n_workers: int = 2, *, mp_context: Any = "spawn", torch_threads: int | None = 1,
                 start_timeout: float = 120.0):
        super().__init__()
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}")
        if torch_threads is not None and (isinstance(torch_threads, bool) or not isinstance(torch_threads, int)
                                          or torch_threads < 1):
            raise ValueError(f"torch_threads must be a positive integer or None (leave the "
                             f"defaults), got {torch_threads!r}")
        if isinstance(mp_context, str):
            methods = mp.get_all_start_methods()
            if mp_context not in methods:
                raise ValueError(f"mp_context {mp_context!r} is not available here; use one of {methods}")
            mp_context = mp.get_context(mp_context)
        self.n_workers = n_workers
        self.mp_context = mp_context
        self.torch_threads = torch_threads
        self.start_timeout = float(start_timeout)
        self._payload: bytes | None = None
        self._bound: Any = None                                 # the evaluator the workers hold
        self._pool: cf.ProcessPoolExecutor | None = None
        self._marker_dir: str | None = None
        self._futures: dict[cf.Future, tuple[int, str]] = {}   # future -> (trial id, token)
        self._reports: dict[int, Reporter | None] = {}
        self._zombies: set[cf.Future] = set()                   # cancelled but still running
        self._resubmits: dict[int, int] = {}
        self._ready: list[Trial] = []                           # failed by a dead worker, not yet polled
        self._seq = 0
        self.pool_rebuilds = 0

    # -- life cycle ---------------------------------------------------------------------------
    def _start(self, evaluator) -> None:
        if self._pool is not None:
            if evaluator is self._bound:
                return  # started again with the same evaluator (e.g. a second run): keep the workers
            if self._running or self.free_slots < self.n_workers:
                self.evaluator = self._bound
                raise RuntimeError("cannot bind a new evaluator while trials are running; poll them "
                                   "to the end or shut the executor down first")
            self._close(wait=True)
        try:
            self._payload = pickle.dumps(evaluator, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:
            raise TypeError(f"the evaluator {type(evaluator).__name__} cannot be pickled, so it cannot be "
                            f"sent to worker processes ({type(err).__name__}: {err}); define its class "
                            f"and the functions it holds at module level (no lambdas or local classes), "
                            f"or use the 'serial' executor") from err
        self._marker_dir = tempfile.mkdtemp(prefix="naspredict-pool-")
        self._pool = self._new_pool()
        try:
            self._warm_up()
        except BaseException:
            self.shutdown(wait=False)
            raise
        self._bound = evaluator

    def _warm_up(self) -> None:
        """Start every worker now and wait until each holds the evaluator (so the first
        trials run side by side, and a worker that cannot load the evaluator is an error at
        start, not a failed trial later)."""
        timeout = self.start_timeout
        deadline = time.time() + timeout
        pings = [self._pool.submit(_wait_for_all, self.n_workers, deadline) for _ in range(self.n_workers)]
        done, _ = cf.wait(pings, timeout=timeout + 5)
        errors = [f.exception() for f in done if f.exception() is not None]
        if errors:
            why = self._init_error() or f"{type(errors[0]).__name__}: {errors[0]}"
            raise RuntimeError(f"the worker processes could not start: {why}\nThe evaluator must be "
                               f"importable in a fresh process (its class in an importable module, not "
                               f"__main__ of an interactive session)") from errors[0]
        if len(done) < len(pings) or len({f.result() for f in done}) < self.n_workers:
            raise RuntimeError(f"the {self.n_workers} worker processes did not all start within "
                               f"{timeout:g} s; raise start_timeout or use fewer workers")

    def _init_error(self) -> str | None:
        if self._marker_dir is None:
            return None
        try:
            with open(os.path.join(self._marker_dir, _INIT_ERROR)) as fh:
                return fh.read().strip() or None
        except OSError:
            return None

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(max_workers=self.n_workers, mp_context=self.mp_context,
                                      initializer=_init_worker,
                                      initargs=(self._payload, self.torch_threads, self._marker_dir))

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers.  ``wait=True`` lets running trials end first (their results are
        dropped); ``wait=False`` kills the worker processes and returns at once."""
        self._close(wait)
        self.evaluator = None
        super().shutdown(wait)

    def _close(self, wait: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            if wait:
                pool.shutdown(wait=True, cancel_futures=True)
            else:
                _kill_workers(pool)
                pool.shutdown(wait=False, cancel_futures=True)
        self._futures.clear()
        self._zombies.clear()
        self._reports.clear()
        self._resubmits.clear()
        self._ready = []
        if self._marker_dir is not None:
            shutil.rmtree(self._marker_dir, ignore_errors=True)
            self._marker_dir = None
        self._payload = None
        self._bound = None
        self._running.clear()

    # -- trials --------------------------------------------------------------------------------
    @property
    def free_slots(self) -> int:
        """Idle workers: ``n_workers`` minus running trials and cancelled ones still running."""
        self._zombies = {f for f in self._zombies if not f.done()}
        return max(0, self.n_workers - len(self._running) - len(self._zombies))

    def submit(self, trial: Trial, report: Reporter | None = None) -> None:
        """Send ``(arch, fidelity, report)`` of ``trial`` to a worker."""
        self._register(trial)
        self._reports[trial.id] = report
        try:
            self._dispatch(trial)
        except Exception:
            self._running.pop(trial.id, None)
            self._reports.pop(trial.id, None)
            raise

    def _dispatch(self, trial: Trial) -> None:
        self._seq += 1
        token = f"{trial.id}:{self._seq}"
        try:
            fut = self._pool.submit(_run_trial, token, trial.arch, trial.fidelity, self._reports[trial.id])
        except BrokenProcessPool:
            # a worker died since the last poll and the pool refuses work: recover now (the
            # trials failed by that are returned by the next poll).
            self._recover()
            fut = self._pool.submit(_run_trial, token, trial.arch, trial.fidelity, self._reports[trial.id])
        self._futures[fut] = (trial.id, token)

    def poll(self, timeout: float | None = None) -> list[Trial]:
        """Finished trials (any order).  Waits up to ``timeout`` seconds (``None``: until a
        trial finishes or a cancelled one frees its worker) while anything is running."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        done_trials, self._ready = self._ready, []
        while not done_trials:
            pending = list(self._futures) + list(self._zombies)
            if not pending:
                break
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            done, _ = cf.wait(pending, timeout=left, return_when=cf.FIRST_COMPLETED)
            if not done:
                break  # timed out
            freed = False
            broken = False
            for fut in done:
                if fut in self._zombies:
                    self._zombies.discard(fut)
                    freed = True
                    continue
                if fut.cancelled():
                    self._futures.pop(fut, None)
                    continue
                err = fut.exception()
                if isinstance(err, BrokenProcessPool):
                    broken = True
                    continue
                tid, _ = self._futures.pop(fut)
                trial = self._running.pop(tid, None)
                self._reports.pop(tid, None)
                self._resubmits.pop(tid, None)
                if trial is None:
                    continue  # cancelled meanwhile
                if err is not None:  # SystemExit in the evaluator, a result that cannot be pickled
                    result = Result.failed(f"the worker process raised {type(err).__name__}: {err} "
                                           f"outside the evaluator's error handling (e.g. SystemExit, "
                                           f"or a result that cannot be pickled)", fidelity=trial.fidelity)
                else:
                    result = fut.result()
                done_trials.append(trial.finish(result))
            if broken:
                self._recover()
                done_trials.extend(self._ready)
                self._ready = []
            if freed and not done_trials:
                break  # a cancelled trial's worker is idle again: let the caller fill it
            if deadline is not None and time.monotonic() >= deadline:
                break
        return done_trials

    def cancel(self, trial_id: int) -> None:
        """Forget ``trial_id``; a trial not yet started never runs, a running one finishes in
        its worker (which stays busy until then) and its result is dropped."""
        super().cancel(trial_id)
        self._reports.pop(trial_id, None)
        self._resubmits.pop(trial_id, None)
        for fut, (tid, _) in list(self._futures.items()):
            if tid == trial_id:
                del self._futures[fut]
                if not fut.cancel() and not fut.done():
                    self._zombies.add(fut)

    # -- a worker died --------------------------------------------------------------------------
    def _recover(self) -> None:
        """The pool is broken: blame the trial(s) whose worker died, rebuild the pool and
        resubmit the others.  The failed trials are queued for :meth:`poll`."""
        old = self._pool
        procs = dict(getattr(old, "_processes", None) or {})   # pid -> Process, before shutdown
        old.shutdown(wait=True, cancel_futures=True)           # joins the already-dead workers
        self.pool_rebuilds += 1
        dead = {}    # pid -> exit code of workers that died by themselves (not the pool's SIGTERM)
        known = bool(procs)
        for pid, p in procs.items():
            code = p.exitcode
            # the pool SIGTERMs its surviving workers when it breaks; any other exit (even 0,
            # from os._exit(0)) means the worker ended by itself
            if code is not None and code != -signal.SIGTERM:
                dead[pid] = code
        started = self._read_markers()   # token -> pid of the worker that began it
        affected = [(fut, tid, token) for fut, (tid, token) in self._futures.items()]
        self._zombies = {f for f in self._zombies if not f.done()}
        self._futures.clear()
        self._pool = self._new_pool()

        for fut, tid, token in affected:
            trial = self._running.get(tid)
            if trial is None:
                continue
            pid = started.get(token)
            culprit = pid is not None and (pid in dead or not known)
            init_error = self._init_error()
            if init_error is not None:
                del self._running[tid]
                self._reports.pop(tid, None)
                self._resubmits.pop(tid, None)
                self._ready.append(trial.finish(Result.failed(
                    f"a rebuilt worker process could not load the evaluator: {init_error}",
                    fidelity=trial.fidelity, info={"worker_died": True})))
                continue
            tries = self._resubmits.get(tid, 0)
            if culprit or tries >= MAX_COLLATERAL_RESUBMITS:
                if culprit:
                    code = dead.get(pid)
                    how = ("exit code unknown" if code is None else f"exit code {code}" if code >= 0
                           else f"killed by signal {-code}")
                    msg = (f"worker process {pid} died while evaluating this trial ({how}; e.g. os._exit, "
                           f"a crash in native code or the out-of-memory killer); the worker pool was "
                           f"rebuilt and the other trials go on")
                else:
                    msg = (f"worker processes died {tries + 1} times while this trial was running beside "
                           f"them; the trial is failed so the run can go on")
                del self._running[tid]
                self._reports.pop(tid, None)
                self._resubmits.pop(tid, None)
                self._ready.append(trial.finish(Result.failed(msg, fidelity=trial.fidelity,
                                                              info={"worker_died": True})))
            else:
                self._resubmits[tid] = tries + 1
                self._dispatch(trial)

    def _read_markers(self) -> dict[str, int]:
        out: dict[str, int] = {}
        if self._marker_dir is None:
            return out
        for name in os.listdir(self._marker_dir):
            if not name.isdigit():
                continue
            try:
                with open(os.path.join(self._marker_dir, name)) as fh:
                    out[fh.read().strip()] = int(name)
            except OSError:
                continue
        return out


def _kill_workers(pool: cf.ProcessPoolExecutor) -> None:
    """Kill a pool's worker processes (so that abandoning running trials does not wait)."""
    kill = getattr(pool, "kill_workers", None)   # Python >= 3.14
    if callable(kill):
        kill()
        return
    for p in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            p.kill()
        except Exception:
            pass
