"""Trial store (SQLite, stdlib, WAL): runs, their trials with states, and strategy state.

Schema v2 (``PRAGMA user_version = 2``):

- ``runs(run_id, name, space, config, created, strategy_state)``: ``strategy_state`` is the
  pickled :meth:`Strategy.state_dict` after the latest ask or tell;
- ``trials(trial_id, run_id, number, arch, fidelity, state, metrics, curves, cost, info,
  error, parent, worker, started, finished, seq)``: ``number`` is the trial's id in its run,
  ``seq`` the order in which finished trials arrived (the order they were told);
- ``intermediate(trial_id, step, metrics)``: per-epoch values reported by the evaluator.

Only the driver (:func:`naspredict.search.loop.run`) writes.  A trial is inserted as
``running``, together with the strategy state that proposed it, in one transaction before
it is dispatched; its result and the strategy state after telling it are committed together
when it arrives.  So a run killed at any point (even with SIGKILL) loses no finished trial,
and the stored state always matches the stored trials: a resume re-dispatches exactly the
trials that never finished.  A ``runs.db`` of version 1 (an ``evaluations`` table) is
migrated in place when opened.

``arch`` is the space's canonical string; ``metrics``, ``curves`` and ``info`` are JSON.
Strategy states are pickles: open only stores you trust.
"""
from __future__ import annotations

import json
import math
import pickle
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd

