"""NAS-Bench-Graph space: keys, enumeration, strings, errors, sampling, neighbours, DAGs."""
from __future__ import annotations

import importlib.util
import pickle

import numpy as np
import pytest

from naspredict.spaces.base import is_dag_upper
from naspredict.spaces.nbgraph import (
    DATASETS, LINKS, OPS, PROTEINS_OPS, NBGraphArch, NBGraphSpace, bench_path, is_normal,
    normal_form,
)

_HAVE_WHEEL = importlib.util.find_spec("nas_bench_graph") is not None
needs_wheel = pytest.mark.skipif(not _HAVE_WHEEL, reason="nas-bench-graph==1.4.0 is not installed")


@pytest.fixture(scope="module")
def full() -> NBGraphSpace:
    return NBGraphSpace()


@pytest.fixture(scope="module")
def proteins() -> NBGraphSpace:
    return NBGraphSpace("proteins")


@pytest.fixture(scope="module")
def keys() -> dict[str, list[int]]:
    out = {}
    for name in DATASETS:
        with open(bench_path(name), "rb") as f:
            out[name] = list(pickle.load(f))
    return out


# -- real tables -----------------------------------------------------------------------------

@needs_wheel
def test_bench_path_finds_every_table():
    for name in DATASETS:
        assert bench_path(name).is_file()
    with pytest.raises(ValueError, match="expected one of cora, citeseer"):
        bench_path("mnist")


@needs_wheel
@pytest.mark.parametrize("name", DATASETS)
def test_key_round_trip_on_real_tables(name, keys, full, proteins):
    space = proteins if name == "proteins" else full
    ks = keys[name]
    assert len(ks) == (2021 if name == "proteins" else 26206)
    for k in ks:
        arch = space.from_key(k)
        assert space.to_key(arch) == k
        assert full.to_key(arch) == k  # proteins keys use the same 9-op digits


@needs_wheel
def test_proteins_digits_index_the_full_op_list(keys):
    digits = {c for k in keys["proteins"] for c in f"{k % 10**4:04d}"}
    assert digits == {str(OPS.index(o)) for o in PROTEINS_OPS} == set("14578")


@needs_wheel
def test_enumerate_is_exactly_the_benchmark(full, proteins, keys):
    archs = list(full.enumerate())
    assert len(archs) == len(full) == 26206
    assert {full.to_key(a) for a in archs} == set(keys["cora"])
    parchs = list(proteins.enumerate())
    assert len(parchs) == len(proteins) == 2021
    assert {proteins.to_key(a) for a in parchs} == set(keys["proteins"])
    assert all(set(a.ops) <= set(PROTEINS_OPS) for a in parchs)


# -- identity and errors ---------------------------------------------------------------------

def test_string_round_trip(full):
    for arch in list(full.enumerate())[::997]:
        text = full.to_str(arch)
        assert full.from_str(text) == arch
    arch = full.from_str("link=0,0,1,2;ops=gat,gcn,sage,fc")
    assert arch == NBGraphArch((0, 0, 1, 2), ("gat", "gcn", "sage", "fc"))
    assert full.to_str(arch) == "link=0,0,1,2;ops=gat,gcn,sage,fc"
    assert hash(arch) == hash(NBGraphArch((0, 0, 1, 2), ("gat", "gcn", "sage", "fc")))
    # well-formed but not the benchmark's representative of its class
    with pytest.raises(ValueError, match="not a NAS-Bench-Graph benchmark cell"):
        full.from_str("link=0,0,1,2;ops=gcn,gat,skip,sage")


