"""The declared-input contract of predictors: fidelity / task / curves / sample_weight are
accepted only where a class declares them, checked the same way on fit and predict, and passed
to the subclass in one normal form."""
from __future__ import annotations

import numpy as np
import pytest

from naspredict.predictors import Posterior, accepting, make
from naspredict.predictors.base import Predictor
from naspredict.trials import FULL, Fidelity


class Recorder(Predictor):
    """Records the context its hooks receive; predicts the mean of y plus the fidelity."""

    context_inputs = frozenset({"fidelity", "task"})
    accepts_sample_weight = True
    supports_std = True

    def _fit(self, archs, y, **ctx):
        self.fit_ctx_ = ctx
        self.mean_ = float(np.mean(y))

    def _predict(self, archs, return_std=False, **ctx):
        self.predict_ctx_ = ctx
        mean = np.full(len(archs), self.mean_) + ctx.get("fidelity", 0.0)
        return (mean, np.ones(len(archs))) if return_std else mean


@pytest.fixture(scope="module")
def small(nb201):
    rng = np.random.default_rng(0)
    idx = rng.choice(len(nb201), 40, replace=False)
    return [nb201.archs[i] for i in idx], nb201.values("baseline_accuracy")[idx]


def test_declared_inputs_reach_the_hooks_in_normal_form(small):
    archs, y = small
    m = Recorder().fit(archs, y, fidelity=Fidelity(epochs=12), task="cifar10",
                       sample_weight=np.ones(len(y)))
    ctx = m.fit_ctx_
    assert set(ctx) == {"fidelity", "task", "sample_weight"}
    assert ctx["fidelity"].dtype == float and (ctx["fidelity"] == 12.0).all()
    assert list(ctx["task"]) == ["cifar10"] * len(y)
    assert m.context_fitted_ == {"fidelity", "task"}
    out = m.predict(archs[:3], fidelity=[12, 200, 200], task="cifar10")
    np.testing.assert_allclose(out, np.mean(y) + np.array([12, 200, 200]))
    # only what was given is passed on
    m2 = Recorder().fit(archs, y)
    assert m2.fit_ctx_ == {}
    m2.predict(archs[:2])
    assert m2.predict_ctx_ == {}


def test_undeclared_inputs_are_refused_with_the_predictors_that_take_them(small):
    archs, y = small
    rf = make("rf", n_estimators=10)
    with pytest.raises(ValueError, match=r"does not take task=.*predictors that do:"):
        rf.fit(archs, y, task="cora")
    with pytest.raises(ValueError, match="does not take fidelity="):
        rf.fit(archs, y, fidelity=12)
    with pytest.raises(ValueError, match="does not take sample_weight="):
        rf.fit(archs, y, sample_weight=np.ones(len(y)))
    with pytest.raises(TypeError, match="unexpected keyword"):
        rf.fit(archs, y, pool=archs)
    rf.fit(archs, y)
    with pytest.raises(ValueError, match="does not take task="):
        rf.predict(archs, task="cora")


def test_symmetric_fit_and_predict(small):
    archs, y = small
    m = Recorder().fit(archs, y, task="a")
    with pytest.raises(ValueError, match="was fitted with task="):
        m.predict(archs)
    with pytest.raises(ValueError, match="was fitted without fidelity="):
        m.predict(archs, task="a", fidelity=12)
    with pytest.raises(ValueError, match="was fitted with task="):
        m.posterior(archs)


def test_bad_context_values(small):
    archs, y = small
    with pytest.raises(ValueError, match="one per arch"):
        Recorder().fit(archs, y, fidelity=[12] * 3)
    with pytest.raises(ValueError, match="positive finite"):
        Recorder().fit(archs, y, fidelity=-1)
    with pytest.raises(ValueError, match="full level's epochs"):
        Recorder().fit(archs, y, fidelity=FULL)
    with pytest.raises(ValueError, match="task label"):
        Recorder().fit(archs, y, task=[None] * len(y))
    with pytest.raises(ValueError, match="not all zero"):
        Recorder().fit(archs, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="sample weights"):
        Recorder().fit(archs, y, sample_weight=np.ones(2))


def test_required_inputs_and_the_registry(small):
    archs, y = small
    lc = make("lc-srm")
    with pytest.raises(ValueError, match="needs curves="):
        lc.fit(archs, y)
    assert accepting("curves") == ["lc-srm"]
    assert "nao" in accepting("sample_weight") and "rf" not in accepting("sample_weight")
    assert "rf" not in accepting("task")
    with pytest.raises(ValueError, match="unknown input"):
        accepting("weights")


def test_posterior_independent_draws_follow_mean_and_std(small):
    archs, y = small
    m = Recorder().fit(archs, y)
    p = m.posterior(archs[:5], n_samples=4000, seed=3)
    assert isinstance(p, Posterior) and not p.joint
    assert p.samples.shape == (4000, 5)
    np.testing.assert_allclose(p.samples.mean(0), p.mean, atol=0.1)
    np.testing.assert_allclose(p.samples.std(0), p.std, atol=0.1)
    np.testing.assert_array_equal(p.samples, m.posterior(archs[:5], n_samples=4000, seed=3).samples)
    with pytest.raises(ValueError, match="n_samples"):
        m.posterior(archs, n_samples=-1)
    class NoStd(Recorder):
        supports_std = False

    with pytest.raises(ValueError, match="no uncertainty"):
        NoStd().fit(archs, y).posterior(archs)


def test_semi_passes_weights_by_declaration_not_signature(small):
    archs, y = small

    class Weighted(Recorder):
        pass

    semi = make("semi", base=Weighted(), rounds=1, pool_size=20, pseudo_weight=0.25)
    semi.fit(archs, y)
    w = semi.base_.fit_ctx_["sample_weight"]
    assert len(w) == len(y) + 20 and (w[: len(y)] == 1).all() and (w[len(y):] == 0.25).all()
