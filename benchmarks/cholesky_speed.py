"""Exactness and speed of a jittered Cholesky: naspredict's former hand-written ladder against
``linear_operator.utils.cholesky.psd_safe_cholesky`` (gpytorch's dependency).

    python benchmarks/cholesky_speed.py          # writes benchmarks/results/cholesky_speed.md

Matrices (float64, CPU): a well-conditioned RBF kernel on ``n`` seeded uniform points in 8-D plus
0.1 noise, and a singular one (rank 20 Gram matrix ``A A^T`` of ``n x 20`` normals, scaled by
1e4 so that an absolute jitter is too small).  ``ours`` is the ladder naspredict used before
(jitter 0, then 1e-8 .. 1e-3 times the mean diagonal); ``psd_safe`` is the library call with its
defaults (absolute jitter 1e-8, 1e-7, 1e-6) and ``psd_safe_scaled`` with the same ladder as ours
(``jitter=1e-8 * mean diag``, ``max_tries=6``).  Each time is the best of three (shared machine:
compare ratios).
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import torch
from linear_operator.utils.cholesky import psd_safe_cholesky

RESULTS = Path(__file__).resolve().parent / "results"


def ours(K):
    eye = torch.eye(len(K), dtype=K.dtype)
    scale = float(K.diagonal().abs().mean()) or 1.0
    for jitter in (0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3):
        L, info = torch.linalg.cholesky_ex(K + jitter * scale * eye)
        if int(info) == 0:
            return L
    raise RuntimeError("not PD")


def lib(K):
    return psd_safe_cholesky(K)


def lib_scaled(K):
    scale = float(K.diagonal().abs().mean()) or 1.0
    return psd_safe_cholesky(K, jitter=1e-8 * scale, max_tries=6)


def best_of(fn, K, k=3):
    best, out = float("inf"), None
    for _ in range(k):
        t = time.perf_counter()
        try:
            out = fn(K)
        except Exception as e:  # a failure is a result of the comparison
            out = e
        best = min(best, time.perf_counter() - t)
    return out, best


def matrices(n):
    g = torch.Generator().manual_seed(n)
    X = torch.rand(n, 8, generator=g, dtype=torch.float64)
    K = torch.exp(-0.5 * torch.cdist(X, X) ** 2) + 0.1 * torch.eye(n, dtype=torch.float64)
    A = torch.randn(n, 20, generator=g, dtype=torch.float64)
    yield "well-conditioned", K
    yield "singular (rank 20, x1e4)", 1e4 * (A @ A.T)


def main(argv=None):
    import argparse
    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    rows = []
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)  # a benchmark script, not library code: one core per timing
    for n in (100, 500, 1000, 2000):
        for kind, K in matrices(n):
            Lo, to = best_of(ours, K)
            cells = [f"{n:,}", kind, f"{to * 1e3:.2f}"]
            for fn in (lib, lib_scaled):
                L, t = best_of(fn, K)
                if isinstance(L, Exception):
                    diff = f"fails: {type(L).__name__}"
                else:
                    diff = f"{float((L - Lo).abs().max()):.1e}"
                cells += [f"{t * 1e3:.2f}", diff]
            rows.append("| " + " | ".join(cells) + " |")
            print(rows[-1], flush=True)
    head = ("| n | matrix | ours (ms) | psd_safe (ms) | max abs diff to ours | psd_safe_scaled (ms) "
            "| max abs diff to ours |\n|---|---|---|---|---|---|---|")
    text = (__doc__.split("\n\n")[0] + "\n\nCommand: `python benchmarks/cholesky_speed.py` "
            "(1 torch thread, best of 3).\n\n" + head + "\n" + "\n".join(rows) + "\n")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cholesky_speed.md").write_text(text)


if __name__ == "__main__":
    main()
