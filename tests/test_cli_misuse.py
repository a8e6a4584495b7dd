"""Ordinary mistakes found by the misuse sweep (benchmarks/misuse_sweep.py) exit 2 with a
message naming the problem and the fix, and ``-q`` silences progress bars (issue #13)."""
from __future__ import annotations

import pytest

from naspredict.cli import main

EVAL = ["evaluate", "-b", "nbgraph-cora", "-t", "valid_perf", "--train-sizes", "10", "--seeds", "1",
        "--test-size", "50", "--no-progress"]
SEARCH = ["search", "-b", "nbgraph-cora", "-t", "valid_perf", "--budget", "3", "--no-progress"]


def test_evaluate_out_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "f.txt"
    f.write_text("x")
    assert main([*EVAL, "-p", "rf", "--out", str(f)]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and "pass a folder" in err and "Traceback" not in err
    assert main([*EVAL, "-p", "rf", "--out", str(f / "sub")]) == 2
    assert "which is a file" in capsys.readouterr().err


def test_evaluate_refuses_a_predictor_that_needs_curves_by_name(tmp_path, capsys):
    assert main([*EVAL, "-p", "rf,lc-srm", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "lc-srm needs curves=" in err and "drop lc-srm" in err
    assert not (tmp_path / "results.csv").exists()  # refused before any run


def test_empty_log_says_what_a_log_holds(tmp_path, capsys):
    log = tmp_path / "log.csv"
    log.write_text("arch,valid_perf\n")
    assert main(["evaluate", "--log", str(log), "--space", "nbgraph", "-t", "valid_perf",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "holds no rows" in err and "one row per" in err


def test_search_empty_run_name(tmp_path, capsys):
    assert main([*SEARCH, "-s", "random", "--run", " ", "--store", str(tmp_path / "s.db"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "--run needs a name" in capsys.readouterr().err
    assert not (tmp_path / "s.db").exists()


def test_bo_with_a_predictor_without_std_names_it(tmp_path, capsys):
    assert main([*SEARCH, "-s", "bo", "-p", "synflow", "--store", str(tmp_path / "s.db"),
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'synflow' has none" in err and "-p" in err


@pytest.mark.parametrize("quiet", [False, True])
def test_quiet_silences_the_search_bar(tmp_path, capsys, quiet):
    argv = [a for a in SEARCH if a != "--no-progress"] + ["-s", "random", "--store", str(tmp_path / "s.db"),
                                                         "--out", str(tmp_path / "o")]
    assert main((["-q"] if quiet else []) + argv) == 0
    err = capsys.readouterr().err
    assert ("3/3" in err) is not quiet, err


def test_json_listings_are_exact(capsys):
    """``show --json`` gives the table's floats exactly (pandas' to_json rounded them to 10
    decimals, so a recomputed top-k did not match)."""
    import json

    from naspredict import data
    assert main(["-q", "show", "nbgraph-cora", "-m", "latency", "-k", "4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    top = data.load("nbgraph-cora").top("latency", 4)
    assert [r["latency"] for r in rows] == top["latency"].tolist()
    assert [r["arch"] for r in rows] == [str(a) for a in top["arch"]]


def test_direction_case_optuna_url_and_string_y(tmp_path, capsys):
    import numpy as np

    from naspredict import data, predictors
    db = tmp_path / "s.db"
    assert main([*SEARCH, "-s", "random", "-d", "MAX", "--store", str(db), "--run", "r",
                 "--out", str(tmp_path / "o")]) == 0  # MAX means max
    capsys.readouterr()
    assert main(["export", "r", "--store", str(db), "--optuna", "notaurl"]) == 2
    err = capsys.readouterr().err
    assert "not a usable Optuna storage URL" in err and "sqlite:///" in err and "Traceback" not in err
    archs = data.load("nbgraph-cora").archs[:10]
    with pytest.raises(ValueError, match="y must be numbers"):
        predictors.make("rf", space="nbgraph").fit(archs, ["a"] * 10)
    with pytest.raises(ValueError, match="one target"):
        predictors.make("rf", space="nbgraph").fit(archs, np.ones((10, 2)))


def test_fit_refuses_a_constant_target(tmp_path, capsys):
    from naspredict import data
    bench = data.load("nbgraph-cora").subset(range(40))
    bench.metrics["valid_perf"] = 0.5
    log = tmp_path / "log.csv"
    data.write_results(bench, log)
    assert main(["fit", "--log", str(log), "--space", "nbgraph", "-t", "valid_perf", "-p", "rf",
                 "-o", str(tmp_path / "m.nspm")]) == 2
    assert "same value" in capsys.readouterr().err and not (tmp_path / "m.nspm").exists()
