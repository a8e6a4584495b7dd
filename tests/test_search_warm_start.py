"""Warm starts: Strategy.enqueue (asked first, skipped when done, kept across a resume) and
source_front (the cells a related table ranks best) on the real NB201 / NAS-Bench-Graph tables."""
from __future__ import annotations

import numpy as np
import pytest

from naspredict import data
from naspredict.evaluators import as_evaluator, nb201_mf
from naspredict.search import make_strategy
from naspredict.search.pareto import hypervolume, pareto_front
from naspredict.search.warm_start import crowding_order, ranked_cells, source_front
from naspredict.trials import Fidelity

from .test_search_contract import MOBO, TARGET, _cases


@pytest.fixture(scope="module")
def top3(nb201):
    order = np.argsort(-nb201.values(TARGET), kind="stable")
    return [nb201.archs[i] for i in order[:3]]


@pytest.mark.parametrize("name", list(_cases()))
def test_every_strategy_asks_the_enqueued_archs_first(nb201, top3, name):
    ev = as_evaluator(nb201, [TARGET])
    s = make_strategy(name, nb201.space, TARGET, "max", 0, **_cases()[name])
    assert s.enqueue(top3) == 3
    frame = s.run(ev, 6, progress=False).frame
    assert [nb201.space.from_str(a) for a in frame["arch"][:3]] == top3
    assert len(frame) == 6 and frame["arch"].nunique() == 6  # then its own, new ones


def test_mobo_counts_enqueued_cells_towards_its_initial_design():
    cora = data.load("nbgraph-cora")
    cells = source_front("nbgraph-citeseer", ["valid_perf", "latency"], ["max", "min"], k=4,
                         space=cora.space)
    s = make_strategy("mobo", cora.space, ["valid_perf", "latency"], ["max", "min"], 0, **MOBO)
    s.enqueue(cells)
    first = s.ask(4)
    assert [p.arch for p in first] == cells
    ev = as_evaluator(cora, ["valid_perf", "latency"])
    s.tell([p.trial(ev.evaluate(p.arch)) for p in first])
    assert s._rounds == 0
    s.ask(1)  # n_initial=4 results are in: this one comes from the GP, not the random design
    assert s._rounds == 1


def test_done_and_pending_archs_are_skipped_and_the_rest_waits(nb201, top3):
    ev = as_evaluator(nb201, [TARGET])
    s = make_strategy("random", nb201.space, TARGET, "max", 0)
    p = s.ask(1)[0]
    s.tell([p.trial(ev.evaluate(p.arch))])
    pending = s.ask(1)[0]
    s.enqueue([p.arch, pending.arch] + top3)  # a done one and a pending one first
    got = s.ask(2)
    assert [g.arch for g in got] == top3[:2]
    assert [q.arch for q in s._enqueued] == top3[2:]
    # the queue is state: a strategy rebuilt from state_dict asks the remaining cell next
    again = make_strategy("random", nb201.space, TARGET, "max", 0)
    again.load_state_dict(s.state_dict())
    assert again.ask(1)[0].arch == top3[2]


def test_enqueue_at_a_low_fidelity():
    ev = nb201_mf()
    s = make_strategy("random", ev.space, "test_accuracy", "max", 0)
    arch = ev.space.sample(np.random.default_rng(0))
    s.enqueue([arch], fidelity=Fidelity(epochs=12))
    p = s.ask(1)[0]
    assert p.arch == arch and p.fidelity == Fidelity(epochs=12)


@pytest.mark.parametrize("name, params", [("hyperband", {"fidelities": (12, 200)}),
                                          ("mf-bo", {"n_initial": 4, "hyper_every": 10,
                                                     "predictor_params": {"n_iter": 20}})])
def test_multi_fidelity_strategies_take_enqueued_trials_and_go_on(name, params):
    from naspredict.search import Budget
    ev = nb201_mf()
    s = make_strategy(name, ev.space, "test_accuracy", "max", 0, **params)
    rng = np.random.default_rng(1)
    cells = [ev.space.sample(rng) for _ in range(2)]
    s.enqueue(cells, fidelity=Fidelity(epochs=12))
    f = s.run(ev, Budget(cost_seconds=1200), progress=False).frame
    assert [ev.space.from_str(a) for a in f["arch"][:2]] == cells
    assert (f["fidelity"][:2] == "epochs=12").all() and len(f) > 2
    pairs = list(zip(f["arch"], f["fidelity"]))
    assert len(pairs) == len(set(pairs))  # nothing run twice at one fidelity


def test_enqueue_refuses_bad_input(nb201, top3):
    s = make_strategy("random", nb201.space, TARGET, "max", 0)
    with pytest.raises(TypeError, match=r"enqueue\(\[arch\]\)"):
        s.enqueue(top3[0])
    with pytest.raises(TypeError, match="Fidelity"):
        s.enqueue(top3, fidelity=12)
    with pytest.raises(ValueError):
        s.enqueue(["not|a|cell"])
    assert s._enqueued == []


def test_crowding_order_puts_the_extremes_first():
    Y = np.array([[0.0, 4.0], [1.0, 3.9], [2.0, 2.0], [3.9, 1.0], [4.0, 0.0]])
    order = crowding_order(Y)
    assert set(order[:2]) == {0, 4} and order[2] == 2  # the middle cell has the most room


def test_ranked_cells_one_objective_is_best_first_and_skips_nan():
    Y = np.array([[1.0], [np.nan], [3.0], [2.0]])
    assert ranked_cells(Y, 5).tolist() == [2, 3, 0]


