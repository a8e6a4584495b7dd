"""ConcatEncoding's FeatureUnion names and the jittered Cholesky helper (issue #13)."""
import numpy as np
import pytest
import torch

from naspredict import data
from naspredict.encodings import make_encoding
from naspredict.predictors.gp import _cholesky


def test_concat_names_and_matrix():
    archs = data.load("nb201-cifar10").archs[:300]
    enc = make_encoding("features+onehot", space="nb201")
    X = enc.transform(archs)
    names = enc.get_feature_names_out()
    assert len(names) == X.shape[1] == enc.width
    parts = [make_encoding(p, space="nb201") for p in ("features", "onehot")]
    np.testing.assert_array_equal(X, np.hstack([p.transform(archs) for p in parts]))
    n_feat = parts[0].width
    assert all(n.startswith("features__") for n in names[:n_feat])
    assert all(n.startswith("onehot__") for n in names[n_feat:])
    assert len(set(names)) == len(names)


def test_cholesky_singular_gets_jitter():
    A = torch.randn(50, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    K = 1e4 * (A @ A.T)  # rank 5: plain Cholesky fails
    assert int(torch.linalg.cholesky_ex(K)[1]) != 0
    L = _cholesky(K)
    assert torch.allclose(L @ L.T, K, atol=1e-2 * float(K.diagonal().mean()))


def test_cholesky_well_conditioned_is_plain():
    K = torch.eye(20, dtype=torch.float64) + 0.1
    assert torch.equal(_cholesky(K), torch.linalg.cholesky(K))


def test_cholesky_nan_and_non_psd_errors():
    K = torch.eye(4, dtype=torch.float64)
    K[1, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        _cholesky(K)
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        _cholesky(-torch.eye(4, dtype=torch.float64))
