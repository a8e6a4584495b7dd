"""Process helpers for kill-and-resume tests and benchmarks (Linux ``/proc``): a driver killed
with SIGKILL can leave worker processes behind (Ray's raylet, pool workers), which the caller
then ends by process id."""
from __future__ import annotations

import os

__all__ = ["descendants", "alive"]


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
