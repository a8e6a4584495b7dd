"""``naspredict search``, ``naspredict runs`` and ``naspredict export``."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    from . import strategy_names

    from ..training.cli import add_network_args, add_training_args

    p = sub.add_parser(
        "search", help="run a search strategy on a benchmark table or by real training",
        description="Search a benchmark table (--benchmark) or train every proposal for real "
                    "(--evaluator train) with a strategy. Every evaluation is committed to "
                    "the SQLite store as it completes; --resume continues a killed run without "
                    "re-evaluating anything. Writes best_so_far.png (and pareto.png for several "
                    "objectives) to --out.")
    p.add_argument("--evaluator", "-E", choices=("table", "train"), default="table",
                   help="where results come from: a benchmark table (default) or real training "
                        "(with the training options below)")
    p.add_argument("--benchmark", "-b", help="table name (see `naspredict benchmarks`); needed for --evaluator table")
    p.add_argument("--target", "-t", default=None,
                   help="metric, or several comma-separated (M1,M2); default val_accuracy with --evaluator train")
    p.add_argument("--direction", "-d", default=None,
                   help="max or min per target, comma-separated (default max for a single target; "
                        "required, one per target, for several: -t valid_perf,latency -d max,min)")
    p.add_argument("--strategy", "-s", default="bo", help=f"one of {', '.join(strategy_names())}")
    p.add_argument("--predictor", "-p", help="predictor for bo / predictor-evolution / mobo surrogate")
    p.add_argument("--budget", "-n", type=int, default=None,
                   help="number of evaluations (default 100 unless --budget-seconds/--wall-seconds is given)")
    p.add_argument("--budget-seconds", type=float, default=None,
                   help="stop once the trials' summed cost reaches this many seconds (simulated for tables)")
    p.add_argument("--wall-seconds", type=float, default=None,
                   help="stop after this many wall-clock seconds (running trials are left for --resume)")
    p.add_argument("--batch-size", type=int, default=1, help="proposals per round (serial executor)")
    p.add_argument("--executor", default="serial", choices=("serial", "local", "ray", "simulated"),
                   help="where trials run: this process (serial, default), a local process pool, a Ray "
                        "cluster, or K virtual workers on a simulated clock (results arrive out of order)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel workers for local/ray/simulated (default 2; ray: the cluster's CPUs)")
    p.add_argument("--ray-address", default=None,
                   help="address of a running Ray cluster (default: start Ray on this machine)")
    p.add_argument("--gpus-per-trial", type=float, default=0.0,
                   help="ray: GPUs each trial reserves (e.g. 1 or 0.5 for real training on a GPU cluster)")
    p.add_argument("--pruner", choices=("lc-srm", "median"), default=None,
                   help="stop unpromising trials early from their learning curves (the benchmark "
                        "needs per-epoch curves, e.g. nb201-curves)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--store", default="runs.db", help="SQLite results store (default runs.db)")
    p.add_argument("--run", help="run name (default: strategy-seed)")
    p.add_argument("--resume", action="store_true", help="continue the named run from the store")
    p.add_argument("--out", default="out/search", help="folder for plots (default out/search)")
    p.add_argument("--no-progress", action="store_true")
    g = p.add_argument_group("real training (--evaluator train)")
    add_network_args(g)
    add_training_args(g)
    p.set_defaults(func=_search)

    p = sub.add_parser("runs", help="list the runs in a results store",
                       description="List the runs in a results store.")
    p.add_argument("--store", default="runs.db")
    p.set_defaults(func=_runs)

    p = sub.add_parser("export", help="write a run's evaluations as logged results",
                       description="Write a run as CSV / parquet / JSON lines (by suffix); the file "
                                   "loads back with naspredict.data.read_results.")
    p.add_argument("run", help="run name")
    p.add_argument("--store", default="runs.db")
    p.add_argument("--output", "-o", required=True, help="file to write (.csv, .parquet, .jsonl)")
    p.set_defaults(func=_export)


def _search(args) -> int:
    import numpy as np

    from .. import data
    from ..evaluators import as_evaluator
    from ..store import ResultsStore
    from . import make_strategy
    from .plots import plot_best_so_far, plot_pareto

    if args.evaluator == "train":
        if args.benchmark:
            raise ValueError("--benchmark is for --evaluator table; real training needs --space and --data")
        bench = None
        targets_text = args.target or "val_accuracy"
    else:
        if not args.benchmark:
            raise ValueError("--benchmark is required (a table name, see `naspredict benchmarks`), "
                             "or train for real with --evaluator train --data fashion-mnist")
        if not args.target:
            raise ValueError("--target is required with a benchmark table (a metric column, see "
                             f"`naspredict show {args.benchmark}`)")
        bench = data.load(args.benchmark)
        targets_text = args.target
    targets = [t.strip() for t in targets_text.split(",") if t.strip()]
    dirs = _directions(args.direction, targets)
    params = {}
    if args.predictor:
        params["predictor"] = args.predictor
    budget = _budget(args)
    evaluator, pruner = _evaluator_and_pruner(bench, targets, dirs, args)
    space = evaluator.space if bench is None else bench.search_space()
    source = args.benchmark or f"train-{args.space}-{args.data}"
    strategy = make_strategy(args.strategy, space, targets, dirs if len(dirs) > 1 else dirs[0],
                             args.seed, **params)
    executor = _executor(args)
    store = ResultsStore(args.store)
    run_name = args.run or f"{args.strategy}-{source}-{args.seed}"
    config = {"benchmark": args.benchmark or "", "predictor": args.predictor or "", "pruner": args.pruner or ""}
    if bench is None:
        config["evaluator"] = repr(evaluator)
    try:
        trace = strategy.run(evaluator, budget, batch_size=args.batch_size if executor is None else 1,
                             executor=executor, store=store, run_name=run_name, resume=args.resume,
                             pruner=pruner, config=config, progress=not args.no_progress)
    finally:
        if executor is not None:
            executor.shutdown()
    out = Path(args.out)
    files = []
    if len(targets) == 1:
        best = strategy.best()
        print(f"{run_name}: best {targets[0]} = {best[1]:.4f} after {len(trace.frame)} evaluations")
        print(f"  arch {space.to_str(best[0])}")
        opt = bench.top(targets[0], 1)[targets[0]].iloc[0] if bench is not None else None
        files.append(plot_best_so_far({args.strategy: [trace]}, out / "best_so_far.png", optimum=opt,
                                      title=f"{source}: {targets[0]}"))
    elif bench is None:
        from .pareto import pareto_front
        found = trace.frame[targets].to_numpy(float)
        found = found[np.isfinite(found).all(1)]
        signs = np.array([1.0 if d == "max" else -1.0 for d in strategy.directions])
        print(f"{run_name}: {int(pareto_front(found * signs).sum())} Pareto archs of {len(found)} trained")
        files.append(plot_pareto(found, out / "pareto.png", targets, strategy.directions, None,
                                 title=f"{source}: {args.strategy}, {len(found)} evaluations"))
    else:
        from .pareto import hypervolume, pareto_front
        found = trace.frame[targets].to_numpy(float)
        found = found[np.isfinite(found).all(1)]
        table = np.column_stack([bench.values(t) for t in targets])
        signs = np.array([1.0 if d == "max" else -1.0 for d in strategy.directions])
        ref = np.median(table, axis=0) * signs
        hv = hypervolume(found * signs, ref)
        hv_true = hypervolume((table * signs)[pareto_front(table * signs)], ref)
        print(f"{run_name}: {int(pareto_front(found * signs).sum())} Pareto archs, hypervolume "
              f"{hv / hv_true:.3f} of the table's (reference point: the table's medians)")
        files.append(plot_pareto(found, out / "pareto.png", targets, strategy.directions, table,
                                 title=f"{bench.name}: {args.strategy}, {len(found)} evaluations"))
    print(f"store: {args.store} (run {run_name!r}); plots: {', '.join(str(f) for f in files)}")
    return 0


def _directions(text: str | None, targets: list[str]) -> list[str]:
    """One direction per target.  Several targets need them spelled out: a default (or one
    direction broadcast to all) would silently maximise a latency."""
    if not targets:
        raise ValueError("--target names no metric; give one or several comma-separated (M1,M2)")
    if len(set(targets)) != len(targets):
        raise ValueError(f"--target names a metric twice: {','.join(targets)}")
    if text is None:
        if len(targets) > 1:
            raise ValueError(f"{len(targets)} targets need a direction each: -d " + ",".join(
                ["max"] * len(targets)) + " (use min for latency, size, error...)")
        return ["max"]
    dirs = [d.strip() for d in text.split(",") if d.strip()]
    bad = [d for d in dirs if d not in ("max", "min")]
    if bad:
        raise ValueError(f"--direction takes max or min per target, got {','.join(bad)}")
    if len(dirs) != len(targets):
        raise ValueError(f"--direction gives {len(dirs)} direction(s) for {len(targets)} target(s) "
                         f"({','.join(targets)}); give one per target, comma-separated")
    return dirs


def _budget(args):
    from .loop import Budget
    if args.budget is not None and args.budget < 1:
        raise ValueError(f"--budget must be at least 1, got {args.budget}")
    if args.budget_seconds is None and args.wall_seconds is None:
        return args.budget if args.budget is not None else 100
    return Budget(evaluations=args.budget, cost_seconds=args.budget_seconds, wall_seconds=args.wall_seconds)


def _executor(args):
    """The executor the flags ask for (``None``: in this process, with ``--batch-size``)."""
    from ..executors import make_executor
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    if args.executor == "serial":
        if args.workers not in (None, 1):
            raise ValueError("--workers needs --executor local, ray or simulated")
        if args.ray_address:
            raise ValueError("--ray-address needs --executor ray")
        return None
    if args.batch_size != 1:
        raise ValueError("--batch-size applies to the serial executor; with --executor, --workers sets "
                         "how many trials run at once")
    if args.executor == "ray":
        res = {"CPU": 1, "GPU": args.gpus_per_trial} if args.gpus_per_trial else None
        return make_executor("ray", args.workers, address=args.ray_address, resources_per_trial=res)
    if args.gpus_per_trial:
        raise ValueError("--gpus-per-trial needs --executor ray (other executors use the local device)")
    if args.ray_address:
        raise ValueError("--ray-address needs --executor ray")
    return make_executor(args.executor, args.workers or 2)


def _evaluator_and_pruner(bench, targets, dirs, args):
    from ..evaluators import as_evaluator
    if bench is None:  # real training: curves "train", "val" (accuracy %), "train_loss", "val_loss"
        from ..training.cli import evaluator_from_args
        evaluator = evaluator_from_args(args)
        if args.pruner is None:
            return evaluator, None
        from .pruners import make_pruner
        kw = {}
        if args.pruner == "lc-srm":  # checkpoints at 1/6, 1/3 and 1/2 of the schedule
            kw = {"ks": pruner_checkpoints(args.epochs), "space": evaluator.space.name}
        return evaluator, make_pruner(args.pruner, curve="val", direction=dirs[0] if dirs else "max", **kw)
    if args.pruner is None:
        return as_evaluator(bench, targets), None
    from .pruners import make_pruner
    if not bench.curves:
        raise ValueError(f"--pruner needs per-epoch curves, and {bench.name} has none; use a table "
                         f"with curves (e.g. nb201-curves) or drop --pruner")
    curve = "val" if "val" in bench.curves else next(iter(bench.curves))
    direction = dirs[0] if dirs else "max"
    return as_evaluator(bench, targets, curve=curve), make_pruner(args.pruner, curve=curve, direction=direction)


def pruner_checkpoints(epochs: int) -> tuple[int, ...]:
    """Where the learning-curve pruner checks a run of ``epochs`` epochs: about 1/6, 1/3 and
    1/2 of the way (the 10/25/50 of 200 epochs that Baker et al.'s rule uses, scaled)."""
    return tuple(sorted({max(1, round(epochs * f)) for f in (1 / 6, 1 / 3, 1 / 2)} - {epochs})) or (1,)


def _runs(args) -> int:
    from ..store import ResultsStore
    if not Path(args.store).exists():
        raise ValueError(f"no results store at {args.store}")
    with ResultsStore(args.store) as store:
        df = store.runs()
    print(df.to_string(index=False) if len(df) else "no runs")
    return 0


def _export(args) -> int:
    from ..store import ResultsStore
    if not Path(args.store).exists():
        raise ValueError(f"no results store at {args.store}")
    with ResultsStore(args.store) as store:
        path = store.export(args.run, args.output)
    print(f"wrote {path}")
    return 0
