"""Zero-cost proxies as one-feature predictors (Abdelfattah et al., ICLR 2021; NASLib files).

The proxy score of each arch is looked up in a table that holds it (the NASLib zero-cost
files in ``../shared/data``, or any :class:`~naspredict.data.Benchmark` with that column);
``fit`` learns a linear map from score to target, so the sign of the proxy's correlation is
learned and predictions are in target units.  Archs the table lacks raise ``ValueError``.
"""
from __future__ import annotations

import numpy as np

from .base import Predictor

#: tables searched, in order, for a proxy column when ``table`` is not given.
DEFAULT_TABLES = {"nb201": ("nb201-zc", "nb201-curves"), "nb101": ("nb101-zc",), "darts": ("nb301-zc",)}


class ZeroCostPredictor(Predictor):
    """Parameters
    ----------
    proxy : column name of the score (``synflow``, ``jacov``, ``params``, ``flops``, ...).
    table : benchmark name or :class:`Benchmark` holding the scores; by default the first table
        of ``DEFAULT_TABLES[space]`` that has the column.
    """

    def __init__(self, space="nb201", proxy: str = "synflow", table=None, random_state: int | None = 0):
        super().__init__(space, random_state)
        self.proxy = proxy
        self.table = table

    def _table(self):
        from .. import data
        if self.table is not None:
            bench = data.load(self.table) if isinstance(self.table, str) else self.table
            bench._check_metric(self.proxy)
            return bench
        tried = []
        for name in DEFAULT_TABLES.get(self.space_.name, ()):
            try:
                bench = data.load(name)
            except FileNotFoundError:
                continue
            if self.proxy in bench.metric_names:
                return bench
            tried.append(name)
        raise ValueError(f"no table with proxy {self.proxy!r} for space {self.space_.name!r} "
                         f"(looked in {tried or 'none found'}); pass table=")

    def scores(self, archs) -> np.ndarray:
        """Raw proxy scores of ``archs``."""
        bench = self.__dict__.get("_bench") or self._table()
        self.__dict__["_bench"] = bench
        out = np.empty(len(archs))
        for i, a in enumerate(archs):
            try:
                out[i] = bench.query(a, self.proxy)
            except KeyError:
                raise ValueError(f"arch {self.space_.to_str(a)} has no {self.proxy!r} score in "
                                 f"{bench.name}; zero-cost predictors only cover archs in their table") from None
        return out

    def _fit(self, archs, y):
        s = self.scores(archs)
        ok = np.isfinite(s)
        if ok.sum() < 2 or np.std(s[ok]) == 0:
            self.coef_, self.intercept_ = 0.0, float(np.mean(y))
        else:
            self.coef_, self.intercept_ = np.polyfit(s[ok], y[ok], 1)
        self.fill_ = float(np.nanmedian(s)) if ok.any() else 0.0

    def _predict(self, archs, return_std=False):
        s = self.scores(archs)
        s = np.where(np.isfinite(s), s, self.fill_)
        return self.coef_ * s + self.intercept_
