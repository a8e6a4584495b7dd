"""Local process pool and Ray executors on the NB201 table: same results as the serial
executor, failures, out-of-order results, dying workers, one evaluator per worker, cancel."""
from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

import pytest

from naspredict.evaluators import DelayedEvaluator, as_evaluator
from naspredict.executors import SerialExecutor
from naspredict.executors.local import ProcessPoolExecutor
from naspredict.trials import Result, Trial, TrialState

ROOT = str(Path(__file__).resolve().parents[1])


# -- evaluators used by the tests (module level: they travel to worker processes) ----------------
class Scripted:
    """The table's lookup, with per-arch behaviour keyed by ``str(arch)``.

    ``sleep``: seconds to sleep; ``raise_on``: archs that raise; ``exit_on``: archs whose
    evaluation kills the worker process; ``exit_once``: a marker file: the first evaluation of
    an ``exit_on`` arch creates it and dies, later ones run normally.  ``unpickle_log``: a file
    that gets one line (the pid) each time this object is unpickled; ``start_log``: one line per
    evaluation start (the pid).
    """

    def __init__(self, inner, sleep=None, raise_on=(), exit_on=(), exit_once=None,
                 unpickle_log=None, start_log=None):
        self.inner = inner
        self.space = inner.space
        self.sleep = dict(sleep or {})
        self.raise_on = set(raise_on)
        self.exit_on = set(exit_on)
        self.exit_once = exit_once
        self.unpickle_log = unpickle_log
        self.start_log = start_log

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.unpickle_log:
            with open(self.unpickle_log, "a") as fh:
                fh.write(f"{os.getpid()}\n")

    def evaluate(self, arch, fidelity=None, report=None):
        key = str(arch)
        if self.start_log:
            with open(self.start_log, "a") as fh:
                fh.write(f"{os.getpid()}\n")
        if key in self.exit_on:
            if self.exit_once is None:
                os._exit(3)
            if not os.path.exists(self.exit_once):
                Path(self.exit_once).write_text("died once")
                os._exit(3)
        if key in self.raise_on:
            raise ValueError(f"no result for {key} (raised on purpose)")
        time.sleep(self.sleep.get(key, 0.0))
        return self.inner.evaluate(arch)


class CostOf:
    """The table's lookup with ``cost`` set per arch (a DelayedEvaluator then sleeps it)."""

    def __init__(self, inner, costs):
        self.inner, self.costs, self.space = inner, dict(costs), inner.space

    def evaluate(self, arch, fidelity=None, report=None):
        r = self.inner.evaluate(arch)
        r.cost = self.costs.get(str(arch), 0.0)
        return r


class Epochs:
    """Reports the table's value once per "epoch" for 5 epochs and stops when told to."""

    def __init__(self, inner):
        self.inner, self.space = inner, inner.space

    def evaluate(self, arch, fidelity=None, report=None):
        r = self.inner.evaluate(arch)
        value = r.metrics["baseline_accuracy"]
        curve = []
        for step in range(1, 6):
            curve.append(value * step / 5)
            if report is not None and report(step, {"baseline_accuracy": curve[-1]}):
                return Result(r.metrics, curves={"baseline_accuracy": curve}, state="pruned",
                              info={"reporter_pid": os.getpid()})
        return Result(r.metrics, curves={"baseline_accuracy": curve})


class StopAt:
    """A picklable reporter: stop at ``step``."""

    def __init__(self, step):
        self.step = step

    def __call__(self, step, metrics):
        return step >= self.step


# -- helpers --------------------------------------------------------------------------------------
def run_all(ex, archs, timeout=60.0):
    """Submit ``archs`` as trials 0..n-1 whenever a slot is free; return {id: trial}."""
    done: dict[int, Trial] = {}
    todo = list(enumerate(archs))
    deadline = time.monotonic() + timeout
    while len(done) < len(archs):
        assert time.monotonic() < deadline, f"only {sorted(done)} of {len(archs)} trials finished in {timeout} s"
        while todo and ex.free_slots > 0:
            i, a = todo.pop(0)
            ex.submit(Trial(i, a))
        for t in ex.poll(timeout=1.0):
            assert t.id not in done, f"trial {t.id} returned twice"
            done[t.id] = t
    return done


def comparable(result: Result) -> dict:
    d = result.to_dict()
    d["info"] = {k: v for k, v in d["info"].items() if k not in ("worker", "delay_s")}
    return d


