"""``naspredict search``, ``naspredict runs`` and ``naspredict export``."""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shlex
import signal
import sys
import warnings
from pathlib import Path

from ..cli import int_at_least
from .._options import check_options, class_params, parse_option, show


#: settings that define a search's results: stored with every run (config["cli"]) and
#: compared on ``--resume``, where a difference is refused (see :func:`resume_settings`)
COMMON_KEYS = ("evaluator", "benchmark", "log", "targets", "directions", "strategy", "predictor", "seed",
               "batch_size", "executor", "workers", "pruner", "options", "warm_start", "warm_start_size")
#: ... and, for a search of a ``--log``, its space and its content's fingerprint (``log_data``:
#: rows and a sha1 of its archs and values, so that an edited log is not resumed)
LOG_KEYS = ("space", "log_data")
#: ... and, with ``--evaluator train``, the network and training settings
TRAINING_KEYS = ("space", "channels", "cells", "data", "epochs", "data_fraction", "resolution",
                 "train_batch", "lr", "amp", "checkpoints", "train_seed")
#: stored and reused on ``--resume`` when left out, never compared: they change where a search
#: runs or writes, not what it finds
KEPT_KEYS = ("device", "data_root", "out")
#: the budget: on ``--resume`` any of them replaces the stored budget, none keeps it
BUDGET_KEYS = ("budget", "budget_seconds", "wall_seconds")

#: argparse defaults of the settings above (the parser's own defaults are None, so that a
#: resume can tell a setting left out from one given), and their flags for messages
_DEFAULTS: dict = {}
_FLAGS = {"targets": "--target", "directions": "--direction"}
#: constructor parameters that other flags set (``--option`` refuses them, naming the flag)
_SET_BY_FLAGS = {"space": "--benchmark / --space", "target": "--target", "direction": "--direction",
                 "seed": "--seed", "predictor": "--predictor", "surrogate": "--predictor"}


def result_keys(evaluator: str, log: bool = False) -> tuple[str, ...]:
    """The settings that define the results of a search with ``evaluator`` ("table" or
    "train"): :data:`COMMON_KEYS`, plus :data:`TRAINING_KEYS` for real training or
    :data:`LOG_KEYS` for a search of a logged-results file (``log=True``)."""
    return COMMON_KEYS + (TRAINING_KEYS if evaluator == "train" else LOG_KEYS if log else ())


def resume_settings(stored: dict, given: dict, run: str = "the run") -> tuple[dict, list[str]]:
    """The settings a resumed search runs with, checked against the ones it was stored with.

    Parameters
    ----------
    stored : dict
        The run's stored settings (keys of :func:`result_keys` and :data:`KEPT_KEYS`); a key
        absent was not stored (a run written by an older version).
    given : dict
        The settings given on this command line, only those given explicitly (targets and
        directions as lists).
    run : str
        The run's name, for messages.

    Returns
    -------
    settings : dict
        The stored settings, with given ones for the keys not stored and for
        :data:`KEPT_KEYS` (a setting left out means "as stored").
    unchecked : list of str
        Flags of result settings that could not be checked (absent from ``stored``).

    Raises
    ------
    ValueError
        When a given result setting differs from the stored one, naming each such flag with
        its stored and given value and the fix.  Settings that do not apply to the run's
        evaluator (training options of a table search) are ignored.
    """
    evaluator = stored.get("evaluator", given.get("evaluator", "table"))
    # a run stored before --option / --log / --warm-start existed was given none
    stored = {"options": {}, "log": None, "warm_start": None, "warm_start_size": None, **stored}
    settings = dict(stored)
    diffs, unchecked = [], []
    for key in result_keys(evaluator, bool(stored.get("log"))):
        if key not in stored:
            unchecked.append(_flag(key))
            if key in given:
                settings[key] = given[key]
        elif key in given and _plain(given[key]) != _plain(stored[key]):
            diffs.append(f"{_flag(key)} stored {show(stored[key])}, given {show(given[key])}")
    for key in KEPT_KEYS:
        if key in given:
            settings[key] = given[key]
    if diffs:
        raise ValueError(f"cannot resume run {run!r} with other settings than it was made with: "
                         f"{'; '.join(diffs)}; drop the argument (a resume reuses the stored settings) "
                         f"or start a new run with --run NEW")
    return settings, unchecked


def _plain(v):
    """A value as its JSON round trip stores it (tuples become lists)."""
    return json.loads(json.dumps(v))


def _flag(key: str) -> str:
    if not _DEFAULTS:  # the flags are read from the parser, which registers them
        from ..cli import build_parser
        build_parser()
    return _FLAGS.get(key, "--" + key.replace("_", "-"))


