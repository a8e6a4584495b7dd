"""``naspredict evaluate``: the evaluation grid from the command line."""
from __future__ import annotations

import argparse


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def add_source_args(p) -> None:
    """Add the data-source options ``--benchmark/-b`` | ``--log`` (one required) and ``--space``."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--benchmark", "-b", help="benchmark table (see `naspredict benchmarks`)")
    src.add_argument("--log", help="your own logged results (CSV, parquet or JSON lines)")
    p.add_argument("--space", help="search space of --log (nb201, nb101, darts, nbgraph)")
    p.add_argument("--minimize", action="append", nargs="?", const="", default=[], metavar="M[,M...]",
                   help="--log metrics where lower is better (latency, loss...; repeatable; "
                        "bare --minimize means the target). Without it, a metric's direction "
                        "comes from the log's sidecar (<file>.naspredict.json), else higher is "
                        "better")
    p.add_argument("--maximize", action="append", nargs="?", const="", default=[], metavar="M[,M...]",
                   help="--log metrics where higher is better (overrides the sidecar; bare "
                        "--maximize means the target)")


def load_source(args):
    """The :class:`~naspredict.data.Benchmark` named by :func:`add_source_args`'s options.

    Raises
    ------
    ValueError : ``--log`` without ``--space``, an unknown benchmark, a malformed log.
    FileNotFoundError : the log file or the benchmark's data file is missing.
    """
    from .. import data

    def names(given):  # a bare flag ("") names the target
        return [m.strip() or args.target for text in given for m in (text.split(",") if text else [""])
                if m.strip() or not text]

    minimize, maximize = names(args.minimize), names(args.maximize)
    both = sorted(set(minimize) & set(maximize))
    if both:
        raise ValueError(f"{', '.join(both)} given to both --minimize and --maximize; give each "
                         f"metric one direction")
    if args.log:
        if not args.space:
            raise ValueError("--log needs --space to parse its arch strings")
        hib = {**{m: False for m in minimize}, **{m: True for m in maximize}}
        return data.read_results(args.log, args.space, higher_is_better=hib or None)
    if minimize or maximize:
        raise ValueError(f"--minimize / --maximize set the directions of a --log's metrics; "
                         f"{args.benchmark}'s directions are known: drop the flag (`naspredict show "
                         f"{args.benchmark} -m METRIC` lists the best rows by its direction)")
    return data.load(args.benchmark)


def load_sources(specs, target: str) -> list:
    """``--source BENCH[:METRIC]`` values -> ``(Benchmark, metric)`` pairs (``METRIC``
    defaults to ``target``).

    Raises
    ------
    ValueError : an unknown table, or a metric the table lacks (its metrics are listed).
    """
    from .. import data

    out = []
    for spec in specs:
        name, _, metric = spec.partition(":")
        bench = data.load(name)
        metric = metric or target
        if metric not in bench.metrics.columns:
            raise ValueError(f"--source {spec}: {name} has no metric {metric!r}; write "
                             f"--source {name}:METRIC with one of {', '.join(bench.metrics.columns)}")
        out.append((bench, metric))
    return out


def register(sub) -> None:
    from ..predictors import names
    from ..predictors.cli import add_option_arg

    p = sub.add_parser(
        "evaluate", help="rank-correlation evaluation of predictors",
        description="Fit predictors on train sizes x seeds and score how well they rank the "
                    "remaining architectures. Writes results.csv (one row per run; an "
                    "interrupted run resumes from it), tau_vs_size.png and pred_vs_true.png.")
    add_source_args(p)
    p.add_argument("--target", "-t", required=True, help="metric to predict")
    p.add_argument("--predictors", "-p", default="rf,xgb,gp",
                   help=f"comma-separated names (default rf,xgb,gp); known: {', '.join(names())}")
    p.add_argument("--train-sizes", type=_ints, default=[50, 100, 200], help="e.g. 50,100,200")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (0..N-1)")
    p.add_argument("--split", choices=["uniform", "mutation"], default="uniform")
    p.add_argument("--test-size", type=int, default=None, help="test on a sample of this size (default: all the rest)")
    p.add_argument("--source", action="append", default=[], metavar="BENCH[:METRIC]",
                   help="a related table whose rows become auxiliary-task data (repeatable; "
                        "METRIC defaults to --target); only for predictors that take task= "
                        "(e.g. transfer, mtgp)")
    add_option_arg(p)
    p.add_argument("--out", default="out/evaluate", help="output folder (default out/evaluate)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from .plots import plot_metric_vs_size, plot_pred_vs_true
    from .runner import evaluate

    from ..cli import check_out_folder
    from ..predictors import make
    from ..predictors.cli import predictor_options
    out = check_out_folder(args.out, "results.csv and the plots", "out/evaluate")
    listed = [p.strip() for p in args.predictors.split(",") if p.strip()]
    options = predictor_options(listed, args.options) if args.options else {}
    bench = load_source(args)
    sources = load_sources(args.source, args.target)
    predictors = ({name: make(name, space=bench.space, **options[name]) for name in listed}
                  if options else listed)
    res = evaluate(bench, args.target, predictors,
                   args.train_sizes, args.seeds, args.split, args.test_size,
                   out_csv=out / "results.csv", progress=not args.no_progress, sources=sources)
    summary = res.summary()
    print(summary.round(3).to_string(na_rep="undefined"))
    if summary.isna().to_numpy().any():
        print("undefined: some runs' test values were all equal, so their rank correlation "
              "has no value (a larger --test-size avoids it)")
    plot_metric_vs_size(res.table, out / "tau_vs_size.png", title=f"{bench.name}: {args.target}")
    if res.predictions:
        best = res.table.groupby("predictor")["kendall_tau"].mean().idxmax()
        keys = [k for k in res.predictions if k[0] == best]
        if keys:
            key = max(keys, key=lambda k: k[1])
            yt, yp = res.predictions[key]
            plot_pred_vs_true(yt, yp, out / "pred_vs_true.png",
                              title=f"{key[0]}, {key[1]} train archs, seed {key[2]}")
    print(f"wrote {out / 'results.csv'}, {out / 'tau_vs_size.png'}" +
          (f", {out / 'pred_vs_true.png'}" if (out / 'pred_vs_true.png').exists() else ""))
    return 0
