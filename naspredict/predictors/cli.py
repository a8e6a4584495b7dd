"""``naspredict fit`` (a benchmark or a log -> a saved model) and ``naspredict predict``
(a saved model ranks candidate architectures, CSV out)."""
from __future__ import annotations

import time
from pathlib import Path

from ..cli import int_at_least

#: predictors that need more than archs at prediction time, which ``predict`` cannot pass.
_NEEDS_CURVES = {"lc-srm"}


def register(sub) -> None:
    """Add the ``fit`` and ``predict`` subcommands to the argparse ``sub`` parsers."""
    from ..evaluation.cli import add_source_args
    from . import names

    p = sub.add_parser(
        "fit", help="fit a predictor on a benchmark or a log and save it",
        description="Fit one predictor on a benchmark table or your logged results and save it "
                    "to one file (see naspredict.predictors.save_predictor); `naspredict "
                    "predict MODEL --archs FILE` then ranks new architectures with it.")
    add_source_args(p)
    p.add_argument("--target", "-t", required=True, help="metric to predict")
    p.add_argument("--predictor", "-p", required=True,
                   help=f"predictor name; known: {', '.join(n for n in names() if n not in _NEEDS_CURVES)}")
    p.add_argument("-n", "--train-size", type=int, default=None, metavar="N",
                   help="train on a seeded random sample of N rows (default: every row with the target)")
    p.add_argument("--seed", type=int_at_least("--seed", 0), default=0,
                   help="seed of the sample and of the predictor (default 0)")
    p.add_argument("--output", "-o", required=True, help="model file to write (e.g. rf.nspm)")
    add_option_arg(p)
    p.set_defaults(func=_fit)

    p = sub.add_parser(
        "predict", help="rank candidate architectures with a saved model",
        description="Predict the target of candidate architectures with a model saved by "
                    "`naspredict fit` and write them ranked best first (by the model's "
                    "direction) as CSV: rank, arch, prediction (and std when the model has one).")
    p.add_argument("model", help="model file written by `naspredict fit` or save_predictor")
    p.add_argument("--archs", "-a", required=True,
                   help="candidates: a text file with one canonical arch string per line (blank "
                        "lines and lines starting with # are skipped) or a .csv with an arch column")
    p.add_argument("--output", "-o", default="out/predict/predictions.csv",
                   help="CSV to write (default out/predict/predictions.csv)")
    p.add_argument("--top", "-k", type=int, default=10,
                   help="rows to print (default 10; 0 prints none; the CSV has them all)")
    p.set_defaults(func=_predict)


# -- --option ---------------------------------------------------------------------------------------
#: predictor parameters other flags set.
_SET_BY_FLAGS = {"space": "--benchmark / --space", "random_state": "--seed (evaluate: --seeds)"}

OPTION_HELP = ("a setting of the predictor's constructor, repeatable, e.g. -O n_estimators=500, or "
               "-p transfer -O base=ensemble -O mode=feature; with several predictors prefix the "
               "predictor's name: -O transfer.mode=feature. VALUE is read as JSON (numbers, "
               "true/false, lists), else as text; an unknown KEY lists the options")


def add_option_arg(p) -> None:
    """Add ``--option/-O [PREDICTOR.]KEY=VALUE`` (repeatable) to the parser ``p``."""
    from .._options import parse_option
    p.add_argument("--option", "-O", dest="options", action="append", type=parse_option, default=[],
                   metavar="[PREDICTOR.]KEY=VALUE", help=OPTION_HELP)


