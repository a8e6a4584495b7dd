"""Predictor speed on NB201: fit on 1,000 cells, then predict all 15,625 (issue #3 speed goals).

    python benchmarks/predictor_speed.py

Each predictor is timed in a fresh state for its first predict (the encoding cache is cleared
before each fit) and again for a second predict of all cells.  Writes
results/predictor_speed.md.  Run it on an otherwise idle machine: times are wall-clock.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from naspredict import data  # noqa: E402
from naspredict.encodings import base as enc_base  # noqa: E402
from naspredict.predictors import make  # noqa: E402
from naspredict.torch_utils import set_threads  # noqa: E402

NAMES = ["gp", "gcn-blr", "gcn", "nao", "semi", "mlp-ensemble", "ensemble", "rf", "xgb"]


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    set_threads(1)  # the process's thread policy, once (library calls leave it alone)
    bench = data.load("nb201-cifar10")
    y = bench.values("baseline_accuracy")
    rng = np.random.default_rng(0)
    train = rng.choice(len(bench), 1000, replace=False)
    archs = [bench.archs[i] for i in train]
    rows = []
    for name in NAMES:
        enc_base._CACHES.clear()
        model = make(name, random_state=0)
        t0 = time.perf_counter()
        model.fit(archs, y[train])
        t1 = time.perf_counter()
        model.predict(bench.archs)
        t2 = time.perf_counter()
        model.predict(bench.archs)
        t3 = time.perf_counter()
        rows.append({"predictor": name, "fit_1000_s": t1 - t0, "predict_15625_s": t2 - t1,
                     "fit_plus_predict_s": t2 - t0, "predict_again_s": t3 - t2})
        print(rows[-1], flush=True)
    df = pd.DataFrame(rows).round(2)
    text = (f"## Speed on NB201 (cores available: {os.cpu_count()}): fit on 1,000 cells, predict all 15,625\n\n"
            + df.to_markdown(index=False) + "\n")
    out = ROOT / "benchmarks" / "results" / "predictor_speed.md"
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
