"""Parallel scaling of the executors, and the run loop's own overhead per trial.

    python benchmarks/par_scaling.py [--trials 40] [--sleep 0.5] [--serial-trials 200]

Random search on NB201 (``baseline_accuracy``) through :func:`naspredict.search.loop.run`
with a results store, every evaluation a table lookup followed by a real sleep
(:class:`~naspredict.evaluators.DelayedEvaluator`):

* ``local`` and ``ray`` with 1 and 2 workers, ``--trials`` trials of ``--sleep`` seconds:
  throughput (trials / wall second) and its ratio 2 workers : 1 worker (goal >= 1.9x), and
  the overhead per trial, ``(wall - trials * sleep / workers) / trials`` (goal for Ray
  < 50 ms).  Executors are started (workers up, evaluator loaded) before the clock starts;
  each run is then timed from ``run()`` to its return.
* ``serial`` with a 0 s evaluator: the loop's own cost per trial, ``wall / trials``, with and
  without a store (goal < 10 ms).

All rows come from one invocation, so the ratios compare runs on the same machine state.
Writes results/parallel_scaling.md.  Times are wall-clock: run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from naspredict import data  # noqa: E402
from naspredict.evaluators import DelayedEvaluator, as_evaluator  # noqa: E402
from naspredict.executors import make_executor  # noqa: E402
from naspredict.search import make_strategy  # noqa: E402
from naspredict.search.loop import run  # noqa: E402
from naspredict.store import ResultsStore  # noqa: E402

METRIC = "baseline_accuracy"


def timed_run(bench, evaluator, executor, n_trials: int, store_dir: Path | None, name: str, seed: int = 0) -> float:
    """Wall seconds of one ``run()`` of random search (the executor already started)."""
    strategy = make_strategy("random", bench.space, target=METRIC, seed=seed)
    store = ResultsStore(store_dir / f"{name}.db") if store_dir is not None else None
    try:
        t0 = time.perf_counter()
        run(strategy, evaluator, n_trials, executor=executor, store=store, run_name=name, progress=False)
        wall = time.perf_counter() - t0
    finally:
        if store is not None:
            store.close()
    if len(strategy.history) != n_trials:
        raise RuntimeError(f"{name}: {len(strategy.history)} trials finished, expected {n_trials}")
    return wall


def parallel_rows(bench, table, executor_name: str, n_trials: int, sleep: float, store_dir: Path) -> list[dict]:
    evaluator = DelayedEvaluator(table, seconds=sleep)
    rows = []
    for workers in (1, 2):
        ex = make_executor(executor_name, workers)
        t0 = time.perf_counter()
        ex.start(evaluator)                      # run() starts it again: a no-op, same evaluator
        start_s = time.perf_counter() - t0
        try:
            wall = timed_run(bench, evaluator, ex, n_trials, store_dir, f"{executor_name}-{workers}")
        finally:
            ex.shutdown()
        ideal = n_trials * sleep / workers
        rows.append({"executor": executor_name, "workers": workers, "trials": n_trials, "sleep_s": sleep,
                     "start_s": round(start_s, 2), "wall_s": round(wall, 2), "ideal_s": round(ideal, 2),
                     "trials_per_s": round(n_trials / wall, 3),
                     "overhead_ms_per_trial": round(1000 * (wall - ideal) / n_trials, 1)})
        print(rows[-1], flush=True)
    rows[1]["speedup_vs_1"] = round(rows[1]["trials_per_s"] / rows[0]["trials_per_s"], 2)
    rows[0]["speedup_vs_1"] = 1.0
    return rows


def serial_rows(bench, table, n_trials: int, store_dir: Path) -> list[dict]:
    evaluator = DelayedEvaluator(table, seconds=0.0)
    rows = []
    for with_store in (False, True):
        ex = make_executor("serial")
        timed_run(bench, evaluator, ex, 5, store_dir if with_store else None, f"warm-{with_store}", seed=99)
        wall = timed_run(bench, evaluator, ex, n_trials, store_dir if with_store else None,
                         f"serial-{with_store}", seed=1)
        rows.append({"executor": "serial", "store": "sqlite" if with_store else "none", "trials": n_trials,
                     "wall_s": round(wall, 3), "ms_per_trial": round(1000 * wall / n_trials, 2)})
        print(rows[-1], flush=True)
    return rows


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trials", type=int, default=40, help="trials per parallel run")
    p.add_argument("--sleep", type=float, default=0.5, help="seconds each evaluation sleeps")
    p.add_argument("--serial-trials", type=int, default=200)
    p.add_argument("--executors", default="local,ray")
    p.add_argument("--no-write", dest="write", action="store_false", help="print only")
    args = p.parse_args(argv)

    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    bench = data.load("nb201-cifar10")
    table = as_evaluator(bench, [METRIC])
    executors = [e for e in args.executors.split(",") if e]
    par: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="par-scaling-") as tmp:
        store_dir = Path(tmp)
        ser = serial_rows(bench, table, args.serial_trials, store_dir)
        for name in executors:
            if name == "ray":
                import ray
                if not ray.is_initialized():
                    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
            par += parallel_rows(bench, table, name, args.trials, args.sleep, store_dir)
        if "ray" in executors:
            import ray
            ray.shutdown()

    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [f"## Parallel scaling and run-loop overhead (random search on NB201, {os.cpu_count()} cores)", "",
             f"1-minute load average {load_before:.1f} before, {load_after:.1f} after (other work on the "
             f"machine inflates the overheads).", "",
             f"Parallel runs: {args.trials} trials, each a table lookup plus a real {args.sleep:g} s sleep, "
             f"random search through `loop.run` with a SQLite store.  `start_s`: starting the executor "
             f"(workers up with the evaluator), not in `wall_s`.  `overhead_ms_per_trial` = "
             f"(wall - trials x sleep / workers) / trials.", "",
             pd.DataFrame(par).to_markdown(index=False), "",
             f"Serial, 0 s evaluator ({args.serial_trials} trials): the loop's own time per trial "
             f"(strategy ask/tell, dispatch, store commits before dispatch and on arrival).", "",
             pd.DataFrame(ser).to_markdown(index=False), "", "Goals:", ""]
    for name in executors:
        two = next(r for r in par if r["executor"] == name and r["workers"] == 2)
        lines.append(f"- {name}: 2 workers / 1 worker throughput {two['speedup_vs_1']:.2f}x "
                     f"(goal >= 1.9x: {_verdict(two['speedup_vs_1'] >= 1.9)})")
        if name == "ray":
            worst = max(r["overhead_ms_per_trial"] for r in par if r["executor"] == "ray")
            lines.append(f"- ray: overhead per trial at most {worst:.1f} ms (goal < 50 ms: {_verdict(worst < 50)})")
    for r in ser:
        lines.append(f"- serial, store {r['store']}: {r['ms_per_trial']:.2f} ms per trial "
                     f"(goal < 10 ms: {_verdict(r['ms_per_trial'] < 10)})")
    text = "\n".join(lines) + "\n"
    out = ROOT / "benchmarks" / "results" / "parallel_scaling.md" if args.write else Path(os.devnull)
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
