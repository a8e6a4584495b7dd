"""BO overhead per round on NB201 (issue #4): with 200 observations, fit the surrogate and
score every unevaluated cell.

    python benchmarks/bo_overhead.py [--repeats 3]

For each surrogate a ``bo`` strategy is told 200 random NB201 cells with their real
``baseline_accuracy`` and then asked for one proposal with ``local_radius=0``, so the round
fits the predictor on all 200 and scores the whole unevaluated remainder of the space (one
representative per canonical form, ~8,565 cells) by expected improvement.  The first ``ask``
also enumerates the space and encodes it (cached per process) and is reported apart; the
median of the following rounds (each refits from scratch on the same 200 cells) is the
overhead.  Writes results/bo_overhead.md.  Run it on an otherwise idle machine: times are
wall-clock.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from naspredict.trials import Trial
from naspredict import data  # noqa: E402
from naspredict.evaluators import as_evaluator  # noqa: E402
from naspredict.search import make_strategy  # noqa: E402
from naspredict.torch_utils import set_threads  # noqa: E402

SURROGATES = ("gp", "gcn-blr")


def one_surrogate(bench, predictor: str, repeats: int, n_obs: int = 200) -> dict:
    ev = as_evaluator(bench, ["baseline_accuracy"])
    times, n_scored = [], 0
    for r in range(repeats + 1):
        s = make_strategy("bo", bench.space, "baseline_accuracy", "max", seed=r, predictor=predictor,
                          local_radius=0)
        archs = s.sample_new(n_obs)
        s.tell([Trial(i, a).finish(ev.evaluate(a)) for i, a in enumerate(archs)])
        obs_archs, obs_y = s.observed()
        n_scored = len(s._candidates(obs_archs, obs_y[:, 0]))
        t0 = time.perf_counter()
        s.ask(1)
        times.append(time.perf_counter() - t0)
    return {"surrogate": predictor, "observations": n_obs, "cells_scored": n_scored,
            "first_round_s": round(times[0], 2), "round_s_median": round(float(np.median(times[1:])), 2),
            "round_s_max": round(max(times[1:]), 2)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--surrogates", default=",".join(SURROGATES))
    p.add_argument("--no-write", dest="write", action="store_false", help="print only")
    args = p.parse_args(argv)
    set_threads(1)  # the process's thread policy, once (library calls leave it alone)
    bench = data.load("nb201-cifar10")
    rows = []
    for name in args.surrogates.split(","):
        rows.append(one_surrogate(bench, name, args.repeats))
        print(rows[-1], flush=True)
    text = (f"## BO round on NB201 with 200 observations: fit + score every unevaluated cell "
            f"(cores available: {os.cpu_count()})\n\n" + pd.DataFrame(rows).to_markdown(index=False) + "\n")
    out = ROOT / "benchmarks" / "results" / "bo_overhead.md" if args.write else Path(os.devnull)
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
