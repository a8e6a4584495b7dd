"""Every ``naspredict`` command line of the README parses with today's command (no stale
subcommand, flag or choice).

Only parsing is checked here (fast); ``tests/test_readme_run.py`` runs the README's shell and
Python blocks at small sizes.  Lines with a placeholder (``ARCH``,
``NAME``, ``...``, an optional ``[...]``) are skipped by the rules in :data:`SKIP`, and the test
checks that most lines were checked.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"

#: why a shell line is not checked: a placeholder, or not a naspredict command.
SKIP = {
    "a placeholder": re.compile(r"(\bARCH\b|\bNAME\b|\.\.\.|\s\[|~/)"),
}


def _blocks(lang: str) -> list[tuple[int, str]]:
    """``(line, text)`` of every fenced block of the language."""
    out, cur, start, kind = [], None, 0, ""
    for i, line in enumerate(README.read_text().splitlines(), 1):
        if line.startswith("```"):
            if cur is None:
                cur, start, kind = [], i, line[3:].strip()
            else:
                if kind == lang:
                    out.append((start, "\n".join(cur)))
                cur = None
        elif cur is not None:
            cur.append(line)
    return out


def _commands(text: str) -> list[tuple[str, list[str]]]:
    """Logical command lines ``(line, words)``: continuations joined, comments dropped."""
    out = []
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        words = shlex.split(line, comments=True)
        if words:
            out.append((line.strip(), words))
    return out


def test_readme_command_lines_parse():
    from naspredict.cli import build_parser
    parser = build_parser()
    checked, skipped = [], []
    for start, text in _blocks("bash"):
        for cmd, words in _commands(text):
            reason = next((why for why, rx in SKIP.items() if rx.search(" ".join(words))), None)
            if reason or words[0] != "naspredict":
                skipped.append((start, cmd, reason or "not naspredict"))
                continue
            try:
                parser.parse_args(words[1:])
            except SystemExit as exc:
                raise AssertionError(f"README line {start}: `{cmd}` does not parse (exit {exc.code})") from None
            checked.append(cmd)
    assert len(checked) >= 20, f"only {len(checked)} README command lines checked; skipped: {skipped}"
