"""Ctrl-C during `naspredict search` (issue #13): the executor stops, the run's lock is released,
two lines say where the run is stored and the exact `--resume` command, exit code 130, no
traceback; resuming with that command loses and repeats no trial."""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from naspredict import data
from naspredict._testing import complete_trials
from naspredict.cli import main
from naspredict.evaluators import as_evaluator
from naspredict.search import make_strategy
from naspredict.store import ResultsStore

ROOT = str(Path(__file__).resolve().parents[1])
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)}
CLI = [sys.executable, "-m", "naspredict.cli"]


def _interrupt(cmd, db, at):
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while complete_trials(db) < at and time.time() < deadline and proc.poll() is None:
            time.sleep(0.01)
        assert proc.poll() is None, f"the search ended before the interrupt: {proc.stderr.read()}"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


def _resume_args(err: str) -> list[str]:
    """The arguments of the printed resume command (run with ``main`` in this process)."""
    line = err.strip().splitlines()[-1]
    assert line.startswith("resume it with: naspredict search ")
    return shlex.split(line.removeprefix("resume it with: naspredict")) + ["--no-progress"]


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")
@pytest.mark.parametrize("executor", ["serial", "simulated"])
def test_ctrl_c_then_resume_with_the_printed_command(tmp_path, executor):
    db, budget = tmp_path / "runs.db", 600
    cmd = [*CLI, "search", "-b", "nb201-cifar10", "-t", "baseline_accuracy", "-s", "random", "-n", str(budget),
           "--store", str(db), "--run", "k", "--out", str(tmp_path / "plots"), "--no-progress"]
    if executor == "simulated":
        cmd += ["--executor", "simulated", "--workers", "4"]
    at = int(np.random.default_rng().integers(20, 150))  # a random point of the run
    code, err = _interrupt(cmd, db, at)
    assert code == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2, err
    first = err.strip().splitlines()[0]
    assert f"run 'k' is stored in {db}" in first and "finished trials" in first
    with ResultsStore(db) as st:
        assert st.lock_owner("k") is None  # released on the way out
        before = {t.id: t for t in st.trials("k", finished=True)}
    assert at <= len(before) < budget

    assert main(_resume_args(err)) == 0
    assert (tmp_path / "plots" / "k_best_so_far.png").exists()  # --out as stored
    with ResultsStore(db) as st:
        trials = st.trials("k")
        frame = st.frame("k")
    assert [t.id for t in trials] == list(range(budget)) and all(t.state.finished for t in trials)
    assert len(frame) == budget and frame["arch"].nunique() == budget  # nothing lost, nothing twice
    for tid, t in before.items():
        assert trials[tid].arch == t.arch and trials[tid].result.to_dict() == t.result.to_dict()
    if executor == "serial":  # a serial run resumes to exactly the uninterrupted one
        nb = data.load("nb201-cifar10")
        straight = make_strategy("random", nb.space, "baseline_accuracy", "max", 0).run(
            as_evaluator(nb, ["baseline_accuracy"]), budget, progress=False)
        assert list(frame["arch"]) == list(straight.frame["arch"])


def _interrupting(after: int):
    """An evaluator method that raises KeyboardInterrupt (as Ctrl-C does) at call ``after``."""
    from naspredict.evaluators import TabularEvaluator
    real = TabularEvaluator.evaluate
    calls = [0]

    def evaluate(self, *a, **k):
        calls[0] += 1
        if calls[0] > after:
            raise KeyboardInterrupt
        return real(self, *a, **k)
    return evaluate


def test_ctrl_c_in_process_releases_the_lock_and_keeps_the_trials(tmp_path, capsys, monkeypatch):
    from naspredict.evaluators import TabularEvaluator
    db = tmp_path / "r.db"
    args = ["search", "-b", "nb201-cifar10", "-t", "baseline_accuracy", "-s", "evolution", "-n", "50",
            "--store", str(db), "--no-progress", "--out", str(tmp_path)]
    monkeypatch.setattr(TabularEvaluator, "evaluate", _interrupting(7))
    assert main(args) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "(7 finished trials, 1 unfinished that will run again)" in err[0]
    assert err[1] == f"resume it with: naspredict search --store {db} --run evolution-nb201-cifar10-0 --resume"
    with ResultsStore(db) as st:
        assert st.lock_owner("evolution-nb201-cifar10-0") is None
    monkeypatch.undo()
    assert main(_resume_args(err[1])) == 0
    with ResultsStore(db) as st:
        assert len(st.frame("evolution-nb201-cifar10-0")) == 50


def test_ctrl_c_before_any_trial_leaves_nothing(tmp_path, capsys, monkeypatch):
    def interrupted(self, *a, **k):
        raise KeyboardInterrupt

    db = tmp_path / "r.db"
    monkeypatch.setattr(ResultsStore, "start_trials", interrupted)  # Ctrl-C before the first trial
    assert main(["search", "-b", "nb201-cifar10", "-t", "baseline_accuracy", "-s", "random", "-n", "5",
                 "--store", str(db), "--no-progress", "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert "nothing to resume" in err and "Traceback" not in err
    assert not db.exists()  # no empty run blocks the name, no empty store stays
