"""Misuse sweep of issue #13: bad inputs and misuse through the CLI and Python, checked automatically.

Run ``.venv/bin/python benchmarks/misuse_sweep.py [--jobs 2] [--only PATTERN]``.  Each case of
``benchmarks/_misuse_cases.py`` runs in a fresh temp dir: a CLI argv as ``python -m naspredict -q
...`` or a Python snippet in a subprocess.  Verdicts:

- ``ok``: the expected error (exit 2 / the listed exception type, the problem words and a fix
  hint in the message, no traceback) or, for a must-work case, exit 0 and its output check passed;
- ``poor-message``: the right kind of error but the message misses the problem words or a fix hint;
- ``traceback``: a Python traceback on the CLI's stderr, or an unexpected exception type from Python;
- ``silent-wrong``: exit 0 / no exception where an error was due, or a must-work output check failed,
  or an error case left something behind;
- ``crash``: any other exit (exit 1 without traceback, a timeout, a signal).

Writes ``benchmarks/results/misuse_sweep.md`` and ``.csv``; with ``--only`` the rows of the
cases run replace their old rows (keyed by case id); ``--todo`` runs the cases with no row or a
row that is not ok, and merges the same way.
"""
from __future__ import annotations

import argparse
import csv
import fnmatch
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from _misuse_cases import Case, cases  # noqa: E402

RESULTS = HERE / "results"
FIELDS = ["id", "class", "interface", "description", "action", "expected", "outcome", "verdict", "message",
          "seconds"]
_WRAP = """\
import sys
try:
{body}
except BaseException as _e:
    if isinstance(_e, SystemExit):
        raise
    _m = str(_e).strip().splitlines()
    print("EXC", type(_e).__name__, "::", " ".join(str(_e).split()), file=sys.stderr)
    sys.exit(3)
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    env["NASPREDICT_NO_TTY"] = "1"
    return env


def _message(stderr: str) -> str:
    """The error line: ``naspredict CMD: error: ...`` (ours or argparse's, which comes after
    the usage lines) or ``EXC ...`` of a Python case; else the last line of a traceback."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and "%|" not in ln and "it/s" not in ln]
    for ln in lines:
        if ln.startswith("EXC ") or (ln.startswith("naspredict") and ": error:" in ln):
            return ln
    if "Traceback" in stderr:
        return lines[-1] if lines else ""
    return lines[0] if lines else ""


def _words_ok(case: Case, text: str) -> tuple[bool, str]:
    low = text.lower()
    miss = [w for w in case.problem if w.lower() not in low]
    fix = any(w.lower() in low for w in case.fix) if case.fix else True
    if miss:
        return False, "message lacks " + ", ".join(repr(w) for w in miss)
    if not fix:
        return False, "message has no fix hint"
    return True, ""


def run_case(case: Case) -> dict[str, str]:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"misuse-{case.id}-") as d:
        tmp = Path(d)
        try:
            if case.setup is not None:
                case.setup(tmp)
        except Exception as e:  # noqa: BLE001 - a broken setup is recorded, not hidden
            return _row(case, "setup failed: " + " ".join(str(e).split())[:200], "crash", "", t0)
        if case.argv is not None:
            cmd = [sys.executable, "-m", "naspredict", "-q", *case.argv]
        else:
            body = textwrap.indent(case.code, "    ")
            (tmp / "case.py").write_text(_WRAP.format(body=body))
            cmd = [sys.executable, "case.py"]
        try:
            p = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=case.timeout, env=_env(),
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return _row(case, f"timeout after {case.timeout} s", "crash", "", t0)
        rc, out, err = p.returncode, p.stdout, p.stderr
        msg = _message(err)
        has_tb = "Traceback (most recent call last)" in err
        verdict, outcome = _judge(case, tmp, rc, out, err, msg, has_tb)
        return _row(case, outcome, verdict, msg, t0)


def _judge(case, tmp, rc, out, err, msg, has_tb):
    if case.error:
        if case.argv is not None:
            if has_tb:
                return "traceback", f"exit {rc} with a traceback"
            if rc == 0:
                return "silent-wrong", "exit 0 (no error)"
            if rc != 2:
                return "crash", f"exit {rc}"
        else:
            if rc == 0:
                return "silent-wrong", "no exception"
            if rc != 3:
                return ("traceback" if has_tb else "crash"), f"exit {rc}"
            exc = msg.split()[1] if msg.startswith("EXC ") else "?"
            if exc not in case.exc:
                return "traceback", f"raised {exc} (expected {'/'.join(case.exc)})"
        if case.after is not None:
            good, note = case.after(tmp)
            if not good:
                return "silent-wrong", f"error given but {note}"
        good, note = _words_ok(case, msg if case.argv is not None else msg.split("::", 1)[-1])
        head = f"exit {rc}" if case.argv is not None else f"raised {msg.split()[1]}"
        return ("ok", head) if good else ("poor-message", f"{head}; {note}")
    # must work
    if rc != 0:
        if has_tb:
            return "traceback", f"exit {rc} with a traceback"
        if case.argv is None and rc == 3:
            return "traceback", f"raised {msg.split()[1] if msg.startswith('EXC ') else '?'}"
        return "crash", f"exit {rc}"
    try:
        good, note = case.check(tmp, err if case.use_stderr else out) if case.check else (True, "exit 0")
    except Exception as e:  # noqa: BLE001 - a failing check is a wrong output
        good, note = False, "check failed: " + " ".join(str(e).split())[:160]
    return ("ok" if good else "silent-wrong"), ("exit 0; " + note)


