"""DARTS / NAS-Bench-301 space: validation, string / NASLib / genotype round trips, moves, DAG."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from naspredict.spaces.base import is_dag_upper, live_nodes
from naspredict.spaces.darts import OPS, DartsArch, DartsSpace, Genotype

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ZC301 = DATA / "naslib_zc" / "zc_nasbench301.json"

SPACE = DartsSpace()
# the DARTS-V2 normal cell and reduction cell (Liu et al., 2019), as (input, op)
V2_NORMAL = ((0, "sep_conv_3x3"), (1, "sep_conv_3x3"), (0, "sep_conv_3x3"), (1, "sep_conv_3x3"),
             (1, "sep_conv_3x3"), (0, "skip_connect"), (0, "skip_connect"), (2, "dil_conv_3x3"))
V2_REDUCE = ((0, "max_pool_3x3"), (1, "max_pool_3x3"), (2, "skip_connect"), (1, "max_pool_3x3"),
             (0, "max_pool_3x3"), (2, "skip_connect"), (2, "skip_connect"), (1, "max_pool_3x3"))
V2 = DartsArch(V2_NORMAL, V2_REDUCE)


@pytest.fixture(scope="module")
def zc_keys() -> list[str]:
    if not ZC301.exists():
        pytest.skip(f"real NASLib data not found at {ZC301} (../shared/data absent)")
    return list(json.loads(ZC301.read_text())["cifar10"])


def _with(cell, p, pair):
    return cell[:p] + (pair,) + cell[p + 1:]


def test_space_attributes():
    assert SPACE.name == "darts" and SPACE.ops == OPS and OPS[0] == "max_pool_3x3"
    assert (SPACE.max_path_length, SPACE.min_path_length, SPACE.max_nodes) == (4, 1, 20)
    assert SPACE.fixed_topology is False and not SPACE.finite


def test_arch_is_hashable_and_coerces_lists():
    a = DartsArch([list(p) for p in V2_NORMAL], list(V2_REDUCE))
    assert a == V2 and hash(a) == hash(V2) and a.normal == V2_NORMAL


def test_string_round_trip():
    text = SPACE.to_str(V2)
    assert text.startswith("normal=[(0,sep_conv_3x3),(1,sep_conv_3x3),")
    assert ";reduce=[(0,max_pool_3x3)," in text
    assert " " not in text
    assert SPACE.from_str(text) == V2


@pytest.mark.parametrize("text", [
    "", "normal=[];reduce=[]x", "reduce=[(0,skip_connect)];normal=[(0,skip_connect)]",
    "normal=[(0,sep_conv_3x3)(1,sep_conv_3x3)];reduce=[]",
    "normal=[(a,sep_conv_3x3)];reduce=[]",
    "normal=[(0, sep_conv_3x3)];reduce=[]",
])
def test_from_str_rejects_malformed(text):
    with pytest.raises(ValueError, match="expected a DARTS string"):
        SPACE.from_str(text)


def test_from_str_names_cell_errors():
    text = SPACE.to_str(V2).replace("dil_conv_3x3", "conv_7x7")
    with pytest.raises(ValueError, match="unknown DARTS op 'conv_7x7'.*expected a DARTS string"):
        SPACE.from_str(text)


@pytest.mark.parametrize("normal, reduce, match", [
    (V2_NORMAL[:7], V2_REDUCE, "normal cell must be 8"),
    (V2_NORMAL, V2_REDUCE + ((0, "skip_connect"),), "reduce cell must be 8"),
    (V2_NORMAL, ((0,),) * 8, "reduce cell must be 8"),
    (None, V2_REDUCE, "normal cell must be 8"),
    (_with(V2_NORMAL, 3, (1, "conv_7x7")), V2_REDUCE, "unknown DARTS op 'conv_7x7'"),
    (_with(V2_NORMAL, 1, (2, "sep_conv_3x3")), V2_REDUCE, r"pair 1: illegal input index 2 .*0\.\.1"),
    (V2_NORMAL, _with(V2_REDUCE, 6, (5, "skip_connect")), r"reduce pair 6: illegal input index 5"),
    (_with(V2_NORMAL, 0, (-1, "sep_conv_3x3")), V2_REDUCE, "illegal input index -1"),
    (_with(V2_NORMAL, 0, ("0", "sep_conv_3x3")), V2_REDUCE, "input must be an int"),
    (_with(V2_NORMAL, 3, (0, "sep_conv_3x3")), V2_REDUCE, "normal node 3: .*different inputs, both read 0"),
])
def test_arch_validation_errors(normal, reduce, match):
    with pytest.raises(ValueError, match=match):
        DartsArch(normal, reduce)


def test_naslib_round_trip_every_real_row(zc_keys):
    assert len(zc_keys) == 725
    for key in zc_keys:
        arch = SPACE.from_naslib(ast.literal_eval(key))
        assert str(SPACE.to_naslib(arch)) == key
        assert SPACE.from_str(SPACE.to_str(arch)) == arch
        assert SPACE.from_genotype(SPACE.to_genotype(arch)) == arch


def test_naslib_format_and_errors():
    t = SPACE.to_naslib(V2)
    assert t[0][:2] == [(0, 3), (1, 3)] and t[1][0] == (0, 0) and t[0][5] == (0, 2)
    assert SPACE.from_naslib(json.loads(json.dumps(t))) == V2  # JSON lists of lists work too
    with pytest.raises(ValueError, match="expected NASLib's"):
        SPACE.from_naslib(t[0])
    bad = [list(t[0]), list(t[1])]
    bad[1][2] = (2, 7)
    with pytest.raises(ValueError, match="op ids must be ints in 0..6"):
        SPACE.from_naslib(bad)


def test_genotype_round_trip_and_errors():
    g = SPACE.to_genotype(V2)
    assert isinstance(g, Genotype)
    assert g.normal[0] == ("sep_conv_3x3", 0) and g.normal[7] == ("dil_conv_3x3", 2)
    assert g.normal_concat == [2, 3, 4, 5] and g.reduce_concat == [2, 3, 4, 5]
    assert SPACE.from_genotype(g) == V2
    assert SPACE.from_genotype({"normal": g.normal, "reduce": g.reduce}) == V2
    with pytest.raises(ValueError, match=r"normal_concat must be \[2, 3, 4, 5\]"):
        SPACE.from_genotype(g._replace(normal_concat=[4, 5]))
    with pytest.raises(ValueError, match=r"genotype.reduce must be 8 \(op, input\) pairs"):
        SPACE.from_genotype(g._replace(reduce=None))


def test_sample_valid_distinct_inputs_and_deterministic():
    a = SPACE.sample(np.random.default_rng(3))
    assert a == SPACE.sample(np.random.default_rng(3))
    rng = np.random.default_rng(0)
    archs = [SPACE.sample(rng) for _ in range(300)]
    assert len(set(archs)) == 300
    seen_inputs = set()
    for arch in archs:
        for cell in (arch.normal, arch.reduce):
            for k in range(4):
                (i, _), (j, _) = cell[2 * k], cell[2 * k + 1]
                assert i != j and max(i, j) <= k + 1
                seen_inputs.add((k, i))
    # every legal input index is drawn for every node
    assert seen_inputs == {(k, i) for k in range(4) for i in range(k + 2)}


def test_neighbours_one_change_away():
    nbrs = SPACE.neighbours(V2)
    # 16 pairs x 6 other ops, plus input moves: node k offers k other inputs, x2 pairs x2 cells
    assert len(nbrs) == 16 * 6 + 2 * 2 * (0 + 1 + 2 + 3)
    assert len(set(nbrs)) == len(nbrs) and V2 not in nbrs
    for b in nbrs:
        diffs = [(c, p) for c, (x, y) in enumerate(((V2.normal, b.normal), (V2.reduce, b.reduce)))
                 for p in range(8) if x[p] != y[p]]
        assert len(diffs) == 1
        c, p = diffs[0]
        old, new = (V2.normal, V2.reduce)[c][p], (b.normal, b.reduce)[c][p]
        assert (old[0] == new[0]) != (old[1] == new[1])  # exactly the op or the input changed
    assert DartsArch(_with(V2_NORMAL, 7, (3, "dil_conv_3x3")), V2_REDUCE) in nbrs
    assert DartsArch(V2_NORMAL, _with(V2_REDUCE, 0, (0, "dil_conv_5x5"))) in nbrs
    assert SPACE.mutate(V2, np.random.default_rng(0)) in nbrs


def test_to_dag_layout():
    dag = SPACE.to_dag(V2)
    m = dag.matrix()
    assert dag.n_nodes == SPACE.max_nodes == 20 and dag.n_inputs == 2
    assert set(dag.ops) <= set(OPS) | set(SPACE.structural_labels) and SPACE.n_inputs == 2
    assert dag.ops[:2] == ("input0", "input1") and dag.ops[10] == "concat" and dag.ops[-1] == "output"
    assert dag.ops[2:10] == tuple(op for _, op in V2_NORMAL)
    assert dag.ops[11:19] == tuple(op for _, op in V2_REDUCE)
    assert is_dag_upper(m) and live_nodes(m, 2).all()
    # normal pair 7 reads node 2 = sum of normal pairs 0 and 1 (DAG nodes 2 and 3)
    assert m[:, 9].nonzero()[0].tolist() == [2, 3]
    # normal pair 0 reads input0; every normal op node feeds concat
    assert m[:, 2].nonzero()[0].tolist() == [0] and m[2:10, 10].all()
    # reduction input 0 (c_{k-2}) is input1, input 1 (c_{k-1}) is concat
    assert m[:, 11].nonzero()[0].tolist() == [1] and m[:, 12].nonzero()[0].tolist() == [10]
    # reduction pair 2 reads node 2 = reduction pairs 0 and 1 (DAG nodes 11, 12)
    assert m[:, 13].nonzero()[0].tolist() == [11, 12]
    assert m[11:19, 19].all() and m[:, 19].sum() == 8
    assert m.sum() == sum(1 if i < 2 else 2 for i, _ in V2_NORMAL + V2_REDUCE) + 16


def test_canonical_invariant_to_pair_order_within_a_node():
    swapped = DartsArch(V2_NORMAL[1::-1] + V2_NORMAL[2:], V2_REDUCE)
    assert swapped != V2 and SPACE.canonical(swapped) == SPACE.canonical(V2)
    changed = DartsArch(_with(V2_NORMAL, 0, (0, "sep_conv_5x5")), V2_REDUCE)
    assert SPACE.canonical(changed) != SPACE.canonical(V2)
    # normal and reduction cells play different roles: swapping them changes the key
    assert SPACE.canonical(DartsArch(V2_REDUCE, V2_NORMAL)) != SPACE.canonical(V2)


def test_validate_rejects_foreign_objects():
    with pytest.raises(ValueError, match="expected a DartsArch"):
        SPACE.to_dag("normal=[]")
