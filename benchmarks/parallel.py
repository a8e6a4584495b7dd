"""The trial core's goals, measured: one entry point for the four parallel benchmarks.

    python benchmarks/parallel.py resume   [args]   # faithful resume after SIGKILL (par_resume.py)
    python benchmarks/parallel.py scaling  [args]   # executors 1 vs 2 workers, loop overhead (par_scaling.py)
    python benchmarks/parallel.py async-bo [args]   # bo-gp with 4 async workers on the simulated executor (par_async_bo.py)
    python benchmarks/parallel.py pruning  [args]   # lc-srm and median pruners on the 200 real NB201 curves (par_pruning.py)
    python benchmarks/parallel.py all               # all four with their defaults

Each part writes its table to ``benchmarks/results/parallel_<part>.md`` (``--help`` after the
part name lists its options); long parts keep per-seed rows and resume when interrupted.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _dispatch import dispatch  # noqa: E402

PARTS = {"resume": "par_resume", "scaling": "par_scaling", "async-bo": "par_async_bo", "pruning": "par_pruning"}


def main(argv=None) -> int:
    return dispatch(__doc__, PARTS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
