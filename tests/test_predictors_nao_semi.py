"""NAO (Luo et al., 2018) and SemiNAS self-training (Luo et al., 2020) predictors; sequence
inverse transform.  Small, CPU-only settings."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from naspredict.encodings import SequenceEncoding
from naspredict.predictors.nao import NAOPredictor
from naspredict.predictors.semi import SemiSupervisedPredictor
from naspredict.predictors.trees import RandomForestPredictor
from naspredict.spaces import NB201Arch, get_space

# test-sized NAO: few steps, more weight on reconstruction so decode(encode(.)) holds
FAST = dict(epochs=1, min_steps=600, trade_off=0.3)
TINY = dict(epochs=1, min_steps=40, hidden_size=16, embedding_size=8, mlp_hidden=16)


@pytest.fixture(scope="module")
def split(nb201):
    archs = list(nb201.archs)
    y = nb201.values("baseline_accuracy")
    perm = np.random.default_rng(0).permutation(len(archs))
    tr, te = perm[:200], perm[200:700]
    return [archs[i] for i in tr], y[tr], [archs[i] for i in te], y[te], archs


@pytest.fixture(scope="module")
def fitted(split):
    xtr, ytr, *_ = split
    return NAOPredictor(random_state=0, **FAST).fit(xtr, ytr)


# -- sequence inverse transform ---------------------------------------------------------------
def test_sequence_inverse_round_trip_all_nb201():
    sp = get_space("nb201")
    archs = list(sp.enumerate())
    enc = SequenceEncoding(space="nb201")
    assert enc.inverse_transform(enc.transform(archs)) == archs


def test_sequence_inverse_round_trip_nb101():
    sp = get_space("nb101")
    rng = np.random.default_rng(0)
    archs = [sp.sample(rng) for _ in range(50)]
    enc = SequenceEncoding(space="nb101")
    assert enc.inverse_transform(enc.transform(archs)) == archs


def test_sequence_inverse_rejects_bad_tokens():
    enc = SequenceEncoding(space="nb201")
    with pytest.raises(ValueError):
        enc.inverse_transform(np.array([[3, 4, 5, 6, 7, 0]]))  # pad in an op slot
    with pytest.raises(ValueError):
        enc.inverse_transform(np.array([[3, 4, 2, 6, 7, 3]]))  # edge token in an op slot
    with pytest.raises(ValueError):
        enc.inverse_transform(np.array([[3, 4, 5]]))  # wrong width
    enc101 = SequenceEncoding(space="nb101")
    with pytest.raises(ValueError):  # all no-edge: input disconnected from output
        enc101.inverse_transform(np.full((1, enc101.width), 1))
    enc_d = SequenceEncoding(space="darts")
    with pytest.raises(NotImplementedError):
        enc_d.inverse_transform(np.zeros((1, enc_d.width), int))


# -- NAO contract ---------------------------------------------------------------------------
def test_nao_contract(split):
    xtr, ytr, xte, _, _ = split
    m = NAOPredictor(hidden_size=16, random_state=3)
    c = clone(m)
    assert c.get_params() == m.get_params()
    c.set_params(epochs=2)
    assert c.epochs == 2 and m.epochs != 2
    with pytest.raises(NotFittedError):
        NAOPredictor().predict(xte[:3])
    with pytest.raises(NotFittedError):
        NAOPredictor().encode(xte[:3])
    a = NAOPredictor(random_state=1, **TINY).fit(xtr[:50], ytr[:50]).predict(xte[:20])
    b = NAOPredictor(random_state=1, **TINY).fit(xtr[:50], ytr[:50]).predict(xte[:20])
    assert a.shape == (20,) and np.array_equal(a, b)
    with pytest.raises(ValueError):
        NAOPredictor(**TINY).fit(xtr[:50], ytr[:50]).predict(xte[:3], return_std=True)
    ens = NAOPredictor(n_ensemble=2, random_state=0, **TINY).fit(xtr[:50], ytr[:50])
    mean, std = ens.predict(xte[:10], return_std=True)
    assert mean.shape == std.shape == (10,) and np.all(std >= 0)
    w = np.r_[np.ones(25), np.full(25, 0.5)]
    NAOPredictor(target_transform="standard", **TINY).fit(xtr[:50], ytr[:50], sample_weight=w)


def test_nao_learns_ranking(fitted, split):
    _, _, xte, yte, _ = split
    tau = kendalltau(fitted.predict(xte), yte)[0]
    assert tau >= 0.5


def test_nao_encode_decode_round_trip(fitted, split):
    xtr = split[0]
    z = fitted.encode(xtr)
    assert z.shape == (len(xtr), fitted.hidden_size)
    back = fitted.decode(z)
    assert all(isinstance(a, NB201Arch) for a in back)
    assert np.mean([a == b for a, b in zip(back, xtr)]) >= 0.9


def test_nao_decode_random_embeddings_valid(fitted):
    z = np.random.default_rng(0).normal(size=(30, fitted.hidden_size))
    assert all(isinstance(a, NB201Arch) for a in fitted.decode(z))


def test_nao_gradient_step_improves(fitted, split):
    start = split[2][:100]
    moved = fitted.gradient_step(start, step_size=2.0)
    assert len(moved) == len(start) and all(isinstance(a, NB201Arch) for a in moved)
    assert sum(a != b for a, b in zip(moved, start)) > 0
    assert fitted.predict(moved).mean() > fitted.predict(start).mean()


# -- SemiNAS wrapper ------------------------------------------------------------------------
def test_semi_with_explicit_pool(split):
    xtr, ytr, xte, _, archs = split
    pool = archs[2000:2300]
    m = SemiSupervisedPredictor(base=NAOPredictor(**TINY), rounds=1, n_pseudo=None,
                                random_state=0)
    c = clone(m)
    assert isinstance(c.base, NAOPredictor) and c.base is not m.base
    with pytest.raises(NotFittedError):
        m.predict(xte[:3])
    p = m.fit(xtr[:60], ytr[:60], pool=pool).predict(xte[:40])
    assert p.shape == (40,) and np.all(np.isfinite(p))
    assert m.pool_size_ == 300 and not hasattr(m.base, "n_train_")
    p2 = clone(m).fit(xtr[:60], ytr[:60], pool=pool).predict(xte[:40])
    assert np.array_equal(p, p2)
    assert not m.supports_std


def test_semi_sampled_pool_and_std_delegation(split):
    xtr, ytr, xte, _, _ = split
    base = RandomForestPredictor(n_estimators=20, random_state=0)
    m = SemiSupervisedPredictor(base=base, rounds=2, pool_size=200, n_pseudo=50,
                                pseudo_weight=0.5, random_state=0)
    assert m.supports_std
    m.fit(xtr[:40], ytr[:40])
    assert m.pool_size_ == 200
    mean, std = m.predict(xte[:10], return_std=True)
    assert mean.shape == std.shape == (10,)
    with pytest.raises(ValueError):
        SemiSupervisedPredictor(base=base, pseudo_weight=0).fit(xtr[:40], ytr[:40])