def test_source_front_starts_with_the_source_pareto_front():
    cite = data.load("nbgraph-citeseer")
    T = np.column_stack([cite.values("valid_perf"), -cite.values("latency")])
    front = {cite.archs[i] for i in np.nonzero(pareto_front(T))[0]}
    cells = source_front(cite, ["valid_perf", "latency"], ["max", "min"], k=len(front) + 3)
    assert set(cells[:len(front)]) == front and not set(cells[len(front):]) & front
    # directions from the table itself: latency is lower-is-better there
    assert source_front("nbgraph-citeseer", ["valid_perf", "latency"], k=5) == cells[:5]
    # one target: the best cells by it
    best = source_front(cite, "valid_perf", "max", k=3)
    assert [cite.values("valid_perf")[cite.archs.index(a)] for a in best] == \
        sorted(cite.values("valid_perf"), reverse=True)[:3]


def test_source_front_takes_several_sources_in_turn():
    one = source_front("nbgraph-citeseer", ["valid_perf", "latency"], ["max", "min"], k=6)
    two = source_front("nbgraph-pubmed", ["valid_perf", "latency"], ["max", "min"], k=6)
    both = source_front(["nbgraph-citeseer", "nbgraph-pubmed"], ["valid_perf", "latency"],
                        ["max", "min"], k=6)
    assert len(both) == len(set(both)) == 6
    assert both[0] == one[0] and set(both) <= set(one) | set(two)


def test_a_related_front_is_a_better_start_on_cora_than_random_cells():
    """Real transfer: citeseer's 10 best cells cover more of cora's hypervolume than 95 % of
    200 random 10-cell designs."""
    cora = data.load("nbgraph-cora")
    T = np.column_stack([cora.values("valid_perf"), -cora.values("latency")])
    ref = np.median(T, axis=0)
    index = {a: i for i, a in enumerate(cora.archs)}
    warm = hypervolume(T[[index[a] for a in source_front("nbgraph-citeseer", ["valid_perf", "latency"],
                                                         ["max", "min"], k=10)]], ref)
    rng = np.random.default_rng(0)
    rand = [hypervolume(T[rng.choice(len(T), 10, replace=False)], ref) for _ in range(200)]
    assert warm > np.quantile(rand, 0.95), (warm, np.quantile(rand, 0.95))


def test_source_front_refuses_bad_input():
    with pytest.raises(ValueError, match="k must be"):
        source_front("nbgraph-citeseer", "valid_perf", k=0)
    with pytest.raises(ValueError):
        source_front("nbgraph-citeseer", "no_such_metric")
    with pytest.raises(ValueError, match="directions"):
        source_front("nbgraph-citeseer", ["valid_perf", "latency"], ["max", "up"])
    with pytest.raises(TypeError, match="table name"):
        source_front([42], "valid_perf")


# -- naspredict search --warm-start -------------------------------------------------------------
def _cli(tmp_path, *extra):
    from naspredict.cli import main
    return main(["-q", "search", "-b", "nbgraph-cora", "-t", "valid_perf,latency", "-d", "max,min",
                 "--no-progress", "--store", str(tmp_path / "runs.db"), "--out", str(tmp_path / "out"),
                 *extra])


def _trials(tmp_path, run):
    from naspredict.store import ResultsStore
    with ResultsStore(tmp_path / "runs.db") as store:
        return [t.arch for t in store.trials(run)], store.get_run(run)["config"]["cli"]


def test_cli_warm_start_runs_the_related_front_first_and_resumes(tmp_path):
    srcs = ["nbgraph-citeseer", "nbgraph-pubmed"]
    space = data.load("nbgraph-cora").space
    want = [space.to_str(a) for a in source_front(srcs, ["valid_perf", "latency"], ["max", "min"], k=3)]
    assert _cli(tmp_path, "-s", "random", "-n", "4", "--run", "w", "--warm-start", srcs[0],
                "--warm-start", srcs[1], "--warm-start-size", "3") == 0
    archs, cli = _trials(tmp_path, "w")
    assert archs[:3] == want and archs[3] not in want
    assert cli["warm_start"] == srcs and cli["warm_start_size"] == 3
    # a resume keeps the stored warm start (and does not enqueue it again)
    assert _cli(tmp_path, "-s", "random", "-n", "6", "--run", "w", "--resume") == 0
    again, _ = _trials(tmp_path, "w")
    assert again[:4] == archs and len(set(again)) == 6
    # and refuses another one
    assert _cli(tmp_path, "-s", "random", "-n", "7", "--run", "w", "--resume", "--warm-start", srcs[0]) == 2


@pytest.mark.parametrize("extra, words", [
    (["--warm-start", "nbgraph-nowhere"], ["nbgraph-nowhere"]),
    (["--warm-start", "nb201-cifar10"], ["nb201", "same space"]),
    (["--warm-start-size", "3"], ["needs --warm-start"]),
    (["--warm-start", "nbgraph-citeseer", "--warm-start-size", "0"], ["--warm-start-size"]),
])
def test_cli_warm_start_refuses_bad_input(tmp_path, capsys, extra, words):
    try:
        rc = _cli(tmp_path, "-s", "random", "-n", "3", *extra)
    except SystemExit as stop:  # argparse's own refusals
        rc = stop.code
    assert rc == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(w in err for w in words), err
    assert not (tmp_path / "runs.db").exists()  # nothing stored


def test_source_front_within_takes_only_the_given_cells():
    cite = data.load("nbgraph-citeseer")
    best = source_front(cite, ["valid_perf", "latency"], ["max", "min"], k=4)
    some = [a for a in cite.archs if a not in best[:2]][:3000] + best[2:]
    got = source_front(cite, ["valid_perf", "latency"], ["max", "min"], k=4, within=some)
    assert set(got) <= set(some) and best[0] not in got and best[1] not in got and len(got) == 4
