"""Fitting and predicting must not change the caller's process state: the global torch,
NumPy and ``random`` RNGs and torch's intra-op thread count.  Each predictor stays
reproducible by its ``random_state`` whatever the caller's global RNG holds.

Tiny, CPU-only settings (a few optimiser steps per model).
"""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from naspredict.predictors import make

# test-sized settings; dropout > 0 where the model has it, so training draws dropout masks
SMALL = {
    "nao": dict(epochs=1, min_steps=20, hidden_size=16, embedding_size=8, mlp_hidden=16,
                num_layers=2, dropout=0.2, n_ensemble=2),
    "mlp-ensemble": dict(n_members=2, hidden=16, layers=2, epochs=5),
    "gcn": dict(hidden=16, epochs=2, min_steps=20, dropout=0.2),
    "gcn-blr": dict(hidden=16, epochs=2, min_steps=20),
    "gp": dict(n_iter=10),
}
# predictors whose random_state seeds network weights: another seed must change predictions
NEURAL = {"nao", "mlp-ensemble", "gcn", "gcn-blr"}


@pytest.fixture(scope="module")
def split(nb201):
    archs = list(nb201.archs)
    y = np.asarray(nb201.values("baseline_accuracy"), float)
    idx = np.random.default_rng(0).permutation(len(archs))
    tr, te = idx[:60], idx[60:160]
    return [archs[i] for i in tr], y[tr], [archs[i] for i in te]


@pytest.fixture
def threads():
    """The thread count the suite runs with (conftest sets 1); tests/test_thread_policy.py
    checks separately that no library call sets threads at all."""
    return torch.get_num_threads()


def _fit_predict(name, split, random_state):
    xtr, ytr, xte = split
    m = make(name, random_state=random_state, **SMALL[name]).fit(xtr, ytr)
    out = m.predict(xte, return_std=m.supports_std)
    return np.stack(out) if isinstance(out, tuple) else np.asarray(out)


@pytest.mark.parametrize("name", list(SMALL))
def test_fit_predict_leaves_global_state(name, split, threads):
    torch.manual_seed(1234)
    np.random.seed(1234)
    random.seed(1234)
    torch_state = torch.random.get_rng_state().clone()
    np_state = np.random.get_state()
    py_state = random.getstate()

    _fit_predict(name, split, random_state=0)

    assert torch.equal(torch.random.get_rng_state(), torch_state), "global torch RNG changed"
    assert torch.get_num_threads() == threads, "torch thread count changed"
    after = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1]) \
        and after[2:] == np_state[2:], "global NumPy RNG changed"
    assert random.getstate() == py_state, "global random RNG changed"


@pytest.mark.parametrize("name", list(SMALL))
def test_same_random_state_same_predictions(name, split):
    # a different global torch RNG before each fit must not matter
    torch.manual_seed(1)
    a = _fit_predict(name, split, random_state=3)
    torch.manual_seed(2)
    torch.rand(10)
    b = _fit_predict(name, split, random_state=3)
    np.testing.assert_array_equal(a, b)
    assert np.isfinite(a).all()
    if name in NEURAL:
        c = _fit_predict(name, split, random_state=4)
        assert not np.array_equal(a, c), "random_state had no effect"
