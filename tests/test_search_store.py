"""Results store, resumable runs (including a SIGKILL mid-run), export and the search CLI."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from naspredict import data
from naspredict._testing import complete_trials
from naspredict.evaluators import Result, TabularEvaluator, as_evaluator
from naspredict.search import make_strategy
from naspredict.store import ResultsStore


def test_store_round_trip(tmp_path):
    with ResultsStore(tmp_path / "r.db") as st:
        run = st.create_run("a", "nb201", {"strategy": "random"})
        st.add(run, "x", Result({"acc": 1.5, "lat": float("nan")}, curves={"val": [1.0, 1.5]}, cost=2.0,
                                info={"params": 12}))
        st.add(run, "y", Result.failed("boom"))
        got = list(st.evaluations(run))
        assert [a for a, _ in got] == ["x", "y"]
        r = got[0][1]
        assert r.metrics["acc"] == 1.5 and np.isnan(r.metrics["lat"]) and r.curves == {"val": [1.0, 1.5]}
        assert r.cost == 2.0 and r.info["params"] == 12 and r.ok
        assert got[1][1].state.value == "failed" and got[1][1].error == "boom"
        assert st.intermediate(run, 0)["val"].tolist() == [1.0, 1.5]
        with pytest.raises(ValueError, match="already exists"):
            st.create_run("a", "nb201", {})
        runs = st.runs()
        assert runs["evaluations"].tolist() == [2]
        assert runs[["complete", "failed", "pruned", "running"]].values.tolist() == [[1, 1, 0, 0]]


def test_tabular_evaluator(nb201):
    ev = TabularEvaluator(nb201, ["baseline_accuracy"])
    r = ev.evaluate(nb201.archs[0])
    assert r.ok and r.metrics["baseline_accuracy"] == nb201.values("baseline_accuracy")[0]
    small = nb201.subset(range(10))
    with pytest.raises(KeyError):
        TabularEvaluator(small).evaluate(nb201.archs[100])
    failed = TabularEvaluator(small, missing="fail").evaluate(nb201.archs[100])
    assert failed.status == "failed" and "not in" in failed.error
    with pytest.raises(ValueError, match="no metric"):
        TabularEvaluator(nb201, ["nope"])


def test_resume_in_process(nb201, tmp_path):
    ev = as_evaluator(nb201, ["baseline_accuracy"])
    st = ResultsStore(tmp_path / "r.db")
    make_strategy("random", nb201.space, "baseline_accuracy", seed=0).run(
        ev, 25, store=st, run_name="r", progress=False)
    with pytest.raises(ValueError, match="already exists"):
        make_strategy("random", nb201.space, "baseline_accuracy", seed=0).run(
            ev, 40, store=st, run_name="r", progress=False)

    class Counting:
        space = nb201.space
        calls = 0

        def evaluate(self, arch, fidelity=None, report=None):
            Counting.calls += 1
            return ev.evaluate(arch)

    tr = make_strategy("random", nb201.space, "baseline_accuracy", seed=0).run(
        Counting(), 40, store=st, run_name="r", resume=True, progress=False)
    assert Counting.calls == 15 and len(tr.frame) == 40
    assert len({nb201.space.canonical(nb201.space.from_str(a)) for a in tr.frame["arch"]}) == 40


@pytest.mark.parametrize("strategy,budget", [("random", 2000), ("evolution", 600)])
def test_sigkill_then_resume(tmp_path, strategy, budget):
    """A real kill -9 of the CLI mid-run, then --resume: the stored run equals an uninterrupted
    run of the same strategy and seed, arch for arch, and nothing is evaluated twice."""
    db = str(tmp_path / "runs.db")
    cmd = [sys.executable, "-m", "naspredict.cli", "search", "-b", "nb201-cifar10", "-t",
           "baseline_accuracy", "-s", strategy, "-n", str(budget), "--store", db, "--run", "k",
           "--out", str(tmp_path), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    kill_after = int(np.random.default_rng().integers(30, 200))  # a random point of the run
    while complete_trials(db) < kill_after and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = complete_trials(db)
    assert kill_after <= stored < budget, f"kill should land mid-run (stored {stored})"
    out = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    with ResultsStore(db) as st:
        frame = st.frame("k")
        assert st.runs()["running"].tolist() == [0]
    assert len(frame) == budget
    assert frame["arch"].nunique() == budget  # nothing evaluated twice
    nb = data.load("nb201-cifar10")
    assert np.allclose(frame["baseline_accuracy"],
                       [nb.query(nb.space.from_str(a), "baseline_accuracy") for a in frame["arch"]])
    straight = make_strategy(strategy, nb.space, "baseline_accuracy", "max", 0).run(
        as_evaluator(nb, ["baseline_accuracy"]), budget, progress=False)
    assert list(frame["arch"]) == list(straight.frame["arch"]), f"killed at {stored}: trace differs"


def test_cli_runs_and_export(tmp_path, capsys):
    from naspredict.cli import main
    db = str(tmp_path / "s.db")
    assert main(["search", "-b", "nb201-cifar10", "-t", "baseline_accuracy", "-s", "random",
                 "-n", "20", "--store", db, "--out", str(tmp_path), "--no-progress"]) == 0
    assert (tmp_path / "random-nb201-cifar10-0_best_so_far.png").exists()  # plots are named per run
    assert main(["runs", "--store", db]) == 0
    assert "random-nb201-cifar10-0" in capsys.readouterr().out
    out = tmp_path / "run.parquet"
    assert main(["export", "random-nb201-cifar10-0", "--store", db, "-o", str(out)]) == 0
    back = data.read_results(out, "nb201")
    assert len(back) == 20 and "baseline_accuracy" in back.metric_names
    assert main(["export", "nope", "--store", db, "-o", str(out)]) == 2
