"""NAS-Bench-101 space: validation, string / NASLib / spec round trips, moves, isomorphism."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from naspredict.spaces.base import is_dag_upper, live_nodes
from naspredict.spaces.nb101 import OPS, NB101Arch, NB101Space

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ZC101 = DATA / "naslib_zc" / "zc_nasbench101.json"

C3, C1, MP = OPS
SPACE = NB101Space()

# input -> a -> b -> output, input -> output
CHAIN = ((0, 1, 0, 1), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0))
CHAIN_OPS = ("input", C3, MP, "output")


@pytest.fixture(scope="module")
def zc_keys() -> list[str]:
    if not ZC101.exists():
        pytest.skip(f"real NASLib data not found at {ZC101} (../shared/data absent)")
    return list(json.loads(ZC101.read_text())["nasbench101"]["cifar10"])


def test_space_attributes():
    assert SPACE.name == "nb101" and SPACE.ops == OPS
    assert (SPACE.max_path_length, SPACE.min_path_length, SPACE.max_nodes) == (5, 0, 7)
    assert SPACE.fixed_topology is False and not SPACE.finite
    with pytest.raises(NotImplementedError):
        next(SPACE.enumerate())


def test_arch_is_hashable_value_and_coerces_lists():
    a = NB101Arch([list(r) for r in CHAIN], list(CHAIN_OPS))
    assert a == NB101Arch(CHAIN, CHAIN_OPS) and hash(a) == hash(NB101Arch(CHAIN, CHAIN_OPS))
    assert a.matrix == CHAIN and a.ops == CHAIN_OPS
    with pytest.raises(AttributeError):
        a.ops = ()  # frozen


def test_string_form_and_round_trip():
    a = NB101Arch(CHAIN, CHAIN_OPS)
    text = SPACE.to_str(a)
    assert text == "0101.0010.0001.0000:input,conv3x3-bn-relu,maxpool3x3,output"
    assert SPACE.from_str(text) == a


@pytest.mark.parametrize("text", ["", "0101.0010", "01.00:input,output:x", "0121.0010.0001.0000:"
                                  "input,conv3x3-bn-relu,maxpool3x3,output", "01..00:input,output"])
def test_from_str_rejects_malformed(text):
    with pytest.raises(ValueError, match="expected an NB101 string"):
        SPACE.from_str(text)


def test_from_str_reports_invalid_cell_and_form():
    with pytest.raises(ValueError, match="upper triangular.*expected an NB101 string"):
        SPACE.from_str("00.10:input,output")


@pytest.mark.parametrize("matrix, ops, match", [
    (((0, 1, 0), (0, 0, 1)), ("input", C3, "output"), "n x n matrix and n op labels"),
    (((0, 1), (0, 0)), ("input", C3, "output"), "n x n matrix and n op labels"),
    (((0, 1, 0), (0, 1, 1), (0, 0, 0)), ("input", C3, "output"),
     r"must be upper triangular \(a DAG in topological order\)"),
    (((0, 1, 0), (0, 0, 1), (1, 0, 0)), ("input", C3, "output"),
     r"must be upper triangular \(a DAG in topological order\)"),
    (np.triu(np.ones((8, 8), int), 1), ("input",) + (C3,) * 6 + ("output",), "at most 7 nodes"),
    (((0, 1, 0), (0, 0, 1), (0, 0, 0)), ("input", "conv5x5", "output"), "unknown NB101 op"),
    (((0, 1, 0), (0, 0, 1), (0, 0, 0)), (C3, C3, "output"), "first node must be 'input'"),
    (((0, 1, 0), (0, 0, 1), (0, 0, 0)), ("input", C3, C1), "last 'output'"),
    (((0, 2, 0), (0, 0, 1), (0, 0, 0)), ("input", C3, "output"), "entries must be the ints 0/1"),
    (((0, 0.5, 0), (0, 0, 1), (0, 0, 0)), ("input", C3, "output"), "entries must be the ints 0/1"),
    (((0, 1, 0), (0, 0, 0), (0, 0, 0)), ("input", C3, "output"), "disconnected"),
    ((0, 1), ("input", "output"), "square 0/1 matrix"),
])
def test_arch_validation_errors(matrix, ops, match):
    with pytest.raises(ValueError, match=match):
        NB101Arch(matrix, ops)


def test_edge_limit_counts_the_pruned_cell():
    full = np.triu(np.ones((7, 7), int), 1)  # 21 live edges
    with pytest.raises(ValueError, match="at most 9 edges"):
        NB101Arch(full, ("input",) + (C3,) * 5 + ("output",))
    # 10 live edges: input->{1..4}, 1..4 -> output, 1->2, 3->4
    m = np.zeros((6, 6), int)
    m[0, 1:5] = m[1:5, 5] = 1
    m[1, 2] = m[3, 4] = 1
    with pytest.raises(ValueError, match="at most 9 edges"):
        NB101Arch(m, ("input",) + (C3,) * 4 + ("output",))
    # 9 live edges (input->1..4, 1..4->output, 1->2) plus 5 edges into a dead node 5: valid
    m7 = np.zeros((7, 7), int)
    m7[0, 1:5] = m7[1:5, 6] = 1
    m7[1, 2] = 1
    m7[:5, 5] = 1
    a = NB101Arch(m7, ("input",) + (C3,) * 5 + ("output",))
    assert a.array().sum() == 14 and a.n_nodes == 7
    assert SPACE.pruned(a).array().sum() == 9 and SPACE.pruned(a).n_nodes == 6


def test_make_prunes_but_constructor_does_not():
    m = np.zeros((5, 5), int)
    m[0, 1] = m[1, 4] = 1  # input -> conv3 -> output
    m[0, 2] = 1  # node 2 dead end
    m[3, 4] = 1  # node 3 unreachable
    ops = ("input", C3, C1, MP, "output")
    raw = NB101Arch(m, ops)
    assert raw.n_nodes == 5
    made = SPACE.make(m, ops)
    assert made == NB101Arch(((0, 1, 0), (0, 0, 1), (0, 0, 0)), ("input", C3, "output"))
    assert SPACE.canonical(raw) == SPACE.canonical(made)
    with pytest.raises(ValueError, match="disconnected"):
        SPACE.make([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", C3, "output"])


def test_spec_round_trip():
    a = NB101Arch(CHAIN, CHAIN_OPS)
    matrix, ops = SPACE.to_spec(a)
    assert matrix == [list(r) for r in CHAIN] and ops == list(CHAIN_OPS)
    assert SPACE.from_spec(matrix, ops) == a
    assert SPACE.from_spec(np.asarray(matrix), ops) == a


def test_naslib_round_trip_every_real_row(zc_keys):
    assert len(zc_keys) == 500
    n_dangling = 0
    for key in zc_keys:
        t = ast.literal_eval(key)
        arch = SPACE.from_naslib(t)
        assert arch.n_nodes == 7
        assert str(SPACE.to_naslib(arch)) == key
        assert SPACE.from_str(SPACE.to_str(arch)) == arch
        n_dangling += not live_nodes(arch.array()).all()
        assert SPACE.pruned(arch).array().sum() <= 9
    assert n_dangling == 499  # NASLib stores raw sampled matrices: almost all have dead nodes


def test_naslib_errors():
    with pytest.raises(ValueError, match="56-tuple"):
        SPACE.from_naslib((0, 1, 0))
    t = [0] * 49 + [0, 2, 2, 2, 2, 9, 1]
    with pytest.raises(ValueError, match="op ids must be in 0..4"):
        SPACE.from_naslib(t)
    with pytest.raises(ValueError, match="NASLib's 56-tuple needs a cell with exactly 7 nodes"):
        SPACE.to_naslib(NB101Arch(CHAIN, CHAIN_OPS))
    m = np.zeros((7, 7), int)
    m[0, 1] = m[1, 6] = 1
    ops = ("input", C3, C1, MP, C3, C1, "output")
    t = SPACE.to_naslib(NB101Arch(m, ops))
    # NASLib's ids: 2=maxpool3x3, 3=conv1x1-bn-relu, 4=conv3x3-bn-relu
    assert t[:49] == tuple(m.ravel()) and t[49:] == (0, 4, 3, 2, 4, 3, 1)


def test_isomorphic_cells_share_canonical_key():
    # input -> a(conv3) -> output, input -> b(maxpool) -> c(conv1) -> output
    ops_1 = ("input", C3, MP, C1, "output")
    m1 = np.zeros((5, 5), int)
    m1[0, 1] = m1[1, 4] = m1[0, 2] = m1[2, 3] = m1[3, 4] = 1
    # same graph with the intermediate nodes in another topological order: b, a, c
    ops_2 = ("input", MP, C3, C1, "output")
    m2 = np.zeros((5, 5), int)
    m2[0, 2] = m2[2, 4] = m2[0, 1] = m2[1, 3] = m2[3, 4] = 1
    a1, a2 = NB101Arch(m1, ops_1), NB101Arch(m2, ops_2)
    assert a1 != a2 and SPACE.to_str(a1) != SPACE.to_str(a2)
    assert SPACE.canonical(a1) == SPACE.canonical(a2)
    # relabelling one op breaks the isomorphism
    a3 = NB101Arch(m2, ("input", MP, C1, C3, "output"))
    assert SPACE.canonical(a3) != SPACE.canonical(a1)


def test_sample_is_valid_pruned_and_deterministic():
    xs = [SPACE.sample(np.random.default_rng(7)) for _ in range(2)]
    assert xs[0] == xs[1]
    rng = np.random.default_rng(0)
    archs = [SPACE.sample(rng) for _ in range(200)]
    again = [SPACE.sample(np.random.default_rng(0)) for _ in range(1)]
    assert again[0] == archs[0]
    for a in archs:
        m = a.array()
        assert is_dag_upper(m) and live_nodes(m).all() and m.sum() <= 9 and a.n_nodes <= 7
        assert SPACE.pruned(a) == a
    assert len({SPACE.canonical(a) for a in archs}) > 100
    assert len({a.n_nodes for a in archs}) >= 3


def test_neighbours_are_valid_distinct_and_one_move_away():
    rng = np.random.default_rng(1)
    for _ in range(20):
        a = SPACE.sample(rng)
        nbrs = SPACE.neighbours(a)
        assert nbrs, SPACE.to_str(a)
        keys = [SPACE.canonical(b) for b in nbrs]
        assert len(set(keys)) == len(keys) and SPACE.canonical(a) not in keys
        for b in nbrs:
            assert SPACE.pruned(b) == b
        assert SPACE.mutate(a, rng) in nbrs


def test_neighbours_of_small_cells():
    chain = NB101Arch(CHAIN, CHAIN_OPS)
    nbrs = {SPACE.to_str(b) for b in SPACE.neighbours(chain)}
    # op changes on the two intermediate nodes
    assert "0101.0010.0001.0000:input,conv1x1-bn-relu,maxpool3x3,output" in nbrs
    assert "0101.0010.0001.0000:input,conv3x3-bn-relu,conv3x3-bn-relu,output" in nbrs
    # flipping input->output off leaves the plain chain; flipping 0->2 on adds a skip
    assert "0100.0010.0001.0000:input,conv3x3-bn-relu,maxpool3x3,output" in nbrs
    assert "0111.0010.0001.0000:input,conv3x3-bn-relu,maxpool3x3,output" in nbrs
    # flipping 1->2 off disconnects nothing but prunes nodes 1 and 2 away
    assert "01.00:input,output" in nbrs
    # every edge split inserts a node: 5 nodes
    assert any(s.count(".") == 4 for s in nbrs)
    assert SPACE.to_str(chain) not in nbrs
    smallest = SPACE.make([[0, 1], [0, 0]], ["input", "output"])
    grown = SPACE.neighbours(smallest)
    assert sorted(b.ops[1] for b in grown) == sorted(OPS) and all(b.n_nodes == 3 for b in grown)


def test_to_dag_is_the_cell_as_given():
    m = np.zeros((4, 4), int)
    m[0, 1] = m[1, 3] = m[0, 2] = 1  # node 2 dangling
    a = NB101Arch(m, ("input", C3, C1, "output"))
    dag = SPACE.to_dag(a)
    assert dag.ops == a.ops and dag.adjacency == a.matrix and dag.n_inputs == 1
    assert dag.edges() == [(0, 1), (0, 2), (1, 3)]


def test_validate_rejects_foreign_objects():
    with pytest.raises(ValueError, match="expected an NB101Arch"):
        SPACE.to_str("0101")


def test_canonical_keys_are_nasbench_hashes():
    """The key is NAS-Bench-101's own hash string (the API's first cell of nasbench_only108, hash
    00005c142e6f48ac74fdcf73e3439874), for the cell as given and for an isomorphic relabelling, so hash-keyed NB101 data joins on it."""
    from naspredict.spaces.nb101 import NB101Arch, NB101Space
    sp = NB101Space()
    m = [[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0],
         [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0] * 7]
    ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu",
           "conv1x1-bn-relu", "output"]
    assert sp.canonical(NB101Arch(m, ops)) == "00005c142e6f48ac74fdcf73e3439874"
    # swap the two parallel branches' roles (nodes 3 and 4 both feed node 5): same cell
    perm = [0, 1, 2, 4, 3, 5, 6]
    arr = np.array(m)[np.ix_(perm, perm)]
    swapped = NB101Arch(arr.tolist(), [ops[i] for i in perm])
    assert np.triu(arr, 1).sum() == arr.sum()  # still topologically ordered
    assert sp.canonical(swapped) == "00005c142e6f48ac74fdcf73e3439874"
    other = NB101Arch(m, ops[:2] + ["conv1x1-bn-relu"] + ops[3:])
    assert sp.canonical(other) != "00005c142e6f48ac74fdcf73e3439874"
