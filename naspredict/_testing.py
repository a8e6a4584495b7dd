"""Helpers for kill-and-resume tests and benchmarks: :class:`LoggedEvaluator` logs every
evaluation it starts; the process helpers (Linux ``/proc``) find what a driver killed with
SIGKILL left behind (Ray's raylet, pool workers), which the caller then ends by process id."""
from __future__ import annotations

import os

__all__ = ["LoggedEvaluator", "descendants", "alive"]


class LoggedEvaluator:
    """Wraps an evaluator; appends ``phase<TAB>arch`` to ``log`` when an evaluation starts."""

    def __init__(self, inner, log, phase):
        self.inner, self.log, self.phase = inner, str(log), phase
        self.space = inner.space

    def evaluate(self, arch, fidelity=None, report=None):
        line = f"{self.phase}\t{self.inner.space.to_str(arch)}\n"
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line.encode())   # one short O_APPEND write: lines never interleave
        finally:
            os.close(fd)
        return self.inner.evaluate(arch) if fidelity is None else self.inner.evaluate(arch, fidelity)


def descendants(pid: int) -> set[int]:
    """``pid``'s descendant process ids, read from ``/proc``."""
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = set(), [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def complete_trials(db) -> int:
    """Complete trials in the results store file ``db`` (0 while it does not exist yet or is
    being created), read with plain sqlite3 so a test can watch another process's store."""
    import sqlite3
    try:
        con = sqlite3.connect(db, timeout=5)
        try:
            return int(con.execute("SELECT COUNT(*) FROM trials WHERE state = 'complete'").fetchone()[0])
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0
