"""Development script for ``mf-bo`` on the ``nb201-mf`` view: epochs spent until the NB201
optimum is evaluated at full fidelity, per seed.

The goal of issue #12: median over 30 seeds <= 2,500 epochs, worst seed <= 8,000 (cost = epochs:
12 per 12-epoch run, 200 per full run).  The official numbers come from
``benchmarks/multifidelity.py --part search --methods mf-bo``; this script is the quick loop
used while developing (a few seeds, any strategy parameters as JSON).

    python benchmarks/mfbo_dev.py --seeds 0 1 2 --params '{"hyper_every": 5}'
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

OPTIMUM = 94.0664


def run_seed(seed: int, params: dict, max_epochs: float, verbose: bool = False) -> dict:
    """One mf-bo run on ``nb201_mf()``; returns epochs (cost) spent until the optimum was
    evaluated at full fidelity (``None`` if not within ``max_epochs``)."""
    from naspredict.evaluators import nb201_mf
    from naspredict.search import make_strategy

    ev = nb201_mf()
    s = make_strategy("mf-bo", ev.space, "test_accuracy", "max", seed=seed, **params)
    spent, n_low, n_full = 0.0, 0, 0
    t0 = time.time()
    found = None
    while spent < max_epochs:
        (p,) = s.ask(1)
        r = ev.evaluate(p.arch, p.fidelity)
        s.tell([p.trial(r)])
        spent += r.cost
        if p.fidelity.is_full:
            n_full += 1
            if verbose:  # the promoted arch's short-run value and its rank among the short runs
                k = s.key(p.arch)
                lows = [(s.key(a), v) for a, lv, v in zip(*s.observations()) if lv < s.full_level]
                mine = [v for kk, v in lows if kk == k]
                rank = (1 + sum(v > mine[0] for _, v in lows)) if mine else None
                print(f"  seed {seed} full #{n_full} at {spent:.0f}: {r.metrics['test_accuracy']:.3f} "
                      f"(12-epoch {mine[0] if mine else None}, rank {rank} of {len(lows)})")
            if r.metrics["test_accuracy"] >= OPTIMUM - 1e-9:
                found = spent
                break
        else:
            n_low += 1
    return {"seed": seed, "epochs": found, "spent": spent, "n_low": n_low, "n_full": n_full,
            "seconds": time.time() - t0}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--params", default="{}", help="mf-bo constructor parameters as JSON")
    ap.add_argument("--max-epochs", type=float, default=20_000)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    from naspredict.torch_utils import set_threads
    set_threads(1)
    params = json.loads(args.params)
    rows = []
    for seed in args.seeds:
        row = run_seed(seed, params, args.max_epochs, args.verbose)
        rows.append(row)
        print(json.dumps(row), flush=True)
    eps = np.array([r["epochs"] if r["epochs"] is not None else np.inf for r in rows])
    print(f"params={params} seeds={len(rows)} median={np.median(eps):.0f} max={eps.max():.0f} "
          f"found={np.isfinite(eps).sum()}/{len(eps)}")


if __name__ == "__main__":
    main()
