"""mtgp: the multi-fidelity / multi-task GP on real NB201 tables (subsampled, one thread)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from naspredict import data
from naspredict.predictors import accepting, make
from naspredict.predictors.gp import GPPredictor
from naspredict.predictors.mtgp import MultiTaskGPPredictor
from naspredict.trials import FULL, Fidelity

FAST = dict(n_iter=60, max_hyper_points=200)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    from naspredict.torch_utils import set_threads
    set_threads(1)


@pytest.fixture(scope="module")
def nb201():
    """12-epoch table, full values keyed by canonical form, a fixed random order of cells."""
    b12 = data.load("nb201-12epoch")
    bf = data.load("nb201-cifar10")
    sp = bf.space
    full = dict(zip((sp.canonical(a) for a in bf.archs), bf.values("baseline_accuracy")))
    order = np.random.default_rng(0).permutation(len(b12.archs))
    return b12, sp, full, order


def _rows(b12, idx, col):
    return [b12.archs[i] for i in idx], b12.values(col)[idx]


def test_registry_and_declared_inputs():
    assert "mtgp" in accepting("fidelity") and "mtgp" in accepting("task")
    m = make("mtgp", space="nb201")
    assert isinstance(m, MultiTaskGPPredictor) and m.supports_std and m.joint_samples


def test_fidelity_lifts_full_level_prediction(nb201):
    """Cells seen only at 12 epochs are predicted at 200 from their short runs: better than a
    single-level GP on the few 200-epoch points alone (planted: the 200-level values of 30
    cells, the 12-level values of 150)."""
    b12, sp, full, order = nb201
    low_idx, full_idx, test_idx = order[:150], order[:30], order[30:150]
    a12, y12 = _rows(b12, low_idx, "cifar10-test")
    aF = [b12.archs[i] for i in full_idx]
    yF = np.array([full[sp.canonical(a)] for a in aF])
    test = [b12.archs[i] for i in test_idx]
    truth = np.array([full[sp.canonical(a)] for a in test])
    fid = np.r_[np.full(len(a12), 12.0), np.full(len(aF), 200.0)]
    m = MultiTaskGPPredictor(space="nb201", **FAST).fit(a12 + aF, np.r_[y12, yF], fidelity=fid)
    mu = m.predict(test, fidelity=200)
    g = GPPredictor(space="nb201", calibrate_std=None, n_iter=60).fit(aF, yF).predict(test)
    tau_m, tau_g = kendalltau(mu, truth)[0], kendalltau(g, truth)[0]
    err_m, err_g = np.median(np.abs(mu - truth)), np.median(np.abs(g - truth))
    assert tau_m > tau_g + 0.05, (tau_m, tau_g)
    assert err_m < 0.7 * err_g, (err_m, err_g)


def test_planted_shift_is_learned(nb201):
    """A planted offset between two levels (200-level = 12-level value + 5 points) is
    recovered for cells seen only at the low level."""
    b12, _, _, order = nb201
    a, y = _rows(b12, order[:120], "cifar10-test")
    hi = list(range(20))
    fid = np.r_[np.full(len(a), 12.0), np.full(len(hi), 200.0)]
    ys = np.r_[y, y[hi] + 5.0]
    m = MultiTaskGPPredictor(space="nb201", target_transform="standard", **FAST).fit(
        a + [a[i] for i in hi], ys, fidelity=fid)
    rest = [a[i] for i in range(20, 120)]
    shift = m.predict(rest, fidelity=200) - m.predict(rest, fidelity=12)
    assert abs(np.median(shift) - 5.0) < 1.0, np.median(shift)
    # for cells never seen, the two levels stay strongly correlated (a shift is no disagreement)
    unseen = [b12.archs[i] for i in order[120:220]]
    fp = m.fidelity_pair(unseen, 12, 200)
    assert np.median(fp.corr) > 0.8 and np.all(fp.std_low > 0) and fp.noise_std > 0
    # a cell's own short run pins its low level: what is left correlates less
    assert np.median(m.fidelity_pair(rest, 12, 200).corr) < np.median(fp.corr)


def test_tasks_transfer_between_data_sets(nb201):
    """Two NB201 data sets of nb201-12epoch as two tasks: 150 CIFAR-100 values help predict
    CIFAR-10 for cells with only 20 CIFAR-10 values (vs a GP on the 20 alone)."""
    b12, _, _, order = nb201
    src, y_src = _rows(b12, order[:150], "cifar100-test")
    tgt, y_tgt = _rows(b12, order[:20], "cifar10-test")
    test, truth = _rows(b12, order[20:150], "cifar10-test")
    task = ["cifar100"] * len(src) + ["cifar10"] * len(tgt)
    m = MultiTaskGPPredictor(space="nb201", **FAST).fit(src + tgt, np.r_[y_src, y_tgt], task=task)
    mu, sd = m.predict(test, return_std=True, task="cifar10")
    g = GPPredictor(space="nb201", calibrate_std=None, n_iter=60).fit(tgt, y_tgt).predict(test)
    assert kendalltau(mu, truth)[0] > kendalltau(g, truth)[0] + 0.1
    assert np.all(sd > 0)
    # per-task scale: CIFAR-100 predictions live in CIFAR-100 units
    assert np.median(m.predict(test, task="cifar100")) < np.median(mu) - 10
    with pytest.raises(ValueError, match="not in fit"):
        m.predict(test[:2], task="imagenet")


def test_fidelity_and_task_together_and_contract(nb201):
    b12, _, _, order = nb201
    a, y10 = _rows(b12, order[:40], "cifar10-test")
    _, y100 = _rows(b12, order[:40], "cifar100-test")
    archs = a + a
    y = np.r_[y10, y100]
    fid = [Fidelity(epochs=12)] * 40 + [12] * 40  # a Fidelity with epochs is its epochs
    task = ["c10"] * 40 + ["c100"] * 40
    m = MultiTaskGPPredictor(space="nb201", n_iter=20).fit(archs, y, fidelity=fid, task=task)
    post = m.posterior(a[:5], n_samples=4, seed=1, fidelity=200, task="c10")
    assert post.samples.shape == (4, 5) and post.joint
    again = m.posterior(a[:5], n_samples=4, seed=1, fidelity=200, task="c10")
    np.testing.assert_array_equal(post.samples, again.samples)
    with pytest.raises(ValueError, match="fitted with"):
        m.predict(a[:3], fidelity=12)  # task= missing
    with pytest.raises(ValueError, match="full level"):
        m.predict(a[:3], fidelity=FULL, task="c10")
    # same seed, same model
    m2 = MultiTaskGPPredictor(space="nb201", n_iter=20).fit(archs, y, fidelity=fid, task=task)
    np.testing.assert_array_equal(m.predict(a, fidelity=12, task="c10"),
                                  m2.predict(a, fidelity=12, task="c10"))


def test_warm_start_conditions_without_refitting(nb201, tmp_path):
    b12, _, _, order = nb201
    a, y = _rows(b12, order[:60], "cifar10-test")
    fid = np.r_[np.full(50, 12.0), np.full(10, 200.0)]
    m = MultiTaskGPPredictor(space="nb201", n_iter=30).fit(a, y, fidelity=fid)
    w = MultiTaskGPPredictor(space="nb201", n_iter=0, warm_start=m.hyperparameters_).fit(a, y, fidelity=fid)
    np.testing.assert_allclose(w.predict(a[:10], fidelity=200), m.predict(a[:10], fidelity=200), rtol=1e-9)
    from naspredict.predictors import load_predictor, save_predictor
    save_predictor(m, tmp_path / "mtgp.nspm")
    back = load_predictor(tmp_path / "mtgp.nspm")
    np.testing.assert_array_equal(back.predict(a[:10], fidelity=200), m.predict(a[:10], fidelity=200))
    with pytest.raises(ValueError, match="warm_start does not match"):
        MultiTaskGPPredictor(space="nb201", n_iter=0, warm_start=m.hyperparameters_).fit(
            a, y, fidelity=fid, task=["x"] * 30 + ["y"] * 30)


@pytest.mark.parametrize("bad, match", [(dict(kernel="poly"), "kernel"),
                                        (dict(fidelity_bounds=(200, 12)), "fidelity_bounds"),
                                        (dict(fidelity_corr=1.0), "fidelity_corr"),
                                        (dict(task_rank=0), "task_rank")])
def test_bad_parameters(nb201, bad, match):
    b12, _, _, order = nb201
    a, y = _rows(b12, order[:5], "cifar10-test")
    with pytest.raises(ValueError, match=match):
        MultiTaskGPPredictor(space="nb201", n_iter=1, **bad).fit(a, y, fidelity=12)
