"""NAO search: gradient ascent in a learned continuous embedding, then decoding.

Neural Architecture Optimization (Luo, Tian, Qin, Chen & Liu, NeurIPS 2018).  Each round:

1. fit the NAO encoder / predictor / decoder (:class:`~naspredict.predictors.nao.NAOPredictor`)
   on every architecture observed so far;
2. take the ``n_parents`` best observed architectures;
3. move each parent's embedding up the predictor's gradient, ``z + eta * df/dz``, and decode;
   as in NAO, the step size ``eta`` grows (here doubling from ``step_size``, at most
   ``max_step_tries`` times) until the decoded architecture is new;
4. propose those new architectures (best-predicted first); random new ones fill a short round.

A round yields up to ``n_parents`` proposals, which are queued and handed out by later
:meth:`ask` calls before the next refit (NAO evaluates a batch of new architectures per
iteration), so ``ask(1)`` does not retrain the networks for every query.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from .base import Strategy


class NAOSearch(Strategy):
    """NAO's search loop.

    Parameters
    ----------
    space, target, direction, seed : see :class:`~naspredict.search.base.Strategy`.
    predictor : ``"nao"`` or an ``NAOPredictor`` instance (cloned before each fit); it must
        offer ``encode``, ``decode`` and ``gradient_step``.
    predictor_params : constructor parameters when ``predictor`` is a name (e.g. ``epochs``).
    n_initial : random architectures before the first fit.
    n_parents : top observed archs moved per round (= proposals per round).
    step_size : first step size ``eta``; it doubles until the decoded arch is new.
    max_step_tries : how many step sizes to try per round.
    """

    def __init__(self, space, target="accuracy", direction=None, seed: int = 0, *,
                 predictor: Any = "nao", predictor_params: dict | None = None,
                 n_initial: int = 10, n_parents: int = 10, step_size: float = 1.0,
                 max_step_tries: int = 12):
        super().__init__(space, target=target, direction=direction, seed=seed)
        if n_parents < 1 or max_step_tries < 1 or step_size <= 0:
            raise ValueError("n_parents and max_step_tries must be >= 1 and step_size > 0")
        self.n_initial = int(n_initial)
        self.n_parents = int(n_parents)
        self.step_size = float(step_size)
        self.max_step_tries = int(max_step_tries)
        self.predictor = self._build(predictor, predictor_params or {})
        self._queue: list = []
        self.model_ = None

    def _build(self, predictor, params: dict):
        from ..predictors import make
        if isinstance(predictor, str):
            model = make(predictor, space=self.space, random_state=self.seed, **params)
        else:
            if params:
                raise ValueError("predictor_params only apply when predictor is a name")
            model = clone(predictor)
        missing = [m for m in ("encode", "decode", "gradient_step") if not callable(getattr(model, m, None))]
        if missing:
            raise ValueError(f"NAO search needs a predictor with encode/decode/gradient_step; "
                             f"{type(model).__name__} lacks {', '.join(missing)}")
        return model

    def _propose(self, n: int) -> list:
        archs, vals = self.observed()
        min_train = max(int(getattr(self.predictor, "min_train", 2)), 2)
        if len(archs) < max(self.n_initial, min_train):
            return self.sample_new(n)
        out = [a for a in self._queue if self.is_new(a)]
        if len(out) < n:
            out += self._round(archs, vals[:, 0], n - len(out))
        self._queue = out[n:]
        return out[:n]

    def _round(self, archs: list, y: np.ndarray, n: int) -> list:
        model = clone(self.predictor)
        if "random_state" in model.get_params():
            model.set_params(random_state=int(self.rng.integers(2**31 - 1)))
        model.fit(archs, y)
        self.model_ = model
        k = max(self.n_parents, n)
        order = np.argsort(-y, kind="stable")[:k]
        todo = [archs[i] for i in order]
        found, keys = [], set(self.key(a) for a in self._queue)
        eta = self.step_size
        for _ in range(self.max_step_tries):
            if not todo:
                break
            moved = model.gradient_step(todo, step_size=eta)
            left = []
            for parent, child in zip(todo, moved):
                k_child = self.key(child) if child is not None else None
                if child is not None and k_child not in keys and self.is_new(child):
                    keys.add(k_child)
                    found.append(child)
                else:
                    left.append(parent)
            todo = left
            eta *= 2.0
        if found:  # best-predicted first
            pred = model.predict(found)
            found = [found[i] for i in np.argsort(-pred, kind="stable")]
        if len(found) < n:
            found += [a for a in self.sample_new(n - len(found)) if self.key(a) not in keys]
        return found
