"""``check_strategy``: the contract every search strategy must keep (in the spirit of
scikit-learn's ``check_estimator``).

>>> from naspredict.search.checks import check_strategy
>>> check_strategy(make_strategy("evolution", "nb201", "baseline_accuracy", seed=0), evaluator)

It drives the strategy the way an asynchronous run loop does: several proposals in flight,
results told one at a time or in groups, shuffled, some of them failed or pruned; and checks

* no proposal repeats a done or pending ``(arch, fidelity)``, and ``pending()`` is exactly
  the proposals not yet told;
* the same seed gives the same proposals;
* a state round trip (``state_dict`` -> pickle -> ``load_state_dict`` into a new instance),
  taken while proposals are in flight, continues with exactly the proposals of the original;
* ``tell`` refuses things that are not finished trials, with a message naming the fix.

Any violation raises ``AssertionError`` naming the check.  The strategy passed in is not
used itself: each check runs on a deep copy of it, so pass an instance that has not been
asked anything yet.
"""
from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np

from ..trials import Result, Trial, TrialState
from .base import Strategy

__all__ = ["check_strategy"]


def _finish(evaluator, p, i: int, rng: np.random.Generator, fail_every: int, prune_every: int) -> Trial:
    """Evaluate proposal ``p`` as trial ``i``; every ``fail_every``-th fails and every
    ``prune_every``-th is pruned (with a partial curve), by trial number."""
    t = Trial(i, p.arch, p.fidelity)
    if fail_every and i % fail_every == fail_every - 1:
        return t.finish(Result.failed("planted failure (check_strategy)", fidelity=p.fidelity))
    r = evaluator.evaluate(p.arch, p.fidelity)
    if prune_every and i % prune_every == prune_every - 1 and r.ok:
        curves = {k: v[: max(1, len(v) // 4)] for k, v in r.curves.items()} or {"curve": [0.0]}
        r = Result(r.metrics, curves, r.cost / 4, r.fidelity, TrialState.PRUNED, info=r.info)
    return t.finish(r)


def _drive(strategy: Strategy, evaluator, rounds: int, width: int, seed: int, *, fail_every: int = 5,
           prune_every: int = 7) -> tuple[list[str], list[Trial], int]:
    """Ask/tell like an asynchronous loop for ``rounds`` asks of up to ``width``; returns the
    proposal keys in order, the trials still in flight and the trial counter."""
    rng = np.random.default_rng(seed)
    in_flight: list[Trial] = []
    proposed: list[str] = []
    done: set[str] = set()
    counter = 0
    for step in range(rounds):
        n = int(rng.integers(1, width + 1))
        props = strategy.ask(n)
        assert 0 < len(props) <= n, f"ask({n}) returned {len(props)} proposals"
        keys = [strategy.trial_key(p.arch, p.fidelity) for p in props]
        assert len(set(keys)) == len(keys), f"ask({n}) returned a repeated (arch, fidelity) within one call"
        pending_before = {strategy.trial_key(t.arch, t.fidelity) for t in in_flight}
        clash = set(keys) & (done | pending_before)
        assert not clash, f"ask proposed {len(clash)} (arch, fidelity) pair(s) that are done or pending"
        proposed += keys
        for p in props:
            in_flight.append(_finish(evaluator, p, counter, rng, fail_every, prune_every))
            counter += 1
        now_pending = {strategy.trial_key(p.arch, p.fidelity) for p in strategy.pending()}
        assert now_pending == pending_before | set(keys), "pending() is not the set of proposals not yet told"
        # tell a shuffled part of what is in flight: one at a time or as a group
        order = rng.permutation(len(in_flight))
        k = int(rng.integers(1, len(in_flight) + 1))
        if step == rounds - 1 and k == len(in_flight) > 1:
            k -= 1  # end with something in flight, for the state round trip
        chosen = [in_flight[int(i)] for i in order[:k]]
        in_flight = [in_flight[int(i)] for i in order[k:]]
        if rng.random() < 0.5:
            strategy.tell(chosen)
        else:
            for t in chosen:
                strategy.tell(t)
        done |= {strategy.trial_key(t.arch, t.fidelity) for t in chosen}
    return proposed, in_flight, counter


def check_strategy(strategy: Strategy, evaluator, *, rounds: int = 12, width: int = 3, seed: int = 0) -> None:
    """Check that ``strategy`` keeps the ask/tell contract on ``evaluator`` (see the module
    docstring); raises ``AssertionError`` on the first violation."""
    if not isinstance(strategy, Strategy):
        raise TypeError(f"check_strategy needs a Strategy, got {type(strategy).__name__}")
    if strategy.history or strategy.pending():
        raise ValueError("check_strategy needs a strategy that has not been asked or told anything yet")

    # 1. no repeats, consistent pending, shuffled partial tells with failures and pruning
    a, _, _ = _drive(copy.deepcopy(strategy), evaluator, rounds, width, seed)
    # 2. same seed -> same proposals
    b, _, _ = _drive(copy.deepcopy(strategy), evaluator, rounds, width, seed)
    assert a == b, "the same seed and the same results gave other proposals"

    # 3. state round trip: snapshot a live strategy (maybe with proposals in flight), restore
    #    it into a fresh copy, continue both with the same results
    original = copy.deepcopy(strategy)
    _, in_flight, counter = _drive(original, evaluator, rounds // 2, width, seed)
    restored = copy.deepcopy(strategy)
    restored.load_state_dict(pickle.loads(pickle.dumps(original.state_dict())))
    assert [restored.trial_key(p.arch, p.fidelity) for p in restored.pending()] == \
        [original.trial_key(p.arch, p.fidelity) for p in original.pending()], \
        "pending proposals lost in the state round trip"
    for s in (original, restored):
        s.tell(copy.deepcopy(in_flight))
    rng = np.random.default_rng(seed + 1)
    for _ in range(max(2, rounds - rounds // 2)):
        n = int(rng.integers(1, width + 1))
        pa, pb = original.ask(n), restored.ask(n)
        ka = [original.trial_key(p.arch, p.fidelity) for p in pa]
        kb = [restored.trial_key(p.arch, p.fidelity) for p in pb]
        assert ka == kb, "a strategy restored from state_dict() proposed something else than the original"
        trials = [_finish(evaluator, p, counter + i, rng, 5, 7) for i, p in enumerate(pa)]
        counter += len(trials)
        original.tell(copy.deepcopy(trials))
        restored.tell(trials)

    # 4. tell refuses what is not a finished trial
    s = copy.deepcopy(strategy)
    p = s.ask(1)[0]
    for bad in ([0.5], [Trial(0, p.arch, p.fidelity)]):
        try:
            s.tell(bad)
        except (TypeError, ValueError):
            pass
        else:
            raise AssertionError(f"tell({bad!r}) was accepted; it must raise TypeError/ValueError")
