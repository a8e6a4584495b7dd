"""The process's thread policy.

Library code (predictors, strategies, evaluators) never changes the caller's thread count: a
``torch.set_num_threads`` inside a library call is process-wide, so it would silently change
the caller's other work, and it races with any thread the caller runs.  The policy is set
once per process instead:

* at the application entry point: ``naspredict --threads N`` (default 1), ``naspredict.demo``
  and the ``benchmarks/*.py`` scripts call :func:`set_threads` at the top of their ``main``;
* in each worker process: the executors in :mod:`naspredict.executors` set their workers'
  threads (``torch_threads=``).

A script or notebook that uses the library directly should call ``set_threads(1)`` once at
the start.  naspredict's models are small: extra intra-op threads bring no speed-up, and on a
busy machine they make every step many times slower (measured here: 10-20x for GP and GCN
fitting on 2 shared cores, 2,000x for mobo's small products).

:func:`limited_threads` / :func:`one_thread` are for applications that want a different
count around one block of their own code; library code must not use them either.
"""
from __future__ import annotations

import importlib.util
import sys
from contextlib import contextmanager


def set_threads(n: int = 1, *, blas: bool = True, import_torch: bool = True) -> None:
    """Set this process's thread policy: ``n`` torch intra-op threads (when torch is
    installed) and, with ``blas``, at most ``n`` threads in the BLAS libraries loaded so far
    (NumPy's OpenBLAS, via threadpoolctl when it is installed; about 20 ms).
    ``import_torch=False`` sets torch's count only if torch is already imported (importing it
    takes 2-3 s, which a command that never runs a model need not pay).

    For application entry points and worker initialisers only; nothing is restored.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the thread count must be a positive integer, got {n!r}")
    if "torch" in sys.modules or (import_torch and importlib.util.find_spec("torch") is not None):
        import torch
        torch.set_num_threads(n)
    if blas and importlib.util.find_spec("threadpoolctl") is not None:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=n, user_api="blas")  # stays in force: not used as a context


@contextmanager
def limited_threads(n: int | None):
    """Run torch with at most ``n`` intra-op threads inside the block (``None``: unchanged);
    the previous setting is restored.  For application code (see the module docstring)."""
    import torch
    prev = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def one_thread():
    """Run torch with one intra-op thread inside the block; the previous setting is restored.
    For application code (see the module docstring)."""
    return limited_threads(1)
