import time

import numpy as np
import pytest
from torch_geometric.loader import DataLoader

from naspredict.encodings import make_encoding
from naspredict.spaces import get_space

NB201 = get_space("nb201")


def _archs(space, n=40, seed=0):
    return space.sample_unique(n, np.random.default_rng(seed)) if not space.finite else \
        list(space.enumerate())[:: max(1, len(space) // n)][:n]


def test_nb201_widths():
    assert make_encoding("onehot", "nb201").width == 30
    assert make_encoding("path", "nb201").width == 155
    assert make_encoding("path", "nb201", truncate=40).width == 40
    assert make_encoding("sequence", "nb201").width == 6


@pytest.mark.parametrize("space", ["nb201", "nb101", "darts", "nbgraph"])
@pytest.mark.parametrize("name", ["onehot", "path", "sequence", "features"])
def test_widths_as_declared(space, name):
    sp = get_space(space)
    enc = make_encoding(name, sp)
    X = enc.fit_transform(_archs(sp))
    assert X.shape == (40, enc.width)
    assert np.isfinite(X).all()
    assert X.std(axis=0).sum() > 0  # the encoding varies across archs


def test_onehot_is_one_hot():
    archs = list(NB201.enumerate())[:500]
    X = make_encoding("onehot").transform(archs)
    assert np.all(X.reshape(len(archs), 6, 5).sum(-1) == 1)


def test_path_encoding_counts_paths():
    a = NB201.from_str("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    enc = make_encoding("path")
    x = enc.transform([a])[0]
    # one path of each length 1, two of length 2, one of length 3, all conv3x3
    assert x.sum() == 4
    vocab = enc._vocab_cache
    assert x[vocab[("nor_conv_3x3",)]] == 1 and x[vocab[("nor_conv_3x3",) * 2]] == 2


def test_isomorphic_cells_share_path_and_feature_encodings():
    archs = list(NB201.enumerate())
    by_key = {}
    for a in archs:
        by_key.setdefault(NB201.canonical(a), []).append(a)
    groups = [g for g in by_key.values() if len(g) > 1][:300]
    assert groups
    for name in ("path", "features"):
        enc = make_encoding(name)
        for g in groups:
            X = enc.transform(g)
            assert np.all(X == X[0]), (name, [NB201.to_str(a) for a in g])
    # and different classes are told apart by the path encoding
    reps = [g[0] for g in by_key.values()][:500]
    Xp = make_encoding("path").transform(reps)
    assert len({row.tobytes() for row in Xp}) > 0.95 * len(reps)


def test_features_flag_dead_cells():
    enc = make_encoding("features")
    names = enc.feature_names
    archs = list(NB201.enumerate())
    X = enc.transform(archs)
    dead = X[:, names.index("dead")] == 1
    assert dead.sum() == 341
    assert np.all(X[dead, names.index("n_paths")] == 0)


@pytest.mark.parametrize("space", ["nb201", "nb101", "darts", "nbgraph"])
@pytest.mark.parametrize("global_node", [False, True])
def test_graphs_batch(space, global_node):
    sp = get_space(space)
    enc = make_encoding("graph", sp, global_node=global_node)
    graphs = enc.transform(_archs(sp, 10))
    batch = next(iter(DataLoader(graphs, batch_size=10)))
    assert batch.num_graphs == 10
    assert batch.x.shape == (sum(g.num_nodes for g in graphs), enc.width)
    assert batch.edge_index.max() < batch.x.shape[0]
    if global_node:
        g = graphs[0]
        assert g.x[-1, -1] == 1 and (g.edge_index[0] == g.num_nodes - 1).sum() == g.num_nodes - 1


def test_encoding_whole_nb201_is_fast():
    archs = list(NB201.enumerate())
    t = time.perf_counter()
    for name in ("onehot", "path", "features", "sequence"):
        make_encoding(name).transform(archs)
    assert time.perf_counter() - t < 60  # seconds, not minutes (about 3 s here)


def test_sklearn_clone_and_errors():
    from sklearn.base import clone
    enc = clone(make_encoding("path", "nb201", truncate=20))
    assert enc.get_params()["truncate"] == 20
    with pytest.raises(ValueError, match="unknown encoding"):
        make_encoding("bogus")
    with pytest.raises(ValueError, match="no architectures"):
        make_encoding("onehot").transform([])
    with pytest.raises(ValueError, match="NB201Arch"):
        make_encoding("onehot").transform(["|x~0|"])
