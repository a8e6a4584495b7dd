"""Results store (SQLite, stdlib): every evaluation is committed as it completes.

A run killed at any point (even with SIGKILL) loses nothing already stored and resumes from
the store.  Tables:

- ``runs(run_id, name, space, config, created)``
- ``evaluations(id, run_id, seq, arch, metrics, curve, status, seconds, timestamp)``

``arch`` is the space's canonical string; ``metrics`` and ``curve`` are JSON.
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from .data.logged import write_frame
from .trials import Result

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT UNIQUE NOT NULL,
    space TEXT NOT NULL,
    config TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(run_id),
    seq INTEGER NOT NULL,
    arch TEXT NOT NULL,
    metrics TEXT NOT NULL,
    curve TEXT,
    status TEXT NOT NULL,
    seconds REAL NOT NULL,
    timestamp REAL NOT NULL,
    UNIQUE(run_id, seq)
);
"""


class ResultsStore:
    """A SQLite file of runs and their evaluations.

    >>> store = ResultsStore("runs.db")
    >>> run = store.create_run("bo-1", "nb201", {"strategy": "bo"})
    >>> store.add(run, arch_string, result)        # committed at once
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "ResultsStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- runs -------------------------------------------------------------------------------
    def create_run(self, name: str, space: str, config: dict[str, Any]) -> int:
        """A new run; ``ValueError`` if the name is taken (use :meth:`get_run` to resume)."""
        try:
            cur = self._conn.execute(
                "INSERT INTO runs(name, space, config, created) VALUES (?, ?, ?, ?)",
                (name, space, json.dumps(config, sort_keys=True, default=str), time.time()))
        except sqlite3.IntegrityError:
            raise ValueError(f"a run named {name!r} already exists in {self.path}; pass "
                             f"--resume to continue it or choose another --run name") from None
        return int(cur.lastrowid)

    def get_run(self, name: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT run_id, name, space, config, created FROM runs WHERE name = ?",
                                 (name,)).fetchone()
        if row is None:
            return None
        return {"run_id": row[0], "name": row[1], "space": row[2], "config": json.loads(row[3]),
                "created": row[4]}

    def runs(self) -> pd.DataFrame:
        """One row per run: name, space, strategy, evaluations, created."""
        rows = self._conn.execute(
            "SELECT r.run_id, r.name, r.space, r.config, r.created, COUNT(e.id) "
            "FROM runs r LEFT JOIN evaluations e ON e.run_id = r.run_id GROUP BY r.run_id ORDER BY r.run_id").fetchall()
        out = []
        for run_id, name, space, config, created, n in rows:
            cfg = json.loads(config)
            out.append({"run_id": run_id, "name": name, "space": space,
                        "strategy": cfg.get("strategy", ""), "benchmark": cfg.get("benchmark", ""),
                        "evaluations": n,
                        "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created))})
        return pd.DataFrame(out, columns=["run_id", "name", "space", "strategy", "benchmark",
                                          "evaluations", "created"])

    # -- evaluations --------------------------------------------------------------------------
    def add(self, run_id: int, arch: str, result: Result) -> int:
        """Store one evaluation and commit it; returns its sequence number in the run."""
        with self._conn:  # one transaction, committed on exit
            seq = self._conn.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM evaluations WHERE run_id = ?",
                                     (run_id,)).fetchone()[0]
            self._conn.execute(
                "INSERT INTO evaluations(run_id, seq, arch, metrics, curve, status, seconds, timestamp) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, seq, arch, json.dumps(result.metrics), None if result.curve is None else json.dumps(result.curve),
                 result.status, float(result.cost), time.time()))
        return int(seq)

    def evaluations(self, run_id: int) -> Iterator[tuple[str, Result]]:
        """``(arch string, Result)`` pairs of a run, in the order they were stored."""
        for arch, metrics, curve, status, seconds in self._conn.execute(
                "SELECT arch, metrics, curve, status, seconds FROM evaluations WHERE run_id = ? ORDER BY seq",
                (run_id,)):
            yield arch, Result(metrics=json.loads(metrics), curve=None if curve is None else json.loads(curve),
                               cost=seconds, status=status)

    def frame(self, run: int | str) -> pd.DataFrame:
        """A run as a tidy frame: ``seq, arch, <metrics...>, curve, status, seconds``."""
        run_id = self._run_id(run)
        rows = []
        for seq, (arch, res) in enumerate(self.evaluations(run_id)):
            rows.append({"seq": seq, "arch": arch, **res.metrics, "curve": res.curve,
                         "status": res.status, "seconds": res.cost})
        return pd.DataFrame(rows)

    def export(self, run: int | str, path: str | Path) -> Path:
        """Write a run as logged results (CSV, parquet or JSON lines, by suffix) that
        :func:`naspredict.data.read_results` loads back.  Failed evaluations are left out."""
        df = self.frame(run)
        if len(df) == 0:
            raise ValueError(f"run {run!r} has no evaluations to export")
        df = df[df["status"] == "ok"].drop(columns=["status"])
        if df["curve"].isna().all():
            df = df.drop(columns=["curve"])
        return write_frame(df, path)

    def _run_id(self, run: int | str) -> int:
        if isinstance(run, int):
            return run
        info = self.get_run(run)
        if info is None:
            raise ValueError(f"no run named {run!r} in {self.path}; see `naspredict runs --store {self.path}`")
        return int(info["run_id"])
