"""Pruners on the 200 real NB201 200-epoch curves: when they act, what they stop, pickling."""
import pickle

import numpy as np
import pytest

from naspredict import data
from naspredict.evaluators import TabularEvaluator
from naspredict.search.pruners import (LearningCurvePruner, MedianStoppingPruner, Pruner,
                                       make_pruner, pruner_names)
from naspredict.trials import Fidelity, Result, Trial, TrialState

from .conftest import shared_or_skip


@pytest.fixture(scope="module")
def setup():
    shared_or_skip("nb201_curves", "nb201_curves_200ep.csv")
    bench = data.load("nb201-curves")
    ev = TabularEvaluator(bench, ["final_val_accuracy"], curve="val")
    y = bench.values("final_val_accuracy")
    worst, best = int(np.argmin(y)), int(np.argmax(y))
    order = [int(i) for i in np.random.default_rng(0).permutation(len(y)) if i not in (worst, best)]
    return bench, ev, y, worst, best, order


def _complete(bench, ev, i, fidelity=Fidelity()):
    return Trial(i, bench.archs[i], fidelity).finish(ev.evaluate(bench.archs[i], fidelity))


@pytest.fixture(scope="module")
def lc_fitted(setup):
    """An lc-srm pruner told 100 complete runs (the best and the worst arch held out)."""
    bench, ev, _, _, _, order = setup
    p = LearningCurvePruner("val")
    for i in order[:100]:
        p.tell(_complete(bench, ev, i))
    return p


def test_lc_srm_never_acts_before_min_finished(setup):
    bench, ev, _, worst, _, order = setup
    p = LearningCurvePruner("val", min_finished=12, refit_every=3, gamma=0.01)  # fixed gamma: fast fits
    probe = Trial(999, bench.archs[worst])
    for n, i in enumerate(order[:11]):
        p.tell(_complete(bench, ev, i))
        # pruned, failed and low-fidelity trials do not count as complete runs
        p.tell(Trial(500 + n, bench.archs[i]).finish(
            ev.evaluate(bench.archs[i], report=lambda s, m: s == 20)))
        p.tell(Trial(600 + n, bench.archs[i]).finish(Result.failed("boom")))
        p.tell(_complete(bench, ev, i, Fidelity(epochs=60)))
        assert p.reporter(probe) is None and p.stopper_ is None
    assert p.n_complete == 11 and p.n_fits_ == 0
    # without a reporter the worst run trains to the end
    assert len(ev.evaluate(bench.archs[worst], report=p.reporter(probe)).curves["val"]) == 200
    p.tell(_complete(bench, ev, order[11]))
    first = p.reporter(probe)
    assert first is not None and p.n_fits_ == 1
    # refits come only after refit_every new complete runs, and old reporters keep their snapshot
    for i in order[12:14]:
        p.tell(_complete(bench, ev, i))
    assert p.reporter(probe).stopper is first.stopper and p.n_fits_ == 1
    p.tell(_complete(bench, ev, order[14]))
    assert p.reporter(probe).stopper is not first.stopper and p.n_fits_ == 2


def test_lc_srm_stops_a_bad_run_early_and_keeps_the_best(setup, lc_fitted):
    bench, ev, y, worst, best, order = setup
    assert lc_fitted.n_complete == 100 and lc_fitted.best_so_far == pytest.approx(y[order[:100]].max())
    bad = ev.evaluate(bench.archs[worst], report=lc_fitted.reporter(Trial(1, bench.archs[worst])))
    assert y[worst] < 10  # a diverged cell (9.7 % final)
    assert bad.state is TrialState.PRUNED and bad.info["pruned_at"] == 10 and len(bad.curves["val"]) == 10
    top = ev.evaluate(bench.archs[best], report=lc_fitted.reporter(Trial(2, bench.archs[best])))
    assert top.state is TrialState.COMPLETE and len(top.curves["val"]) == 200
    # held-out runs: everything below 80 % final is stopped at the first checkpoint
    for i in order[100:]:
        if y[i] < 80:
            r = ev.evaluate(bench.archs[i], report=lc_fitted.reporter(Trial(3, bench.archs[i])))
            assert r.state is TrialState.PRUNED and len(r.curves["val"]) == 10, (i, y[i])


