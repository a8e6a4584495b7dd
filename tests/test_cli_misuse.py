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


@pytest.mark.parametrize("argv,words", [
    (["--seed", "-1"], ["--seed must be at least 0"]),
    (["--budget-seconds", "-5"], ["--budget-seconds must be a positive number", "e.g. --budget-seconds"]),
    (["--wall-seconds", "nan"], ["--wall-seconds must be a positive number"]),
])
def test_search_numeric_flags_name_the_flag(tmp_path, capsys, argv, words):
    try:  # argparse's usage errors leave by SystemExit(2), ours by returning 2
        code = main([*SEARCH, "-s", "random", *argv, "--store", str(tmp_path / "s.db"), "--out", str(tmp_path / "o")])
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err
    assert not (tmp_path / "s.db").exists()


def test_evaluate_refuses_a_test_size_larger_than_what_is_left(tmp_path, capsys):
    argv = [a if a != "50" else "26197" for a in EVAL]  # 26,206 rows - 10 train = 26,196 left
    assert main([*argv, "-p", "rf", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "test size 26197 is more than the 26196 rows left" in err and "give at most 26196" in err


def test_a_search_budget_above_the_table_size_says_so(tmp_path, capsys):
    # nb201-curves has 200 rows: a budget of 250 evaluates each distinct one once and says why it stopped
    assert main(["-q", "search", "-b", "nb201-curves", "-t", "final_val_accuracy", "-s", "random", "-n", "250",
                 "--store", str(tmp_path / "s.db"), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    # its 200 cells are 168 distinct networks up to isomorphism: each is evaluated once
    assert "budget of 250 evaluations is more than the 200 archs of nb201-curves" in out
    assert "stopped after 168, every distinct arch" in out and "after 168 evaluations" in out


def test_train_on_a_broken_npz_names_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip archive")
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    assert main(["-q", "train", arch, "--data", str(bad), "-e", "1"]) == 2
    err = capsys.readouterr().err
    assert "bad.npz is not a readable .npz archive" in err and "numpy.savez" in err


def test_fit_will_not_overwrite_a_file_that_is_not_a_model(tmp_path, capsys):
    store = tmp_path / "s.db"
    assert main([*SEARCH, "-s", "random", "--store", str(store), "--out", str(tmp_path / "o")]) == 0
    before = store.read_bytes()
    fit = ["fit", "-b", "nbgraph-cora", "-t", "valid_perf", "-p", "rf", "-n", "20"]
    assert main([*fit, "-o", str(store)]) == 2
    assert "is not a naspredict model file" in capsys.readouterr().err and store.read_bytes() == before
    model = tmp_path / "m.nspm"  # an existing model file is replaced (a refit)
    assert main([*fit, "-o", str(model)]) == 0 and main([*fit, "--seed", "1", "-o", str(model)]) == 0


@pytest.mark.parametrize("cmd", ["evaluate", "predict"])
def test_a_missing_input_file_says_what_it_should_hold(tmp_path, capsys, cmd):
    if cmd == "evaluate":
        argv = ["evaluate", "--log", str(tmp_path / "nolog.csv"), "--space", "nbgraph", "-t", "valid_perf",
                "-p", "rf", "--out", str(tmp_path / "o")]
        words = ["nolog.csv does not exist", "'arch' column"]
    else:
        model = tmp_path / "m.nspm"
        assert main(["fit", "-b", "nbgraph-cora", "-t", "valid_perf", "-p", "rf", "-n", "20", "-o", str(model)]) == 0
        argv = ["predict", str(model), "--archs", str(tmp_path / "none.txt")]
        words = ["none.txt does not exist", "one arch per line"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err
