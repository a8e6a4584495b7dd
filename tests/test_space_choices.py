"""The spaces' categorical choices schema (choices / to_choices / from_choices) and the 'rl'
strategy that reads it: exact round trips on every space (all NB201 and NAS-Bench-Graph cells,
samples and real NASLib rows for DARTS and NB101), malformed vectors refused with the problem
named, and REINFORCE ask/tell rounds on darts and nb101 with real table results."""
from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest

from naspredict import data
from naspredict.evaluators import as_evaluator
from naspredict.search import make_strategy
from naspredict.spaces import Choice, NB201Space, SearchSpace, get_space
from naspredict.spaces.subset import subset_space
from naspredict.trials import Trial

from .conftest import shared_or_skip


def _random_vectors(space, n, seed):
    rng = np.random.default_rng(seed)
    sizes = [len(c.options) for c in space.choices()]
    return [tuple(int(rng.integers(k)) for k in sizes) for _ in range(n)]


@pytest.fixture(scope="module")
def nb101_zc():
    shared_or_skip("naslib_zc", "zc_nasbench101.json")
    return data.load("nb101-zc")


@pytest.fixture(scope="module")
def nb301_zc():
    shared_or_skip("naslib_zc", "zc_nasbench301.json")
    return data.load("nb301-zc")


# -- the schema ----------------------------------------------------------------------------------
def test_every_space_declares_a_schema():
    sizes = {
        "nb201": [5] * 6,
        "darts": [2, 7, 7, 6, 7, 7, 12, 7, 7, 20, 7, 7] * 2,
        "nbgraph": [9] * 5,
        "nb101": [2] * 21 + [3] * 5,
    }
    for name, want in sizes.items():
        space = get_space(name)
        assert space.has_choices
        schema = space.choices()
        assert all(isinstance(c, Choice) for c in schema)
        assert [len(c.options) for c in schema] == want, name
        assert len({c.name for c in schema}) == len(schema), f"{name}: choice names repeat"
    proteins = get_space("nbgraph", ops_set="proteins").choices()
    assert proteins[0].options == get_space("nbgraph").choices()[0].options
    assert [c.options for c in proteins[1:]] == [("gcn", "sage", "arma", "fc", "skip")] * 4


def test_schema_names_the_decisions():
    nb201 = get_space("nb201").choices()
    assert [c.name for c in nb201] == ["edge 0->1", "edge 0->2", "edge 0->3", "edge 1->2", "edge 1->3", "edge 2->3"]
    darts = get_space("darts").choices()
    assert darts[0] == Choice("normal node 2 inputs", ((0, 1), (1, 0)))
    assert darts[12].name == "reduce node 2 inputs" and darts[23].name == "reduce node 5 op 1"
    assert darts[9].options == tuple(itertools.permutations(range(5), 2))
    nb101 = get_space("nb101").choices()
    assert nb101[0] == Choice("edge 0->1", (0, 1)) and nb101[20].name == "edge 5->6"
    assert nb101[21].name == "node 1 op" and nb101[25].name == "node 5 op"


def test_choice_refuses_bad_options():
    with pytest.raises(ValueError, match="at least one option"):
        Choice("x", ())
    with pytest.raises(ValueError, match="repeated options"):
        Choice("x", ("a", "a"))
    with pytest.raises(ValueError, match="non-empty string name"):
        Choice("", ("a",))
    assert len(Choice("x", ["a", "b"])) == 2 and Choice("x", ["a", "b"]).options == ("a", "b")


def test_a_space_without_a_schema_says_so():
    class NoSchema(NB201Space):
        choices = SearchSpace.choices  # the base class's

    space = NoSchema()
    assert not space.has_choices
    for call in (space.choices, lambda: space.to_choices(next(space.enumerate())),
                 lambda: space.from_choices([0] * 6)):
        with pytest.raises(ValueError, match="declares no categorical choices schema"):
            call()


# -- round trips -----------------------------------------------------------------------------
def test_nb201_round_trip_every_cell():
    space = get_space("nb201")
    seen = set()
    for arch in space.enumerate():
        v = space.to_choices(arch)
        assert v == space.to_naslib(arch)  # the vector is NASLib's op-id tuple
        assert space.from_choices(v) == arch
        seen.add(v)
    assert len(seen) == 15_625


