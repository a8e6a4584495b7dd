"""Python-API misuse found by the misuse sweep (issue #13): each is an error naming the
problem and the fix, never a silently odd result or a raw library error."""
from __future__ import annotations

import pytest

from naspredict import data, predictors, search
from naspredict.trials import Result


@pytest.fixture(scope="module")
def cora():
    return data.load("nbgraph-cora")


@pytest.mark.parametrize("k", [0, -3, 2.5, True])
def test_top_needs_a_positive_whole_k(cora, k):
    with pytest.raises(ValueError, match="whole number >= 1"):
        cora.top("valid_perf", k)


def test_top_still_takes_numpy_ints(cora):
    import numpy as np
    assert len(cora.top("valid_perf", np.int64(3))) == 3


def test_make_checks_a_named_space():
    with pytest.raises(ValueError, match="unknown search space 'nb999'; expected one of"):
        predictors.make("rf", space="nb999")


def test_load_with_a_missing_path_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file at .*x.csv for nbgraph-cora.*leave path out"):
        data.load("nbgraph-cora", path=tmp_path / "x.csv")


def test_several_targets_need_their_directions():
    with pytest.raises(ValueError, match=r"2 targets need a direction each: direction=\['max', 'max'\]"):
        search.make_strategy("random", "nbgraph", target=["valid_perf", "latency"])
    with pytest.raises(ValueError, match="one per target"):  # a one-item list is not broadcast
        search.make_strategy("random", "nbgraph", target=["valid_perf", "latency"], direction=["max"])
    s = search.make_strategy("random", "nbgraph", target=["valid_perf", "latency"], direction="min")
    assert s.directions == ["min", "min"]  # one string is, as documented
    assert search.make_strategy("random", "nbgraph", target="valid_perf").directions == ["max"]


def _strategy():
    return search.make_strategy("random", "nbgraph", target="valid_perf", seed=0)


def test_the_same_evaluation_told_twice_is_said_and_kept():
    """A repeat is data (a table may hold two encodings of one NB101 network), so it is kept,
    with a warning: telling one proposal's result twice is more often a bug."""
    s = _strategy()
    (p,) = s.ask(1)
    s.tell([p.trial(Result({"valid_perf": 0.5}))])
    with pytest.warns(UserWarning, match="was already told; it is counted again"):
        s.tell([p.trial(Result({"valid_perf": 0.6}))])
    assert len(s.history) == 2 and s.best()[1] == 0.6
    s2 = _strategy()
    (q,) = s2.ask(1)
    with pytest.warns(UserWarning, match="already told"):  # twice in one call too
        s2.tell([q.trial(Result({"valid_perf": 0.5})), q.trial(Result({"valid_perf": 0.5}))])
    assert len(s2.history) == 2 and s2.pending() == []


def test_a_result_without_the_target_is_refused_at_tell():
    s = _strategy()
    (p,) = s.ask(1)
    with pytest.raises(ValueError, match=r"has no valid_perf \(the strategy's target\); it has \['acc'\]"):
        s.tell([p.trial(Result({"acc": 0.5}))])
    assert s.history == [] and s.pending() == [p]  # nothing half-told


def test_deprecated_tell_takes_the_proposals_ask_gave():
    s = _strategy()
    props = s.ask(2)
    with pytest.warns(DeprecationWarning):
        s.tell(props, [Result({"valid_perf": 0.5}), Result({"valid_perf": 0.7})])
    assert [a for a, _ in s.history] == [p.arch for p in props] and s.pending() == []
    assert s.best()[1] == 0.7


def test_evaluate_grid_messages_speak_python(cora):
    from naspredict import evaluation
    with pytest.raises(ValueError, match=r"train_sizes=\[50, 100\]"):
        evaluation.evaluate(cora, "valid_perf", ["rf"], train_sizes=[], seeds=1, progress=False)
