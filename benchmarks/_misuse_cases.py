"""The case list of the misuse sweep (issue #13): bad inputs and misuse through the CLI and Python.

Each case is a :class:`Case`: an id, an issue class (``silent-wrong``, ``traceback``,
``poor-message``, ``duplicate/lost``, ``convention``), the interface, a description, a setup
(files written into the case's fresh temp dir), and the action: a CLI argv (run as
``python -m naspredict -q ...`` in the temp dir) or a Python snippet (run in a subprocess in
the temp dir).  The expectation is either an error (exit code 2 / one of the given exception
types, a message holding every ``problem`` word and at least one ``fix`` word) or success
(exit 0 and ``check(tmp, stdout)`` -> ``(ok, note)``).
"""
from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

# Small real tables and real arch strings (from `naspredict show`).
CORA = ["-b", "nbgraph-cora", "-t", "valid_perf"]
NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
CORA_ARCH = "link=0,1,2,3;ops=fc,gat,fc,gin"
FIX = ["use", "give", "pass", "choose", "one of", "expected", "must", "instead", "try", "--", "remove",
       "delete", "rename", "another", "check", "see", "allowed", "should", "known", "available", "needs",
       "drop", "at least", "e.g.", "expect", "valid", "positive", "call", "first", "not a", "did you mean", "make one", "write", "wrap"]


@dataclass
class Case:
    """One misuse case; see the module docstring."""
    id: str
    cls: str
    desc: str
    argv: list[str] | None = None
    code: str | None = None
    setup: Callable[[Path], None] | None = None
    error: bool = True
    exc: tuple[str, ...] = ("ValueError",)
    problem: list[str] = field(default_factory=list)
    fix: list[str] = field(default_factory=lambda: list(FIX))
    check: Callable[[Path, str], tuple[bool, str]] | None = None
    after: Callable[[Path], tuple[bool, str]] | None = None
    use_stderr: bool = False
    timeout: int = 120

    @property
    def iface(self) -> str:
        return "CLI" if self.argv is not None else "Python"

    @property
    def expected(self) -> str:
        if not self.error:
            return "works (exit 0, output checked)"
        if self.argv is not None:
            return "exit 2, no traceback, names " + "/".join(self.problem or ["-"])
        return f"{'/'.join(self.exc)} naming " + "/".join(self.problem or ["-"])


# ---------------------------------------------------------------- setups
def _write(name: str, text: str | bytes) -> Callable[[Path], None]:
    def f(tmp: Path) -> None:
        p = tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    return f


def _mkdir(name: str) -> Callable[[Path], None]:
    return lambda tmp: (tmp / name).mkdir(parents=True, exist_ok=True)


def _all(*fs) -> Callable[[Path], None]:
    def f(tmp: Path) -> None:
        for g in fs:
            g(tmp)
    return f


def _readonly_store(tmp: Path) -> None:
    _cli_run(tmp, ["search", *CORA, "-s", "random", "-n", "3", "--store", "s.db", "--run", "r", "--out", "o"])
    os.chmod(tmp / "s.db", 0o444)


def _cli_run(tmp: Path, argv: list[str]) -> None:
    import subprocess
    import sys
    subprocess.run([sys.executable, "-m", "naspredict", "-q", *argv], cwd=tmp, capture_output=True,
                   timeout=300, check=True)


def _run(name="r", strategy="random", n="3", extra=()) -> Callable[[Path], None]:
    return lambda tmp: _cli_run(tmp, ["search", *CORA, "-s", strategy, "-n", n, "--store", "s.db",
                                      "--run", name, "--out", "o", *extra])


def _log_from_run(tmp: Path) -> None:
    _run()(tmp)
    _cli_run(tmp, ["export", "r", "--store", "s.db", "-o", "log.csv"])


def _cora_log(n=40, name="log.csv", mutate=None) -> Callable[[Path], None]:
    """A real log: the first n rows of nbgraph-cora (arch, valid_perf, latency)."""
    def f(tmp: Path) -> None:
        from naspredict import data
        b = data.load("nbgraph-cora")
        m = b.metrics.iloc[:n]
        rows = [{"arch": b.space.to_string(a) if hasattr(b.space, "to_string") else str(a),
                 "valid_perf": float(v), "latency": float(l)}
                for a, v, l in zip(b.archs[:n], m["valid_perf"], m["latency"])]
        if mutate is not None:
            rows = mutate(rows)
        import pandas as pd
        df = pd.DataFrame(rows)
        if name.endswith(".jsonl"):
            df.to_json(tmp / name, orient="records", lines=True)
        else:
            df.to_csv(tmp / name, index=False)
    return f


def _fit_model(tmp: Path) -> None:
    _cli_run(tmp, ["fit", *CORA, "-p", "rf", "-n", "30", "-o", "m.pkl"])


def _fit_model_nb201(tmp: Path) -> None:
    _cli_run(tmp, ["fit", "-b", "nb201-cifar10", "-t", "baseline_accuracy", "-p", "rf", "-n", "30",
                   "-o", "m201.pkl"])


# ---------------------------------------------------------------- checks
def _store_rows(tmp: Path, db="s.db") -> tuple[int, int]:
    con = sqlite3.connect(tmp / db)
    try:
        n, d = con.execute("select count(*), count(distinct arch) from trials").fetchone()
    finally:
        con.close()
    return n, d


def _rows_distinct(expected: int) -> Callable[[Path, str], tuple[bool, str]]:
    def f(tmp: Path, out: str) -> tuple[bool, str]:
        n, d = _store_rows(tmp)
        return n == d == expected, f"{n} rows, {d} distinct archs (expected {expected})"
    return f


def _stdout_has(*words) -> Callable[[Path, str], tuple[bool, str]]:
    def f(tmp: Path, out: str) -> tuple[bool, str]:
        miss = [w for w in words if w.lower() not in out.lower()]
        return not miss, ("missing " + ",".join(miss)) if miss else "output as expected"
    return f


def _absent(name: str) -> Callable[[Path], tuple[bool, str]]:
    return lambda tmp: (not (tmp / name).exists(), f"{name} was left behind")


def _log_archs_only(tmp: Path, out: str) -> tuple[bool, str]:
    import pandas as pd
    from naspredict.store import ResultsStore
    logged = set(pd.read_csv(tmp / "log.csv")["arch"])
    with ResultsStore(tmp / "s.db") as st:
        archs = [t.arch for t in st.trials("r", finished=True)]
    bad = [a for a in archs if a not in logged]
    return (len(archs) == 4 and not bad), f"{len(archs)} trials, {len(bad)} not in the log"


def _stored_directions(want: list[str]) -> Callable[[Path, str], tuple[bool, str]]:
    def f(tmp: Path, out: str) -> tuple[bool, str]:
        from naspredict.store import ResultsStore
        with ResultsStore(tmp / "s.db") as st:
            got = st.get_run("r")["config"]["cli"]["directions"]
        return got == want, f"stored directions {got}"
    return f


def _json_rows(k: int) -> Callable[[Path, str], tuple[bool, str]]:
    def f(tmp: Path, out: str) -> tuple[bool, str]:
        try:
            rows = json.loads(out)
        except Exception as e:  # noqa: BLE001 - report the parse failure as the check's note
            return False, f"not JSON: {e}"
        return len(rows) == k, f"{len(rows)} JSON rows (expected {k})"
    return f


def _top_matches(k: int) -> Callable[[Path, str], tuple[bool, str]]:
    """`show nbgraph-cora --json -k k` equals the top-k recomputed from the table."""
    def f(tmp: Path, out: str) -> tuple[bool, str]:
        from naspredict import data
        rows = json.loads(out)
        v = sorted(data.load("nbgraph-cora").values("valid_perf"), reverse=True)[:k]
        got = [r["valid_perf"] for r in rows]
        return got == [float(x) for x in v], f"top values {got[:3]} vs recomputed {list(v[:3])}"
    return f


def _file_exists(name: str, rows: int | None = None) -> Callable[[Path, str], tuple[bool, str]]:
    def f(tmp: Path, out: str) -> tuple[bool, str]:
        p = tmp / name
        if not p.exists():
            return False, f"{name} missing"
        if rows is None:
            return True, f"{name} written"
        import pandas as pd
        n = len(pd.read_csv(p))
        return n == rows, f"{name}: {n} rows (expected {rows})"
    return f