def register(sub) -> None:
    from . import strategy_names

    from ..training.cli import add_network_args, add_training_args

    p = sub.add_parser(
        "search", help="run a search strategy on a benchmark table or by real training",
        description="Search a benchmark table (--benchmark) or train every proposal for real "
                    "(--evaluator train) with a strategy. Every evaluation is committed to "
                    "the SQLite store as it completes; --resume continues a killed or interrupted "
                    "run without re-evaluating anything: options left out take the run's stored "
                    "values, a different one is refused, only the budget may change. Writes "
                    "RUN_best_so_far.png (and RUN_pareto.png for several objectives) to --out.")
    p.add_argument("--evaluator", "-E", choices=("table", "train"), default="table",
                   help="where results come from: a benchmark table (default) or real training "
                        "(with the training options below)")
    p.add_argument("--benchmark", "-b", help="table name (see `naspredict benchmarks`); needed for --evaluator table")
    p.add_argument("--log", default=None,
                   help="search your own logged results instead of a table (CSV, parquet or JSON lines "
                        "with an arch column; needs --space): only its archs are proposed")
    p.add_argument("--target", "-t", default=None,
                   help="metric, or several comma-separated (M1,M2); default val_accuracy with --evaluator train")
    p.add_argument("--direction", "-d", default=None,
                   help="max or min per target, comma-separated (default for a single target: the "
                        "table's direction of it, max with --evaluator train; required, one per "
                        "target, for several: -t valid_perf,latency -d max,min)")
    p.add_argument("--strategy", "-s", default="bo", help=f"one of {', '.join(strategy_names())} (default bo)")
    p.add_argument("--predictor", "-p", help="predictor for bo / predictor-evolution / mobo surrogate "
                                             "(default: the strategy's own)")
    p.add_argument("--option", "-O", dest="options", action="append", type=parse_option, default=None,
                   metavar="KEY=VALUE",
                   help="a setting of the strategy's constructor, repeatable, e.g. -s bo -O acquisition=ucb "
                        "-O n_initial=10, or -s mobo -O ref_point=[0.7,-0.01]; VALUE is read as JSON "
                        "(numbers, true/false, lists), else as text; an unknown KEY lists the options")
    p.add_argument("--budget", "-n", type=int, default=None,
                   help="number of evaluations (default 100 unless --budget-seconds/--wall-seconds is given; "
                        "with --resume: the stored budget)")
    p.add_argument("--budget-seconds", type=float, default=None,
                   help="stop once the trials' summed cost reaches this many seconds (simulated for tables)")
    p.add_argument("--wall-seconds", type=float, default=None,
                   help="stop after this many wall-clock seconds (running trials are left for --resume)")
    p.add_argument("--batch-size", type=int_at_least("--batch-size", 1), default=1,
                   help="proposals per round (serial executor)")
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
    p.add_argument("--warm-start", action="append", default=None, metavar="TABLE",
                   help="start with the cells this related table ranks best on the search's own "
                        "targets (its Pareto front for several) instead of random ones; repeatable, "
                        "the tables are taken in turn, e.g. -b nbgraph-cora --warm-start nbgraph-citeseer "
                        "--warm-start nbgraph-pubmed")
    p.add_argument("--warm-start-size", type=int_at_least("--warm-start-size", 1), default=None,
                   help="how many warm-start cells (default: the strategy's n_initial, else 10)")
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=0)
    p.add_argument("--store", default="runs.db", help="SQLite results store (default runs.db)")
    p.add_argument("--run", help="run name (default STRATEGY[-PREDICTOR]-SOURCE-SEED, e.g. bo-gp-nb201-cifar10-0)")
    p.add_argument("--resume", action="store_true",
                   help="continue the named run from the store (with its stored settings)")
    p.add_argument("--out", default="out/search", help="folder for plots (default out/search)")
    p.add_argument("--no-progress", action="store_true")
    g = p.add_argument_group("real training (--evaluator train)")
    add_network_args(g)
    add_training_args(g)
    _defaults_to_none(p)
    p.set_defaults(func=_search)

    p = sub.add_parser("runs", help="list the runs in a results store, or delete one",
                       description="List the runs in a results store (with the process driving "
                                   "each, if any), or delete one with --delete NAME.")
    p.add_argument("--store", default="runs.db")
    p.add_argument("--delete", metavar="NAME", default=None,
                   help="delete this run: its trials, per-epoch values and strategy state (refused "
                        "while a process drives it)")
    p.add_argument("--yes", "-y", action="store_true", help="delete without asking")
    from ..cli import add_json_flag
    add_json_flag(p)
    p.set_defaults(func=_runs)

    p = sub.add_parser("export", help="write a run's evaluations as logged results or an Optuna study",
                       description="Write a run as CSV / parquet / JSON lines (by suffix; the file "
                                   "loads back exactly, directions included, with "
                                   "naspredict.data.read_results), or as an Optuna study "
                                   "(--optuna STORAGE) for optuna-dashboard and Optuna's plots.")
    p.add_argument("run", help="run name")
    p.add_argument("--store", default="runs.db")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--output", "-o", help="file to write (.csv, .parquet, .jsonl)")
    where.add_argument("--optuna", metavar="STORAGE",
                       help="an Optuna storage URL (e.g. sqlite:///study.db): the run becomes a "
                            "study there, one trial per evaluation, the arch's choices as params")
    p.add_argument("--study-name", default=None, help="name of the Optuna study (default: the run's)")
    p.set_defaults(func=_export)


