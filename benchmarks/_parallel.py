"""Run benchmark jobs in single-threaded worker processes (``--jobs N`` of the scripts)."""
from __future__ import annotations

import os
from typing import Callable, Iterator


def parallel_map(fn: Callable, jobs: list[tuple], n_jobs: int) -> Iterator:
    """Yield ``fn(*job)`` for each job, in the order of ``jobs``.

    Over ``n_jobs`` single-threaded processes (``joblib.Parallel``, loky backend) when
    ``n_jobs > 1``, in this process otherwise.  Results stream as they are ready (a generator),
    so a caller that stores each one keeps every finished run when interrupted; a worker's
    exception is re-raised here with the worker's traceback.
    """
    if n_jobs <= 1:
        for job in jobs:
            yield fn(*job)
        return
    from joblib import Parallel, delayed
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"  # inherited by the workers: one core each
    yield from Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(
        delayed(fn)(*job) for job in jobs)
