"""Trial store (SQLite, stdlib, WAL): runs, their trials with states, and strategy state.

Schema v3 (``PRAGMA user_version = 3``):

- ``runs(run_id, name, space, config, created, strategy_state)``: ``strategy_state`` is the
  pickled :meth:`Strategy.state_dict` after the latest ask or tell;
- ``trials(trial_id, run_id, number, arch, fidelity, state, metrics, curves, cost, info,
  error, parent, worker, started, finished, seq)``: ``number`` is the trial's id in its run,
  ``seq`` the order in which finished trials arrived (the order they were told);
- ``intermediate(trial_id, step, metrics)``: per-epoch values reported by the evaluator;
- ``locks(run_id, token, owner, pid, host, pid_start, started, heartbeat)``: the process
  driving a run (see :meth:`ResultsStore.acquire`).  A row outlives a ``kill -9`` of its owner;
  it is *stale* (and taken over with a warning) once its pid is dead on this host, or, for an
  owner on another host, once its heartbeat is older than ``stale_after`` seconds.

Only the driver (:func:`naspredict.search.loop.run`) writes.  A trial is inserted as
``running``, together with the strategy state that proposed it, in one transaction before
it is dispatched; its result and the strategy state after telling it are committed together
when it arrives.  So a run killed at any point (even with SIGKILL) loses no finished trial,
and the stored state always matches the stored trials: a resume re-dispatches exactly the
trials that never finished.  A ``runs.db`` of version 1 (an ``evaluations`` table) is
migrated in place when opened (v2 gains the ``locks`` table).

``arch`` is the space's canonical string; ``metrics``, ``curves`` and ``info`` are JSON.
Strategy states are pickles: open only stores you trust.
"""
from __future__ import annotations

import json
import math
import os
import pickle
import socket
import sqlite3
import stat
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd

from .trials import Fidelity, Result, Trial, TrialState

SCHEMA_VERSION = 3

#: seconds between a lock owner's heartbeats, and the age after which the lock of an owner on
#: another host counts as stale (an owner on this host is checked by its pid instead)
HEARTBEAT_SECONDS = 30.0
STALE_AFTER_SECONDS = 300.0

