"""Weight sharing and training-free estimates, measured: one entry point for their benchmarks.

    python benchmarks/oneshot.py search  [args]  # DARTS, GDAS and DrNAS on NB201, 3 seeds each (oneshot_search.py)
    python benchmarks/oneshot.py ranking [args]  # one-shot scores vs stand-alone accuracy, 100 cells (oneshot_ranking.py)
    python benchmarks/oneshot.py proxies [args]  # live zero-cost proxies on 1,000 cells; proxies as features (oneshot_proxies.py)
    python benchmarks/oneshot.py all             # all three with their defaults

Each part writes its table to ``benchmarks/results/oneshot_<part>.md``; ``--help`` after the
part name lists its options.  They run on the CPU with one thread (CI never has a GPU);
times are wall-clock, so run them on an otherwise idle machine.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _dispatch import dispatch  # noqa: E402

PARTS = {"search": "oneshot_search", "ranking": "oneshot_ranking", "proxies": "oneshot_proxies"}


def main(argv=None) -> int:
    return dispatch(__doc__, PARTS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