def _defaults_to_none(p) -> None:
    """Record the parser's defaults of the stored settings and set them to None, so that
    ``_search`` sees which ones were given."""
    keys = [k for k in COMMON_KEYS + TRAINING_KEYS + KEPT_KEYS if k not in ("targets", "directions")]
    for action in p._actions:
        if action.dest in keys:
            longs = [o for o in action.option_strings if o.startswith("--")]
            _FLAGS.setdefault(action.dest, longs[0] if longs else action.dest)
    _DEFAULTS.update({k: p.get_default(k) for k in keys})
    p.set_defaults(**{k: None for k in keys})


class _Session:
    """What a search has made so far, for clean-up on failure and the Ctrl-C message."""

    def __init__(self, store_path: Path):
        self.store_path = store_path
        self.new_file = not store_path.exists()
        self.store = None
        self.run_name: str | None = None
        self.created = False         # this call created the run
        self.stored_out: str | None = None
        self.out: str | None = None

    def counts(self) -> tuple[int, int]:
        """(finished, unfinished) trials of the run, (0, 0) when there is none."""
        if self.store is None or self.run_name is None or self.store.get_run(self.run_name) is None:
            return 0, 0
        ts = self.store.trials(self.run_name)
        done = sum(t.state.finished for t in ts)
        return done, len(ts) - done

    def forget(self) -> None:
        """A run this call created and never stored a trial in does not block its name; a
        store file this call created and left empty goes too."""
        if self.store is None:
            return
        try:
            if self.created and self.store.get_run(self.run_name) is not None and self.counts() == (0, 0):
                self.store.delete_run(self.run_name)
            empty = len(self.store.runs()) == 0
        except ValueError:
            empty = False
        self.store.close()
        self.store = None
        if self.new_file and empty:
            for p in (self.store_path, self.store_path.with_name(self.store_path.name + "-wal"),
                      self.store_path.with_name(self.store_path.name + "-shm")):
                p.unlink(missing_ok=True)

    def resume_line(self) -> str:
        line = (f"naspredict search --store {shlex.quote(str(self.store_path))} "
                f"--run {shlex.quote(self.run_name)} --resume")
        if self.out is not None and self.out != self.stored_out:
            line += f" --out {shlex.quote(self.out)}"
        return line


def _search(args) -> int:
    session = _Session(_check_store_path(args.store, args.resume))
    try:
        return _run_search(args, session)
    except KeyboardInterrupt:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not break the clean-up
        try:
            done, open_ = session.counts()
            if done or open_:
                more = f", {open_} unfinished that will run again" if open_ else ""
                print(f"naspredict search: interrupted; run {session.run_name!r} is stored in "
                      f"{session.store_path} ({done} finished trials{more})", file=sys.stderr)
                print(f"resume it with: {session.resume_line()}", file=sys.stderr)
            else:
                print("naspredict search: interrupted before any trial was stored; nothing to resume",
                      file=sys.stderr)
                session.forget()
        finally:
            signal.signal(signal.SIGINT, old)
        return 130
    except BaseException:
        session.forget()
        raise
    finally:
        if session.store is not None:
            session.store.close()


def _given(args) -> dict:
    """The stored settings given on the command line (targets and directions as lists)."""
    given = {k: getattr(args, k) for k in COMMON_KEYS + TRAINING_KEYS + KEPT_KEYS
             if getattr(args, k, None) is not None}
    if args.target is not None:
        given["targets"] = [t.strip() for t in args.target.split(",") if t.strip()]
    if given.get("log"):  # stored resolved: a resume from another folder names the same file
        given["log"] = str(Path(given["log"]).resolve())
    if args.direction is not None:
        given["directions"] = [d.strip() for d in args.direction.split(",") if d.strip()]
    if "options" in given:
        opts = {}
        for key, value in given["options"]:
            if key in opts:
                raise ValueError(f"--option {key} is given twice; give it once")
            opts[key] = value
        given["options"] = opts
    return given


