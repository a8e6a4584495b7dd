"""GP, GCN and GCN-BLR predictors: contract, learning beyond chance, interval coverage."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau
from sklearn.base import clone

from naspredict.predictors.gcn import (GCNBLRPredictor, GCNPredictor, RankGauss, dense_batch,
                                       dense_graphs)
from naspredict.predictors.gp import GPPredictor

# test-sized settings: small nets, few epochs
FAST = {
    "gp": lambda **kw: GPPredictor(n_iter=50, **kw),
    "gcn": lambda **kw: GCNPredictor(hidden=32, epochs=60, min_steps=200, **kw),
    "gcn-blr": lambda **kw: GCNBLRPredictor(hidden=32, epochs=60, min_steps=200, **kw),
}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Small models: one intra-op thread is faster and avoids oversubscribing a busy machine."""
    import torch
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def split(nb201):
    archs = list(nb201.archs)
    y = np.asarray(nb201.values("baseline_accuracy"), float)
    idx = np.random.default_rng(0).permutation(len(archs))
    tr, te = idx[:200], idx[200:700]
    return [archs[i] for i in tr], y[tr], [archs[i] for i in te], y[te]


@pytest.fixture(scope="module")
def fitted(split):
    archs, y, _, _ = split
    return {name: make(random_state=0).fit(archs, y) for name, make in FAST.items()}


@pytest.mark.parametrize("name", list(FAST))
def test_contract(name, split, fitted):
    archs, y, test, _ = split
    est = FAST[name](random_state=3)
    c = clone(est)
    assert c.get_params() == est.get_params()
    c.set_params(random_state=5)
    assert c.get_params()["random_state"] == 5
    m = fitted[name]
    mean = m.predict(test[:40])
    assert mean.shape == (40,) and np.isfinite(mean).all()
    if m.supports_std:
        mu, sd = m.predict(test[:40], return_std=True)
        assert mu.shape == sd.shape == (40,)
        assert (sd > 0).all()
        np.testing.assert_allclose(mu, mean)
    else:
        with pytest.raises(ValueError):
            m.predict(test[:5], return_std=True)


@pytest.mark.parametrize("name", list(FAST))
def test_same_seed_same_predictions(name, split, fitted):
    archs, y, test, _ = split
    quick = {"n_iter": 10} if name == "gp" else {"epochs": 5, "min_steps": 0}
    again = FAST[name](random_state=0).set_params(**quick).fit(archs[:40], y[:40])
    twice = FAST[name](random_state=0).set_params(**quick).fit(archs[:40], y[:40])
    np.testing.assert_array_equal(again.predict(test[:50]), twice.predict(test[:50]))


@pytest.mark.parametrize("name", list(FAST))
def test_learns_beyond_chance(name, split, fitted):
    _, _, test, yte = split
    tau = kendalltau(fitted[name].predict(test), yte)[0]
    assert tau >= 0.5, f"{name}: Kendall tau {tau:.3f} on held-out NB201 cells"


@pytest.mark.parametrize("name", ["gp", "gcn-blr"])
def test_interval_coverage(name, split, fitted):
    _, _, test, yte = split
    mu, sd = fitted[name].predict(test, return_std=True)
    cover = np.mean(np.abs(yte - mu) <= 1.96 * sd)
    lo, hi = {"gp": (0.85, 0.99), "gcn-blr": (0.85, 0.99)}[name]
    assert lo <= cover <= hi, f"{name}: 95% interval covers {cover:.3f} of held-out cells"


@pytest.mark.parametrize("name", ["gp", "gcn-blr"])
def test_posterior_samples(name, split, fitted):
    _, _, test, _ = split
    m = fitted[name]
    p1 = m.posterior(test[:30], n_samples=4, seed=1)
    s1, s2 = p1.samples, m.posterior(test[:30], n_samples=4, seed=1).samples
    assert p1.joint and s1.shape == (4, 30) and np.isfinite(s1).all()
    np.testing.assert_array_equal(s1, s2)
    assert not np.allclose(s1[0], s1[1])
    mu, sd = m.predict(test[:30], return_std=True)
    np.testing.assert_allclose(p1.mean, mu)
    np.testing.assert_allclose(p1.std, sd)
    assert m.posterior(test[:30]).samples is None


