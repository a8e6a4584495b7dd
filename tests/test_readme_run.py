"""The README's shell and Python blocks run as written, at small sizes (issue #13).

Every ```bash block is run as one bash script (``set -e``, its command lines in order) and
every ``##`` section's ```python blocks as one Python session (a reader pastes them in order),
each in a fresh temporary working directory, with ``.venv/bin`` first on ``PATH`` and
``NASPREDICT_DATA_DIR`` set to the shared data folder beside the repo.

Before running, sizes are shrunk by the explicit rules in :data:`SHELL_RULES` and
:data:`PYTHON_RULES` (each must be used at least once, so a stale rule fails), placeholders are
filled by :data:`FILL`, and lines that cannot run here are skipped by the named rules in
:data:`SKIP_SHELL`.  Files the README points at inside the repo (``benchmarks/results/...``)
are copied into the working directory at the same relative path.

Blocks that train networks or run more than 10 commands carry the ``readme_slow`` marker
(registered in pyproject.toml; the default ``pytest`` run and ``make test`` include them,
``-m "not readme_slow"`` leaves them out).  Measured on the shared 2-core machine: the whole file
about 10 min, without ``readme_slow`` about 3.5 min.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"   # as tests/conftest.py
VENV_BIN = Path(sys.executable).parent

#: an arch string for the ``ARCH`` placeholder (NB201's best CIFAR-10 cell, from the README).
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"

#: placeholders filled with a real value: (name, pattern, replacement).
FILL = [
    ("ARCH -> a real NB201 cell", re.compile(r"\bARCH\b"), shlex.quote(BEST)),
    # the default name of the block's `search -s bo -p gp` run on nb201-cifar10 (search/cli.py)
    ("NAME -> the bo-gp run the block stored", re.compile(r"\bNAME\b"), "bo-gp-nb201-cifar10-0"),
    ("[optional] -> given", re.compile(r"\[(-n) \d+\]"), r"\1 4"),
]

#: why a shell line is not run: (name, pattern on the joined line).
SKIP_SHELL = {
    "make target (builds .venv / runs a suite)": re.compile(r"^make\b"),
    "pip install": re.compile(r"^pip\b"),
    "ray cluster (a GPU per trial, CIFAR-10 files)": re.compile(r"^ray\b|--executor ray"),
    "elided arguments (...)": re.compile(r"\.\.\."),
    "a full benchmark script": re.compile(r"benchmarks/\w+\.py"),
}

#: shell size rules: (name, pattern, replacement), applied to naspredict lines in order.
SHELL_RULES = [
    ("search -n N -> 3", re.compile(r"^(naspredict search\b.*?)\s-n\s+\d+"), r"\1 -n 3"),
    ("fit -n N -> 30", re.compile(r"^(naspredict fit\b.*?)\s-n\s+\d+"), r"\1 -n 30"),
    ("fit without -n gets -n 30", re.compile(r"^(naspredict fit\b(?!.*\s-n\s).*)$"), r"\1 -n 30"),
    ("--seeds N -> 1", re.compile(r"--seeds\s+\d+"), "--seeds 1"),
    ("--train-sizes ... -> 10", re.compile(r"--train-sizes\s+[\d,]+"), "--train-sizes 10"),
    ("evaluate gets --test-size 50", re.compile(r"^(naspredict evaluate\b.*)$"), r"\1 --test-size 50"),
    ("-e N -> 1", re.compile(r"\s-e\s+\d+"), " -e 1"),
    ("--workers N -> 2", re.compile(r"--workers\s+\d+"), "--workers 2"),
    ("--data-fraction X -> 0.02", re.compile(r"--data-fraction\s+[\d.]+"), "--data-fraction 0.02"),
    ("training without -C gets -C 8 -N 1",
     re.compile(r"^(naspredict (?:train|search --evaluator train)\b(?!.*\s-C\s).*)$"), r"\1 -C 8 -N 1"),
    ("darts without --channels gets --channels 8 --cells 1",
     re.compile(r"^(naspredict darts\b(?!.*--channels).*)$"), r"\1 --channels 8 --cells 1"),
    ("training without a data size gets --data-fraction 0.02 --resolution 16",
     re.compile(r"^(naspredict (?:train|darts|search --evaluator train)\b(?!.*--data-fraction).*)$"),
     r"\1 --data-fraction 0.02 --resolution 16"),
]

#: Python size rules: (name, pattern, replacement).
PYTHON_RULES = [
    ("budget=N -> 3", re.compile(r"budget=\d+"), "budget=3"),
    ("train_sizes=[...] -> [10]", re.compile(r"train_sizes=\[[\d, ]+\]"), "train_sizes=[10]"),
    ("seeds=N -> 1 (and test_size=100)", re.compile(r"seeds=\d+"), "seeds=1, test_size=100"),
    ("epochs=N -> 2", re.compile(r"\bepochs=\d+"), "epochs=2"),
    ("Fidelity(epochs=N) -> 1", re.compile(r"Fidelity\(epochs=2\)"), "Fidelity(epochs=1)"),
    ("data_fraction=X -> 0.02", re.compile(r"data_fraction=[\d.]+"), "data_fraction=0.02"),
    ("archs[:50] -> [:12]", re.compile(r"archs\[:50\], bench"), "archs[:12], bench"),
    ("values(...)[:50] -> [:12]", re.compile(r'values\("baseline_accuracy"\)\[:50\]'),
     'values("baseline_accuracy")[:12]'),
]

#: repo files a block may name by relative path; copied into the working directory.
REPO_FILES = re.compile(r"benchmarks/results/[\w./-]+\.csv")


def _blocks() -> list[tuple[int, str, str, str]]:
    """``(line, lang, section, text)`` of every fenced block of README.md."""
    out, cur, start, kind, section = [], None, 0, "", ""
    for i, line in enumerate(README.read_text().splitlines(), 1):
        if cur is None and line.startswith("## "):
            section = line[3:].strip()
        if line.startswith("```"):
            if cur is None:
                cur, start, kind = [], i, line[3:].strip()
            else:
                out.append((start, kind, section, "\n".join(cur)))
                cur = None
        elif cur is not None:
            cur.append(line)
    return out


SHELL_BLOCKS = [(s, t) for s, k, _, t in _blocks() if k in ("bash", "sh", "console", "shell")]
PY_SECTIONS: dict[str, list[tuple[int, str]]] = {}
for _s, _k, _sec, _t in _blocks():
    if _k == "python":
        PY_SECTIONS.setdefault(_sec, []).append((_s, _t))

USED: Counter = Counter()
STATS = {"naspredict_run": 0, "naspredict_skipped": 0, "py_blocks_run": 0}


def _apply(rules, text: str) -> str:
    for name, rx, rep in rules:
        new = rx.sub(rep, text)
        if new != text:
            USED[name] += 1
        text = new
    return text


def _logical_lines(text: str) -> list[str]:
    """Command lines with continuations joined and comments dropped (quotes kept)."""
    out = []
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        words = shlex.split(_apply(FILL, line), comments=True)
        if not words:
            continue
        # drop a trailing comment but keep quoting: re-quote the parsed words
        out.append(" ".join(shlex.quote(w) if w != ">" else w for w in words))
    return out


def shell_script(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The runnable script of a shell block and the ``(line, rule)`` pairs it skipped."""
    lines, skipped = [], []
    for line in _logical_lines(text):
        why = next((n for n, rx in SKIP_SHELL.items() if rx.search(line)), None)
        is_np = line.startswith("naspredict ")
        if why:
            skipped.append((line, why))
            STATS["naspredict_skipped"] += is_np
            continue
        if is_np:
            line = _apply(SHELL_RULES, line)
            STATS["naspredict_run"] += 1
        lines.append(line)
    return "\n".join(["set -e", *(f"echo {shlex.quote('+ ' + l[:70])}\n{l}" for l in lines)]), skipped