def default_run_name(strategy: str, predictor: str | None, source: str, seed: int) -> str:
    """``STRATEGY[-PREDICTOR]-SOURCE-SEED``, e.g. ``bo-gp-nb201-cifar10-0`` or
    ``random-train-nb201-digits-0`` (the predictor only for strategies that use one)."""
    return "-".join([strategy, *([predictor] if predictor else []), source, str(seed)])


def _source(settings: dict) -> str:
    if settings["evaluator"] == "train":
        return f"train-{settings['space']}-{settings['data']}"
    if settings.get("log"):
        return "log-" + Path(settings["log"]).stem
    return settings["benchmark"] or ""


def strategy_options(strategy: str, options: dict) -> dict:
    """``--option`` values checked against the strategy's constructor
    (:func:`naspredict._options.check_options`; a key another flag sets is refused)."""
    from . import strategy_class
    return check_options(options, strategy_class(strategy), owner=f"strategy {strategy!r}",
                         set_by_flags=_SET_BY_FLAGS)


def constructor_params(strategy: str) -> dict:
    """Parameter name -> default of a strategy's constructor, following ``**params`` to the
    base class (successive halving and BOHB pass theirs on to Hyperband)."""
    from . import strategy_class
    return class_params(strategy_class(strategy))


def _predictor(strategy: str, given: str | None) -> tuple[str | None, dict]:
    """The predictor a strategy runs with (the given one, or its own default) and the
    constructor keyword that sets it (``predictor``, or mobo's ``surrogate``)."""
    from . import strategy_names

    def param(name):
        sig = constructor_params(name)
        return next(((p, sig[p]) for p in ("predictor", "surrogate") if p in sig), None)

    found = param(strategy)
    if found is None:
        if given:
            users = [n for n in strategy_names() if n != "enas" and param(n) is not None]
            raise ValueError(f"strategy {strategy!r} takes no predictor: drop --predictor (it applies "
                             f"to {', '.join(users)})")
        return None, {}
    key, default = found
    value = given or (default if isinstance(default, str) else None)
    return value, ({key: value} if value is not None else {})


def _legacy_settings(config: dict) -> dict:
    """What a run stored by an older version (no ``cli`` settings) tells of its settings."""
    from . import strategy_class, strategy_names
    out = {k: config[k] for k in ("targets", "directions", "seed") if k in config}
    out["evaluator"] = "train" if "evaluator" in config else "table"
    if config.get("benchmark"):
        out["benchmark"] = config["benchmark"]
    if "pruner" in config:
        out["pruner"] = config["pruner"] or None
    if config.get("predictor"):
        out["predictor"] = config["predictor"]
    names = {}
    for n in strategy_names():
        try:
            names[strategy_class(n).__name__] = n
        except ImportError:
            continue
    if config.get("strategy") in names:
        out["strategy"] = names[config["strategy"]]
        if "predictor" not in out and _predictor(out["strategy"], None) == (None, {}):
            out["predictor"] = None  # a strategy without one: nothing to check
    return out