def poll_until(ex, n, timeout):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        out += ex.poll(timeout=max(0.0, deadline - time.monotonic()))
    return out


def wait_for_lines(path, n, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().split()) >= n:
            return
        time.sleep(0.02)
    raise AssertionError(f"{path.name} did not reach {n} lines in {timeout} s")


@pytest.fixture(scope="module")
def table(nb201):
    return as_evaluator(nb201)


@pytest.fixture(scope="module")
def archs(nb201):
    # a spread of cells over the table, not only the first rows
    return [nb201.archs[i] for i in range(0, len(nb201.archs), 1301)][:12]


@pytest.fixture(scope="module")
def serial_results(table, archs):
    ex = SerialExecutor().start(table)
    return {i: comparable(t.result) for i, t in run_all(ex, archs).items()}


# -- local process pool ---------------------------------------------------------------------------
def test_local_matches_serial_and_sends_evaluator_once(table, archs, serial_results, tmp_path):
    log = tmp_path / "unpickled.txt"
    ev = Scripted(table, unpickle_log=str(log))
    with ProcessPoolExecutor(2) as ex:
        ex.start(ev)
        done = run_all(ex, archs)
    assert {i: comparable(t.result) for i, t in done.items()} == serial_results
    assert all(t.state is TrialState.COMPLETE for t in done.values())
    workers = {t.result.info["worker"].rsplit(":", 1)[1] for t in done.values()}
    unpickled = log.read_text().split()
    assert os.getpid() not in map(int, unpickled)
    # one unpickle per worker process that ran trials, not one per trial
    assert len(unpickled) == len(set(unpickled)) <= 2
    assert workers <= set(unpickled)


def test_local_start_again_keeps_or_replaces_the_workers(table, archs, tmp_path):
    log = tmp_path / "unpickled.txt"
    ev = Scripted(table, unpickle_log=str(log))
    with ProcessPoolExecutor(1) as ex:
        ex.start(ev)
        first = run_all(ex, archs[:2])
        ex.start(ev)                      # the same evaluator (a second run): same worker
        second = run_all(ex, archs[2:4])
        assert len(log.read_text().split()) == 1
        assert {t.result.info["worker"] for t in {**first, **second}.values()} == {first[0].result.info["worker"]}
        ex.start(Scripted(table, raise_on={str(archs[0])}))   # another one: new workers hold it
        again = run_all(ex, archs[:1])
        assert again[0].state is TrialState.FAILED and "raised on purpose" in again[0].result.error


def test_local_failures_out_of_order_and_dead_worker(table, archs):
    slow, fast, bad, killer = (str(a) for a in archs[:4])
    ev = Scripted(table, sleep={slow: 2.0}, raise_on={bad}, exit_on={killer})
    with ProcessPoolExecutor(2) as ex:
        ex.start(ev)                      # returns with both workers up
        ex.submit(Trial(0, archs[0]))     # slow
        ex.submit(Trial(1, archs[1]))     # fast
        order = [t.id for t in poll_until(ex, 1, 30)]
        assert order == [1], "the fast trial should come back before the slow one"
        ex.submit(Trial(2, archs[2]))     # raises
        failed = poll_until(ex, 1, 30)
        assert [t.id for t in failed] == [2] and failed[0].state is TrialState.FAILED
        assert "ValueError" in failed[0].result.error and "raised on purpose" in failed[0].result.error
        ex.submit(Trial(3, archs[3]))     # kills its worker while trial 0 sleeps in the other
        rest = poll_until(ex, 2, 60)
        assert [t.id for t in rest] == [3, 0]
        dead, slow_trial = rest
        assert dead.state is TrialState.FAILED and dead.result.info["worker_died"]
        assert "worker process" in dead.result.error and "died while evaluating" in dead.result.error
        # the pool broke for trial 0 too: it was run again, not failed
        assert slow_trial.state is TrialState.COMPLETE, slow_trial.result.error
        assert slow_trial.result.metrics == table.evaluate(archs[0]).metrics
        assert ex.pool_rebuilds == 1
        # the rebuilt pool goes on with the rest
        more = run_all(ex, archs[4:8])
        assert all(t.state is TrialState.COMPLETE for t in more.values())


