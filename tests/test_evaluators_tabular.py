"""Fidelity-aware table lookups on real NB201 data: epoch-k reads, cost scaling, fidelity
errors, per-epoch replay with pruning, and the joint nb201-mf view."""
import csv
import json
import pickle

import numpy as np
import pytest

from naspredict import data
from naspredict.evaluators import (FidelitySpace, MultiFidelityTableEvaluator, TableLevel,
                                   TabularEvaluator, nb201_mf)
from naspredict.trials import FULL, Fidelity, TrialState

from .conftest import shared_or_skip


@pytest.fixture(scope="module")
def curves_bench():
    shared_or_skip("nb201_curves", "nb201_curves_200ep.csv")
    return data.load("nb201-curves")


@pytest.fixture(scope="module")
def raw_curves():
    """The CSV's val/train curves parsed here, independently of the loader."""
    path = shared_or_skip("nb201_curves", "nb201_curves_200ep.csv")
    with open(path, newline="") as fh:
        return {row["arch_str"]: (json.loads(row["val_accs"]), json.loads(row["train_accs"]))
                for row in csv.DictReader(fh)}


def test_epoch_k_values_are_the_real_curve_values(curves_bench, raw_curves):
    ev = TabularEvaluator(curves_bench)
    assert ev.metric_curves == {"final_val_accuracy": "val", "final_train_accuracy": "train"}
    assert ev.fidelities == FidelitySpace(tuple(range(1, 201)))
    for row in (0, 57, 199):
        arch = curves_bench.archs[row]
        val, train = raw_curves[curves_bench.space.to_str(arch)]
        for k in (1, 12, 100):
            r = ev.evaluate(arch, Fidelity(epochs=k))
            assert r.ok and r.fidelity == Fidelity(epochs=k)
            assert r.metrics["final_val_accuracy"] == pytest.approx(val[k - 1], abs=1e-9)
            assert r.metrics["final_train_accuracy"] == pytest.approx(train[k - 1], abs=1e-9)
            assert np.allclose(r.curves["val"], val[:k]) and np.allclose(r.curves["train"], train[:k])
            # zero-cost proxies are not tied to a curve and not declared static: left out
            assert "synflow" not in r.metrics
        full = ev.evaluate(arch)
        assert full.metrics["final_val_accuracy"] == pytest.approx(val[-1], abs=1e-9)
        assert full.metrics["synflow"] == curves_bench.query(arch, "synflow")
        assert len(full.curves["val"]) == 200
        # epochs = K is the full evaluation, and None means FULL
        assert ev.evaluate(arch, Fidelity(epochs=200)).metrics == full.metrics
        assert ev.evaluate(arch, None).metrics == full.metrics and ev.evaluate(arch, None).fidelity == FULL


def test_static_metrics_and_explicit_mapping(curves_bench):
    arch = curves_bench.archs[5]
    ev = TabularEvaluator(curves_bench, ["final_val_accuracy", "synflow"], curve="val",
                          static_metrics=["synflow"])
    r = ev.evaluate(arch, Fidelity(epochs=30))
    assert r.metrics == {"final_val_accuracy": curves_bench.curves["val"][5, 29],
                         "synflow": curves_bench.query(arch, "synflow")}
    assert list(r.curves) == ["val"]
    # a metric defined by a curve only (not a column of the table)
    ev2 = TabularEvaluator(curves_bench, ["val_accuracy"], metric_curves={"val_accuracy": "val"}, curve=())
    assert ev2.evaluate(arch, Fidelity(epochs=7)).metrics["val_accuracy"] == curves_bench.curves["val"][5, 6]
    assert ev2.evaluate(arch).metrics["val_accuracy"] == curves_bench.curves["val"][5, -1]
    assert ev2.evaluate(arch).curves == {}
    only_proxy = TabularEvaluator(curves_bench, ["synflow"])
    with pytest.raises(ValueError, match="metric_curves"):
        only_proxy.evaluate(arch, Fidelity(epochs=10))
    with pytest.raises(ValueError, match="no such curve"):
        TabularEvaluator(curves_bench, ["final_val_accuracy"], metric_curves={"final_val_accuracy": "loss"})
    with pytest.raises(ValueError, match="does not return"):
        TabularEvaluator(curves_bench, ["synflow"], metric_curves={"final_val_accuracy": "val"})


def test_cost_scales_with_epochs(curves_bench):
    arch = curves_bench.archs[3]
    assert TabularEvaluator(curves_bench).evaluate(arch).cost == 0.0   # no train-time column
    ev = TabularEvaluator(curves_bench, ["final_val_accuracy"], cost_per_epoch=2.5)
    assert ev.evaluate(arch).cost == pytest.approx(500.0)
    assert ev.evaluate(arch, Fidelity(epochs=12)).cost == pytest.approx(30.0)
    with pytest.raises(ValueError, match="not both"):
        TabularEvaluator(curves_bench, cost_column="synflow", cost_per_epoch=1.0)