@pytest.mark.parametrize("ops_set", ["full", "proteins"])
def test_nbgraph_round_trip_every_cell(ops_set):
    space = get_space("nbgraph", ops_set=ops_set)
    n = 0
    for arch in space.enumerate():
        v = space.to_choices(arch)
        assert space.from_choices(v) == arch
        assert space.to_choices(space.from_choices(v)) == v
        n += 1
    assert n == len(space)


def test_nbgraph_every_vector_decodes_to_a_benchmark_cell_or_none():
    space = get_space("nbgraph", ops_set="proteins")
    skip = space.ops.index("skip")
    cells = set()
    for v in itertools.product(*(range(len(c.options)) for c in space.choices())):
        arch = space.from_choices(v)
        if arch is None:
            assert all(i == skip for i in v[1:])  # only the all-skip cell has no representative
            continue
        space.validate(arch)
        cells.add(arch)
    assert len(cells) == len(space)  # every benchmark cell is reached


def test_darts_round_trip_samples_and_vectors():
    space = get_space("darts")
    rng = np.random.default_rng(0)
    for _ in range(300):
        arch = space.sample(rng)
        assert space.from_choices(space.to_choices(arch)) == arch
    for v in _random_vectors(space, 300, seed=1):
        arch = space.from_choices(v)  # every vector is a genotype
        assert arch is not None and space.to_choices(arch) == v


def test_darts_keeps_the_order_of_a_nodes_pairs():
    space = get_space("darts")
    arch = space.sample(np.random.default_rng(3))
    normal = list(arch.normal)
    normal[0], normal[1] = normal[1], normal[0]  # same node, pairs swapped
    swapped = type(arch)(tuple(normal), arch.reduce)
    v, w = space.to_choices(arch), space.to_choices(swapped)
    assert v[0] != w[0] and (v[1], v[2]) == (w[2], w[1])
    assert space.from_choices(w) == swapped


def test_darts_round_trip_naslib_rows(nb301_zc):
    space = get_space("darts")
    for arch in nb301_zc.archs:
        assert space.from_choices(space.to_choices(arch)) == arch


def test_nb101_round_trip_samples():
    space = get_space("nb101")
    rng = np.random.default_rng(0)
    for _ in range(200):
        arch = space.sample(rng)  # pruned: may have fewer than 7 nodes
        v = space.to_choices(arch)
        back = space.from_choices(v)
        assert back.n_nodes == 7
        assert space.pruned(back) == arch
        assert space.canonical(back) == space.canonical(arch)
        assert space.to_choices(back) == v


def test_nb101_vectors_decode_to_valid_cells_or_none():
    space = get_space("nb101")
    n_valid = 0
    for v in _random_vectors(space, 400, seed=2):
        arch = space.from_choices(v)
        if arch is not None:
            n_valid += 1
            assert space.to_choices(space.validate(arch)) == v
    assert 0 < n_valid < 400
    ops = [0] * 5
    assert space.from_choices([0] * 21 + ops) is None  # no edges: input disconnected
    assert space.from_choices([1] * 21 + ops) is None  # 21 edges > 9
    chain = [1 if j == i + 1 else 0 for i, j in itertools.combinations(range(7), 2)]
    assert space.from_choices(chain + ops).n_nodes == 7  # input -> 5 ops -> output, 6 edges


def test_nb101_round_trip_naslib_rows(nb101_zc):
    space = get_space("nb101")
    for arch in nb101_zc.archs:
        assert space.from_choices(space.to_choices(arch)) == arch  # the raw 7-node row, exactly


def test_subset_decodes_only_its_members():
    base = get_space("nb201")
    rows = list(itertools.islice(base.enumerate(), 0, 50, 7))
    sub = subset_space(base, rows)
    assert sub.choices() == base.choices() and sub.has_choices
    for arch in rows:
        assert sub.from_choices(sub.to_choices(arch)) == arch
    outside = next(a for a in base.enumerate() if a not in rows)
    assert sub.from_choices(base.to_choices(outside)) is None
    with pytest.raises(ValueError, match="6 choices"):
        sub.from_choices([0] * 5)


