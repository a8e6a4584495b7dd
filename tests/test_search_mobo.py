"""Pareto fronts, exact hypervolumes and the multi-objective BO strategy ("mobo")."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from naspredict.search.pareto import (hypervolume, hypervolume_improvement, hypervolume_trace, nondominated_cells,
                                      pareto_front, signed)


# -- brute force ------------------------------------------------------------------------------------
def _hv_inclusion_exclusion(Y: np.ndarray, ref: np.ndarray) -> float:
    """Volume of the union of boxes [ref, y] by inclusion-exclusion (maximising)."""
    P = [y for y in Y if (y > ref).all()]
    hv = 0.0
    for k in range(1, len(P) + 1):
        for sub in itertools.combinations(P, k):
            corner = np.min(sub, axis=0)
            hv += (-1) ** (k + 1) * np.prod(corner - ref)
    return float(hv)


def _front_brute(Y: np.ndarray) -> np.ndarray:
    n = len(Y)
    return np.array([not any((Y[j] >= Y[i]).all() and (Y[j] > Y[i]).any() for j in range(n))
                     for i in range(n)])


@pytest.mark.parametrize("m", [2, 3, 4])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_hypervolume_exact_vs_inclusion_exclusion(m, seed):
    rng = np.random.default_rng(seed)
    Y = rng.random((10, m))
    Y[:2] = rng.random((2, m)) * 0.2  # some points do not dominate the reference point
    Y[3] = Y[4]  # a duplicate
    ref = np.full(m, 0.15)
    assert hypervolume(Y, ref) == pytest.approx(_hv_inclusion_exclusion(Y, ref), rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("seed", [0, 1])
def test_hypervolume_on_a_grid_front(seed):
    """2-D and 3-D points on a coarse integer grid: ties in every coordinate."""
    rng = np.random.default_rng(seed)
    for m in (2, 3):
        Y = rng.integers(0, 5, size=(12, m)).astype(float)
        ref = np.zeros(m) - 0.5
        assert hypervolume(Y, ref) == pytest.approx(_hv_inclusion_exclusion(Y, ref))


def test_hypervolume_edge_cases():
    ref = np.zeros(2)
    assert hypervolume(np.empty((0, 2)), ref) == 0.0
    assert hypervolume([[-1.0, 5.0]], ref) == 0.0  # does not dominate the reference point
    assert hypervolume([[2.0, 3.0]], ref) == pytest.approx(6.0)
    assert hypervolume([[2.0, 1.0], [1.0, 2.0]], ref) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        hypervolume([[1.0, 2.0, 3.0]], ref)


def test_pareto_front_known_examples():
    Y = np.array([[1, 5], [2, 4], [3, 3], [2, 2], [1, 1], [3, 3], [0, 6], [3, 1]], float)
    mask = pareto_front(Y)
    assert mask.tolist() == [True, True, True, False, False, True, True, False]
    # minimisation: the mirror image
    assert pareto_front(-Y, maximize=False).tolist() == mask.tolist()
    # a single dominating point
    assert pareto_front([[0, 0], [1, 1], [0.5, 0.2]]).tolist() == [False, True, False]
    assert pareto_front(np.empty((0, 3))).tolist() == []
    assert pareto_front([[np.nan, 9.0], [1.0, 1.0]]).tolist() == [False, True]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pareto_front_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    for m in (2, 3, 4):
        Y = rng.integers(0, 6, size=(300, m)).astype(float)  # many ties
        np.testing.assert_array_equal(pareto_front(Y, block=37), _front_brute(Y))


def test_signed_and_trace_and_improvement():
    Y = np.array([[0.8, 3.0], [0.9, 5.0], [0.7, 1.0]])
    S = signed(Y, ["max", "min"])
    np.testing.assert_allclose(S[:, 1], -Y[:, 1])
    ref = signed([0.5, 6.0], ["max", "min"])
    tr = hypervolume_trace(S, ref)
    assert tr[-1] == pytest.approx(hypervolume(S, ref))
    assert (np.diff(tr) >= 0).all()
    rng = np.random.default_rng(0)
    for m in (2, 3):
        F, ref, new = rng.random((15, m)), np.full(m, 0.1), rng.random((20, m))
        want = [hypervolume(np.vstack([F, y]), ref) - hypervolume(F, ref) for y in new]
        np.testing.assert_allclose(hypervolume_improvement(new, F, ref), want, atol=1e-12)


# -- the strategy ------------------------------------------------------------------------------------
T, D = ["valid_perf", "latency"], ["max", "min"]


@pytest.fixture(scope="module")
def cora():
    from naspredict import data
    from naspredict.evaluators import as_evaluator

    bench = data.load("nbgraph-cora")
    Y = np.c_[bench.values(T[0]), bench.values(T[1])]
    ref = np.median(Y, axis=0)
    hv_all = hypervolume(signed(Y, D), signed(ref, D))
    return bench, as_evaluator(bench, T), ref, hv_all


def _run(name, cora, seed, budget, batch_size, **kw):
    from naspredict.search import make_strategy

    bench, ev, ref, hv_all = cora
    if name != "random":
        kw["ref_point"] = ref
    s = make_strategy(name, bench.space, target=T, direction=D, seed=seed, **kw)
    trace = s.run(ev, budget, batch_size=batch_size, progress=False)
    Y = trace.frame[T].to_numpy(float)
    return s, trace, hypervolume(signed(Y, D), signed(ref, D)) / hv_all


def test_mobo_no_repeats_and_deterministic(cora):
    s1, t1, hv1 = _run("mobo", cora, 3, 18, 2, n_initial=8)
    _, t2, hv2 = _run("mobo", cora, 3, 18, 2, n_initial=8)
    assert len(t1.frame) == 18
    keys = [s1.key(a) for a, _ in s1.history]
    assert len(set(keys)) == len(keys)
    assert t1.frame["arch"].tolist() == t2.frame["arch"].tolist()
    assert hv1 == hv2
    assert len(s1.round_seconds) == 5


def test_mobo_beats_random_search(cora):
    """Budget 40 (10 random + 30 by qNEHVI, batches of 3): mean HV over 3 seeds."""
    mobo = [_run("mobo", cora, seed, 40, 3)[2] for seed in range(3)]
    rand = [_run("random", cora, seed, 40, 3)[2] for seed in range(3)]
    assert np.mean(mobo) > np.mean(rand), (mobo, rand)


def test_mobo_parego_and_options(cora):
    s, t, hv = _run("mobo", cora, 0, 14, 2, n_initial=8, acquisition="qnparego", log_transform=True)
    assert len(t.frame) == 14 and t.frame["status"].eq("ok").all()
    assert hv >= 0 and s.log_mask.tolist() == [False, True]


def test_mobo_refit_every_fits_hyperparameters_every_kth_round(cora, monkeypatch):
    """With refit_every=3 the marginal likelihood is optimised in rounds 1, 4, 7 only; the
    rounds in between still propose new cells from a GP conditioned on all the data."""
    import botorch.fit

    calls = []
    real = botorch.fit.fit_gpytorch_mll

    def counting(mll, **kw):
        calls.append(len(mll.model.train_targets[0]))
        return real(mll, **kw)

    monkeypatch.setattr(botorch.fit, "fit_gpytorch_mll", counting)
    s, t, _ = _run("mobo", cora, 1, 15, 1, n_initial=8, refit_every=3)
    assert len(t.frame) == 15 and len(s.round_seconds) == 7
    assert calls == [8, 11, 14]
    with pytest.raises(ValueError, match="refit_every"):
        _run("mobo", cora, 1, 10, 1, refit_every=0)


def test_mobo_quantile_transform_round_trips_and_runs(cora):
    import torch

    from naspredict.search import make_strategy

    bench, ev, ref, hv_all = cora
    s = make_strategy("mobo", bench.space, target=T, direction=D, seed=0, quantile_transform=["valid_perf"],
                      log_transform=True)
    assert s.quantile_mask.tolist() == [True, False] and s.log_mask.tolist() == [False, True]
    Y = signed(np.c_[bench.values(T[0])[:50], bench.values(T[1])[:50]], D)
    Z = s._to_model(Y)
    assert np.corrcoef(np.argsort(np.argsort(Z[:, 0])), np.argsort(np.argsort(Y[:, 0])))[0, 1] > 0.99
    np.testing.assert_allclose(s._from_model(Z), Y, rtol=1e-9)
    np.testing.assert_allclose(s._from_model(torch.as_tensor(Z)).numpy(), Y, rtol=1e-9)
    _, t, hv = _run("mobo", cora, 2, 12, 2, n_initial=8, quantile_transform=True)
    assert len(t.frame) == 12 and hv > 0
    with pytest.raises(ValueError, match="quantile_transform"):
        make_strategy("mobo", "nbgraph", target=T, direction=D, quantile_transform=["nope"])


def test_mobo_rejects_bad_arguments():
    from naspredict.search import make_strategy

    with pytest.raises(ValueError, match="at least two"):
        make_strategy("mobo", "nbgraph", target="valid_perf", direction="max")
    with pytest.raises(ValueError, match="acquisition"):
        make_strategy("mobo", "nbgraph", target=T, direction=D, acquisition="ucb")
    with pytest.raises(ValueError, match="ref_point"):
        make_strategy("mobo", "nbgraph", target=T, direction=D, ref_point=[1.0])


def test_mobo_select_mc_is_brute_force_expected_hv_improvement():
    """The Monte-Carlo EHVI behind ``acquisition="ehvi"`` (and the gcn-blr surrogate): with
    independent Gaussians per objective, the first pick maximises the mean over common draws of
    hypervolume(observed front + draw) - hypervolume(observed front)."""
    from naspredict.search import make_strategy

    s = make_strategy("mobo", "nbgraph", target=T, direction=D, seed=0, acquisition="ehvi",
                      mc_samples=64, max_candidates=10_000)
    rng = np.random.default_rng(4)
    Y = rng.random((12, 2))  # signed observations (both maximised here)
    ref = np.array([0.05, 0.05])
    mu, sd = rng.random((30, 2)), 0.05 + 0.3 * rng.random((30, 2))
    order = s._select_mc(mu, sd, Y, ref, q=1, seed=7)
    eps = np.random.default_rng(7).standard_normal((64, 1, 2))
    draws = mu[None] + sd[None] * eps
    F = Y[pareto_front(Y)]
    base = hypervolume(F, ref)
    ehvi = [np.mean([hypervolume(np.vstack([F, d]), ref) - base for d in draws[:, i]]) for i in range(30)]
    assert order[0] == int(np.argmax(ehvi))
    assert sorted(order) == list(range(30))
    # later picks are ranked by the same values (single pick, no believer update)
    np.testing.assert_array_equal(order[1:6], np.argsort(-np.asarray(ehvi), kind="stable")[1:6])


def test_mobo_ehvi_runs_without_repeats(cora):
    s, t, hv = _run("mobo", cora, 0, 14, 1, n_initial=8, acquisition="ehvi")
    keys = [s.key(a) for a, _ in s.history]
    assert len(t.frame) == 14 and len(set(keys)) == 14 and hv > 0
    assert len(s.round_seconds) == 6


def test_first_order_additive_kernel_matches_its_formula():
    import torch

    from naspredict.predictors.kernels import FirstOrderAdditiveKernel

    k = FirstOrderAdditiveKernel()
    k.lengthscale = 0.7
    rng = np.random.default_rng(0)
    A, B = rng.random((5, 4)), rng.random((3, 4))
    want = np.array([[np.mean(np.exp(-0.5 * ((a - b) / 0.7) ** 2)) for b in B] for a in A])
    with torch.no_grad():
        got = k(torch.as_tensor(A), torch.as_tensor(B)).to_dense().numpy()
        diag = k(torch.as_tensor(A), torch.as_tensor(A), diag=True).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)  # the lengthscale parameter is float32
    np.testing.assert_allclose(diag, np.ones(5))


def test_mobo_additive_kernel_runs_and_bad_kernel_is_rejected(cora):
    from naspredict.search import make_strategy

    s, t, hv = _run("mobo", cora, 0, 12, 1, n_initial=8, kernel="additive")
    assert len(t.frame) == 12 and len({s.key(a) for a, _ in s.history}) == 12 and hv > 0
    with pytest.raises(ValueError, match="kernel"):
        make_strategy("mobo", "nbgraph", target=T, direction=D, kernel="linear")


def test_first_order_additive_kernel_with_levels_equals_the_direct_formula():
    """The one-hot matrix-product path (inputs on known levels) gives the same kernel, batched
    lengthscales included, and the same gradient."""
    import torch

    from naspredict.predictors.kernels import FirstOrderAdditiveKernel

    rng = np.random.default_rng(1)
    levels = [np.array([0.0, 0.25, 1.0]), np.array([0.0, 1.0]), np.linspace(0, 1, 7)]
    pick = lambda n: np.column_stack([rng.choice(v, n) for v in levels])  # noqa: E731
    A, B = torch.as_tensor(pick(6)), torch.as_tensor(pick(4))
    batch = torch.Size([2])
    direct = FirstOrderAdditiveKernel(batch_shape=batch).double()
    fast = FirstOrderAdditiveKernel(levels=levels, batch_shape=batch).double()
    with torch.no_grad():
        direct.lengthscale = torch.tensor([[[0.3]], [[1.7]]])
        fast.lengthscale = torch.tensor([[[0.3]], [[1.7]]])
    want, got = direct(A, B).to_dense(), fast(A, B).to_dense()
    assert got.shape == (2, 6, 4)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    want.sum().backward()
    got.sum().backward()
    torch.testing.assert_close(fast.raw_lengthscale.grad, direct.raw_lengthscale.grad)
    with pytest.raises(ValueError, match="columns"):
        fast(A[:, :2], B[:, :2]).to_dense()


def test_analytic_ehvi_is_exact_against_many_monte_carlo_samples():
    """BoTorch's analytic EHVI (used when no objective is transformed) agrees with the
    Monte-Carlo estimate at 20,000 draws, and is faster than the 128-draw estimate."""
    import time

    from naspredict.search.mobo import analytic_ehvi

    rng = np.random.default_rng(5)
    Y = rng.random((15, 2))
    F = Y[pareto_front(Y)]
    ref = np.array([0.05, 0.05])
    mu, sd = rng.random((40, 2)), 0.02 + 0.2 * rng.random((40, 2))
    analytic_ehvi(mu[:2], sd[:2], F, ref)  # imports BoTorch outside the timing
    t0 = time.perf_counter()
    exact = analytic_ehvi(mu, sd, F, ref)
    t_exact = time.perf_counter() - t0
    cells = nondominated_cells(F, ref)
    eps = np.random.default_rng(0).standard_normal((20_000, 1, 2))
    mc = hypervolume_improvement(mu[None] + sd[None] * eps, None, None, cells=cells).mean(0)
    se = hypervolume_improvement(mu[None] + sd[None] * eps, None, None, cells=cells).std(0) / np.sqrt(20_000)
    # within 4 standard errors, up to 0.1 % of the largest value (rare-event tails, where the
    # 20,000 draws see few or no improvements, have a poorly estimated standard error)
    assert np.all(np.abs(exact - mc) <= 4 * se + 1e-3 * exact.max())
    big = exact > 0.1 * exact.max()
    np.testing.assert_allclose(exact[big], mc[big], rtol=0.03)
    assert int(np.argmax(exact)) == int(np.argmax(mc))
    t0 = time.perf_counter()
    hypervolume_improvement(mu[None] + sd[None] * eps[:128], None, None, cells=cells)
    t_mc = time.perf_counter() - t0
    assert t_exact < 20 * t_mc + 0.05  # same order of cost (timings are noisy on shared cores)
    # no front point beats the reference: EHVI is the expected volume above it
    far = analytic_ehvi(mu[:3], sd[:3], np.zeros((0, 2)), ref)
    assert (far > 0).all()


def test_mobo_ehvi_path_is_analytic_only_without_a_transform(monkeypatch):
    from naspredict.search import make_strategy
    import naspredict.search.mobo as mobo_mod

    calls = []
    real = mobo_mod.analytic_ehvi
    monkeypatch.setattr(mobo_mod, "analytic_ehvi", lambda *a, **k: calls.append(1) or real(*a, **k))
    rng = np.random.default_rng(4)
    Y, ref = rng.random((12, 2)), np.array([0.05, 0.05])
    mu, sd = rng.random((30, 2)), 0.05 + 0.3 * rng.random((30, 2))
    plain = make_strategy("mobo", "nbgraph", target=T, direction=D, acquisition="ehvi")
    order = plain._select_ehvi(mu, sd, Y, ref, q=2, seed=7)
    assert calls and sorted(order) == list(range(30))
    exact = real(mu, sd, Y[pareto_front(Y)], ref)
    assert order[0] == int(np.argmax(exact))
    calls.clear()
    logged = make_strategy("mobo", "nbgraph", target=T, direction=D, acquisition="ehvi", log_transform=True)
    logged._to_model(-np.abs(Y) - 0.1)  # fits the transforms (latency column is negated)
    logged._select_ehvi(mu, sd, Y, ref, q=1, seed=7)
    assert not calls  # transformed objective: Monte Carlo


def test_mobo_needs_targets_and_directions():
    from naspredict.search.mobo import MultiObjectiveBO

    with pytest.raises(ValueError, match="no defaults"):
        MultiObjectiveBO("nbgraph")
    with pytest.raises(ValueError, match="direction="):
        MultiObjectiveBO("nbgraph", target=T)


def test_botorch_gp_predictor_contract_and_batched_outputs(cora):
    """One output through the predictor contract (predict, posterior with joint draws); two
    through fit_outputs / predict_outputs, equal to two one-output fits' means to 1e-3."""
    from naspredict.predictors import make

    bench = cora[0]
    archs = list(bench.archs)[:60]
    Y = np.c_[bench.values(T[0])[:60], -np.log(bench.values(T[1])[:60])]
    gp = make("botorch-gp", space=bench.space, random_state=0).fit(archs[:40], Y[:40, 0])
    mu, sd = gp.predict(archs[40:], return_std=True)
    assert mu.shape == sd.shape == (20,) and (sd > 0).all()
    post = gp.posterior(archs[40:45], n_samples=4, seed=1)
    assert post.joint and post.samples.shape == (4, 5)
    np.testing.assert_array_equal(post.samples, gp.posterior(archs[40:45], n_samples=4, seed=1).samples)
    assert np.corrcoef(mu, Y[40:, 0])[0, 1] > 0.2  # it learned something on held-out cells
    both = make("botorch-gp", space=bench.space).fit_outputs(archs[:40], Y[:40])
    m2 = both.predict_outputs(archs[40:])
    assert m2.shape == (20, 2)
    assert np.corrcoef(m2[:, 0], mu)[0, 1] > 0.99  # the same model up to the joint L-BFGS run
    with pytest.raises(ValueError, match="outputs"):
        both.predict(archs[40:])
    with pytest.raises(ValueError, match="n_archs"):
        both.fit_outputs(archs[:40], Y[:39])


