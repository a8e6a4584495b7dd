"""``naspredict train`` and ``naspredict profile``; :func:`add_training_args` /
:func:`evaluator_from_args` are shared with ``naspredict search --evaluator train``."""
from __future__ import annotations

import argparse
import json
import sys

from ..cli import int_at_least


def _shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(t) for t in text.lower().split("x"))
    except ValueError:
        dims = ()
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(f"expected a shape like 3x32x32 (or 1433 for graph features), got {text!r}")
    return dims


def add_network_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", "-S", default="nb201", help="search space: nb201 (default), nb101, darts, nbgraph")
    p.add_argument("--channels", "-C", type=int, default=None,
                   help="network width (default: the space's published one, e.g. 16 for nb201)")
    p.add_argument("--cells", "-N", type=int, default=None,
                   help="cells per stage (default: the space's published one, e.g. 5 for nb201)")


def add_training_args(p: argparse.ArgumentParser, *, epochs_default: int = 12) -> None:
    """The options that make a :class:`~naspredict.evaluators.training.TrainingEvaluator`."""
    p.add_argument("--data", default="fashion-mnist",
                   help="data set: fashion-mnist (default; Debian's dataset-fashion-mnist), digits, "
                        "cifar10, cifar100 (with --data-root), karate (graphs), or a .npz / folder path")
    p.add_argument("--data-root", default=None, help="folder holding the data set's files")
    p.add_argument("--epochs", "-e", type=int, default=epochs_default,
                   help=f"epochs of the full schedule (default {epochs_default}; a graph epoch is one full-batch step)")
    p.add_argument("--data-fraction", type=float, default=1.0,
                   help="share of the training split to train on (default 1)")
    p.add_argument("--resolution", type=int, default=None, help="resize images to RxR (default: native)")
    p.add_argument("--batch-size-train", dest="train_batch", type=int, default=256,
                   help="training batch size (default 256)")
    p.add_argument("--lr", type=float, default=None,
                   help="initial learning rate (default 0.1 with SGD for images, 0.01 with Adam for graphs)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present; default), cpu, cuda, cuda:1")
    p.add_argument("--amp", action="store_true", help="mixed precision (CUDA only)")
    p.add_argument("--checkpoints", default=None, metavar="DIR",
                   help="save each trial's weights here; a longer trial of the same arch continues from them")
    p.add_argument("--train-seed", type=int_at_least("--train-seed", 0), default=0, help="seed of the training runs (default 0)")


def evaluator_from_args(args, *, progress=None):
    from ..evaluators.training import TrainingEvaluator
    from .trainer import TrainConfig
    changes = {"epochs": args.epochs, "batch_size": args.train_batch, "amp": args.amp}
    if args.lr is not None:
        changes["lr"] = args.lr
    config = TrainConfig.for_space(args.space, **changes)
    evaluator = TrainingEvaluator(args.space, args.data, config=config, channels=args.channels, cells=args.cells,
                                  data_fraction=args.data_fraction, resolution=args.resolution,
                                  seed=args.train_seed, device=args.device, data_root=args.data_root,
                                  checkpoint_dir=args.checkpoints, progress=progress)
    # load the data now: a missing or malformed --data file is a usage error (exit 2) here, not
    # a failed trial (exit 1, or every trial of a search failing) later; the load is cached
    evaluator.load_data(evaluator.full.data_fraction or 1.0, evaluator.full.resolution)
    return evaluator


def register(sub) -> None:
    p = sub.add_parser("train", help="train one architecture for real and print its curves",
                       description="Train one architecture on local data with a per-epoch progress bar, "
                                   "then print its Result (curves, metrics, params, FLOPs, latency).")
    p.add_argument("arch", help="the arch's canonical string (e.g. an NB201 cell '|nor_conv_3x3~0|+|...|')")
    add_network_args(p)
    add_training_args(p)
    p.add_argument("--json", action="store_true", help="print the Result as JSON")
    p.set_defaults(func=_train)

    p = sub.add_parser("profile", help="params, FLOPs and latency of an architecture's network",
                       description="Build an architecture's network and measure params, FLOPs/MACs and "
                                   "latency at batch 1 and 64 (no training).")
    p.add_argument("arch")
    add_network_args(p)
    p.add_argument("--classes", type=int, default=10, help="output classes (default 10)")
    p.add_argument("--input", type=_shape, default=None, help="image input shape (default 3x32x32)")
    p.add_argument("--graph", default="karate",
                   help="nbgraph: the graph to profile on (karate, default, ships with PyG; cora/citeseer/"
                        "pubmed with --data-root; a saved .pt graph)")
    p.add_argument("--data-root", default=None, help="folder holding the graph's files")
    p.add_argument("--device", default="cpu", help="device to time on (default cpu)")
    p.set_defaults(func=_profile)


def _train(args) -> int:
    from tqdm.auto import tqdm

    bar = tqdm(total=args.epochs, desc="train", unit="epoch", file=sys.stderr,
               disable=args.json or args.quiet)

    def progress(epoch, row):
        bar.set_postfix(train=f"{row['train']:.1f}", val=f"{row['val']:.1f}", loss=f"{row['train_loss']:.3f}",
                        refresh=False)
        bar.update(1)

    evaluator = evaluator_from_args(args, progress=progress)
    arch = evaluator.space.from_str(args.arch)
    result = evaluator.evaluate(arch)
    bar.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=1, default=str))
        return 0 if result.ok else 1
    print(f"{evaluator.space.to_str(arch)}: {result.state.value} in {result.cost:.1f} s on {result.info.get('device')}")
    if result.error:
        print(f"  error: {result.error}")
    for k, v in sorted(result.metrics.items()):
        print(f"  {k:>16} {int(v):,}" if float(v).is_integer() else f"  {k:>16} {v:.4f}")
    if result.curves.get("val"):
        print("  epoch  train%   val%  train_loss  val_loss")
        c = result.curves
        for e in range(len(c["val"])):
            print(f"  {e + 1:5d} {c['train'][e]:7.2f} {c['val'][e]:6.2f} {c['train_loss'][e]:11.4f} {c['val_loss'][e]:9.4f}")
    return 0 if result.ok else 1


def _profile(args) -> int:
    from ..nets import build_network, profile
    from ..spaces import resolve_space
    space = resolve_space(args.space)
    arch = space.from_str(args.arch)
    if space.name == "nbgraph":  # a GNN's cost depends on the graph: profile on a real one
        from .graphs import load_graph
        graph = load_graph(args.graph, root=args.data_root)
        shape, example, classes = (graph.n_features,), graph.data, graph.n_classes
        what = f"graph {graph.name}: {graph.n_nodes} nodes, {graph.n_features} features"
    else:
        shape = args.input or (3, 32, 32)
        example, classes = shape, args.classes
        what = f"input {'x'.join(map(str, shape))}"
    model = build_network(space, arch, channels=args.channels, cells=args.cells, n_classes=classes,
                          input_shape=shape)
    prof = profile(model, example, device=args.device)
    print(f"{space.to_str(arch)} ({space.name}, {what}, {classes} classes)")
    print(f"  params {prof.params:,}")
    unit = "per graph" if space.name == "nbgraph" else "per image"
    print(f"  FLOPs  {prof.flops:,} {unit} (torch's FlopCounterMode: convolutions and matrix products, a "
          f"multiply-add counts 2)")
    print(f"  MACs   {prof.macs:,} {unit}")
    for b, ms in prof.latency_ms.items():
        print(f"  latency at batch {b}: {ms:.3f} ms on {prof.device} (median)")
    return 0