def _run_search(args, session: _Session) -> int:
    import numpy as np

    from .. import data
    from ..store import ResultsStore
    from . import make_strategy
    from .plots import plot_best_so_far, plot_pareto

    if args.run is not None and not args.run.strip():
        raise ValueError("--run needs a name (leave it out for the default STRATEGY[-PREDICTOR]-SOURCE-SEED)")
    given = _given(args)
    budget = None
    if args.resume:
        session.store = ResultsStore(session.store_path)
        draft = {**_DEFAULTS, **given}
        name = args.run
        if name is None:
            pred, _ = _predictor(draft["strategy"], draft.get("predictor"))
            name = default_run_name(draft["strategy"], pred, _source(draft), draft["seed"])
            old = f"{draft['strategy']}-{_source(draft)}-{draft['seed']}"  # the name before predictors
            if session.store.get_run(name) is None and session.store.get_run(old) is not None:
                name = old
        info = session.store.get_run(name)
        if info is None:
            raise ValueError(f"no run named {name!r} in {session.store_path} to resume; drop --resume to "
                             f"start it, or pass --run NAME (see `naspredict runs --store {session.store_path}`)")
        session.run_name = name
        stored = info["config"].get("cli")
        settings, unchecked = resume_settings(stored if stored is not None else _legacy_settings(info["config"]),
                                              given, name)
        if unchecked:
            warnings.warn(f"run {name!r} was stored without these settings (by an older naspredict), so "
                          f"the resume cannot check them: {', '.join(unchecked)}; it continues with the "
                          f"ones given or their defaults", stacklevel=2)
        session.stored_out = (stored or {}).get("out")
        done = session.store.trials(name, finished=True)
        budget = _resume_budget(args, info["config"].get("budget"), len(done),
                                sum(t.result.cost for t in done), name)
    else:
        settings = dict(given)
    settings = {**_DEFAULTS, **settings}
    session.out = settings["out"]

    bench = None
    if settings["evaluator"] == "train":
        if settings["benchmark"] or settings.get("log"):
            raise ValueError(f"{'--benchmark' if settings['benchmark'] else '--log'} is for --evaluator "
                             f"table; real training needs --space and --data")
        targets = settings.get("targets") or ["val_accuracy"]
    else:
        bench = _table(settings, given, args.resume)
        if not settings.get("targets"):
            raise ValueError("--target is required with a benchmark table or log (a metric column; "
                             f"{bench.name} has {', '.join(bench.metric_names)})")
        targets = settings["targets"]
    dirs = _directions(settings.get("directions"), targets, bench)
    settings["targets"], settings["directions"] = targets, dirs
    predictor, params = _predictor(settings["strategy"], settings["predictor"])
    settings["predictor"] = predictor
    settings["options"] = settings.get("options") or {}
    params.update(strategy_options(settings["strategy"], settings["options"]))
    settings["workers"] = _workers(settings["executor"], settings["workers"])
    if budget is None:
        budget = _budget(args)
    ns = argparse.Namespace(**{**vars(args), **settings})
    _check_out(settings["out"])

    evaluator, pruner = _evaluator_and_pruner(bench, targets, dirs, ns)
    space = evaluator.space if bench is None else bench.search_space()
    source = _source(settings)
    if settings["strategy"] == "enas" and settings["evaluator"] == "train":
        params.update(_enas_settings(settings))
    _check_fidelities(settings["strategy"], params, evaluator, source)
    strategy = make_strategy(settings["strategy"], space, targets, dirs if len(dirs) > 1 else dirs[0],
                             settings["seed"], **params)
    if settings.get("warm_start") and not args.resume:  # a resumed strategy keeps its queue
        strategy.enqueue(_warm_cells(settings, strategy, bench))
    elif settings.get("warm_start_size") and not settings.get("warm_start"):
        raise ValueError("--warm-start-size needs --warm-start TABLE (the related table to take the cells from)")
    run_name = session.run_name or args.run or default_run_name(settings["strategy"], predictor, source,
                                                                settings["seed"])
    if not run_name.strip():
        raise ValueError("--run needs a name")
    if not args.resume:
        session.store = ResultsStore(session.store_path)
        if session.store.get_run(run_name) is not None:
            raise ValueError(f"a run named {run_name!r} already exists in {session.store_path}; pass --resume "
                             f"to continue it, choose another --run name, or delete it with "
                             f"`naspredict runs --store {session.store_path} --delete {run_name}`")
        session.run_name = run_name
        session.created = True
        session.stored_out = settings["out"]
    store = session.store
    keys = result_keys(settings["evaluator"], bool(settings.get("log"))) + KEPT_KEYS
    config = {"benchmark": settings["benchmark"] or (bench.name if settings.get("log") else ""), "predictor": predictor or "",
              "pruner": settings["pruner"] or "", "cli": {k: settings[k] for k in keys}}
    if bench is None:
        config["evaluator"] = repr(evaluator)
    executor = _executor(ns)
    try:
        trace = strategy.run(evaluator, budget, batch_size=settings["batch_size"] if executor is None else 1,
                             executor=executor, store=store, run_name=run_name, resume=args.resume,
                             pruner=pruner, config=config, progress=not args.no_progress)
    finally:
        if executor is not None:
            executor.shutdown()
    only_count = isinstance(budget, int) or (budget.cost_seconds is None and budget.wall_seconds is None)
    wanted = budget if isinstance(budget, int) else budget.evaluations
    if only_count and bench is not None and 0 < len(trace.frame) < wanted:
        # nothing else stops a count-only run early: the strategy ran out of new archs
        print(f"{run_name}: the budget of {wanted:,} evaluations is more than the {len(bench):,} archs of "
              f"{bench.name}; the search stopped after {len(trace.frame):,}, every distinct arch (cells "
              f"that are the same network up to isomorphism count once)")
    out = Path(settings["out"])
    files = []
    stem = _file_stem(run_name)
    strategy_name = settings["strategy"]
    if len(trace.frame) == 0:
        print(f"{run_name}: no evaluations")
    elif len(targets) == 1:
        best = strategy.best()
        if best is None:
            low = int((trace.frame["fidelity"] != "full").sum())
            more = (f" ({low} at lower fidelities); raise the budget: `{session.resume_line()} -n N`"
                    if low else "")
            print(f"{run_name}: no complete full-fidelity evaluation of {targets[0]} in {len(trace.frame)} "
                  f"trials{more}")
        else:
            print(f"{run_name}: best {targets[0]} = {best[1]:.4f} after {len(trace.frame)} evaluations")
            print(f"  arch {space.to_str(best[0])}")
        opt = bench.top(targets[0], 1)[targets[0]].iloc[0] if bench is not None else None
        files.append(out / f"{stem}_best_so_far.png")
        plot_best_so_far({strategy_name: [trace]}, files[-1], optimum=opt, title=f"{source}: {targets[0]}")
    elif bench is None:
        from .pareto import pareto_front
        found = trace.frame[targets].to_numpy(float)
        found = found[np.isfinite(found).all(1)]
        signs = np.array([1.0 if d == "max" else -1.0 for d in strategy.directions])
        print(f"{run_name}: {int(pareto_front(found * signs).sum())} Pareto archs of {len(found)} trained")
        files.append(out / f"{stem}_pareto.png")
        plot_pareto(found, files[-1], targets, strategy.directions, None,
                    title=f"{source}: {strategy_name}, {len(found)} evaluations")
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
        files.append(out / f"{stem}_pareto.png")
        plot_pareto(found, files[-1], targets, strategy.directions, table,
                    title=f"{bench.name}: {strategy_name}, {len(found)} evaluations")
    print(f"store: {session.store_path} (run {run_name!r}); plots: {', '.join(str(f) for f in files) or 'none'}")
    return 0


