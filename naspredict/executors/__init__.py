"""Executors: where trials run (this process, a local process pool, a Ray cluster, or a
simulated clock).  ``make_executor(name, workers=...)`` builds one by name."""
from __future__ import annotations

from .base import Executor, SerialExecutor, SimulatedExecutor, execute_trial

EXECUTORS = ("serial", "local", "ray", "simulated")


def make_executor(name: str, workers: int = 1, **kw) -> Executor:
    """``"serial"`` (default, in this process), ``"local"`` (process pool), ``"ray"`` or
    ``"simulated"`` (virtual workers on a simulated clock); ``kw`` go to the class."""
    if name == "serial":
        return SerialExecutor(**kw)
    if name == "simulated":
        return SimulatedExecutor(workers, **kw)
    if name == "local":
        from .local import ProcessPoolExecutor
        return ProcessPoolExecutor(workers, **kw)
    if name == "ray":
        from .ray import RayExecutor
        return RayExecutor(workers, **kw)
    raise ValueError(f"unknown executor {name!r}; expected one of {', '.join(EXECUTORS)}")


__all__ = ["Executor", "SerialExecutor", "SimulatedExecutor", "execute_trial", "make_executor", "EXECUTORS"]
