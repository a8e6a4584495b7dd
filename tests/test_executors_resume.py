"""A driver killed with SIGKILL in the middle of a parallel run, then resumed in a new process.

A real driver process runs random search on NB201 with 2 local workers (or 2-CPU Ray) and an
evaluator that takes 0.05 s and logs every evaluation it starts.  Once the store holds at least
10 finished trials the driver gets SIGKILL; a second process resumes the run to its budget.
Checked: no finished trial lost or changed, no architecture evaluated in two trials, no finished
trial evaluated again, and the trials running at the kill dispatched again and finished.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from naspredict._testing import alive, descendants
from naspredict.store import ResultsStore
from naspredict.trials import TrialState

ROOT = str(Path(__file__).resolve().parents[1])
BUDGET = 40
KILL_AT = 10
RUN = "killed"


DRIVER = textwrap.dedent('''
    import sys
    from naspredict import data
    from naspredict.evaluators import DelayedEvaluator, as_evaluator
    from naspredict.executors import make_executor
    from naspredict.search import make_strategy
    from naspredict.search.loop import run
    from naspredict.store import ResultsStore
    from naspredict._testing import LoggedEvaluator

    def main():
        store_path, executor, phase, log, budget, kind = sys.argv[1:7]
        if kind == "train":  # real training: NB201 C=4 N=1 on scikit-learn's digits, 1 epoch
            from naspredict.evaluators.training import TrainingEvaluator
            inner = TrainingEvaluator("nb201", "digits", epochs=1, channels=4, cells=1, device="cpu",
                                      profile=False)
            evaluator, target = LoggedEvaluator(inner, log, phase), "val_accuracy"
        else:
            nb = data.load("nb201-cifar10")
            evaluator = DelayedEvaluator(LoggedEvaluator(as_evaluator(nb), log, phase), seconds=0.05)
            target = "baseline_accuracy"
        strategy = make_strategy("random", evaluator.space, target=target, seed=0)
        kw = {"init_kwargs": {"num_cpus": 2, "include_dashboard": False}} if executor == "ray" else {}
        ex = make_executor(executor, 2, **kw)
        store = ResultsStore(store_path)
        try:
            run(strategy, evaluator, int(budget), executor=ex, store=store, run_name="killed",
                resume=phase == "resume", progress=False)
        finally:
            ex.shutdown()
            store.close()
        print("finished", len(strategy.history), flush=True)

    if __name__ == "__main__":
        main()
''')


def _finished_count(path: Path) -> int:
    if not path.exists():
        return 0
    with ResultsStore(path) as store:
        if store.get_run(RUN) is None:
            return 0
        return len(store.trials(RUN, finished=True))


def _log(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("\t")) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.skipif(not os.path.isdir("/proc") or not hasattr(signal, "SIGKILL"),
                    reason="needs Linux /proc and SIGKILL")
@pytest.mark.parametrize("executor,kind", [("local", "table"), ("ray", "table"), ("local", "train")])
def test_sigkill_then_resume(executor, kind, tmp_path):
    """``kind="train"``: the evaluations are real trainings (a killed driver loses no finished
    training and repeats none)."""
    budget, kill_at = (BUDGET, KILL_AT) if kind == "table" else (8, 3)
    if executor == "ray":
        pytest.importorskip("ray")
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    db, log = tmp_path / "runs.db", tmp_path / "evaluations.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)}

    def driver(phase):
        return subprocess.Popen([sys.executable, str(script), str(db), executor, phase, str(log), str(budget), kind],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    first = driver("first")
    left_behind: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while True:
            assert first.poll() is None, f"the driver ended before the kill:\n{first.stdout.read()}"
            assert time.monotonic() < deadline, f"the driver did not reach {kill_at} finished trials in 120 s"
            if _log(log) and _finished_count(db) >= kill_at:
                break
            time.sleep(0.01)
        left_behind = descendants(first.pid)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()

    with ResultsStore(db) as store:
        before_done = {t.id: t for t in store.trials(RUN, finished=True)}
        before_open = {t.id: t for t in store.trials(RUN, finished=False)}
    assert kill_at <= len(before_done) < budget
    assert before_open, "no trial was running at the kill (the test needs one to be re-dispatched)"
    assert all(t.state is TrialState.RUNNING for t in before_open.values())

    second = driver("resume")
    try:
        out, _ = second.communicate(timeout=180)
    finally:
        if second.poll() is None:
            second.kill()
        # what the SIGKILLed driver started (pool workers exit on their own when their driver
        # dies; a few Ray helper processes do not): end those processes, by their ids
        for pid in left_behind:
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
    assert second.returncode == 0, out
    assert f"finished {budget}" in out, out

    with ResultsStore(db) as store:
        final = {t.id: t for t in store.trials(RUN)}
    # every trial finished, the budget exactly, trial numbers 0..budget-1 each once
    assert sorted(final) == list(range(budget))
    assert all(t.state is TrialState.COMPLETE for t in final.values()), {t.id: t.state for t in final.values()}
    # no architecture in two trials
    archs = [t.arch for t in final.values()]
    assert len(set(archs)) == budget
    # nothing lost: the finished trials are there unchanged (same arch and result)
    for tid, t in before_done.items():
        assert final[tid].arch == t.arch and final[tid].result.to_dict() == t.result.to_dict()
    # the trials running at the kill were dispatched again, as the same trials
    for tid, t in before_open.items():
        assert final[tid].arch == t.arch

    evals = _log(log)
    resumed = [a for phase, a in evals if phase == "resume"]
    first_run = {a for phase, a in evals if phase == "first"}
    # no finished trial evaluated again, each resumed evaluation once
    assert not set(resumed) & {t.arch for t in before_done.values()}
    assert len(resumed) == len(set(resumed))
    # ...and exactly the trials that were open at the kill plus the new ones were run on resume
    assert set(resumed) == set(archs) - {t.arch for t in before_done.values()}
    assert {t.arch for t in before_open.values()} <= set(resumed)
    assert {t.arch for t in before_done.values()} <= first_run
