"""Multi-fidelity benchmark (issue #12): searches that use 12-epoch runs, against the peers.

    python benchmarks/multifidelity.py --part search                      # every method, 30 seeds
    python benchmarks/multifidelity.py --part search --methods sh-random,optuna-tpe --seeds 10
    python benchmarks/multifidelity.py --part search --report-only        # rewrite md + plot

``--part search``: on ``nb201_mf()`` (NAS-Bench-201 CIFAR-10 test accuracy; ``Fidelity(epochs=12)``
from ``nb201-12epoch`` column ``cifar10-test``, the full 200 epochs from ``nb201-cifar10``
``baseline_accuracy``; cost = epochs: 12 per short run, 200 per full one) every method runs per
seed until the NB201 optimum (94.0664, one cell) is evaluated **at full fidelity**, or until
``--budget`` epochs (default 200,000) are spent.  Reported per method: in how many seeds it was
found, the median and worst epochs spent until then, and the median best-so-far full-fidelity
value against epochs spent (``multifidelity_search_curves.csv``, ``multifidelity_search.png``).
``--part predictors`` is the transfer/multi-fidelity predictor part, in its own script
(``benchmarks/multifidelity_predictors.py``, when present).

Methods (``METHODS``: name -> ``function(seed, budget) -> DataFrame`` of the evaluations in
order, columns ``arch, fidelity, value, cost``; one line adds a method):

- ``optuna-tpe``: Optuna's TPE (``multivariate=True``) at full fidelity over the six categorical
  NB201 edges;
- ``optuna-tpe-hb``: the same with Optuna's ``HyperbandPruner(min_resource=12, max_resource=200,
  reduction_factor=3)``: each trial reports its 12-epoch value at step 12; a pruned trial costs
  12 epochs, a completed one 200 (it reports the full value at step 200);
- ``optuna-tpe-hb-default``: the same with ``HyperbandPruner()``'s defaults (``min_resource=1``,
  ``max_resource="auto"``, ``reduction_factor=3``): its rungs at 1, 3 and 9 steps are all judged
  at the step-12 report, so its most aggressive bracket lets about 1 in 27 through;
- ``sh-random``: naspredict ``successive-halving`` with uniform proposals: 27 new cells at 12
  epochs, the best 3 at 200, repeated (``eta=9, n_configs=27``);
- ``sh-random-raw``: the same schedule over the 15,625 raw cells (no canonical forms), simulated
  in this script from the tables;
- ``hyperband`` / ``bohb``: naspredict ``hyperband`` (uniform) and ``bohb`` (density model) with
  the defaults ``eta=3`` (brackets 3 at 12 -> 1 at 200, and 2 at 200); ``bohb-sh``: BOHB's model
  in the ``sh-random`` schedule (27 -> 3);
- ``bo-gp``: naspredict's single-fidelity BO (``bo``, GP surrogate) at full fidelity;
- ``mf-bo``: naspredict's multi-fidelity BO (``mf-bo``: the ``mtgp`` surrogate over both
  levels, cost-aware augmented EI choosing the cell and the level, full runs only as
  promotions of cells with a 12-epoch run).

Duplicates: Optuna may propose a cell again.  Its value is then told from a cache and costs
nothing more: a cell already run to 200 epochs costs 0; a cell pruned at 12 and now let through
costs the 188 epochs from 12 to 200 (a continuation, as our promotions on the training
evaluator); a repeat pruned again costs 0.  Optuna runs over raw cells (15,625), naspredict's
strategies never propose two cells of one canonical form (8,765), as in
``benchmarks/search.py``.

Costs: naspredict's strategies pay what ``nb201_mf()`` charges, 12 per 12-epoch run and 200
per full one, so a promoted cell costs 12 + 200 (a table cannot continue a run; on the training
evaluator with ``checkpoint_dir`` a promotion pays only the added epochs).  Optuna with the
pruner is counted as the issue does: 12 for a pruned trial, 200 in all for a completed one.
Runs are stored per (method, seed, budget) in
``results/multifidelity_search_runs.csv``; a rerun replaces its row.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from naspredict.evaluators import nb201_mf  # noqa: E402
from naspredict.search import Budget, make_strategy  # noqa: E402
from naspredict.torch_utils import set_threads  # noqa: E402

from _parallel import parallel_map  # noqa: E402  (benchmarks/, the script's folder)

RESULTS = ROOT / "benchmarks" / "results"
OPTIMUM = 94.0664
TARGET = "test_accuracy"
LOW, FULL_EPOCHS = 12, 200
RUNS_CSV = RESULTS / "multifidelity_search_runs.csv"
CURVES_CSV = RESULTS / "multifidelity_search_curves.csv"

#: the issue's calibration (median epochs until the optimum is evaluated at full fidelity)
CALIBRATION = {"optuna-tpe": "20,600", "optuna-tpe-hb": "30,564", "sh-random": "found in 4 of 10 within 200,000",
               "bo-gp": "5,800 (29 queries)", "mf-bo": "goal <= 2,500, worst <= 8,000"}

_EV = None


def _evaluator():
    global _EV
    if _EV is None:
        _EV = nb201_mf()
    return _EV


def _frame(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["arch", "fidelity", "value", "cost"])


# ---- naspredict strategies ------------------------------------------------------------------------

def strategy_run(name: str, seed: int, budget: float, **params) -> pd.DataFrame:
    """Run naspredict strategy ``name`` on ``nb201_mf()`` until the optimum is evaluated at full
    fidelity or ``budget`` epochs are spent (serially, so costs add up in arrival order)."""
    ev = _evaluator()
    s = make_strategy(name, ev.space, TARGET, "max", seed=seed, **params)
    found = []

    def hit(trial) -> None:
        r = trial.result
        if r.ok and r.fidelity.is_full and r.metrics[TARGET] >= OPTIMUM - 1e-9:
            found.append(trial.id)

    tr = s.run(ev, Budget(cost_seconds=float(budget)), progress=False, callbacks=[hit],
               stop_when=lambda _s: bool(found))
    f = tr.frame
    return _frame(list(zip(f["arch"], f["fidelity"], f[TARGET].astype(float), f["cost"].astype(float))))


# ---- Optuna peers ---------------------------------------------------------------------------------

def _cell(trial):
    from naspredict.spaces.nb201 import OPS, NB201Arch
    return NB201Arch(tuple(trial.suggest_categorical(f"e{i}", list(OPS)) for i in range(6)))


#: HyperbandPruner's settings for optuna-tpe-hb: the two levels as its resource range
HB_PRUNER = {"min_resource": LOW, "max_resource": FULL_EPOCHS, "reduction_factor": 3}


def optuna_run(seed: int, budget: float, *, pruner: bool, pruner_params: dict | None = None) -> pd.DataFrame:
    """Optuna TPE (multivariate) over the six edges, at full fidelity or with a
    HyperbandPruner (``pruner_params``, default :data:`HB_PRUNER`) at 12 -> 200 epochs; stops at
    the optimum or ``budget`` epochs.  Repeats are answered from a cache (see the module
    docstring for what they cost)."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ev = _evaluator()
    sp = ev.space
    low_fid, full_fid = ev.fidelities.levels
    params = HB_PRUNER if pruner_params is None else pruner_params
    kw = {"pruner": optuna.pruners.HyperbandPruner(**params)} if pruner else {}
    # a fixed study name: HyperbandPruner assigns trials to brackets by hashing it with the
    # trial number, so Optuna's default random name would make runs irreproducible
    study = optuna.create_study(study_name=f"nb201-mf-seed{seed}", direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True), **kw)
    low: dict = {}
    full: dict = {}
    rows: list = []
    spent = 0.0
    asks = 0
    while spent < budget and asks < 50 * budget / LOW:
        asks += 1
        trial = study.ask()
        arch = _cell(trial)
        if pruner:
            if arch not in low and arch not in full:
                low[arch] = ev.evaluate(arch, low_fid).metrics[TARGET]
                rows.append((sp.to_str(arch), low_fid.key(), low[arch], float(LOW)))
                spent += LOW
            v12 = low.get(arch)
            if v12 is not None:
                trial.report(v12, LOW)
                if arch not in full and trial.should_prune():
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    continue
        if arch not in full:
            full[arch] = ev.evaluate(arch, full_fid).metrics[TARGET]
            cost = float(FULL_EPOCHS - LOW if arch in low else FULL_EPOCHS)
            rows.append((sp.to_str(arch), "full", full[arch], cost))
            spent += cost
        if pruner:
            trial.report(full[arch], FULL_EPOCHS)
        study.tell(trial, full[arch])
        if full[arch] >= OPTIMUM - 1e-9:
            break
    return _frame(rows)


