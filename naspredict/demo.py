"""`make demo`: a tour of naspredict on the embedded data."""
from __future__ import annotations

import argparse
from pathlib import Path

from .cli import main as cli


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="naspredict tour on the embedded benchmark tables")
    p.add_argument("--out", default="out", help="folder for the files the tour writes")
    args = p.parse_args(argv)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    print("== search spaces ==")
    cli(["spaces"])
    print("\n== benchmark tables ==")
    cli(["benchmarks"])
    print("\n== best NAS-Bench-201 cells on CIFAR-10 ==")
    cli(["show", "nb201-cifar10", "--metric", "baseline_accuracy", "--top", "10",
         "--columns", "analog_accuracy"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
