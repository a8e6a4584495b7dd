"""Benchmark of the learning-curve SRM (Baker et al., ICLR-W 2018) on 200 real NB201 curves.

Data: ``data.load("nb201-curves")``: 200 NAS-Bench-201 cells, CIFAR-10 validation accuracy for
each of 200 epochs; the target is the final (epoch-200) validation accuracy.

1. Ranking: for k = 10, 25, 50 and ``--seeds`` random 100/100 splits, Kendall tau on the test
   half of ``lc-srm`` (svr, rf, blr) against the "last observed value" baseline ``curve[k-1]``.
2. Early stopping: per split, the 100 test runs are processed in a random order; each run is
   checked at the checkpoints (``50`` alone, and ``10, 25, 50``) with Baker et al.'s rule
   ``P(final > best_so_far) < threshold``, where ``best_so_far`` is the best final accuracy among
   the test runs already trained to the end.  Thresholds: ``cv`` (the stopper's default: per
   checkpoint, set by 5-fold cross-validation on the 100 *training* runs so that no top-10 %
   training run would have been stopped, times a safety factor 0.25) and the fixed
   ``--baseline-thresholds`` (0.05 and 0.005).  Reported: fraction stopped by epoch 50 (mean and
   worst split), how many stopped runs were in the top 10 % of all 200 finals (summed over
   splits), epochs spent relative to full training (``epoch_frac``; epochs saved is 1 minus it),
   whether the best test run was trained to the end, and the mean fitted threshold at epoch 50.

The svr SRM uses ``gamma="cv"`` (chosen per fit by inner CV on the training runs, criterion
``--cv-score``, default ``mse``); ``--gamma 0.01`` reproduces the earlier fixed-gamma runs.
``gamma_at_last`` is the mean chosen gamma of the last checkpoint's SRM.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lc_srm.py [--seeds 10]`` (about 2 minutes).  Writes
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
from naspredict.torch_utils import set_threads  # noqa: E402

N_EPOCHS = 200


def ranking(bench, ks, models, seeds, n_train=100, srm_params=None):
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
                params = (srm_params or {}) if model == "svr" else {}
                m = LearningCurveSRM(k=k, model=model, random_state=s, **params).fit(
                    a_tr, y[tr], curves=C[tr])
                mu = m.predict(a_te, curves=C[te])
                rows.append(dict(k=k, seed=s, method=f"lc-srm[{model}]", tau=kendalltau(mu, y[te])[0]))
    return pd.DataFrame(rows)


def stopping(bench, checkpoints, seeds, threshold, model="svr", n_train=100, srm_params=None):
    """Early-stopping protocol of the module docstring; ``threshold`` is ``"cv"`` or a float."""
    C, y, archs = bench.curves["val"], bench.values("final_val_accuracy"), bench.archs
    top10 = np.quantile(y, 0.9)
    rows = []
    for s in range(seeds):
        perm = np.random.default_rng(s).permutation(len(y))
        tr, te = perm[:n_train], perm[n_train:]
        stopper = LearningCurveStopper(ks=checkpoints, threshold=threshold, model=model,
                                       random_state=s, **(srm_params or {}))
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
                         threshold=str(threshold), thr_at_last=stopper.thresholds_[checkpoints[-1]],
                         gamma_at_last=stopper.models_[checkpoints[-1]].gamma_,
                         frac_stopped=stopped / len(order),
                         top10_stopped=top_stopped, epoch_frac=epochs / (N_EPOCHS * len(order)),
                         found_best=bool(np.isclose(best, y[te].max()))))
    return pd.DataFrame(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--threshold", default="cv", help="'cv' (default) or a probability")
    ap.add_argument("--baseline-thresholds", default="0.05,0.005",
                    help="fixed thresholds reported next to --threshold (comma list, '' for none)")
    ap.add_argument("--models", default="svr,rf,blr")
    ap.add_argument("--gamma", default="cv",
                    help="svr gamma: 'cv' (default, chosen per fit by inner CV) or a number")
    ap.add_argument("--cv-score", default="mse", help="inner-CV criterion for gamma='cv': mse|tau")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "lc_srm.csv"))
    args = ap.parse_args(argv)
    set_threads(1)  # the process's thread policy, once (library calls leave it alone)
    bench = data.load("nb201-curves")
    srm = dict(gamma=args.gamma if args.gamma == "cv" else float(args.gamma), cv_score=args.cv_score)
    print("svr SRM settings:", srm)
    t0 = time.time()

    rank = ranking(bench, (10, 25, 50), args.models.split(","), args.seeds, srm_params=srm)
    rank_tab = rank.groupby(["k", "method"]).tau.agg(["mean", "std"]).reset_index()
    print("Kendall tau on held-out half (train 100 / test 100), mean +- std over", args.seeds, "seeds")
    print(rank_tab.pivot(index="method", columns="k", values="mean").round(3).to_string())

    thresholds = [args.threshold if args.threshold == "cv" else float(args.threshold)]
    thresholds += [float(t) for t in args.baseline_thresholds.split(",") if t.strip()]
    stop = pd.concat([stopping(bench, cps, args.seeds, thr, srm_params=srm)
                      for thr in thresholds for cps in ((50,), (10, 25, 50))])
    stop_tab = stop.groupby(["checkpoints", "model", "threshold"]).agg(
        frac_stopped=("frac_stopped", "mean"), frac_stopped_min=("frac_stopped", "min"),
        top10_stopped_total=("top10_stopped", "sum"), epoch_frac=("epoch_frac", "mean"),
        found_best=("found_best", "mean"), thr_at_last=("thr_at_last", "mean"),
        gamma_at_last=("gamma_at_last", "mean")).reset_index()
    stop_tab.insert(stop_tab.columns.get_loc("epoch_frac") + 1, "epochs_saved", 1 - stop_tab.epoch_frac)
    print(f"\nEarly stopping (svr), {args.seeds} seeds x 100 test runs")
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