def _workdir(tmp_path: Path, text: str) -> Path:
    for rel in set(REPO_FILES.findall(text)):
        dst = tmp_path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, dst)
    return tmp_path


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["NASPREDICT_DATA_DIR"] = str(SHARED)
    env["MPLBACKEND"] = "Agg"
    env["OMP_NUM_THREADS"] = "1"
    return env


def _run(cmd: list[str], cwd: Path, what: str, timeout: int = 900):
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        last = [l for l in out.splitlines() if l.startswith("+ ")][-1:]
        raise AssertionError(f"{what} ran past {timeout} s; last command started: {last}") from None
    assert proc.returncode == 0, (f"{what} failed (exit {proc.returncode})\n--- stdout ---\n"
                                  f"{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}")


def _slow(text: str) -> bool:
    """``readme_slow``: a block that trains networks for real or runs more than 10 commands
    (the command-line reference block takes ~5 min here, the training block ~1 min)."""
    script = shell_script(text)[0]
    return "--evaluator train" in script or script.count("\nnaspredict ") > 10


SHELL_PARAMS = [pytest.param(s, t, id=f"bash-L{s}", marks=[pytest.mark.readme_slow] if _slow(t) else [])
                for s, t in SHELL_BLOCKS]


@pytest.mark.parametrize("start,text", SHELL_PARAMS)
def test_readme_shell_block_runs(start, text, tmp_path):
    if not SHARED.exists():
        pytest.skip(f"shared data folder {SHARED} is absent")
    script, _ = shell_script(text)
    if script.strip() == "set -e":
        pytest.skip(f"README line {start}: every line skipped by a named rule")
    (tmp_path / "block.sh").write_text(script + "\n")
    _run(["bash", "block.sh"], _workdir(tmp_path, text), f"README bash block at line {start}")


