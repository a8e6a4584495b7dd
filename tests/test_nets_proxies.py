"""Zero-cost proxies from real networks (naspredict.nets.proxies), their encoding and the live
path of the zero-cost predictor.  Tiny networks (NB201 C=4, 1 cell per stage) on batches of 16
real 8x8 digits."""
from __future__ import annotations

import pickle
import random
import warnings

import numpy as np
import pytest
import torch

from naspredict.encodings import ConcatEncoding, ProxyEncoding, make_encoding
from naspredict.nets import build_network, count_params, profile
from naspredict.nets.proxies import PROXIES, proxy_batch, proxy_scores
from naspredict.spaces import resolve_space

TINY = dict(channels=4, cells=1)
KW = dict(data="digits", batch_size=16, **TINY)
DEAD = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
LIVE = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "|nor_conv_1x1~0|+|avg_pool_3x3~0|skip_connect~1|+|nor_conv_3x3~0|none~1|nor_conv_1x1~2|",
        "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|"]
ALL = list(PROXIES)
LIVE_A = [resolve_space("nb201").from_str(s) for s in LIVE]  # encodings and predictors take archs


@pytest.fixture(scope="module")
def nb201_scores():
    return proxy_scores("nb201", LIVE, ALL, **KW)


def test_finite_deterministic_and_distinct(nb201_scores):
    df = nb201_scores
    assert list(df.columns) == ALL and list(df.index) == LIVE
    assert np.isfinite(df.to_numpy()).all()
    again = proxy_scores("nb201", LIVE, ALL, **KW)
    assert np.array_equal(df.to_numpy(), again.to_numpy())
    for name in ("synflow", "snip", "grad_norm", "jacov", "nwot"):
        assert df[name].nunique() == len(LIVE), name
    other_seed = proxy_scores("nb201", LIVE[:1], ["snip"], seed=1, **KW)
    assert other_seed.iloc[0, 0] != df["snip"].iloc[0]


def test_order_and_subset_do_not_change_scores(nb201_scores):
    rev = proxy_scores("nb201", LIVE[::-1], ["nwot", "jacov", "synflow"], **KW)
    for s in LIVE:
        for name in rev.columns:
            assert rev.loc[s, name] == nb201_scores.loc[s, name]


def test_caller_rng_untouched():
    torch.manual_seed(123)
    np.random.seed(5)
    random.seed(7)
    states = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    proxy_scores("nb201", LIVE[:1], ["snip", "jacov"], **KW)
    assert torch.equal(torch.get_rng_state(), states[0])
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert random.getstate() == states[2]


def test_sanity_facts(nb201_scores):
    with pytest.warns(RuntimeWarning, match=r"'jacov' of arch \|none~0\|"):
        dead = proxy_scores("nb201", [DEAD], ["synflow", "jacov"], **KW)
    # no path from input to output: every weight gradient of sum(logits) vanishes
    assert dead.loc[DEAD, "synflow"] == 0.0
    assert (nb201_scores["synflow"] > 0).all()
    assert np.isnan(dead.loc[DEAD, "jacov"])
    # params and FLOPs are those of the network built with the data's input shape
    x, _, _, shape = proxy_batch("nb201", "digits", batch_size=16)
    net = build_network("nb201", LIVE[0], input_shape=shape, **TINY)
    assert nb201_scores.loc[LIVE[0], "params"] == count_params(net)
    assert nb201_scores.loc[LIVE[0], "flops"] == profile(net, x[:1], batch_sizes=()).flops
    # more 3x3 convolutions, more parameters and more synflow
    assert nb201_scores["params"].idxmax() == LIVE[0] == nb201_scores["synflow"].idxmax()


@pytest.mark.parametrize("space,opts", [("darts", dict(channels=4, cells=3)),
                                        ("nb101", dict(channels=8, cells=1))])
def test_other_image_spaces(space, opts):
    sp = resolve_space(space)
    archs = sp.sample_unique(2, np.random.default_rng(0))
    df = proxy_scores(space, archs, ALL, data="digits", batch_size=8, **opts)
    assert df.shape == (2, len(ALL)) and np.isfinite(df.to_numpy()).all()
    assert (df.iloc[0] != df.iloc[1]).any()