def predictor_options(predictors: list[str], options) -> dict[str, dict]:
    """``--option`` pairs -> the constructor settings of each of ``predictors`` (registry
    names), checked against its constructor (:func:`naspredict._options.check_options`).

    A key may name its predictor (``transfer.mode``); it must when ``predictors`` holds more
    than one.

    Raises
    ------
    ValueError : a prefix that is not among ``predictors``, a key without a prefix while there
        are several predictors, a key given twice, an unknown key (the options are listed), a
        key another flag sets, a value of the wrong type.
    """
    from .._options import check_options
    from . import predictor_class

    twice = sorted({n for n in predictors if predictors.count(n) > 1})
    if twice:
        raise ValueError(f"predictor {twice[0]!r} is given twice; give each once")
    given: dict[str, dict] = {name: {} for name in predictors}
    for key, value in options or ():
        prefix, _, name = key.rpartition(".")
        if not prefix:
            if len(predictors) != 1:
                raise ValueError(f"--option {key}: with several predictors ({', '.join(predictors)}) "
                                 f"say which one it is for, e.g. -O {predictors[0]}.{key}=...")
            prefix = predictors[0]
        if prefix not in given:
            raise ValueError(f"--option {key}: {prefix!r} is not among the predictors given with -p "
                             f"({', '.join(predictors)}); prefix one of them")
        if name in given[prefix]:
            raise ValueError(f"--option {key} is given twice; give it once")
        given[prefix][name] = value
    return {name: check_options(opts, predictor_class(name), owner=f"predictor {name!r}",
                                set_by_flags=_SET_BY_FLAGS)
            for name, opts in given.items()}


# -- fit ------------------------------------------------------------------------------------------
def _fit(args) -> int:
    import numpy as np

    from ..evaluation.cli import load_source
    from . import make, names, save_predictor

    name = args.predictor
    if name not in names():
        raise ValueError(f"unknown predictor {name!r}; expected one of {', '.join(names())}")
    if name in _NEEDS_CURVES:
        raise ValueError(f"{name} predicts from partial learning curves, which `naspredict predict` "
                         f"cannot pass; fit it in Python (fit(archs, y, curves=...)) and save it "
                         f"with naspredict.predictors.save_predictor")
    options = predictor_options([name], args.options)[name]
    out = Path(args.output)
    if out.is_dir():
        raise ValueError(f"-o {out} is a folder; give a file name, e.g. -o {out / (name + '.nspm')}")
    bench = load_source(args)
    bench._check_metric(args.target)
    direction = "max" if bench.higher_is_better[args.target] else "min"
    if len(set(bench.archs)) < len(bench.archs):
        bench = bench.aggregate()  # repeated archs (logs): one row each, their mean
    bench = bench.dropna(args.target)
    rows = np.arange(len(bench))
    if args.train_size is not None:
        if args.train_size < 1:
            raise ValueError(f"-n must be a positive number of rows, got {args.train_size}")
        if args.train_size > len(bench):
            raise ValueError(f"-n {args.train_size} but {bench.name} has {len(bench)} archs with "
                             f"{args.target}; use -n {len(bench)} or fewer (or leave -n out)")
        rows = np.sort(np.random.default_rng(args.seed).choice(len(bench), args.train_size,
                                                               replace=False))
    archs = [bench.archs[i] for i in rows]
    y = bench.values(args.target)[rows]
    if len(y) and np.ptp(y) == 0:
        raise ValueError(f"{args.target} has the same value ({y[0]:g}) in all {len(y)} training rows: "
                         f"a model of it ranks nothing; pick a target that varies (or a larger -n)")
    model = make(name, space=bench.space, random_state=args.seed, **options)
    t0 = time.perf_counter()
    model.fit(archs, y)
    seconds = time.perf_counter() - t0
    source = ({"log": str(Path(args.log).resolve()), "space": bench.space.name} if args.log
              else {"benchmark": bench.name})
    save_predictor(model, out, metadata={
        "predictor": name, "target": args.target, "direction": direction, "source": source,
        "train_size": len(archs), "seed": args.seed, "options": options,
        "sample": "all rows" if args.train_size is None else f"seeded sample (seed {args.seed})"})
    where = f"log {args.log}" if args.log else f"benchmark {bench.name}"
    best = "higher" if direction == "max" else "lower"
    print(f"fitted {name} on {len(archs)} of {len(bench)} {bench.space.name} archs from {where} "
          f"(target {args.target}, {best} is better, seed {args.seed}) in {seconds:.1f} s")
    print(f"saved {out} ({out.stat().st_size / 1024:.0f} kB); rank new archs with: "
          f"naspredict predict {out} --archs FILE")
    return 0


