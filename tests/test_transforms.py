"""The target-transform family (naspredict.predictors.transforms): forward/inverse round trips,
RankGauss's bounded tails, torch and numpy agreeing, and bad input rejected."""
from __future__ import annotations

import numpy as np
import pytest

from naspredict.predictors.transforms import (TRANSFORMS, ClipLowTail, Identity, Log, RankGauss,
                                              Standard, make_transform, target_scaler)


@pytest.fixture(scope="module")
def nb201_acc():
    from naspredict import data
    y = data.load("nb201-cifar10").values("baseline_accuracy")
    return np.random.default_rng(0).choice(y[np.isfinite(y)], 200, replace=False)


def test_every_transform_round_trips_on_real_accuracies(nb201_acc):
    y = nb201_acc
    for kind in TRANSFORMS:
        t = make_transform(kind, y)
        z = t.forward(y)
        if kind == "clip":  # values below the fence are not recoverable
            keep = y >= t.fence
            np.testing.assert_allclose(t.inverse(z)[keep], y[keep])
            assert (z >= t.fence).all() and (~keep).any()  # NB201 has dead cells below the fence
        else:
            np.testing.assert_allclose(t.inverse(z), y, rtol=1e-12, atol=1e-9)


def test_rank_gauss_inverse_saturates_instead_of_extrapolating(nb201_acc):
    """The audit's case: the old linear tail mapped z=-6 to an accuracy of -222 %."""
    y = nb201_acc
    r = RankGauss(y)
    y_sorted = np.unique(y)
    k = max(1, len(y_sorted) // 10)
    far = r.inverse(np.array([-6.0, -50.0, 6.0, 50.0]))
    # bounded by one mean outer-decile gap beyond each extreme
    assert far[1] >= y.min() - (y_sorted[k] - y_sorted[0]) / k - 1e-9
    assert far[3] <= y.max() + (y_sorted[-1] - y_sorted[-1 - k]) / k + 1e-9
    assert far[1] < y.min() and far[3] > y.max()  # but not clamped: still beyond the extremes
    old_linear_low = y_sorted[0] + (-6.0 - r.z[0]) * r.lo
    assert old_linear_low < 0 < far[0]  # the old map gave an impossible accuracy here
    # still strictly monotone past the ends (ranks are kept), continuous at the ends
    grid = np.linspace(-8, 8, 400)
    assert np.all(np.diff(r.inverse(grid)) >= 0)  # saturates to a float constant far out
    near = np.linspace(r.z[0] - 0.5, r.z[-1] + 0.5, 400)
    assert np.all(np.diff(r.inverse(near)) > 0)
    eps = 1e-7
    assert r.inverse(np.array([r.z[-1] + eps]))[0] == pytest.approx(y.max(), abs=1e-5)
    # explicit bounds keep the asymptotes in the possible range
    rb = RankGauss(y, bounds=(0.0, 100.0))
    assert rb.inverse(np.array([-1e6]))[0] >= 0.0 and rb.inverse(np.array([1e6]))[0] <= 100.0
    with pytest.raises(ValueError, match="bounds"):
        RankGauss(y, bounds=(50.0, None))


def test_std_mapping_and_affine_members():
    y = np.array([1.0, 2.0, 4.0, 8.0, 9.0])
    s = Standard(y)
    mu, sd = s.inverse(np.array([0.0, 1.0]), np.array([1.0, 2.0]))
    np.testing.assert_allclose(mu, [y.mean(), y.mean() + y.std()])
    np.testing.assert_allclose(sd, [y.std(), 2 * y.std()])
    r = RankGauss(y)
    m, d = r.inverse(np.zeros(3), np.array([0.0, 0.5, 1.0]))
    assert d[0] == 0 and 0 < d[1] < d[2]
    assert Identity().inverse(np.array([3.0]))[0] == 3.0
    assert target_scaler("standard", y).forward(y).std() == pytest.approx(1.0)


def test_torch_and_numpy_inverses_agree():
    import torch
    y = -np.array([0.5, 1.0, 2.0, 3.0, 7.0])  # a minimised, positive quantity, negated
    lg = Log(y, sign=-1.0)
    z = lg.forward(y)
    np.testing.assert_allclose(lg.inverse(z), y)
    for t in (lg, RankGauss(y), Standard(y), Identity(), ClipLowTail(y)):
        zz = np.linspace(-3, 3, 7)
        got = t.inverse_tensor(torch.as_tensor(zz)).numpy()
        np.testing.assert_allclose(got, t.inverse(zz), rtol=1e-12)


def test_bad_input_is_rejected_with_a_fix():
    with pytest.raises(ValueError, match="positive"):
        Log(np.array([1.0, -2.0]))
    with pytest.raises(ValueError, match="unknown target transform"):
        make_transform("quantile", np.ones(3))
    with pytest.raises(ValueError, match="'rank' or 'standard'"):
        target_scaler("log", np.ones(3))
    with pytest.raises(ValueError, match="at least one"):
        RankGauss(np.array([]))