# ---------------------------------------------------------------- the cases
def cases() -> list[Case]:
    C: list[Case] = []
    add = C.append
    S = ["-s", "random", "-n", "3", "--out", "o"]

    # --- stores: corrupt / unreadable / wrong kind
    for cid, setup, words in [
        ("store-not-sqlite", _write("s.db", "hello, this is a text file\n" * 20), ["s.db"]),
        ("store-empty-file", _write("s.db", ""), []),
        ("store-directory", _mkdir("s.db"), ["s.db"]),
        ("store-binary-junk", _write("s.db", bytes(range(256)) * 8), ["s.db"]),
        ("store-readonly", _readonly_store, ["s.db"]),
        ("store-parent-missing", None, ["nope"]),
    ]:
        store = "nope/deeper/s.db" if cid == "store-parent-missing" else "s.db"
        # a store whose folder is missing is refused (a typo would start an empty store
        # elsewhere); the message gives the mkdir line
        err = cid != "store-empty-file"
        chk = None if err else (lambda t, o: ((t / "s.db").exists(), "store created"))
        add(Case(cid + "-search", "traceback", f"search into a store that is {cid[6:]}",
                 argv=["search", *CORA, *S, "--store", store, "--run", "x"], setup=setup,
                 error=err, problem=words, check=chk))
        if err:
            add(Case(cid + "-runs", "traceback", f"runs on a store that is {cid[6:]}",
                     argv=["runs", "--store", store], setup=setup, problem=words))
            add(Case(cid + "-export", "traceback", f"export from a store that is {cid[6:]}",
                     argv=["export", "r", "--store", store, "-o", "x.csv"], setup=setup, problem=words))
    add(Case("runs-missing-store", "poor-message", "runs on a store path that does not exist",
             argv=["runs", "--store", "missing.db"], problem=["missing.db"]))
    add(Case("runs-missing-store-not-created", "convention", "runs on a missing store errors and does not create it",
             argv=["runs", "--store", "missing.db"], problem=["missing.db"],
             after=lambda t: (not (t / "missing.db").exists(), "missing.db created" if (t / "missing.db").exists() else "not created")))

    # --- output paths that are files / directories
    add(Case("search-out-is-file", "traceback", "search --out is an existing file",
             argv=["search", *CORA, "-s", "random", "-n", "3", "--store", "s.db", "--run", "x", "--out", "f.txt"],
             setup=_write("f.txt", "x"), problem=["f.txt"]))
    add(Case("evaluate-out-is-file", "traceback", "evaluate --out is an existing file",
             argv=["evaluate", *CORA, "-p", "rf", "--train-sizes", "10", "--seeds", "1", "--test-size", "50",
                   "--out", "f.txt", "--no-progress"], setup=_write("f.txt", "x"), problem=["f.txt"]))
    add(Case("export-output-is-dir", "traceback", "export -o is a directory",
             argv=["export", "r", "--store", "s.db", "-o", "d"], setup=_all(_run(), _mkdir("d")), problem=["d"]))
    add(Case("export-output-parent-missing", "traceback", "export -o into a missing folder: made, 3 rows written",
             argv=["export", "r", "--store", "s.db", "-o", "nodir/x.csv"], setup=_run(), error=False,
             check=_file_exists("nodir/x.csv", 3)))
    add(Case("export-output-bad-ext", "poor-message", "export -o with an unknown extension",
             argv=["export", "r", "--store", "s.db", "-o", "x.xlsx"], setup=_run(), problem=["xlsx"]))
    add(Case("fit-output-is-dir", "traceback", "fit -o is a directory",
             argv=["fit", *CORA, "-p", "rf", "-n", "20", "-o", "d"], setup=_mkdir("d"), problem=["d"]))
    add(Case("fit-output-parent-missing", "traceback", "fit -o in a missing folder: made, model written",
             argv=["fit", *CORA, "-p", "rf", "-n", "20", "-o", "nodir/m.pkl"], error=False,
             check=_file_exists("nodir/m.pkl")))
    add(Case("predict-output-is-dir", "traceback", "predict -o is a directory",
             argv=["predict", "m.pkl", "--archs", "a.txt", "-o", "d"],
             setup=_all(_fit_model, _mkdir("d"), _write("a.txt", CORA_ARCH + "\n")), problem=["d"]))

    # --- logs
    ev = ["-t", "valid_perf", "--space", "nbgraph", "-p", "rf", "--train-sizes", "10", "--seeds", "1",
          "--test-size", "20", "--out", "o", "--no-progress"]
    logs = [
        ("log-empty", _write("log.csv", ""), ["log.csv"]),
        ("log-header-only", _write("log.csv", "arch,valid_perf\n"), ["log.csv"]),
        ("log-latin1", _write("log.csv", "arch,valid_perf\n".encode() + "caf\xe9,0.5\n".encode("latin-1")), ["log.csv"]),
        ("log-utf16", _write("log.csv", "arch,valid_perf\nx,0.5\n".encode("utf-16")), ["log.csv"]),
        ("log-bad-json-line", lambda t: (_cora_log(30, "log.jsonl")(t), open(t / "log.jsonl", "a").write("{not json\n")), ["log.jsonl"]),
        ("log-no-arch-column", _write("log.csv", "architecture,valid_perf\nx,0.5\n"), ["arch"]),
        ("log-no-target-column", _cora_log(30, mutate=lambda r: [{"arch": x["arch"], "acc": x["valid_perf"]} for x in r]), ["valid_perf"]),
        ("log-bad-arch-string", _cora_log(30, mutate=lambda r: r + [{"arch": "not-an-arch", "valid_perf": 0.5, "latency": 1.0}]), ["not-an-arch"]),
        ("log-text-target", _cora_log(30, mutate=lambda r: [dict(x, valid_perf="high") for x in r]), ["valid_perf"]),
        ("log-is-dir", _mkdir("log.csv"), ["log.csv"]),
        ("log-missing", None, ["log.csv"]),
        ("log-wrong-space", _cora_log(30), ["nb201"]),
        ("log-unknown-ext", _write("log.xyz", "arch,valid_perf\n"), ["xyz"]),
        ("log-too-small", _cora_log(8), ["10"]),
    ]
    for cid, setup, words in logs:
        argv = ["evaluate", "--log", "log.jsonl" if "json" in cid else ("log.xyz" if cid == "log-unknown-ext" else "log.csv"), *ev]
        if cid == "log-wrong-space":
            argv[argv.index("nbgraph")] = "nb201"
        add(Case(cid, "traceback" if cid in ("log-is-dir", "log-latin1", "log-utf16", "log-bad-json-line", "log-empty") else "poor-message",
                 f"evaluate --log: {cid[4:].replace('-', ' ')}", argv=argv, setup=setup, problem=words))
    add(Case("log-nan-inf-rows", "silent-wrong", "evaluate --log with NaN/inf targets: dropped, result on the finite rows",
             argv=["evaluate", "--log", "log.csv", *ev], error=False,
             setup=_cora_log(40, mutate=lambda r: [dict(x, valid_perf=(float("nan") if i % 7 == 0 else float("inf") if i % 11 == 0 else x["valid_perf"])) for i, x in enumerate(r)]),
             check=lambda t, o: (any(t.glob("o/**/*.csv")) or "tau" in o.lower(), "result written")))
    add(Case("log-duplicate-archs", "silent-wrong", "fit --log with duplicate archs: merged, not double counted",
             argv=["fit", "--log", "log.csv", "--space", "nbgraph", "-t", "valid_perf", "-p", "rf", "-o", "m.pkl"],
             error=False, setup=_cora_log(30, mutate=lambda r: r + r[:10]),
             check=lambda t, o: ("30" in o and (t / "m.pkl").exists(), o.strip().splitlines()[0] if o.strip() else "")))
    add(Case("fit-log-missing-space", "poor-message", "fit --log without --space",
             argv=["fit", "--log", "log.csv", "-t", "valid_perf", "-p", "rf", "-o", "m.pkl"], setup=_cora_log(30),
             problem=["space"]))
    add(Case("fit-log-unknown-space", "poor-message", "fit --log --space bogus",
             argv=["fit", "--log", "log.csv", "--space", "bogus", "-t", "valid_perf", "-p", "rf", "-o", "m.pkl"],
             setup=_cora_log(30), problem=["bogus"]))
    add(Case("log-export-roundtrip-latency-direction", "silent-wrong",
             "export a run with latency target min, read back: latency stays lower-is-better",
             code="from naspredict import data\nb=data.read_results('log.csv','nbgraph')\n"
                  "hib=getattr(b,'higher_is_better',{})\nprint(hib)\nassert hib.get('latency') is False, hib",
             setup=lambda t: (_cli_run(t, ["search", "-b", "nbgraph-cora", "-t", "latency", "-d", "min", "-s", "random",
                                           "-n", "3", "--store", "s.db", "--run", "r", "--out", "o"]),
                              _cli_run(t, ["export", "r", "--store", "s.db", "-o", "log.csv"])),
             error=False, check=lambda t, o: (True, "assert passed")))

    # --- numeric flags
    num = [
        ("search-budget-0", ["search", *CORA, "-s", "random", "-n", "0"], ["budget"]),
        ("search-budget-neg", ["search", *CORA, "-s", "random", "-n", "-3"], ["budget"]),
        ("search-budget-frac", ["search", *CORA, "-s", "random", "-n", "2.5"], ["budget"]),
        ("search-batch-neg", ["search", *CORA, "-s", "random", "-n", "3", "--batch-size", "-1"], ["batch"]),
        ("search-batch-0", ["search", *CORA, "-s", "random", "-n", "3", "--batch-size", "0"], ["batch"]),
        ("search-workers-0", ["search", *CORA, "-s", "random", "-n", "3", "--executor", "local", "--workers", "0"], ["workers"]),
        ("search-workers-neg", ["search", *CORA, "-s", "random", "-n", "3", "--executor", "local", "--workers", "-2"], ["workers"]),
        ("search-budget-seconds-neg", ["search", *CORA, "-s", "random", "-n", "3", "--budget-seconds", "-5"], ["budget-seconds"]),
        ("search-wall-seconds-0", ["search", *CORA, "-s", "random", "-n", "3", "--wall-seconds", "0"], ["wall"]),
        ("search-seed-text", ["search", *CORA, "-s", "random", "-n", "3", "--seed", "abc"], ["seed"]),
        ("search-seed-neg", ["search", *CORA, "-s", "random", "-n", "3", "--seed", "-1"], ["seed"]),
        ("search-budget-seconds-nan", ["search", *CORA, "-s", "random", "-n", "3", "--budget-seconds", "nan"], ["budget-seconds"]),
        ("evaluate-seeds-0", ["evaluate", *CORA, "-p", "rf", "--train-sizes", "10", "--seeds", "0", "--test-size", "50"], ["seeds"]),
        ("evaluate-seeds-neg", ["evaluate", *CORA, "-p", "rf", "--train-sizes", "10", "--seeds", "-2", "--test-size", "50"], ["seeds"]),
        ("evaluate-train-sizes-empty", ["evaluate", *CORA, "-p", "rf", "--train-sizes", "", "--seeds", "1", "--test-size", "50"], ["train-sizes"]),
        ("evaluate-train-size-0", ["evaluate", *CORA, "-p", "rf", "--train-sizes", "0", "--seeds", "1", "--test-size", "50"], ["train"]),
        ("evaluate-train-size-neg", ["evaluate", *CORA, "-p", "rf", "--train-sizes", "-10", "--seeds", "1", "--test-size", "50"], ["train"]),
        ("evaluate-train-size-frac", ["evaluate", *CORA, "-p", "rf", "--train-sizes", "10.5", "--seeds", "1", "--test-size", "50"], ["10.5"]),
        ("evaluate-train-size-text", ["evaluate", *CORA, "-p", "rf", "--train-sizes", "ten", "--seeds", "1", "--test-size", "50"], ["ten"]),
        ("evaluate-train-size-huge", ["evaluate", *CORA, "-p", "rf", "--train-sizes", "30000", "--seeds", "1", "--test-size", "50"], ["30000"]),
        ("evaluate-test-size-0", ["evaluate", *CORA, "-p", "rf", "--train-sizes", "10", "--seeds", "1", "--test-size", "0"], ["test-size"]),
        ("evaluate-test-size-1", ["evaluate", *CORA, "-p", "rf", "--train-sizes", "10", "--seeds", "1", "--test-size", "1"], ["test"]),
        ("evaluate-test-size-neg", ["evaluate", *CORA, "-p", "rf", "--train-sizes", "10", "--seeds", "1", "--test-size", "-5"], ["test-size"]),
        ("evaluate-test-size-huge", ["evaluate", *CORA, "-p", "rf", "--train-sizes", "10", "--seeds", "1", "--test-size", "10000000"], ["test"]),
        ("evaluate-train-size-dup", ["evaluate", *CORA, "-p", "rf", "--train-sizes", "10,10", "--seeds", "1", "--test-size", "50"], ["10"]),
        ("show-top-0", ["show", "nbgraph-cora", "-k", "0"], ["top"]),
        ("show-top-neg", ["show", "nbgraph-cora", "-k", "-3"], ["top"]),
        ("show-top-frac", ["show", "nbgraph-cora", "-k", "1.5"], ["top"]),
        ("predict-top-neg", ["predict", "m.pkl", "--archs", "a.txt", "-k", "-1"], ["top"]),
        ("fit-n-0", ["fit", *CORA, "-p", "rf", "-n", "0", "-o", "m.pkl"], ["0"]),
        ("fit-n-neg", ["fit", *CORA, "-p", "rf", "-n", "-5", "-o", "m.pkl"], ["-5"]),
        ("fit-n-huge", ["fit", *CORA, "-p", "rf", "-n", "999999", "-o", "m.pkl"], ["999999"]),
        ("fit-n-1", ["fit", *CORA, "-p", "rf", "-n", "1", "-o", "m.pkl"], ["1"]),
        ("train-epochs-0", ["train", NB201_ARCH, "--data", "digits", "-e", "0"], ["epochs"]),
        ("train-epochs-neg", ["train", NB201_ARCH, "--data", "digits", "-e", "-1"], ["epochs"]),
        ("train-data-fraction-0", ["train", NB201_ARCH, "--data", "digits", "-e", "1", "--data-fraction", "0"], ["fraction"]),
        ("train-data-fraction-2", ["train", NB201_ARCH, "--data", "digits", "-e", "1", "--data-fraction", "2"], ["fraction"]),
        ("train-lr-neg", ["train", NB201_ARCH, "--data", "digits", "-e", "1", "--lr", "-0.1"], ["lr"]),
        ("train-channels-0", ["train", NB201_ARCH, "--data", "digits", "-e", "1", "-C", "0"], ["channels"]),
        ("train-batch-0", ["train", NB201_ARCH, "--data", "digits", "-e", "1", "--batch-size-train", "0"], ["batch"]),
        ("train-resolution-0", ["train", NB201_ARCH, "--data", "digits", "-e", "1", "--resolution", "0"], ["resolution"]),
        ("profile-channels-neg", ["profile", NB201_ARCH, "-C", "-4"], ["channels"]),
        ("profile-cells-0", ["profile", NB201_ARCH, "-N", "0"], ["cells"]),
        ("profile-classes-0", ["profile", NB201_ARCH, "--classes", "0"], ["classes"]),
        ("profile-input-bad", ["profile", NB201_ARCH, "--input", "3x32"], ["input"]),
        ("profile-input-zero", ["profile", NB201_ARCH, "--input", "3x0x32"], ["input"]),
        ("threads-0", ["--threads", "0", "spaces"], ["threads"]),
        ("threads-neg", ["--threads", "-2", "spaces"], ["threads"]),
    ]
    for cid, argv, words in num:
        if argv[0] == "search":
            argv = argv + ["--store", "s.db", "--run", "x", "--out", "o"]
        if argv[0] == "evaluate":
            argv = argv + ["--out", "o", "--no-progress"]
        setup = _all(_fit_model, _write("a.txt", CORA_ARCH + "\n")) if argv[0] == "predict" else None
        add(Case(cid, "silent-wrong" if cid.endswith(("frac", "huge", "dup", "-1", "0")) else "traceback",
                 " ".join(argv[:1] + [a for a in argv[1:] if a.startswith("-") or a.lstrip("-").replace(".", "").isdigit()][-2:]),
                 argv=argv, setup=setup, problem=words))

    add(Case("search-budget-huge", "silent-wrong", "search -n 1e11 on a 26,206-arch table: evaluates every "
             "arch once and says the budget was more than the table",
             argv=["search", *CORA, "-s", "random", "-n", "100000000000", "--store", "s.db", "--run", "x",
                   "--out", "o"], error=False, timeout=300,
             check=_stdout_has("more than the 26,206 archs", "every distinct arch")))

    # --- search --log (a user's own results)
    slog = ["search", "--log", "log.csv", "-t", "valid_perf", "-s", "random", "-n", "4", "--store", "s.db",
            "--out", "o", "--run", "r"]
    add(Case("search-log-no-space", "poor-message", "search --log without --space", argv=slog,
             setup=_cora_log(30), problem=["--space"], after=_absent("s.db")))
    add(Case("search-log-and-benchmark", "poor-message", "search with both --log and -b",
             argv=slog + ["--space", "nbgraph", "-b", "nbgraph-cora"], setup=_cora_log(30),
             problem=["--log", "--benchmark"], after=_absent("s.db")))
    add(Case("search-log-works", "silent-wrong", "search --log proposes only the log's archs",
             argv=slog + ["--space", "nbgraph"], setup=_cora_log(30), error=False, check=_log_archs_only))
    add(Case("search-log-edited-resume", "silent-wrong", "resume a --log search after the log was edited",
             argv=["search", "--store", "s.db", "--run", "r", "--resume", "-n", "6", "--out", "o"],
             setup=_all(_cora_log(30), lambda t: _cli_run(t, slog + ["--space", "nbgraph"]),
                        _cora_log(30, mutate=lambda r: [dict(x, valid_perf=x["valid_perf"] + 0.01) for x in r])),
             problem=["changed"]))
    add(Case("search-one-min-target-default", "silent-wrong", "search -t latency without -d minimises it",
             argv=["search", *CORA[:2], "-t", "latency", "-s", "random", "-n", "5", "--store", "s.db", "--out", "o",
                   "--run", "r"], error=False, check=_stored_directions(["min"])))

    # --- multi-fidelity strategies: their levels must be ones the table answers
    mf = ["--store", "s.db", "--out", "o", "--run", "r", "-n", "6"]
    for cid, argv, words in [
        ("search-mf-table-without-curves", ["-b", "nb201-cifar10", "-t", "baseline_accuracy", "-s", "mf-bo"], ["full fidelity only"]),
        ("search-hyperband-no-levels", ["-b", "nb201-curves", "-t", "final_val_accuracy", "-s", "hyperband"], ["fidelities"]),
        ("search-sh-levels-past-table", ["-b", "nb201-curves", "-t", "final_val_accuracy", "-s", "successive-halving",
                                         "-O", "fidelities=[12,400]"], ["400"]),
    ]:
        add(Case(cid, "silent-wrong", f"search {' '.join(argv[4:])} on {argv[1]}", argv=["search", *argv, *mf],
                 problem=words, after=_absent("s.db")))

    # --- unknown names
    names = [
        ("unknown-benchmark-show", ["show", "nbgraph-coraa"], ["nbgraph-coraa"]),
        ("unknown-benchmark-search", ["search", "-b", "nb999", "-t", "x", "-s", "random", "-n", "3", "--store", "s.db", "--out", "o"], ["nb999"]),
        ("unknown-benchmark-evaluate", ["evaluate", "-b", "nb999", "-t", "x", "-p", "rf", "--out", "o"], ["nb999"]),
        ("unknown-benchmark-fit", ["fit", "-b", "nb999", "-t", "x", "-p", "rf", "-o", "m.pkl"], ["nb999"]),
        ("unknown-metric-show", ["show", "nbgraph-cora", "-m", "accuracy"], ["accuracy"]),
        ("unknown-metric-columns", ["show", "nbgraph-cora", "--columns", "foo"], ["foo"]),
        ("unknown-target-search", ["search", "-b", "nbgraph-cora", "-t", "acc", "-s", "random", "-n", "3", "--store", "s.db", "--out", "o"], ["acc"]),
        ("unknown-target-evaluate", ["evaluate", "-b", "nbgraph-cora", "-t", "acc", "-p", "rf", "--train-sizes", "10", "--seeds", "1", "--out", "o"], ["acc"]),
        ("unknown-target-fit", ["fit", "-b", "nbgraph-cora", "-t", "acc", "-p", "rf", "-o", "m.pkl"], ["acc"]),
        ("unknown-predictor-evaluate", ["evaluate", *CORA, "-p", "randomforest", "--train-sizes", "10", "--seeds", "1", "--out", "o"], ["randomforest"]),
        ("unknown-predictor-in-list", ["evaluate", *CORA, "-p", "rf,xgbb", "--train-sizes", "10", "--seeds", "1", "--out", "o"], ["xgbb"]),
        ("unknown-predictor-fit", ["fit", *CORA, "-p", "forest", "-o", "m.pkl"], ["forest"]),
        ("unknown-predictor-search", ["search", *CORA, "-s", "bo", "-p", "forest", "-n", "3", "--store", "s.db", "--out", "o"], ["forest"]),
        ("unknown-strategy", ["search", *CORA, "-s", "genetic", "-n", "3", "--store", "s.db", "--out", "o"], ["genetic"]),
        ("unknown-space-train", ["train", NB201_ARCH, "-S", "nb999", "--data", "digits"], ["nb999"]),
        ("unknown-space-profile", ["profile", NB201_ARCH, "-S", "nb999"], ["nb999"]),
        ("unknown-split", ["evaluate", *CORA, "-p", "rf", "--split", "random", "--out", "o"], ["split"]),
        ("unknown-executor", ["search", *CORA, "-s", "random", "-n", "3", "--executor", "dask", "--store", "s.db", "--out", "o"], ["executor"]),
        ("unknown-pruner", ["search", *CORA, "-s", "random", "-n", "3", "--pruner", "asha", "--store", "s.db", "--out", "o"], ["pruner"]),
        ("unknown-data-train", ["train", NB201_ARCH, "--data", "imagenet-xyz"], ["imagenet-xyz"]),
        ("unknown-device", ["profile", NB201_ARCH, "--device", "tpu"], ["tpu"]),
        ("cuda-device-absent", ["profile", NB201_ARCH, "--device", "cuda:7"], ["cuda"]),
        ("unknown-source", ["evaluate", *CORA, "-p", "transfer", "--source", "nb999", "--train-sizes", "10", "--seeds", "1", "--out", "o"], ["nb999"]),
        ("unknown-source-metric", ["evaluate", *CORA, "-p", "transfer", "--source", "nbgraph-citeseer:foo", "--train-sizes", "10", "--seeds", "1", "--out", "o"], ["foo"]),
        ("unknown-subcommand", ["serach"], ["serach"]),
        ("unknown-flag", ["show", "nbgraph-cora", "--topk", "3"], ["--topk"]),
        ("data-dir-missing", ["--data-dir", "nowhere", "show", "nb201-12epoch"], ["nowhere"]),
        ("predictor-wrong-space", ["evaluate", "-b", "nb201-cifar10", "-t", "baseline_accuracy", "-p", "gcn-blr,lc-srm", "--train-sizes", "10", "--seeds", "1", "--test-size", "50", "--out", "o"], ["lc-srm"]),
    ]
    for cid, argv, words in names:
        add(Case(cid, "poor-message", f"{' '.join(argv[:1])}: {cid.replace('-', ' ')}", argv=argv, problem=words))

    # --- directions
    dirs = [
        ("dir-count-mismatch", ["-t", "valid_perf,latency", "-d", "max"], ["direction"]),
        ("dir-too-many", ["-t", "valid_perf", "-d", "max,min"], ["direction"]),
        ("dir-unknown-word", ["-t", "valid_perf", "-d", "up"], ["up"]),
        ("dir-missing-mo", ["-t", "valid_perf,latency"], ["direction"]),
        ("target-twice", ["-t", "valid_perf,valid_perf", "-d", "max,max"], ["valid_perf"]),
        ("target-empty", ["-t", ""], ["target"]),
        ("target-empty-item", ["-t", "valid_perf,", "-d", "max,max"], ["target"]),
        ("dir-case-MAX", ["-t", "valid_perf", "-d", "MAX"], []),
    ]
    for cid, t, words in dirs:
        argv = ["search", "-b", "nbgraph-cora", *t, "-s", "mobo" if "," in t[1] else "random", "-n", "3",
                "--store", "s.db", "--run", "x", "--out", "o"]
        if cid == "dir-case-MAX":
            add(Case(cid, "convention", "-d MAX: either accepted as max or refused clearly", argv=argv,
                     error=False, check=_rows_distinct(3)))
        else:
            add(Case(cid, "silent-wrong", f"search {' '.join(t)}", argv=argv, problem=words))
    add(Case("show-minimize-latency", "silent-wrong", "show -m latency lists the lowest latency first",
             argv=["show", "nbgraph-cora", "-m", "latency", "-k", "3", "--json"], error=False,
             check=lambda t, o: _check_lowest(o)))

    # --- strategies and predictors
    add(Case("strategy-no-predictor-p", "traceback", "-p with a strategy that takes no predictor",
             argv=["search", *CORA, "-s", "random", "-p", "rf", "-n", "3", "--store", "s.db", "--run", "x", "--out", "o"],
             problem=["-p"]))
    add(Case("strategy-local-p", "traceback", "-p with local search",
             argv=["search", *CORA, "-s", "local", "-p", "gp", "-n", "3", "--store", "s.db", "--run", "x", "--out", "o"],
             problem=["local"]))
    add(Case("strategy-nothing-left-behind", "convention", "a refused search leaves no run in the store",
             argv=["search", *CORA, "-s", "random", "-p", "rf", "-n", "3", "--store", "s.db", "--run", "x", "--out", "o"],
             setup=_run("keep"), problem=["-p"], after=_no_run("x")))
    add(Case("bo-zerocost-predictor", "poor-message", "bo with a zero-cost proxy as surrogate",
             argv=["search", *CORA, "-s", "bo", "-p", "synflow", "-n", "3", "--store", "s.db", "--run", "x", "--out", "o"],
             problem=["synflow"]))
    add(Case("mobo-single-target", "poor-message", "mobo with one target",
             argv=["search", *CORA, "-s", "mobo", "-n", "3", "--store", "s.db", "--run", "x", "--out", "o"],
             problem=["mobo"]))
    add(Case("train-evaluator-with-benchmark", "poor-message", "-E train given a -b benchmark (ignored silently?)",
             argv=["search", "-E", "train", *CORA, "-s", "random", "-n", "1", "--store", "s.db", "--out", "o"],
             problem=["benchmark"]))
    add(Case("search-partial-table", "convention", "random search on a partial table (nb101-zc) works",
             argv=["search", "-b", "nb101-zc", "-t", "val_accuracy", "-s", "random", "-n", "3", "--store", "s.db",
                   "--run", "x", "--out", "o"], error=False, check=_rows_distinct(3)))

    # --- resume with changed arguments
    base = ["search", *CORA, "-s", "random", "-n", "3", "--store", "s.db", "--run", "r", "--out", "o", "--resume"]
    for cid, change, words in [
        ("resume-other-strategy", ["-s", "evolution"], ["strategy"]),
        ("resume-other-seed", ["--seed", "5"], ["seed"]),
        ("resume-other-target", ["-t", "latency"], ["target"]),
        ("resume-other-direction", ["-d", "min"], ["direction"]),
        ("resume-other-benchmark", ["-b", "nbgraph-citeseer"], ["benchmark"]),
        ("resume-other-batch", ["--batch-size", "2"], ["batch"]),
    ]:
        argv = list(base)
        k = argv.index(change[0]) if change[0] in argv else None
        if k is not None:
            argv[k + 1] = change[1]
        else:
            argv += change
        add(Case(cid, "silent-wrong", f"--resume with {' '.join(change)}", argv=argv, setup=_run(), problem=words))
    add(Case("resume-other-predictor", "silent-wrong", "--resume bo run with -p xgb instead of rf",
             argv=["search", *CORA, "-s", "bo", "-p", "xgb", "-n", "6", "--store", "s.db", "--run", "r", "--out", "o", "--resume"],
             setup=_run(strategy="bo", n="5", extra=["-p", "rf"]), problem=["predictor"]))
    add(Case("resume-larger-budget", "duplicate/lost", "--resume with a larger budget continues to 6 distinct",
             argv=["search", *CORA, "-s", "random", "-n", "6", "--store", "s.db", "--run", "r", "--out", "o", "--resume"],
             setup=_run(), error=False, check=_rows_distinct(6)))
    add(Case("resume-twice", "duplicate/lost", "--resume twice with the same budget adds nothing",
             argv=["search", *CORA, "-s", "random", "-n", "3", "--store", "s.db", "--run", "r", "--out", "o", "--resume"],
             setup=_all(_run(), lambda t: _cli_run(t, ["search", *CORA, "-s", "random", "-n", "3", "--store", "s.db", "--run", "r", "--out", "o", "--resume"])),
             error=False, check=_rows_distinct(3)))
    add(Case("resume-evolution-larger", "duplicate/lost", "evolution resumed 4 -> 8: 8 distinct rows",
             argv=["search", *CORA, "-s", "evolution", "-n", "8", "--store", "s.db", "--run", "r", "--out", "o", "--resume"],
             setup=_run(strategy="evolution", n="4"), error=False, check=_rows_distinct(8)))
    add(Case("resume-smaller-budget", "silent-wrong", "--resume with a smaller budget than done",
             argv=["search", *CORA, "-s", "random", "-n", "2", "--store", "s.db", "--run", "r", "--out", "o", "--resume"],
             setup=_run(), problem=["--budget"],
             after=lambda t: (_store_rows(t)[0] == 3, f"{_store_rows(t)[0]} rows kept (expected 3, nothing lost)")))
    add(Case("resume-missing-run", "poor-message", "--resume a run that does not exist",
             argv=["search", *CORA, "-s", "random", "-n", "3", "--store", "s.db", "--run", "ghost", "--out", "o", "--resume"],
             setup=_run(), problem=["ghost"]))
    add(Case("run-name-exists", "duplicate/lost", "a new search under an existing run name without --resume",
             argv=["search", *CORA, "-s", "random", "-n", "3", "--store", "s.db", "--run", "r", "--out", "o"],
             setup=_run(), problem=["r"], fix=["--resume", "--run", "delete"]))
    add(Case("run-name-empty", "poor-message", "--run ''",
             argv=["search", *CORA, "-s", "random", "-n", "3", "--store", "s.db", "--run", "", "--out", "o"], problem=["run"]))
    add(Case("run-name-slash", "poor-message", "--run with a path separator (plots are named per run)",
             argv=["search", *CORA, "-s", "random", "-n", "3", "--store", "s.db", "--run", "a/b", "--out", "o"],
             error=False, check=lambda t, o: (_store_rows(t)[0] == 3, "ran")))

    # --- fit / predict
    add(Case("predict-missing-model", "traceback", "predict with a missing model file",
             argv=["predict", "nomodel.pkl", "--archs", "a.txt"], setup=_write("a.txt", CORA_ARCH + "\n"), problem=["nomodel.pkl"]))
    add(Case("predict-model-not-pickle", "traceback", "predict with a text file as model",
             argv=["predict", "m.pkl", "--archs", "a.txt"], setup=_all(_write("m.pkl", "not a model"), _write("a.txt", CORA_ARCH + "\n")),
             problem=["m.pkl"]))
    add(Case("predict-model-is-store", "traceback", "predict with an SQLite store as the model",
             argv=["predict", "s.db", "--archs", "a.txt"], setup=_all(_run(), _write("a.txt", CORA_ARCH + "\n")), problem=["s.db"]))
    add(Case("predict-model-other-space", "silent-wrong", "nb201 model given nbgraph archs",
             argv=["predict", "m201.pkl", "--archs", "a.txt"], setup=_all(_fit_model_nb201, _write("a.txt", CORA_ARCH + "\n")),
             problem=[CORA_ARCH.split(";")[0]]))
    add(Case("predict-archs-bad-line", "poor-message", "predict --archs with one bad line",
             argv=["predict", "m.pkl", "--archs", "a.txt"], setup=_all(_fit_model, _write("a.txt", CORA_ARCH + "\nbogus-arch\n")),
             problem=["bogus-arch"]))
    add(Case("predict-archs-empty", "poor-message", "predict --archs with an empty file",
             argv=["predict", "m.pkl", "--archs", "a.txt"], setup=_all(_fit_model, _write("a.txt", "")), problem=["a.txt"]))
    add(Case("predict-archs-missing", "traceback", "predict --archs with a missing file",
             argv=["predict", "m.pkl", "--archs", "nofile.txt"], setup=_fit_model, problem=["nofile.txt"]))
    add(Case("predict-archs-dir", "traceback", "predict --archs is a directory",
             argv=["predict", "m.pkl", "--archs", "d"], setup=_all(_fit_model, _mkdir("d")), problem=["d"]))
    add(Case("predict-works-rows", "silent-wrong", "predict on 5 real archs writes 5 rows, equal to Python predict",
             argv=["predict", "m.pkl", "--archs", "a.csv", "-o", "p.csv"],
             setup=_all(_fit_model, _cora_log(5, "a.csv")), error=False, check=_predict_equal))
    add(Case("predict-duplicate-archs", "silent-wrong", "predict with the same arch twice: both rows, same value",
             argv=["predict", "m.pkl", "--archs", "a.txt", "-o", "p.csv"],
             setup=_all(_fit_model, _write("a.txt", CORA_ARCH + "\n" + CORA_ARCH + "\n")), error=False,
             check=_file_exists("p.csv")))
    add(Case("fit-constant-target", "silent-wrong", "fit --log on a constant target",
             argv=["fit", "--log", "log.csv", "--space", "nbgraph", "-t", "valid_perf", "-p", "rf", "-o", "m.pkl"],
             setup=_cora_log(30, mutate=lambda r: [dict(x, valid_perf=0.5) for x in r]), problem=["same value"]))
    add(Case("fit-zerocost", "poor-message", "fit a zero-cost proxy (nothing to fit)",
             argv=["fit", *CORA, "-p", "synflow", "-n", "20", "-o", "m.pkl"], error=False,
             check=_file_exists("m.pkl")))
    add(Case("fit-log-and-benchmark", "poor-message", "fit with both -b and --log",
             argv=["fit", *CORA, "--log", "log.csv", "-p", "rf", "-o", "m.pkl"], setup=_cora_log(30), problem=["--log"]))
    add(Case("fit-output-overwrite-store", "silent-wrong", "fit -o onto an existing store file (clobbers data?)",
             argv=["fit", *CORA, "-p", "rf", "-n", "20", "-o", "s.db"], setup=_run(),
             problem=["s.db"]))

    # --- export / show / runs
    add(Case("export-missing-run", "poor-message", "export a run name that is not in the store",
             argv=["export", "ghost", "--store", "s.db", "-o", "x.csv"], setup=_run(), problem=["ghost"]))
    add(Case("export-roundtrip-rows", "duplicate/lost", "export writes one row per stored trial",
             argv=["export", "r", "--store", "s.db", "-o", "x.csv"], setup=_run(n="4"), error=False, check=_file_exists("x.csv", 4)))
    add(Case("export-optuna-bad-url", "traceback", "export --optuna with a malformed storage URL",
             argv=["export", "r", "--store", "s.db", "--optuna", "notaurl"], setup=_run(), problem=["notaurl"]))
    add(Case("export-no-output", "poor-message", "export with neither -o nor --optuna",
             argv=["export", "r", "--store", "s.db"], setup=_run(), problem=["--output", "--optuna"]))
    add(Case("export-overwrite-store", "silent-wrong", "export -o onto the store itself",
             argv=["export", "r", "--store", "s.db", "-o", "s.db"], setup=_run(), problem=["s.db"]))
    add(Case("runs-delete-missing", "poor-message", "runs --delete a name not in the store",
             argv=["runs", "--store", "s.db", "--delete", "ghost", "-y"], setup=_run(), problem=["ghost"]))
    add(Case("runs-delete-works", "duplicate/lost", "runs --delete removes the run and its trials",
             argv=["runs", "--store", "s.db", "--delete", "r", "-y"], setup=_all(_run(), _run("keep")), error=False,
             check=lambda t, o: (_store_rows(t)[0] == 3, f"{_store_rows(t)[0]} trials left (expected 3 of 'keep')")))
    add(Case("runs-delete-no-yes", "convention", "runs --delete without -y and no tty: refuses, deletes nothing",
             argv=["runs", "--store", "s.db", "--delete", "r"], setup=_run(), problem=["--yes"], fix=["-y", "--yes"]))
    add(Case("runs-json", "convention", "runs --json gives one record per run",
             argv=["runs", "--store", "s.db", "--json"], setup=_all(_run(), _run("r2")), error=False, check=_json_rows(2)))
    add(Case("show-json-top", "silent-wrong", "show --json -k 5 equals the recomputed top 5",
             argv=["show", "nbgraph-cora", "-k", "5", "--json"], error=False, check=_top_matches(5)))
    add(Case("show-top-huge", "convention", "show -k larger than the table prints the whole table, no crash",
             argv=["show", "nbgraph-cora", "-k", "100000", "--json"], error=False, check=_json_rows(26206)))
    add(Case("benchmarks-json", "convention", "benchmarks --json parses",
             argv=["benchmarks", "--json"], error=False, check=lambda t, o: (len(json.loads(o)) >= 10, "parsed")))
    add(Case("version", "convention", "--version prints a version",
             argv=["--version"], error=False, check=_stdout_has("naspredict")))
    add(Case("quiet-no-progress", "convention", "-q search prints no progress bar",
             argv=["search", *CORA, "-s", "random", "-n", "3", "--store", "s.db", "--run", "x", "--out", "o"],
             error=False, use_stderr=True,
             check=lambda t, o: ("it/s" not in o and "%|" not in o, "progress bar on stderr" if "%|" in o else "no progress bar")))

    # --- train / profile with bad archs
    for cid, argv, words in [
        ("train-bad-arch", ["train", "|nor_conv_3x3~0|+|bogus~0|", "--data", "digits", "-e", "1"], ["bogus"]),
        ("train-arch-other-space", ["train", CORA_ARCH, "--data", "digits", "-e", "1"], ["nb201"]),
        ("train-empty-arch", ["train", "", "--data", "digits", "-e", "1"], ["arch"]),
        ("train-data-missing-file", ["train", NB201_ARCH, "--data", "nofile.npz", "-e", "1"], ["nofile.npz"]),
        ("train-data-bad-npz", ["train", NB201_ARCH, "--data", "bad.npz", "-e", "1"], ["bad.npz"]),
        ("profile-bad-arch", ["profile", "|nor_conv_3x3~0|+|"], ["arch"]),
        ("profile-arch-other-space", ["profile", CORA_ARCH, "-S", "nb201"], ["nb201"]),
        ("profile-darts-bad", ["profile", "not-a-genotype", "-S", "darts"], ["darts"]),
        ("profile-nbgraph-bad", ["profile", "link=0,1;ops=fc", "-S", "nbgraph"], ["link"]),
        ("profile-nb101-bad", ["profile", "xyz", "-S", "nb101"], ["nb101"]),
    ]:
        add(Case(cid, "traceback", f"{argv[0]} {cid}", argv=argv,
                 setup=_write("bad.npz", "not an npz") if "bad-npz" in cid else None, problem=words))
    add(Case("profile-works", "convention", "profile a real NB201 cell prints params",
             argv=["profile", NB201_ARCH], error=False, check=_stdout_has("param")))

    # --- evaluate degenerate / duplicate
    add(Case("evaluate-constant-target", "silent-wrong", "evaluate --log with a constant target: tau undefined, not 0.0",
             argv=["evaluate", "--log", "log.csv", *ev],
             setup=_cora_log(40, mutate=lambda r: [dict(x, valid_perf=0.5) for x in r]), problem=["same value"]))
    add(Case("evaluate-resume-other-target", "silent-wrong", "evaluate twice into one --out, second with another target",
             argv=["evaluate", "-b", "nbgraph-cora", "-t", "latency", "-p", "rf", "--train-sizes", "10", "--seeds", "1",
                   "--test-size", "50", "--out", "o", "--no-progress"],
             setup=lambda t: _cli_run(t, ["evaluate", *CORA, "-p", "rf", "--train-sizes", "10", "--seeds", "1",
                                          "--test-size", "50", "--out", "o", "--no-progress"]),
             problem=["o"], fix=FIX + ["--out"]))
    add(Case("evaluate-resume-same", "duplicate/lost", "evaluate twice with the same args: rows not duplicated",
             argv=["evaluate", *CORA, "-p", "rf", "--train-sizes", "10", "--seeds", "2", "--test-size", "50", "--out", "o", "--no-progress"],
             setup=lambda t: _cli_run(t, ["evaluate", *CORA, "-p", "rf", "--train-sizes", "10", "--seeds", "2",
                                          "--test-size", "50", "--out", "o", "--no-progress"]),
             error=False, check=_eval_rows(2)))
    add(Case("evaluate-predictor-twice", "silent-wrong", "-p rf,rf (the same predictor twice)",
             argv=["evaluate", *CORA, "-p", "rf,rf", "--train-sizes", "10", "--seeds", "1", "--test-size", "50", "--out", "o", "--no-progress"],
             problem=["rf"]))
    add(Case("evaluate-log-and-benchmark", "poor-message", "evaluate with -b and --log",
             argv=["evaluate", *CORA, "--log", "log.csv", "-p", "rf", "--out", "o"], setup=_cora_log(30), problem=["--log"]))

    # --- Python API
    P = "from naspredict import predictors, data, search\nimport numpy as np\n"
    B = "b = data.load('nbgraph-cora').subset(np.arange(60)) if hasattr(data.load('nbgraph-cora'),'subset') else None\n"
    archs = "bench = data.load('nbgraph-cora')\nA = list(bench.archs[:30]); Y = list(bench.values('valid_perf')[:30])\n"
    py = [
        ("py-fit-len-mismatch", "m = predictors.make('rf', space='nbgraph')\nm.fit(A, Y[:-3])", ("ValueError",), ["30", "27"]),
        ("py-fit-nan-y", "m = predictors.make('rf', space='nbgraph')\nY[3] = float('nan')\nm.fit(A, Y)", ("ValueError",), ["nan"]),
        ("py-fit-inf-y", "m = predictors.make('gp', space='nbgraph')\nY[3] = float('inf')\nm.fit(A, Y)", ("ValueError",), ["inf"]),
        ("py-fit-empty", "m = predictors.make('rf', space='nbgraph')\nm.fit([], [])", ("ValueError",), ["0"]),
        ("py-fit-string-y", "m = predictors.make('rf', space='nbgraph')\nm.fit(A, ['a']*len(A))", ("ValueError", "TypeError"), ["y"]),
        ("py-fit-2d-y", "m = predictors.make('rf', space='nbgraph')\nm.fit(A, np.ones((len(A), 2)))", ("ValueError",), ["y"]),
        ("py-predict-before-fit", "m = predictors.make('rf', space='nbgraph')\nm.predict(A)", ("ValueError", "RuntimeError", "NotFittedError"), ["fit"]),
        ("py-predict-before-fit-gp", "m = predictors.make('gp', space='nbgraph')\nm.predict(A)", ("ValueError", "RuntimeError", "NotFittedError"), ["fit"]),
        ("py-fit-wrong-arch-type", "m = predictors.make('rf', space='nbgraph')\nm.fit([1,2,3]*10, Y)", ("ValueError", "TypeError"), ["arch"]),
        ("py-fit-other-space-archs", "m = predictors.make('rf', space='nb201')\nm.fit(A, Y)", ("ValueError", "TypeError"), ["nb201"]),
        ("py-predict-other-space", "m = predictors.make('rf', space='nbgraph')\nm.fit(A, Y)\nfrom naspredict import spaces\nm.predict([data.load('nb201-cifar10').archs[0]])", ("ValueError", "TypeError"), ["arch"]),
        ("py-predict-arch-string", "m = predictors.make('rf', space='nbgraph')\nm.fit(A, Y)\nm.predict(['" + CORA_ARCH + "'])", ("ValueError", "TypeError"), ["arch"]),
        ("py-strategy-two-targets-no-direction", "search.make_strategy('random', 'nbgraph', target=['valid_perf', 'latency'])", ("ValueError",), ["direction"]),
        ("py-tell-twice-one-call", "from naspredict.trials import Result\ns = search.make_strategy('random', 'nbgraph', target='valid_perf')\n(p,) = s.ask(1)\nimport warnings\nwith warnings.catch_warnings(record=True) as w:\n    warnings.simplefilter('always')\n    s.tell([p.trial(Result({'valid_perf': 0.5})), p.trial(Result({'valid_perf': 0.5}))])\nassert any('already told' in str(x.message) for x in w)\nprint('OK')", (), []),
        ("py-load-path-dir", "import os\nos.mkdir('d')\ndata.load('nbgraph-cora', path='d')", ("FileNotFoundError", "ValueError"), ["d", "folder"]),
        ("py-make-unknown", "predictors.make('forest')", ("ValueError", "KeyError"), ["forest"]),
        ("py-make-bad-param", "predictors.make('rf', n_trees=-5)", ("ValueError", "TypeError"), ["n_trees"]),
        ("py-make-unknown-space", "predictors.make('rf', space='nb999')", ("ValueError", "KeyError"), ["nb999"]),
        ("py-fit-constant-y", "m = predictors.make('gp', space='nbgraph')\nm.fit(A, [0.5]*len(A))\np = m.predict(A[:3])\nassert np.all(np.isfinite(p)), p\nprint('OK', p)", (), []),
        ("py-fit-one-row-gp", "m = predictors.make('gp', space='nbgraph')\nm.fit(A[:1], Y[:1])", ("ValueError",), ["1"]),
        ("py-top-neg", "bench.top('valid_perf', -3)", ("ValueError",), ["k"]),
        ("py-top-zero", "bench.top('valid_perf', 0)", ("ValueError",), ["k"]),
        ("py-top-float", "bench.top('valid_perf', 2.5)", ("ValueError", "TypeError"), ["k"]),
        ("py-top-unknown-metric", "bench.top('acc', 3)", ("ValueError", "KeyError"), ["acc"]),
        ("py-values-unknown", "bench.values('acc')", ("ValueError", "KeyError"), ["acc"]),
        ("py-load-unknown", "data.load('nb999')", ("ValueError", "KeyError"), ["nb999"]),
        ("py-load-bad-path", "data.load('nbgraph-cora', path='nowhere/x.csv')", ("ValueError", "FileNotFoundError"), ["nowhere"]),
        ("py-read-results-missing", "data.read_results('nofile.csv', 'nbgraph')", ("FileNotFoundError", "ValueError"), ["nofile.csv"]),
        ("py-read-results-bad-space", "data.read_results('log.csv', 'nb999')", ("ValueError", "KeyError"), ["nb999"]),
        ("py-read-results-bad-onbad", "data.read_results('log.csv', 'nbgraph', on_bad_arch='skip')", ("ValueError",), ["on_bad_arch"]),
        ("py-read-results-bad-arch-col", "data.read_results('log.csv', 'nbgraph', arch_column='a')", ("ValueError", "KeyError"), ["a"]),
        ("py-read-results-bad-fmt", "data.read_results('log.csv', 'nbgraph', fmt='xlsx')", ("ValueError",), ["xlsx"]),
        ("py-read-results-hib-unknown", "data.read_results('log.csv', 'nbgraph', higher_is_better={'foo': False})", ("ValueError", "KeyError"), ["foo"]),
        ("py-read-results-drop", "b2 = data.read_results('bad.csv', 'nbgraph', on_bad_arch='drop')\nassert len(b2.archs) == 30, len(b2.archs)\nprint('OK')", (), []),
        ("py-store-dir", "from naspredict.store import ResultsStore\nResultsStore('d')", ("ValueError", "IsADirectoryError", "FileNotFoundError"), ["d"]),
        ("py-store-not-sqlite", "from naspredict.store import ResultsStore\nResultsStore('t.db').runs() if hasattr(ResultsStore,'runs') else ResultsStore('t.db')", ("ValueError",), ["t.db"]),
        # the Python store makes its folder, as save_predictor and write_results do (the CLI's
        # --store refuses a missing folder: a typo on a command line)
        ("py-store-missing-parent", "from naspredict.store import ResultsStore\nResultsStore('no/such/x.db').close()\nimport os\nassert os.path.exists('no/such/x.db')\nprint('OK')", (), []),
        ("py-strategy-unknown", "search.make_strategy('genetic', 'nbgraph')", ("ValueError", "KeyError"), ["genetic"]),
        ("py-strategy-bad-direction", "search.make_strategy('random', 'nbgraph', target='valid_perf', direction='up')", ("ValueError",), ["up"]),
        ("py-strategy-dir-mismatch", "search.make_strategy('random', 'nbgraph', target=['a','b'], direction=['max'])", ("ValueError",), ["direction"]),
        ("py-strategy-ask-0", "s = search.make_strategy('random', 'nbgraph', target='valid_perf')\ns.ask(0)", ("ValueError",), ["n"]),
        ("py-strategy-ask-neg", "s = search.make_strategy('random', 'nbgraph', target='valid_perf')\ns.ask(-2)", ("ValueError",), ["n"]),
        ("py-tell-numbers", "s = search.make_strategy('random', 'nbgraph', target='valid_perf')\nt = s.ask(2)\ns.tell(t, [0.5, 0.6])", ("TypeError", "ValueError"), ["result"]),
        ("py-tell-len-mismatch", "from naspredict.trials import Result\ns = search.make_strategy('random', 'nbgraph', target='valid_perf')\nt = s.ask(2)\ns.tell(t, [Result({'valid_perf': 0.5})])", ("ValueError",), ["2"]),
        ("py-tell-wrong-metric", "from naspredict.trials import Result\ns = search.make_strategy('random', 'nbgraph', target='valid_perf')\nt = s.ask(1)\ns.tell(t, [Result({'acc': 0.5})])", ("ValueError", "KeyError"), ["valid_perf"]),
        ("py-tell-twice", "from naspredict.trials import Result\ns = search.make_strategy('random', 'nbgraph', target='valid_perf')\nt = s.ask(1)\ns.tell(t, [Result({'valid_perf': 0.5})])\nimport warnings\nwith warnings.catch_warnings(record=True) as w:\n    warnings.simplefilter('always')\n    s.tell(t, [Result({'valid_perf': 0.6})])\nassert any('already told' in str(x.message) for x in w), [str(x.message) for x in w]\nprint('OK')", (), []),
        ("py-tell-unknown-trial", "from naspredict.trials import Result\ns = search.make_strategy('random', 'nbgraph', target='valid_perf')\ns2 = search.make_strategy('random', 'nbgraph', target='valid_perf')\nt = s2.ask(1)\ns.tell(t, [Result({'valid_perf': 0.5})])\nassert len(s.history) == 1\nprint('OK')", (), []),
        ("py-tell-nan", "from naspredict.trials import Result\ns = search.make_strategy('evolution', 'nbgraph', target='valid_perf')\nt = s.ask(1)\ns.tell(t, [Result({'valid_perf': float('nan')})])\nprint('OK')", (), []),
        ("py-evaluate-sizes-empty", "from naspredict import evaluation\nevaluation.evaluate(bench, 'valid_perf', ['rf'], train_sizes=[], seeds=1, test_size=50, progress=False)", ("ValueError",), ["train_sizes"]),
        ("py-evaluate-size-too-big", "from naspredict import evaluation\nevaluation.evaluate(bench, 'valid_perf', ['rf'], train_sizes=[10**6], seeds=1, test_size=50, progress=False)", ("ValueError",), ["train"]),
        ("py-evaluate-seeds-0", "from naspredict import evaluation\nevaluation.evaluate(bench, 'valid_perf', ['rf'], train_sizes=[10], seeds=0, test_size=50, progress=False)", ("ValueError",), ["seeds"]),
        ("py-evaluate-size-float", "from naspredict import evaluation\nevaluation.evaluate(bench, 'valid_perf', ['rf'], train_sizes=[10.7], seeds=1, test_size=50, progress=False)", ("ValueError", "TypeError"), ["10.7"]),
        ("py-evaluate-bad-split", "from naspredict import evaluation\nevaluation.evaluate(bench, 'valid_perf', ['rf'], train_sizes=[10], seeds=1, split='random', progress=False)", ("ValueError",), ["split"]),
        ("py-evaluate-unknown-target", "from naspredict import evaluation\nevaluation.evaluate(bench, 'acc', ['rf'], train_sizes=[10], seeds=1, test_size=50, progress=False)", ("ValueError", "KeyError"), ["acc"]),
        ("py-space-bad-string", "from naspredict import spaces\nsp = bench.space\nsp.from_str('bogus')", ("ValueError",), ["bogus"]),
        ("py-save-load-roundtrip", "from naspredict.predictors.io import save_predictor, load_predictor\nm = predictors.make('rf', space='nbgraph')\nm.fit(A, Y)\nsave_predictor(m, 'm.pkl')\nm2 = load_predictor('m.pkl')\nassert np.array_equal(m.predict(A), m2.predict(A))\nprint('OK')", (), []),
        ("py-load-predictor-missing", "from naspredict.predictors.io import load_predictor\nload_predictor('none.pkl')", ("FileNotFoundError", "ValueError"), ["none.pkl"]),
        ("py-load-predictor-garbage", "from naspredict.predictors.io import load_predictor\nopen('g.pkl','w').write('garbage')\nload_predictor('g.pkl')", ("ValueError",), ["g.pkl"]),
        ("py-save-predictor-unfitted", "from naspredict.predictors.io import save_predictor\nsave_predictor(predictors.make('rf', space='nbgraph'), 'u.pkl')", ("ValueError",), ["fit"]),
    ]
    for cid, code, exc, words in py:
        setup = None
        if "read-results" in cid:
            setup = _cora_log(30) if "drop" not in cid else _cora_log(30, "bad.csv", mutate=lambda r: r + [{"arch": "junk", "valid_perf": 0.1, "latency": 1.0}])
        if cid == "py-store-dir":
            setup = _mkdir("d")
        if cid == "py-store-not-sqlite":
            setup = _write("t.db", "plain text, not sqlite\n" * 10)
        ok = not exc
        pre = P + (archs if ("bench" in code or "A" in code or "Y" in code) else "")
        add(Case(cid, "silent-wrong" if ok else "traceback", cid[3:].replace("-", " "), code=pre + code,
                 setup=setup, error=not ok, exc=exc, problem=words,
                 check=(lambda t, o: ("OK" in o, "OK printed" if "OK" in o else "no OK")) if ok else None))
    return C