def test_value_errors(full, proteins):
    with pytest.raises(ValueError, match="9 LINKS patterns"):
        NBGraphArch((0, 0, 2, 1), ("gcn",) * 4)
    with pytest.raises(ValueError, match="9 LINKS patterns"):
        NBGraphArch((0, 0, 0), ("gcn",) * 4)
    with pytest.raises(ValueError, match="unknown NAS-Bench-Graph op"):
        NBGraphArch((0, 0, 0, 0), ("gcn", "gcn", "conv", "gcn"))
    with pytest.raises(ValueError, match="4 op names"):
        NBGraphArch((0, 0, 0, 0), ("gcn", "gcn", "gcn"))
    with pytest.raises(ValueError, match="link=a,b,c,d;ops="):
        full.from_str("0,0,0,0|gcn,gcn,gcn,gcn")
    with pytest.raises(ValueError, match="link must be 4 integers"):
        full.from_str("link=0,0,x,0;ops=gcn,gcn,gcn,gcn")
    with pytest.raises(ValueError, match="unknown NAS-Bench-Graph key 90000: link id"):
        full.from_key(90000)
    with pytest.raises(ValueError, match="op digits"):
        full.from_key(10009)
    with pytest.raises(ValueError, match="unknown NAS-Bench-Graph key 18888"):
        full.from_key(18888)  # all-skip cell
    with pytest.raises(ValueError, match="unknown NAS-Bench-Graph key 1110"):
        full.from_key(1110)  # gcn,gcn,gcn,gat on link 0: unsorted, not a representative
    with pytest.raises(ValueError, match="not in the 'proteins' op set"):
        proteins.from_key(0)  # gat x4 exists in the full tables only
    with pytest.raises(ValueError, match="unknown ops_set"):
        NBGraphSpace("small")
    with pytest.raises(ValueError, match="expected an NBGraphArch"):
        full.validate(((0, 0, 0, 0), ("gcn",) * 4))


# -- normal form, sampling, moves ------------------------------------------------------------

def test_normal_form_merges_skip_variants(full):
    # a residual skip reading the input is hoisted to the front, all other readers go through it
    arch = NBGraphArch((0, 0, 0, 0), ("gcn", "skip", "gcn", "gcn"))
    assert not is_normal(arch)
    assert normal_form(arch) == NBGraphArch((0, 1, 1, 1), ("skip", "gcn", "gcn", "gcn"))
    assert normal_form(NBGraphArch((0, 0, 0, 0), ("skip",) * 4)) is None
    for rep in list(full.enumerate())[::113]:
        assert normal_form(rep) == rep


def test_sample_is_deterministic_and_in_space(full, proteins):
    for space in (full, proteins):
        a = [space.sample(np.random.default_rng(7)) for _ in range(3)]
        assert a[0] == a[1] == a[2]
        rng1, rng2 = np.random.default_rng(3), np.random.default_rng(3)
        xs = [space.sample(rng1) for _ in range(50)]
        assert xs == [space.sample(rng2) for _ in range(50)]
        assert all(space.validate(x) is x for x in xs)
        assert len(set(xs)) > 40


def test_neighbours_are_benchmark_cells(full, proteins):
    for space in (full, proteins):
        rng = np.random.default_rng(0)
        for _ in range(60):
            arch = space.sample(rng)
            nbrs = space.neighbours(arch)
            assert nbrs and arch not in nbrs and len(set(nbrs)) == len(nbrs)
            for n in nbrs:
                assert space.validate(n) is n
            assert space.mutate(arch, rng) in nbrs


def test_to_dag_and_canonical(full):
    arch = NBGraphArch((0, 0, 1, 2), ("gat", "gcn", "sage", "fc"))
    dag = full.to_dag(arch)
    assert dag.ops == ("input", "gat", "gcn", "sage", "fc", "output")
    assert set(dag.edges()) == {(0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 5)}
    assert is_dag_upper(dag.matrix())
    for a in list(full.enumerate())[::211]:
        m = full.to_dag(a).matrix()
        assert is_dag_upper(m)
        assert m[:, 1:5].sum(0).tolist() == [1, 1, 1, 1]  # each op reads exactly one node
        assert m[1:5].sum(1).min() >= 1  # every op is read or feeds the output
    reps = list(full.enumerate())[:400]
    assert len({full.canonical(a) for a in reps}) == len(reps)


def test_space_attributes(full, proteins):
    assert full.name == proteins.name == "nbgraph"
    assert full.ops == OPS and proteins.ops == PROTEINS_OPS
    assert full.max_nodes == 6 and full.max_path_length == 4 and full.fixed_topology is False
    assert full.finite and len(LINKS) == 9
