"""One driver per run (issue #13): the store's run lock, stale owners (a kill -9'd process, a
silent other host), two real processes resuming the same run at once, and `runs --delete`."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from naspredict import data
from naspredict.cli import main
from naspredict.evaluators import as_evaluator
from naspredict.search import make_strategy
from naspredict.store import ResultsStore, RunLocked

ROOT = str(Path(__file__).resolve().parents[1])
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)}


def _store_with_run(tmp_path, name="r", budget=3):
    nb = data.load("nb201-cifar10")
    st = ResultsStore(tmp_path / "r.db")
    make_strategy("random", nb.space, "baseline_accuracy", seed=0).run(
        as_evaluator(nb, ["baseline_accuracy"]), budget, store=st, run_name=name, progress=False)
    return st


def test_a_second_owner_is_refused_until_the_first_releases(tmp_path):
    st = _store_with_run(tmp_path)
    assert st.lock_owner("r") is None  # the finished run released its lock
    with st.acquire("r", owner="first") as lock:
        owner = st.lock_owner("r")
        assert owner["pid"] == os.getpid() and owner["alive"] and owner["owner"] == "first"
        with pytest.raises(RunLocked) as err:  # even in the same process: two drivers duplicate
            st.acquire("r", owner="second")
        msg = str(err.value)
        assert isinstance(err.value, ValueError) and f"pid {os.getpid()}" in msg and "--run NEW" in msg
        assert err.value.owner["owner"] == "first"
        assert st.runs()["owner"].tolist() == [f"pid {os.getpid()}@{owner['host']}"]
        with pytest.raises(RunLocked):  # the Python run loop takes the lock too
            make_strategy("random", data.load("nb201-cifar10").space, "baseline_accuracy", seed=0).run(
                as_evaluator(data.load("nb201-cifar10"), ["baseline_accuracy"]), 6, store=st, run_name="r",
                resume=True, progress=False)
    assert not lock.held and st.lock_owner("r") is None
    assert len(st.frame("r")) == 3  # the refused driver ran nothing
    st.acquire("r").release()
    st.close()


def test_heartbeat_and_stale_owners_on_other_hosts(tmp_path):
    st = _store_with_run(tmp_path)
    lock = st.acquire("r", heartbeat=0.05)
    first = st.lock_owner("r")["heartbeat"]
    deadline = time.time() + 10
    while st.lock_owner("r")["heartbeat"] == first and time.time() < deadline:
        time.sleep(0.05)
    assert st.lock_owner("r")["heartbeat"] > first
    lock.release()
    lock = st.acquire("r", heartbeat=None)
    con = sqlite3.connect(tmp_path / "r.db")
    con.execute("UPDATE locks SET host = 'elsewhere', pid = 1, heartbeat = ?", (time.time(),))
    con.commit()
    with pytest.raises(RunLocked, match="pid 1 on elsewhere"):  # a fresh heartbeat: alive
        st.acquire("r")
    con.execute("UPDATE locks SET heartbeat = ?", (time.time() - 3600,))
    con.commit()
    con.close()
    assert st.lock_owner("r", stale_after=60)["alive"] is False
    assert st.runs()["owner"].tolist() == ["stale: pid 1@elsewhere"]
    with pytest.warns(UserWarning, match="taking over the stale lock of pid 1 on elsewhere"):
        new = st.acquire("r", stale_after=60)
    lock.release()  # the old lock's release leaves the new owner's lock alone
    assert st.lock_owner("r")["pid"] == os.getpid()
    new.release()
    st.close()


HOLDER = textwrap.dedent('''
    import sys, time
    from naspredict.store import ResultsStore
    store = ResultsStore(sys.argv[1])
    store.acquire(sys.argv[2], owner="holder")
    print("locked", flush=True)
    time.sleep(120)
''')


def test_the_lock_of_a_killed_owner_is_taken_over(tmp_path):
    _store_with_run(tmp_path).close()
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "r.db"), "r"], env=ENV,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with ResultsStore(tmp_path / "r.db") as st:
            with pytest.raises(RunLocked, match=f"pid {proc.pid}"):
                st.acquire("r")
            assert main(["runs", "--store", str(tmp_path / "r.db"), "--delete", "r", "--yes"]) == 2
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    with ResultsStore(tmp_path / "r.db") as st:
        assert st.lock_owner("r")["alive"] is False  # the row survives the kill, its owner does not
        with pytest.warns(UserWarning, match=f"stale lock of pid {proc.pid}"):
            st.acquire("r").release()
        assert st.lock_owner("r") is None


DRIVER = textwrap.dedent('''
    import os, sys, time
    from naspredict import data
    from naspredict.evaluators import DelayedEvaluator, as_evaluator
    from naspredict.search import make_strategy
    from naspredict.store import ResultsStore, RunLocked
    from naspredict._testing import LoggedEvaluator

    db, log, go, budget, phase = sys.argv[1:6]
    nb = data.load("nb201-cifar10")
    ev = DelayedEvaluator(LoggedEvaluator(as_evaluator(nb, ["baseline_accuracy"]), log, phase), seconds=0.05)
    strategy = make_strategy("random", nb.space, "baseline_accuracy", seed=0)
    print("ready", flush=True)
    while not os.path.exists(go):   # both drivers start together
        time.sleep(0.005)
    store = ResultsStore(db)
    try:
        strategy.run(ev, int(budget), store=store, run_name="r", resume=True, progress=False)
    except RunLocked as err:
        print("refused:", err, flush=True)
        sys.exit(3)
    print("finished", len(strategy.history), flush=True)
''')


def test_two_processes_resuming_one_run_at_once_never_duplicate(tmp_path):
    _store_with_run(tmp_path, budget=5).close()
    db, log, go, budget = tmp_path / "r.db", tmp_path / "evals.log", tmp_path / "go", 35
    procs = [subprocess.Popen([sys.executable, "-c", DRIVER, str(db), str(log), str(go), str(budget), f"p{i}"],
                              env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(2)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        go.touch()
        outs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 3], outs
    refused = next(o for o, p in zip(outs, procs) if p.returncode == 3)
    winner = next(p for p in procs if p.returncode == 0)
    assert "being driven by pid" in refused and str(winner.pid) in refused
    with ResultsStore(db) as st:
        frame = st.frame("r")
        assert st.lock_owner("r") is None
    assert len(frame) == budget and frame["arch"].nunique() == budget and frame["trial"].tolist() == list(range(budget))
    evals = [line.split("\t") for line in log.read_text().splitlines()]
    assert len(evals) == budget - 5 and len({a for _, a in evals}) == budget - 5  # each new arch once
    assert {phase for phase, _ in evals} == {f"p{procs.index(winner)}"}  # the refused one ran nothing


def test_runs_delete(tmp_path, capsys):
    st = _store_with_run(tmp_path, "a", budget=4)
    _store_with_run(tmp_path, "b", budget=2).close()
    db = str(tmp_path / "r.db")
    with st.acquire("a"):
        assert main(["runs", "--store", db, "--delete", "a", "--yes"]) == 2
        assert "being driven by pid" in capsys.readouterr().err
    assert main(["runs", "--store", db, "--delete", "a"]) == 2  # no terminal to ask on
    assert "pass --yes" in capsys.readouterr().err
    assert main(["runs", "--store", db, "--delete", "nope", "--yes"]) == 2
    assert "no run named 'nope'" in capsys.readouterr().err
    assert main(["runs", "--store", db, "--delete", "a", "--yes"]) == 0
    assert "deleted run 'a' (4 trials)" in capsys.readouterr().out
    assert st.runs()["name"].tolist() == ["b"] and st.strategy_state("b") is not None
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 2
    assert con.execute("SELECT COUNT(*) FROM intermediate i LEFT JOIN trials t USING (trial_id) "
                       "WHERE t.trial_id IS NULL").fetchone()[0] == 0
    con.close()
    st.close()
    # the name is free again
    assert main(["search", "-b", "nb201-cifar10", "-t", "baseline_accuracy", "-s", "random", "-n", "2",
                 "--run", "a", "--store", db, "--out", str(tmp_path / "o"), "--no-progress"]) == 0


def test_a_v2_store_gains_the_locks_table(tmp_path):
    st = _store_with_run(tmp_path)
    st.close()
    con = sqlite3.connect(tmp_path / "r.db")
    con.execute("DROP TABLE locks")
    con.execute("PRAGMA user_version = 2")
    con.commit()
    con.close()
    with ResultsStore(tmp_path / "r.db") as st:
        assert len(st.frame("r")) == 3 and st.lock_owner("r") is None
        st.acquire("r").release()
    con = sqlite3.connect(tmp_path / "r.db")
    assert con.execute("PRAGMA user_version").fetchone()[0] == 3
    con.close()
