"""`naspredict search` with executors, cost budgets and pruners; searches over tables that hold
only part of their space."""
from __future__ import annotations

import numpy as np
import pytest

from naspredict import data
from naspredict.cli import main
from naspredict.store import ResultsStore


def _search(tmp_path, *extra, bench="nb201-cifar10", target="baseline_accuracy", name="r"):
    return main(["search", "-b", bench, "-t", target, "--store", str(tmp_path / "s.db"), "--run", name,
                 "--out", str(tmp_path), "--no-progress", *extra])


def test_simulated_executor_from_the_cli(tmp_path):
    assert _search(tmp_path, "-s", "evolution", "-n", "24", "--executor", "simulated", "--workers", "4") == 0
    with ResultsStore(tmp_path / "s.db") as st:
        assert st.runs()["complete"].tolist() == [24]


def test_local_pool_from_the_cli(tmp_path):
    assert _search(tmp_path, "-s", "random", "-n", "8", "--executor", "local", "--workers", "2") == 0
    with ResultsStore(tmp_path / "s.db") as st:
        frame = st.frame("r")
    assert len(frame) == 8 and frame["arch"].nunique() == 8
    nb = data.load("nb201-cifar10")
    assert np.allclose(frame["baseline_accuracy"], [nb.query(nb.space.from_str(a), "baseline_accuracy")
                                                    for a in frame["arch"]])
    assert frame["worker"].nunique() >= 1 and all(":" in w for w in frame["worker"])


def test_pruner_on_real_curves_keeps_partial_curves(tmp_path):
    assert _search(tmp_path, "-s", "random", "-n", "60", "--pruner", "median", bench="nb201-curves",
                   target="final_val_accuracy") == 0
    with ResultsStore(tmp_path / "s.db") as st:
        counts = st.runs().iloc[0]
        pruned = [t for t in st.trials("r") if t.state.value == "pruned"]
        assert counts["failed"] == 0 and counts["pruned"] == len(pruned) > 0
        t = pruned[0]
        assert 0 < len(t.result.curves["val"]) < 200
        assert len(st.intermediate("r", t.id)) == len(t.result.curves["val"])


@pytest.mark.parametrize("args,message", [
    (["--workers", "2"], "needs --executor"),
    (["--executor", "local", "--batch-size", "2"], "batch-size"),
    (["--pruner", "median"], "needs per-epoch curves"),
    (["--budget-seconds", "-5"], "positive number"),
])
def test_bad_flags_exit_2(tmp_path, capsys, args, message):
    assert _search(tmp_path, "-s", "random", "-n", "5", *args) == 2
    assert message in capsys.readouterr().err


def test_search_over_a_partial_table_only_proposes_its_rows(tmp_path):
    curves = data.load("nb201-curves")
    space = curves.search_space()
    assert len(space) == len(set(curves.archs)) and space.name == "nb201"
    rng = np.random.default_rng(0)
    assert all(space.sample(rng) in curves for _ in range(50))
    a = curves.archs[0]
    assert all(b in curves for b in space.neighbours(a)) and space.mutate(a, rng) in curves
    assert data.load("nb201-cifar10").search_space() is data.load("nb201-cifar10").space
    assert _search(tmp_path, "-s", "evolution", "-n", "40", bench="nb201-curves", target="final_val_accuracy") == 0
    with ResultsStore(tmp_path / "s.db") as st:
        assert st.runs()[["complete", "failed"]].values.tolist() == [[40, 0]]
