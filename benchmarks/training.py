"""The real training evaluator's goals, measured: one entry point for its benchmarks.

    python benchmarks/training.py curves   [args]  # the real curve data set: 100 NB201 cells on Fashion-MNIST (train_curves.py)
    python benchmarks/training.py overhead [args]  # images/s of TrainingEvaluator vs a plain PyTorch loop (train_overhead.py)
    python benchmarks/training.py scaling  [args]  # 8 trainings on 1 vs 2 workers, local pool and Ray (train_scaling.py)
    python benchmarks/training.py pruning  [args]  # 50-cell random search with the lc-srm pruner vs without (train_pruning.py)
    python benchmarks/training.py fidelity [args]  # Kendall tau of 1/3/12-epoch Fashion-MNIST accuracy vs NB201's CIFAR-10 (train_fidelity.py)
    python benchmarks/training.py all              # all five with their defaults (curves first: the others read it)

Each part writes its table to ``benchmarks/results/training_<part>.md``; ``--help`` after the
part name lists its options.  All of them run on the CPU with one thread per process (CI
never has a GPU); times are wall-clock, so run them on an otherwise idle machine.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _dispatch import dispatch  # noqa: E402

PARTS = {"curves": "train_curves", "overhead": "train_overhead", "scaling": "train_scaling",
         "pruning": "train_pruning", "fidelity": "train_fidelity"}


def main(argv=None) -> int:
    return dispatch(__doc__, PARTS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
