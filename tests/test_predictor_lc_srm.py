"""Tests of the learning-curve SRM (Baker et al., ICLR-W 2018) on the 200 real NB201 curves."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from naspredict.predictors.lc_srm import LearningCurveSRM, LearningCurveStopper, curve_features
from .conftest import shared_or_skip


@pytest.fixture(scope="module")
def curves_bench():
    shared_or_skip("nb201_curves")
    from naspredict import data
    return data.load("nb201-curves")


@pytest.fixture(scope="module")
def split(curves_bench):
    b = curves_bench
    C, y = b.curves["val"], b.values("final_val_accuracy")
    perm = np.random.default_rng(0).permutation(len(y))
    tr, te = perm[:100], perm[100:]
    return ([b.archs[i] for i in tr], y[tr], C[tr]), ([b.archs[i] for i in te], y[te], C[te])


@pytest.fixture(scope="module")
def fitted(split):
    (a, y, c), _ = split
    return LearningCurveSRM(k=25).fit(a, y, curves=c)


def test_contract_clone_params_seed(split):
    (a, y, c), (at, yt, ct) = split
    m = LearningCurveSRM(k=10, model="rf", n_estimators=30, random_state=3)
    params = m.get_params()
    assert params["k"] == 10 and params["model"] == "rf" and params["random_state"] == 3
    c2 = clone(m)
    assert c2.get_params() == params and not hasattr(c2, "n_train_")
    p1 = m.fit(a, y, curves=c).predict(at, curves=ct)
    p2 = c2.fit(a, y, curves=c).predict(at, curves=ct)
    np.testing.assert_allclose(p1, p2)
    for model in ("svr", "blr"):
        s1 = LearningCurveSRM(k=10, model=model, random_state=1).fit(a, y, curves=c)
        s2 = LearningCurveSRM(k=10, model=model, random_state=1).fit(a, y, curves=c)
        np.testing.assert_allclose(s1.predict(at, True, curves=ct), s2.predict(at, True, curves=ct))


def test_bad_inputs(split):
    (a, y, c), (at, yt, ct) = split
    m = LearningCurveSRM(k=25)
    with pytest.raises(ValueError, match="needs curves="):
        m.fit(a, y)
    with pytest.raises(ValueError, match="needs the first k=25"):
        m.fit(a, y, curves=c[:, :20])
    bad = c.copy()
    bad[3, 7] = np.nan
    with pytest.raises(ValueError, match=r"curves\[3\] has NaN"):
        m.fit(a, y, curves=bad)
    with pytest.raises(ValueError, match="must match"):
        m.fit(a, y, curves=c[:50])
    with pytest.raises(NotFittedError):
        m.predict(at, curves=ct)
    m.fit(a, y, curves=c)
    with pytest.raises(ValueError, match="needs curves="):
        m.predict(at)
    with pytest.raises(ValueError, match="must match"):
        m.predict(at, curves=ct[:10])
    with pytest.raises(ValueError, match="needs the first k=25"):
        m.predict(at, curves=ct[:, :5])
    with pytest.raises(TypeError, match="curves="):
        m.predict(at, ct)
    with pytest.raises(ValueError, match="model must be"):
        LearningCurveSRM(model="gp").fit(a, y, curves=c)
    with pytest.raises(ValueError, match="acc_scale"):
        LearningCurveSRM(k=25, acc_scale=1.0).fit(a, y, curves=c)
    # NaN padding beyond k is fine; ragged lists too
    padded = np.hstack([c[:, :30], np.full((len(c), 5), np.nan)])
    LearningCurveSRM(k=25).fit(a, y, curves=padded)
    LearningCurveSRM(k=25).fit(a, y, curves=[list(r[: 25 + i % 3]) for i, r in enumerate(c)])


def test_learns_beyond_last_value(fitted, split):
    _, (at, yt, ct) = split
    mu, sd = fitted.predict(at, return_std=True, curves=ct)
    tau = kendalltau(mu, yt)[0]
    base = kendalltau(ct[:, 24], yt)[0]
    assert tau > base + 0.05 and tau >= 0.7, (tau, base)
    assert sd.shape == mu.shape and (sd > 0).all()
    # the std is not wildly off: most held-out errors within 2 std
    assert np.mean(np.abs(yt - mu) <= 2 * sd) >= 0.8


@pytest.mark.parametrize("model", ["rf", "blr"])
def test_other_models_and_curve_only(split, model):
    (a, y, c), (at, yt, ct) = split
    m = LearningCurveSRM(k=25, model=model, n_estimators=50).fit(a, y, curves=c)
    mu, sd = m.predict(at, return_std=True, curves=ct)
    assert kendalltau(mu, yt)[0] > kendalltau(ct[:, 24], yt)[0]
    assert np.isfinite(sd).all() and (sd > 0).all()
    only = LearningCurveSRM(k=25, model=model, features=None, n_estimators=50).fit(a, y, curves=c)
    assert only.should_stop(ct[0], 99.0) in (True, False)  # no arch needed without features


def test_should_stop(fitted, split, curves_bench):
    _, (at, yt, ct) = split
    best_i, worst_i = int(np.argmax(yt)), int(np.argmin(yt))
    high = float(np.max(curves_bench.values("final_val_accuracy")))
    assert fitted.should_stop(ct[worst_i], high, arch=at[worst_i])
    assert not fitted.should_stop(ct[best_i], float(np.median(yt)), arch=at[best_i])
    assert not fitted.should_stop(ct[worst_i], None, arch=at[worst_i])
    with pytest.raises(ValueError, match="pass arch"):
        fitted.should_stop(ct[0], 90.0)
    p = fitted.prob_exceeds(at, 90.0, curves=ct)
    assert p.shape == (len(at),) and ((p >= 0) & (p <= 1)).all()
    assert p[best_i] > p[worst_i]


def test_stopper_checkpoints(split):
    (a, y, c), (at, yt, ct) = split
    st = LearningCurveStopper(ks=(10, 25)).fit(a, y, c)
    assert st.model_for(5) is None and st.model_for(12).k == 10 and st.model_for(40).k == 25
    worst = int(np.argmin(yt))
    assert not st.should_stop(ct[worst, :5], 91.0, arch=at[worst])  # before the first checkpoint
    assert st.should_stop(ct[worst, :12], 91.0, arch=at[worst])


def test_curve_features_shapes():
    c = np.linspace(10, 90, 50).reshape(2, 25)
    assert curve_features(c, "raw").shape == (2, 25 + 24 + 23)
    assert curve_features(c, "summary", n_windows=4).shape == (2, 4 + 3 + 2 + 5)


def _protocol(stopper, at, yt, ct, top10, seed):
    """The benchmark's protocol: runs in a random order, each checked at 10/25/50 epochs
    against the best final among the runs already trained to the end."""
    best, stopped, top_stopped = None, 0, 0
    for i in np.random.default_rng(seed).permutation(len(yt)):
        if any(stopper.should_stop(ct[i, :k], best, arch=at[i]) for k in (10, 25, 50)):
            stopped += 1
            top_stopped += int(yt[i] >= top10)
        else:
            best = yt[i] if best is None else max(best, yt[i])
    return stopped, top_stopped, best


def test_stopper_cv_thresholds_protect_top_runs(curves_bench):
    """Default threshold='cv' (and gamma='cv'): thresholds come from the training half only.
    On the held-out half of split 1 of the benchmark it stops about half of the runs by epoch
    50 and none that ends in the top 10 %, where a fixed threshold 0.1 stops two."""
    b = curves_bench
    C, y = b.curves["val"], b.values("final_val_accuracy")
    perm = np.random.default_rng(1).permutation(len(y))
    tr, te = perm[:100], perm[100:]
    a, at = [b.archs[i] for i in tr], [b.archs[i] for i in te]
    top10 = np.quantile(y, 0.9)
    st = LearningCurveStopper(ks=(10, 25, 50), random_state=1).fit(a, y[tr], C[tr])
    assert set(st.thresholds_) == {10, 25, 50}
    assert all(0.0 < t < st.safety for t in st.thresholds_.values())
    stopped, top_stopped, best = _protocol(st, at, y[te], C[te], top10, 1001)
    assert top_stopped == 0 and stopped >= 45, (stopped, top_stopped)
    assert np.isclose(best, y[te].max())  # the best held-out run is trained to the end
    # a fixed threshold 0.1 (same fitted SRMs, overridden per call) stops top runs here
    fixed = LearningCurveStopper(ks=(10, 25, 50), threshold=0.1, random_state=1)
    fixed.models_, fixed.thresholds_ = st.models_, {k: 0.1 for k in st.ks}
    assert _protocol(fixed, at, y[te], C[te], top10, 1001)[1] >= 1
    assert LearningCurveStopper(ks=(25,), threshold=0.05).fit(a, y[tr], C[tr]).thresholds_ == {25: 0.05}


def test_stopper_bad_params(split):
    (a, y, c), _ = split
    with pytest.raises(ValueError, match="threshold"):
        LearningCurveStopper(threshold="auto")
    with pytest.raises(ValueError, match="threshold"):
        LearningCurveStopper(threshold=1.5)
    with pytest.raises(ValueError, match="safety"):
        LearningCurveStopper(safety=0.0)
    with pytest.raises(ValueError, match="protect_quantile"):
        LearningCurveStopper(protect_quantile=1.0)
    with pytest.raises(ValueError, match="training runs"):
        LearningCurveStopper(ks=(10,)).fit(a[:8], y[:8], c[:8])


def test_svr_gamma_chosen_by_inner_cv(split):
    """gamma='cv' (default) picks gamma per fit from the grid by CV on the training data only;
    the fit then equals a fit with that gamma fixed, and a fixed gamma skips the search."""
    (a, y, c), (at, yt, ct) = split
    grid = (0.0025, 0.005, 0.01, 0.02)
    m = LearningCurveSRM(k=25, random_state=2).fit(a, y, curves=c)
    assert m.gamma == "cv" and m.gamma_ in grid and m.C_ == 3.0
    assert set(m.cv_scores_) == {(g, 3.0) for g in grid}
    assert m.cv_scores_[(m.gamma_, 3.0)] == max(m.cv_scores_.values())
    fixed = LearningCurveSRM(k=25, gamma=m.gamma_, random_state=2).fit(a, y, curves=c)
    assert fixed.cv_scores_ == {} and fixed.gamma_ == m.gamma_
    np.testing.assert_allclose(m.predict(at, True, curves=ct), fixed.predict(at, True, curves=ct))
    # the choice depends on the training data: a degenerate training set changes the scores
    m2 = LearningCurveSRM(k=25, random_state=2).fit(a[:50], y[:50], curves=c[:50])
    assert m2.cv_scores_ != m.cv_scores_
    # C can be searched too; tau scoring is available
    both = LearningCurveSRM(k=25, C="cv", C_grid=(1.0, 10.0), gamma_grid=(0.005, 0.01),
                            cv_score="tau", cv_repeats=1).fit(a, y, curves=c)
    assert len(both.cv_scores_) == 4 and both.C_ in (1.0, 10.0) and both.gamma_ in (0.005, 0.01)
    assert all(-1.0 <= v <= 1.0 for v in both.cv_scores_.values())
    for bad in (dict(gamma="auto"), dict(gamma=-1.0), dict(gamma_grid=()), dict(C="cv", C_grid=(0.0,)),
                dict(cv_score="nll"), dict(cv_folds=1)):
        with pytest.raises(ValueError):
            LearningCurveSRM(k=25, **bad).fit(a, y, curves=c)
