"""The averaging ensemble: target transform, default member set and weights."""
import numpy as np
import pytest
from scipy.stats import kendalltau

from naspredict.predictors import make
from naspredict.predictors.ensemble import EnsemblePredictor, default_members
from naspredict.predictors.gp import GPPredictor
from naspredict.predictors.trees import RandomForestPredictor, XGBPredictor


@pytest.fixture(scope="module")
def split(nb201):
    idx = np.random.default_rng(3).permutation(len(nb201))
    y = nb201.values("baseline_accuracy")
    tr, te = idx[:120], idx[120:520]
    return [nb201.archs[i] for i in tr], y[tr], [nb201.archs[i] for i in te], y[te]


def _small():
    return [RandomForestPredictor(n_estimators=50), XGBPredictor(n_estimators=80),
            GPPredictor(n_iter=20)]


def test_default_weights_are_equal(split):
    A, y, _, _ = split
    m = EnsemblePredictor(members=_small(), random_state=0).fit(A[:40], y[:40])
    np.testing.assert_allclose(m.weights_, np.full(3, 1 / 3))
    assert len(default_members(10)) == len(default_members(1000)) == 4


@pytest.mark.parametrize("transform", ["rank", "standard", None])
def test_transform_keeps_target_units(split, transform):
    A, y, T, yt = split
    m = EnsemblePredictor(members=_small(), target_transform=transform, random_state=0).fit(A, y)
    mean, std = m.predict(T, return_std=True)
    assert np.allclose(mean, m.predict(T)) and (std > 0).all()
    assert kendalltau(mean, yt).statistic > 0.5
    # back in accuracy units, not on the normal-score scale
    assert abs(np.median(mean) - np.median(yt)) < 5 * np.std(yt)


def test_no_transform_is_the_plain_weighted_average(split):
    A, y, T, _ = split
    w = [1.0, 2.0, 1.0]
    ens = EnsemblePredictor(members=_small(), weights=w, target_transform=None, random_state=5)
    pred = ens.fit(A, y).predict(T)
    singles = [m.set_params(random_state=5 + i).fit(A, y).predict(T) for i, m in enumerate(_small())]
    assert np.allclose(pred, np.average(singles, axis=0, weights=w))


def test_bad_weights_and_transform(split):
    A, y, _, _ = split
    with pytest.raises(ValueError, match="weights"):
        EnsemblePredictor(members=_small(), weights=[1, 1]).fit(A, y)
    with pytest.raises(ValueError, match="target_transform"):
        EnsemblePredictor(members=_small(), target_transform="log").fit(A, y)


def test_tree_target_transform(split):
    A, y, T, yt = split
    for cls in (RandomForestPredictor, XGBPredictor):
        m = cls(n_estimators=50, encoding="features+onehot", target_transform="rank").fit(A, y)
        p = m.predict(T)
        assert p.shape == (len(T),) and kendalltau(p, yt).statistic > 0.5
        assert y.min() - 1 <= np.median(p) <= y.max() + 1
    assert make("ensemble").get_params()["target_transform"] == "rank"