def _no_run(name: str) -> Callable[[Path], tuple[bool, str]]:
    def f(tmp: Path) -> tuple[bool, str]:
        if not (tmp / "s.db").exists():
            return True, "no store"
        con = sqlite3.connect(tmp / "s.db")
        try:
            n = con.execute("select count(*) from runs where name = ?", (name,)).fetchone()[0]
        finally:
            con.close()
        return n == 0, f"run {name!r} {'left behind' if n else 'not created'}"
    return f


def _check_lowest(out: str) -> tuple[bool, str]:
    from naspredict import data
    rows = json.loads(out)
    lo = sorted(data.load("nbgraph-cora").values("latency"))[:3]
    got = [r["latency"] for r in rows]
    return got == [float(x) for x in lo], f"got {got} lowest {list(lo)}"


def _predict_equal(tmp: Path, out: str) -> tuple[bool, str]:
    import pandas as pd
    from naspredict import data
    from naspredict.predictors.io import load_predictor
    p = pd.read_csv(tmp / "p.csv")
    if len(p) != 5:
        return False, f"{len(p)} rows (expected 5)"
    m = load_predictor(tmp / "m.pkl")
    sp = data.load("nbgraph-cora").space
    col = [c for c in p.columns if c != "arch" and pd.api.types.is_float_dtype(p[c])]
    arch_col = "arch" if "arch" in p.columns else p.columns[0]
    want = m.predict([sp.from_str(a) for a in p[arch_col]])
    import numpy as np
    got = p[col[0]].to_numpy()
    return bool(np.allclose(got, want)), f"max diff {np.max(np.abs(got - want)):.2e} ({col[0]})"


def _eval_rows(n: int) -> Callable[[Path, str], tuple[bool, str]]:
    def f(tmp: Path, out: str) -> tuple[bool, str]:
        import pandas as pd
        csvs = sorted((tmp / "o").rglob("*.csv"))
        if not csvs:
            return False, "no CSV under o/"
        rows = max(len(pd.read_csv(c)) for c in csvs)
        return rows == n, f"{rows} run rows in {csvs[0].name} (expected {n})"
    return f