__all__ = ["ResultsStore", "RunLock", "RunLocked", "SCHEMA_VERSION"]

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
CREATE TABLE IF NOT EXISTS locks (
    run_id INTEGER PRIMARY KEY REFERENCES runs(run_id),
    token TEXT NOT NULL,
    owner TEXT,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    pid_start TEXT,
    started REAL NOT NULL,
    heartbeat REAL NOT NULL
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


class RunLocked(ValueError):
    """A run is being driven by another live process (see :meth:`ResultsStore.acquire`).

    Attributes
    ----------
    owner : dict
        The lock's row: ``owner`` (its command line), ``pid``, ``host``, ``started`` and
        ``heartbeat`` (Unix times).
    """

    def __init__(self, message: str, owner: dict[str, Any]):
        super().__init__(message)
        self.owner = owner


def _process_start(pid: int) -> str | None:
    """A process's start time in clock ticks since boot (Linux ``/proc``), or ``None``.  With
    the pid it names one process: a pid reused after its owner died has another start."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    except OSError:
        return False
    try:  # a zombie (killed, not yet reaped) holds its pid but drives nothing
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _owner_alive(row: dict[str, Any], stale_after: float, now: float | None = None) -> bool:
    """Whether a lock's owner still drives its run: on this host, its pid is alive (and is the
    same process: same start time where ``/proc`` tells); elsewhere, its heartbeat is newer
    than ``stale_after`` seconds."""
    if row["host"] == socket.gethostname():
        if not _pid_alive(int(row["pid"])):
            return False
        start = _process_start(int(row["pid"]))
        return row["pid_start"] is None or start is None or start == row["pid_start"]
    return (time.time() if now is None else now) - float(row["heartbeat"]) < stale_after


def _describe_owner(row: dict[str, Any]) -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["started"]))
    return f"pid {row['pid']} on {row['host']} (since {since}: {row['owner'] or 'unknown command'})"


class RunLock:
    """The ownership of one run, from :meth:`ResultsStore.acquire`: a context manager whose
    exit (or :meth:`release`) deletes the lock row.  While held, a daemon thread refreshes
    the row's heartbeat every ``heartbeat`` seconds through its own SQLite connection."""

    def __init__(self, path: Path, run_id: int, name: str, token: str, heartbeat: float | None):
        self.path, self.run_id, self.name, self.token = path, run_id, name, token
        self._stop = threading.Event()
        self._thread = None
        if heartbeat is not None:
            self._thread = threading.Thread(target=self._beat, args=(float(heartbeat),), daemon=True,
                                            name=f"naspredict-lock-{run_id}")
            self._thread.start()

    def _beat(self, every: float) -> None:
        conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        try:
            while not self._stop.wait(every):
                try:
                    conn.execute("UPDATE locks SET heartbeat = ? WHERE run_id = ? AND token = ?",
                                 (time.time(), self.run_id, self.token))
                except sqlite3.Error:  # a busy or closed store: try again at the next beat
                    pass
        finally:
            conn.close()

    @property
    def held(self) -> bool:
        """False once released."""
        return not self._stop.is_set()

    def release(self) -> None:
        """Stop the heartbeat and delete the lock row (only this lock's: a lock taken over as
        stale by another driver is left alone).  Idempotent."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        try:
            conn.execute("DELETE FROM locks WHERE run_id = ? AND token = ?", (self.run_id, self.token))
        finally:
            conn.close()

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class ResultsStore:
    """A SQLite file of runs, their trials and the strategies' saved state.

    >>> store = ResultsStore("runs.db")
    >>> run = store.create_run("bo-1", "nb201", {"strategy": "bo"})
    >>> store.add(run, arch_string, result)        # one finished trial, committed at once
    >>> store.frame("bo-1")                        # the run as a tidy frame

    The run loop uses :meth:`start_trials` and :meth:`finish_trials`.  A missing folder on
    the path is created (``naspredict search --store`` refuses one instead, so that a typo on
    a command line does not start a new store elsewhere).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"results store {self.path} is a folder, not a file; pass a file path "
                             f"such as {self.path / 'runs.db'}")
        existed = self.path.exists()
        if existed and _read_only(self.path):
            raise ValueError(f"results store {self.path} is read-only; make it writable "
                             f"(chmod u+w {self.path}) or copy it and pass the copy")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise ValueError(f"cannot create results store {self.path}: a parent of it is a file; "
                             f"pass a path in a folder") from None
        self._conn = None
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a commit survives a crash or kill -9 of the process (only a power cut
            # can lose the last commits); FULL's extra disk sync per commit cost ~8 ms per trial
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except (sqlite3.Error, ValueError) as err:
            if self._conn is not None:
                self._conn.close()
            if not existed:  # leave nothing behind
                for p in (self.path, self.path.with_name(self.path.name + "-wal"),
                          self.path.with_name(self.path.name + "-shm")):
                    p.unlink(missing_ok=True)
            if isinstance(err, ValueError):
                raise
            if isinstance(err, sqlite3.DatabaseError) and "not a database" in str(err):
                raise ValueError(f"{self.path} is not a results store (not an SQLite database); pass "
                                 f"another --store path, or move that file away") from None
            raise ValueError(f"cannot open results store {self.path}: {err}; check that its folder "
                             f"exists and is writable, or pass another --store path") from None

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

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
        tables = self._tables()
        if version == 0 and tables and not tables & {"runs", "evaluations"}:
            raise ValueError(f"{self.path} is an SQLite database but not a results store (it holds "
                             f"{', '.join(sorted(tables)[:4])}); pass another --store path")
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
        per-state counts (complete, pruned, failed, running), created, and owner (``pid
        PID@HOST`` of the process driving it, ``stale: ...`` for a lock whose owner is gone,
        empty when none)."""
        counts: dict[int, dict[str, int]] = {}
        for run_id, state, n in self._conn.execute(
                "SELECT run_id, state, COUNT(*) FROM trials GROUP BY run_id, state"):
            counts.setdefault(run_id, {})[state] = n
        owners = {}
        for run_id, pid, host in self._conn.execute("SELECT run_id, pid, host FROM locks"):
            row = self._lock_row(run_id)
            owners[run_id] = (f"pid {pid}@{host}" if _owner_alive(row, STALE_AFTER_SECONDS)
                              else f"stale: pid {pid}@{host}")
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
                        "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created)),
                        "owner": owners.get(run_id, "")})
        return pd.DataFrame(out, columns=["run_id", "name", "space", "strategy", "benchmark", "evaluations",
                                          "complete", "pruned", "failed", "running", "created", "owner"])

    def delete_run(self, run: int | str) -> int:
        """Delete a run with its trials, their per-epoch values, its strategy state and lock;
        returns how many trials went.

        Raises
        ------
        RunLocked
            when a live process drives the run (a stale lock does not block).
        ValueError
            when there is no such run.
        """
        run_id = self._run_id(run)
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            row = self._lock_row(run_id)
            if row is not None and _owner_alive(row, STALE_AFTER_SECONDS):
                raise RunLocked(f"run {self._name(run_id)!r} in {self.path} is being driven by "
                                f"{_describe_owner(row)}; stop it first (kill {row['pid']}) or wait "
                                f"for it to finish", row)
            n = self._conn.execute("SELECT COUNT(*) FROM trials WHERE run_id = ?", (run_id,)).fetchone()[0]
            self._conn.execute("DELETE FROM intermediate WHERE trial_id IN "
                               "(SELECT trial_id FROM trials WHERE run_id = ?)", (run_id,))
            self._conn.execute("DELETE FROM trials WHERE run_id = ?", (run_id,))
            self._conn.execute("DELETE FROM locks WHERE run_id = ?", (run_id,))
            self._conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
        return int(n)

    # -- ownership -------------------------------------------------------------------------------
    def acquire(self, run: int | str, owner: str | None = None, *, stale_after: float = STALE_AFTER_SECONDS,
                heartbeat: float | None = HEARTBEAT_SECONDS) -> RunLock:
        """Become the one driver of a run until the returned :class:`RunLock` is released
        (use it as a context manager).

        The lock is a row of the store's ``locks`` table: this process's pid, host name, start
        time and a heartbeat refreshed every ``heartbeat`` seconds (``None``: never).  A lock
        whose owner is gone (its pid dead on this host, or no heartbeat for ``stale_after``
        seconds from another host) is taken over with a warning; taking a lock and checking
        the old one happen in one transaction, so two processes never both succeed.

        Parameters
        ----------
        run : run id or name.
        owner : a description stored with the lock (default: this process's command line).
        stale_after : seconds without a heartbeat after which another host's lock is stale.
        heartbeat : seconds between heartbeats.

        Raises
        ------
        RunLocked
            (a ``ValueError``) when a live owner holds the run, naming its pid and host.
        """
        run_id = self._run_id(run)
        name = self._name(run_id)
        if owner is None:
            owner = " ".join([Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]])
        token = uuid.uuid4().hex
        pid, host, now = os.getpid(), socket.gethostname(), time.time()
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            row = self._lock_row(run_id)
            if row is not None:
                if _owner_alive(row, stale_after, now):
                    raise RunLocked(f"run {name!r} in {self.path} is being driven by {_describe_owner(row)}; "
                                    f"wait for it to finish, stop it (kill {row['pid']} on {row['host']}), "
                                    f"or start a new run with --run NEW", row)
                warnings.warn(f"run {name!r}: taking over the stale lock of {_describe_owner(row)}, which "
                              f"is no longer running", stacklevel=2)
            self._conn.execute(
                "INSERT OR REPLACE INTO locks(run_id, token, owner, pid, host, pid_start, started, heartbeat) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, token, owner[:500], pid, host, _process_start(pid), now, now))
        return RunLock(self.path, run_id, name, token, heartbeat)

    def lock_owner(self, run: int | str, *, stale_after: float = STALE_AFTER_SECONDS) -> dict[str, Any] | None:
        """The lock of a run: ``owner, pid, host, started, heartbeat`` and ``alive`` (False:
        stale, the next :meth:`acquire` takes it over), or ``None`` when no lock is held."""
        row = self._lock_row(self._run_id(run))
        if row is None:
            return None
        return {**{k: row[k] for k in ("owner", "pid", "host", "started", "heartbeat")},
                "alive": _owner_alive(row, stale_after)}

    def _lock_row(self, run_id: int) -> dict[str, Any] | None:
        cols = ("token", "owner", "pid", "host", "pid_start", "started", "heartbeat")
        row = self._conn.execute(f"SELECT {', '.join(cols)} FROM locks WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else dict(zip(cols, row))

    def _name(self, run_id: int) -> str:
        row = self._conn.execute("SELECT name FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise ValueError(f"no run with id {run_id} in {self.path}")
        return row[0]

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
        :func:`naspredict.data.read_results` loads back exactly: complete trials with their
        trial number, ``fidelity``, ``state`` and ``cost`` (bookkeeping columns the reader
        skips) and their named ``curves`` (failed and pruned trials are left out: they carry no
        final metrics).  Each metric's direction goes to the file's sidecar: the run's targets
        in their directions, the source table's other columns in the table's, a training
        evaluator's metrics in theirs; a metric of unknown direction is named in a warning."""
        from .data.logged import write_frame  # the logged-results layout lives with the readers
        df = self.frame(run)
        if len(df) == 0:
            raise ValueError(f"run {run!r} has no finished trials to export")
        df = df[df["state"] == "complete"].copy()
        if not any(df["curves"].map(bool)):
            df = df.drop(columns=["curves"])
        df = df.drop(columns=["seq", "worker"])
        bookkeeping = ("trial", "fidelity", "state", "cost")
        metrics = [c for c in df.columns if c not in ("arch", "curves", *bookkeeping)]
        df = df.dropna(axis=1, how="all") if len(df) else df
        hib = self._directions(run, [m for m in metrics if m in df.columns])
        unknown = [m for m in metrics if m in df.columns and m not in hib]
        if unknown:
            warnings.warn(f"the direction of {', '.join(unknown)} is unknown; read_results takes "
                          f"it as higher-is-better unless given higher_is_better=", stacklevel=2)
        return write_frame(df, path, higher_is_better=hib, bookkeeping=bookkeeping)

    def _directions(self, run: int | str, metrics: list[str]) -> dict[str, bool]:
        """metric -> higher is better, for the metrics whose direction the run tells."""
        row = self._conn.execute("SELECT config FROM runs WHERE run_id = ?", (self._run_id(run),)).fetchone()
        cfg = json.loads(row[0]) if row else {}
        # a run may say its metrics' directions itself (naspredict darts does)
        out: dict[str, bool] = {m: bool(v) for m, v in cfg.get("metric_directions", {}).items()
                                if m in metrics}
        if "Training" in str(cfg.get("evaluator", "")) or cfg.get("cli", {}).get("evaluator") == "train":
            from .evaluators.training import METRIC_HIGHER_IS_BETTER
            out.update({m: v for m, v in METRIC_HIGHER_IS_BETTER.items() if m in metrics})
        if cfg.get("benchmark"):
            try:
                from . import data
                table = data.load(cfg["benchmark"])
                out.update({m: v for m, v in table.higher_is_better.items() if m in metrics})
            except (ValueError, FileNotFoundError):  # a table of another version / not here
                pass
        for t, d in zip(cfg.get("targets", []), cfg.get("directions", [])):
            if t in metrics:
                out[t] = d == "max"
        return out

    # -- helpers -------------------------------------------------------------------------------
    def _run_id(self, run: int | str) -> int:
        if isinstance(run, int):
            return run
        info = self.get_run(run)
        if info is None:
            raise ValueError(f"no run named {run!r} in {self.path}; see `naspredict runs --store {self.path}`")
        return int(info["run_id"])


def _read_only(path: Path) -> bool:
    """No write access, or no write permission bit at all (which even root honours here: a
    file marked read-only is meant to stay unchanged)."""
    return not os.access(path, os.W_OK) or not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _steps(curves: dict[str, list[float]]) -> list[tuple[int, dict[str, float]]]:
    """Per-epoch rows ``(step, {curve: value})`` (steps from 1) of a result's curves."""
    n = max((len(c) for c in curves.values()), default=0)
    return [(i + 1, {k: c[i] for k, c in curves.items() if i < len(c)}) for i in range(n)]
