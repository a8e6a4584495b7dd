"""``python benchmarks/<suite>.py PART [args]``: run one part of a benchmark suite, or all."""
from __future__ import annotations

import sys
from importlib import import_module


def dispatch(doc: str, parts: dict[str, str], argv=None) -> int:
    """Run ``parts[argv[0]]``'s ``main(argv[1:])`` (a module name per part), or every part
    with its defaults for ``all``; print ``doc`` for ``--help`` or an unknown part."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in (*parts, "all"):
        print(doc)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    part, rest = argv[0], argv[1:]
    names = list(parts) if part == "all" else [part]
    code = 0
    for name in names:
        print(f"== {name} ==", flush=True)
        code = max(code, int(import_module(parts[name]).main(rest if part != "all" else []) or 0))
    return code
