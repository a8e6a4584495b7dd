"""Run benchmark jobs in single-threaded worker processes (``--jobs N`` of the scripts)."""
from __future__ import annotations

import os
from typing import Callable, Iterator


def parallel_map(fn: Callable, jobs: list[tuple], n_jobs: int) -> Iterator:
    """Yield ``fn(*job)`` for each job, in completion order, over ``n_jobs`` processes (each
    single-threaded); in this process when ``n_jobs <= 1``.  Callers store each result as it
    arrives, so an interrupted benchmark keeps every finished run."""
    if n_jobs <= 1:
        for job in jobs:
            yield fn(*job)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"  # inherited by the workers: one core each
    with ProcessPoolExecutor(max_workers=n_jobs) as pool:
        futures = [pool.submit(fn, *job) for job in jobs]
        for f in as_completed(futures):
            yield f.result()
