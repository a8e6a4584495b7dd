"""ENAS end to end on real digits (8x8, an NB201 supernet at C=4, N=1), as a function and as the
'enas' strategy."""
from __future__ import annotations

import math

import pytest

from naspredict.oneshot.enas import enas_search
from naspredict.spaces import get_space

SPACE = get_space("nb201")
TINY = dict(epochs=2, controller_steps=2, controller_batch=4, final_samples=6, channels=4, cells=1,
            batch_size=128, device="cpu")


@pytest.fixture(scope="module")
def result():
    return enas_search("nb201", "digits", seed=0, **TINY)


def test_enas_returns_a_valid_arch_ranked_by_one_shot_score(result):
    SPACE.validate(result.arch)
    scores = [s for _, s in result.candidates]
    assert scores == sorted(scores, reverse=True) and result.score == scores[0]
    assert 0 <= result.score <= 100 and len(result.candidates) <= 6
    assert [h["epoch"] for h in result.history] == [1, 2]
    assert all(math.isfinite(h["train_loss"]) and 0 <= h["reward"] <= 100 for h in result.history)
    # the controller was told every rewarded sample: epochs x steps x batch
    assert len(result.policy.history) == 2 * 2 * 4


def test_same_seed_same_search(result):
    again = enas_search("nb201", "digits", seed=0, **TINY)
    assert again.arch == result.arch and again.candidates == result.candidates
    assert [h["reward"] for h in again.history] == [h["reward"] for h in result.history]
    other = enas_search("nb201", "digits", seed=1, **TINY)
    assert other.candidates != result.candidates


def test_the_strategy_proposes_the_enas_ranking_first(nb201):
    from naspredict.evaluators import as_evaluator
    from naspredict.search import make_strategy
    from naspredict.search.loop import run
    ev = as_evaluator(nb201, ["baseline_accuracy"])
    s = make_strategy("enas", "nb201", "baseline_accuracy", seed=0, data="digits", **TINY)
    trace = run(s, ev, 8, progress=False)
    ranked = [SPACE.to_str(a) for a, _ in enas_search("nb201", "digits", seed=0, **TINY).candidates]
    firsts = list(trace.frame["arch"])[: len(ranked)]
    assert firsts == [a for a in ranked if a in firsts]  # ENAS's order, repeats (by isomorphism) skipped
    assert firsts[0] == ranked[0]
    assert len(trace.frame) == 8 and s.enas_history and s.oneshot_scores


def test_enas_refuses_a_space_without_a_supernet():
    from naspredict.search import make_strategy
    with pytest.raises(ValueError, match="supernet"):
        make_strategy("enas", "nbgraph", "valid_perf", seed=0)


def test_repeated_samples_are_told_without_warnings():
    # 80 samples of a near-uniform controller: NB201 cells with 'none' edges share a canonical
    # form, so some samples repeat; ENAS rewards each on its own minibatch, and says nothing
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = enas_search("nb201", "digits", seed=0, **{**TINY, "epochs": 1, "controller_steps": 5,
                                                         "controller_batch": 16})
    keys = [SPACE.canonical(a) for a, _ in res.policy.history]
    assert len(keys) == 80 and len(set(keys)) < 80, "no repeated sample: the check below proves nothing"
    assert not [w for w in caught if "already told" in str(w.message)]
