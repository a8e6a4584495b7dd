"""The strategy contract on trials (check_strategy), faithful resume through the run loop and
the store, store migration from v1, and the bugs fixed with the trial core."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from naspredict import data
from naspredict.evaluators import as_evaluator
from naspredict.executors import SimulatedExecutor
from naspredict.search import make_strategy, strategy_names
from naspredict.search.checks import check_strategy
from naspredict.search.loop import Budget, run
from naspredict.store import ResultsStore
from naspredict.trials import FULL, Fidelity, Result, Trial

TARGET = "baseline_accuracy"
TINY_NAO = {"epochs": 1, "min_steps": 20, "hidden_size": 16, "embedding_size": 8, "mlp_hidden": 16}


def _cases():
    from naspredict.predictors import make
    return {
        "random": {},
        "evolution": {"population_size": 6, "sample_size": 3},
        "local": {"n_initial": 3},
        "predictor-evolution": {"predictor": make("rf", space="nb201", n_estimators=10, random_state=0),
                                "n_initial": 3, "n_mutations": 5},
        "bo": {"predictor": "rf", "predictor_params": {"n_estimators": 10}, "n_initial": 3},
        "nao": {"predictor_params": TINY_NAO, "n_initial": 4, "n_parents": 3},
        "rl": {},
        "enas": TINY_ENAS,
    }


# ENAS trains a supernet on real digits: the tiniest setting (about a second per search)
TINY_ENAS = {"data": "digits", "epochs": 1, "controller_steps": 2, "controller_batch": 4, "final_samples": 6,
             "channels": 4, "cells": 1, "batch_size": 128, "device": "cpu"}

MOBO = {"n_initial": 4, "max_candidates": 64, "mc_samples": 16, "fit_maxiter": 30}


@pytest.fixture(scope="module")
def ev(nb201):
    return as_evaluator(nb201, [TARGET])


@pytest.fixture(scope="module")
def cora():
    return data.load("nbgraph-cora")


def _strategy(name, space, seed=0):
    return make_strategy(name, space, TARGET, "max", seed, **_cases()[name])


def test_every_strategy_is_covered():
    # the multi-fidelity strategies need epoch levels: tests/test_hyperband.py and tests/test_mfbo.py
    # run check_strategy on them
    assert set(strategy_names()) == set(_cases()) | {"mobo", "hyperband", "successive-halving", "bohb", "mf-bo"}


@pytest.mark.parametrize("name", list(_cases()))
def test_check_strategy(nb201, ev, name):
    check_strategy(_strategy(name, nb201.space), ev, rounds=6 if name == "nao" else 10)


def test_check_strategy_mobo(cora):
    ev = as_evaluator(cora, ["valid_perf", "latency"])
    s = make_strategy("mobo", cora.space, ["valid_perf", "latency"], ["max", "min"], 0, **MOBO)
    check_strategy(s, ev, rounds=8)


def test_check_strategy_catches_a_broken_strategy(nb201, ev):
    from naspredict.search.evolution import RegularizedEvolution

    class Forgetful(RegularizedEvolution):  # leaves its population out of state_dict
        _transient = ("population",)

    with pytest.raises(AssertionError, match="restored"):
        check_strategy(Forgetful(nb201.space, TARGET, seed=0, population_size=4, sample_size=2), ev)


def test_tell_errors_name_the_fix(nb201):
    s = make_strategy("random", nb201.space, TARGET, seed=0)
    p = s.ask(1)[0]
    with pytest.raises(TypeError, match="finished Trials"):
        s.tell([93.1])
    with pytest.raises(ValueError, match="no result yet"):
        s.tell([Trial(0, p.arch)])
    with pytest.raises(ValueError, match="positive integer"):
        s.ask(0)


def test_same_arch_at_another_fidelity_is_new(nb201):
    s = make_strategy("random", nb201.space, TARGET, seed=0)
    p = s.ask(1)[0]
    s.tell(p.trial(Result({TARGET: 90.0})))
    assert not s.is_new(p.arch) and s.is_new(p.arch, Fidelity(epochs=12))
    assert s.trial_key(p.arch, Fidelity(epochs=12)).endswith("@epochs=12")


# -- resume through the loop and the store ------------------------------------------------------
class _Interrupting:
    """Evaluates from the table and raises KeyboardInterrupt at call ``at`` (a kill mid-trial)."""

    def __init__(self, inner, at):
        self.inner, self.at, self.calls, self.space = inner, at, 0, inner.space

    def evaluate(self, arch, fidelity=FULL, report=None):
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return self.inner.evaluate(arch, fidelity)


RESUME_BUDGET = {"random": 14, "evolution": 16, "local": 16, "predictor-evolution": 10, "bo": 9,
                 "nao": 9, "rl": 14, "enas": 10}


@pytest.mark.parametrize("name", list(_cases()))
def test_serial_resume_gives_the_uninterrupted_trace(nb201, ev, tmp_path, name):
    budget = RESUME_BUDGET[name]
    straight = run(_strategy(name, nb201.space), ev, budget, progress=False)
    store = ResultsStore(tmp_path / "r.db")
    kill_at = budget // 2 + 1
    with pytest.raises(KeyboardInterrupt):
        run(_strategy(name, nb201.space), _Interrupting(ev, kill_at), budget, store=store, run_name="r",
            progress=False)
    assert store.runs()[["complete", "running"]].values.tolist() == [[kill_at - 1, 1]]
    counting = _Interrupting(ev, at=-1)
    resumed = run(_strategy(name, nb201.space), counting, budget, store=store, run_name="r", resume=True,
                  progress=False)
    assert counting.calls == budget - (kill_at - 1)  # the interrupted trial re-runs, nothing else
    assert list(resumed.frame["arch"]) == list(straight.frame["arch"])
    assert len(store.trials("r")) == budget


def test_resume_refuses_other_settings(nb201, ev, tmp_path):
    store = ResultsStore(tmp_path / "r.db")
    run(make_strategy("random", nb201.space, TARGET, seed=0), ev, 5, store=store, run_name="r", progress=False)
    with pytest.raises(ValueError, match="seed=0"):
        run(make_strategy("random", nb201.space, TARGET, seed=1), ev, 8, store=store, run_name="r",
            resume=True, progress=False)
    with pytest.raises(ValueError, match="strategy"):
        run(make_strategy("evolution", nb201.space, TARGET, seed=0), ev, 8, store=store, run_name="r",
            resume=True, progress=False)


def test_budgets_in_cost_and_wall_seconds(nb201, ev):
    class Cost:  # every trial costs 10 simulated seconds
        space = nb201.space

        def evaluate(self, arch, fidelity=FULL, report=None):
            r = ev.evaluate(arch)
            r.cost = 10.0
            return r

    tr = run(make_strategy("random", nb201.space, TARGET, seed=0), Cost(), Budget(cost_seconds=95), progress=False)
    assert len(tr.frame) == 10
    ex = SimulatedExecutor(3)
    tr = run(make_strategy("random", nb201.space, TARGET, seed=0), Cost(), Budget(wall_seconds=35),
             executor=ex, progress=False)
    # 3 workers x 3 rounds of 10 s; the 4th round would end at 40 s and is abandoned at 35 s
    assert len(tr.frame) == 9 and ex.now() == 35.0
    with pytest.raises(ValueError, match="Budget needs"):
        Budget()


def test_simulated_executor_returns_results_out_of_order(nb201, ev):
    ex = SimulatedExecutor(4, cost=lambda trial, result: float(10 - trial.id % 5))
    s = make_strategy("random", nb201.space, TARGET, seed=0)
    ids = []
    tr = run(s, ev, 12, executor=ex, callbacks=[lambda t: ids.append(t.id)], progress=False)
    finish = [r.info["simulated_finish"] for _, r in s.history]
    assert len(tr.frame) == 12 and finish == sorted(finish)
    assert sorted(ids) == list(range(12)) and ids != sorted(ids)


def test_async_bo_spreads_busy_workers(nb201, ev):
    """Four workers busy at once (asked one at a time, none told) get four different
    proposals, all kept pending; a strategy asked once has one pending."""
    s = make_strategy("bo", nb201.space, TARGET, seed=0, predictor="rf",
                      predictor_params={"n_estimators": 20}, n_initial=5)
    first = s.ask(5)
    s.tell([p.trial(ev.evaluate(p.arch)) for p in first])
    busy = [s.ask(1)[0] for _ in range(4)]
    keys = {s.key(p.arch) for p in busy}
    assert len(keys) == 4
    lone = make_strategy("bo", nb201.space, TARGET, seed=0, predictor="rf",
                         predictor_params={"n_estimators": 20}, n_initial=5)
    lone.tell([p.trial(ev.evaluate(p.arch)) for p in lone.ask(5)])
    lone.ask(1)
    assert len(s.pending()) == 4 and len(lone.pending()) == 1


# -- store ---------------------------------------------------------------------------------------
def test_v1_store_migrates_in_place(tmp_path, nb201, ev):
    db = tmp_path / "runs_v1.db"
    shutil.copy(Path(__file__).parent / "data" / "runs_v1.db", db)
    with ResultsStore(db) as st:
        runs = st.runs().set_index("name")
        assert runs.loc["evo-v1", "evaluations"] == 12 and runs.loc["manual-v1", "failed"] == 1
        frame = st.frame("evo-v1")
        truth = [nb201.query(nb201.space.from_str(a), TARGET) for a in frame["arch"]]
        assert np.allclose(frame[TARGET], truth)
        (arch, r), (_, bad) = list(st.evaluations("manual-v1"))
        assert r.curves == {"curve": [1.0, 1.5]} and r.cost == 2.0 and bad.state.value == "failed"
        # an old run resumes (by replay, with a warning) and grows
        with pytest.warns(UserWarning, match="no saved strategy state"):
            tr = run(make_strategy("evolution", nb201.space, TARGET, seed=0), ev, 15, store=st,
                     run_name="evo-v1", resume=True, progress=False)
        assert len(tr.frame) == 15 and tr.frame["arch"].nunique() == 15
    with ResultsStore(db) as st:  # reopening a migrated file is a no-op
        assert st.runs().set_index("name").loc["evo-v1", "evaluations"] == 15


def test_an_old_run_with_a_repeated_evaluation_resumes(tmp_path, nb201, ev):
    """Stores of old versions could hold one evaluation twice (two drivers on one run); the
    replay tells the strategy each once instead of refusing the repeat."""
    db = tmp_path / "runs_v1.db"
    shutil.copy(Path(__file__).parent / "data" / "runs_v1.db", db)
    with ResultsStore(db) as st:
        arch, result = next(iter(st.evaluations("evo-v1")))
        st.add(st.get_run("evo-v1")["run_id"], arch, result)  # the repeat
        with pytest.warns(UserWarning, match="holds 1 repeated evaluations; the strategy is told the first"):
            tr = run(make_strategy("evolution", nb201.space, TARGET, seed=0), ev, 16, store=st,
                     run_name="evo-v1", resume=True, progress=False)
        assert len(tr.frame) == 16 and tr.frame["arch"].nunique() == 16  # the strategy saw no repeat


def test_pruned_trials_keep_partial_curves(tmp_path, nb201):
    with ResultsStore(tmp_path / "r.db") as st:
        run_id = st.create_run("p", "nb201", {})
        st.add(run_id, "x", Result({"val": 50.0}, curves={"val": [10.0, 30.0, 50.0]}, state="pruned",
                                   fidelity=Fidelity(epochs=3)))
        (t,) = st.trials("p")
        assert t.state.value == "pruned" and t.result.curves["val"] == [10.0, 30.0, 50.0]
        assert t.fidelity == Fidelity(epochs=3)
        assert st.runs()["pruned"].tolist() == [1]


def test_bo_pool_cache_tells_nbgraph_op_sets_apart():
    """BO on nbgraph-cora then on nbgraph-proteins in one process (the pool cache used to be
    keyed by the space name only, and proteins then got cora's cells)."""
    kw = dict(predictor="rf", predictor_params={"n_estimators": 10}, n_initial=3)
    for name in ("nbgraph-cora", "nbgraph-proteins"):
        b = data.load(name)
        tr = make_strategy("bo", b.space, "valid_perf", **kw).run(as_evaluator(b, ["valid_perf"]), 5,
                                                                  progress=False)
        assert len(tr.frame) == 5
