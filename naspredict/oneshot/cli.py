"""``naspredict darts``: a differentiable search (DARTS, GDAS or DrNAS) on a supernet, stored as a run."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..cli import int_at_least

#: the search CLI's default store (naspredict search --store)
DEFAULT_STORE = "runs.db"


def register(sub) -> None:
    """Add ``naspredict darts`` to the subcommand parsers ``sub``."""
    p = sub.add_parser(
        "darts", help="differentiable search (DARTS / GDAS / DrNAS) on a weight-sharing supernet",
        description="Search a cell space with DARTS (first or second order), GDAS or DrNAS on a "
                    "weight-sharing supernet trained on local data; prints the derived arch and "
                    "the final op probabilities, stores the search as a run (one trial: the "
                    "derived arch, the supernet's final validation accuracy, the search seconds "
                    "as cost, the per-epoch history) and plots op probability per edge.")
    p.add_argument("--space", "-S", default="nb201", choices=("nb201", "darts"),
                   help="cell space (default nb201)")
    p.add_argument("--method", "-m", default="darts", choices=("darts", "gdas", "drnas"),
                   help="darts (Liu et al. 2019), gdas (Dong & Yang 2019) or drnas (Chen et al. 2021); default darts")
    p.add_argument("--order", type=int, default=1, choices=(1, 2),
                   help="darts: 1 first order (default), 2 the unrolled second order")
    p.add_argument("--data", default="fashion-mnist",
                   help="data set: fashion-mnist (default), digits, cifar10 (with --data-root), a .npz/folder")
    p.add_argument("--data-root", default=None, help="folder holding the data set's files")
    p.add_argument("--epochs", "-e", type=int, default=50, help="search epochs (default 50)")
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=0, help="seed of everything random (default 0)")
    p.add_argument("--channels", "-C", type=int, default=None, help="supernet channels (default 16)")
    p.add_argument("--cells", "-N", type=int, default=None,
                   help="nb201: cells per stage (default 5); darts: cells in total (default 8, >= 3)")
    p.add_argument("--batch-size", type=int, default=64, help="batch of each training half (default 64)")
    p.add_argument("--data-fraction", type=float, default=None,
                   help="share of the training split to use (default all)")
    p.add_argument("--resolution", type=int, default=None, help="resize images to RxR (default native)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present; default), cpu, cuda, cuda:1")
    p.add_argument("--store", default=DEFAULT_STORE, help=f"SQLite results store (default {DEFAULT_STORE})")
    p.add_argument("--name", default=None, help="run name (default METHOD[-o2]-SPACE-sSEED)")
    p.add_argument("--plot", default=None, metavar="PATH",
                   help="op-probability plot (default beside the store: NAME-op-probabilities.png)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="show a progress bar on stderr (default on)")
    p.set_defaults(func=_darts)


def default_run_name(method: str, space: str, seed: int, order: int = 1) -> str:
    """``METHOD[-o2]-SPACE-sSEED``, e.g. ``darts-o2-nb201-s0``."""
    return f"{method}{'-o2' if order == 2 else ''}-{space}-s{seed}"


def _darts(args) -> int:
    from ..store import ResultsStore
    from ..trials import Result
    from .gradient import gradient_search
    from .plots import plot_op_probabilities

    if args.method != "darts" and args.order == 2:
        raise ValueError(f"--order 2 is DARTS's unrolled approximation; {args.method} has none: drop "
                         f"--order or use --method darts")
    name = args.name or default_run_name(args.method, args.space, args.seed, args.order)
    store_path = Path(args.store)
    plot = Path(args.plot) if args.plot else store_path.parent / f"{name}-op-probabilities.png"
    with ResultsStore(store_path) as store:
        if store.get_run(name) is not None:  # fail before the search, not after it
            raise ValueError(f"a run named {name!r} already exists in {store_path}; pass another "
                             f"--name or --store")
        res = gradient_search(args.space, args.data, method=args.method, order=args.order,
                              epochs=args.epochs, channels=args.channels, cells=args.cells,
                              batch_size=args.batch_size, data_fraction=args.data_fraction,
                              resolution=args.resolution, seed=args.seed, device=args.device,
                              data_root=args.data_root, progress=args.progress)
        config = {"strategy": args.method if args.order == 1 else f"{args.method}-o2",
                  "evaluator": "supernet", "method": args.method, "order": args.order,
                  "data": args.data, "data_fraction": args.data_fraction,
                  "resolution": args.resolution, "seed": args.seed, "device": res.device,
                  "supernet": res.supernet_kwargs, "search": res.config.to_dict(),
                  "metric_directions": METRIC_HIGHER_IS_BETTER}
        run_id = store.create_run(name, args.space, config)
        store.add(run_id, res.arch_str, _result(res, Result))
    plot_op_probabilities(res.history, plot)

    last = res.curves.iloc[-1]
    print(f"{res.method}{' (second order)' if res.order == 2 else ''} on {args.space}, "
          f"{len(res.curves)} epochs, {res.seconds:.1f} s on {res.device}")
    print(f"derived arch: {res.arch_str}")
    print(f"supernet val accuracy {last['val_acc']:.2f} %, derived arch in the supernet "
          f"{last['derived_val_acc']:.2f} %")
    print("final op probabilities (softmax(alpha); drnas: the Dirichlet mean):")
    import pandas as pd
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(res.final_probabilities().round(3).to_string())
    print(f"store: {store_path} (run {name!r}); plot: {plot}")
    return 0


#: higher is better, per metric of a stored gradient search (exports carry them with the data)
METRIC_HIGHER_IS_BETTER = {"val_accuracy": True, "derived_val_accuracy": True,
                           "train_accuracy": True, "train_loss": False}


def _result(res, Result):
    """The stored trial of a search: metrics, per-epoch curves, the op-probability history."""
    c = res.curves
    last = c.iloc[-1]
    metrics = {"val_accuracy": float(last["val_acc"]), "derived_val_accuracy": float(last["derived_val_acc"]),
               "train_accuracy": float(last["train_acc"]), "train_loss": float(last["train_loss"])}
    curves = {"train": c["train_acc"].tolist(), "val": c["val_acc"].tolist(),
              "train_loss": c["train_loss"].tolist(), "arch_loss": c["arch_loss"].tolist(),
              "derived_val": c["derived_val_acc"].tolist()}
    net = res.supernet
    probs = {}
    for kind in net.kinds:
        h = res.history[res.history["kind"] == kind].sort_values(["epoch", "edge_index", "op"])
        probs[kind] = [
            [[float(v) for v in g_edge.set_index("op").loc[list(net.op_names), "prob"]]
             for _, g_edge in g_epoch.groupby("edge_index", sort=True)]
            for _, g_epoch in h.groupby("epoch", sort=True)]
    info = {"method": res.method, "order": res.order, "seed": res.seed, "device": res.device,
            "data": res.data, "search_seconds": res.seconds, "epoch_archs": c["arch"].tolist(),
            "op_names": list(net.op_names),
            "edges": {k: [f"{i}->{j}" for i, j in v] for k, v in net.edges.items()},
            "op_probabilities": probs,
            "op_probabilities_doc": "per kind: [epoch 0 (init), 1, ...][edge][op] softmax(alpha) (drnas: Dirichlet mean)"}
    return Result(metrics, curves, cost=res.seconds, info=info)
