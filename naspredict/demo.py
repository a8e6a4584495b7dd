"""`make demo`: a tour of the main job on the embedded data (a few minutes on 2 cores).

1. evaluate three predictors at 100 training archs on NB201 (table + plot);
2. run a BO search on NB201 with the best of them;
3. run a two-objective ``mobo`` search on NAS-Bench-Graph (Cora) and save the Pareto plot;
4. train a handful of NB201 cells for real on Fashion-MNIST (a small fidelity, 2 local
   workers) and print and plot the curves measured.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from . import data
from .evaluation import evaluate, plot_pred_vs_true
from .evaluators import as_evaluator
from .predictors import make
from .search import make_strategy
from .search.pareto import hypervolume, pareto_front
from .search.plots import plot_best_so_far, plot_pareto
from .cli import int_at_least
from .store import ResultsStore
from .torch_utils import set_threads

DEMO_PREDICTORS = ("rf", "gp", "gcn-blr")


def step_evaluate(out: Path, seeds: int) -> str:
    print("== 1. predictors: Kendall tau on all 15,525 held-out NB201 cells, 100 training cells ==")
    bench = data.load("nb201-cifar10")
    res = evaluate(bench, "baseline_accuracy", {p: make(p) for p in DEMO_PREDICTORS}, [100], seeds,
                   out_csv=None)
    cols = ["kendall_tau", "spearman", "precision_top5", "coverage_95", "fit_seconds", "predict_seconds"]
    print(res.table.groupby("predictor")[cols].mean().round(3).to_string())
    res.table.to_csv(out / "predictors.csv", index=False)
    best = res.table.groupby("predictor")["kendall_tau"].mean().idxmax()
    yt, yp = res.predictions[(best, 100, 0)]
    plot_pred_vs_true(yt, yp, out / "pred_vs_true.png", title=f"{best}, 100 training cells, seed 0")
    print(f"-> {out / 'predictors.csv'}, {out / 'pred_vs_true.png'}; best: {best}\n")
    return best


def step_bo(out: Path, predictor: str, store: ResultsStore, budget: int) -> None:
    print(f"== 2. BO with {predictor} on NB201 (budget {budget}) against random search ==")
    bench = data.load("nb201-cifar10")
    ev = as_evaluator(bench, ["baseline_accuracy"])
    traces = {}
    for name, kw in (("bo", {"predictor": predictor}), ("random", {})):
        s = make_strategy(name, bench.space, "baseline_accuracy", "max", seed=0, **kw)
        traces[name] = [s.run(ev, budget, store=store, run_name=f"demo-{name}-{int(time.time())}")]
        t = traces[name][0]
        print(f"{name:>7}: best {t.best_after(budget):.4f} (table optimum 94.0664), found the optimum "
              f"after {t.queries_to_reach(94.0664) or f'more than {budget}'} queries")
    plot_best_so_far(traces, out / "best_so_far.png", optimum=94.0664, title="NB201 CIFAR-10")
    print(f"-> {out / 'best_so_far.png'}, runs stored in {store.path}\n")


def step_mobo(out: Path, store: ResultsStore, budget: int) -> None:
    print(f"== 3. two-objective search on NAS-Bench-Graph Cora: max valid_perf, min latency (budget {budget}) ==")
    bench = data.load("nbgraph-cora")
    targets, dirs = ["valid_perf", "latency"], ["max", "min"]
    s = make_strategy("mobo", bench.space, targets, dirs, seed=0)
    trace = s.run(as_evaluator(bench, targets), budget, store=store, run_name=f"demo-mobo-{int(time.time())}")
    found = trace.frame[targets].to_numpy(float)
    table = np.column_stack([bench.values(t) for t in targets])
    signs = np.array([1.0, -1.0])
    ref = np.median(table, axis=0) * signs
    frac = hypervolume(found * signs, ref) / hypervolume((table * signs)[pareto_front(table * signs)], ref)
    print(f"hypervolume reached: {frac:.3f} of the table's true front (reference: table medians)")
    plot_pareto(found, out / "pareto.png", targets, dirs, table, title=f"mobo, {budget} evaluations")
    print(f"-> {out / 'pareto.png'}\n")


def step_train(out: Path, store: ResultsStore, n: int, epochs: int) -> None:
    import os

    from .evaluators.training import TrainingEvaluator
    from .executors import make_executor
    from .search.loop import run
    from .search.plots import plot_learning_curves
    from .training import TrainConfig
    print(f"== 4. real training: {n} random NB201 cells on Fashion-MNIST, {epochs} epochs each, 2 workers ==")
    if not os.path.isdir("/usr/share/datasets/fashion-mnist") and not os.environ.get("NASPREDICT_DATA"):
        print("skipped: no Fashion-MNIST files (apt-get install dataset-fashion-mnist)\n")
        return
    ev = TrainingEvaluator("nb201", "fashion-mnist", config=TrainConfig(epochs=epochs, batch_size=128), channels=8,
                           cells=1, data_fraction=0.05, resolution=16, val_fraction=0.05, device="auto")
    strategy = make_strategy("random", ev.space, target="val_accuracy", seed=0)
    t0 = time.time()
    with make_executor("local", 2) as ex:
        run(strategy, ev, n, executor=ex, store=store, run_name="demo-train", progress=False)
    info = strategy.history[0][1].info
    print(f"C=8, N=1, {info.get('data', {}).get('n_train', 0):,} training images at 16x16, on "
          f"{info.get('device')}; {time.time() - t0:.0f} s")
    for arch, r in strategy.history:
        val = " ".join(f"{v:5.1f}" for v in r.curves.get("val", []))
        print(f"  val % by epoch [{val}]  test {r.metrics.get('test_accuracy', float('nan')):5.1f}  "
              f"{r.metrics.get('params', 0):>7,.0f} params  {ev.space.to_str(arch)}")
    plot_learning_curves([r.curves["val"] for _, r in strategy.history if r.ok], out / "train_curves.png",
                         title=f"NB201 cells on Fashion-MNIST ({epochs} epochs, real training)")
    print(f"-> {out / 'train_curves.png'}; the curve data set of 100 such cells (12 epochs): "
          f"benchmarks/results/training_curves_fmnist.csv\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="out", help="folder for the files the tour writes")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--bo-budget", type=int, default=50)
    p.add_argument("--mobo-budget", type=int, default=50)
    p.add_argument("--train-cells", type=int, default=6, help="cells trained for real in step 4 (0: skip)")
    p.add_argument("--train-epochs", type=int, default=2)
    p.add_argument("--threads", type=int_at_least("--threads", 1), default=1, metavar="N",
                   help="torch intra-op (and BLAS) threads for this process (default 1: the models are "
                        "small and extra threads slow them on busy machines)")
    args = p.parse_args(argv)
    set_threads(args.threads)  # the process's thread policy, set once here (not in library calls)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with ResultsStore(out / "runs.db") as store:
        best = step_evaluate(out, args.seeds)
        step_bo(out, best, store, args.bo_budget)
        step_mobo(out, store, args.mobo_budget)
        if args.train_cells:
            step_train(out, store, args.train_cells, args.train_epochs)
    print(f"tour done in {time.time() - t0:.0f} s; files in {out}/ "
          f"(list stored runs: naspredict runs --store {out / 'runs.db'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
