"""A real learning-curve data set: random NB201 cells trained on Fashion-MNIST at a small fidelity.

    python benchmarks/training.py curves [--n 100] [--epochs 12] [--channels 8] [--cells 1]
                                         [--data-fraction 0.05] [--resolution 16] [--workers 2]

A random search (seed ``--seed``) through :func:`naspredict.search.loop.run` with a
:class:`~naspredict.evaluators.training.TrainingEvaluator`, every trial committed to a results
store as it finishes (``--store``, default ``out/bench/training.db``: rerunning the command
resumes an interrupted run and never retrains a finished cell).  At the end the run is exported
as logged results with every per-epoch curve (``train``, ``val`` accuracy in %, ``train_loss``,
``val_loss``) plus the network's params and FLOPs, to
``benchmarks/results/training_curves_fmnist.csv``; it loads with
``naspredict.data.read_results(path, "nb201")``.  ``results/training_curves_fmnist.md`` says
how it was made.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
CSV = RESULTS / "training_curves_fmnist.csv"


def small_fidelity_args(p: argparse.ArgumentParser) -> None:
    """The small fidelity every training benchmark shares (one definition)."""
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--cells", type=int, default=1)
    p.add_argument("--data-fraction", type=float, default=0.05)
    p.add_argument("--resolution", type=int, default=16)
    p.add_argument("--val-fraction", type=float, default=0.05)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)


def make_evaluator(args, **kw):
    from naspredict.evaluators.training import TrainingEvaluator
    from naspredict.training import TrainConfig
    return TrainingEvaluator("nb201", "fashion-mnist", config=TrainConfig(epochs=args.epochs, batch_size=args.batch_size),
                             channels=args.channels, cells=args.cells, data_fraction=args.data_fraction,
                             resolution=args.resolution, val_fraction=args.val_fraction, seed=args.seed,
                             device="cpu", **kw)


def setting(args) -> dict:
    return {k: getattr(args, k) for k in ("epochs", "channels", "cells", "data_fraction", "resolution",
                                          "val_fraction", "batch_size", "seed")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=100, help="cells to train (default 100)")
    small_fidelity_args(p)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--store", default=str(ROOT / "out" / "bench" / "training.db"))
    p.add_argument("--out", default=str(CSV))
    args = p.parse_args(argv)
    from naspredict.torch_utils import set_threads
    set_threads(1)
    from naspredict.executors import make_executor
    from naspredict.search import make_strategy
    from naspredict.search.loop import run
    from naspredict.store import ResultsStore

    evaluator = make_evaluator(args, profile=False)
    strategy = make_strategy("random", evaluator.space, target="val_accuracy", seed=args.seed)
    Path(args.store).parent.mkdir(parents=True, exist_ok=True)
    name = f"curves-{args.seed}"
    t0 = time.perf_counter()
    with ResultsStore(args.store) as store:
        resume = store.get_run(name) is not None
        executor = make_executor("local", args.workers) if args.workers > 1 else None
        try:
            run(strategy, evaluator, args.n, executor=executor, store=store, run_name=name, resume=resume,
                config={"setting": json.dumps(setting(args))}, progress=True)
        finally:
            if executor is not None:
                executor.shutdown()
        wall = time.perf_counter() - t0
        out = Path(args.out)
        tmp = out.with_suffix(".tmp.csv")
        store.export(name, tmp)
    add_static_columns(tmp, args)
    tmp.replace(out)
    print(f"wrote {out} ({args.n} cells; this invocation {wall:.0f} s)")
    return 0


def add_static_columns(path: Path, args) -> None:
    """Params and FLOPs of each cell's network at the data set's fidelity (no training needed)."""
    import pandas as pd

    from naspredict.nets import build_network, profile
    from naspredict.spaces import get_space
    space = get_space("nb201")
    df = pd.read_csv(path)
    shape = (1, args.resolution, args.resolution)
    stats = [profile(build_network(space, a, channels=args.channels, cells=args.cells, n_classes=10,
                                   input_shape=shape), shape, batch_sizes=()) for a in df["arch"]]
    df["params"] = [s.params for s in stats]
    df["flops"] = [s.flops for s in stats]
    df.to_csv(path, index=False)


if __name__ == "__main__":
    raise SystemExit(main())