def _running_average_medians(curves):
    """The median stopping rule's reference, computed directly: median over runs of mean(c[:t])."""
    c = np.asarray(curves)
    return np.array([np.median(c[:, :t].mean(axis=1)) for t in range(1, c.shape[1] + 1)])


def test_median_rule_stops_below_median_curves(setup):
    bench, ev, y, worst, best, order = setup
    p = MedianStoppingPruner("val", min_finished=5, min_steps=5)
    assert p.reporter(Trial(0, bench.archs[worst])) is None
    told = order[:50]
    for i in told:
        p.tell(_complete(bench, ev, i))
    med = _running_average_medians(bench.curves["val"][told])
    assert np.allclose(p.medians(), med)
    for i in [worst, best] + order[50:80]:
        curve = bench.curves["val"][i]
        below = np.flatnonzero(np.maximum.accumulate(curve)[4:] < med[4:])
        expected = None if len(below) == 0 else int(below[0]) + 5
        r = ev.evaluate(bench.archs[i], report=p.reporter(Trial(i, bench.archs[i])))
        if expected is None or expected == 200:
            assert r.ok and len(r.curves["val"]) == 200
        else:
            assert r.state is TrialState.PRUNED and r.info["pruned_at"] == expected
    worst_run = ev.evaluate(bench.archs[worst], report=p.reporter(Trial(1, bench.archs[worst])))
    assert worst_run.state is TrialState.PRUNED and worst_run.info["pruned_at"] == 5
    best_run = ev.evaluate(bench.archs[best], report=p.reporter(Trial(2, bench.archs[best])))
    assert best_run.ok
    # direction="min" on the error curve (100 - accuracy) takes the same decisions
    pmin = MedianStoppingPruner("err", direction="min", min_finished=5, min_steps=5)
    for i in told:
        pmin.tell(Trial(i, bench.archs[i]).finish(
            Result({}, curves={"err": (100 - bench.curves["val"][i]).tolist()})))
    for i in order[50:80]:
        rmax, rmin = p.reporter(Trial(i, None)), pmin.reporter(Trial(i, None))
        got = [(rmax(s, {"val": v}), rmin(s, {"err": 100 - v})) for s, v in
               enumerate(bench.curves["val"][i], start=1)]
        assert all(a == b for a, b in got)


def test_reporters_survive_pickling(setup, lc_fitted):
    bench, ev, y, worst, best, order = setup
    median = MedianStoppingPruner("val", min_finished=5)
    for i in order[:20]:
        median.tell(_complete(bench, ev, i))
    for pruner in (lc_fitted, median):
        for i in (worst, order[150], order[160]):
            rep = pruner.reporter(Trial(i, bench.archs[i]))
            copy = pickle.loads(pickle.dumps(rep))
            a = ev.evaluate(bench.archs[i], report=rep)
            b = ev.evaluate(bench.archs[i], report=copy)
            assert (a.state, len(a.curves["val"])) == (b.state, len(b.curves["val"]))


def test_make_pruner_and_errors(setup, lc_fitted):
    bench, ev, *_ = setup
    assert pruner_names() == ["lc-srm", "median"]
    assert isinstance(make_pruner("median", curve="val"), MedianStoppingPruner)
    lc = make_pruner("lc-srm", curve="val", ks=(5, 10), safety=0.5)
    assert isinstance(lc, LearningCurvePruner) and isinstance(lc, Pruner) and lc.ks == (5, 10)
    with pytest.raises(ValueError, match="unknown pruner"):
        make_pruner("asha", curve="val")
    with pytest.raises(ValueError, match="min_finished"):
        LearningCurvePruner("val", min_finished=5)
    with pytest.raises(ValueError, match="direction"):
        MedianStoppingPruner("val", direction="up")
    with pytest.raises(ValueError, match="safety"):
        LearningCurvePruner("val", safety=2.0)
    # a reporter whose curve the evaluator does not report says which ones it does
    median = MedianStoppingPruner("val_accuracy", min_finished=1)
    median.tell(Trial(0, bench.archs[0]).finish(Result({}, curves={"val_accuracy": [1.0, 2.0]})))
    with pytest.raises(KeyError, match=r"curve 'val_accuracy'.*\['val'\]"):
        ev.evaluate(bench.archs[0], report=median.reporter(Trial(1, bench.archs[1])))
    with pytest.raises(KeyError, match="'val'"):
        lc_fitted.reporter(Trial(2, bench.archs[2]))(1, {"train": 50.0})
