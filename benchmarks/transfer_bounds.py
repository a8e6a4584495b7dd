"""How far can a transfer predictor get? Bounds for the two pairs of ``benchmarks/transfer.py``.

    python benchmarks/transfer_bounds.py        # writes results/transfer_bounds.md (~3 min)

Issue #12 asks for Kendall tau 0.41 (cora <- citeseer) and 0.64 (NB201 ImageNet16-120 12-epoch
<- CIFAR-10 200-epoch) with only 20 target labels, where the source alone gives 0.360 and
0.588.  This script measures, on every arch of the target table:

1. **Zero labels, more sources**: the tau of the sum of the sources' normal scores, for the
   pair's own source and for sources the issue does not name (pubmed for cora; the 12-epoch
   CIFAR-10 / CIFAR-100 columns for NB201).  A user who has them needs no target label to
   get these.
2. **Oracle one-feature corrections**: for each graph feature ``f`` (``features`` encoding), the
   best tau of ``z + w * rank(f)`` over ``w`` in a grid, with ``w`` chosen on *all* target
   labels.  With 20 labels a linear correction cannot do better than its oracle; if the best
   one-feature oracle is below the goal, a low-variance linear fix is not enough.
3. **Many labels**: 5-fold cross-validated tau (``n_rows`` random target archs) of the source's
   linear map plus a residual model (ridge, random forest) on graph features + one-hot: what
   transfer could reach with thousands of target labels.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import kendalltau, norm, rankdata
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from naspredict import data  # noqa: E402
from naspredict.encodings import make_encoding  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
#: pair -> (target table, metric, the issue's source, [extra sources], space)
PAIRS = {
    "cora": ("nbgraph-cora", "valid_perf", ("nbgraph-citeseer", "valid_perf"),
             [("nbgraph-pubmed", "valid_perf")], "nbgraph"),
    "nb201-imagenet": ("nb201-12epoch", "imagenet-test", ("nb201-cifar10", "baseline_accuracy"),
                       [("nb201-12epoch", "cifar10-test"), ("nb201-12epoch", "cifar100-test")], "nb201"),
}
WEIGHTS = (-1.0, -0.5, -0.25, 0.25, 0.5, 1.0)


def normal_scores(x: np.ndarray) -> np.ndarray:
    return norm.ppf((rankdata(x) - 0.5) / len(x))


def tau(a, b) -> float:
    return round(float(kendalltau(a, b).statistic), 3)


def pair_bounds(pair: str, n_rows: int = 6000, seed: int = 0) -> tuple[list[dict], list[dict], list[dict]]:
    table, metric, source, extras, space = PAIRS[pair]
    bench = data.load(table).dropna(metric)
    archs, y = list(bench.archs), bench.values(metric)

    def scores(name, m):
        b = data.load(name)
        lookup = dict(zip(b.archs, b.values(m)))
        return normal_scores(np.array([lookup[a] for a in archs], float))

    z = scores(*source)
    zero = [{"pair": pair, "sources": f"{source[0]}:{source[1]}", "tau": tau(z, y)}]
    total = z.copy()
    for name, m in extras:
        e = scores(name, m)
        zero.append({"pair": pair, "sources": f"{name}:{m} alone", "tau": tau(e, y)})
        total = total + e
        zero.append({"pair": pair, "sources": f"... + {name}:{m}", "tau": tau(total, y)})

    enc = make_encoding("features", space=space)
    F = enc.transform(archs)
    jitter = np.random.default_rng(seed).standard_normal(len(y)) * 1e-9  # ties broken at random
    oracle = []
    for j, name in enumerate(enc.feature_names):
        if F[:, j].std() == 0:
            continue
        f = normal_scores(F[:, j] + jitter)
        best = max((tau(z + w * f, y), w) for w in WEIGHTS)
        oracle.append({"pair": pair, "feature": name, "oracle tau": best[0], "w": best[1]})
    oracle = sorted(oracle, key=lambda r: -r["oracle tau"])[:3]

    t = normal_scores(y)
    slope, icpt = np.polyfit(z, t, 1)
    X = np.hstack([F, make_encoding("onehot", space=space).transform(archs)])
    idx = np.random.default_rng(seed).choice(len(y), min(n_rows, len(y)), replace=False)
    resid = t[idx] - (slope * z[idx] + icpt)
    folds = KFold(5, shuffle=True, random_state=seed)
    many = []
    for label, model in [("ridge", RidgeCV(alphas=np.logspace(-2, 3, 12))),
                         ("rf", RandomForestRegressor(200, min_samples_leaf=5, n_jobs=1, random_state=seed))]:
        pred = slope * z[idx] + icpt + cross_val_predict(model, X[idx], resid, cv=folds)
        many.append({"pair": pair, "labels": f"{len(idx)} (5-fold)", "residual model": label,
                     "tau": tau(pred, y[idx]), "source alone on these rows": tau(z[idx], y[idx])})
    return zero, oracle, many


def main() -> int:
    zero, oracle, many = [], [], []
    for pair in PAIRS:
        a, b, c = pair_bounds(pair)
        zero += a
        oracle += b
        many += c
    text = ["# Transfer bounds (issue #12): what the n = 20 goals ask for", "",
            "Produced by `python benchmarks/transfer_bounds.py` (see its docstring).  Kendall tau on "
            "every arch of the target table.", "",
            "## Zero target labels: the issue's source, and more sources (sum of normal scores)", "",
            pd.DataFrame(zero).to_markdown(index=False), "",
            "## Oracle one-feature linear corrections (w chosen on all target labels; top 3)", "",
            pd.DataFrame(oracle).to_markdown(index=False), "",
            "## Thousands of target labels: source map + residual model", "",
            pd.DataFrame(many).to_markdown(index=False), ""]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "transfer_bounds.md").write_text("\n".join(text))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
