"""The Pareto mask and hypervolume: exact against brute force, ties, duplicates and NaN rows."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from naspredict.search.pareto import hypervolume, pareto_front


def _brute_mask(Y):
    ok = np.isfinite(Y).all(1)
    return np.array([ok[i] and not any(ok[j] and (Y[j] >= Y[i]).all() and (Y[j] > Y[i]).any()
                                       for j in range(len(Y))) for i in range(len(Y))])


def _brute_hv(P, ref):
    """Volume of the union of boxes [ref, p], by inclusion-exclusion over the grid of coordinates."""
    P = P[(P > ref).all(1)]
    if len(P) == 0:
        return 0.0
    axes = [np.unique(np.concatenate([[r], P[:, k]])) for k, r in enumerate(ref)]
    total = 0.0
    for cell in itertools.product(*[range(len(a) - 1) for a in axes]):
        hi = np.array([a[i + 1] for a, i in zip(axes, cell)])
        lo = np.array([a[i] for a, i in zip(axes, cell)])
        if (P >= hi).all(1).any():
            total += float(np.prod(hi - lo))
    return total


@pytest.mark.parametrize("m", [2, 3])
def test_mask_matches_brute_force_with_ties_duplicates_and_nan(m):
    rng = np.random.default_rng(m)
    for trial in range(150):
        n = int(rng.integers(1, 40))
        Y = rng.integers(0, 5, (n, m)).astype(float)
        if trial % 3 == 0:
            Y[rng.random(n) < 0.15, rng.integers(m)] = np.nan
        np.testing.assert_array_equal(pareto_front(Y), _brute_mask(Y), err_msg=str(Y))
        np.testing.assert_array_equal(pareto_front(Y, maximize=False), _brute_mask(-Y))


@pytest.mark.parametrize("m", [2, 3])
def test_hypervolume_matches_brute_force(m):
    rng = np.random.default_rng(10 + m)
    for _ in range(40):
        Y = rng.uniform(0, 1, (int(rng.integers(1, 12)), m))
        ref = rng.uniform(-0.2, 0.3, m)
        assert hypervolume(Y, ref) == pytest.approx(_brute_hv(Y, ref), rel=1e-12, abs=1e-15)


def test_large_2d_front_is_exact():
    x = np.linspace(0, 1, 20001)[1:]
    Y = np.column_stack([x, 1 - x])  # a straight front: all points on it
    assert pareto_front(Y).all()
    hv = hypervolume(Y, np.zeros(2))
    # staircase under the line y = 1 - x with 20,000 steps: 1/2 - 1/(2 * 20000) exactly
    assert hv == pytest.approx(0.5 - 0.5 / 20000, rel=1e-12)
