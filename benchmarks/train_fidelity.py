"""Low fidelity, measured: how well cheap Fashion-MNIST training ranks NB201 cells for CIFAR-10.

    python benchmarks/training.py fidelity [--csv benchmarks/results/training_curves_fmnist.csv]

For the cells of the real curve data set (train_curves.py: NB201 C=8, N=1, 12-epoch cosine,
a Fashion-MNIST subset at 16x16), the Kendall tau (and Spearman) between

* their Fashion-MNIST validation accuracy after 1, 3 and 12 epochs (epoch ``k`` of the
  12-epoch schedule, read off the stored curve: the learning rate has not reached 0 at 1 and 3),
  and their Fashion-MNIST test accuracy after 12 epochs,
* and their CIFAR-10 test accuracy in NAS-Bench-201's 200-epoch table (``nb201-cifar10``,
  analog-nasbench's ``baseline_accuracy``) and, when ``../shared/data`` is there, the
  12-epoch CIFAR-10 validation accuracy of NAS-Bench-201's short schedule.

Also the tau between the 1/3-epoch and the 12-epoch Fashion-MNIST values (how early the
ranking settles).  Writes results/training_fidelity.md and the data set's validation curves,
results/training_curves.png.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train_curves import CSV  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "training_fidelity.md"
PLOT = ROOT / "benchmarks" / "results" / "training_curves.png"
SHORT = ROOT.parent / "shared" / "data" / "nb201_12epoch" / "nb201_12epoch_accs.csv"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--csv", default=str(CSV))
    args = p.parse_args(argv)
    import numpy as np
    import pandas as pd
    from scipy import stats

    from naspredict import data

    logged = data.read_results(args.csv, "nb201", curve_column="curves")
    table = data.load("nb201-cifar10")
    space = logged.space
    val = logged.curves["val"]
    views = {f"Fashion-MNIST val, epoch {k}": val[:, k - 1] for k in (1, 3, 12) if k <= val.shape[1]}
    views["Fashion-MNIST test, epoch 12"] = logged.values("test_accuracy")
    refs = {"NB201 CIFAR-10 test, 200 epochs": np.array([table.query(a, "baseline_accuracy") for a in logged.archs])}
    if SHORT.exists():
        short = pd.read_csv(SHORT)
        col = next(c for c in short.columns if "cifar10" in c.lower() and "val" in c.lower() and "100" not in c)
        by = {space.canonical(space.from_str(s)): v for s, v in zip(short["cellstr"], short[col])}
        refs[f"NB201 CIFAR-10 val, 12-epoch schedule ({col})"] = np.array([by.get(space.canonical(a), np.nan)
                                                                        for a in logged.archs])
    lines = ["# Low fidelity: Fashion-MNIST training vs NB201's CIFAR-10 accuracies", "",
             f"`python benchmarks/training.py fidelity` on {len(logged)} cells of `{Path(args.csv).name}` "
             "(NB201 C=8, N=1, Fashion-MNIST subset at 16x16, 12-epoch cosine; epoch-k values are read off "
             "the 12-epoch run).", "",
             "| Fashion-MNIST value | reference | Kendall tau | Spearman |", "|---|---|---:|---:|"]
    for vname, v in views.items():
        for rname, r in refs.items():
            ok = np.isfinite(v) & np.isfinite(r)
            lines.append(f"| {vname} | {rname} | {stats.kendalltau(v[ok], r[ok]).statistic:.3f} | "
                         f"{stats.spearmanr(v[ok], r[ok]).statistic:.3f} |")
    final = views.get("Fashion-MNIST val, epoch 12")
    if final is not None:
        for k in (1, 3):
            key = f"Fashion-MNIST val, epoch {k}"
            if key in views:
                lines.append(f"| {key} | Fashion-MNIST val, epoch 12 | "
                             f"{stats.kendalltau(views[key], final).statistic:.3f} | "
                             f"{stats.spearmanr(views[key], final).statistic:.3f} |")
    acc = logged.values("val_accuracy")
    lines += ["", f"Fashion-MNIST 12-epoch validation accuracy over the cells: min {acc.min():.2f}, median "
              f"{np.median(acc):.2f}, max {acc.max():.2f} %."]
    from naspredict.search.plots import plot_learning_curves
    plot_learning_curves(list(val), PLOT, highlight=5, labels=[space.to_str(a) for a in logged.archs],
                         title=f"{len(logged)} NB201 cells (C=8, N=1) trained on Fashion-MNIST, 12 epochs "
                               "(best 5 in colour)")
    lines += ["", f"Curves: `{PLOT.relative_to(ROOT)}`."]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