def sh_raw_run(seed: int, budget: float, n: int = 27, keep: int = 3) -> pd.DataFrame:
    """Random successive halving over the 15,625 raw cells (isomorphic cells not merged, none
    drawn twice): ``n`` at 12 epochs, the best ``keep`` at 200, repeated; what a user without
    canonical forms would run (naspredict's ``sh-random`` draws among the 8,765 canonical
    forms).  Costs as naspredict's strategies are charged: 12 per short run, 200 per full one."""
    ev = _evaluator()
    sp = ev.space
    low_fid, full_fid = ev.fidelities.levels
    archs = ev.levels[LOW].bench.archs
    order = np.random.default_rng(seed).permutation(len(archs))
    rows: list = []
    spent = 0.0
    for start in range(0, len(order), n):
        if spent >= budget:
            break
        batch = [archs[int(i)] for i in order[start:start + n]]
        vals = np.array([ev.evaluate(a, low_fid).metrics[TARGET] for a in batch])
        rows += [(sp.to_str(a), low_fid.key(), float(v), float(LOW)) for a, v in zip(batch, vals)]
        spent += LOW * len(batch)
        for i in np.argsort(-vals, kind="stable")[:keep]:
            v = ev.evaluate(batch[int(i)], full_fid).metrics[TARGET]
            rows.append((sp.to_str(batch[int(i)]), "full", v, float(FULL_EPOCHS)))
            spent += FULL_EPOCHS
            if v >= OPTIMUM - 1e-9:
                return _frame(rows)
    return _frame(rows)


