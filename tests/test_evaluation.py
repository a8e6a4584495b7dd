import numpy as np
import pandas as pd
import pytest

from naspredict import data
from naspredict.evaluation import COLUMNS, evaluate, plot_metric_vs_size, plot_pred_vs_true, train_test_split
from naspredict.metrics import interval_coverage, precision_at_top, ranking_metrics


def test_metrics_known_values():
    y = np.arange(100, dtype=float)
    m = ranking_metrics(y, y)
    assert m["kendall_tau"] == pytest.approx(1) and m["mae"] == 0 and m["precision_top5"] == 1
    m = ranking_metrics(y, -y)
    assert m["kendall_tau"] == pytest.approx(-1) and m["pearson"] == pytest.approx(-1)
    assert m["precision_top1"] == 0
    # top-5% of 100 is 5 items; predicting 3 of them in the top set gives 0.6
    pred = y.copy()
    pred[[99, 98]] = -1
    assert precision_at_top(y, pred, 0.05) == pytest.approx(0.6)
    rng = np.random.default_rng(0)
    z = rng.normal(size=20000)
    assert interval_coverage(z, np.zeros_like(z), np.ones_like(z), 0.95) == pytest.approx(0.95, abs=0.01)


def test_splits_disjoint_and_mutation(nb201):
    rng = np.random.default_rng(0)
    tr, te = train_test_split(nb201, "baseline_accuracy", 100, rng, "uniform", 500)
    assert len(tr) == 100 and len(te) == 500 and not set(tr) & set(te)
    tr, te = train_test_split(nb201, "baseline_accuracy", 60, np.random.default_rng(0), "mutation")
    assert len(set(tr)) == 60 and len(te) == len(nb201) - 60
    # mutation-based training sets concentrate on good cells
    y = nb201.values("baseline_accuracy")
    assert np.median(y[tr]) > np.median(y)
    with pytest.raises(ValueError, match="unknown split"):
        train_test_split(nb201, "baseline_accuracy", 10, rng, "zigzag")


def test_evaluate_grid_resume_and_plots(nb201, tmp_path):
    out = tmp_path / "res.csv"
    res = evaluate(nb201, "baseline_accuracy", {"rf": "rf", "xgb": "xgb"}, [30, 60], [0, 1],
                   test_size=300, out_csv=out, progress=False)
    t = res.table
    assert list(t.columns) == COLUMNS and len(t) == 8
    assert t["coverage_95"].notna().sum() == 4  # rf gives std, xgb does not
    assert (t["kendall_tau"] > 0.1).all()
    assert t[t.predictor == "rf"]["kendall_tau"].min() > 0.5
    assert res.summary().shape == (2, 2)
    # resume: nothing is re-run, the table is the same
    again = evaluate(nb201, "baseline_accuracy", {"rf": "rf", "xgb": "xgb"}, [30, 60], [0, 1],
                     test_size=300, out_csv=out, progress=False)
    assert len(pd.read_csv(out)) == 8 and again.table["kendall_tau"].tolist() == t["kendall_tau"].tolist()
    plot_metric_vs_size(t, tmp_path / "tau.png")
    assert (tmp_path / "tau.png").stat().st_size > 5000
    yt, yp = res.predictions[("rf", 60, 0)]
    plot_pred_vs_true(yt, yp, tmp_path / "pvt.png")
    assert (tmp_path / "pvt.png").stat().st_size > 5000


def test_evaluate_lower_is_better_and_logged(tmp_path):
    cora = data.load("nbgraph-cora").subset(range(3000))
    res = evaluate(cora, "latency", ["rf"], [100], [0], test_size=500, progress=False)
    assert res.table["kendall_tau"].iloc[0] > 0.3


def test_cli_evaluate(tmp_path, capsys):
    from naspredict.cli import main
    rc = main(["evaluate", "-b", "nb201-cifar10", "-t", "baseline_accuracy", "-p", "rf",
               "--train-sizes", "40", "--seeds", "1", "--test-size", "200", "--out", str(tmp_path),
               "--no-progress"])
    assert rc == 0
    assert (tmp_path / "results.csv").exists() and (tmp_path / "tau_vs_size.png").exists()
    assert "wrote" in capsys.readouterr().out
