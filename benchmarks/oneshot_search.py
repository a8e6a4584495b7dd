"""Gradient search measured: DARTS (collapse and all) beside GDAS and DrNAS on NAS-Bench-201, 3 seeds each
(and ENAS, ``--methods enas``, with the same data, supernet size and epochs).

    python benchmarks/oneshot.py search --tag TAG [--note TEXT] [--a-lr LR] [--methods darts,gdas,drnas]
                                        [--warmup-epochs 0]
                                        [--seeds 0,1,2] [--search-epochs 50]
                                        [--search-channels 8] [--search-cells 1]
                                        [--search-data-fraction 0.2] [--search-batch-size 64]

Each (method, seed) runs :func:`naspredict.oneshot.gradient_search` on Fashion-MNIST (the
training split halved: weights on one half, architecture parameters on the other) on the CPU
with one thread.  For the derived cell the table gives

* its CIFAR-10 test accuracy in NAS-Bench-201 (``nb201-cifar10``'s ``baseline_accuracy``,
  200 epochs) and its percentile among all 15,625 cells (100 = the best cell);
* its Fashion-MNIST validation and test accuracy when trained from scratch by the
  :class:`~naspredict.evaluators.training.TrainingEvaluator` at the fidelity of the committed
  curve set (``train_curves.py``: C=8, N=1, 16x16, 5 % of the data, 12 epochs), so it can be
  placed among those 100 random cells;
* the search's wall-clock seconds.

Goal (issue #11): every cell of the collapse-resistant variant (GDAS or DrNAS) in the table's top 10 %.  Writes
``results/oneshot_search.md``, ``results/oneshot_search.csv``, the op-probability histories
``results/oneshot_search_history.csv`` and, for the first seed of each method, the plot
``results/oneshot_search_<method>.png``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train_curves import CSV as CURVES, make_evaluator, small_fidelity_args  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
OUT = RESULTS / "oneshot_search.md"


def _percentile(values, v: float) -> float:
    import numpy as np
    return float(100.0 * np.mean(np.asarray(values) <= v))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--methods", default="darts,gdas,drnas")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--search-epochs", type=int, default=50)
    p.add_argument("--search-channels", type=int, default=8)
    p.add_argument("--search-cells", type=int, default=1)
    p.add_argument("--search-data-fraction", type=float, default=0.2)
    p.add_argument("--search-batch-size", type=int, default=64)
    p.add_argument("--order", type=int, default=1, help="DARTS order (1 or 2)")
    p.add_argument("--a-lr", type=float, default=None,
                   help="Adam learning rate of the architecture parameters (default: GradientConfig's 3e-4)")
    p.add_argument("--warmup-epochs", type=int, default=0,
                   help="epochs of weight training before the architecture parameters move (PC-DARTS)")
    p.add_argument("--note", default="", help="what distinguishes this setting (kept in the table)")
    p.add_argument("--tag", default="paper",
                   help="name of this setting; its rows replace earlier rows of the same tag")
    small_fidelity_args(p)  # the from-scratch training of the derived cells
    p.add_argument("--no-retrain", action="store_true", help="skip training the derived cells")
    args = p.parse_args(argv)
    import numpy as np
    import pandas as pd

    from naspredict import data
    from naspredict.oneshot import GradientConfig, gradient_search
    from naspredict.oneshot.enas import enas_search
    from naspredict.oneshot.plots import plot_op_probabilities
    from naspredict.torch_utils import set_threads

    set_threads(1)
    table = data.load("nb201-cifar10")
    all_acc = np.asarray(table.values("baseline_accuracy"), float)
    space = table.space
    evaluator = None if args.no_retrain else make_evaluator(args, profile=False)
    curve_set = pd.read_csv(CURVES) if CURVES.exists() else None
    overrides = {} if args.a_lr is None else {"a_lr": args.a_lr}
    if args.warmup_epochs:
        overrides["warmup_epochs"] = args.warmup_epochs
    a_lr = args.a_lr if args.a_lr is not None else GradientConfig().a_lr
    rows, histories = [], []
    for method in args.methods.split(","):
        for k, seed in enumerate(int(s) for s in args.seeds.split(",")):
            t0 = time.perf_counter()
            if method == "enas":  # REINFORCE on one-shot rewards (Pham et al.): no alpha history
                res = enas_search("nb201", "fashion-mnist", epochs=args.search_epochs,
                                  channels=args.search_channels, cells=args.search_cells,
                                  data_fraction=args.search_data_fraction, resolution=args.resolution,
                                  seed=seed, device="cpu", progress=True)
            else:
                res = gradient_search("nb201", "fashion-mnist", method=method,
                                      order=args.order if method == "darts" else 1,
                                      epochs=args.search_epochs, channels=args.search_channels,
                                      cells=args.search_cells, batch_size=args.search_batch_size,
                                      data_fraction=args.search_data_fraction, resolution=args.resolution,
                                      seed=seed, device="cpu", progress=True, **overrides)
            seconds = time.perf_counter() - t0
            arch = res.arch
            acc = float(table.query(arch, "baseline_accuracy"))
            row = {"setting": args.tag, "note": args.note, "search_epochs": args.search_epochs,
                   "warmup_epochs": args.warmup_epochs, "a_lr": float("nan") if method == "enas" else a_lr,
                   "method": method + (f" (order {args.order})" if method == "darts" else ""), "seed": seed,
                   "cell": space.to_str(arch), "nb201_cifar10": acc,
                   "percentile": _percentile(all_acc, acc), "search_s": seconds}
            if evaluator is not None:
                r = evaluator.evaluate(arch)
                row["fmnist_val"] = r.metrics.get("val_accuracy")
                row["fmnist_test"] = r.metrics.get("test_accuracy")
                if curve_set is not None:
                    row["fmnist_test_pct_of_curve_set"] = _percentile(curve_set["test_accuracy"], row["fmnist_test"])
            rows.append(row)
            print(row, flush=True)
            if method == "enas":
                continue
            h = res.history.copy()
            h["setting"], h["method"], h["seed"] = args.tag, method, seed
            histories.append(h)
            if k == 0:
                plot_op_probabilities(res.history, RESULTS / f"oneshot_search_{args.tag}_{method}.png")
    df = _merge(RESULTS / "oneshot_search.csv", pd.DataFrame(rows), args.tag)
    if histories:
        _merge(RESULTS / "oneshot_search_history.csv", pd.concat(histories), args.tag)
    write_table(df, args, all_acc)
    print(f"wrote {OUT}")
    return 0


def _merge(path: Path, new, tag: str):
    """Rows of earlier settings kept, this setting's replaced; written back and returned."""
    import pandas as pd
    if path.exists():
        old = pd.read_csv(path)
        if "setting" in old:
            new = pd.concat([old[old["setting"] != tag], new], ignore_index=True)
    new.to_csv(path, index=False)
    return new