def _row(case: Case, outcome: str, verdict: str, msg: str, t0: float) -> dict[str, str]:
    action = ("naspredict -q " + " ".join(a if a and " " not in a else repr(a) for a in case.argv)
              if case.argv is not None else case.code.split("\n", 3)[-1].replace("\n", "; "))
    return {"id": case.id, "class": case.cls, "interface": case.iface, "description": case.desc,
            "action": action, "expected": case.expected, "outcome": outcome, "verdict": verdict,
            "message": msg[:300], "seconds": f"{time.perf_counter() - t0:.1f}"}


def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def write(rows: list[dict[str, str]]) -> None:
    RESULTS.mkdir(exist_ok=True)
    order = {c.id: i for i, c in enumerate(cases())}
    rows = sorted(rows, key=lambda r: order.get(r["id"], 10**6))
    with open(RESULTS / "misuse_sweep.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    lines = ["# Misuse sweep (issue #13)", "",
             "Produced by `.venv/bin/python benchmarks/misuse_sweep.py --jobs 2` (cases in "
             "`benchmarks/_misuse_cases.py`; see the script's docstring for the verdicts).", "",
             f"{len(rows)} cases: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])), "",
             "| id | class | interface | what was done | expected | outcome | verdict | first line of the message |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| " + " | ".join(_md_cell(r[k]) for k in
                                         ["id", "class", "interface", "action", "expected", "outcome", "verdict",
                                          "message"]) + " |")
    (RESULTS / "misuse_sweep.md").write_text("\n".join(lines) + "\n")


def _interleave(cs: list[Case]) -> list[Case]:
    """Round-robin over the case groups (id prefix) so a partial sweep spans all groups."""
    groups: dict[str, list[Case]] = {}
    for c in cs:
        groups.setdefault(c.id.split("-")[0], []).append(c)
    out: list[Case] = []
    while any(groups.values()):
        for g in groups.values():
            if g:
                out.append(g.pop(0))
    return out


def _merge(only: str | None, done: list[dict[str, str]]) -> list[dict[str, str]]:
    """The new rows, plus (with --only) the old rows of the cases not rerun."""
    old = []
    if only and (RESULTS / "misuse_sweep.csv").exists():
        ids = {r["id"] for r in done}
        with open(RESULTS / "misuse_sweep.csv", newline="") as f:
            old = [r for r in csv.DictReader(f) if r["id"] not in ids]
    return old + done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    ap.add_argument("--only", default=None, help="glob on case ids (e.g. 'py-*'); rows replace old ones")
    ap.add_argument("--todo", action="store_true",
                    help="run only the cases with no row yet or a row that is not ok; rows replace old ones")
    ap.add_argument("--list", action="store_true", help="list the case ids and exit")
    a = ap.parse_args(argv)
    if a.jobs < 1:
        ap.error("--jobs must be >= 1")
    todo = _interleave(cases())
    if a.list:
        for c in todo:
            print(c.id, c.cls, c.iface, c.desc, sep="\t")
        return 0
    if a.only:
        todo = [c for c in todo if fnmatch.fnmatch(c.id, a.only) or a.only in c.id]
        if not todo:
            ap.error(f"--only {a.only!r} matches no case id (see --list)")
    if a.todo:
        old = {}
        if (RESULTS / "misuse_sweep.csv").exists():
            with open(RESULTS / "misuse_sweep.csv", newline="") as f:
                old = {r["id"]: r["verdict"] for r in csv.DictReader(f)}
        todo = [c for c in todo if old.get(c.id) != "ok"]
        a.only = a.only or "*"  # merge with the old rows
    t0 = time.perf_counter()
    done: list[dict[str, str]] = []
    with ThreadPoolExecutor(a.jobs) as pool:
        for r in pool.map(run_case, todo):
            done.append(r)
            if len(done) % 5 == 0:  # partial tables survive an interrupted sweep
                write(_merge(a.only, done))
            print(f"{r['verdict']:13s} {r['id']:40s} {r['seconds']:>6s}s  {r['message'][:90]}", flush=True)
    write(_merge(a.only, done))
    bad = [r for r in done if r["verdict"] != "ok"]
    print(f"{len(done)} cases in {time.perf_counter() - t0:.0f} s; {len(bad)} not ok; "
          f"wrote {RESULTS / 'misuse_sweep.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
