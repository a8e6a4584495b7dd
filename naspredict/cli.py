"""The ``naspredict`` command.  ``naspredict <subcommand> --help`` documents each one.

Thread policy: :func:`main` sets this process's torch intra-op threads (and the loaded BLAS
libraries' threads) once, from the global ``--threads N`` option (default 1), before running
the subcommand; the library calls it runs never change them (see :mod:`naspredict.torch_utils`).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Sequence

import pandas as pd

#: subcommands that run torch models: main() imports torch for them to set its threads
#: (the others set them only when torch is already imported, sparing its 2-3 s import)
_MODEL_COMMANDS = frozenset({"evaluate", "search", "train", "profile", "darts"})

#: sizes of the spaces that cannot be enumerated, from their papers.
_SPACE_SIZES = {
    "nb101": "423,624 unique cells (Ying et al., ICML 2019)",
    "darts": "about 1e18 normal+reduction cell pairs (Siems et al., 2020: NAS-Bench-301)",
}


def _cmd_spaces(args: argparse.Namespace) -> int:
    from .spaces import SPACE_NAMES, get_space

    rows = []
    for name in SPACE_NAMES:
        sp = get_space(name)
        size = f"{len(sp):,} (enumerable)" if sp.finite else _SPACE_SIZES.get(name, "large")
        rows.append({"space": name, "ops": len(sp.ops), "size": size, "doc": (type(sp).__doc__ or "").strip().splitlines()[0]})
    _print_table(pd.DataFrame(rows), args)
    return 0


def _print_table(df: pd.DataFrame, args: argparse.Namespace, **options) -> None:
    """``df`` as an aligned table, or as JSON records with ``--json``."""
    if getattr(args, "json", False):
        # json.dumps writes each float's shortest exact repr (pandas' to_json rounds to 10
        # decimals); NaN becomes null, numpy scalars plain numbers
        records = df.astype(object).where(df.notna(), None).to_dict(orient="records")
        print(json.dumps(records, indent=1, default=lambda v: v.item() if hasattr(v, "item") else str(v)))
        return
    with pd.option_context("display.width", 250, *[x for kv in options.items() for x in kv]):
        print(df.to_string(index=False))


def add_json_flag(p: argparse.ArgumentParser) -> None:
    """The ``--json`` flag of the listing subcommands (records on stdout, nothing else)."""
    p.add_argument("--json", action="store_true",
                   help="print JSON records instead of a table (for scripts and jq)")


def check_out_folder(text: str, holds: str, example: str) -> "Path":
    """``--out`` as a folder path, refused (ValueError naming the fix) when it or a folder on
    its way is a file, or the nearest existing folder is not writable."""
    from pathlib import Path

    path = Path(text)
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                what = "is a file" if p == path else f"is inside {p}, which is a file"
                raise ValueError(f"--out {path} {what}, not a folder; pass a folder for {holds} "
                                 f"(e.g. --out {example})")
            if not os.access(p, os.W_OK):
                raise ValueError(f"--out {path}: {p} is not writable; pass a folder you can write to")
            break
    return path


def _cmd_benchmarks(args: argparse.Namespace) -> int:
    from . import data

    rows = []
    for name, desc in data.available().items():
        try:
            b = data.load(name)
            rows.append({"benchmark": name, "space": b.space.name, "rows": len(b),
                         "metrics": ", ".join(b.metric_names[:6]) + (" ..." if len(b.metric_names) > 6 else "")})
        except FileNotFoundError as err:
            rows.append({"benchmark": name, "space": "-", "rows": 0, "metrics": f"unavailable: {err}"})
    _print_table(pd.DataFrame(rows), args, **{"display.max_colwidth": 80})
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from . import data

    bench = data.load(args.benchmark)
    metric = args.metric or bench.metric_names[0]
    cols = [metric] + [c for c in (args.columns.split(",") if args.columns else []) if c != metric]
    if args.top < 1:
        raise ValueError(f"--top must be a positive number of rows, got {args.top}")
    for c in cols[1:]:  # the ranking metric has its own message in Benchmark.top
        if c not in bench.metric_names:
            raise ValueError(f"{bench.name} has no column {c!r}; available: {', '.join(bench.metric_names)}")
    top = bench.top(metric, args.top)
    if args.json:
        out = top[["arch", *cols]].copy()
        out["arch"] = [str(a) for a in out["arch"]]
        _print_table(out, args)
        return 0
    with pd.option_context("display.max_colwidth", 120, "display.width", 250):
        print(f"{bench.name}: top {len(top)} of {len(bench):,} by {metric} "
              f"({'higher' if bench.higher_is_better[metric] else 'lower'} is better)")
        print(top[["arch", *cols]].to_string())
    return 0


def int_at_least(flag: str, minimum: int):
    """An argparse type: a whole number >= ``minimum``, else a usage error naming ``flag`` (exit 2)."""
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} takes a whole number, got {text!r}") from None
        if n < minimum:
            raise argparse.ArgumentTypeError(f"{flag} must be at least {minimum}, got {n}")
        return n
    return parse


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="naspredict", description="Predictor-driven neural architecture search.",
        epilog="exit codes: 0 success; 2 a usage or input error (the message names the problem and "
               "the fix); 130 interrupted (Ctrl-C; a search prints its --resume line); 1 an "
               "internal error (a bug: please report the traceback)")
    p.add_argument("--version", action="version", version=f"naspredict {__version__}")
    p.add_argument("--threads", type=int_at_least("--threads", 1), default=1, metavar="N",
                   help="torch intra-op threads for this process (and BLAS threads); naspredict's "
                        "models are small and extra threads slow them on busy machines (default 1; "
                        "give it before the subcommand: naspredict --threads 2 search ...)")
    p.add_argument("--data-dir", metavar="DIR", default=None,
                   help="folder of the shared benchmark tables (naslib_zc/, nb201_curves/, "
                        "nb201_12epoch/); default: $NASPREDICT_DATA_DIR, else ../shared/data beside "
                        "the checkout or the working directory")
    verbosity = p.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="count", default=0,
                           help="more log output (-v info, -vv debug) from naspredict's logger")
    verbosity.add_argument("-q", "--quiet", action="store_true",
                           help="errors and results only: no progress bars, no info or warnings")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("spaces", help="list the search spaces and their sizes",
                       description="List the search spaces and their sizes.")
    add_json_flag(s)
    s.set_defaults(func=_cmd_spaces)

    s = sub.add_parser("benchmarks", help="list the benchmark tables, row counts and metrics",
                       description="List the benchmark tables, their row counts and metrics.")
    add_json_flag(s)
    s.set_defaults(func=_cmd_benchmarks)

    s = sub.add_parser("show", help="best architectures of a benchmark table",
                       description="Print the best architectures of a benchmark table.")
    s.add_argument("benchmark", help="table name, see `naspredict benchmarks`")
    s.add_argument("--metric", "-m", help="metric to rank by (default: the first column)")
    s.add_argument("--top", "-k", type=int, default=10, help="how many rows (default 10)")
    s.add_argument("--columns", help="extra metric columns to print, comma-separated")
    add_json_flag(s)
    s.set_defaults(func=_cmd_show)

    _add_later_commands(sub)
    return p


def _add_later_commands(sub) -> None:
    """Subcommands defined beside their packages: evaluate; search, runs, export; train, profile;
    fit, predict."""
    from .evaluation import cli as evaluation_cli
    from .predictors import cli as predictors_cli
    from .oneshot import cli as oneshot_cli
    from .search import cli as search_cli
    from .training import cli as training_cli

    evaluation_cli.register(sub)
    search_cli.register(sub)
    training_cli.register(sub)
    predictors_cli.register(sub)
    oneshot_cli.register(sub)


def _configure_output(args: argparse.Namespace) -> None:
    """The command's logging level (the ``naspredict`` logger only) and progress bars."""
    level = logging.ERROR if args.quiet else {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    log = logging.getLogger("naspredict")
    log.setLevel(level)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("naspredict: %(levelname)s: %(message)s"))
        log.addHandler(handler)
    if args.quiet:
        import warnings
        os.environ["TQDM_DISABLE"] = "1"  # tqdm >= 4.66 reads its defaults from TQDM_* variables
        if hasattr(args, "no_progress"):  # ... but an explicit disable=False wins over them
            args.no_progress = True
        warnings.simplefilter("ignore")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_output(args)
    if args.data_dir is not None:
        from .data import set_data_dir
        try:
            set_data_dir(args.data_dir)
        except NotADirectoryError as err:
            print(f"naspredict: error: --data-dir: {err}", file=sys.stderr)
            return 2
    from .torch_utils import set_threads

    # the process's thread policy, set once here (library calls never change it)
    set_threads(args.threads, import_torch=args.command in _MODEL_COMMANDS)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # the reader went away (`naspredict runs | head`): not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (ValueError, FileNotFoundError, KeyError) as err:
        print(f"naspredict {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
