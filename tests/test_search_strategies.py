"""Search strategies on NAS-Bench-201 CIFAR-10 (baseline accuracy): each finds a top-1% cell
within a test-sized budget, never re-queries an architecture, and is reproducible by seed."""
from __future__ import annotations

import numpy as np
import pytest

from naspredict.evaluators import as_evaluator
from naspredict.search import make_strategy

TARGET = "baseline_accuracy"

# name -> (budget, constructor params); budgets leave a margin over seed 0's hitting time.
CASES = {
    "random": (300, {}),
    "evolution": (150, {}),
    "local": (100, {}),
    "predictor-evolution": (60, {"n_mutations": 10}),
    "rl": (150, {}),
}
#: a short run whose trace must be a prefix of the full run's (same seed, same decisions).
PREFIX = {"predictor-evolution": 30}


def _params(name: str, params: dict) -> dict:
    if name == "predictor-evolution":
        from naspredict.predictors import make
        # an instance (cloned by the strategy) with few trees, to keep the test fast
        return {**params, "predictor": make("rf", space="nb201", n_estimators=20, random_state=0)}
    return params


def _run(bench, name: str, budget: int, seed: int = 0):
    _, params = CASES[name]
    strategy = make_strategy(name, bench.space, TARGET, "max", seed, **_params(name, params))
    trace = strategy.run(as_evaluator(bench, [TARGET]), budget, progress=False)
    return strategy, trace


@pytest.fixture(scope="module")
def runs(nb201):
    return {name: _run(nb201, name, budget) for name, (budget, _) in CASES.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_finds_top_one_percent(nb201, runs, name):
    threshold = np.percentile(nb201.values(TARGET), 99)
    _, trace = runs[name]
    assert len(trace.frame) == CASES[name][0]
    assert trace.frame[TARGET].max() >= threshold, (
        f"{name}: best {trace.frame[TARGET].max():.3f} < 99th percentile {threshold:.3f}")


@pytest.mark.parametrize("name", list(CASES))
def test_never_requeries(runs, name):
    strategy, _ = runs[name]
    keys = [strategy.space.canonical(a) for a, _ in strategy.history]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("name", list(CASES))
def test_same_seed_same_trace(nb201, runs, name):
    _, trace = runs[name]
    budget = PREFIX.get(name, CASES[name][0])
    _, again = _run(nb201, name, budget)
    assert list(again.frame["arch"]) == list(trace.frame["arch"])[:budget]


def test_other_seed_other_trace(nb201):
    _, a = _run(nb201, "evolution", 40, seed=0)
    _, b = _run(nb201, "evolution", 40, seed=1)
    assert list(a.frame["arch"]) != list(b.frame["arch"])


def test_rl_rejects_a_space_without_choices():
    from naspredict.spaces import NB201Space, SearchSpace

    class NoSchema(NB201Space):  # a space that declares no choices schema
        choices = SearchSpace.choices  # the base class's, which raises

    with pytest.raises(ValueError, match="categorical choices schema"):
        make_strategy("rl", NoSchema(), TARGET, "max", 0)


def test_rl_nbgraph_proposes_benchmark_cells():
    strategy = make_strategy("rl", "nbgraph", "perf", "max", 0)
    proposals = strategy.ask(20)
    assert len(proposals) == 20
    for p in proposals:
        assert p.fidelity.is_full
        strategy.space.validate(p.arch)  # a benchmark representative, not a raw token sequence


def test_local_search_variants_validate():
    with pytest.raises(ValueError, match="variant"):
        make_strategy("local", "nb201", TARGET, "max", 0, variant="steepest")
