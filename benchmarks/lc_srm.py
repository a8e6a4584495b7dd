"""Benchmark of the learning-curve SRM (Baker et al., ICLR-W 2018) on 200 real NB201 curves.

Data: ``data.load("nb201-curves")``: 200 NAS-Bench-201 cells, CIFAR-10 validation accuracy for
each of 200 epochs; the target is the final (epoch-200) validation accuracy.

1. Ranking: for k = 10, 25, 50 and ``--seeds`` random 100/100 splits, Kendall tau on the test
   half of ``lc-srm`` (svr, rf, blr) against the "last observed value" baseline ``curve[k-1]``.
2. Early stopping: per split, the 100 test runs are processed in a random order; each run is
   checked at the checkpoints (``50`` alone, and ``10, 25, 50``) with Baker et al.'s rule
   ``P(final > best_so_far) < threshold``, where ``best_so_far`` is the best final accuracy among
   the test runs already trained to the end.  Reported: fraction stopped by epoch 50, how many
   stopped runs were in the top 10 % of all 200 finals, epochs spent relative to full training,
   and whether the best test run was trained to the end.

Run: ``.venv/bin/python benchmarks/lc_srm.py [--seeds 10] [--threshold 0.05]``.  Writes
``benchmarks/results/lc_srm.csv`` (one row per setting, means over seeds) and prints a table.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from naspredict import data  # noqa: E402
from naspredict.predictors.lc_srm import LearningCurveSRM, LearningCurveStopper  # noqa: E402

N_EPOCHS = 200


def ranking(bench, ks, models, seeds, n_train=100):
    C, y, archs = bench.curves["val"], bench.values("final_val_accuracy"), bench.archs
    rows = []
    for k in ks:
        for s in range(seeds):
            perm = np.random.default_rng(s).permutation(len(y))
            tr, te = perm[:n_train], perm[n_train:]
            a_tr, a_te = [archs[i] for i in tr], [archs[i] for i in te]
            rows.append(dict(k=k, seed=s, method="last-value",
                             tau=kendalltau(C[te, k - 1], y[te])[0]))
            for model in models:
                m = LearningCurveSRM(k=k, model=model, random_state=s).fit(a_tr, y[tr], curves=C[tr])
                mu = m.predict(a_te, curves=C[te])
                rows.append(dict(k=k, seed=s, method=f"lc-srm[{model}]", tau=kendalltau(mu, y[te])[0]))
    return pd.DataFrame(rows)


def stopping(bench, checkpoints, seeds, threshold, model="svr", n_train=100):
    C, y, archs = bench.curves["val"], bench.values("final_val_accuracy"), bench.archs
    top10 = np.quantile(y, 0.9)
    rows = []
    for s in range(seeds):
        perm = np.random.default_rng(s).permutation(len(y))
        tr, te = perm[:n_train], perm[n_train:]
        stopper = LearningCurveStopper(ks=checkpoints, threshold=threshold, model=model,
                                       random_state=s)
        stopper.fit([archs[i] for i in tr], y[tr], C[tr])
        order = np.random.default_rng(1000 + s).permutation(te)
        best, stopped, epochs, top_stopped = None, 0, 0, 0
        for i in order:
            stop_at = None
            for k in checkpoints:
                if stopper.should_stop(C[i, :k], best, arch=archs[i]):
                    stop_at = k
                    break
            if stop_at is None:
                epochs += N_EPOCHS
                best = y[i] if best is None else max(best, y[i])
            else:
                epochs += stop_at
                stopped += 1
                top_stopped += int(y[i] >= top10)
        rows.append(dict(checkpoints="/".join(map(str, checkpoints)), seed=s, model=model,
                         threshold=threshold, frac_stopped=stopped / len(order),
                         top10_stopped=top_stopped, epoch_frac=epochs / (N_EPOCHS * len(order)),
                         found_best=bool(np.isclose(best, y[te].max()))))
    return pd.DataFrame(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--threshold", type=float, default=0.05)
    ap.add_argument("--models", default="svr,rf,blr")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "lc_srm.csv"))
    args = ap.parse_args(argv)
    bench = data.load("nb201-curves")
    t0 = time.time()

    rank = ranking(bench, (10, 25, 50), args.models.split(","), args.seeds)
    rank_tab = rank.groupby(["k", "method"]).tau.agg(["mean", "std"]).reset_index()
    print("Kendall tau on held-out half (train 100 / test 100), mean +- std over", args.seeds, "seeds")
    print(rank_tab.pivot(index="method", columns="k", values="mean").round(3).to_string())

    stop = pd.concat([stopping(bench, cps, args.seeds, args.threshold)
                      for cps in ((50,), (10, 25, 50))])
    stop_tab = stop.groupby(["checkpoints", "model", "threshold"]).agg(
        frac_stopped=("frac_stopped", "mean"), frac_stopped_min=("frac_stopped", "min"),
        top10_stopped_total=("top10_stopped", "sum"), epoch_frac=("epoch_frac", "mean"),
        found_best=("found_best", "mean")).reset_index()
    print(f"\nEarly stopping (svr, threshold {args.threshold}), {args.seeds} seeds x 100 test runs")
    print(stop_tab.round(3).to_string(index=False))

    out = pd.concat([
        rank_tab.rename(columns={"mean": "value", "std": "value_std"}).assign(part="ranking", measure="kendall_tau"),
        stop_tab.melt(id_vars=["checkpoints", "model", "threshold"], var_name="measure",
                      value_name="value").assign(part="early_stopping"),
    ], ignore_index=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False)
    print(f"\nwrote {args.out} ({time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
