"""SPOS supernet training, BN recalibration and the one-shot evaluator on real digits (8x8,
an NB201 supernet at C=4, N=1: a few seconds per supernet)."""
from __future__ import annotations

import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from naspredict.evaluators import OneShotEvaluator, evaluate_many
from naspredict.oneshot import spos
from naspredict.spaces import get_space
from naspredict.trials import Fidelity, TrialState

SPACE = get_space("nb201")
TINY = dict(channels=4, cells=1, batch_size=64, device="cpu", bn_batches=2)


def _archs(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return [SPACE.sample(rng) for _ in range(n)]


@pytest.fixture(scope="module")
def digits():
    from naspredict.training import load_images
    return load_images("digits", seed=0)


@pytest.fixture(scope="module")
def trained():
    ev = OneShotEvaluator("nb201", "digits", epochs=3, seed=0, **TINY)
    ev.prepare()
    return ev


def test_training_the_supernet_raises_the_one_shot_scores(trained, digits):
    spec = spos.SupernetSpec("nb201", channels=4, cells=1, n_classes=10, input_shape=(1, 8, 8), seed=0)
    untrained = OneShotEvaluator("nb201", digits, supernet=spos.build_supernet(spec), **TINY)
    archs = _archs(8)
    before = np.mean([r.metrics["val_accuracy"] for r in evaluate_many(untrained, archs)])
    after = np.mean([r.metrics["val_accuracy"] for r in evaluate_many(trained, archs)])
    # an untrained net is at chance (10 %); 3 epochs of single-path training reach ~30 %
    assert before < 15.0 and after > before + 8.0, (before, after)


def test_bn_recalibration_is_per_arch(trained):
    net = trained.supernet
    task = trained._task_on("cpu")
    batches = spos.bn_batches_of(task, 2, seed=0)
    stem_bn = net.stem[1]
    cell_bns = [m for m in net.cells[0].modules() if isinstance(m, torch.nn.BatchNorm2d)]
    a, b = SPACE.from_str("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"), \
        SPACE.from_str("|nor_conv_1x1~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_1x1~2|")
    trained_stats = [m.running_mean.clone() for m in cell_bns]
    momenta = [m.momentum for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    spos.recalibrate_bn(net, a, batches)
    assert not net.training
    assert [m.momentum for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)] == momenta
    stats_a = [m.running_mean.clone() for m in cell_bns]
    stem_a = stem_bn.running_mean.clone()
    assert any(not torch.equal(x, y) for x, y in zip(stats_a, trained_stats)), "recalibration changed nothing"
    # a's path uses only 3x3 convs: the BNs of the other ops are reset (mean 0)
    assert sum(int(torch.count_nonzero(s)) > 0 for s in stats_a) == 6
    spos.recalibrate_bn(net, b, batches)
    stats_b = [m.running_mean.clone() for m in cell_bns]
    assert torch.equal(stem_bn.running_mean, stem_a)  # the stem sees the same batches whatever the cell
    assert any(not torch.equal(x, y) for x, y in zip(stats_a, stats_b))
    spos.recalibrate_bn(net, a, batches)
    assert all(torch.equal(x, m.running_mean) for x, m in zip(stats_a, cell_bns))  # a cumulative average: same batches, same stats
    # the evaluator recalibrates per arch: a's score does not depend on what was scored before
    r1 = trained.evaluate(a)
    trained.evaluate(b)
    assert trained.evaluate(a).metrics == r1.metrics


def test_same_seed_same_scores_other_seed_other_scores():
    archs = _archs(4, seed=1)
    runs = [evaluate_many(OneShotEvaluator("nb201", "digits", epochs=1, seed=s, **TINY), archs) for s in (3, 3, 4)]
    m = [[r.metrics for r in rs] for rs in runs]
    assert m[0] == m[1]
    assert m[0] != m[2]
    r = runs[0][0]
    assert r.state is TrialState.COMPLETE and r.info["oneshot"] is True and r.cost > 0
    assert set(r.metrics) == {"val_accuracy", "val_loss", "test_accuracy", "test_loss", "params"}
    assert r.info["supernet"]["source"] == "trained" and r.info["supernet"]["train_seconds"] > 0


def test_through_the_run_loop(trained):
    from naspredict.search import make_strategy
    from naspredict.search.loop import run
    trace = run(make_strategy("random", "nb201", "val_accuracy", seed=0), trained, 5, progress=False)
    assert len(trace.frame) == 5 and (trace.frame["status"] == "ok").all()
    assert trace.frame["val_accuracy"].between(0, 100).all()


def test_pickles_with_its_weights_not_its_data(trained, monkeypatch):
    archs = _archs(3, seed=2)
    expected = [r.metrics for r in evaluate_many(trained, archs)]
    blob = pickle.dumps(trained)
    assert len(blob) < 1_000_000  # weights of a C=4 supernet, no data set
    monkeypatch.setattr(spos, "train_supernet", lambda *a, **k: pytest.fail("a worker retrained the supernet"))
    copy = pickle.loads(blob)
    assert copy._data is None
    assert [r.metrics for r in evaluate_many(copy, archs)] == expected


def test_save_load_and_a_given_supernet(trained, tmp_path, digits):
    archs = _archs(3, seed=3)
    expected = [r.metrics for r in evaluate_many(trained, archs)]
    path = trained.save(tmp_path / "supernet.pt")
    loaded = OneShotEvaluator("nb201", "digits", supernet=path, **TINY)
    assert [r.metrics for r in evaluate_many(loaded, archs)] == expected
    net, spec, extra = spos.load_supernet(path)
    assert spec == trained._spec and extra["history"].epochs == 3
    # a DARTS-style result object (anything with .supernet) is used as it is
    given = OneShotEvaluator("nb201", digits, supernet=SimpleNamespace(supernet=net), **TINY)
    got = [r.metrics for r in evaluate_many(given, archs)]
    assert [g["val_accuracy"] for g in got] == [e["val_accuracy"] for e in expected]
    assert pickle.loads(pickle.dumps(given)).evaluate(archs[0]).metrics == got[0]


def test_errors(trained, tmp_path):
    with pytest.raises(ValueError, match="one fidelity"):
        trained.evaluate(_archs(1)[0], Fidelity(epochs=2))
    with pytest.raises(ValueError):
        trained.evaluate("not an arch")
    with pytest.raises(ValueError, match="no saved supernet"):
        OneShotEvaluator("nb201", "digits", supernet=tmp_path / "missing.pt")
    with pytest.raises(ValueError, match="bn_batches"):
        OneShotEvaluator("nb201", "digits", bn_batches=-1)
    from naspredict.training import TrainConfig
    bad = OneShotEvaluator("nb201", "digits", epochs=1, config=TrainConfig(lr=50.0, max_loss=3.0), **TINY)
    r = bad.evaluate(_archs(1)[0])
    assert r.state is TrialState.FAILED and "supernet training failed" in r.error
