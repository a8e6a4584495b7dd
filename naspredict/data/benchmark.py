"""The ``Benchmark`` type: architectures with their measured metrics.

A benchmark table (NAS-Bench-201, NAS-Bench-Graph, ...) and a user's own logged results load
into the same type, so predictors, evaluation and tabular search read one thing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..spaces.base import SearchSpace


@dataclass
class Benchmark:
    """Architectures and their metrics, row-aligned.

    Attributes
    ----------
    name : str
        Table name (``"nb201-cifar10"``) or a file name for logged results.
    space : SearchSpace
        The space every arch belongs to.
    archs : list
        One architecture per row of :attr:`metrics`.  Duplicates are allowed (logged results
        often repeat an arch); :meth:`aggregate` merges them.
    metrics : pandas.DataFrame
        One numeric column per metric, ``len(archs)`` rows, default integer index.
    higher_is_better : dict[str, bool]
        Direction of each metric in :attr:`metrics`.
    curves : dict[str, numpy.ndarray]
        Per-epoch curves by name, each ``(n_rows, n_epochs)`` (NaN-padded when lengths differ).
    fidelities : dict[str, str]
        Low-fidelity views: metric name -> description (e.g. ``"12-epoch schedule"``).
    """

    name: str
    space: SearchSpace
    archs: list
    metrics: pd.DataFrame
    higher_is_better: dict[str, bool]
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    fidelities: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.archs) != len(self.metrics):
            raise ValueError(f"{self.name}: {len(self.archs)} archs but {len(self.metrics)} metric rows")
        self.metrics = self.metrics.reset_index(drop=True)
        for name, curve in self.curves.items():
            if len(curve) != len(self.archs):
                raise ValueError(f"{self.name}: curve {name!r} has {len(curve)} rows, want {len(self.archs)}")
        missing = [m for m in self.metrics.columns if m not in self.higher_is_better]
        if missing:
            raise ValueError(f"{self.name}: no direction given for metric(s) {missing}")
        self._index: dict[Any, list[int]] | None = None

    # -- basic access ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.archs)

    def __repr__(self) -> str:
        return (f"Benchmark({self.name!r}, space={self.space.name}, rows={len(self)}, "
                f"metrics={list(self.metrics.columns)})")

    @property
    def metric_names(self) -> list[str]:
        return list(self.metrics.columns)

    def _check_metric(self, metric: str) -> None:
        if metric not in self.metrics.columns:
            raise ValueError(f"{self.name} has no metric {metric!r}; available: {', '.join(self.metrics.columns)}")

    def values(self, metric: str) -> np.ndarray:
        """The metric column as a float array (NaN where unmeasured)."""
        self._check_metric(metric)
        return self.metrics[metric].to_numpy(dtype=float)

    @property
    def arch_strings(self) -> list[str]:
        return [self.space.to_str(a) for a in self.archs]

    def rows_of(self, arch) -> list[int]:
        """Row numbers holding ``arch`` (several when it was logged more than once)."""
        if self._index is None:
            idx: dict[Any, list[int]] = {}
            for i, a in enumerate(self.archs):
                idx.setdefault(a, []).append(i)
            self._index = idx
        rows = self._index.get(arch)
        if rows is None:
            raise KeyError(f"arch {self.space.to_str(self.space.validate(arch))} is not in {self.name}")
        return rows

    def search_space(self) -> SearchSpace:
        """The space a search over this table should use: :attr:`space` when the table holds
        every architecture of it, else the space narrowed to the table's rows
        (:func:`~naspredict.spaces.subset.subset_space`), so every proposal can be answered."""
        from ..spaces.subset import subset_space
        try:
            covered = self.space.finite and len(self.space) <= len(set(self.archs))
        except TypeError:
            covered = False
        return self.space if covered else subset_space(self.space, self.archs)

    def __contains__(self, arch) -> bool:
        try:
            self.rows_of(arch)
        except (KeyError, ValueError):
            return False
        return True

    def query(self, arch, metric: str) -> float:
        """The metric of ``arch``; the mean over its rows when it was logged more than once.

        Raises ``KeyError`` for an arch not in the table.
        """
        self._check_metric(metric)
        rows = self.rows_of(arch)
        return float(np.nanmean(self.metrics[metric].to_numpy(dtype=float)[rows]))

    def top(self, metric: str, k: int = 10) -> pd.DataFrame:
        """The ``k`` best rows for ``metric`` (respecting its direction), with the arch string
        (``k`` a whole number >= 1; fewer rows when the table has fewer finite values)."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"top(metric, k) needs k, the number of rows, as a whole number >= 1, got {k!r}")
        self._check_metric(metric)
        vals = self.values(metric)
        order = np.argsort(-vals if self.higher_is_better[metric] else vals, kind="stable")
        order = [i for i in order if np.isfinite(vals[i])][:k]
        out = self.metrics.iloc[order].copy()
        out.insert(0, "arch", [self.space.to_str(self.archs[i]) for i in order])
        out.index = range(1, len(out) + 1)
        out.index.name = "rank"
        return out

    def subset(self, rows: Sequence[int] | np.ndarray) -> "Benchmark":
        """A new benchmark holding only ``rows`` (in that order)."""
        rows = np.asarray(rows, dtype=int)
        return Benchmark(
            name=self.name, space=self.space, archs=[self.archs[i] for i in rows],
            metrics=self.metrics.iloc[rows].reset_index(drop=True),
            higher_is_better=dict(self.higher_is_better),
            curves={k: v[rows] for k, v in self.curves.items()},
            fidelities=dict(self.fidelities), source=self.source,
        )

    def dropna(self, metric: str) -> "Benchmark":
        """Rows where ``metric`` is finite (NaN and inf rows removed)."""
        vals = self.values(metric)
        return self.subset(np.nonzero(np.isfinite(vals))[0])

    def aggregate(self, how: str = "mean") -> "Benchmark":
        """Merge duplicate archs into one row: ``how`` is ``"mean"`` or ``"median"`` per metric
        (NaNs ignored), curves are averaged epoch-wise; an ``n_logged`` column counts the rows
        that were merged.  Row order follows each arch's first appearance."""
        if how not in ("mean", "median"):
            raise ValueError(f"aggregate how must be 'mean' or 'median', got {how!r}")
        first: dict[Any, int] = {}
        group = np.array([first.setdefault(a, len(first)) for a in self.archs])
        grouped = self.metrics.groupby(group, sort=True)
        metrics = grouped.mean() if how == "mean" else grouped.median()
        metrics["n_logged"] = grouped.size().astype(float)
        archs = [None] * len(first)
        for a, g in first.items():
            archs[g] = a
        curves = {}
        for name, c in self.curves.items():
            out = np.full((len(first), c.shape[1]), np.nan)
            for g in range(len(first)):
                with np.errstate(all="ignore"):
                    rows = c[group == g]
                    out[g] = np.nan if np.isnan(rows).all() else np.nanmean(rows, axis=0)
            curves[name] = out
        hib = dict(self.higher_is_better)
        hib["n_logged"] = True
        return Benchmark(self.name, self.space, archs, metrics.reset_index(drop=True), hib,
                         curves, dict(self.fidelities), self.source)

    def to_frame(self, curve: str | None = None) -> pd.DataFrame:
        """A tidy frame: an ``arch`` column (canonical strings), the metrics, and optionally one
        curve as a ``curve`` column of lists — the logged-results layout."""
        df = self.metrics.copy()
        df.insert(0, "arch", self.arch_strings)
        if curve is not None:
            if curve not in self.curves:
                raise ValueError(f"{self.name} has no curve {curve!r}; available: {list(self.curves)}")
            df["curve"] = [[float(x) for x in row if np.isfinite(x)] for row in self.curves[curve]]
        return df


def pad_curves(curves: Iterable[Sequence[float]]) -> np.ndarray:
    """Stack curves of possibly different lengths into a NaN-padded 2-D array."""
    curves = [np.asarray(c, dtype=float).ravel() for c in curves]
    width = max((len(c) for c in curves), default=0)
    out = np.full((len(curves), width), np.nan)
    for i, c in enumerate(curves):
        out[i, : len(c)] = c
    return out