# -- predict ---------------------------------------------------------------------------------------
def read_archs(path: str | Path, space) -> list:
    """Candidate architectures of ``space`` from ``path``.

    Parameters
    ----------
    path : a ``.csv`` with an ``arch`` column, or a text file with one canonical arch string
        (``space.to_str``) per line; blank lines and lines starting with ``#`` are skipped.
    space : the :class:`~naspredict.spaces.SearchSpace` the strings belong to.

    Returns
    -------
    list : one architecture per row / line, in file order.

    Raises
    ------
    FileNotFoundError : no such file.
    ValueError : a folder, a CSV without an ``arch`` column, no archs at all, or a string that
        is not an arch of ``space`` (naming the file, line and the expected form).
    """
    import numpy as np
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"arch file {path} does not exist; check the path (give a text file with one "
                                f"arch per line or a .csv with an arch column)")
    if path.is_dir():
        raise ValueError(f"--archs {path} is a folder; give a text file with one arch per line "
                         f"or a .csv with an arch column")
    if path.suffix.lower() == ".csv":
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "arch" not in df.columns:
            raise ValueError(f"{path} has no 'arch' column (found {list(df.columns)}); name the "
                             f"column of arch strings 'arch'")
        lines = [(i + 2, text.strip()) for i, text in enumerate(df["arch"])]  # line 1: header
    else:
        with open(path, encoding="utf-8") as f:
            lines = [(i + 1, t.strip()) for i, t in enumerate(f)]
        lines = [(n, t) for n, t in lines if t and not t.startswith("#")]
    if not lines:
        raise ValueError(f"{path} holds no archs; write one {space.name} arch string per line")
    example = space.to_str(space.sample(np.random.default_rng(0)))
    archs = []
    for n, text in lines:
        try:
            archs.append(space.validate(space.from_str(text)))
        except (ValueError, KeyError, IndexError, TypeError) as err:
            hint = " (a CSV? give it a .csv suffix)" if n == 1 and text.startswith("arch") else ""
            raise ValueError(f"{path}, line {n}: {text[:80]!r} is not an arch of the {space.name} space ({err}); "
                             f"expected one canonical {space.name} arch string per line, like "
                             f"{example}{hint}") from None
    return archs


def rank_predictions(space, archs: list, mean, std=None, direction: str | None = "max"):
    """A ranked frame ``rank, arch, prediction`` (+ ``std``), best first.

    ``direction`` ``"max"`` (or None) ranks high predictions first, ``"min"`` low ones; ties
    keep file order.
    """
    import numpy as np
    import pandas as pd

    mean = np.asarray(mean, float)
    key = mean if direction == "min" else -mean
    order = np.argsort(key, kind="stable")
    df = pd.DataFrame({"rank": np.arange(1, len(order) + 1),
                       "arch": [space.to_str(archs[i]) for i in order],
                       "prediction": mean[order]})
    if std is not None:
        df["std"] = np.asarray(std, float)[order]
    return df


def _predict(args) -> int:
    if args.top < 0:
        raise ValueError(f"--top {args.top}: give the number of rows to print, 0 or more")
    import pandas as pd

    from .io import load_predictor

    model, head = load_predictor(args.model, return_header=True)
    space = model.space_
    archs = read_archs(args.archs, space)
    if model.supports_std:
        mean, std = model.predict(archs, return_std=True)
    else:
        mean, std = model.predict(archs), None
    direction = head.get("direction")
    df = rank_predictions(space, archs, mean, std, direction)
    out = Path(args.output)
    if out.is_dir():
        raise ValueError(f"-o {out} is a folder; give a CSV file name, e.g. -o {out / 'predictions.csv'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False)
    target = head.get("target") or "the target"
    order = {"max": "highest first", "min": "lowest first"}.get(direction, "highest first (the model "
                                                                 "records no direction)")
    print(f"{head.get('predictor') or head.get('class')} ({space.name}, fitted on "
          f"{head.get('train_size')} archs): predicted {target} of {len(df)} archs, {order}")
    if args.top > 0:
        with pd.option_context("display.max_colwidth", 120, "display.width", 250):
            print(df.head(args.top).to_string(index=False))
    print(f"wrote {out}")
    return 0
