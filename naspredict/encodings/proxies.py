"""Zero-cost proxies as encoding columns (``"proxies"``; ``"features+proxies"`` joins them with
the GRAF-style graph features).

GRAF (Kadlecová et al., "Surprisingly strong performance prediction with neural graph
features", ICML 2024) found that a predictor on zero-cost proxies *and* graph features beats
either alone; this encoding supplies the proxies, computed from real networks by
:func:`naspredict.nets.proxies.proxy_scores` (one network build per arch, no training).

Scores are cached per arch: in memory for the process (shared by every encoding with the same
configuration when ``data`` is ``None`` or a data set name, so ``make_encoding`` may rebuild the
encoding freely), and optionally in a CSV file (``cache_file``) that survives processes.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .base import Encoding

__all__ = ["ProxyEncoding", "DEFAULT_ENCODED_PROXIES"]

#: the proxies encoded by default (params and FLOPs are near-functions of the graph features)
DEFAULT_ENCODED_PROXIES = ("synflow", "jacov", "snip", "grad_norm", "nwot")
_TRANSFORMS = ("log", "rank", None)
#: configuration -> {(arch string, proxy): raw score}
_SHARED: dict[tuple, dict[tuple[str, str], float]] = {}


class ProxyEncoding(Encoding):
    """Zero-cost proxy scores of each arch's freshly built network as features.

    Parameters
    ----------
    space : the search space (it needs a network builder).
    names : proxies (keys of :data:`naspredict.nets.proxies.PROXIES`); width is their number.
    data : the batch's source, as for :func:`~naspredict.nets.proxies.proxy_scores`
        (``None``: Fashion-MNIST at 1 x 28 x 28, digits when it is absent; karate for nbgraph).
    score_transform : ``"log"`` (default: ``sign(s) * log1p(|s|)``, which tames synflow's orders of
        magnitude and keeps jacov's sign), ``"rank"`` (each score's empirical CDF among the
        scores of the archs given to ``fit``; needs ``fit``) or ``None`` (raw scores).
    channels, cells : network size for ``build_network`` (``None``: the space's published one).
    batch_size, seed, device : as for ``proxy_scores``.
    cache_file : optional CSV (index column ``arch`` with ``space.to_str`` strings, one column
        per proxy, as ``proxy_scores(...).to_csv`` writes) read before computing and updated
        with what is computed.  Its values are trusted as they are: use one file per
        configuration (data, seed, network size).
    fill : the value (after ``score_transform``) put where a score is NaN (e.g. jacov of a cell
        whose output is reached only through ``none``).

    Notes
    -----
    ``width == len(names)`` before ``fit``.  Computing proxies at the published network size
    takes about a second per arch and proxy on one CPU thread (NB201, C=16, N=5).
    """

    def __init__(self, space="nb201", names: Sequence[str] = DEFAULT_ENCODED_PROXIES, data: Any = None,
                 score_transform: str | None = "log", channels: int | None = None, cells: int | None = None,
                 batch_size: int = 64, seed: int = 0, device: str = "cpu",
                 cache_file: str | os.PathLike | None = None, fill: float = 0.0):
        super().__init__(space)
        self.names = names
        self.data = data
        self.score_transform = score_transform
        self.channels = channels
        self.cells = cells
        self.batch_size = batch_size
        self.seed = seed
        self.device = device
        self.cache_file = cache_file
        self.fill = fill

    # -- shape ----------------------------------------------------------------------------------
    def _names(self) -> list[str]:
        from ..nets.proxies import PROXIES
        names = [self.names] if isinstance(self.names, str) else list(self.names)
        bad = [n for n in names if n not in PROXIES]
        if bad or not names:
            raise ValueError(f"unknown proxies {bad or names}; expected names from {', '.join(PROXIES)}")
        if self.score_transform not in _TRANSFORMS:
            raise ValueError(f"score_transform must be 'log', 'rank' or None, got {self.score_transform!r}")
        return names

    @property
    def width(self) -> int:
        return len(self._names())

    @property
    def feature_names(self) -> list[str]:
        return [f"proxy[{n}]" for n in self._names()]

    def get_feature_names_out(self, input_features=None):
        return np.asarray(self.feature_names, dtype=object)

    # -- scores ---------------------------------------------------------------------------------
    def _cache(self) -> dict[tuple[str, str], float]:
        data = self.data
        if data is None or isinstance(data, (str, Path)):
            sp = self.space_
            key = (sp.name, repr(sp), None if data is None else str(data), self.seed, self.batch_size,
                   self.channels, self.cells, str(self.device))
            return _SHARED.setdefault(key, {})
        if getattr(self, "_own_cache", None) is None:  # tensors / ImageData: no safe shared key
            self._own_cache = {}
        return self._own_cache

    def _read_file(self, cache: dict) -> None:
        if self.cache_file is None or not Path(self.cache_file).exists():
            return
        import pandas as pd
        df = pd.read_csv(self.cache_file, index_col=0)
        for name in set(self._names()) & set(df.columns):
            for arch, v in zip(df.index.astype(str), df[name].to_numpy(float)):
                cache.setdefault((arch, name), float(v))

    def _write_file(self, new) -> None:
        import pandas as pd
        path = Path(self.cache_file)
        if path.exists():
            old = pd.read_csv(path, index_col=0)
            new = new.combine_first(old) if len(old) else new
        path.parent.mkdir(parents=True, exist_ok=True)
        new.index.name = "arch"
        new.to_csv(path)

    def scores(self, archs: Sequence[Any]) -> np.ndarray:
        """Raw proxy scores ``(len(archs), width)`` (NaN where a proxy is not finite),
        computing only those not cached."""
        from ..nets.proxies import proxy_scores
        sp = self._check(archs)
        names = self._names()
        strs = [sp.to_str(sp.validate(a)) for a in archs]
        cache = self._cache()
        if self.cache_file is not None:
            self._read_file(cache)
        todo = {}
        for s in dict.fromkeys(strs):
            missing = [n for n in names if (s, n) not in cache]
            if missing:
                todo.setdefault(tuple(missing), []).append(s)
        for missing, group in todo.items():
            opts = {k: v for k, v in (("channels", self.channels), ("cells", self.cells)) if v is not None}
            df = proxy_scores(sp, group, missing, self.data, batch_size=self.batch_size,
                              seed=self.seed, device=self.device, **opts)
            for s, row in zip(df.index, df.to_numpy(float)):
                for n, v in zip(missing, row):
                    cache[(s, n)] = float(v)
            if self.cache_file is not None:
                self._write_file(df)
        return np.array([[cache[(s, n)] for n in names] for s in strs], dtype=float).reshape(len(strs), len(names))

    # -- transformer ------------------------------------------------------------------------------
    def fit(self, archs: Sequence[Any], y=None) -> "ProxyEncoding":
        """Check the archs; for ``score_transform="rank"`` remember their scores as the reference."""
        super().fit(archs, y)
        if self.score_transform == "rank":
            raw = self.scores(archs)
            self.reference_ = [np.sort(c[np.isfinite(c)]) for c in raw.T]
        return self

    def transform(self, archs: Sequence[Any]) -> np.ndarray:
        """Encode ``archs`` into a ``(len(archs), width)`` float32 matrix of (transformed)
        proxy scores (``score_transform``; the parameter is not called ``transform``, which
        would hide this method); NaN scores become ``fill``.

        Raises
        ------
        ValueError
            For ``score_transform="rank"`` before ``fit`` (inside a ``"+"``-joined encoding, which
            never fits its parts, use ``"log"`` or ``None``).
        """
        raw = self.scores(archs)
        if self.score_transform == "log":
            out = np.sign(raw) * np.log1p(np.abs(raw))
        elif self.score_transform == "rank":
            ref = getattr(self, "reference_", None)
            if ref is None:
                raise ValueError("score_transform='rank' ranks against the scores seen by fit(); "
                                 "call fit(archs) first, or use score_transform='log' / None")
            out = np.column_stack([
                (np.searchsorted(r, c, "left") + np.searchsorted(r, c, "right")) / (2.0 * max(len(r), 1))
                for r, c in zip(ref, raw.T)])
            out[~np.isfinite(raw)] = np.nan
        else:
            out = raw.copy()
        out[~np.isfinite(out)] = self.fill
        return out.astype(np.float32)
