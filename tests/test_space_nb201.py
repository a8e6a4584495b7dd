import numpy as np
import pytest

from naspredict.spaces import NB201Arch, NB201Space, get_space

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
sp = NB201Space()


def test_parse_and_naslib_order():
    a = sp.from_str(BEST)
    # NASLib order (0-1, 0-2, 0-3, 1-2, 1-3, 2-3); ids 0 skip, 1 none, 2 conv3, 3 conv1, 4 pool
    assert sp.to_naslib(a) == (2, 2, 0, 2, 3, 2)
    assert sp.to_str(a) == BEST
    assert sp.from_naslib((2, 2, 0, 2, 3, 2)) == a
    assert hash(a) == hash(sp.from_str(BEST))


def test_enumerate_and_round_trips():
    archs = list(sp.enumerate())
    assert len(archs) == 15625 == len(set(archs))
    for a in archs:
        assert sp.from_str(sp.to_str(a)) == a
        assert sp.from_naslib(sp.to_naslib(a)) == a


@pytest.mark.parametrize("bad, match", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "3 node groups"),
    ("|conv~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|", "unknown NB201 op"),
    ("|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|", "op~0"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|", "needs 2 inputs"),
])
def test_malformed_strings(bad, match):
    with pytest.raises(ValueError, match=match):
        sp.from_str(bad)


def test_malformed_tuples_and_types():
    with pytest.raises(ValueError, match="6-tuple"):
        sp.from_naslib((0, 1, 2))
    with pytest.raises(ValueError, match="6-tuple"):
        sp.from_naslib((0, 1, 2, 3, 4, 5))
    with pytest.raises(ValueError, match="unknown NB201 op"):
        NB201Arch(("skip_connect",) * 5 + ("conv",))
    with pytest.raises(ValueError, match="expected an NB201Arch"):
        sp.to_str("not an arch")


def test_sample_mutate_neighbours_deterministic():
    r1, r2 = np.random.default_rng(3), np.random.default_rng(3)
    assert [sp.sample(r1) for _ in range(5)] == [sp.sample(r2) for _ in range(5)]
    a = sp.from_str(BEST)
    nbrs = sp.neighbours(a)
    assert len(nbrs) == 24 and a not in nbrs
    assert all(sum(x != y for x, y in zip(n.ops, a.ops)) == 1 for n in nbrs)
    m = sp.mutate(a, np.random.default_rng(0))
    assert m in nbrs


def test_canonical_merges_isomorphic_cells():
    # swapping cell nodes 1 and 2 needs no edge 1->2: make it 'none' so the swap is an isomorphism
    a = sp.from_str("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    b = sp.from_str("|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
    assert a != b and sp.canonical(a) == sp.canonical(b)
    c = sp.from_str(BEST)
    assert sp.canonical(c) != sp.canonical(a)


def test_class_counts():
    archs = list(sp.enumerate())
    # graph isomorphism after pruning 'none' edges and dead nodes
    assert len({sp.canonical(a) for a in archs}) == 8765
    # NB201's own rule (skip = identity) reproduces the paper's 6,466
    assert len({sp.functional_key(a) for a in archs}) == 6466


def test_dead_cells_and_dag():
    archs = list(sp.enumerate())
    assert sum(not sp.has_live_path(a) for a in archs) == 341
    dag = sp.to_dag(archs[0])
    m = dag.matrix()
    assert dag.ops[0] == "input" and dag.ops[-1] == "output" and np.all(np.tril(m) == 0)
    assert m.sum() == 3 + 3 + 4  # input fan-out 3, output fan-in 3, 4 edge-to-edge links


def test_get_space_unknown():
    with pytest.raises(ValueError, match="unknown search space"):
        get_space("nb999")