def check_report_runs_in_the_worker(ex, table, archs):
    ex.start(Epochs(table))
    ex.submit(Trial(0, archs[0]), report=StopAt(2))
    ex.submit(Trial(1, archs[1]))
    done = {t.id: t for t in poll_until(ex, 2, 30)}
    assert done[0].state is TrialState.PRUNED and len(done[0].result.curves["baseline_accuracy"]) == 2
    assert done[0].result.info["reporter_pid"] != os.getpid()
    assert done[1].state is TrialState.COMPLETE and len(done[1].result.curves["baseline_accuracy"]) == 5


def test_local_passes_report_to_the_worker(table, archs):
    with ProcessPoolExecutor(2) as ex:
        check_report_runs_in_the_worker(ex, table, archs)


def test_local_cancel_and_quick_shutdown(table, archs, tmp_path):
    starts = tmp_path / "starts.txt"
    slow = str(archs[0])
    ev = Scripted(table, sleep={slow: 1.0, str(archs[2]): 30.0}, start_log=str(starts))
    ex = ProcessPoolExecutor(2).start(ev)
    try:
        ex.submit(Trial(0, archs[0]))
        ex.submit(Trial(1, archs[1]))
        wait_for_lines(starts, 2)        # both running (a trial cancelled before it starts never runs)
        ex.cancel(0)
        assert [t.id for t in poll_until(ex, 1, 30)] == [1]
        # the cancelled trial still holds its worker until it ends, then frees it
        assert ex.free_slots == 1
        assert ex.poll(timeout=5.0) == []
        assert ex.free_slots == 2
        ex.submit(Trial(2, archs[2]))    # 30 s: abandoned by shutdown(wait=False)
        ex.submit(Trial(3, archs[2]))
        wait_for_lines(starts, 4)
        pids = set(map(int, starts.read_text().split()))
    finally:
        t0 = time.monotonic()
        ex.shutdown(wait=False)
        took = time.monotonic() - t0
    assert took < 3.0, f"shutdown(wait=False) took {took:.1f} s"
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{p}") for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    if os.path.isdir("/proc"):
        assert not any(os.path.exists(f"/proc/{p}") for p in pids), "worker processes still alive"


def test_local_rejects_unpicklable_evaluator(table):
    class Local:  # a local class cannot be pickled
        space = None

        def evaluate(self, arch, fidelity=None):
            return Result({"x": 1.0})

    with pytest.raises(TypeError, match="cannot be pickled"):
        ProcessPoolExecutor(1).start(Local())


class FailsToLoad:
    """Pickles in the driver, cannot be unpickled in a worker."""
    space = None

    def __init__(self):
        self.state = "something to unpickle"   # (an empty __dict__ would skip __setstate__)

    def __setstate__(self, state):
        raise RuntimeError("this evaluator cannot load here")

    def evaluate(self, arch, fidelity=None):
        return Result({"x": 1.0})


def test_local_worker_that_cannot_load_the_evaluator_fails_at_start():
    ex = ProcessPoolExecutor(1)
    with pytest.raises(RuntimeError, match="could not start(.|\n)*cannot load here"):
        ex.start(FailsToLoad())
    assert ex.evaluator is None and ex._pool is None


def test_delayed_evaluator_sleeps_and_passes_through(table, archs):
    arch = archs[0]
    ev = DelayedEvaluator(CostOf(table, {str(arch): 0.2}), scale=1.0)
    t0 = time.perf_counter()
    r = ev.evaluate(arch)
    assert time.perf_counter() - t0 >= 0.2
    assert r.info["delay_s"] == pytest.approx(0.2) and r.cost == 0.2
    assert r.metrics == table.evaluate(arch).metrics
    assert DelayedEvaluator(table, seconds=0).evaluate(arch).info["delay_s"] == 0.0
    with pytest.raises(ValueError, match="exactly one"):
        DelayedEvaluator(table)
    with pytest.raises(ValueError, match=">= 0"):
        DelayedEvaluator(table, seconds=-1)


# -- Ray ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        ray.shutdown()
    # the workers import this module (the test evaluators): Ray's processes inherit the
    # environment at init (cheaper than a runtime_env, which makes fresh workers)
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, saved) if p)
    try:
        ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    yield ray
    ray.shutdown()