PY_IDS = [f"py-L{blocks[0][0]}" for blocks in PY_SECTIONS.values()]


@pytest.mark.parametrize("blocks", list(PY_SECTIONS.values()), ids=PY_IDS)
def test_readme_python_section_runs(blocks, tmp_path):
    if not SHARED.exists():
        pytest.skip(f"shared data folder {SHARED} is absent")
    parts = ["from naspredict.torch_utils import set_threads; set_threads(1)", "ns = {}"]
    for start, text in blocks:
        src = _apply(PYTHON_RULES, text)
        STATS["py_blocks_run"] += 1
        # compiled under the README's name and line, so a traceback points at the README
        parts.append(f"exec(compile('\\n' * {start} + {src!r}, 'README.md', 'exec'), ns)")
    (tmp_path / "blocks.py").write_text("\n".join(parts) + "\n")
    _run([sys.executable, "blocks.py"], _workdir(tmp_path, "\n".join(t for _, t in blocks)),
         f"README python blocks at lines {[s for s, _ in blocks]}")


def test_readme_rules_are_live_and_coverage():
    """Every rule is used, most naspredict lines and every Python block run."""
    USED.clear()
    STATS.update(naspredict_run=0, naspredict_skipped=0, py_blocks_run=0)
    skipped = []
    for _, text in SHELL_BLOCKS:
        skipped += shell_script(text)[1]
    for blocks in PY_SECTIONS.values():
        for _, text in blocks:
            _apply(PYTHON_RULES, text)
    every = [n for n, *_ in FILL + SHELL_RULES + PYTHON_RULES] + list(SKIP_SHELL)
    stale = [n for n in every if USED[n] == 0 and n not in {why for _, why in skipped}]
    assert not stale, f"rules no README line uses any more (remove or fix them): {stale}"
    total = STATS["naspredict_run"] + STATS["naspredict_skipped"]
    assert STATS["naspredict_run"] >= 0.8 * total, (
        f"only {STATS['naspredict_run']} of {total} README naspredict lines run; skipped: {skipped}")
    n_py = sum(len(b) for b in PY_SECTIONS.values())
    assert n_py >= 7, f"only {n_py} README python blocks found (7 when this test was written)"