def test_table_subsets_round_trip(nb301_zc, nb101_zc):
    for bench in (nb301_zc, nb101_zc):
        sub = bench.search_space()
        for arch in bench.archs[:100]:
            assert sub.from_choices(sub.to_choices(arch)) == arch
        other = sub.base.sample(np.random.default_rng(0))
        assert other not in bench
        assert sub.from_choices(sub.base.to_choices(other)) is None


# -- malformed vectors -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["nb201", "darts", "nbgraph", "nb101"])
def test_malformed_vectors_are_refused(name):
    space = get_space(name)
    n = len(space.choices())
    good = [0] * n
    assert space.check_choices(np.array(good)) == tuple(good)  # numpy ints are fine
    cases = [
        (good[:-1], f"has {n} choices, got a vector of {n - 1}"),
        (good + [0], f"has {n} choices, got a vector of {n + 1}"),
        ([len(space.choices()[0].options)] + good[1:], r"choice 0 .* must be in 0\.\."),
        (good[:-1] + [-1], rf"choice {n - 1} .* must be in 0\.\."),
        ([0.0] + good[1:], "needs an int option index, got 0.0"),
        ([True] + good[1:], "needs an int option index, got True"),
        (["0"] + good[1:], "needs an int option index"),
        ("0" * n, "sequence of"),
        (None, "sequence of"),
    ]
    for vector, message in cases:
        with pytest.raises(ValueError, match=message):
            space.from_choices(vector)


def test_to_choices_refuses_archs_of_other_spaces():
    nb201 = next(get_space("nb201").enumerate())
    with pytest.raises(ValueError, match="expected a DartsArch"):
        get_space("darts").to_choices(nb201)


# -- the rl strategy on darts and nb101 ----------------------------------------------------------
def _table_trials(bench, metric, n):
    ev = as_evaluator(bench, [metric])
    return [Trial(i, a).finish(ev.evaluate(a)) for i, a in enumerate(bench.archs[:n])]


@pytest.mark.parametrize("which", ["darts", "nb101"])
def test_rl_learns_from_real_rows_and_proposes_new_archs(which, nb301_zc, nb101_zc):
    bench = nb301_zc if which == "darts" else nb101_zc
    space = get_space(which)
    s = make_strategy("rl", space, "val_accuracy", "max", 0, hidden_size=16)
    assert s.codec.vocab == [len(c.options) for c in space.choices()]
    before = [p.detach().clone() for p in s.controller.parameters()]
    seen = set()
    trials = _table_trials(bench, "val_accuracy", 24)
    for r in range(3):
        s.tell(trials[8 * r:8 * (r + 1)])
        props = s.ask(6)
        keys = {space.canonical(p.arch) for p in props}
        assert len(props) == 6 and len(keys) == 6
        for p in props:
            space.validate(p.arch)
            assert space.from_choices(space.to_choices(p.arch)) is not None
        assert not keys & {space.canonical(a) for a in bench.archs[:8 * (r + 1)]}
        assert not keys & seen
        seen |= keys  # left pending: the table has no result for them
    assert any(not np.array_equal(a, b.detach()) for a, b in zip(before, s.controller.parameters()))
    twins = [make_strategy("rl", space, "val_accuracy", "max", 0, hidden_size=16) for _ in range(2)]
    for t in twins:
        t.tell(trials[:8])
    assert [p.arch for p in twins[0].ask(6)] == [p.arch for p in twins[1].ask(6)]  # same seed, same proposals
    restored = make_strategy("rl", space, "val_accuracy", "max", 0, hidden_size=16)
    restored.load_state_dict(pickle.loads(pickle.dumps(s.state_dict())))
    assert [p.arch for p in restored.ask(4)] == [p.arch for p in s.ask(4)]


@pytest.mark.parametrize("which", ["darts", "nb101"])
def test_rl_runs_on_a_table_subset(which, nb301_zc, nb101_zc):
    bench = nb301_zc if which == "darts" else nb101_zc
    s = make_strategy("rl", bench.search_space(), "val_accuracy", "max", 0, hidden_size=16, max_tries=64)
    trace = s.run(as_evaluator(bench, ["val_accuracy"]), 12, batch_size=4, progress=False)
    assert len(trace.frame) == 12
    assert all(r.ok for _, r in s.history)
    archs = [a for a, _ in s.history]
    assert all(a in bench for a in archs)
    assert len({s.space.canonical(a) for a in archs}) == 12
