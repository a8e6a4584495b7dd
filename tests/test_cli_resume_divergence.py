"""A resumed ``naspredict search`` makes exactly the evaluations of the uninterrupted run
(issue #13): the strategy's state round-trips through the store, so stopping at K evaluations
and resuming to N gives the same ordered archs and values as one run to N, with no duplicate.
"""
from __future__ import annotations

import pytest

from naspredict.cli import main
from naspredict.store import ResultsStore

CASES = {
    "evolution": (["-b", "nb201-cifar10", "-t", "baseline_accuracy", "-s", "evolution",
                   "-O", "population_size=6", "-O", "sample_size=3"], 7, 16),
    "mobo": (["-b", "nbgraph-cora", "-t", "valid_perf,latency", "-d", "max,min", "-s", "mobo",
              "-O", "n_initial=4", "-O", "max_candidates=200"], 6, 9),
}


def _rows(db, run):
    with ResultsStore(db) as store:
        trials = store.trials(run)
        return [(t.arch, tuple(sorted(t.result.metrics.items()))) for t in trials]


def _search(db, tmp_path, *argv):
    rc = main(["-q", "search", *argv, "--store", str(db), "--out", str(tmp_path / "out"),
               "--run", "r", "--no-progress"])
    assert rc == 0


@pytest.mark.parametrize("name", sorted(CASES))
def test_stop_and_resume_equals_one_run(tmp_path, name):
    argv, k, n = CASES[name]
    whole, split = tmp_path / "whole.db", tmp_path / "split.db"
    _search(whole, tmp_path, *argv, "--budget", str(n))
    _search(split, tmp_path, *argv, "--budget", str(k))
    assert len(_rows(split, "r")) == k
    _search(split, tmp_path, "--resume", "--budget", str(n))
    a, b = _rows(whole, "r"), _rows(split, "r")
    assert len(a) == n and a == b
    assert len({arch for arch, _ in b}) == len(b)  # no arch evaluated twice


KILLED_DRIVER = '''
import sys
from naspredict import data, search
from naspredict.evaluators import DelayedEvaluator, as_evaluator
from naspredict.store import ResultsStore

db, name, budget, delay = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
bench, targets, dirs, params = {
    "evolution": ("nb201-cifar10", "baseline_accuracy", "max", {"population_size": 6, "sample_size": 3}),
    "mobo": ("nbgraph-cora", ["valid_perf", "latency"], ["max", "min"], {"n_initial": 4, "max_candidates": 200}),
}[name]
table = data.load(bench)
evaluator = as_evaluator(table, targets)
if delay:
    evaluator = DelayedEvaluator(evaluator, seconds=delay)
strategy = search.make_strategy(name, table.search_space(), targets, dirs, 0, **params)
with ResultsStore(db) as store:
    strategy.run(evaluator, budget, store=store, run_name="r", resume=True, progress=False)
'''


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("name,kill_at,n", [("evolution", 7, 16), ("mobo", 5, 9)])
def test_sigkill_and_resume_equals_one_run(tmp_path, name, kill_at, n):
    """A driver killed with SIGKILL (mid-evaluation: each one sleeps 0.3 s after it is done)
    and resumed in a new process makes the evaluations of one uninterrupted run."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from naspredict._testing import complete_trials

    script = tmp_path / "driver.py"
    script.write_text(KILLED_DRIVER)
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}

    def driver(db, delay, **kw):
        return subprocess.Popen([sys.executable, str(script), str(db), name, str(n), str(delay)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)

    whole, killed = tmp_path / "whole.db", tmp_path / "killed.db"
    first = driver(killed, 0.3)
    try:
        deadline = time.monotonic() + 240
        while complete_trials(killed) < kill_at:
            assert first.poll() is None, first.stdout.read()
            assert time.monotonic() < deadline, f"the driver did not reach {kill_at} trials"
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert kill_at <= complete_trials(killed) < n
    for db in (killed, whole):  # the resume, and the uninterrupted run
        p = driver(db, 0)
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0, out
    a, b = _rows(whole, "r"), _rows(killed, "r")
    assert len(a) == n and a == b
    assert len({arch for arch, _ in b}) == n
