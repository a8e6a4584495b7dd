"""One-shot ranking: how well a uniformly trained supernet ranks the 100 cells of the curve set.

    python benchmarks/oneshot_ranking.py --tag e12 [--supernet-epochs 12] [--bn-batches 4]
        [--supernet-seeds 0 1] [--supernet-channels 8] [--sampler uniform|fair]
        [--bn-mode recalibrate|batch] [--lr 0.1]
    python benchmarks/oneshot_ranking.py --report-only   # rewrite the md from the runs CSV

A supernet over NB201 (:class:`naspredict.oneshot.Supernet`) is trained with uniform
single-path sampling (SPOS, Guo et al., ECCV 2020) or FairNAS's strictly fair sampling
(``--sampler fair``, Chu et al., ICCV 2021: 5 paths per step covering every op of every edge
once, gradients summed, one update) on the data setting of the committed curve
set (``benchmarks/train_curves.py``'s ``small_fidelity_args``: Fashion-MNIST, 5 % of the
training split = 2,850 images at 16x16, 3,000 validation images, batch 128, NB201's SGD +
cosine; the supernet at C=8, N=1 unless ``--supernet-channels`` says otherwise).  The 100
cells of ``results/training_curves_fmnist.csv`` are scored by the
:class:`~naspredict.evaluators.oneshot.OneShotEvaluator` (BN statistics recomputed per cell on
``--bn-batches`` training batches, or ``--bn-mode batch``: each validation batch normalised by
its own statistics) and the Kendall tau of the one-shot validation accuracy -- and of the
negated one-shot validation loss, which is continuous where accuracy on 3,000 images ties --
is computed against their stand-alone ``val_accuracy`` and ``test_accuracy`` (12 epochs each,
same data) and against NAS-Bench-201's CIFAR-10 ``baseline_accuracy``.  With several
``--supernet-seeds`` the one-shot scores of the supernets are averaged per cell.

Each invocation is one setting (named by ``--tag``); it appends its row to
``results/oneshot_ranking_runs.csv`` and its per-cell scores to
``results/oneshot_ranking_scores.csv`` (replacing rows of the same tag), then rewrites
``results/oneshot_ranking.md`` from every setting run so far: all of them, in the order run.
Trained supernets are kept under ``out/bench/oneshot/`` and reused when a setting asks for the
same supernet (same epochs, seed, width), so trying other BN settings costs no retraining.
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
from train_curves import CSV, small_fidelity_args  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
RUNS = RESULTS / "oneshot_ranking_runs.csv"
SCORES = RESULTS / "oneshot_ranking_scores.csv"
OUT = RESULTS / "oneshot_ranking.md"
CACHE = ROOT / "out" / "bench" / "oneshot"
GOAL = 0.5


def _evaluator(args, seed: int, epochs: int, channels: int):
    from naspredict.evaluators.oneshot import OneShotEvaluator
    from naspredict.training import TrainConfig
    extra = ("" if args.sampler == "uniform" else f"-{args.sampler}") + ("" if args.lr == 0.1 else f"-lr{args.lr:g}")
    path = CACHE / f"nb201-fmnist-C{channels}N{args.cells}-r{args.resolution}-d{args.data_fraction}-e{epochs}-s{seed}{extra}.pt"
    kw = dict(epochs=epochs, channels=channels, cells=args.cells, data_fraction=args.data_fraction,
              resolution=args.resolution, val_fraction=args.val_fraction, seed=seed, data_seed=args.seed,
              device="cpu", sampler=args.sampler, bn_mode=args.bn_mode,
              bn_batches=args.bn_batches, batch_size=args.batch_size, test=args.score_test, params=False,
              config=TrainConfig(epochs=epochs, batch_size=args.batch_size, lr=args.lr), progress=True)
    if path.is_file():
        ev = OneShotEvaluator("nb201", "fashion-mnist", supernet=path, **kw)
        ev.prepare()
        return ev, ev.supernet_info()["train_seconds"], True
    ev = OneShotEvaluator("nb201", "fashion-mnist", **kw)
    ev.prepare()
    ev.save(path)
    return ev, ev.supernet_info()["train_seconds"], False


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    small_fidelity_args(p)  # the curve set's data setting (--epochs there is the stand-alone count)
    p.add_argument("--tag", help="name of this setting in the results table (required unless --report-only)")
    p.add_argument("--report-only", action="store_true",
                   help="only rewrite the md from the runs CSV (and the reference taus), train and score nothing")
    p.add_argument("--supernet-epochs", type=int, default=12)
    p.add_argument("--supernet-seeds", type=int, nargs="+", default=[0])
    p.add_argument("--supernet-channels", type=int, default=None, help="default: --channels (8)")
    p.add_argument("--bn-batches", type=int, default=4)
    p.add_argument("--sampler", choices=["uniform", "fair"], default="uniform",
                   help="uniform (SPOS; the first rows' setting, kept as the flag's default) or fair (FairNAS, "
                        "OneShotEvaluator's default)")
    p.add_argument("--bn-mode", choices=["recalibrate", "batch"], default="recalibrate")
    p.add_argument("--lr", type=float, default=0.1, help="the supernet's initial SGD learning rate")
    p.add_argument("--score-test", action="store_true",
                   help="also score the 10,000 test images (about 3x the scoring time)")
    p.add_argument("--csv", default=str(CSV))
    p.add_argument("--note", default="", help="free text for the table")
    args = p.parse_args(argv)
    from naspredict.torch_utils import set_threads
    set_threads(1)
    import numpy as np
    import pandas as pd
    from scipy import stats

    from naspredict import data
    channels = args.supernet_channels or args.channels
    logged = data.read_results(args.csv, "nb201", curve_column="curves")
    archs = list(logged.archs)
    table = data.load("nb201-cifar10")
    stand_val = logged.values("val_accuracy")
    stand_test = logged.values("test_accuracy")
    nb201 = np.array([table.query(a, "baseline_accuracy") for a in archs])

    def tau(a, b, mask=None):
        m = np.isfinite(a) & np.isfinite(b) & (True if mask is None else mask)
        return float(stats.kendalltau(a[m], b[m]).statistic) if m.sum() > 2 else float("nan")

    refs = references(logged.space, archs, stand_val, stand_test, nb201, args, tau)
    if args.report_only:
        write_report(pd.read_csv(RUNS), args, refs)
        print(OUT.read_text())
        return 0
    if not args.tag:
        p.error("--tag is required (the name of this setting's row)")

    per_seed_val, per_seed_loss, per_seed_test, train_s, score_s, reused = [], [], [], [], [], []
    for seed in args.supernet_seeds:
        t0 = time.perf_counter()
        ev, seconds, was_cached = _evaluator(args, seed, args.supernet_epochs, channels)
        train_s.append(float(seconds))
        reused.append(was_cached)
        print(f"supernet seed {seed}: {'loaded' if was_cached else 'trained'} ({seconds:.0f} s of training; "
              f"{time.perf_counter() - t0:.0f} s wall)", flush=True)
        results = []
        for i, a in enumerate(archs):
            results.append(ev.evaluate(a))
            if (i + 1) % 20 == 0:
                print(f"  scored {i + 1}/{len(archs)} cells ({time.perf_counter() - t0:.0f} s)", flush=True)
        bad = [r.error for r in results if not r.ok]
        if bad:
            raise RuntimeError(f"{len(bad)} one-shot evaluations failed, first: {bad[0]}")
        per_seed_val.append([r.metrics["val_accuracy"] for r in results])
        per_seed_loss.append([r.metrics["val_loss"] for r in results])
        per_seed_test.append([r.metrics.get("test_accuracy", np.nan) for r in results])
        score_s.append(float(np.mean([r.cost for r in results])))
    val = np.mean(per_seed_val, axis=0)
    loss = np.mean(per_seed_loss, axis=0)
    test = np.mean(per_seed_test, axis=0)
    live = stand_val > 10.5  # the one cell with no input-output path scores exactly 10 % stand-alone

    row = {"tag": args.tag, "supernet_epochs": args.supernet_epochs, "supernet_channels": channels,
           "cells": args.cells, "sampler": args.sampler, "lr": args.lr, "bn_mode": args.bn_mode,
           "bn_batches": args.bn_batches if args.bn_mode == "recalibrate" else 0, "seeds": " ".join(map(str, args.supernet_seeds)),
           "tau_val_vs_standalone_val": tau(val, stand_val), "tau_val_vs_standalone_test": tau(val, stand_test),
           "tau_test_vs_standalone_test": tau(test, stand_test), "tau_val_vs_nb201": tau(val, nb201),
           "tau_val_vs_standalone_val_live": tau(val, stand_val, live),
           "tau_loss_vs_standalone_val": tau(-loss, stand_val), "tau_loss_vs_standalone_test": tau(-loss, stand_test),
           "tau_loss_vs_nb201": tau(-loss, nb201),
           "spearman_val_vs_standalone_val": float(stats.spearmanr(val, stand_val).statistic),
           "oneshot_val_median": float(np.median(val)), "oneshot_val_max": float(np.max(val)),
           "train_seconds": float(np.sum(train_s)), "seconds_per_arch": float(np.mean(score_s)),
           "reused_supernet": all(reused), "note": args.note}
    if len(args.supernet_seeds) > 1:
        row["tau_between_seeds"] = tau(np.array(per_seed_val[0]), np.array(per_seed_val[1]))
        row["tau_loss_between_seeds"] = tau(np.array(per_seed_loss[0]), np.array(per_seed_loss[1]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs = pd.read_csv(RUNS) if RUNS.exists() else pd.DataFrame()
    if len(runs):
        runs = runs[runs["tag"] != args.tag]
    runs = pd.concat([runs, pd.DataFrame([row])], ignore_index=True)
    # rows run before these options existed ran with their defaults
    runs = runs.fillna({"sampler": "uniform", "lr": 0.1, "bn_mode": "recalibrate"})
    runs.to_csv(RUNS, index=False)
    scores = pd.read_csv(SCORES) if SCORES.exists() else pd.DataFrame()
    if len(scores):
        scores = scores[scores["tag"] != args.tag]
    new = pd.DataFrame({"tag": args.tag, "arch": [logged.space.to_str(a) for a in archs],
                        "oneshot_val_accuracy": val, "oneshot_val_loss": loss, "oneshot_test_accuracy": test,
                        "standalone_val_accuracy": stand_val, "standalone_test_accuracy": stand_test,
                        "nb201_cifar10_baseline_accuracy": nb201})
    pd.concat([scores, new], ignore_index=True).to_csv(SCORES, index=False)
    write_report(runs, args, refs)
    print(json.dumps(row, indent=1))
    return 0


def references(space, archs, stand_val, stand_test, nb201, args, tau) -> dict[str, float]:
    """Reference taus on the same 100 cells: the stand-alone set against itself (its val vs test
    split: the ceiling a score of one split can reach) and the stand-alone networks' parameter
    counts (at the curve set's C and N) against stand-alone val."""
    import numpy as np
    import torch
    from naspredict.nets import build_network
    with torch.random.fork_rng(devices=[]):
        params = np.array([sum(p.numel() for p in build_network(
            space, a, channels=args.channels, cells=args.cells, n_classes=10,
            input_shape=(1, args.resolution, args.resolution)).parameters()) for a in archs], float)
    return {"stand-alone val vs stand-alone test": tau(stand_val, stand_test),
            "parameter count vs stand-alone val": tau(params, stand_val),
            "stand-alone val vs NB201 CIFAR-10": tau(stand_val, nb201)}


def write_report(runs, args, refs: dict[str, float] | None = None) -> None:
    import numpy as np
    cols = [("tag", "setting"), ("sampler", "sampler"), ("supernet_epochs", "supernet epochs"),
            ("supernet_channels", "C"), ("lr", "lr"), ("bn_batches", "BN batches (0: batch stats)"),
            ("seeds", "supernet seeds"),
            ("tau_val_vs_standalone_val", "tau vs stand-alone val"),
            ("tau_loss_vs_standalone_val", "tau, -loss vs stand-alone val"),
            ("tau_val_vs_standalone_test", "tau vs stand-alone test"),
            ("tau_val_vs_standalone_val_live", "tau vs stand-alone val, 99 live cells"),
            ("tau_test_vs_standalone_test", "tau, one-shot test vs stand-alone test"),
            ("tau_val_vs_nb201", "tau vs NB201 CIFAR-10"),
            ("tau_loss_vs_nb201", "tau, -loss vs NB201 CIFAR-10"),
            ("tau_between_seeds", "tau between 2 supernet seeds"),
            ("tau_loss_between_seeds", "tau between seeds, -loss"),
            ("oneshot_val_median", "one-shot val median %"),
            ("train_seconds", "supernet training s"), ("seconds_per_arch", "s per arch")]
    lines = ["# One-shot ranking: a uniformly trained supernet vs stand-alone training", "",
             "`python benchmarks/oneshot_ranking.py --tag ...` (one row per setting, every setting tried, in the order run).",
             "",
             f"**Data and cells:** the 100 NB201 cells of `{Path(args.csv).name}` and its data setting: Fashion-MNIST, "
             f"{args.data_fraction:g} of the training split at {args.resolution}x{args.resolution} (2,850 images), "
             "3,000 validation images, 10,000 test images, batch "
             f"{args.batch_size}; stand-alone accuracies after 12 epochs at C={args.channels}, N={args.cells}.",
             "",
             "**One-shot:** an NB201 supernet (`naspredict.oneshot.Supernet`, non-affine BN in the mixed ops) trained by "
             "uniform single-path sampling (sampler `uniform`: SPOS, Guo et al., ECCV 2020; one random cell per step) or "
             "FairNAS's strict fairness (sampler `fair`: Chu et al., ICCV 2021; per step the 5 cells that use every op of "
             "every edge once, their gradients on the same batch summed, one update, so an epoch costs 5 uniform epochs), "
             "NB201's SGD + cosine from the given lr over the supernet epochs, the curve set's augmentation; each cell is "
             "scored on the whole validation split after its BN statistics are recomputed on the given number of training "
             "batches (0: BN in train mode, each validation batch of 1,024 normalised by its own statistics, as Bender et "
             "al., ICML 2018, score one-shot models) (`OneShotEvaluator`). Several seeds: scores averaged per cell. "
             "Kendall tau of the one-shot validation accuracy, and of the negated one-shot validation loss (continuous; "
             "accuracies on 3,000 images tie), against the stand-alone values and NAS-Bench-201's CIFAR-10 "
             "`baseline_accuracy`. Training seconds are the supernet epochs' wall time on one thread of a shared 2-core "
             "CPU (summed over seeds; other jobs ran beside them, so they are loose); seconds per arch are "
             "recalibration plus validation scoring.", "",
             f"Goal: tau >= {GOAL} against stand-alone.", "",
             "| " + " | ".join(h for _, h in cols) + " |", "|" + "|".join("---" if i < 7 else "---:" for i in range(len(cols))) + "|"]
    for _, r in runs.iterrows():
        cells = []
        for k, _ in cols:
            v = r.get(k, np.nan)
            if isinstance(v, float):
                cells.append("" if not np.isfinite(v) else (f"{v:.3f}" if k.startswith("tau") else f"{v:g}" if k == "lr" else f"{v:.2f}" if k == "seconds_per_arch" else f"{v:.1f}"))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- **{r['tag']}**: {r['note']}" for _, r in runs.iterrows() if isinstance(r.get("note"), str) and r["note"]]
    if notes:
        lines += ["", "Notes:", *notes]
    lines += ["", "The stand-alone reference is itself noisy: its trainable cells span 73-81 % and one point is about "
              "1.3 standard errors on 3,000 validation images (`training_curves_fmnist.md`), and its own tau against "
              "NB201's CIFAR-10 table is 0.424 (`training_fidelity.md`)."]
    if refs:
        lines += ["", "References on the same 100 cells (Kendall tau): " + "; ".join(f"{k} {v:.3f}" for k, v in refs.items())
                  + ". The first is the ceiling any score of one 3,000-image split can be expected to reach."]
    sampler = runs["sampler"].fillna("uniform") if "sampler" in runs else None
    if sampler is not None and (sampler == "fair").any() and (sampler == "uniform").any():
        fair_loss = runs.loc[sampler == "fair", "tau_loss_vs_standalone_val"].astype(float)
        uni = runs.loc[sampler == "uniform", ["tau_val_vs_standalone_val", "tau_loss_vs_standalone_val"]].astype(float)
        lines += ["", f"`OneShotEvaluator`'s default is `sampler='fair'` (FairNAS), ranked by `val_loss`: by the negated "
                  f"validation loss the FairNAS rows reach tau {fair_loss.min():.3f} to {fair_loss.max():.3f}, the "
                  f"uniform (SPOS) rows at most {np.nanmax(uni.to_numpy()):.3f} by either score. Its learning rate stays "
                  f"NB201's 0.1 unless a `TrainConfig` says otherwise (see the `lr` column for what lower rates gave)."]
    for key, what in (("tau_val_vs_standalone_val", "one-shot validation accuracy"),
                      ("tau_loss_vs_standalone_val", "negated one-shot validation loss")):
        col = runs[key].astype(float) if key in runs else None
        if col is None or not col.notna().any():
            continue
        i = col.idxmax()
        lines.append(f"Best tau vs stand-alone val by the {what}: {col[i]:.3f} (`{runs.loc[i, 'tag']}`; "
                     f"{'meets' if col[i] >= GOAL else 'misses'} the goal of {GOAL}).")
    lines += ["Per-cell scores of every setting: `oneshot_ranking_scores.csv`; the rows above: `oneshot_ranking_runs.csv`."]
    OUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
