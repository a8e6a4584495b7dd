"""mf-bo on the nb201-mf view (12-epoch runs from nb201-12epoch, full from nb201-cifar10)."""
from __future__ import annotations

import numpy as np
import pytest

from naspredict import data
from naspredict.evaluators import nb201_mf
from naspredict.search import Budget, make_strategy
from naspredict.search.mfbo import MultiFidelityBO
from naspredict.trials import FULL, Fidelity

FAST = dict(n_initial=8, hyper_every=10, predictor_params={"n_iter": 50})


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    from naspredict.torch_utils import set_threads
    set_threads(1)


@pytest.fixture(scope="module")
def ev():
    return nb201_mf()


def _step(s, ev, n=1):
    props = s.ask(n)
    s.tell([p.trial(ev.evaluate(p.arch, p.fidelity)) for p in props])
    return props


def test_finds_top_percent_cheaply_and_never_repeats(ev):
    """Within 1,000 epochs (five full runs' worth) mf-bo has run an NB201 top-1% cell at full
    fidelity; every (arch, fidelity) it proposed is new, and every full run is a promotion of
    an arch that already had its 12-epoch run."""
    bench = data.load("nb201-cifar10")
    top1 = float(np.quantile(bench.values("baseline_accuracy"), 0.99))
    s = make_strategy("mf-bo", ev.space, "test_accuracy", "max", seed=0, **FAST)
    trace = s.run(ev, Budget(cost_seconds=1000), progress=False)
    f = trace.frame
    keys = [s.trial_key(ev.space.from_str(a), Fidelity.from_key(k)) for a, k in zip(f["arch"], f["fidelity"])]
    assert len(keys) == len(set(keys)), "a done (arch, fidelity) was proposed again"
    full = f[f["fidelity"] == "full"]
    assert len(full) >= 1 and full["test_accuracy"].max() >= top1, (full["test_accuracy"].max(), top1)
    assert f["cost"].sum() <= 1000 + 200
    low_keys = {s.key(ev.space.from_str(a)) for a in f.loc[f["fidelity"] == "epochs=12", "arch"]}
    for a, step in zip(full["arch"], full["step"]):
        k = s.key(ev.space.from_str(a))
        assert k in low_keys
        first_low = f[(f["fidelity"] == "epochs=12") & (f["arch"].map(lambda t: s.key(ev.space.from_str(t))) == k)]
        assert first_low["step"].min() < step  # the short run came first
    # far cheaper than full runs alone: most runs were short ones
    assert (f["fidelity"] == "epochs=12").sum() > 3 * len(full)


def test_batches_pending_and_resume(ev):
    """ask(3) gives three distinct new pairs while earlier ones are pending; a state_dict taken
    mid-run restores into a fresh strategy that then proposes exactly what the original does."""
    s = MultiFidelityBO(ev.space, "test_accuracy", seed=3, **FAST)
    for _ in range(9):
        _step(s, ev)
    pending = s.ask(2)  # left pending on purpose
    batch = s.ask(3)
    pairs = {(s.key(p.arch), p.fidelity) for p in batch + pending}
    assert len(pairs) == 5
    done = {(s.key(a), r.fidelity) for a, r in s.history}
    assert not pairs & done
    s.tell([p.trial(ev.evaluate(p.arch, p.fidelity)) for p in pending + batch])
    for _ in range(3):
        _step(s, ev)
    state = s.state_dict()
    t = MultiFidelityBO(ev.space, "test_accuracy", seed=3, **FAST)
    t.load_state_dict(state)
    for _ in range(2):
        a, b = s.ask(1), t.ask(1)
        assert [(s.key(p.arch), p.fidelity) for p in a] == [(t.key(p.arch), p.fidelity) for p in b]
        r = ev.evaluate(a[0].arch, a[0].fidelity)
        s.tell([a[0].trial(r)])
        t.tell([b[0].trial(r)])


def test_levels_and_promotion_rule(ev):
    s = MultiFidelityBO(ev.space, "test_accuracy", seed=0, fidelities=(12, 200))
    assert s.fidelity_of(12) == Fidelity(epochs=12) and s.fidelity_of(200) == FULL
    assert s.level_of(FULL) == 200 and s.level_of(Fidelity(epochs=200)) == 200
    assert s.level_of(Fidelity(epochs=50)) is None
    first = s.ask(4)  # the random start runs short jobs only
    assert all(p.fidelity == Fidelity(epochs=12) for p in first)


@pytest.mark.parametrize("kw, match", [(dict(fidelities=(200, 12)), "ascending"),
                                       (dict(fidelities=(200,)), "at least two"),
                                       (dict(costs=(1.0,)), "one positive cost"),
                                       (dict(costs=(0.0, 1.0)), "one positive cost"),
                                       (dict(target_transform="log"), "target_transform"),
                                       (dict(hyper_every=0), "hyper_every")])
def test_bad_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        MultiFidelityBO("nb201", "test_accuracy", **kw)


def test_strategy_contract(ev):
    """check_strategy: async proposals in flight, shuffled tells with failed and pruned
    trials, same seed same proposals, a state round trip mid-run."""
    from naspredict.search.checks import check_strategy
    check_strategy(MultiFidelityBO(ev.space, "test_accuracy", seed=1, **FAST), ev, rounds=6, width=3)


def test_pool_without_enumeration(ev):
    """With the space not enumerated (max_enumerate below its size) the pool is observed archs,
    neighbours of the best and random new ones; still no repeats, every result at a level."""
    s = MultiFidelityBO(ev.space, "test_accuracy", seed=2, max_enumerate=10, n_candidates=300, **FAST)
    assert s._pool is None
    props = []
    for _ in range(20):
        props += _step(s, ev)
    keys = [(s.key(p.arch), p.fidelity) for p in props]
    assert len(keys) == len(set(keys))
    assert s.observations()[0] and all(lv in (12, 200) for lv in s.observations()[1])