def _file_stem(run_name: str) -> str:
    """A run name as a file name (characters other than letters, digits, ``.``, ``_``, ``+``
    and ``-`` become ``_``)."""
    return re.sub(r"[^A-Za-z0-9._+-]", "_", run_name).lstrip(".") or "run"


def _file_path(flag: str, text: str, example: str) -> Path:
    """``text`` as a file path, refused when it is a folder or a folder on its way is a file."""
    path = Path(text)
    if path.is_dir():
        raise ValueError(f"{flag} {path} is a folder, not a file; pass a file path such as {path / example}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{flag} {path}: {parent} is a file, not a folder; pass a path in a folder")
            break
    return path


def _warm_cells(settings: dict, strategy, bench) -> list:
    """The ``--warm-start`` cells (:func:`naspredict.search.warm_start.source_front`): the
    related tables' best cells on the search's targets, those a searched table or log holds."""
    from .. import data
    from .warm_start import source_front
    space = (bench.space if bench is not None else strategy.space).name
    tables = []
    for name in settings["warm_start"]:
        table = data.load(name)
        if table.space.name != space:
            raise ValueError(f"--warm-start {name} is a table of the {table.space.name} space, the search "
                             f"runs in {space}; give a table of the same space")
        missing = [t for t in settings["targets"] if t not in table.metric_names]
        if missing:
            raise ValueError(f"--warm-start {name} has no {', '.join(missing)} (the search's target); "
                             f"it has {', '.join(table.metric_names)}")
        tables.append(table)
    k = int(settings.get("warm_start_size") or getattr(strategy, "n_initial", None) or 10)
    cells = source_front(tables, settings["targets"], settings["directions"], k=k, space=strategy.space,
                         within=None if bench is None else bench.archs)  # a table answers for its own cells
    if not cells:  # without a searched table, only sources with no finite target value get here
        raise ValueError(f"none of the --warm-start cells is in {bench.name}; the tables share no cell with it"
                         if bench is not None else "the --warm-start tables have no finite value of "
                         f"{', '.join(settings['targets'])}; give tables that measured them")
    return cells


def _check_store_path(text: str, resume: bool) -> Path:
    """Refuse a ``--store`` that cannot be a store file, before anything is made."""
    path = _file_path("--store", text, "runs.db")
    if not path.parent.exists():
        raise ValueError(f"--store {path}: its folder {path.parent} does not exist; create it "
                         f"(mkdir -p {shlex.quote(str(path.parent))}) or pass another --store")
    if resume and not path.exists():
        raise ValueError(f"no results store at {path} to resume from; pass the --store the run was saved "
                         f"in, or drop --resume to start a new run")
    return path


def _check_out(text: str) -> Path:
    """Refuse an ``--out`` that cannot be a folder, before the search runs."""
    from ..cli import check_out_folder
    return check_out_folder(text, "the plots", "out/search")


def _workers(executor: str, workers: int | None) -> int | None:
    """The number of workers an executor runs with (what a run stores: 2 by default for a
    local pool or the simulator; Ray's default is the cluster's CPUs, stored as None)."""
    if workers is None and executor in ("local", "simulated"):
        return 2
    return workers


