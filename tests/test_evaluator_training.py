"""TrainingEvaluator: real training on real data (Fashion-MNIST, digits) through the run loop.

Tiny networks (NB201 C=4, N=1) and few epochs keep each training to about a second on one
CPU thread; the real sizes are in benchmarks/training.py.
"""
from __future__ import annotations

import math
import os

import pytest
import torch

from naspredict.evaluators.training import TrainingEvaluator
from naspredict.executors import make_executor
from naspredict.search import make_strategy
from naspredict.search.base import Proposal
from naspredict.search.loop import run
from naspredict.spaces import get_space
from naspredict.training import TrainConfig
from naspredict.trials import Fidelity, TrialState

FMNIST = "/usr/share/datasets/fashion-mnist"
SPACE = get_space("nb201")
CONV = SPACE.from_str("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
POOL = SPACE.from_str("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")


def tiny(data="digits", **kw) -> TrainingEvaluator:
    kw.setdefault("epochs", 2)
    kw.setdefault("profile", False)
    return TrainingEvaluator("nb201", data, channels=4, cells=1, device="cpu", **kw)


@pytest.mark.skipif(not os.path.isdir(FMNIST), reason=f"Fashion-MNIST idx files not at {FMNIST} "
                    "(apt-get install dataset-fashion-mnist; .ci/run does)")
def test_one_epoch_on_a_fashion_mnist_subset_beats_chance_clearly():
    ev = TrainingEvaluator("nb201", "fashion-mnist", config=TrainConfig(epochs=1, batch_size=64), channels=8,
                           cells=1, data_fraction=0.05, resolution=16, val_fraction=0.05, device="cpu",
                           profile="static")
    r = ev.evaluate(CONV)
    assert r.state is TrialState.COMPLETE, r.error
    assert r.metrics["val_accuracy"] > 40 and r.metrics["test_accuracy"] > 40, r.metrics  # chance: 10 %
    assert r.info["data"]["n_train"] == pytest.approx(0.05 * 57000, rel=0.02)
    assert r.info["data"]["input_shape"] == [1, 16, 16]
    assert r.metrics["params"] == sum(p.numel() for p in ev.build(CONV, channels=8, cells=1).parameters())
    assert r.metrics["flops"] > 0 and "latency_ms" not in r.metrics


def test_same_seed_same_curve_in_any_order_other_seed_differs():
    a, b = tiny(), tiny()
    first = [a.evaluate(x).curves for x in (CONV, POOL)]
    second = [b.evaluate(x).curves for x in (POOL, CONV)][::-1]
    assert first == second
    assert tiny(seed=1).evaluate(CONV).curves != first[0]


def test_result_has_curves_metrics_profile_and_device():
    r = tiny(profile=True).evaluate(CONV)
    assert r.ok
    assert set(r.curves) == {"train", "val", "train_loss", "val_loss"} and len(r.curves["val"]) == 2
    for k in ("val_accuracy", "test_accuracy", "train_loss", "params", "flops", "latency_ms"):
        assert math.isfinite(r.metrics[k]), k
    assert r.metrics["val_accuracy"] == r.curves["val"][-1]
    assert set(r.info["latency_ms_by_batch"]) == {"1", "64"}
    assert r.info["device"] == "cpu" and r.cost > 0


def test_fidelity_changes_width_depth_data_and_epochs():
    ev = tiny(epochs=3)
    r = ev.evaluate(CONV, Fidelity(epochs=1, channels=8, data_fraction=0.5))
    assert len(r.curves["val"]) == 1
    assert r.info["data"]["n_train"] < ev.evaluate(CONV, Fidelity(epochs=1)).info["data"]["n_train"]
    with pytest.raises(ValueError, match="more than the full schedule"):
        ev.evaluate(CONV, Fidelity(epochs=4))
    with pytest.raises(ValueError, match="data_fraction"):
        ev.evaluate(CONV, Fidelity(data_fraction=1.5))


def test_a_pruned_trial_keeps_its_partial_curves():
    r = tiny(epochs=3).evaluate(CONV, report=lambda epoch, row: epoch == 1)
    assert r.state is TrialState.PRUNED
    assert len(r.curves["val"]) == 1 and "test_accuracy" not in r.metrics


class PlantedNaN(TrainingEvaluator):
    """Trains normally, except that one arch's network outputs NaN."""

    def build(self, arch, **kw):
        model = super().build(arch, **kw)
        if arch == POOL:
            model.register_forward_hook(lambda m, i, out: out * float("nan"))
        return model


def test_a_planted_nan_fails_that_trial_and_the_search_goes_on():
    ev = PlantedNaN("nb201", "digits", epochs=1, channels=4, cells=1, device="cpu", profile=False)
    r = ev.evaluate(POOL)
    assert r.state is TrialState.FAILED and "non-finite" in r.error and "epoch 1" in r.error
    strategy = make_strategy("random", SPACE, target="val_accuracy", seed=0)
    # POOL first, then random cells: the failed trial does not stop the search
    original_ask = strategy.ask
    queue = [POOL]

    def ask(n=1):
        if queue:
            return [Proposal(queue.pop())] + (original_ask(n - 1) if n > 1 else [])
        return original_ask(n)

    strategy.ask = ask
    trace = run(strategy, ev, 4, progress=False)
    states = list(trace.frame["status"])
    assert len(states) == 4 and states.count("failed") == 1 and states[0] == "failed", states
    assert states[1:] == ["ok"] * 3


def test_any_error_while_training_is_a_failed_result_naming_it(monkeypatch):
    ev = tiny()
    monkeypatch.setattr(ev, "load_data", lambda *a, **k: (_ for _ in ()).throw(OSError("disk gone")))
    r = ev.evaluate(CONV)
    assert r.state is TrialState.FAILED and "OSError: disk gone" in r.error
    with pytest.raises(ValueError):
        tiny().evaluate("not an arch")  # bad arguments raise instead


def test_continuing_from_a_checkpoint_equals_training_straight_through(tmp_path):
    ev = tiny(epochs=3, checkpoint_dir=tmp_path)
    short = ev.evaluate(CONV, Fidelity(epochs=1))
    long = ev.evaluate(CONV, Fidelity(epochs=3))
    assert long.info["continued_from"] == 1 and long.info["warm_restart"] is False
    straight = tiny(epochs=3).evaluate(CONV, Fidelity(epochs=3))
    assert long.curves == straight.curves
    assert long.metrics["test_accuracy"] == straight.metrics["test_accuracy"]
    assert long.curves["val"][:1] == short.curves["val"]
    again = ev.evaluate(CONV, Fidelity(epochs=3))  # a full checkpoint: nothing left to train
    assert again.curves == straight.curves and again.info["continued_from"] == 3


def test_the_callers_rng_is_untouched():
    torch.manual_seed(7)
    state = torch.get_rng_state()
    tiny(epochs=1).evaluate(CONV)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_parallel_executors_give_the_serial_results(executor):
    if executor == "ray":
        pytest.importorskip("ray")
    ev = tiny(epochs=1)

    def curves(ex):
        strategy = make_strategy("random", SPACE, target="val_accuracy", seed=3)
        try:
            run(strategy, ev, 3, executor=ex, progress=False)
        finally:
            if ex is not None:
                ex.shutdown()
        return {SPACE.to_str(a): r.curves for a, r in strategy.history}

    kw = {"init_kwargs": {"num_cpus": 2, "include_dashboard": False}} if executor == "ray" else {}
    assert curves(make_executor(executor, 2, **kw)) == curves(None)


def test_a_gnn_trains_on_a_real_graph_that_ships_with_pyg():
    """nbgraph on Zachary's karate club (34 nodes, 4 classes; no NAS-Bench-Graph data set can be
    downloaded here, so the tables' own data sets are only read from a user's folder)."""
    space = get_space("nbgraph")
    arch = space.from_str("link=0,1,2,3;ops=gcn,sage,fc,gat")
    ev = TrainingEvaluator(space, "karate", epochs=60, channels=32, device="cpu", profile="static")
    r = ev.evaluate(arch)
    assert r.ok, r.error
    assert len(r.curves["val"]) == 60
    # 4 classes, the largest holds 13 of 34 nodes: fitting the training nodes shows learning
    assert r.curves["train"][-1] > 70 and r.curves["train_loss"][-1] < 0.5 * r.curves["train_loss"][0]
    assert r.metrics["params"] > 0 and r.info["data"]["input_shape"] == [34]
    assert ev.config.optimizer == "adam"