def write_table(df, args, all_acc) -> None:
    import numpy as np
    top10 = float(np.percentile(all_acc, 90))
    if "warmup_epochs" in df:  # rows from before the option ran without a warm-up
        df = df.assign(warmup_epochs=df["warmup_epochs"].fillna(0).astype(int))
    lines = ["# Gradient search on NAS-Bench-201: DARTS, GDAS and DrNAS, searched on Fashion-MNIST", "",
             "`python benchmarks/oneshot.py search --tag TAG [--search-epochs E] [--a-lr LR]`, CPU, one "
             f"thread, one row per (setting, method, seed), every setting run kept.  Search: NB201 "
             f"supernet C={args.search_channels}, N={args.search_cells}, "
             f"{args.search_data_fraction:.0%} of Fashion-MNIST's training images at "
             f"{args.resolution}x{args.resolution}, halved (weights / architecture parameters), batch "
             f"{args.search_batch_size}; weights SGD lr 0.025 cosine to 0.001, architecture Adam at "
             f"`a_lr` (3e-4 is the papers' setting; `search_epochs` and `a_lr` per row).  "
             f"`nb201_cifar10` is the derived cell's CIFAR-10 test accuracy in NAS-Bench-201 "
             f"(analog-nasbench `baseline_accuracy`, best cell 94.07, the table's top 10 % starts at "
             f"{top10:.2f}); `percentile` is its rank among all 15,625 cells (100 = best).  "
             f"`fmnist_*` is the cell trained from scratch at the curve set's fidelity (C={args.channels}, "
             f"N={args.cells}, {args.epochs} epochs, {args.data_fraction:.0%} of the data at "
             f"{args.resolution}x{args.resolution}); `fmnist_test_pct_of_curve_set` places it among the "
             f"100 random cells of `training_curves_fmnist.csv`.", ""]
    cols = [c for c in ("setting", "search_epochs", "warmup_epochs", "a_lr", "method", "seed", "cell", "nb201_cifar10",
                        "percentile", "fmnist_val", "fmnist_test", "fmnist_test_pct_of_curve_set", "search_s")
            if c in df]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            cells.append(f"`{v}`" if c == "cell" else f"{v:g}" if c == "a_lr" else
                         f"{v:.2f}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if "note" in df:
        lines += ["Settings:", ""]
        for setting, g in df.groupby("setting", sort=False):
            note = next((str(n) for n in g["note"] if isinstance(n, str) and n), "")
            lines.append(f"- `{setting}`: {note or '(no note)'}")
        lines.append("")
    for (setting, method), g in df.groupby(["setting", "method"], sort=False):
        n_top = int((g["nb201_cifar10"] >= top10).sum())
        lines.append(f"- **{setting}, {method}**: {n_top} of {len(g)} derived cells in the table's top 10 %; "
                     f"mean CIFAR-10 accuracy {g['nb201_cifar10'].mean():.2f}; mean search time "
                     f"{g['search_s'].mean():.0f} s.")
    OUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