def test_gp_cv_calibration_fixes_small_sample_coverage(split):
    """50 training cells: the fitted GP is over-confident; CV calibration rescales only the std."""
    archs, y, test, yte = split
    raw = GPPredictor(n_iter=50, calibrate_std=None, random_state=0).fit(archs[:50], y[:50])
    cal = GPPredictor(n_iter=50, random_state=0).fit(archs[:50], y[:50])
    mu_r, sd_r = raw.predict(test, return_std=True)
    mu_c, sd_c = cal.predict(test, return_std=True)
    np.testing.assert_allclose(mu_c, mu_r)
    np.testing.assert_allclose(sd_c / sd_r, cal.std_scale_)
    cover = lambda mu, sd: np.mean(np.abs(yte - mu) <= 1.96 * sd)  # noqa: E731
    assert cal.std_scale_ > 1.0  # the fitted GP is over-confident on 50 cells
    assert cover(mu_r, sd_r) < cover(mu_c, sd_c), (cover(mu_r, sd_r), cover(mu_c, sd_c))
    assert 0.85 <= cover(mu_c, sd_c) <= 0.99, cover(mu_c, sd_c)
    with pytest.raises(ValueError, match="calibrate_std"):
        GPPredictor(calibrate_std="loo").fit(archs[:20], y[:20])


def test_gp_kernels_and_errors(split):
    archs, y, test, _ = split
    for kernel in ("rbf", "matern"):
        m = GPPredictor(kernel=kernel, ard=False, n_iter=10).fit(archs[:30], y[:30])
        assert np.isfinite(m.predict(test[:10], return_std=True)[1]).all()
    with pytest.raises(ValueError, match="kernel"):
        GPPredictor(kernel="nope").fit(archs[:10], y[:10])
    with pytest.raises(ValueError, match="loss"):
        GCNPredictor(loss="nope", epochs=1).fit(archs[:10], y[:10])
    with pytest.raises(ValueError, match="target_transform"):
        GCNBLRPredictor(target_transform="nope", epochs=1).fit(archs[:10], y[:10])


def test_gcn_runs_torch_single_threaded(split):
    import torch
    archs, y, test, _ = split
    torch.set_num_threads(2)
    try:
        m = GCNBLRPredictor(hidden=16, epochs=1, min_steps=0).fit(archs[:20], y[:20])
        assert torch.get_num_threads() == 2  # restored after fit ...
        m.predict(test[:5], return_std=True)
        assert torch.get_num_threads() == 2  # ... and after predict
    finally:
        torch.set_num_threads(1)


def test_rank_gauss_is_monotone_and_inverts():
    y = np.array([10.0, 10.0, 50.0, 80.0, 85.0, 90.0, 91.0, 93.0])
    r = RankGauss(y)
    z = r.forward(y)
    assert np.all(np.diff(z) >= 0) and z[0] == z[1]  # ties share a score
    np.testing.assert_allclose(r.inverse(z), y)
    grid = np.linspace(-4, 4, 50)
    assert np.all(np.diff(r.inverse(grid)) > 0)  # monotone, also past the ends
    mu, sd = r.inverse(np.zeros(3), np.array([0.0, 0.5, 1.0]))
    assert sd[0] == 0 and 0 < sd[1] < sd[2]


def test_dense_graphs_match_graph_encoding(nb201):
    import torch
    from naspredict.encodings.graph import GraphEncoding
    from naspredict.spaces import get_space
    sp = get_space("nb201")
    archs = list(nb201.archs)[:50]
    for global_node in (True, False):
        a = dense_batch(GraphEncoding(sp, global_node=global_node).transform(archs))
        b = dense_graphs(sp, archs, global_node)
        for u, v in zip(a, b):
            assert torch.equal(u, v)


def test_dense_batch_pads_and_normalises():
    from torch_geometric.data import Data
    import torch
    g1 = Data(x=torch.eye(3), edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    g2 = Data(x=torch.eye(3)[:2], edge_index=torch.tensor([[0], [1]]), num_nodes=2)
    x, adj, mask = dense_batch([g1, g2])
    assert x.shape == (2, 3, 3) and adj.shape == (2, 2, 3, 3)
    assert mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    # node 2 of graph 1 averages itself and its predecessor 1
    assert adj[0, 0, 2].tolist() == [0.0, 0.5, 0.5]
    # node 0 of graph 1 averages itself and its successor 1 (messages against the edges)
    assert adj[0, 1, 0].tolist() == [0.5, 0.5, 0.0]
    # the padded node gets nothing
    assert adj[1, :, 2].abs().sum() == 0