def test_ray_missing_names_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)          # as if Ray were not installed
    monkeypatch.delitem(sys.modules, "naspredict.executors.ray", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'naspredict\[ray\]'"):
        importlib.import_module("naspredict.executors.ray")


def ray_executor(**kw):
    from naspredict.executors.ray import RayExecutor
    return RayExecutor(**kw)


def test_ray_matches_serial_and_sends_evaluator_once(ray_local, table, archs, serial_results, tmp_path):
    log = tmp_path / "unpickled.txt"
    ex = ray_executor().start(Scripted(table, unpickle_log=str(log)))
    assert ex.n_workers == 2   # the cluster's 2 CPUs / 1 CPU per trial
    try:
        done = run_all(ex, archs)
    finally:
        ex.shutdown()
    assert ray_local.is_initialized(), "Ray started by someone else must stay up"
    assert {i: comparable(t.result) for i, t in done.items()} == serial_results
    workers = {t.result.info["worker"].rsplit(":", 1)[1] for t in done.values()}
    unpickled = log.read_text().split()
    # each worker process deserialises the evaluator once (ray.put pickles it in the driver)
    assert sorted(set(unpickled)) == sorted(unpickled)
    assert workers <= set(unpickled) and len(unpickled) < len(archs)


def test_ray_failures_and_out_of_order(ray_local, table, archs):
    slow, fast, bad = (str(a) for a in archs[:3])
    ev = DelayedEvaluator(CostOf(Scripted(table, raise_on={bad}), {slow: 1.0, fast: 0.05}), scale=1.0)
    ex = ray_executor(n_workers=2).start(ev)
    try:
        ex.submit(Trial(0, archs[0]))
        ex.submit(Trial(1, archs[1]))
        first = poll_until(ex, 1, 30)
        assert [t.id for t in first] == [1]
        ex.submit(Trial(2, archs[2]))
        done = {t.id: t for t in first + poll_until(ex, 2, 30)}
    finally:
        ex.shutdown()
    assert done[0].state is TrialState.COMPLETE
    assert done[2].state is TrialState.FAILED and "raised on purpose" in done[2].result.error


def test_ray_worker_that_cannot_load_the_evaluator_fails_at_start(ray_local):
    ex = ray_executor()
    with pytest.raises(RuntimeError, match="could not load the evaluator(.|\n)*cannot load here"):
        ex.start(FailsToLoad())
    assert ex.evaluator is None and ray_local.is_initialized()


def test_ray_passes_report_to_the_worker(ray_local, table, archs):
    ex = ray_executor()
    try:
        check_report_runs_in_the_worker(ex, table, archs)
    finally:
        ex.shutdown()


def test_ray_retries_a_dead_worker(ray_local, table, archs, tmp_path):
    killer = str(archs[0])
    ev = Scripted(table, exit_on={killer}, exit_once=str(tmp_path / "died"))
    ex = ray_executor(max_retries=1).start(ev)
    try:
        done = run_all(ex, archs[:3])
    finally:
        ex.shutdown()
    assert (tmp_path / "died").exists(), "the first attempt should have killed its worker"
    assert all(t.state is TrialState.COMPLETE for t in done.values()), [t.result.error for t in done.values()]
    assert done[0].result.metrics == table.evaluate(archs[0]).metrics

    # without retries the crash becomes a failed trial naming the Ray error
    ev = Scripted(table, exit_on={killer})
    ex = ray_executor(max_retries=0).start(ev)
    try:
        done = run_all(ex, archs[:2])
    finally:
        ex.shutdown()
    assert done[0].state is TrialState.FAILED and "WorkerCrashedError" in done[0].result.error
    assert done[1].state is TrialState.COMPLETE


def test_ray_cancel_frees_the_cpu(ray_local, table, archs):
    long = str(archs[0])
    ex = ray_executor().start(Scripted(table, sleep={long: 60.0}))
    try:
        ex.submit(Trial(0, archs[0]))
        ex.submit(Trial(1, archs[0]))
        time.sleep(0.5)
        ex.cancel(0)
        ex.cancel(1)
        assert ex.free_slots == 2
        t0 = time.monotonic()
        done = run_all(ex, archs[1:3], timeout=30)
        assert time.monotonic() - t0 < 30
    finally:
        ex.shutdown(wait=False)
    assert sorted(done) == [0, 1] and all(t.state is TrialState.COMPLETE for t in done.values())
    assert ex.poll(timeout=0) == []
