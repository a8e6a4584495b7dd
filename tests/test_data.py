import json

import numpy as np
import pandas as pd
import pytest

from naspredict import data
from naspredict.spaces import get_space

from .conftest import shared_or_skip

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"


def test_nb201_table(nb201):
    assert len(nb201) == 15625
    top = nb201.top("baseline_accuracy", 1)
    assert top["arch"].iloc[0] == BEST
    assert top["baseline_accuracy"].iloc[0] == pytest.approx(94.0664, abs=1e-9)
    for f in ("ptq_accuracy", "qat_accuracy", "noisy_accuracy", "analog_accuracy",
              "baseline_drift_60", "baseline_drift_60_std", "analog_drift_2592000",
              "analog_drift_2592000_std"):
        assert f in nb201.metric_names
    assert not nb201.higher_is_better["analog_drift_60_std"]
    # first record of the wheel: all skip_connect, drift "87.4944 ± 0.3806" after 60 s
    a = get_space("nb201").from_naslib((0, 0, 0, 0, 0, 0))
    assert nb201.query(a, "analog_drift_60") == pytest.approx(87.4944)
    assert nb201.query(a, "analog_drift_60_std") == pytest.approx(0.3806)


def test_dead_cells_score_exactly_ten(nb201):
    sp = nb201.space
    dead = [i for i, a in enumerate(nb201.archs) if not sp.has_live_path(a)]
    assert len(dead) == 341
    assert np.all(nb201.values("baseline_accuracy")[dead] == 10.0)


def test_nb201_round_trips(nb201):
    sp = nb201.space
    for a in nb201.archs:
        assert sp.from_str(sp.to_str(a)) == a
        assert sp.from_naslib(sp.to_naslib(a)) == a


@pytest.mark.parametrize("ds, rows", [("cora", 26206), ("proteins", 2021)])
def test_nbgraph_tables(ds, rows):
    b = data.load(f"nbgraph-{ds}")
    assert len(b) == rows
    assert b.metric_names == ["valid_perf", "perf", "latency", "para"]
    assert not b.higher_is_better["latency"]
    sp = b.space
    for a in b.archs[:2000]:
        assert sp.from_key(sp.to_key(a)) == a and sp.from_str(sp.to_str(a)) == a


def test_all_nbgraph_tables_load():
    for ds in data.NBGRAPH_DATASETS:
        b = data.load(f"nbgraph-{ds}")
        assert len(b) == (2021 if ds == "proteins" else 26206)
        assert np.isfinite(b.values("valid_perf")).all()


def test_unknown_benchmark():
    with pytest.raises(ValueError, match="unknown benchmark"):
        data.load("nb999")


# ---- shared-data loaders ---------------------------------------------------------------------

def test_naslib_zc_nb201():
    path = shared_or_skip("naslib_zc", "zc_nasbench201.json")
    b = data.load_naslib_zc("nb201", "cifar10", path)
    assert len(b) == 725
    raw = json.load(open(path))["cifar10"]
    sp = b.space
    for a, key in zip(b.archs, raw):
        assert str(sp.to_naslib(a)) == key
    first = next(iter(raw.values()))
    assert b.metrics["jacov"].iloc[0] == pytest.approx(first["jacov"]["score"])
    assert b.metrics["val_accuracy"].iloc[0] == pytest.approx(first["val_accuracy"])
    assert {"jacov", "params", "flops", "nwot", "snip"} <= set(b.metric_names)  # no synflow in this file
    c100 = data.load("nb201-zc-cifar100")
    assert len(c100) == 725


def test_naslib_zc_nb101_and_nb301():
    shared_or_skip("naslib_zc", "zc_nasbench101.json")
    b101 = data.load("nb101-zc")
    assert len(b101) == 500 and b101.space.name == "nb101"
    assert b101.values("val_accuracy").max() > 90
    b301 = data.load("nb301-zc")
    assert len(b301) == 725 and b301.space.name == "darts"


