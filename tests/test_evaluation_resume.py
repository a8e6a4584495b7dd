"""evaluate's resume key and its degenerate inputs (issue #13: silent wrong results).

A results file holds one evaluation setting (the table's archs and target values, the target,
the split, the test size); another setting is refused with the fix, and a run is known by its
predictor label, a hash of the predictor's parameters, train size, seed and sources.  Empty
grids, fractional sizes, constant targets and the like are errors, and an undefined rank
correlation is reported as undefined, never as 0.0.
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from naspredict import data
from naspredict.cli import main
from naspredict.evaluation import evaluate, train_test_split
from naspredict.metrics import ranking_metrics
from naspredict.predictors import make


@pytest.fixture(scope="module")
def small():
    return data.load("nb201-cifar10").subset(range(400))


def _eval(bench, out, target="baseline_accuracy", **kw):
    kw = {"predictors": ["rf"], "train_sizes": [20], "seeds": [0], "test_size": 100, **kw}
    return evaluate(bench, target, kw.pop("predictors"), kw.pop("train_sizes"), kw.pop("seeds"),
                    out_csv=out, progress=False, **kw)


@pytest.mark.parametrize("change, value", [
    ("test_size", 150), ("split", "mutation"), ("target", "analog_accuracy_1h"), ("data", None)])
def test_another_setting_in_the_same_file_is_refused(small, tmp_path, change, value):
    out = tmp_path / "results.csv"
    first = _eval(small, out)
    bench, kw = small, {}
    if change == "data":  # another table of the same space and metric: other rows
        bench = data.load("nb201-cifar10").subset(range(400, 800))
    elif change == "target":
        if value not in small.metric_names:
            value = next(m for m in small.metric_names if m != "baseline_accuracy")
        kw["target"] = value
    else:
        kw[change] = value
    with pytest.raises(ValueError, match="another evaluation.*another --out"):
        _eval(bench, out, **kw)
    # nothing was appended and the file still resumes its own setting
    assert len(pd.read_csv(out)) == 1
    again = _eval(small, out)
    assert again.table["kendall_tau"].tolist() == first.table["kendall_tau"].tolist()


def test_an_edited_log_is_another_setting(small, tmp_path):
    log = tmp_path / "log.csv"
    data.write_results(small, log)
    out = tmp_path / "results.csv"
    _eval(data.read_results(log, "nb201"), out)
    df = pd.read_csv(log)
    df.loc[0, "baseline_accuracy"] += 1.0
    df.to_csv(log, index=False)
    with pytest.raises(ValueError, match="another evaluation"):
        _eval(data.read_results(log, "nb201"), out)


def test_predictor_parameters_are_part_of_the_run_key(small, tmp_path):
    out = tmp_path / "results.csv"
    a = _eval(small, out, predictors={"rf": make("rf", space=small.space)})
    b = _eval(small, out, predictors={"rf": make("rf", space=small.space, n_estimators=7)})
    rows = pd.read_csv(out)
    assert len(rows) == 2 and rows["params"].nunique() == 2
    # each call returns its own run only, not the other's numbers
    assert len(a.table) == len(b.table) == 1
    assert a.table["params"].iloc[0] != b.table["params"].iloc[0]
    # and a resumed call with the first parameters reuses its row, computing nothing
    c = _eval(small, out, predictors={"rf": make("rf", space=small.space)})
    assert len(pd.read_csv(out)) == 2 and c.predictions == {}
    assert c.table["kendall_tau"].tolist() == a.table["kendall_tau"].tolist()


def test_returned_table_is_this_calls_grid(small, tmp_path):
    out = tmp_path / "results.csv"
    _eval(small, out, train_sizes=[20, 30])
    res = _eval(small, out, train_sizes=[30])
    assert res.table["train_size"].tolist() == [30]


def test_a_file_without_the_key_columns_is_refused(small, tmp_path):
    out = tmp_path / "results.csv"
    pd.DataFrame({"predictor": ["rf"], "train_size": [20], "seed": [0], "kendall_tau": [0.9]}).to_csv(out, index=False)
    with pytest.raises(ValueError, match="cannot be resumed safely"):
        _eval(small, out)


@pytest.mark.parametrize("kw, match", [
    ({"seeds": 0}, "empty grid"),
    ({"seeds": []}, "no seeds"),
    ({"seeds": [0, 0]}, "distinct"),
    ({"seeds": [-1]}, ">= 0"),
    ({"train_sizes": []}, "no train sizes"),
    ({"train_sizes": [10.5]}, "whole numbers"),
    ({"train_sizes": [20, 20]}, "distinct"),
    ({"train_sizes": [1]}, "at least 2"),
    ({"train_sizes": [399]}, "fewer than 2 test rows"),
    ({"test_size": 1}, "cannot rank"),
    ({"test_size": 2.5}, "whole numbers"),
    ({"predictors": ["rf", "rf"]}, "given twice"),
    ({"split": "zigzag"}, "unknown split"),
])
def test_degenerate_grids_are_refused(small, kw, match):
    with pytest.raises(ValueError, match=match):
        _eval(small, None, **kw)


def test_whole_floats_are_accepted(small):
    res = _eval(small, None, train_sizes=[20.0], test_size=100.0)
    assert res.table["train_size"].tolist() == [20]


def test_a_constant_target_is_refused(small):
    flat = small.subset(range(50))
    flat.metrics["baseline_accuracy"] = 42.0
    with pytest.raises(ValueError, match="same value .*undefined"):
        _eval(flat, None)


def test_undefined_correlations_are_nan_not_zero():
    m = ranking_metrics(np.ones(10), np.arange(10.0))
    assert all(np.isnan(m[k]) for k in ("kendall_tau", "spearman", "pearson"))
    m = ranking_metrics(np.arange(10.0), np.ones(10))  # a predictor that ranks nothing
    assert m["kendall_tau"] == 0.0
    with pytest.raises(ValueError, match="NaN or inf"):
        ranking_metrics(np.arange(3.0), np.array([1.0, np.nan, 2.0]))


def test_cli_prints_undefined_for_a_constant_test_set(tmp_path, capsys):
    """A log whose target has 26 equal values and 4 others: find a seed whose test rows are all
    equal, and check the summary says "undefined" for it instead of a number."""
    bench = data.load("nb201-cifar10").subset(range(30))
    y = np.full(30, 50.0)
    y[:4] = [60.0, 61.0, 62.0, 63.0]
    bench.metrics["baseline_accuracy"] = y
    log = tmp_path / "log.csv"
    data.write_results(bench, log)
    seed = next(s for s in range(200)
                if np.ptp(y[train_test_split(bench, "baseline_accuracy", 26,
                                             np.random.default_rng(s))[1]]) == 0)
    rc = main(["-q", "evaluate", "--log", str(log), "--space", "nb201", "-t", "baseline_accuracy",
               "-p", "rf", "--train-sizes", "26", "--seeds", str(seed + 1), "--out",
               str(tmp_path / "ev"), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0 and "undefined" in out
    table = pd.read_csv(tmp_path / "ev" / "results.csv")
    assert table.loc[table.seed == seed, "kendall_tau"].isna().all()


def _source_args(**kw):
    base = {"log": None, "space": None, "benchmark": None, "minimize": [], "maximize": [],
            "target": "baseline_accuracy"}
    return argparse.Namespace(**{**base, **kw})


def test_log_directions_from_the_command_line(small, tmp_path):
    from naspredict.evaluation.cli import load_source

    log = tmp_path / "log.csv"
    small.to_frame().to_csv(log, index=False)  # no sidecar: directions unknown
    metric = next(m for m in small.metric_names if m != "baseline_accuracy")
    plain = load_source(_source_args(log=str(log), space="nb201"))
    assert plain.higher_is_better[metric]
    got = load_source(_source_args(log=str(log), space="nb201", minimize=[f"{metric}"]))
    assert not got.higher_is_better[metric] and got.higher_is_better["baseline_accuracy"]
    bare = load_source(_source_args(log=str(log), space="nb201", minimize=[""]))  # bare flag: the target
    assert not bare.higher_is_better["baseline_accuracy"]
    with pytest.raises(ValueError, match="both --minimize and --maximize"):
        load_source(_source_args(log=str(log), space="nb201", minimize=[metric], maximize=[metric]))
    with pytest.raises(ValueError, match="unknown metric"):
        load_source(_source_args(log=str(log), space="nb201", minimize=["no_such_metric"]))
    with pytest.raises(ValueError, match="directions are known"):
        load_source(_source_args(benchmark="nb201-cifar10", minimize=[metric]))


def test_cli_direction_and_top_errors_exit_2(tmp_path, capsys):
    rc = main(["evaluate", "-b", "nb201-cifar10", "-t", "baseline_accuracy", "--minimize",
               "--out", str(tmp_path), "--no-progress"])
    assert rc == 2 and "directions are known" in capsys.readouterr().err
    rc = main(["evaluate", "-b", "nb201-cifar10", "-t", "baseline_accuracy", "--seeds", "0",
               "--out", str(tmp_path), "--no-progress"])
    assert rc == 2 and "empty grid" in capsys.readouterr().err
    assert not (tmp_path / "results.csv").exists()
    rc = main(["predict", str(tmp_path / "model.nspm"), "--archs", str(tmp_path / "a.txt"), "--top", "-1"])
    assert rc == 2 and "--top -1" in capsys.readouterr().err
