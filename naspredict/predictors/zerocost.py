"""Zero-cost proxies as one-feature predictors (Abdelfattah et al., ICLR 2021).

The proxy score of each arch comes from a table that holds it (the NASLib zero-cost files in
``../shared/data``, or any :class:`~naspredict.data.Benchmark` with that column) or, when no
table holds it (or with ``table="live"``), is computed from the arch's freshly built network by
:func:`naspredict.nets.proxies.proxy_scores`.  ``fit`` learns a linear map from score to
target, so the sign of the proxy's correlation is learned and predictions are in target units.

One source per fitted model: scores of different sources are on different scales (NASLib's
come from CIFAR-10 batches at the published size, live ones from the data given here), so a
model fitted on table scores refuses archs its table lacks (refit with ``table="live"``), and a
model fitted live computes every score live.
"""
from __future__ import annotations

import warnings

import numpy as np

from .base import Predictor

#: tables searched, in order, for a proxy column when ``table`` is not given.
DEFAULT_TABLES = {"nb201": ("nb201-zc", "nb201-curves"), "nb101": ("nb101-zc",), "darts": ("nb301-zc",)}
LIVE = "live"


class ZeroCostPredictor(Predictor):
    """Parameters
    ----------
    proxy : the score (``synflow``, ``jacov``, ``params``, ``flops``, ...: a table column, and
        for live scores a key of :data:`naspredict.nets.proxies.PROXIES`).
    table : benchmark name or :class:`Benchmark` holding the scores; ``None``: the first table
        of ``DEFAULT_TABLES[space]`` that has the column and every training arch, else live;
        ``"live"``: always compute the scores from the networks.
    data : the batch of live scores (see :func:`~naspredict.nets.proxies.proxy_scores`;
        ``None``: Fashion-MNIST, digits when it is absent; karate for nbgraph).
    network_options : dict for ``build_network`` of live scores (``channels``, ``cells``, ...;
        ``None``: the space's published network).
    device : where live scores are computed.
    random_state : also the seed of live scores (``None`` counts as 0).

    Attributes
    ----------
    source_ : ``"table"`` or ``"live"``, set by ``fit``.
    live_scores_ : dict arch string -> live score, the archs scored so far (kept when pickled).
    """

    def __init__(self, space="nb201", proxy: str = "synflow", table=None, data=None,
                 network_options: dict | None = None, device: str = "cpu",
                 random_state: int | None = 0):
        super().__init__(space, random_state)
        self.proxy = proxy
        self.table = table
        self.data = data
        self.network_options = network_options
        self.device = device

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

    def _table_scores(self, bench, archs) -> np.ndarray:
        out = np.empty(len(archs))
        for i, a in enumerate(archs):
            try:
                out[i] = bench.query(a, self.proxy)
            except KeyError:
                raise ValueError(f"arch {self.space_.to_str(a)} has no {self.proxy!r} score in "
                                 f"{bench.name}, the table this model was fitted on; refit with "
                                 f"table='live' to compute every score from the networks") from None
        return out

    def _live_scores(self, archs) -> np.ndarray:
        from ..nets.proxies import PROXIES, proxy_scores
        if self.proxy not in PROXIES:
            raise ValueError(f"proxy {self.proxy!r} has no table value here and cannot be computed "
                             f"live; live proxies: {', '.join(PROXIES)}")
        sp = self.space_
        cache = self.live_scores_
        strs = [sp.to_str(a) for a in archs]
        todo = [s for s in dict.fromkeys(strs) if s not in cache]
        if todo:
            df = proxy_scores(sp, todo, [self.proxy], self.data, device=self.device,
                              seed=0 if self.random_state is None else int(self.random_state),
                              **(self.network_options or {}))
            cache.update(zip(df.index, df[self.proxy].to_numpy(float)))
        return np.array([cache[s] for s in strs], dtype=float)

    def _choose_source(self, archs):
        if self.table == LIVE:
            return None
        try:
            bench = self._table()
        except ValueError as err:
            if self.table is not None:
                raise
            why = str(err).split(";")[0]
        else:
            try:
                self._table_scores(bench, archs)
                return bench
            except ValueError:
                if self.table is not None:
                    raise
                why = f"{bench.name} lacks some of the archs"
        warnings.warn(f"{why}: computing {self.proxy!r} live from the networks for every arch "
                      f"(pass table='live' to choose this and silence the warning)", stacklevel=4)
        return None

    def scores(self, archs) -> np.ndarray:
        """Raw proxy scores of ``archs`` from the fitted model's source (before ``fit``: the
        source ``fit`` would choose for these archs)."""
        source = getattr(self, "source_", None)
        if source is None:
            bench = self._choose_source(archs)
            if bench is None:
                self.live_scores_ = getattr(self, "live_scores_", {})
                return self._live_scores(archs)
            return self._table_scores(bench, archs)
        if source == LIVE:
            return self._live_scores(archs)
        bench = self.__dict__.get("_bench") or self._table()
        self.__dict__["_bench"] = bench
        return self._table_scores(bench, archs)

    def _fit(self, archs, y):
        bench = self._choose_source(archs)
        self.live_scores_ = {}
        if bench is None:
            self.source_ = LIVE
            s = self._live_scores(archs)
        else:
            self.source_ = "table"
            self.__dict__["_bench"] = bench
            s = self._table_scores(bench, archs)
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
