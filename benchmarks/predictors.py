"""Predictor benchmark: ranking quality, uncertainty and speed on real NB201 data.

    python benchmarks/predictors.py                  # the full protocol (hours on 2 cores)
    python benchmarks/predictors.py --seeds 3 --predictors gp,rf-graf   # a slice

Protocol (issue #3): nb201-cifar10, target baseline_accuracy, train sizes 50/100/200/400/1000,
10 seeds, test set = every remaining cell.  Every predictor runs beside three references in
the same script: rf on one-hot and xgb on one-hot (NASLib's strong family) and rf on GRAF
features + one-hot (Kadlecová et al., ICML 2024).  Zero-cost proxies run on the NASLib NB201
subset that holds them.  Runs are appended to CSVs under benchmarks/results/ as they finish and
skipped when present, so the script resumes after an interruption.  Writes:

- results/predictors_nb201.csv, results/predictors_nb201.md (tau table, coverage, seconds)
- results/predictors_tau.png (tau against train size)
- results/predictors_zc.csv (zero-cost proxies on nb201-zc)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from naspredict import data  # noqa: E402
from naspredict.evaluation import adopt_results, evaluate, plot_metric_vs_size  # noqa: E402
from naspredict.predictors import make  # noqa: E402
from naspredict.torch_utils import set_threads  # noqa: E402

from _parallel import parallel_map  # noqa: E402  (benchmarks/, the script's folder)

RESULTS = ROOT / "benchmarks" / "results"


def predictors(space: str = "nb201") -> dict:
    """Label -> predictor.  Labels ending in '-ref' are the references."""
    return {
        "ensemble": make("ensemble", space=space),
        "rf-graf-ref": make("rf", space=space, encoding="features+onehot"),
        "xgb-onehot-ref": make("xgb", space=space, encoding="onehot"),
        "rf-onehot-ref": make("rf", space=space, encoding="onehot"),
        "gp": make("gp", space=space),
        "gcn-blr": make("gcn-blr", space=space),
        "nao": make("nao", space=space),
        "gcn": make("gcn", space=space),
        "semi": make("semi", space=space),
        "mlp-ensemble": make("mlp-ensemble", space=space),
    }


def _one_seed(label: str, seed: int, sizes: list[int]) -> pd.DataFrame:
    """Every train size of one (predictor, seed): the rows of the results CSV."""
    bench = data.load("nb201-cifar10")
    return evaluate(bench, "baseline_accuracy", {label: predictors()[label]}, sizes, [seed],
                    progress=False).table


def nb201_setting(bench) -> dict:
    """The evaluation setting of predictors_nb201.csv (evaluate's resume key)."""
    from naspredict.evaluation.runner import setting_of
    return setting_of(bench, "baseline_accuracy")


def run_parallel(labels: list[str], sizes: list[int], seeds: int, out_csv: Path, n_jobs: int) -> None:
    """The (predictor, seed) runs missing from ``out_csv`` over ``n_jobs`` single-threaded
    processes; each run's rows are appended as it finishes, so an interruption keeps them."""
    from naspredict.evaluation.runner import RUN_KEY_COLUMNS, _append, _done_runs, params_key
    bench = data.load("nb201-cifar10")
    done = _done_runs(out_csv, nb201_setting(bench))
    params = {label: params_key(p) for label, p in predictors().items()}
    jobs = [(label, s, sizes) for label in labels for s in range(seeds)
            if any((label, params[label], n, s, "") not in done for n in sizes)]
    for table in parallel_map(_one_seed, jobs, n_jobs):
        for row in table.to_dict("records"):
            if tuple(row[c] for c in RUN_KEY_COLUMNS) not in done:
                _append(out_csv, row)
        print(f"done {table['predictor'].iloc[0]} seed {int(table['seed'].iloc[0])}", flush=True)


def summarise(table: pd.DataFrame) -> str:
    tau = table.pivot_table(index="predictor", columns="train_size", values="kendall_tau", aggfunc="mean")
    n = table.groupby("predictor")["seed"].nunique().rename("seeds")
    cov = table.pivot_table(index="predictor", columns="train_size", values="coverage_95", aggfunc="mean")
    secs = table[table.train_size == table.train_size.max()].groupby("predictor")[
        ["fit_seconds", "predict_seconds"]].mean()
    p5 = table.pivot_table(index="predictor", columns="train_size", values="precision_top5", aggfunc="mean")
    lines = ["## Kendall tau (mean over seeds), nb201-cifar10 baseline_accuracy, test = all other cells", "",
             tau.join(n).round(3).to_markdown(), "",
             "## precision@top-5%", "", p5.round(3).to_markdown(), "",
             "## 95% interval coverage (predictors with std)", "", cov.dropna(how="all").round(3).to_markdown(), "",
             f"## seconds at {table.train_size.max()} training archs (fit on them, predict the rest)", "",
             secs.round(2).to_markdown(), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="50,100,200,400,1000")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--predictors", help="comma-separated labels (default: all)")
    p.add_argument("--skip-zc", action="store_true")
    p.add_argument("--jobs", type=int, default=1,
                   help="(predictor, seed) runs in parallel, one process and one core each (default 1)")
    args = p.parse_args(argv)
    set_threads(1)  # the process's thread policy, once (library calls leave it alone; --jobs
    # workers inherit it through fork, and _parallel's OMP_NUM_THREADS=1)
    sizes = [int(s) for s in args.sizes.split(",")]
    preds = predictors()
    if args.predictors:
        wanted = args.predictors.split(",")
        unknown = set(wanted) - set(preds)
        if unknown:
            raise SystemExit(f"unknown labels {sorted(unknown)}; known: {', '.join(preds)}")
        preds = {k: v for k, v in preds.items() if k in wanted}
    RESULTS.mkdir(parents=True, exist_ok=True)
    bench = data.load("nb201-cifar10")
    out_csv = RESULTS / "predictors_nb201.csv"
    # rows written before evaluate keyed its resume on the setting were made with this one
    if out_csv.exists():
        adopt_results(out_csv, bench, "baseline_accuracy", predictors())
    if args.jobs > 1:
        run_parallel(list(preds), sizes, args.seeds, out_csv, args.jobs)
    for label, model in preds.items():  # one predictor at a time, so partial results are usable
        evaluate(bench, "baseline_accuracy", {label: model}, sizes, args.seeds, out_csv=out_csv)
    table = pd.read_csv(out_csv)
    (RESULTS / "predictors_nb201.md").write_text(summarise(table))
    plot_metric_vs_size(table, RESULTS / "predictors_tau.png",
                        title="NB201 CIFAR-10: Kendall tau on all held-out cells")
    print(summarise(table))

    if not args.skip_zc:
        zc = data.load("nb201-zc")
        zc_preds = {name: make(name) for name in ("jacov", "params", "flops")}
        zc_preds["rf-graf-ref"] = make("rf", encoding="features+onehot")
        if (RESULTS / "predictors_zc.csv").exists():
            adopt_results(RESULTS / "predictors_zc.csv", zc, "val_accuracy", zc_preds)
        res = evaluate(zc, "val_accuracy", zc_preds, [50, 100, 200, 400], args.seeds,
                       out_csv=RESULTS / "predictors_zc.csv")
        print("\nZero-cost proxies on nb201-zc (725 cells, val_accuracy), Kendall tau:")
        print(res.summary().round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
