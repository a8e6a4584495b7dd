"""REINFORCE with an LSTM controller.

Zoph & Le, "Neural architecture search with reinforcement learning", ICLR 2017: a recurrent
controller emits an architecture one decision at a time (each token's embedding is the next
step's input) and is trained with the policy gradient (Williams, 1992), the reward minus an
exponential moving-average baseline.  The ``tanh`` squashing of the logits follows ENAS
(Pham et al., ICML 2018), which keeps the policy from collapsing early.

Works on every space that declares a categorical choices schema
(:meth:`~naspredict.spaces.SearchSpace.choices`): the controller emits one token per choice,
decision ``i`` over ``len(space.choices()[i].options)`` options.  Archs are encoded with
:meth:`~naspredict.spaces.SearchSpace.to_choices` and token sequences decoded with
:meth:`~naspredict.spaces.SearchSpace.from_choices`; a sequence that names no architecture of
the space (``None``: NAS-Bench-Graph's all-skip cell, an invalid NB101 graph, an arch outside a
table's subset) is skipped.  For example:

* ``nb201``: 6 tokens, the op on each edge (NASLib edge order), 5 options each;
* ``nbgraph``: 5 tokens, the link pattern (9 options) then the 4 ops (the space's op set).
  Most (link, ops) sequences are not the benchmark's representative of their class;
  ``from_choices`` maps a sequence to its representative with
  :func:`~naspredict.spaces.nbgraph.normal_form`;
* ``darts``: 24 tokens, per cell and intermediate node its ordered input pair and two ops;
* ``nb101``: 26 tokens, 21 adjacency bits and 5 node ops.

The policy gradient uses the log-probability of the tokens of the told arch's
``to_choices`` (for nbgraph, those of the representative, not necessarily the tokens emitted).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import Strategy


class _Codec:
    """Maps archs to token sequences and back through the space's choices schema.

    Only ``space`` and ``vocab`` are read, the attributes every earlier version of this class
    had, so codecs inside old pickled states still work.
    """

    def __init__(self, space):
        if not space.has_choices:
            raise ValueError(f"the 'rl' strategy needs a space with a categorical choices schema "
                             f"(SearchSpace.choices()); space {getattr(space, 'name', space)!r} "
                             f"({type(space).__name__}) declares none")
        self.space = space
        self.vocab = [len(c.options) for c in space.choices()]

    def encode(self, arch) -> list[int]:
        """The arch's option index per choice."""
        return list(self.space.to_choices(arch))

    def decode(self, tokens) -> Any | None:
        """The arch the tokens name, or ``None`` when they name none of the space."""
        return self.space.from_choices(np.asarray(tokens).tolist())


def _controller(vocab: list[int], hidden: int, tanh_constant: float | None):
    from ._controller import Controller  # torch loads only when a controller is built
    return Controller(vocab, hidden, tanh_constant)


class ReinforceSearch(Strategy):
    """REINFORCE-trained LSTM controller (Zoph & Le, 2017) over the space's choices schema.

    Parameters
    ----------
    space, target, direction, seed : see :class:`~naspredict.search.base.Strategy`.
        The space must declare :meth:`~naspredict.spaces.SearchSpace.choices` (every built-in
        space does: ``nb201``, ``nbgraph``, ``darts``, ``nb101``, and subsets of them); one
        without a schema raises ``ValueError``.
    hidden_size : LSTM and embedding width.
    lr : Adam learning rate.
    baseline_decay : decay of the exponential moving-average baseline
        (``b <- decay * b + (1 - decay) * r``).
    entropy_weight : weight of the entropy bonus added to the objective (0 disables it).
    tanh_constant : logits are squashed to ``c * tanh(logits)`` (ENAS); ``None`` disables it.
    max_tries : controller samples drawn in search of an unseen arch before falling back to
        a uniformly random unseen one.

    The reward is the signed target (higher is better) standardised by the running mean and
    standard deviation of all rewards so far, so learning rates carry across metrics and
    scales.  One Adam step is taken per :meth:`tell`, on all its new results.  Parameters are
    initialised under ``torch.manual_seed(seed)`` (the global torch RNG is restored afterwards)
    and sampling uses a ``torch.Generator`` seeded with ``seed``, so the same seed gives the
    same trace.
    """

    #: rebuilt by ``__init__`` from the space (states saved before it was transient still load:
    #: their codec only needs ``space`` and ``vocab``).
    _transient = ("codec",)

    def __init__(self, space, target="accuracy", direction=None, seed: int = 0,
                 hidden_size: int = 64, lr: float = 0.01, baseline_decay: float = 0.9,
                 entropy_weight: float = 0.0, tanh_constant: float | None = 2.5,
                 max_tries: int = 200):
        super().__init__(space, target=target, direction=direction, seed=seed)
        import torch
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1), got {baseline_decay}")
        self.codec = _Codec(self.space)
        self.hidden_size = int(hidden_size)
        self.lr = float(lr)
        self.baseline_decay = float(baseline_decay)
        self.entropy_weight = float(entropy_weight)
        self.tanh_constant = tanh_constant
        self.max_tries = int(max_tries)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            self.controller = _controller(self.codec.vocab, self.hidden_size, tanh_constant)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=self.lr)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.baseline: float | None = None
        self._n, self._mean, self._m2 = 0, 0.0, 0.0  # running reward statistics (Welford)

    # -- proposals ---------------------------------------------------------------------------
    def _propose(self, n: int) -> list:
        return self._sample_unseen(n)

    def _sample_unseen(self, n: int) -> list:
        out, keys = [], set()
        drawn = 0
        chunk = max(8, 2 * n)
        while len(out) < n and drawn < self.max_tries:
            tokens = self.controller.sample(chunk, self.generator).numpy()
            drawn += chunk
            for t in tokens:
                arch = self.codec.decode(t)
                if arch is None:
                    continue  # the tokens name no arch of the space
                k = self.key(arch)
                if k not in keys and self.is_new(arch):
                    out.append(arch)
                    keys.add(k)
                    if len(out) == n:
                        break
        return out  # short: the base class tops up with random unseen archs

    # -- learning ----------------------------------------------------------------------------
    def _standardise(self, v: float) -> float:
        self._n += 1
        d = v - self._mean
        self._mean += d / self._n
        self._m2 += d * (v - self._mean)
        std = np.sqrt(self._m2 / self._n) if self._n > 1 else 0.0
        return 0.0 if std < 1e-12 else (v - self._mean) / std

    def _update(self, pairs) -> None:
        self._learn(pairs)

    def _learn(self, pairs) -> None:
        import torch
        toks, advs = [], []
        for arch, result in pairs:
            v = self.signed(result)
            if v is None:
                continue
            r = self._standardise(float(v[0]))
            if self.baseline is None:
                self.baseline = r
            advs.append(r - self.baseline)
            self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * r
            toks.append(self.codec.encode(arch))
        if not toks:
            return
        tokens = torch.as_tensor(np.array(toks), dtype=torch.long)
        adv = torch.as_tensor(advs, dtype=torch.float32)
        logp, ent = self.controller.log_prob(tokens)
        loss = -(adv * logp).mean() - self.entropy_weight * ent.mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