def test_nb201_curves():
    shared_or_skip("nb201_curves", "nb201_curves_200ep.csv")
    b = data.load("nb201-curves")
    assert len(b) == 200
    assert b.curves["val"].shape == (200, 200) and b.curves["train"].shape == (200, 200)
    assert np.allclose(b.values("final_val_accuracy"), b.curves["val"][:, -1])
    # real curves rise: mean over archs of the last epoch beats the first
    assert b.curves["val"][:, -1].mean() > b.curves["val"][:, 0].mean() + 10


def test_nb201_12epoch_matches_full_table(nb201):
    shared_or_skip("nb201_12epoch", "nb201_12epoch_accs.csv")
    b = data.load("nb201-12epoch")
    assert len(b) == 15625 and set(b.archs) == set(nb201.archs)
    # the low fidelity ranks cells like the full training does (real, strong correlation)
    from scipy.stats import spearmanr
    full = np.array([nb201.query(a, "baseline_accuracy") for a in b.archs])
    rho = spearmanr(b.values("cifar10-test"), full).statistic
    assert rho > 0.8


def test_loader_rejects_missing_columns(tmp_path):
    p = tmp_path / "bad.csv"
    pd.DataFrame({"arch": [1], "cifar10-test": [1.0]}).to_csv(p, index=False)
    with pytest.raises(ValueError, match="missing column"):
        data.load_nb201_12epoch(p)


# ---- logged results --------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_logged_round_trip(tmp_path, suffix):
    shared_or_skip("nb201_curves", "nb201_curves_200ep.csv")
    b = data.load("nb201-curves").subset(range(20))
    path = data.write_results(b, tmp_path / f"log{suffix}", curve="val")
    back = data.read_results(path, "nb201")
    assert back.archs == b.archs
    assert np.allclose(back.values("final_val_accuracy"), b.values("final_val_accuracy"))
    assert np.allclose(back.curves["curve"], b.curves["val"])


def _log(tmp_path, rows, name="log.csv"):
    p = tmp_path / name
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def test_logged_bad_data(tmp_path):
    good = BEST
    other = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
    # NaN stays NaN, inf becomes NaN with a warning
    p = _log(tmp_path, {"arch": [good, other], "acc": [np.nan, np.inf]})
    with pytest.warns(UserWarning, match="1 infinite"):
        b = data.read_results(p, "nb201")
    assert np.isnan(b.values("acc")).all()
    assert len(b.dropna("acc")) == 0
    # duplicates are kept, query averages, aggregate merges
    p = _log(tmp_path, {"arch": [good, good, other], "acc": [90.0, 92.0, 50.0]})
    b = data.read_results(p, "nb201")
    assert len(b) == 3 and b.query(b.archs[0], "acc") == pytest.approx(91.0)
    agg = b.aggregate()
    assert len(agg) == 2 and agg.values("acc").tolist() == [91.0, 50.0]
    assert agg.values("n_logged").tolist() == [2.0, 1.0]
    # an unknown arch names its row; "drop" drops it with a warning
    p = _log(tmp_path, {"arch": [good, "|bogus~0|"], "acc": [1.0, 2.0]})
    with pytest.raises(ValueError, match="row 1"):
        data.read_results(p, "nb201")
    with pytest.warns(UserWarning, match="dropped 1"):
        assert len(data.read_results(p, "nb201", on_bad_arch="drop")) == 1
    # a missing arch column, a non-numeric metric
    p = _log(tmp_path, {"cell": [good], "acc": [1.0]})
    with pytest.raises(ValueError, match="no 'arch' column"):
        data.read_results(p, "nb201")
    p = _log(tmp_path, {"arch": [good], "acc": ["high"]})
    with pytest.raises(ValueError, match="not numeric"):
        data.read_results(p, "nb201")
    with pytest.raises(ValueError, match="format"):
        data.read_results(_log(tmp_path, {"arch": [good]}, "log.txt"), "nb201")


def test_query_unknown_arch_and_metric(nb201, tmp_path):
    p = _log(tmp_path, {"arch": [BEST], "acc": [1.0]})
    b = data.read_results(p, "nb201")
    other = nb201.archs[0]
    with pytest.raises(KeyError, match="not in"):
        b.query(other, "acc")
    with pytest.raises(ValueError, match="no metric 'loss'"):
        b.query(b.archs[0], "loss")
