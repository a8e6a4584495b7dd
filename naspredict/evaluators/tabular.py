"""A benchmark table as an evaluator: fidelity-aware lookups that can replay a run epoch by epoch.

:class:`TabularEvaluator` answers ``evaluate(arch, fidelity=FULL, report=None) -> Result`` from
one :class:`~naspredict.data.Benchmark`.

- A table **without** per-epoch curves (``nb201-cifar10``, the NAS-Bench-Graph tables, the
  zero-cost tables) answers the full fidelity only; any other fidelity raises ``ValueError``.
- A table **with** curves (``nb201-curves``: ``val`` and ``train``, 200 epochs each) also
  answers ``Fidelity(epochs=k)`` for ``1 <= k <= K`` (``K`` = the curves' length, 200 there).
  Metrics tied to a curve (see ``metric_curves``) take the curve's epoch-``k`` value, the
  result's ``curves`` hold the first ``k`` epochs and the cost is ``k / K`` of the full cost.
  With a ``report`` callable the run is replayed epoch by epoch, and a ``True`` from
  ``report`` stops it with a ``PRUNED`` result (see :meth:`TabularEvaluator.evaluate`).

:class:`FidelitySpace` says which fidelities an evaluator answers (its ``fidelities``).

>>> from naspredict import data
>>> from naspredict.trials import Fidelity
>>> ev = TabularEvaluator(data.load("nb201-curves"), ["final_val_accuracy"])
>>> ev.fidelities.describe()
'epochs 1..200 (200 = full)'
>>> r = ev.evaluate(ev.bench.archs[0], Fidelity(epochs=12))
>>> len(r.curves["val"]), r.metrics["final_val_accuracy"] == r.curves["val"][-1]
(12, True)
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np

from ..data import Benchmark
from ..trials import FULL, Fidelity, Reporter, Result, TrialState

__all__ = ["FidelitySpace", "TabularEvaluator", "as_evaluator", "as_fidelity"]


def as_fidelity(fidelity: Any) -> Fidelity:
    """``fidelity`` as a :class:`~naspredict.trials.Fidelity` (``None`` -> ``FULL``).

    Anything else raises ``TypeError`` with the spelling to use instead (an ``int`` used to
    mean an epoch count: write ``Fidelity(epochs=k)``).
    """
    if fidelity is None:
        return FULL
    if isinstance(fidelity, Fidelity):
        return fidelity
    if isinstance(fidelity, (int, np.integer)) and not isinstance(fidelity, bool):
        raise TypeError(f"fidelity must be a naspredict Fidelity, got the int {fidelity!r}; "
                        f"an epoch count is written Fidelity(epochs={int(fidelity)})")
    if isinstance(fidelity, str):
        raise TypeError(f"fidelity must be a naspredict Fidelity, got the string {fidelity!r}; "
                        f"parse text with Fidelity.from_key({fidelity!r})")
    raise TypeError(f"fidelity must be a naspredict Fidelity (or None for the full setting), "
                    f"got {type(fidelity).__name__}; e.g. Fidelity(epochs=12)")


@dataclass(frozen=True)
class FidelitySpace:
    """The fidelities an evaluator answers: epoch levels only (the tables vary nothing else).

    Parameters
    ----------
    epochs : the epoch counts it answers, ascending; the last one is the full schedule, so
        ``Fidelity(epochs=epochs[-1])`` and ``FULL`` give the same values.  Empty when only the
        full fidelity is answered and its epoch count is unknown (a table without curves).

    >>> fs = FidelitySpace((12, 200))
    >>> fs.full_epochs, Fidelity(epochs=12) in fs, Fidelity(epochs=50) in fs, FULL in fs
    (200, True, False, True)
    >>> [f.key() for f in fs.levels]
    ['epochs=12', 'full']
    """

    epochs: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        eps = tuple(int(e) for e in self.epochs)
        if any(e < 1 for e in eps) or list(eps) != sorted(set(eps)):
            raise ValueError(f"FidelitySpace.epochs must be distinct positive ints in ascending "
                             f"order, got {self.epochs!r}")
        object.__setattr__(self, "epochs", eps)

    @property
    def full_epochs(self) -> int | None:
        """Epochs of the full schedule (``None`` when unknown)."""
        return self.epochs[-1] if self.epochs else None

    @property
    def levels(self) -> tuple[Fidelity, ...]:
        """Every answerable fidelity, cheapest first; the full one is written ``FULL``."""
        return tuple(Fidelity(epochs=e) for e in self.epochs[:-1]) + (FULL,)

    def describe(self) -> str:
        """The levels in words, for error messages: ``'epochs 1..200 (200 = full)'``."""
        if not self.epochs:
            return "the full fidelity only (FULL or None)"
        e = self.epochs
        if len(e) > 2 and e == tuple(range(e[0], e[-1] + 1)):
            listed = f"{e[0]}..{e[-1]}"
        else:
            listed = ", ".join(map(str, e))
        return f"epochs {listed} ({e[-1]} = full)"

    def __contains__(self, fidelity: object) -> bool:
        if not isinstance(fidelity, Fidelity):
            return False
        try:
            self.resolve(fidelity)
        except ValueError:
            return False
        return True

    def resolve(self, fidelity: Any, who: str = "this evaluator") -> int | None:
        """The epoch count to read for ``fidelity`` (``full_epochs`` for the full one).

        Raises ``TypeError`` for a value that is not a :class:`Fidelity` (see
        :func:`as_fidelity`) and ``ValueError``, naming what is supported, for a fidelity
        outside this space (a field other than ``epochs``, or an epoch count not listed).
        """
        fidelity = as_fidelity(fidelity)
        other = [f.name for f in fields(fidelity) if f.name != "epochs" and getattr(fidelity, f.name) is not None]
        if other:
            raise ValueError(f"{who} cannot vary {', '.join(other)} (got fidelity {fidelity.key()}); "
                             f"it answers {self.describe()}")
        if fidelity.epochs is None:
            return self.full_epochs
        if fidelity.epochs not in self.epochs:
            raise ValueError(f"{who} has no values at epochs={fidelity.epochs}; it answers "
                             f"{self.describe()}")
        return fidelity.epochs


def _last_finite(curves: np.ndarray) -> np.ndarray:
    out = np.full(len(curves), np.nan)
    for i, row in enumerate(curves):
        idx = np.flatnonzero(np.isfinite(row))
        if len(idx):
            out[i] = row[idx[-1]]
    return out


def _names(value: str | Sequence[str] | None, default: Sequence[str]) -> list[str]:
    if value is None:
        return list(default)
    if isinstance(value, str):
        return [value]
    return list(value)


class TabularEvaluator:
    """Look up an arch's metrics in ``bench``, at the full fidelity or, for a table with
    per-epoch curves, after ``k`` epochs.

    Parameters
    ----------
    bench : the table.
    metrics : a metric name or names to return (default: all the table's columns).  Names that are keys
        of ``metric_curves`` but not columns are allowed: their full value is the curve's last
        epoch.
    cost_column : a train-time column of the full schedule (seconds); ``Result.cost`` is its
        value, times ``k / K`` at ``Fidelity(epochs=k)``.
    missing : what an arch absent from the table gives: ``"raise"`` (``KeyError``, the
        default) or ``"fail"`` (a failed ``Result`` whose error says the arch is not in it).
    curve : the table's curves to attach to each result (a name or a list of names).  Default
        ``None``: all of them; ``()``: none.  (Before fidelities existed the default attached
        none.)
    metric_curves : metric name -> curve name: the metrics whose value after ``k`` epochs is
        that curve's epoch-``k`` entry.  Default ``None`` detects them: a returned metric is
        tied to a curve when, in every row, it equals the curve's last finite value (on
        ``nb201-curves`` this maps ``final_val_accuracy -> val`` and
        ``final_train_accuracy -> train``).  Pass ``{}`` to tie none.
    static_metrics : metrics that do not depend on training (zero-cost proxies, params,
        FLOPs) and so are returned unchanged at every fidelity.  At a partial fidelity, and in a
        pruned result, a returned metric that is neither curve-backed nor static is **left
        out** (its table value is the full-schedule one and would leak it).  Default: none.
    cost_per_epoch : simulated seconds per training epoch, for tables without a train-time
        column (the cost of ``k`` epochs is ``k * cost_per_epoch``); needs per-epoch curves.

    With neither ``cost_column`` nor ``cost_per_epoch`` the cost is 0 (no table in
    ``naspredict.data`` carries train times today).  The fidelities answered are in
    :attr:`fidelities`: ``epochs 1..K`` when the table has curves (``K`` = their common length;
    rows with shorter, NaN-padded curves give NaN past their end), the full one otherwise.
    """

    def __init__(self, bench: Benchmark, metrics: Sequence[str] | None = None,
                 cost_column: str | None = None, missing: str = "raise",
                 curve: str | Sequence[str] | None = None, *,
                 metric_curves: Mapping[str, str] | None = None,
                 static_metrics: Sequence[str] = (), cost_per_epoch: float | None = None):
        if missing not in ("raise", "fail"):
            raise ValueError(f"missing must be 'raise' or 'fail', got {missing!r}")
        self.bench = bench
        self.space = bench.space
        self.missing = missing
        explicit = dict(metric_curves) if metric_curves is not None else None
        if isinstance(metrics, str):  # one metric by name (list("acc") would be its letters)
            metrics = [metrics]
        self.metrics = list(metrics) if metrics is not None else bench.metric_names
        for m in self.metrics:
            if explicit is None or m not in explicit:
                bench._check_metric(m)
        self.curve_names = _names(curve, bench.curves)
        for c in self.curve_names:
            if c not in bench.curves:
                raise ValueError(f"{bench.name} has no curve {c!r}; available: {list(bench.curves) or 'none'}")
        if explicit is None:
            self.metric_curves = self._detect_metric_curves()
        else:
            for m, c in explicit.items():
                if m not in self.metrics:
                    raise ValueError(f"metric_curves names metric {m!r}, which this evaluator does not "
                                     f"return; add it to metrics (returned: {self.metrics})")
                if c not in bench.curves:
                    raise ValueError(f"metric_curves maps {m!r} to curve {c!r}, but {bench.name} has no "
                                     f"such curve; available: {list(bench.curves) or 'none'}")
            self.metric_curves = explicit
        self.static_metrics = list(static_metrics)
        for m in self.static_metrics:
            if m not in self.metrics:
                raise ValueError(f"static_metrics names {m!r}, which this evaluator does not return "
                                 f"(returned: {self.metrics})")
        # the curves replayed to report() and read at partial fidelities
        self._used = list(dict.fromkeys([*self.curve_names, *self.metric_curves.values()]))
        widths = {c: bench.curves[c].shape[1] for c in self._used}
        if len(set(widths.values())) > 1:
            raise ValueError(f"{bench.name}'s curves {widths} differ in length; pick curves of one "
                             f"length with curve= and metric_curves=")
        self.n_epochs: int | None = next(iter(widths.values())) if widths else None
        self.fidelities = FidelitySpace(tuple(range(1, self.n_epochs + 1)) if self.n_epochs else ())
        if cost_column is not None and cost_per_epoch is not None:
            raise ValueError("give cost_column or cost_per_epoch, not both")
        if cost_column is not None:
            bench._check_metric(cost_column)
        if cost_per_epoch is not None:
            if not (np.isfinite(float(cost_per_epoch)) and float(cost_per_epoch) >= 0):
                raise ValueError(f"cost_per_epoch must be a non-negative number of seconds, got {cost_per_epoch!r}")
            if self.n_epochs is None:
                raise ValueError(f"cost_per_epoch needs per-epoch curves to count epochs, and {bench.name} "
                                 f"has none (or none are used); give a train-time cost_column instead")
        self.cost_column = cost_column
        self.cost_per_epoch = None if cost_per_epoch is None else float(cost_per_epoch)

    # kept for code written against the single-curve evaluator
    @property
    def curve(self) -> str | None:
        """The attached curve when exactly one is attached (older single-curve form)."""
        return self.curve_names[0] if len(self.curve_names) == 1 else None

    def _detect_metric_curves(self) -> dict[str, str]:
        out: dict[str, str] = {}
        last = {c: _last_finite(v) for c, v in self.bench.curves.items()}
        for m in self.metrics:
            col = self.bench.values(m)
            for c, lv in last.items():
                same = np.isnan(col) == np.isnan(lv)
                fin = np.isfinite(col) & np.isfinite(lv)
                if same.all() and fin.any() and np.allclose(col[fin], lv[fin], rtol=0, atol=1e-9):
                    out[m] = c
                    break
        return out

    def __repr__(self) -> str:
        return (f"TabularEvaluator({self.bench.name!r}, metrics={self.metrics}, "
                f"fidelities={self.fidelities.describe()!r})")

    # -- lookups ------------------------------------------------------------------------------
    def _full_cost(self, arch) -> float:
        if self.cost_column is not None:
            return self.bench.query(arch, self.cost_column)
        if self.cost_per_epoch is not None:
            return self.cost_per_epoch * self.n_epochs
        return 0.0

    def _curves_of(self, rows: list[int]) -> dict[str, np.ndarray]:
        out = {}
        for c in self._used:
            block = self.bench.curves[c][rows]
            if len(rows) == 1:
                out[c] = np.asarray(block[0], dtype=float)
            else:  # an arch logged more than once: epoch-wise mean, as Benchmark.query does
                with np.errstate(all="ignore"):
                    out[c] = np.where(np.isnan(block).all(axis=0), np.nan, np.nanmean(block, axis=0))
        return out

    def _metrics_at(self, arch, curves: dict[str, np.ndarray], epoch: int | None) -> dict[str, float]:
        """Values after ``epoch`` epochs (``None``: the full schedule, from the table)."""
        vals = {}
        for m in self.metrics:
            if epoch is None or epoch == self.n_epochs:
                if m in self.bench.metrics.columns:
                    vals[m] = self.bench.query(arch, m)
                else:  # a curve-defined metric: the curve's last epoch
                    vals[m] = float(_last_finite(curves[self.metric_curves[m]][None])[0])
            elif m in self.metric_curves:
                vals[m] = float(curves[self.metric_curves[m]][epoch - 1])
            elif m in self.static_metrics:
                vals[m] = self.bench.query(arch, m)
        return vals

    def evaluate(self, arch: Any, fidelity: Fidelity | None = FULL, report: Reporter | None = None) -> Result:
        """The table's values for ``arch`` at ``fidelity``.

        Parameters
        ----------
        arch : an architecture of ``bench.space``.
        fidelity : ``FULL`` (or ``None``), or ``Fidelity(epochs=k)`` within :attr:`fidelities`.
            Anything else raises ``ValueError`` (``TypeError`` when it is not a ``Fidelity``).
        report : ``report(step, {curve_name: value, ...}) -> bool``.  On a table with curves,
            called after each epoch ``step = 1 .. k`` with the epoch's value of every curve
            used (attached or behind a metric).  A ``True`` before the last epoch stops the
            run: the result is ``PRUNED``, with the curves up to ``step``, the metrics at
            ``step`` (see ``static_metrics``), cost ``step / K`` of the full cost and
            ``info["pruned_at"] = step``.  A ``True`` at the last epoch changes nothing (the run
            is already complete).  On a table without curves ``report`` is never called.

        Returns
        -------
        Result
            ``COMPLETE`` (or ``PRUNED``) with ``fidelity`` as asked; ``FAILED`` for an arch not in
            the table when ``missing="fail"``.
        """
        fidelity = as_fidelity(fidelity)
        try:
            epoch = self.fidelities.resolve(fidelity, f"{self.bench.name}'s TabularEvaluator")
        except ValueError as err:
            if self.n_epochs is not None:
                raise
            raise ValueError(f"{err}: the evaluator uses no per-epoch curves. A lower fidelity needs a "
                             f"table with curves (e.g. nb201-curves) or a multi-fidelity view such as "
                             f"naspredict.evaluators.nb201_mf()") from None
        try:
            rows = self.bench.rows_of(arch)
        except KeyError as err:
            if self.missing == "raise":
                raise
            return Result.failed(str(err.args[0]) if err.args else str(err), fidelity=fidelity)
        full_cost = float(self._full_cost(arch))
        if self.n_epochs is None:  # no curves: the full fidelity only, nothing to replay
            return Result(metrics=self._metrics_at(arch, {}, None), cost=full_cost, fidelity=fidelity)
        curves = self._curves_of(rows)
        k = epoch
        if k < self.n_epochs and not any(m in self.metric_curves or m in self.static_metrics
                                         for m in self.metrics):
            raise ValueError(f"none of the metrics {self.metrics} of {self.bench.name} has a per-epoch "
                             f"curve, so there is nothing to return at epochs={k}; tie one to a curve "
                             f"with metric_curves= (curves: {list(self.bench.curves)}) or ask for FULL")
        stop = None
        if report is not None:
            n_finite = min(int(np.isfinite(curves[c]).cumprod().sum()) for c in self._used)
            for step in range(1, min(k, n_finite) + 1):
                if report(step, {c: float(curves[c][step - 1]) for c in self._used}) and step < k:
                    stop = step
                    break
        upto = k if stop is None else stop
        out_curves = {}
        for c in self.curve_names:
            seg = curves[c][:upto]
            out_curves[c] = seg[np.isfinite(seg)].tolist()
        cost = full_cost * upto / self.n_epochs
        if stop is None:
            return Result(metrics=self._metrics_at(arch, curves, k), curves=out_curves, cost=cost,
                          fidelity=fidelity)
        return Result(metrics=self._metrics_at(arch, curves, stop), curves=out_curves, cost=cost,
                      fidelity=fidelity, state=TrialState.PRUNED, info={"pruned_at": stop})


def as_evaluator(bench: Benchmark, metrics=None, **kw) -> TabularEvaluator:
    """Shorthand for :class:`TabularEvaluator` (``kw`` are its other arguments)."""
    return TabularEvaluator(bench, metrics, **kw)
