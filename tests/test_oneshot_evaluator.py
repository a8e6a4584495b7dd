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
    runs = [evaluate_many(OneShotEvaluator("nb201", "digits", epochs=1, seed=s, data_fraction=0.3, **TINY), archs)
            for s in (3, 3, 4)]
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


# -- FairNAS strict fairness (Chu et al., ICCV 2021) -------------------------------------------

def test_fair_sampler_uses_every_op_of_every_edge_once_per_step():
    sampler = spos.fair_sampler(SPACE)
    rng = np.random.default_rng(5)
    for step in range(20):
        paths = sampler(step, rng)
        assert isinstance(paths, list) and len(paths) == len(SPACE.choices()[0]) == 5
        for e, choice in enumerate(SPACE.choices()):
            assert sorted(a.ops[e] for a in paths) == sorted(choice.options), (step, e)
    # the same generator state draws the same paths; another seed others
    again = [spos.fair_sampler(SPACE)(0, np.random.default_rng(s)) for s in (7, 7, 8)]
    assert again[0] == again[1] and again[0] != again[2]
    # darts: choices of fewer options than m (20) are used floor/ceil(m / k) times each
    darts = get_space("darts")
    paths = spos.fair_sampler(darts)(0, np.random.default_rng(0))
    index = np.array([darts.to_choices(a) for a in paths])
    assert index.shape == (20, len(darts.choices()))
    for i, choice in enumerate(darts.choices()):
        counts = np.bincount(index[:, i], minlength=len(choice))
        assert counts.min() == 20 // len(choice) and counts.max() == -(-20 // len(choice)), (i, counts)
    assert len(spos.fair_sampler(darts, paths=7)(0, np.random.default_rng(0))) == 7
    with pytest.raises(ValueError, match="choices schema"):
        spos.fair_sampler(SimpleNamespace(name="x", has_choices=False))
    with pytest.raises(ValueError, match="sampler must be"):
        spos.make_sampler("fairest", SPACE)


def _tiny_trainer(digits, seed=0, epochs=1):
    from naspredict.training import TrainConfig
    spec = spos.SupernetSpec("nb201", channels=4, cells=1, n_classes=10, input_shape=(1, 8, 8), seed=seed)
    net = spos.build_supernet(spec)
    return spos.SupernetTrainer(net, digits, TrainConfig(epochs=epochs, batch_size=64), seed=seed)


def test_fair_step_sums_the_gradients_of_all_its_paths(digits, monkeypatch):
    import copy
    import torch.nn.functional as F
    trainer = _tiny_trainer(digits)
    net = trainer.supernet
    start = copy.deepcopy(net)
    seen = {}
    fair = spos.fair_sampler(SPACE)

    def sampler(step, rng):
        seen.setdefault("paths", fair(step, rng))
        return seen["paths"] if step == 0 else fair(step, rng)

    def record(module, args):  # returns None: a pre-hook's return value would replace the input
        seen.setdefault("x", args[0].detach().clone())

    hook = net.register_forward_pre_hook(record)
    calls: dict = {}
    op_hooks = [op.register_forward_hook(lambda m, a, out, key=(k, o): calls.__setitem__(key, calls.get(key, 0) + 1)
                                         if "grads" not in seen else None)
                for k, (_, mixed) in enumerate(net.mixed_ops()) for o, op in enumerate(mixed.ops)]
    cross_entropy = F.cross_entropy

    def loss(logits, y, **kw):  # records the first step's labels
        seen.setdefault("y", y.clone())
        return cross_entropy(logits, y, **kw)

    monkeypatch.setattr(spos.F, "cross_entropy", loss)
    step = trainer.optimizer.step

    def capture(*a, **k):
        if "grads" not in seen:
            seen["grads"] = {n: p.grad.detach().clone() for n, p in net.named_parameters() if p.grad is not None}
        return step(*a, **k)

    trainer.optimizer.step = capture
    trainer.epoch(sampler)
    hook.remove()
    for h in op_hooks:
        h.remove()
    # the first step's 5 paths ran every op of every edge exactly once
    assert calls == {(k, o): 1 for k, (_, mixed) in enumerate(net.mixed_ops()) for o in range(len(mixed.ops))}
    assert trainer.history.paths == 5 * trainer.history.steps and trainer.history.steps > 0
    # the reference: each path's gradient on the same batch from the same starting weights, summed
    monkeypatch.undo()
    y = seen["y"]
    start.train()
    total: dict = {}
    covered = set()
    for arch in seen["paths"]:
        start.zero_grad(set_to_none=True)
        F.cross_entropy(start(seen["x"], arch=arch), y).backward()
        one = {n: p.grad.clone() for n, p in start.named_parameters() if p.grad is not None}
        covered |= {n for n, g in one.items() if torch.count_nonzero(g)}
        for n, g in one.items():
            total[n] = total.get(n, 0) + g
    assert set(total) == set(seen["grads"])
    for n, g in total.items():
        assert torch.allclose(g, seen["grads"][n], atol=1e-5, rtol=1e-4), n
    # a single path (the last) trains fewer of the edges' convs than the sum of the 5 does
    one_path = {n for n, p in start.named_parameters() if p.grad is not None and torch.count_nonzero(p.grad)}
    assert {n for n in one_path if "cells" in n} < {n for n in covered if "cells" in n}


def test_fair_training_is_seeded_and_reaches_the_evaluator():
    from naspredict.training import load_images
    few = load_images("digits", seed=0, data_fraction=0.3)
    states = []
    for seed in (0, 0, 1):
        trainer = _tiny_trainer(few, seed=seed)
        trainer.epoch("fair")
        states.append({k: v.clone() for k, v in trainer.supernet.state_dict().items()})
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not all(torch.equal(states[0][k], states[2][k]) for k in states[0])
    archs = _archs(3, seed=4)
    kw = dict(epochs=1, seed=0, data_fraction=0.3, **TINY)
    fair = [r.metrics for r in evaluate_many(OneShotEvaluator("nb201", "digits", sampler="fair", **kw), archs)]
    uniform = [r.metrics for r in evaluate_many(OneShotEvaluator("nb201", "digits", sampler="uniform", **kw), archs)]
    assert fair != uniform
    with pytest.raises(ValueError, match="sampler"):
        OneShotEvaluator("nb201", "digits", sampler="fairest")


def test_bn_batch_statistics_at_scoring(trained):
    arch = _archs(1, seed=6)[0]
    net = trained.supernet
    task = trained._task_on("cpu")
    recal = spos.score(net, arch, task, "val", 2)
    kept = [m.running_mean.clone() for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    batch = spos.score(net, arch, task, "val", bn_mode="batch")
    assert batch != recal and all(np.isfinite(batch))
    after = [m.running_mean for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.equal(a, b) for a, b in zip(kept, after))  # the running statistics are untouched
    ev = pickle.loads(pickle.dumps(trained))
    ev.bn_mode = "batch"
    r = ev.evaluate(arch)
    assert r.metrics["val_accuracy"] == pytest.approx(batch[0]) and r.info["bn_mode"] == "batch"
    with pytest.raises(ValueError, match="bn_mode"):
        spos.score(net, arch, task, "val", bn_mode="train")