def _resume_budget(args, stored: dict | None, done: int, cost: float, name: str):
    """The budget of a resumed run: the stored one when no budget option is given; a given
    one replaces it, and may not be smaller than what the run has already spent."""
    from .loop import Budget
    if all(getattr(args, k) is None for k in BUDGET_KEYS):
        budget = Budget(**stored) if stored else Budget(evaluations=100)
    else:
        budget = Budget.coerce(_budget(args))
        if budget.evaluations is not None and budget.evaluations < done:
            raise ValueError(f"run {name!r} already has {done} evaluations, more than --budget "
                             f"{budget.evaluations}; pass --budget {done} or more to continue it (or drop "
                             f"--budget to use the stored one)")
        if budget.cost_seconds is not None and budget.cost_seconds < cost:
            raise ValueError(f"run {name!r} has already spent {cost:.1f} s of trial cost, more than "
                             f"--budget-seconds {budget.cost_seconds:g}; pass a larger --budget-seconds to "
                             f"continue it")
    if budget.evaluations is not None and done >= budget.evaluations:
        print(f"naspredict search: run {name!r} already has the {budget.evaluations} evaluations of its "
              f"budget; pass a larger --budget to continue it", file=sys.stderr)
    return budget


def _enas_settings(settings: dict) -> dict:
    """ENAS trains its supernet on the run's data and network size (the training flags), so
    ``-s enas --evaluator train`` searches the setting it then trains for real."""
    keys = ("data", "data_root", "channels", "cells", "data_fraction", "resolution", "device")
    return {k: settings[k] for k in keys if settings.get(k) is not None}


def _directions(given: list[str] | None, targets: list[str], bench=None) -> list[str]:
    """One direction per target.  Several targets need them spelled out: a default (or one
    direction broadcast to all) would silently maximise a latency.  A single target defaults
    to ``bench``'s direction of it (max without a table)."""
    if not targets:
        raise ValueError("--target names no metric; give one or several comma-separated (M1,M2)")
    if len(set(targets)) != len(targets):
        raise ValueError(f"--target names a metric twice: {','.join(targets)}")
    if given is None:
        if len(targets) > 1:
            raise ValueError(f"{len(targets)} targets need a direction each: -d " + ",".join(
                ["max"] * len(targets)) + " (use min for latency, size, error...)")
        if bench is not None:
            bench._check_metric(targets[0])
            return ["max" if bench.higher_is_better[targets[0]] else "min"]
        return ["max"]
    dirs = [d.lower() for d in given]  # MAX and Min mean max and min
    bad = [d for d in dirs if d not in ("max", "min")]
    if bad:
        raise ValueError(f"--direction takes max or min per target, got {','.join(bad)}")
    if len(dirs) != len(targets):
        raise ValueError(f"--direction gives {len(dirs)} direction(s) for {len(targets)} target(s) "
                         f"({','.join(targets)}); give one per target, comma-separated")
    return dirs