def test_bad_fidelities_are_rejected_with_the_supported_ones(curves_bench, nb201):
    ev = TabularEvaluator(curves_bench, ["final_val_accuracy"])
    arch = curves_bench.archs[0]
    with pytest.raises(TypeError, match=r"Fidelity\(epochs=12\)"):
        ev.evaluate(arch, 12)
    with pytest.raises(TypeError, match="from_key"):
        ev.evaluate(arch, "epochs=12")
    with pytest.raises(ValueError, match=r"epochs=201.*epochs 1\.\.200"):
        ev.evaluate(arch, Fidelity(epochs=201))
    with pytest.raises(ValueError, match="cannot vary channels"):
        ev.evaluate(arch, Fidelity(epochs=10, channels=8))
    flat = TabularEvaluator(nb201, ["baseline_accuracy"])
    assert flat.fidelities.levels == (FULL,)
    with pytest.raises(ValueError, match="full fidelity only"):
        flat.evaluate(nb201.archs[0], Fidelity(epochs=12))
    with pytest.raises(ValueError, match="cost_per_epoch needs per-epoch curves"):
        TabularEvaluator(nb201, ["baseline_accuracy"], cost_per_epoch=1.0)
    small = curves_bench.subset(range(10))
    failed = TabularEvaluator(small, missing="fail").evaluate(curves_bench.archs[100], Fidelity(epochs=5))
    assert failed.state is TrialState.FAILED and "not in" in failed.error
    assert failed.fidelity == Fidelity(epochs=5)


def test_report_replays_each_epoch_and_prunes(curves_bench):
    ev = TabularEvaluator(curves_bench, ["final_val_accuracy", "synflow"], curve="val", cost_per_epoch=1.0)
    row = 42
    arch, val = curves_bench.archs[row], curves_bench.curves["val"][row]
    seen = []

    def stop_at_37(step, metrics):
        seen.append((step, dict(metrics)))
        return step == 37

    r = ev.evaluate(arch, report=stop_at_37)
    assert r.state is TrialState.PRUNED and r.info["pruned_at"] == 37
    assert [s for s, _ in seen] == list(range(1, 38))
    assert all(m == {"val": val[s - 1]} for s, m in seen)
    assert r.curves["val"] == pytest.approx(val[:37].tolist())
    assert r.metrics == {"final_val_accuracy": val[36]}     # the value at the stop, proxy left out
    assert r.cost == pytest.approx(37.0) and r.fidelity == FULL
    # a partial fidelity replays only its epochs; a stop request at the last epoch changes nothing
    calls = []
    r12 = ev.evaluate(arch, Fidelity(epochs=12), report=lambda s, m: calls.append(s) or s == 12)
    assert calls == list(range(1, 13)) and r12.ok and len(r12.curves["val"]) == 12
    never = ev.evaluate(arch, report=lambda s, m: False)
    assert never.ok and len(never.curves["val"]) == 200 and never.cost == pytest.approx(200.0)
    # the evaluator travels to worker processes
    back = pickle.loads(pickle.dumps(ev))
    assert back.evaluate(arch, Fidelity(epochs=9)).metrics == ev.evaluate(arch, Fidelity(epochs=9)).metrics


def test_nb201_mf_matches_the_two_tables(nb201):
    shared_or_skip("nb201_12epoch", "nb201_12epoch_accs.csv")
    low = data.load("nb201-12epoch")
    ev = nb201_mf()
    assert isinstance(ev, MultiFidelityTableEvaluator)
    assert ev.fidelities.epochs == (12, 200) and ev.metrics == ["test_accuracy"]
    rng = np.random.default_rng(0)
    for i in rng.choice(len(nb201), 25, replace=False):
        arch = nb201.archs[i]
        r12 = ev.evaluate(arch, Fidelity(epochs=12))
        full = ev.evaluate(arch)
        assert r12.metrics == {"test_accuracy": low.query(arch, "cifar10-test")}
        assert full.metrics == {"test_accuracy": nb201.query(arch, "baseline_accuracy")}
        assert (r12.cost, full.cost) == (12.0, 200.0)
        assert ev.evaluate(arch, Fidelity(epochs=200)).metrics == full.metrics
    assert nb201_mf(seconds_per_epoch=3.0).evaluate(nb201.archs[0], Fidelity(epochs=12)).cost == 36.0
    with pytest.raises(ValueError, match="epochs 12, 200"):
        ev.evaluate(nb201.archs[0], Fidelity(epochs=50))
    with pytest.raises(TypeError, match=r"Fidelity\(epochs=12\)"):
        ev.evaluate(nb201.archs[0], 12)
    called = []
    assert ev.evaluate(nb201.archs[0], report=lambda s, m: called.append(s)).ok and called == []
    with pytest.raises(ValueError, match="same metric names"):
        MultiFidelityTableEvaluator([TableLevel(12, low, {"test_accuracy": "cifar10-test"}),
                                     TableLevel(200, nb201, {"acc": "baseline_accuracy"})])
    with pytest.raises(ValueError, match="no column"):
        TableLevel(12, low, {"test_accuracy": "cifar10-testt"})
