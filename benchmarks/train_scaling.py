"""Workers scale: 8 real trainings on 1 and 2 workers, for the local process pool and for Ray.

    python benchmarks/training.py scaling [--trainings 8] [--train-epochs 8] [small-fidelity options]

The same 8 random NB201 cells (seed 0) trained at the small fidelity of train_curves.py
(``--train-epochs`` epochs, chosen so each training takes >= 20 s on one core) through
:func:`naspredict.search.loop.run`, random search, with each executor at 1 and at 2 workers
(one torch thread per worker).  Workers are started and the data set loaded before the
clock starts (a warm-up trial per worker); each run is then timed from ``run()`` to its
return.  Throughput = trainings / wall second; goal: 2 workers >= 1.7x 1 worker, on 2 cores,
for both executors.  Writes results/training_scaling.md.  Run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train_curves import make_evaluator, small_fidelity_args  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "training_scaling.md"


def timed(evaluator, executor, n: int, seed: int) -> tuple[float, list[float]]:
    from naspredict.search import make_strategy
    from naspredict.search.loop import run
    strategy = make_strategy("random", evaluator.space, target="val_accuracy", seed=seed)
    t0 = time.perf_counter()
    run(strategy, evaluator, n, executor=executor, progress=False)
    wall = time.perf_counter() - t0
    bad = [r.error for _, r in strategy.history if not r.ok]
    if bad or len(strategy.history) != n:
        raise RuntimeError(f"{len(strategy.history)} trainings, failures: {bad}")
    return wall, [r.cost for _, r in strategy.history]


def warm(executor, evaluator, workers: int) -> None:
    """One short training per worker so start-up and data loading are outside the clock."""
    from naspredict.trials import Fidelity, Trial
    executor.start(evaluator)
    arch = evaluator.space.sample(__import__("numpy").random.default_rng(123))
    for i in range(workers):
        executor.submit(Trial(id=-1 - i, arch=arch, fidelity=Fidelity(epochs=1)))
    done = 0
    while done < workers:
        done += len(executor.poll(timeout=1.0))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    small_fidelity_args(p)
    p.add_argument("--trainings", type=int, default=8)
    p.add_argument("--train-epochs", type=int, default=8)
    p.add_argument("--executors", default="local,ray")
    args = p.parse_args(argv)
    args.epochs = args.train_epochs
    from naspredict.torch_utils import set_threads
    set_threads(1)
    from naspredict.executors import make_executor

    evaluator = make_evaluator(args, profile=False)
    rows = []
    for name in args.executors.split(","):
        for workers in (1, 2):
            kw = {"init_kwargs": {"num_cpus": workers, "include_dashboard": False}} if name == "ray" else {}
            ex = make_executor(name, workers, **kw)
            try:
                warm(ex, evaluator, workers)
                wall, costs = timed(evaluator, ex, args.trainings, args.seed)
            finally:
                ex.shutdown()
            rows.append({"executor": name, "workers": workers, "wall": wall, "mean_training": sum(costs) / len(costs),
                         "min_training": min(costs)})
            print(rows[-1], flush=True)
    lines = ["# Real training on 1 vs 2 workers", "",
             f"`python benchmarks/training.py scaling` ({args.trainings} random NB201 cells, seed {args.seed}, "
             f"C={args.channels}, N={args.cells}, {args.train_epochs} epochs on Fashion-MNIST {args.data_fraction:g} "
             f"of the training split at {args.resolution}x{args.resolution}; {os.cpu_count()} cores, one torch "
             f"thread per worker; workers warm before the clock starts).", "",
             "| executor | workers | wall s | trainings / s | mean s per training | shortest training s | speed-up |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    verdicts = []
    for r in rows:
        one = next(o for o in rows if o["executor"] == r["executor"] and o["workers"] == 1)
        speed = one["wall"] / r["wall"]
        lines.append(f"| {r['executor']} | {r['workers']} | {r['wall']:.1f} | {args.trainings / r['wall']:.4f} | "
                     f"{r['mean_training']:.1f} | {r['min_training']:.1f} | {speed:.2f}x |")
        if r["workers"] == 2:
            verdicts.append(f"{r['executor']} {speed:.2f}x ({'met' if speed >= 1.7 else 'MISSED'})")
    lines += ["", "Goal: 2 workers >= 1.7x the throughput of 1 worker: " + "; ".join(verdicts) + ".",
              "Trainings shorter than 20 s would make the goal easier to miss, not to meet (start-up is outside "
              "the clock); the table shows the shortest."]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