def _check_fidelities(strategy: str, params: dict, evaluator, source: str) -> None:
    """A multi-fidelity strategy (one with ``fidelities``) needs an evaluator that answers its
    epoch levels, the last being the full schedule: a table's curves (``evaluator.fidelities``)
    or real training's ``-e`` epochs.  Refuse before the run, naming what the evaluator answers
    (else every trial fails and the search ends with nothing)."""
    import inspect

    from ..trials import Fidelity
    known = constructor_params(strategy)
    if "fidelities" not in known:
        return
    levels = params.get("fidelities", known["fidelities"])
    answers = getattr(evaluator, "fidelities", None)  # a table's; None for real training
    if answers is not None and not answers.epochs:
        raise ValueError(f"-s {strategy} runs archs at several epoch levels, and {source} answers the full "
                         f"fidelity only (it has no per-epoch curves); search a table with curves (e.g. "
                         f"-b nb201-curves) or train for real (--evaluator train)")
    if answers is not None:
        full, what = answers.full_epochs, answers.describe()
        fits = lambda e: Fidelity(epochs=e) in answers  # noqa: E731
    else:  # real training: any epoch count up to the full schedule (-e)
        full = getattr(getattr(evaluator, "config", None), "epochs", None)
        what = f"epochs 1..{full} (-e {full} = full)" if full else None
        fits = lambda e: full is None or 1 <= e <= full  # noqa: E731
    example = ("[" + ",".join(map(str, sorted({max(1, full // 9), max(1, full // 3), full}))) + "]"
               if full else "[4,12,36]")
    if levels is None or levels is inspect.Parameter.empty:
        raise ValueError(f"-s {strategy} needs its epoch levels, ascending, the full one last: -O fidelities="
                         f"{example}" + (f" ({source} answers {what})" if what else ""))
    levels = list(getattr(levels, "epochs", levels))
    bad = [e for e in levels if not (isinstance(e, int) and not isinstance(e, bool) and fits(e))]
    if bad or (full is not None and levels[-1] != full):
        why = f"{', '.join(map(str, bad))} not answered" if bad else f"the last level must be the full {full}"
        raise ValueError(f"-s {strategy}: fidelities {levels} do not fit {source}, which answers {what} "
                         f"({why}); give e.g. -O fidelities={example}")


def _table(settings: dict, given: dict, resume: bool):
    """The table a ``--evaluator table`` search runs on: ``--benchmark`` or ``--log`` (with
    ``--space``); a log's fingerprint goes into ``settings["log_data"]`` and, on a resume, must
    match the stored one."""
    from .. import data
    if settings["benchmark"] and settings.get("log"):
        raise ValueError("give --benchmark or --log, not both")
    if settings.get("log"):
        if not resume and "space" not in given:
            raise ValueError("--log needs --space to read its arch strings (nb201, nb101, darts, nbgraph)")
        settings["log"] = str(Path(settings["log"]).resolve())
        bench = data.read_results(settings["log"], settings["space"])
        digest = hashlib.sha1("\n".join(bench.arch_strings).encode())
        digest.update(bench.metrics.to_csv(index=False).encode())
        now = f"{len(bench)} rows, sha1 {digest.hexdigest()[:12]}"
        stored = settings.get("log_data")
        if resume and stored and stored != now:
            raise ValueError(f"{settings['log']} has changed since the run was made (stored {stored}, now "
                             f"{now}); resume with the log as it was, or start a new run with --run NEW")
        settings["log_data"] = now
        return bench
    if not settings["benchmark"]:
        raise ValueError("--benchmark is required (a table name, see `naspredict benchmarks`), or "
                         "--log FILE --space SPACE for your own results, or train for real with "
                         "--evaluator train --data fashion-mnist")
    return data.load(settings["benchmark"])


def _budget(args):
    from .loop import Budget
    if args.budget is not None and args.budget < 1:
        raise ValueError(f"--budget must be at least 1, got {args.budget}")
    if args.budget_seconds is None and args.wall_seconds is None:
        return args.budget if args.budget is not None else 100
    for flag, v in (("--budget-seconds", args.budget_seconds), ("--wall-seconds", args.wall_seconds)):
        if v is not None and not (v > 0 and math.isfinite(v)):
            raise ValueError(f"{flag} must be a positive number of seconds, got {v:g}; give e.g. {flag} 3600")
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


def _open_existing(text: str):
    """An existing store for ``runs`` / ``export`` (never creates one)."""
    from ..store import ResultsStore
    path = Path(text)
    if not path.exists():
        raise ValueError(f"no results store at {path}; pass --store PATH (naspredict search makes one)")
    return ResultsStore(path)


def _runs(args) -> int:
    if args.delete is not None:
        return _delete(args)
    if args.yes:
        raise ValueError("--yes goes with --delete NAME")
    with _open_existing(args.store) as store:
        df = store.runs()
    if args.json:
        from ..cli import _print_table
        _print_table(df, args)
        return 0
    with pd_options():
        print(df.to_string(index=False) if len(df) else "no runs")
    return 0


def pd_options():
    import pandas as pd
    return pd.option_context("display.width", 250, "display.max_columns", 20)


def _delete(args) -> int:
    name = args.delete
    with _open_existing(args.store) as store:
        if store.get_run(name) is None:
            raise ValueError(f"no run named {name!r} in {args.store}; see `naspredict runs --store {args.store}`")
        n = len(store.trials(name))
        owner = store.lock_owner(name)
        if owner is not None and owner["alive"]:
            store.delete_run(name)  # raises RunLocked naming the owner
        if not args.yes:
            if not sys.stdin.isatty():
                raise ValueError(f"deleting run {name!r} ({n} trials) needs a confirmation: pass --yes")
            answer = input(f"delete run {name!r} and its {n} trials from {args.store}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print(f"kept run {name!r}")
                return 1
        store.delete_run(name)
    print(f"deleted run {name!r} ({n} trials) from {args.store}")
    return 0


def _export(args) -> int:
    if args.optuna is not None:
        if args.optuna.startswith("sqlite:///"):
            _file_path("--optuna", args.optuna[len("sqlite:///"):], "study.db")
        from ..optuna_export import export_to_optuna
        with _open_existing(args.store) as store:
            study = export_to_optuna(store, args.run, args.optuna, args.study_name)
        print(f"wrote study {study.study_name!r} ({len(study.trials)} trials) to {args.optuna}; "
              f"view it with: optuna-dashboard {args.optuna}")
        return 0
    if args.study_name is not None:
        raise ValueError("--study-name goes with --optuna STORAGE")
    _file_path("--output", args.output, "run.csv")
    with _open_existing(args.store) as store:
        path = store.export(args.run, args.output)
    print(f"wrote {path}")
    return 0