from .trials import Fidelity, Result, Trial, TrialState

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT UNIQUE NOT NULL,
    space TEXT NOT NULL,
    config TEXT NOT NULL,
    created REAL NOT NULL,
    strategy_state BLOB
);
CREATE TABLE IF NOT EXISTS trials (
    trial_id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    number INTEGER NOT NULL,
    arch TEXT NOT NULL,
    fidelity TEXT NOT NULL DEFAULT 'full',
    state TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    curves TEXT NOT NULL DEFAULT '{}',
    cost REAL,
    info TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    parent INTEGER,
    worker TEXT,
    started REAL,
    finished REAL,
    seq INTEGER,
    UNIQUE(run_id, number)
);
CREATE INDEX IF NOT EXISTS trials_run_seq ON trials(run_id, seq);
CREATE TABLE IF NOT EXISTS intermediate (
    trial_id INTEGER NOT NULL REFERENCES trials(trial_id),
    step INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    PRIMARY KEY (trial_id, step)
);
"""

_FINISHED = tuple(s.value for s in TrialState if s.finished)


def _dumps(obj) -> str:
    """JSON with NaN/inf as null (strict JSON readers choke on NaN)."""
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return json.dumps(clean(obj), sort_keys=True, default=str)


def _metrics_from_json(text: str | None) -> dict[str, float]:
    return {k: (math.nan if v is None else v) for k, v in json.loads(text or "{}").items()}


def _curves_from_json(text: str | None) -> dict[str, list[float]]:
    return {k: [math.nan if v is None else v for v in c] for k, c in json.loads(text or "{}").items()}


class ResultsStore:
    """A SQLite file of runs, their trials and the strategies' saved state.

    >>> store = ResultsStore("runs.db")
    >>> run = store.create_run("bo-1", "nb201", {"strategy": "bo"})
    >>> store.add(run, arch_string, result)        # one finished trial, committed at once
    >>> store.frame("bo-1")                        # the run as a tidy frame

    The run loop uses :meth:`start_trials` and :meth:`finish_trials`.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives a crash or kill -9 of the process (only a power cut
        # can lose the last commits); FULL's extra disk sync per commit cost ~8 ms per trial
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "ResultsStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------------
    def _tables(self) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ValueError(f"{self.path} was written by a newer naspredict (store schema {version}, "
                             f"this one reads {SCHEMA_VERSION}); upgrade naspredict")
        if version == SCHEMA_VERSION:
            return
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            tables = self._tables()
            if "runs" in tables:
                cols = {r[1] for r in self._conn.execute("PRAGMA table_info(runs)")}
                if "strategy_state" not in cols:
                    self._conn.execute("ALTER TABLE runs ADD COLUMN strategy_state BLOB")
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    self._conn.execute(stmt)
            if "evaluations" in tables:  # version 1: one row per finished evaluation
                rows = self._conn.execute(
                    "SELECT run_id, seq, arch, metrics, curve, status, seconds, timestamp "
                    "FROM evaluations ORDER BY run_id, seq").fetchall()
                for run_id, seq, arch, metrics, curve, status, seconds, ts in rows:
                    state = {"ok": "complete"}.get(status, status)
                    curves = "{}" if curve is None else _dumps({"curve": json.loads(curve)})
                    self._conn.execute(
                        "INSERT INTO trials(run_id, number, arch, fidelity, state, metrics, curves, cost, "
                        "info, started, finished, seq) VALUES (?, ?, ?, 'full', ?, ?, ?, ?, '{}', ?, ?, ?)",
                        (run_id, seq, arch, state, metrics, curves, seconds, ts, ts, seq))
                self._conn.execute("DROP TABLE evaluations")
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- runs -------------------------------------------------------------------------------
    def create_run(self, name: str, space: str, config: dict[str, Any]) -> int:
        """A new run; ``ValueError`` if the name is taken (use :meth:`get_run` to resume)."""
        try:
            cur = self._conn.execute(
                "INSERT INTO runs(name, space, config, created) VALUES (?, ?, ?, ?)",
                (name, space, _dumps(config), time.time()))
        except sqlite3.IntegrityError:
            raise ValueError(f"a run named {name!r} already exists in {self.path}; pass "
                             f"--resume to continue it or choose another --run name") from None
        return int(cur.lastrowid)

    def get_run(self, name: str) -> dict[str, Any] | None:
        """``run_id, name, space, config, created`` of a run, or ``None``."""
        row = self._conn.execute("SELECT run_id, name, space, config, created FROM runs WHERE name = ?",
                                 (name,)).fetchone()
        if row is None:
            return None
        return {"run_id": row[0], "name": row[1], "space": row[2], "config": json.loads(row[3]),
                "created": row[4]}

    def update_config(self, run: int | str, config: dict[str, Any]) -> None:
        """Replace a run's config (e.g. a resumed run's larger budget)."""
        self._conn.execute("UPDATE runs SET config = ? WHERE run_id = ?", (_dumps(config), self._run_id(run)))

    def runs(self) -> pd.DataFrame:
        """One row per run: name, space, strategy, benchmark, evaluations (finished trials),
        per-state counts (complete, pruned, failed, running) and created."""
        counts: dict[int, dict[str, int]] = {}
        for run_id, state, n in self._conn.execute(
                "SELECT run_id, state, COUNT(*) FROM trials GROUP BY run_id, state"):
            counts.setdefault(run_id, {})[state] = n
        out = []
        for run_id, name, space, config, created in self._conn.execute(
                "SELECT run_id, name, space, config, created FROM runs ORDER BY run_id"):
            cfg = json.loads(config)
            c = counts.get(run_id, {})
            out.append({"run_id": run_id, "name": name, "space": space,
                        "strategy": cfg.get("strategy", ""), "benchmark": cfg.get("benchmark", ""),
                        "evaluations": sum(c.get(s, 0) for s in _FINISHED),
                        "complete": c.get("complete", 0), "pruned": c.get("pruned", 0),
                        "failed": c.get("failed", 0),
                        "running": c.get("running", 0) + c.get("waiting", 0),
                        "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created))})
        return pd.DataFrame(out, columns=["run_id", "name", "space", "strategy", "benchmark", "evaluations",
                                          "complete", "pruned", "failed", "running", "created"])

    def strategy_state(self, run: int | str) -> Any | None:
        """The run's saved strategy state (unpickled), or ``None`` when none was saved."""
        row = self._conn.execute("SELECT strategy_state FROM runs WHERE run_id = ?",
                                 (self._run_id(run),)).fetchone()
        return None if row is None or row[0] is None else pickle.loads(row[0])

    # -- trials (the run loop) -------------------------------------------------------------------
    def next_number(self, run_id: int) -> int:
        """The next free trial number of a run."""
        return int(self._conn.execute("SELECT COALESCE(MAX(number), -1) + 1 FROM trials WHERE run_id = ?",
                                      (run_id,)).fetchone()[0])

    def start_trials(self, run_id: int, trials: Iterable[Trial], strategy_state: Any = None, *,
                     redispatch: bool = False) -> None:
        """Record trials as ``running`` before they are dispatched, with the strategy state
        that proposed them, in one transaction.  ``redispatch=True`` marks trials of an
        interrupted run (already stored) as started again."""
        trials = list(trials)
        for t in trials:
            if not isinstance(t.arch, str):
                raise TypeError(f"store trials with the arch as its space string (space.to_str), "
                                f"got {type(t.arch).__name__}")
        now = time.time()
        blob = None if strategy_state is None else pickle.dumps(strategy_state, protocol=pickle.HIGHEST_PROTOCOL)
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            for t in trials:
                if redispatch:
                    self._conn.execute("UPDATE trials SET state = 'running', started = ? WHERE run_id = ? "
                                       "AND number = ?", (now, run_id, t.id))
                else:
                    self._conn.execute(
                        "INSERT INTO trials(run_id, number, arch, fidelity, state, parent, started) "
                        "VALUES (?, ?, ?, ?, 'running', ?, ?)",
                        (run_id, t.id, t.arch,
                         t.fidelity.key(), t.parent, now))
            if blob is not None:
                self._conn.execute("UPDATE runs SET strategy_state = ? WHERE run_id = ?", (blob, run_id))

    def finish_trials(self, run_id: int, trials: Iterable[Trial], strategy_state: Any = None) -> None:
        """Record finished trials (their results and per-epoch values) and the strategy state
        after telling them, in one transaction."""
        trials = list(trials)
        now = time.time()
        blob = None if strategy_state is None else pickle.dumps(strategy_state, protocol=pickle.HIGHEST_PROTOCOL)
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            seq = self._conn.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM trials WHERE run_id = ?",
                                     (run_id,)).fetchone()[0]
            for t in trials:
                r = t.result
                if r is None:
                    raise ValueError(f"trial {t.id} has no result to store")
                cur = self._conn.execute(
                    "UPDATE trials SET state = ?, metrics = ?, curves = ?, cost = ?, info = ?, error = ?, "
                    "worker = ?, finished = ?, seq = ? WHERE run_id = ? AND number = ?",
                    (r.state.value, _dumps(r.metrics), _dumps(r.curves), float(r.cost), _dumps(r.info),
                     r.error, r.info.get("worker", t.worker), now, seq, run_id, t.id))
                if cur.rowcount != 1:
                    raise ValueError(f"trial {t.id} of run {run_id} was never started in {self.path}")
                trial_id = self._conn.execute("SELECT trial_id FROM trials WHERE run_id = ? AND number = ?",
                                              (run_id, t.id)).fetchone()[0]
                self._conn.executemany(
                    "INSERT OR REPLACE INTO intermediate(trial_id, step, metrics) VALUES (?, ?, ?)",
                    [(trial_id, step, _dumps(m)) for step, m in _steps(r.curves)])
                seq += 1
            if blob is not None:
                self._conn.execute("UPDATE runs SET strategy_state = ? WHERE run_id = ?", (blob, run_id))

    def trials(self, run: int | str, *, finished: bool | None = None) -> list[Trial]:
        """A run's trials (arch as the stored string).  ``finished=True``: finished ones in
        arrival order; ``False``: unfinished ones by number; ``None``: all by number."""
        run_id = self._run_id(run)
        where, order = "", "number"
        if finished is True:
            where, order = f"AND state IN {_FINISHED}", "seq"
        elif finished is False:
            where = f"AND state NOT IN {_FINISHED}"
        out = []
        for (number, arch, fid, state, metrics, curves, cost, info, error, parent, worker) in self._conn.execute(
                "SELECT number, arch, fidelity, state, metrics, curves, cost, info, error, parent, worker "
                f"FROM trials WHERE run_id = ? {where} ORDER BY {order}", (run_id,)):
            fidelity = Fidelity.from_key(fid)
            t = Trial(number, arch, fidelity, TrialState(state), parent=parent, worker=worker)
            if t.state.finished:
                t.result = Result(_metrics_from_json(metrics), _curves_from_json(curves), cost or 0.0,
                                  fidelity, state, error, json.loads(info or "{}"))
            out.append(t)
        return out

    def intermediate(self, run: int | str, number: int) -> pd.DataFrame:
        """Per-epoch values of one trial: ``step`` and one column per reported metric."""
        rows = self._conn.execute(
            "SELECT i.step, i.metrics FROM intermediate i JOIN trials t ON t.trial_id = i.trial_id "
            "WHERE t.run_id = ? AND t.number = ? ORDER BY i.step", (self._run_id(run), number)).fetchall()
        return pd.DataFrame([{"step": s, **_metrics_from_json(m)} for s, m in rows])

    # -- finished trials, by hand --------------------------------------------------------------
    def add(self, run_id: int, arch: str, result: Result, fidelity: Fidelity | None = None) -> int:
        """Store one finished trial evaluated outside the run loop; returns its number."""
        fid = fidelity or result.fidelity
        number = self.next_number(run_id)
        t = Trial(number, arch, fid)
        self.start_trials(run_id, [t])
        self.finish_trials(run_id, [t.finish(result)])
        return number

    def evaluations(self, run_id: int | str) -> Iterator[tuple[str, Result]]:
        """``(arch string, Result)`` of a run's finished trials, in arrival order."""
        for t in self.trials(run_id, finished=True):
            yield t.arch, t.result

    def frame(self, run: int | str) -> pd.DataFrame:
        """A run's finished trials as a tidy frame, in arrival order: ``seq, trial, arch,
        fidelity, state, <metrics...>, cost, curves, worker``."""
        rows = []
        for seq, t in enumerate(self.trials(run, finished=True)):
            r = t.result
            rows.append({"seq": seq, "trial": t.id, "arch": t.arch, "fidelity": t.fidelity.key(),
                         "state": r.state.value, **r.metrics, "cost": r.cost, "curves": r.curves,
                         "worker": r.info.get("worker")})
        return pd.DataFrame(rows)

    def export(self, run: int | str, path: str | Path) -> Path:
        """Write a run as logged results (CSV, parquet or JSON lines, by suffix) that
        :func:`naspredict.data.read_results` loads back: complete trials with their
        trial number, ``fidelity`` and ``state`` (bookkeeping columns the reader skips) and
        their named ``curves`` (failed and pruned trials are left out: they carry no final
        metrics)."""
        from .data.logged import write_frame  # the logged-results layout lives with the readers
        df = self.frame(run)
        if len(df) == 0:
            raise ValueError(f"run {run!r} has no finished trials to export")
        df = df[df["state"] == "complete"].copy()
        if not any(df["curves"].map(bool)):
            df = df.drop(columns=["curves"])
        df = df.drop(columns=["seq", "worker"])
        return write_frame(df, path)

    # -- helpers -------------------------------------------------------------------------------
    def _run_id(self, run: int | str) -> int:
        if isinstance(run, int):
            return run
        info = self.get_run(run)
        if info is None:
            raise ValueError(f"no run named {run!r} in {self.path}; see `naspredict runs --store {self.path}`")
        return int(info["run_id"])


def _steps(curves: dict[str, list[float]]) -> list[tuple[int, dict[str, float]]]:
    """Per-epoch rows ``(step, {curve: value})`` (steps from 1) of a result's curves."""
    n = max((len(c) for c in curves.values()), default=0)
    return [(i + 1, {k: c[i] for k, c in curves.items() if i < len(c)}) for i in range(n)]
