"""Early stopping pays: a 50-cell random search on Fashion-MNIST with the lc-srm pruner.

    python benchmarks/training.py pruning [--n 50] [--workers 2] [--min-finished 10] [small-fidelity options]

Random search (seed ``--seed``) over NB201 with the real training evaluator at the small
fidelity of train_curves.py, with :class:`~naspredict.search.pruners.LearningCurvePruner`
(curve ``val``, checkpoints at epochs 2, 4, 6 of 12, acting after ``--min-finished`` complete
trials).  The unpruned search with the same seed is the first ``--n`` trials of the curve data
set's run (``train_curves.py``, same strategy, seed and evaluator: random search proposes the
same cells whatever the results, and each cell's training is seeded by the evaluator seed and
the cell, so the unpruned trials are exactly those); the script checks that the proposals
match.  Reported: epochs trained as a share of ``n x epochs``, best final validation accuracy
of each search, wall time.  Goals: >= 50 % of the epochs saved; best within 0.5 points of the
unpruned search's.  Writes results/training_pruning.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train_curves import CSV, make_evaluator, setting, small_fidelity_args  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "training_pruning.md"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--min-finished", type=int, default=10)
    small_fidelity_args(p)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--store", default=str(ROOT / "out" / "bench" / "training.db"))
    args = p.parse_args(argv)
    from naspredict.torch_utils import set_threads
    set_threads(1)
    import pandas as pd

    from naspredict.executors import make_executor
    from naspredict.search import make_strategy
    from naspredict.search.cli import pruner_checkpoints
    from naspredict.search.loop import run
    from naspredict.search.pruners import make_pruner
    from naspredict.store import ResultsStore

    evaluator = make_evaluator(args, profile=False)
    ks = pruner_checkpoints(args.epochs)
    with ResultsStore(args.store) as store:
        base = store.frame(f"curves-{args.seed}")
        if len(base) < args.n:
            raise SystemExit(f"the curve data set's run has {len(base)} trials; run "
                             f"`python benchmarks/training.py curves` first (needs >= {args.n})")
        base = base.sort_values("trial").head(args.n)
        name = f"pruned-{args.seed}-min{args.min_finished}"
        strategy = make_strategy("random", evaluator.space, target="val_accuracy", seed=args.seed)
        pruner = make_pruner("lc-srm", curve="val", direction="max", ks=ks, min_finished=args.min_finished,
                             space="nb201")
        resume = store.get_run(name) is not None
        executor = make_executor("local", args.workers) if args.workers > 1 else None
        t0 = time.perf_counter()
        try:
            run(strategy, evaluator, args.n, executor=executor, store=store, run_name=name, resume=resume,
                pruner=pruner, config={"setting": json.dumps(setting(args))}, progress=True)
        finally:
            if executor is not None:
                executor.shutdown()
        wall = time.perf_counter() - t0
        pruned = store.frame(name).sort_values("trial")
    if list(pruned["arch"]) != list(base["arch"]):
        raise SystemExit("the pruned search proposed other cells than the unpruned one: not comparable")
    epochs = pruned["curves"].map(lambda c: len(c.get("val", [])))
    full = args.n * args.epochs
    saved = 1 - epochs.sum() / full
    complete = pruned[pruned["state"] == "complete"]
    best_pruned = complete["val_accuracy"].max()
    best_base = base["val_accuracy"].max()
    gap = best_base - best_pruned
    base_best_arch = base.loc[base["val_accuracy"].idxmax(), "arch"]
    kept = base_best_arch in set(complete["arch"])
    # the first epochs of every pruned trial equal the unpruned trial's (same seeds): check
    same = sum(c.get("val", []) == b.get("val", [])[:len(c.get("val", []))]
               for c, b in zip(pruned["curves"], base["curves"]))
    lines = [
        "# Early stopping on real training: lc-srm pruner, 50-cell random search, Fashion-MNIST",
        "",
        f"`python benchmarks/training.py pruning --n {args.n} --min-finished {args.min_finished}` "
        f"(NB201 C={args.channels}, N={args.cells}, {args.epochs} epochs, Fashion-MNIST {args.data_fraction:g} "
        f"of the training split at {args.resolution}x{args.resolution}, batch {args.batch_size}; random search "
        f"seed {args.seed}; pruner checkpoints {ks}, acting after {args.min_finished} complete trials; "
        f"{args.workers} local workers, CPU).",
        "",
        "| search | trials complete / pruned | epochs trained | share of all epochs saved | best val accuracy % |",
        "|---|---:|---:|---:|---:|",
        f"| without pruning (first {args.n} of the curve data set) | {len(base)} / 0 | {full} | 0 % | {best_base:.2f} |",
        f"| with lc-srm | {len(complete)} / {int((pruned['state'] == 'pruned').sum())} | {int(epochs.sum())} | "
        f"{100 * saved:.1f} % | {best_pruned:.2f} |",
        "",
        f"Epochs saved: **{100 * saved:.1f} %** (goal >= 50 %: {'met' if saved >= 0.5 else 'MISSED'}). "
        f"Best-accuracy gap: **{gap:.2f} points** (goal <= 0.5: {'met' if gap <= 0.5 else 'MISSED'}); "
        f"the unpruned search's best cell {'ran to the end' if kept else 'was pruned'} in the pruned search.",
        f"Partial curves identical to the unpruned run's first epochs: {same}/{len(pruned)} trials. "
        f"Wall time of this run: {wall:.0f} s.",
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
