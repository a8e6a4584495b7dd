"""Zero-cost proxies from real networks, measured on NB201; proxies as predictor features.

    python benchmarks/oneshot_proxies.py time --n 20 [--channels 16 --cells 5]
    python benchmarks/oneshot_proxies.py scores --n 1000 --seed 0 [--channels C --cells N]
    python benchmarks/oneshot_proxies.py features [--seeds 10 --train 50,100]

(a) ``scores``: for ``--n`` random NB201 cells (``space.sample_unique`` with
``numpy.random.default_rng(seed)``) every proxy of :mod:`naspredict.nets.proxies` on its freshly
initialised network, on one seeded batch of 64 Fashion-MNIST training images at their own
1 x 28 x 28 resolution (no resize to 32: the network is built for one input channel), and the
Spearman correlation of each with NB201's CIFAR-10 test accuracy (``nb201-cifar10``'s
``baseline_accuracy``, 200 epochs) plus the median seconds per arch and proxy (one thread).
Writes ``results/oneshot_proxies.csv`` (raw scores, accuracy, seconds; resumable: rows already
there are kept) and the first table of ``results/oneshot_proxies.md``.

(b) ``features``: a random forest and XGBoost (``naspredict.predictors``) on the GRAF-style
graph features alone vs the features plus the live proxies of (a) (read from the CSV through
``ProxyEncoding(cache_file=...)``, log-transformed), trained on 50 and 100 of the cells and
tested on the rest (Kendall tau), 10 split seeds.  Adds the second table to the md.

``time`` measures seconds per arch on a few cells to choose a network size that fits.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
CSV = RESULTS / "oneshot_proxies.csv"
MD = RESULTS / "oneshot_proxies.md"
TIMING = RESULTS / "oneshot_proxies.timing.md"  # lines appended by the time command
NAMES = ("synflow", "jacov", "snip", "grad_norm", "nwot", "params", "flops")
#: Abdelfattah et al., ICLR 2021, Table (NB201 CIFAR-10, all cells, CIFAR-10 batch)
PAPER = {"synflow": 0.74, "jacov": 0.73}
_B_START = "<!-- part b -->"


def _one_thread() -> None:
    import torch
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)


def _archs(n: int, seed: int):
    import numpy as np

    from naspredict.spaces import resolve_space
    sp = resolve_space("nb201")
    return sp, sp.sample_unique(n, np.random.default_rng(seed))


def _score_rows(sp, archs, args, done: set[str]):
    """Yield (arch, arch string, {proxy: score}, {proxy: seconds}) for archs not in ``done``."""
    from naspredict.nets.proxies import proxy_scores
    for a in archs:
        s = sp.to_str(a)
        if s in done:
            continue
        timings: dict[str, list[float]] = {}
        df = proxy_scores(sp, [a], NAMES, seed=args.seed, batch_size=args.batch_size,
                          channels=args.channels, cells=args.cells, timings=timings)
        yield a, s, df.iloc[0].to_dict(), {k: v[0] for k, v in timings.items()}


def cmd_time(args) -> int:
    import numpy as np
    sp, archs = _archs(args.n, args.seed + 1)  # other cells than the scored ones
    per_arch, parts = [], {}
    for _, s, _, secs in _score_rows(sp, archs, args, set()):
        per_arch.append(sum(secs.values()))
        for k, v in secs.items():
            parts.setdefault(k, []).append(v)
    med = float(np.median(per_arch))
    line = (f"- C={args.channels} N={args.cells}: median {med:.2f} s/arch over {len(per_arch)} cells "
            f"(mean {np.mean(per_arch):.2f}); 1,000 cells ~ {1000 * np.mean(per_arch) / 60:.0f} min; "
            "median s per part: " + ", ".join(f"{k} {np.median(v):.3f}" for k, v in parts.items()))
    print(line)
    with open(TIMING, "a") as f:
        f.write(line + "\n")
    return 0


def cmd_scores(args) -> int:
    import numpy as np
    import pandas as pd
    from scipy import stats

    from naspredict import data
    sp, archs = _archs(args.n, args.seed)
    table = data.load("nb201-cifar10")
    csv = Path(args.csv)
    rows = []
    if csv.exists() and not args.fresh:
        old = pd.read_csv(csv)
        if (old["channels"] == args.channels).all() and (old["cells"] == args.cells).all():
            rows = old.to_dict("records")
    done = {r["arch"] for r in rows}
    t0 = time.perf_counter()
    for i, (a, s, scores, secs) in enumerate(_score_rows(sp, archs, args, done)):
        rows.append({"arch": s, **scores, "baseline_accuracy": table.query(a, "baseline_accuracy"),
                     **{f"sec_{k}": v for k, v in secs.items()},
                     "channels": args.channels, "cells": args.cells, "seed": args.seed})
        if (i + 1) % 50 == 0:
            pd.DataFrame(rows).to_csv(csv, index=False)
            print(f"{len(rows)}/{len(archs)} cells, {time.perf_counter() - t0:.0f} s", flush=True)
    keep = {sp.to_str(a) for a in archs}
    df = pd.DataFrame(rows)
    df = df[df["arch"].isin(keep)]
    df.to_csv(csv, index=False)
    acc = df["baseline_accuracy"].to_numpy(float)
    lines = ["# Zero-cost proxies from real networks on NB201", "",
             "Commands (one thread, `torch.set_num_threads(1)`):", "",
             "    python benchmarks/oneshot_proxies.py time --n 20 --channels 16 --cells 5",
             f"    python benchmarks/oneshot_proxies.py scores --n {args.n} --seed {args.seed} "
             f"--channels {args.channels} --cells {args.cells}",
             "    python benchmarks/oneshot_proxies.py features --seeds 10 --train 50,100", "",
             "## (a) Spearman of each proxy with NB201 CIFAR-10 test accuracy", "",
             f"{len(df)} random NB201 cells (seed {args.seed}); each network freshly initialised at "
             f"C={args.channels}, N={args.cells} cells per stage, 1 input channel, 10 classes; one "
             f"batch of {args.batch_size} Fashion-MNIST training images at their own 28x28 "
             "(seeded); reference: `nb201-cifar10` `baseline_accuracy` (200-epoch CIFAR-10 test "
             "accuracy). Seconds: median per arch on one CPU thread of a shared 2-core machine, "
             "the proxy alone (network copy included, build not).", "",
             "Spearman over the cells with a finite score; the next column ranks the non-finite "
             "ones (cells whose output no input reaches: constant input gradients or ReLU codes) "
             "below every finite score.", "",
             "| proxy | Spearman | Spearman, non-finite lowest | non-finite | median s/arch | "
             "zero-cost paper (CIFAR-10 data, all 15,625) |",
             "|---|---:|---:|---:|---:|---:|"]
    for n in NAMES:
        v = df[n].to_numpy(float)
        ok = np.isfinite(v)
        rho = stats.spearmanr(v[ok], acc[ok]).statistic
        low = stats.spearmanr(np.where(ok, v, -np.inf), acc).statistic
        paper = f"{PAPER[n]:.2f}" if n in PAPER else ""
        lines.append(f"| {n} | {rho:.3f} | {low:.3f} | {int((~ok).sum())} | "
                     f"{df[f'sec_{n}'].median():.3f} | {paper} |")
    lines.append(f"| (network build) | | | | {df['sec_build'].median():.3f} | |")
    total = df[[f"sec_{n}" for n in NAMES] + ["sec_build"]].sum(axis=1)
    lines += ["", f"All seven proxies and the build: median {total.median():.2f} s per arch, "
              f"{total.sum() / 60:.1f} min in all.", ""]
    note = (f"Note: the zero-cost paper's numbers (synflow {PAPER['synflow']}, jacov {PAPER['jacov']}) "
            f"use a CIFAR-10 batch on the published C=16, N=5 network over all 15,625 cells; ours use "
            f"Fashion-MNIST at C={args.channels}, N={args.cells} on {len(df)} cells: synflow "
            + _rho(df, "synflow", acc) + ", jacov " + _rho(df, "jacov", acc) + ".")
    lines += [note, ""]
    if TIMING.exists():
        lines += ["Choosing the size: seconds per arch for all seven proxies (`time`, other cells "
                  "than the scored ones, one thread, machine shared with other jobs):", "",
                  TIMING.read_text().strip(), "",
                  "C=16, N=5 would have taken over an hour for 1,000 cells, beyond the ~25 minutes "
                  "this benchmark is given, so part (a) uses the size named above.", ""]
    old_b = ""
    if MD.exists() and _B_START in MD.read_text():
        old_b = MD.read_text().split(_B_START, 1)[1]
    MD.write_text("\n".join(lines) + "\n" + (_B_START + old_b if old_b else ""))
    print("\n".join(lines))
    return 0


def _rho(df, name, acc) -> str:
    import numpy as np
    from scipy import stats
    v = df[name].to_numpy(float)
    ok = np.isfinite(v)
    return f"{stats.spearmanr(v[ok], acc[ok]).statistic:.3f}"


def cmd_features(args) -> int:
    import numpy as np
    import pandas as pd
    from scipy import stats

    from naspredict.encodings import ConcatEncoding, ProxyEncoding
    from naspredict.predictors import make
    from naspredict.spaces import resolve_space
    df = pd.read_csv(args.csv)
    sp = resolve_space("nb201")
    archs = [sp.from_str(s) for s in df["arch"]]
    y = df["baseline_accuracy"].to_numpy(float)
    C, N = int(df["channels"].iloc[0]), int(df["cells"].iloc[0])
    cache = Path(args.csv).with_suffix(".cache.csv")
    df.set_index("arch")[list(NAMES)].to_csv(cache)  # the encoding's cache format
    proxies = ProxyEncoding(sp, names=NAMES, channels=C, cells=N, seed=int(df["seed"].iloc[0]),
                            cache_file=str(cache))
    encodings = {"features": "features", "proxies": proxies,
                 "features + proxies": ConcatEncoding(sp, parts=("features", proxies))}
    models = {"rf": dict(n_estimators=300, n_jobs=1), "xgb": dict(n_jobs=1)}
    train_sizes = [int(t) for t in args.train.split(",")]
    taus: dict[tuple, list[float]] = {}
    for seed in range(args.seeds):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(archs))
        for n_train in train_sizes:
            tr, te = order[:n_train], order[n_train:]
            for mname, params in models.items():
                for ename, enc in encodings.items():
                    p = dict(params, encoding=enc)
                    model = make(mname, space=sp, random_state=seed, **p)
                    model.fit([archs[i] for i in tr], y[tr])
                    pred = model.predict([archs[i] for i in te])
                    taus.setdefault((mname, n_train, ename), []).append(
                        stats.kendalltau(pred, y[te]).statistic)
    cache.unlink()
    lines = [_B_START, "", "## (b) Proxies as features: Kendall tau on the held-out cells", "",
             f"{len(archs)} cells of (a) (C={C}, N={N}); train on n, test on the other "
             f"{len(archs)} - n; {args.seeds} split seeds (mean +- std; wins = seeds where "
             "features + proxies beat features alone). Encodings: GRAF-style graph features "
             "(`features`), the seven live proxies alone (`ProxyEncoding`, signed log) and both "
             "joined. "
             "rf: 300 trees, max_features 0.5; xgb: the repo's defaults.", "",
             "| model | n train | features | proxies alone | features + proxies | wins |",
             "|---|---:|---:|---:|---:|---:|"]
    for mname in models:
        for n_train in train_sizes:
            a = np.array(taus[(mname, n_train, "features")])
            b = np.array(taus[(mname, n_train, "features + proxies")])
            c = np.array(taus[(mname, n_train, "proxies")])
            lines.append(f"| {mname} | {n_train} | {a.mean():.3f} +- {a.std():.3f} | "
                         f"{c.mean():.3f} +- {c.std():.3f} | "
                         f"{b.mean():.3f} +- {b.std():.3f} | {int((b > a).sum())}/{len(a)} |")
    text = MD.read_text().split(_B_START, 1)[0] if MD.exists() else ""
    MD.write_text(text + "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("part", choices=("time", "scores", "features"))
    p.add_argument("--n", type=int, default=None, help="cells (time: 20, scores: 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--csv", default=str(CSV))
    p.add_argument("--fresh", action="store_true", help="ignore rows already in the CSV")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--train", default="50,100")
    args = p.parse_args(argv)
    if args.n is None:
        args.n = 20 if args.part == "time" else 1000
    _one_thread()
    return {"time": cmd_time, "scores": cmd_scores, "features": cmd_features}[args.part](args)


if __name__ == "__main__":
    raise SystemExit(main())