#: method -> function(seed, budget) -> DataFrame(arch, fidelity, value, cost), in evaluation order
METHODS: dict[str, Callable[[int, float], pd.DataFrame]] = {
    "optuna-tpe": lambda seed, budget: optuna_run(seed, budget, pruner=False),
    "optuna-tpe-hb": lambda seed, budget: optuna_run(seed, budget, pruner=True),
    "optuna-tpe-hb-default": lambda seed, budget: optuna_run(seed, budget, pruner=True, pruner_params={}),
    "sh-random": lambda seed, budget: strategy_run("successive-halving", seed, budget, fidelities=(LOW, FULL_EPOCHS),
                                                   eta=9, n_configs=27),
    "sh-random-raw": sh_raw_run,
    "hyperband": lambda seed, budget: strategy_run("hyperband", seed, budget, fidelities=(LOW, FULL_EPOCHS)),
    "bohb": lambda seed, budget: strategy_run("bohb", seed, budget, fidelities=(LOW, FULL_EPOCHS)),
    "bohb-sh": lambda seed, budget: strategy_run("successive-halving", seed, budget, fidelities=(LOW, FULL_EPOCHS),
                                                 eta=9, n_configs=27, sampler="model"),
    "bo-gp": lambda seed, budget: strategy_run("bo", seed, budget, predictor="gp"),
    "mf-bo": lambda seed, budget: strategy_run("mf-bo", seed, budget, fidelities=(LOW, FULL_EPOCHS)),
}


# ---- one run, summaries ---------------------------------------------------------------------------

def _grid(budget: float) -> np.ndarray:
    return np.unique(np.round(np.geomspace(200, budget, 80)))


def one_run(method: str, seed: int, budget: float) -> tuple[dict, pd.DataFrame]:
    """The summary row and best-so-far curve of one (method, seed)."""
    t0 = time.perf_counter()
    f = METHODS[method](seed, budget)
    spent = f["cost"].cumsum().to_numpy()
    is_full = (f["fidelity"] == "full").to_numpy()
    vals = np.where(is_full, f["value"].to_numpy(float), -np.inf)
    best = np.maximum.accumulate(vals) if len(vals) else vals
    hit = np.nonzero(is_full & (f["value"].to_numpy(float) >= OPTIMUM - 1e-9) & (spent <= budget))[0]
    row = {"method": method, "seed": seed, "budget": budget,
           "epochs_to_optimum": float(spent[hit[0]]) if len(hit) else np.nan,
           "epochs_spent": float(spent[-1]) if len(spent) else 0.0,
           "full_evals": int(is_full.sum()), "low_evals": int((~is_full).sum()),
           "best_full": float(best[-1]) if len(best) and np.isfinite(best[-1]) else np.nan,
           "seconds": round(time.perf_counter() - t0, 2)}
    grid = _grid(budget)
    idx = np.searchsorted(spent, grid, side="right") - 1  # last evaluation finished by then
    at = np.where(idx >= 0, best[np.maximum(idx, 0)] if len(best) else -np.inf, -np.inf)
    curve = pd.DataFrame({"method": method, "seed": seed, "budget": budget, "epochs": grid,
                          "best_full": np.where(np.isfinite(at), at, np.nan)})
    return row, curve


