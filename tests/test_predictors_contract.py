"""The predictor contract, checked on every predictor in the registry."""
import numpy as np
import pytest
from scipy.stats import kendalltau
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from naspredict import data
from naspredict.predictors import make, names
from naspredict.predictors.gp import GPPredictor
from naspredict.predictors.trees import RandomForestPredictor, XGBPredictor

# test-sized settings: few epochs, small models
FAST = {
    "gp": {"n_iter": 30},
    "gcn": {"epochs": 30, "min_steps": 100},
    "gcn-blr": {"epochs": 30, "min_steps": 100},
    "nao": {"epochs": 30},
    "mlp-ensemble": {"epochs": 40, "n_members": 3},
    "rf": {"n_estimators": 100},
    "xgb": {"n_estimators": 100},
    "semi": {"base": "rf", "rounds": 1, "pool_size": 200},
    "transfer": {"base": "rf", "source": "nb201-12epoch:cifar10-val"},  # a real related table
    "ensemble": {"members": [RandomForestPredictor(n_estimators=100), XGBPredictor(n_estimators=100),
                             GPPredictor(n_iter=30)]},
}
ARCH_ONLY = [n for n in names() if n not in ("lc-srm", "synflow", "jacov", "params", "flops")]


def _make(name, **kw):
    params = dict(FAST.get(name, {}))
    params.update(kw)
    return make(name, **params)


@pytest.fixture(scope="module")
def split(nb201):
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(nb201))
    y = nb201.values("baseline_accuracy")
    tr, te = idx[:200], idx[200:700]
    return ([nb201.archs[i] for i in tr], y[tr], [nb201.archs[i] for i in te], y[te])


@pytest.mark.parametrize("name", ARCH_ONLY)
def test_contract_and_learning(name, split):
    A, y, T, yt = split
    model = _make(name, random_state=1)
    c = clone(model)
    assert repr(c) == repr(model) and set(c.get_params()) == set(model.get_params())
    with pytest.raises(NotFittedError):
        c.predict(T[:3])
    c.set_params(random_state=2)
    assert c.get_params()["random_state"] == 2
    model.fit(A, y)
    pred = model.predict(T)
    assert pred.shape == (len(T),) and np.isfinite(pred).all()
    tau = kendalltau(pred, yt).statistic
    assert tau >= 0.5, f"{name}: tau {tau:.3f} on 500 held-out cells after fitting on 200"
    if model.supports_std:
        mean, std = model.predict(T, return_std=True)
        assert np.allclose(mean, pred) and (std > 0).all()
    else:
        with pytest.raises(ValueError, match="no uncertainty"):
            model.predict(T, return_std=True)
    again = _make(name, random_state=1).fit(A, y).predict(T[:50])
    assert np.allclose(again, pred[:50]), "same seed must give the same predictions"


def test_bad_input(split, nb201):
    A, y, T, _ = split
    m = make("rf", n_estimators=10)
    with pytest.raises(ValueError, match="must match"):
        m.fit(A, y[:-1])
    y_nan = y.copy()
    y_nan[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        m.fit(A, y_nan)
    with pytest.raises(ValueError, match="at least"):
        make("mlp-ensemble").fit(A[:2], y[:2])
    cora = data.load("nbgraph-cora")
    with pytest.raises(ValueError, match="not in the 'nb201' space"):
        m.fit(cora.archs[:10], cora.values("valid_perf")[:10])
    with pytest.raises(NotFittedError, match="fit"):
        make("xgb").predict(T[:2])
    with pytest.raises(ValueError, match="unknown predictor"):
        make("magic")


def test_zero_cost_predictors():
    from .conftest import shared_or_skip
    shared_or_skip("naslib_zc", "zc_nasbench201.json")
    b = data.load("nb201-zc")
    y = b.values("val_accuracy")
    for proxy in ("jacov", "params", "flops"):
        m = make(proxy).fit(b.archs[:100], y[:100])
        tau = kendalltau(m.predict(b.archs[100:]), y[100:]).statistic
        assert tau > 0.3, (proxy, tau)
    b101 = data.load("nb101-zc")
    m = make("synflow", space="nb101").fit(b101.archs[:100], b101.values("val_accuracy")[:100])
    assert kendalltau(m.predict(b101.archs[100:]), b101.values("val_accuracy")[100:]).statistic > 0.2
    nb = data.load("nb201-cifar10")
    outside = [a for a in nb.archs if a not in b][:1]
    with pytest.raises(ValueError, match="no 'params' score"):
        m2 = make("params").fit(b.archs[:10], y[:10])
        m2.predict(outside)
