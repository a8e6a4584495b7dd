"""A benchmark table as an evaluator: a lookup that returns the chosen metrics."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..data import Benchmark
from ..trials import Result


class TabularEvaluator:
    """Look up ``metrics`` of an arch in ``bench``.

    Parameters
    ----------
    bench : the table.
    metrics : metric names to return (default: all).
    cost_column : a train-time column; its value becomes ``Result.cost`` (simulated seconds).
        Without one the cost is 0.
    missing : what an arch absent from the table gives: ``"raise"`` (``KeyError``, the
        default) or ``"fail"`` (a ``Result`` with ``status="failed"``).
    curve : name of a curve of ``bench`` to attach to each result, when it has curves.
    """

    def __init__(self, bench: Benchmark, metrics: Sequence[str] | None = None,
                 cost_column: str | None = None, missing: str = "raise", curve: str | None = None):
        if missing not in ("raise", "fail"):
            raise ValueError(f"missing must be 'raise' or 'fail', got {missing!r}")
        self.bench = bench
        self.metrics = list(metrics) if metrics is not None else bench.metric_names
        for m in self.metrics:
            bench._check_metric(m)
        if cost_column is not None:
            bench._check_metric(cost_column)
        if curve is not None and curve not in bench.curves:
            raise ValueError(f"{bench.name} has no curve {curve!r}; available: {list(bench.curves)}")
        self.cost_column = cost_column
        self.missing = missing
        self.curve = curve
        self.space = bench.space

    def evaluate(self, arch: Any, fidelity=None, report=None) -> Result:
        try:
            rows = self.bench.rows_of(arch)
        except KeyError as err:
            if self.missing == "raise":
                raise
            return Result.failed(str(err))
        vals = {m: self.bench.query(arch, m) for m in self.metrics}
        cost = self.bench.query(arch, self.cost_column) if self.cost_column else 0.0
        curves = {}
        if self.curve is not None:
            c = self.bench.curves[self.curve][rows[0]]
            curves[self.curve] = [float(v) for v in c[np.isfinite(c)]]
        return Result(metrics=vals, curves=curves, cost=float(cost))


def as_evaluator(bench: Benchmark, metrics=None, **kw) -> TabularEvaluator:
    """Shorthand for :class:`TabularEvaluator`."""
    return TabularEvaluator(bench, metrics, **kw)