def _replace_rows(path: Path, new: pd.DataFrame, keys=("method", "seed", "budget")) -> None:
    """Replace the rows of ``path`` with ``new``'s keys by ``new`` (under a lock file, written
    atomically, so two runs of the script writing the same CSV lose nothing)."""
    import fcntl
    import os
    import tempfile
    lock_path = Path(tempfile.gettempdir()) / f"naspredict-{path.resolve().as_posix().replace('/', '_')}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            old = pd.read_csv(path)
            k_new = set(map(tuple, new[list(keys)].to_numpy().tolist()))
            old = old[[tuple(r) not in k_new for r in old[list(keys)].to_numpy().tolist()]]
            new = pd.concat([old, new], ignore_index=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        new.to_csv(tmp, index=False)
        os.replace(tmp, path)


def _fmt(x: float) -> str:
    return f"{x:,.0f}"


def summarise(budget: float) -> str:
    runs = pd.read_csv(RUNS_CSV)
    runs = runs[runs["budget"] == budget]
    rows = []
    for method, g in runs.groupby("method", sort=False):
        e = g["epochs_to_optimum"].to_numpy(float)
        found = np.isfinite(e)
        filled = np.where(found, e, np.inf)
        med = np.median(filled)
        rows.append({"method": method, "seeds": len(g), f"found within {_fmt(budget)}": f"{found.sum()}/{len(g)}",
                     "median epochs to optimum": _fmt(med) if np.isfinite(med) else f">{_fmt(budget)}",
                     "worst seed": _fmt(filled.max()) if found.all() else f">{_fmt(budget)}",
                     "mean full evals": round(g["full_evals"].mean(), 1),
                     "mean 12-epoch evals": round(g["low_evals"].mean(), 1),
                     "mean best full": round(g["best_full"].mean(), 3),
                     "issue calibration": CALIBRATION.get(method, ""),
                     "mean seconds": round(g["seconds"].mean(), 1)})
    table = pd.DataFrame(rows)
    text = (f"## NB201 multi-fidelity search (nb201_mf: 12 -> 200 epochs, cost = epochs)\n\n"
            f"Epochs spent until the optimum (94.0664) is evaluated at full fidelity, budget "
            f"{_fmt(budget)} epochs per run. Made by `python benchmarks/multifidelity.py --part search` "
            f"(methods and their settings: the script's docstring).\n\n" + table.to_markdown(index=False) + "\n")
    (RESULTS / "multifidelity_search.md").write_text(text)
    _plot(budget)
    return text


def _plot(budget: float) -> None:
    if not CURVES_CSV.exists():
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    c = pd.read_csv(CURVES_CSV)
    c = c[c["budget"] == budget]
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    for method, g in c.groupby("method", sort=False):
        # median over seeds, a seed without a full result yet counting as lowest
        m = g.assign(b=g["best_full"].fillna(-np.inf)).groupby("epochs")["b"].median()
        m = m[np.isfinite(m)]
        ax.step(m.index, m.values, where="post", label=f"{method} ({g['seed'].nunique()} seeds)")
    ax.axhline(OPTIMUM, color="k", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(92.5, 94.2)
    ax.set_xlabel("epochs spent (12 per short run, 200 per full one)")
    ax.set_ylabel("median best full-fidelity test accuracy")
    ax.set_title("NB201 CIFAR-10, nb201_mf (12 -> 200 epochs)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / "multifidelity_search.png", dpi=130)
    plt.close(fig)


def run_search(methods: list[str], seeds: list[int], budget: float, n_jobs: int) -> None:
    jobs = [(m, s, budget) for m in methods for s in seeds]
    for row, curve in parallel_map(one_run, jobs, n_jobs):
        _replace_rows(RUNS_CSV, pd.DataFrame([row]))
        _replace_rows(CURVES_CSV, curve)
        e = row["epochs_to_optimum"]
        found = f"optimum after {_fmt(e)} epochs" if np.isfinite(e) else f"optimum not found in {_fmt(budget)} epochs"
        print(f"{row['method']} seed {row['seed']}: {found} ({row['full_evals']} full, {row['low_evals']} at 12), "
              f"{row['seconds']:.0f} s", flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=["search", "predictors"], default="search")
    p.add_argument("--methods", help=f"comma-separated, from {', '.join(METHODS)} (default all)")
    p.add_argument("--seeds", type=int, default=30, help="seeds 0..N-1 (default 30)")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--budget", type=float, default=200_000, help="epochs per run (default 200,000)")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel, one core each (default 1)")
    p.add_argument("--report-only", action="store_true", help="only rewrite the table and plot")
    args, rest = p.parse_known_args(argv)
    if args.part == "predictors":
        try:
            from multifidelity_predictors import main as predictors_main
        except ImportError:
            print("the predictors part lives in benchmarks/multifidelity_predictors.py, which is not here")
            return 2
        return int(predictors_main(rest) or 0)
    if rest:
        p.error(f"unrecognised arguments: {' '.join(rest)}")
    set_threads(1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        methods = args.methods.split(",") if args.methods else list(METHODS)
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            p.error(f"unknown methods {unknown}; known: {', '.join(METHODS)}")
        run_search(methods, list(range(args.first_seed, args.first_seed + args.seeds)), args.budget, args.jobs)
    print(summarise(args.budget))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
