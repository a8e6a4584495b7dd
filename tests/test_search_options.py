"""``naspredict search --option KEY=VALUE``: strategy settings from the command line (issue #13),
checked against the strategy's constructor, stored with the run and compared on ``--resume``."""
from __future__ import annotations

import pytest

from naspredict.cli import main
from naspredict.store import ResultsStore

BASE = ["-q", "search", "-b", "nbgraph-cora", "-t", "valid_perf", "--no-progress"]


def _archs(db, run):
    with ResultsStore(db) as store:
        return [t.arch for t in store.trials(run)]


def _search(tmp_path, *extra):
    return main([*BASE, "--store", str(tmp_path / "runs.db"), "--out", str(tmp_path / "out"), *extra])


def test_options_reach_the_strategy_and_are_stored(tmp_path):
    assert _search(tmp_path, "-s", "bo", "--budget", "8", "--run", "plain") == 0
    assert _search(tmp_path, "-s", "bo", "--budget", "8", "--run", "wide", "-O", "n_initial=8",
                   "-O", "acquisition=ucb") == 0
    db = tmp_path / "runs.db"
    with ResultsStore(db) as store:
        assert store.get_run("wide")["config"]["cli"]["options"] == {"n_initial": 8, "acquisition": "ucb"}
        assert store.get_run("plain")["config"]["cli"]["options"] == {}
    plain, wide = _archs(db, "plain"), _archs(db, "wide")
    # the same seed gives the same initial design; after it bo's proposals differ from random ones
    assert plain[:5] == wide[:5] and plain[5:] != wide[5:]


def test_resume_keeps_and_compares_the_options(tmp_path, capsys):
    opts = ["-s", "bo", "-O", "n_initial=3", "--run", "r"]
    assert _search(tmp_path, *opts, "--budget", "4") == 0
    # left out on --resume: the stored options are used
    assert _search(tmp_path, "--run", "r", "--resume", "--budget", "6") == 0
    with ResultsStore(tmp_path / "runs.db") as store:
        assert len(store.trials("r")) == 6
        assert store.get_run("r")["config"]["cli"]["options"] == {"n_initial": 3}
    capsys.readouterr()
    assert _search(tmp_path, "--run", "r", "--resume", "--budget", "7", "-O", "n_initial=4") == 2
    err = capsys.readouterr().err
    assert "--option stored" in err and "start a new run" in err


@pytest.mark.parametrize("option, words", [
    ("acqq=1", ["no option 'acqq'", "acquisition='ei'", "n_initial=5"]),
    ("n_initial=abc", ["n_initial", "whole number", "default 5"]),
    ("beta=true", ["beta", "a number"]),
    ("seed=3", ["set by --seed"]),
    ("predictor=rf", ["set by --predictor"]),
    ("acquisition=zigzag", ["acquisition must be one of"]),
])
def test_bad_options_exit_2_and_leave_nothing(tmp_path, capsys, option, words):
    assert _search(tmp_path, "-s", "bo", "--budget", "3", "-O", option) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(w in err for w in words), err
    assert not (tmp_path / "runs.db").exists()


def test_malformed_and_repeated_options(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _search(tmp_path, "-O", "no-equals-sign")
    assert exc.value.code == 2 and "KEY=VALUE" in capsys.readouterr().err
    assert _search(tmp_path, "-s", "bo", "-O", "beta=1", "-O", "beta=2") == 2
    assert "given twice" in capsys.readouterr().err


def test_mobo_options_json_values(tmp_path):
    rc = main(["-q", "search", "-b", "nbgraph-cora", "-t", "valid_perf,latency", "-d", "max,min",
               "-s", "mobo", "--budget", "5", "-O", "n_initial=4", "-O", "acquisition=ehvi",
               "-O", "ref_point=[0.5,-0.1]", "-O", "max_candidates=200", "--no-progress",
               "--store", str(tmp_path / "runs.db"), "--out", str(tmp_path / "out"), "--run", "m"])
    assert rc == 0
    with ResultsStore(tmp_path / "runs.db") as store:
        assert store.get_run("m")["config"]["cli"]["options"]["ref_point"] == [0.5, -0.1]
        assert len(store.trials("m")) == 5