def test_mobo_transfer_source_features_enter_the_gp(cora):
    """Source values (here: citeseer's valid_perf and latency of the same cells) become extra GP
    columns; a missing arch and a non-GP surrogate are refused."""
    from naspredict import data
    from naspredict.search import make_strategy

    bench = cora[0]
    src = data.load("nbgraph-citeseer")
    vals = dict(zip(src.archs, zip(src.values("valid_perf"), src.values("latency"))))
    feats = {a: vals[a] for a in bench.archs}
    s, t, hv = _run("mobo", cora, 0, 11, 1, n_initial=10, source_features=feats)
    assert len(t.frame) == 11 and hv > 0
    assert s._gp.X_train_.shape[1] == s._gp.encode(list(bench.archs)[:1]).shape[1]
    assert s._gp.X_train_.shape[1] == s._gp._encode_arch(list(bench.archs)[:1]).shape[1] + 2
    with pytest.raises(ValueError, match="surrogate='gp'"):
        make_strategy("mobo", "nbgraph", target=T, direction=D, surrogate="gcn-blr", source_features=feats)
    from naspredict.predictors import make
    gp = make("botorch-gp", space=bench.space, source_features={a: feats[a] for a in list(bench.archs)[:5]})
    with pytest.raises(ValueError, match="no entry in source_features"):
        gp.fit(list(bench.archs)[:8], np.arange(8.0))
