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
