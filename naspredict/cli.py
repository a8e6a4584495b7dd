"""The ``naspredict`` command.  ``naspredict <subcommand> --help`` documents each one.

Thread policy: :func:`main` sets this process's torch intra-op threads (and the loaded BLAS
libraries' threads) once, from the global ``--threads N`` option (default 1), before running
the subcommand; the library calls it runs never change them (see :mod:`naspredict.torch_utils`).
"""
from __future__ import annotations

import argparse
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
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


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
    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        print(pd.DataFrame(rows).to_string(index=False))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from . import data

    bench = data.load(args.benchmark)
    metric = args.metric or bench.metric_names[0]
    cols = [metric] + [c for c in (args.columns.split(",") if args.columns else []) if c != metric]
    top = bench.top(metric, args.top)
    with pd.option_context("display.max_colwidth", 120, "display.width", 250):
        print(f"{bench.name}: top {len(top)} of {len(bench):,} by {metric} "
              f"({'higher' if bench.higher_is_better[metric] else 'lower'} is better)")
        print(top[["arch", *cols]].to_string())
    return 0


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="naspredict", description="Predictor-driven neural architecture search.",
        epilog="exit codes: 0 success; 2 a usage or input error (the message names the problem and "
               "the fix); 130 interrupted (Ctrl-C; a search prints its --resume line); 1 an "
               "internal error (a bug: please report the traceback)")
    p.add_argument("--version", action="version", version=f"naspredict {__version__}")
    p.add_argument("--threads", type=_positive_int, default=1, metavar="N",
                   help="torch intra-op threads for this process (and BLAS threads); naspredict's "
                        "models are small and extra threads slow them on busy machines (default 1; "
                        "give it before the subcommand: naspredict --threads 2 search ...)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("spaces", help="list the search spaces and their sizes",
                       description="List the search spaces and their sizes.")
    s.set_defaults(func=_cmd_spaces)

    s = sub.add_parser("benchmarks", help="list the benchmark tables, row counts and metrics",
                       description="List the benchmark tables, their row counts and metrics.")
    s.set_defaults(func=_cmd_benchmarks)

    s = sub.add_parser("show", help="best architectures of a benchmark table",
                       description="Print the best architectures of a benchmark table.")
    s.add_argument("benchmark", help="table name, see `naspredict benchmarks`")
    s.add_argument("--metric", "-m", help="metric to rank by (default: the first column)")
    s.add_argument("--top", "-k", type=int, default=10, help="how many rows (default 10)")
    s.add_argument("--columns", help="extra metric columns to print, comma-separated")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .torch_utils import set_threads

    # the process's thread policy, set once here (library calls never change it)
    set_threads(args.threads, import_torch=args.command in _MODEL_COMMANDS)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, KeyError) as err:
        print(f"naspredict {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
