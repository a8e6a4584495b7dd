"""Thread policy: library calls never change the process's thread count; the entry point sets it.

With torch at 2 intra-op threads (set by the test), running the bo, rl and mobo strategies and
fitting / predicting with the nao and gp predictors must leave ``torch.get_num_threads() == 2``
and the BLAS limits as they were, and must not call ``torch.set_num_threads`` (or
threadpoolctl's limits) at any point during the call.  ``naspredict --threads N`` sets them
once, before the subcommand runs.  Tiny settings: about half a minute on 2 busy cores.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import threadpoolctl
import torch

from naspredict import data
from naspredict.evaluators import as_evaluator
from naspredict.predictors import make
from naspredict.search import make_strategy


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture
def restore_threads():
    """Put torch's and the BLAS libraries' thread counts back after the test."""
    old = torch.get_num_threads()
    with threadpoolctl.threadpool_limits(limits=None):  # restores the BLAS limits on exit
        yield
    torch.set_num_threads(old)


@pytest.fixture
def two_threads(restore_threads, monkeypatch):
    """torch at 2 threads; every later call that would change a thread count is recorded.
    Yields ``check()``, which the test calls once the library calls are done."""
    torch.set_num_threads(2)
    calls: list[tuple] = []
    real_set, real_interop = torch.set_num_threads, torch.set_num_interop_threads
    real_limits = threadpoolctl.threadpool_limits

    def record(fn, name):
        def wrapper(*args, **kwargs):
            calls.append((name, args, kwargs))
            return fn(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(torch, "set_num_threads", record(real_set, "torch.set_num_threads"))
    monkeypatch.setattr(torch, "set_num_interop_threads",
                        record(real_interop, "torch.set_num_interop_threads"))
    monkeypatch.setattr(threadpoolctl, "threadpool_limits", record(real_limits, "threadpool_limits"))
    blas = _blas_threads()

    def check() -> None:
        assert calls == [], f"library code changed the thread count: {calls}"
        assert torch.get_num_threads() == 2
        assert _blas_threads() == blas, "library code changed the BLAS thread limits"

    yield check


def _check_during(strategy) -> None:  # run's callback: after every told batch
    assert torch.get_num_threads() == 2


STRATEGIES = {
    "bo": ("nb201-cifar10", ["baseline_accuracy"], ["max"], 7, 1,
           dict(predictor="gp", predictor_params={"n_iter": 5}, n_initial=5, n_candidates=300,
                local_random=50)),
    "rl": ("nb201-cifar10", ["baseline_accuracy"], ["max"], 12, 4, {}),
    "mobo": ("nbgraph-cora", ["valid_perf", "latency"], ["max", "min"], 10, 1,
             dict(n_initial=8, acquisition="ehvi", fit_maxiter=20, max_candidates=200)),
}


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_strategy_leaves_thread_count_alone(name, two_threads):
    bench_name, targets, dirs, budget, batch, kw = STRATEGIES[name]
    bench = data.load(bench_name)
    t, d = (targets[0], dirs[0]) if len(targets) == 1 else (targets, dirs)
    s = make_strategy(name, bench.space, t, d, seed=0, **kw)
    trace = s.run(as_evaluator(bench, targets), budget, batch_size=batch, progress=False,
                  callback=_check_during)
    assert len(trace.frame) == budget
    two_threads()


PREDICTORS = {
    "nao": dict(epochs=1, min_steps=4, hidden_size=8, embedding_size=8, mlp_hidden=8,
                num_layers=1, n_ensemble=1),
    "gp": dict(n_iter=5),
}


@pytest.mark.parametrize("name", list(PREDICTORS))
def test_predictor_fit_predict_leaves_thread_count_alone(name, nb201, two_threads):
    idx = np.random.default_rng(0).permutation(len(nb201))[:50]
    archs = [nb201.archs[i] for i in idx]
    y = np.asarray(nb201.values("baseline_accuracy"), float)[idx]
    m = make(name, random_state=0, **PREDICTORS[name]).fit(archs[:30], y[:30])
    assert torch.get_num_threads() == 2
    out = m.predict(archs[30:], return_std=m.supports_std)
    assert np.shape(out)[-1] == 20
    two_threads()


def test_mobo_torch_threads_is_deprecated_and_ignored(restore_threads):
    torch.set_num_threads(2)
    with pytest.warns(DeprecationWarning, match="torch_threads is deprecated and ignored"):
        make_strategy("mobo", "nbgraph", ["valid_perf", "latency"], ["max", "min"], torch_threads=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_strategy("mobo", "nbgraph", ["valid_perf", "latency"], ["max", "min"])
    assert not [w for w in caught if "torch_threads" in str(w.message)]
    assert torch.get_num_threads() == 2


def test_cli_threads_option_sets_the_process_policy(restore_threads, capsys):
    from naspredict.cli import main

    torch.set_num_threads(2)
    assert main(["--threads", "3", "spaces"]) == 0
    assert torch.get_num_threads() == 3
    assert main(["spaces"]) == 0  # the default: one thread, BLAS included
    assert torch.get_num_threads() == 1
    assert set(_blas_threads()) <= {1}
    with pytest.raises(SystemExit):
        main(["--threads", "0", "spaces"])
    assert "--threads must be at least 1, got 0" in capsys.readouterr().err
