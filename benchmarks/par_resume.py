"""Kill -9 and resume: is a resumed run the run that was never interrupted?

    python benchmarks/par_resume.py                         # every strategy serially, then 2 workers
    python benchmarks/par_resume.py --part serial --repeats 3
    python benchmarks/par_resume.py --part parallel --executors local

For each strategy of ``naspredict.search.strategy_names()`` (NB201-CIFAR-10 /
baseline_accuracy; ``mobo`` on nbgraph-cora, valid_perf max / latency min), with small
settings so a run takes seconds to a minute:

1. an uninterrupted run: a driver process (this script with ``--driver``) calls
   ``naspredict.search.loop.run`` with a ``ResultsStore``;
2. the same run in a new driver, killed with SIGKILL once the store holds ``k`` finished
   trials (``k`` drawn uniformly in ``[2, budget - 3]``) plus a random delay (uniform in
   ``[0, 2 x evaluation delay]``), both from ``numpy.random.default_rng([repeat, row])``, so
   the kill lands during an evaluation, a proposal or a commit; the store is polled read-only;
3. a third driver resumes it (``resume=True``) to the budget.

Every evaluation appends ``phase<TAB>arch`` to a side file when it starts (one O_APPEND
write), and each evaluation sleeps a fixed delay (0.05 s serial, 0.2 s with 2 workers) after
reading the table.  Reported per strategy: the kill point, whether the resumed trace (archs
in arrival order, from the store) equals the uninterrupted one, evaluator calls on resume
(against ``budget - finished at the kill``: the trial running at the kill is dispatched
again), finished trials evaluated again, and architectures (canonical form) in two trials.

Then 2-worker rows: random search and regularized evolution through the local process pool
and Ray (2 CPUs), killed and resumed the same way: trials lost (finished before the kill and
missing or changed after, or never finished), archs in two trials, finished trials evaluated
again.  With 2 workers arrival order depends on timing, so trace equality is not required
there (it is not measured).

Per-row results: results/parallel_resume_runs.csv (rows already there are skipped); table:
results/parallel_resume.md.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from naspredict._testing import LoggedEvaluator, alive, descendants  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
RUNS_CSV = RESULTS / "parallel_resume_runs.csv"
TABLE = RESULTS / "parallel_resume.md"
NB201 = ("nb201-cifar10", ["baseline_accuracy"], ["max"])
CORA = ("nbgraph-cora", ["valid_perf", "latency"], ["max", "min"])
TINY_NAO = {"epochs": 1, "min_steps": 20, "hidden_size": 16, "embedding_size": 8, "mlp_hidden": 16}

#: strategy -> (benchmark, params, budget)
SERIAL_CASES: dict[str, tuple[tuple, dict, int]] = {
    "random": (NB201, {}, 40),
    "evolution": (NB201, {"population_size": 10, "sample_size": 4}, 40),
    "local": (NB201, {"n_initial": 5}, 40),
    "predictor-evolution": (NB201, {"predictor": "rf", "predictor_params": {"n_estimators": 20},
                                    "n_initial": 5, "n_mutations": 10}, 30),
    "bo": (NB201, {"predictor": "gp"}, 25),
    "nao": (NB201, {"predictor_params": TINY_NAO, "n_initial": 5, "n_parents": 3}, 20),
    "rl": (NB201, {}, 40),
    "mobo": (CORA, {"n_initial": 4, "max_candidates": 64, "mc_samples": 16, "fit_maxiter": 30}, 20),
}
PARALLEL_STRATEGIES = ("random", "evolution")
PARALLEL_BUDGET = 40
SERIAL_DELAY = 0.05
PARALLEL_DELAY = 0.2
RUN = "r"
_FINISHED = ("complete", "pruned", "failed")


# ---- what runs in the driver (and in its workers) ------------------------------------------------

def _strategy_params(name: str) -> tuple[tuple, dict, int]:
    if name in SERIAL_CASES:
        return SERIAL_CASES[name]
    raise ValueError(f"no settings for strategy {name!r} in par_resume.SERIAL_CASES")


def driver(argv) -> int:
    """One run of ``loop.run`` with a store (a subprocess of the benchmark)."""
    p = argparse.ArgumentParser(prog="par_resume.py --driver")
    p.add_argument("--store", required=True)
    p.add_argument("--strategy", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", type=int, required=True)
    p.add_argument("--executor", default="serial", choices=["serial", "local", "ray"])
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--phase", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--delay", type=float, default=SERIAL_DELAY)
    p.add_argument("--resume", action="store_true")
    a = p.parse_args(argv)
    from naspredict import data
    from naspredict.evaluators import DelayedEvaluator, as_evaluator
    from naspredict.executors import make_executor
    from naspredict.search import make_strategy
    from naspredict.search.loop import run
    from naspredict.store import ResultsStore

    (bench_name, targets, dirs), params, _ = _strategy_params(a.strategy)
    bench = data.load(bench_name)
    ev = DelayedEvaluator(LoggedEvaluator(as_evaluator(bench, targets), a.log, a.phase), seconds=a.delay)
    s = make_strategy(a.strategy, bench.space, targets if len(targets) > 1 else targets[0],
                      dirs if len(dirs) > 1 else dirs[0], seed=a.seed, **params)
    kw = {"init_kwargs": {"num_cpus": a.workers, "include_dashboard": False}} if a.executor == "ray" else {}
    ex = make_executor(a.executor, a.workers, **kw)
    store = ResultsStore(a.store)
    try:
        run(s, ev, a.budget, executor=ex, store=store, run_name=RUN, resume=a.resume, progress=False)
    finally:
        ex.shutdown()
        store.close()
    print("finished", len(s.history), flush=True)
    return 0


# ---- the benchmark side -------------------------------------------------------------------------

def _env() -> dict:
    path = os.pathsep.join(p for p in (str(ROOT), str(HERE), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1"}


def _launch(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "par_resume.py"), "--driver", *args], cwd=ROOT,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen, timeout: float) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise RuntimeError(f"driver did not finish in {timeout} s:\n{out[-3000:]}")
    if proc.returncode != 0:
        raise RuntimeError(f"driver exited {proc.returncode}:\n{out[-3000:]}")
    return out


def _counts(db: Path) -> tuple[int, int]:
    """(finished, unfinished) trials in the store, read-only; (0, 0) before it exists."""
    if not db.exists():
        return 0, 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
        try:
            rows = con.execute("SELECT state, COUNT(*) FROM trials GROUP BY state").fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return 0, 0
    fin = sum(n for s, n in rows if s in _FINISHED)
    return fin, sum(n for s, n in rows if s not in _FINISHED)


def _stored(db: Path) -> tuple[list, list]:
    """(finished trials in arrival order, unfinished ones)."""
    from naspredict.store import ResultsStore
    with ResultsStore(db) as store:
        if store.get_run(RUN) is None:
            return [], []
        return store.trials(RUN, finished=True), store.trials(RUN, finished=False)


def _log(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split("\t")) for line in path.read_text().splitlines()] if path.exists() else []


def _kill_left_behind(pids: set[int]) -> int:
    n = 0
    for pid in pids:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
                n += 1
            except OSError:
                pass
    return n


def _canonical(strategy: str):
    from naspredict import data
    (bench_name, _, _), _, _ = _strategy_params(strategy)
    space = data.load(bench_name).space
    return lambda s: space.canonical(space.from_str(s))


def _kill_and_resume(work: Path, strategy: str, seed: int, budget: int, executor: str, workers: int,
                     delay: float, k: int, extra_delay: float, timeout: float) -> dict:
    db, log = work / "killed.db", work / "killed.log"
    common = ["--store", str(db), "--strategy", strategy, "--seed", str(seed), "--budget", str(budget),
              "--executor", executor, "--workers", str(workers), "--log", str(log), "--delay", str(delay)]
    t0 = time.perf_counter()
    first = _launch([*common, "--phase", "first"])
    left_behind: set[int] = set()
    try:
        deadline = time.monotonic() + timeout
        while True:
            if first.poll() is not None:
                raise RuntimeError(f"the driver ended before the kill (k={k}):\n{first.stdout.read()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {k} finished trials within {timeout} s")
            if _counts(db)[0] >= k:
                break
            time.sleep(0.005)
        time.sleep(extra_delay)
        left_behind = descendants(first.pid)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    t_first = time.perf_counter() - t0
    before_done, before_open = _stored(db)
    n_log_first = len(_log(log))
    t1 = time.perf_counter()
    try:
        out = _finish(_launch([*common, "--phase", "resume", "--resume"]), timeout)
    finally:
        stray = _kill_left_behind(left_behind)
    t_resume = time.perf_counter() - t1
    final_done, final_open = _stored(db)
    evals = _log(log)
    canon = _canonical(strategy)

    done_archs = {t.arch for t in before_done}
    resumed = [a for ph, a in evals if ph == "resume"]
    final_by_id = {t.id: t for t in final_done}
    lost = sum(1 for t in before_done
               if t.id not in final_by_id or final_by_id[t.id].arch != t.arch
               or final_by_id[t.id].result.to_dict() != t.result.to_dict())
    lost += sum(1 for t in before_open if t.id not in final_by_id)
    keys = [canon(t.arch) for t in final_done + final_open]
    return {
        "finished_at_kill": len(before_done), "running_at_kill": len(before_open),
        "first_phase_evaluations": n_log_first,
        "resume_evaluations": len(resumed), "expected_resume_evaluations": budget - len(before_done),
        "finished_rerun": sum(1 for a in resumed if a in done_archs),
        "redispatched": sum(1 for t in before_open if t.id in final_by_id and final_by_id[t.id].arch == t.arch),
        "lost": lost, "duplicate_archs": len(keys) - len(set(keys)),
        "final_finished": len(final_done), "final_unfinished": len(final_open),
        "trace": json.dumps([t.arch for t in final_done]),
        "stray_processes_killed": stray, "seconds_first": round(t_first, 1),
        "seconds_resume": round(t_resume, 1), "resume_output": out.strip().splitlines()[-1] if out.strip() else "",
    }


def _straight(work: Path, strategy: str, seed: int, budget: int, delay: float, timeout: float) -> tuple[list, float]:
    db, log = work / "straight.db", work / "straight.log"
    t0 = time.perf_counter()
    _finish(_launch(["--store", str(db), "--strategy", strategy, "--seed", str(seed), "--budget", str(budget),
                     "--phase", "straight", "--log", str(log), "--delay", str(delay)]), timeout)
    done, _ = _stored(db)
    return [t.arch for t in done], time.perf_counter() - t0


def _kill_point(repeat: int, row: int, budget: int, delay: float) -> tuple[int, float]:
    rng = np.random.default_rng([repeat, row])
    return int(rng.integers(2, budget - 2)), float(rng.uniform(0.0, 2 * delay))


def serial_row(strategy: str, repeat: int, timeout: float) -> dict:
    from naspredict.search import strategy_names
    (bench_name, targets, dirs), params, budget = _strategy_params(strategy)
    k, extra = _kill_point(repeat, strategy_names().index(strategy), budget, SERIAL_DELAY)
    with tempfile.TemporaryDirectory(prefix="par_resume_") as tmp:
        work = Path(tmp)
        straight, t_straight = _straight(work, strategy, repeat, budget, SERIAL_DELAY, timeout)
        r = _kill_and_resume(work, strategy, repeat, budget, "serial", 1, SERIAL_DELAY, k, extra, timeout)
    resumed = json.loads(r["trace"])
    diff = next((i for i, (a, b) in enumerate(zip(resumed, straight)) if a != b), None)
    if diff is None and len(resumed) != len(straight):
        diff = min(len(resumed), len(straight))
    return {"part": "serial", "executor": "serial", "workers": 1, "strategy": strategy, "seed": repeat,
            "benchmark": bench_name, "targets": ",".join(targets), "params": json.dumps(params, sort_keys=True),
            "budget": budget, "delay": SERIAL_DELAY, "kill_after_k": k, "kill_extra_delay_s": round(extra, 3),
            "equal_trace": diff is None, "first_difference": "" if diff is None else diff + 1,
            "seconds_straight": round(t_straight, 1), "straight_trace": json.dumps(straight), **r}


def parallel_row(executor: str, strategy: str, repeat: int, timeout: float) -> dict:
    (bench_name, targets, dirs), params, _ = _strategy_params(strategy)
    budget = PARALLEL_BUDGET
    row = 100 + 10 * ("local", "ray").index(executor) + PARALLEL_STRATEGIES.index(strategy)
    k, extra = _kill_point(repeat, row, budget, PARALLEL_DELAY)
    with tempfile.TemporaryDirectory(prefix="par_resume_") as tmp:
        r = _kill_and_resume(Path(tmp), strategy, repeat, budget, executor, 2, PARALLEL_DELAY, k, extra, timeout)
    return {"part": "parallel", "executor": executor, "workers": 2, "strategy": strategy, "seed": repeat,
            "benchmark": bench_name, "targets": ",".join(targets), "params": json.dumps(params, sort_keys=True),
            "budget": budget, "delay": PARALLEL_DELAY, "kill_after_k": k, "kill_extra_delay_s": round(extra, 3),
            "equal_trace": "", "first_difference": "", "seconds_straight": "", "straight_trace": "", **r}


def _done() -> set[tuple]:
    if not RUNS_CSV.exists():
        return set()
    df = pd.read_csv(RUNS_CSV)
    return {(r.part, r.executor, r.strategy, int(r.seed)) for r in df.itertuples()}


def _append(row: dict) -> None:
    pd.DataFrame([row]).to_csv(RUNS_CSV, mode="a", header=not RUNS_CSV.exists(), index=False)


def summarise() -> str:
    runs = pd.read_csv(RUNS_CSV)
    out = ["## Kill -9 and resume (benchmarks/par_resume.py)\n",
           "A driver process runs `naspredict.search.loop.run` with a `ResultsStore`; it gets SIGKILL once the "
           "store holds `k` finished trials plus a random extra delay, and a new driver resumes the run "
           "(`resume=True`) to its budget. Each evaluation reads the real table, then sleeps "
           f"{SERIAL_DELAY} s (serial) / {PARALLEL_DELAY} s (2 workers); every evaluation start is logged to a "
           "side file. Kill points: `k` uniform in [2, budget-3], extra delay uniform in [0, 2 x delay], from "
           "`numpy.random.default_rng([seed, row])`. 'at kill' = finished + running trials in the store when "
           "the kill landed. 'resume evals' = evaluator calls of the resumed driver (expected: budget minus "
           "finished at the kill). 'finished re-run' = resumed evaluations of archs finished before the kill. "
           "'dup archs' = trials sharing a canonical arch in the final store.\n"]
    s = runs[runs["part"] == "serial"]
    if len(s):
        rows = []
        for r in s.itertuples():
            rows.append({"strategy": r.strategy, "seed": r.seed, "benchmark / targets": f"{r.benchmark} / {r.targets}",
                         "settings": _short(r.params), "budget": r.budget,
                         "kill after k finished (+ delay)": f"{r.kill_after_k} (+{r.kill_extra_delay_s * 1000:.0f} ms)",
                         "at kill: finished + running": f"{r.finished_at_kill} + {r.running_at_kill}",
                         "equal trace": "yes" if _true(r.equal_trace) else f"NO (first differs at {r.first_difference})",
                         "resume evals / expected": f"{r.resume_evaluations} / {r.expected_resume_evaluations}",
                         "finished re-run": r.finished_rerun, "lost": r.lost, "dup archs": r.duplicate_archs,
                         "s straight / killed / resumed": f"{r.seconds_straight:.0f} / {r.seconds_first:.0f} / "
                                                          f"{r.seconds_resume:.0f}"})
        out.append("### Serial: every strategy, resumed trace against the uninterrupted run\n")
        out.append(pd.DataFrame(rows).to_markdown(index=False) + "\n")
        n_eq = int(s["equal_trace"].map(_true).sum())
        out.append(f"Equal traces: {n_eq}/{len(s)} runs; finished trials re-run: {int(s['finished_rerun'].sum())}; "
                   f"lost: {int(s['lost'].sum())}; duplicate archs: {int(s['duplicate_archs'].sum())}.\n")
    p = runs[runs["part"] == "parallel"]
    if len(p):
        rows = []
        for r in p.itertuples():
            rows.append({"executor": f"{r.executor} ({r.workers} workers)", "strategy": r.strategy, "seed": r.seed,
                         "settings": _short(r.params), "budget": r.budget,
                         "kill after k finished (+ delay)": f"{r.kill_after_k} (+{r.kill_extra_delay_s * 1000:.0f} ms)",
                         "at kill: finished + running": f"{r.finished_at_kill} + {r.running_at_kill}",
                         "lost trials": r.lost, "repeated archs": r.duplicate_archs,
                         "completed re-run": r.finished_rerun,
                         "running re-dispatched": f"{r.redispatched}/{r.running_at_kill}",
                         "resume evals / expected": f"{r.resume_evaluations} / {r.expected_resume_evaluations}",
                         "final finished / budget": f"{r.final_finished} / {r.budget}",
                         "s killed / resumed": f"{r.seconds_first:.0f} / {r.seconds_resume:.0f}"})
        out.append("### 2 workers: local process pool and Ray (2 CPUs), kill and resume\n")
        out.append(pd.DataFrame(rows).to_markdown(index=False) + "\n")
        out.append(f"Goal 0 / 0 / 0 (lost / repeated / completed re-run): totals {int(p['lost'].sum())} / "
                   f"{int(p['duplicate_archs'].sum())} / {int(p['finished_rerun'].sum())} over {len(p)} runs. "
                   "Arrival order with 2 workers depends on timing, so traces are not compared.\n")
    out.append("Per-row data (traces included): parallel_resume_runs.csv.\n")
    text = "\n".join(out)
    TABLE.write_text(text)
    return text


def _true(v) -> bool:
    return v is True or str(v).strip().lower() == "true"


def _short(params: str) -> str:
    d = json.loads(params)
    return ", ".join(f"{k}={v}" for k, v in d.items()) or "defaults"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--driver"]:
        return driver(argv[1:])
    from naspredict.search import strategy_names
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=["serial", "parallel", "both"], default="both")
    p.add_argument("--strategies", help="comma-separated (default: all of strategy_names() for serial, "
                                        f"{', '.join(PARALLEL_STRATEGIES)} for 2 workers)")
    p.add_argument("--executors", default="local,ray", help="2-worker executors (default local,ray)")
    p.add_argument("--repeats", type=int, default=1, help="kill points per row: seeds 0..N-1 (default 1)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per driver")
    p.add_argument("--summary-only", action="store_true")
    args = p.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    names = strategy_names()
    missing = [n for n in names if n not in SERIAL_CASES]
    if missing:
        p.error(f"strategies without settings here: {missing}")
    wanted = args.strategies.split(",") if args.strategies else None
    if not args.summary_only:
        done = _done()
        t0 = time.perf_counter()
        if args.part in ("serial", "both"):
            for strategy in (wanted or names):
                for rep in range(args.repeats):
                    if ("serial", "serial", strategy, rep) in done:
                        continue
                    row = serial_row(strategy, rep, args.timeout)
                    _append(row)
                    print(f"serial {strategy} seed {rep}: kill at {row['finished_at_kill']}+{row['running_at_kill']}, "
                          f"equal trace {row['equal_trace']}, resume evals {row['resume_evaluations']}/"
                          f"{row['expected_resume_evaluations']}, re-run {row['finished_rerun']}, "
                          f"dups {row['duplicate_archs']} [{time.perf_counter() - t0:.0f} s]", flush=True)
        if args.part in ("parallel", "both"):
            for executor in args.executors.split(","):
                for strategy in [s for s in (wanted or PARALLEL_STRATEGIES) if s in PARALLEL_STRATEGIES]:
                    for rep in range(args.repeats):
                        if ("parallel", executor, strategy, rep) in done:
                            continue
                        row = parallel_row(executor, strategy, rep, args.timeout)
                        _append(row)
                        print(f"{executor} x2 {strategy} seed {rep}: kill at {row['finished_at_kill']}+"
                              f"{row['running_at_kill']}, lost {row['lost']}, dups {row['duplicate_archs']}, "
                              f"re-run {row['finished_rerun']} [{time.perf_counter() - t0:.0f} s]", flush=True)
    print(summarise())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