def test_graph_space_on_karate():
    sp = resolve_space("nbgraph")
    archs = sp.sample_unique(2, np.random.default_rng(0))
    names = [n for n in ALL if n != "nwot"]
    df = proxy_scores(sp, archs, names, channels=8)
    assert np.isfinite(df.to_numpy()).all()
    with pytest.raises(ValueError, match="nwot is not supported for graph networks"):
        proxy_scores(sp, archs[:1], ["nwot"], channels=8)


def test_tensor_data_and_errors():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, 3, 8, 8, generator=gen), torch.arange(8) % 4
    df = proxy_scores("nb201", LIVE[:1], ["snip", "nwot"], data=(x, y), **TINY)
    assert np.isfinite(df.to_numpy()).all()
    with pytest.raises(ValueError, match="need labels"):
        proxy_scores("nb201", LIVE[:1], ["snip"], data=(x, None), **TINY)
    with pytest.raises(ValueError, match="unknown proxies"):
        proxy_scores("nb201", LIVE[:1], ["magic"], **KW)
    with pytest.raises(ValueError, match="does not match the data"):
        proxy_scores("nb201", LIVE[:1], ["params"], input_shape=(3, 8, 8), **KW)


def test_encoding_width_concat_and_cache(tmp_path, nb201_scores):
    assert make_encoding("proxies").width == 5
    feats = make_encoding("features").width
    assert make_encoding("features+proxies").width == feats + 5
    names = ("synflow", "jacov", "snip")
    cache = tmp_path / "scores.csv"
    enc = ProxyEncoding(names=names, cache_file=str(cache), **KW)
    joined = ConcatEncoding(parts=("features", enc))
    X = joined.transform(LIVE_A)
    assert X.shape == (len(LIVE), joined.width) == (3, feats + 3)
    raw = nb201_scores[list(names)].to_numpy()
    assert np.allclose(X[:, feats:], np.sign(raw) * np.log1p(np.abs(raw)), rtol=1e-6)
    assert cache.exists()
    # another configuration with the same file reads the file instead of computing
    other = ProxyEncoding(names=names, cache_file=str(cache), data="digits", batch_size=16, channels=8, cells=1)
    assert np.array_equal(other.transform(LIVE_A), X[:, feats:])
    with pytest.raises(ValueError, match="call fit"):
        ProxyEncoding(names=names, score_transform="rank", **KW).transform(LIVE_A)
    ranked = ProxyEncoding(names=names, score_transform="rank", **KW).fit(LIVE_A).transform(LIVE_A)
    assert np.allclose(np.sort(ranked, axis=0), np.array([[1 / 6], [3 / 6], [5 / 6]]) * np.ones(3))


def test_predictor_on_features_plus_proxies(nb201):
    from naspredict.predictors import make
    enc = ConcatEncoding(parts=("features", ProxyEncoding(names=("synflow", "jacov"), **KW)))
    y = np.array([nb201.query(a, "baseline_accuracy") for a in LIVE_A])
    m = make("rf", encoding=enc, n_estimators=20).fit(LIVE_A, y)
    assert m.predict(LIVE_A).shape == (3,)


def test_zerocost_live_path_fits_predicts_pickles(nb201):
    from naspredict.predictors import make
    sp = resolve_space("nb201")
    archs = LIVE_A + sp.sample_unique(3, np.random.default_rng(1))
    y = np.array([nb201.query(a, "baseline_accuracy") for a in archs])
    m = make("synflow", table="live", data="digits", network_options=TINY).fit(archs[:4], y[:4])
    assert m.source_ == "live" and set(m.live_scores_) == {sp.to_str(a) for a in archs[:4]}
    pred = m.predict(archs)
    assert np.isfinite(pred).all() and len(m.live_scores_) == len(archs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = pickle.loads(pickle.dumps(m))
    assert back.live_scores_ == m.live_scores_
    assert np.array_equal(back.predict(archs), pred)
    # the slope follows the live scores: scores of the fitted archs match proxy_scores
    s = proxy_scores("nb201", archs[:4], ["synflow"], data="digits", **TINY)["synflow"].to_numpy()
    assert np.allclose(m.scores(archs[:4]), s)


def test_zerocost_without_table_falls_back_to_live():
    from naspredict import data
    from naspredict.predictors import make
    cora = data.load("nbgraph-cora")
    archs, y = cora.archs[:4], cora.values("valid_perf")[:4]
    m = make("params", space="nbgraph", network_options={"channels": 8})
    with pytest.warns(UserWarning, match="computing 'params' live"):
        m.fit(archs, y)
    assert m.source_ == "live" and np.isfinite(m.predict(archs)).all()
