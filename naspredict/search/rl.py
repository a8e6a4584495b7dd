"""REINFORCE with an LSTM controller.

Zoph & Le, "Neural architecture search with reinforcement learning", ICLR 2017: a recurrent
controller emits an architecture one decision at a time (each token's embedding is the next
step's input) and is trained with the policy gradient (Williams, 1992), the reward minus an
exponential moving-average baseline.  The ``tanh`` squashing of the logits follows ENAS
(Pham et al., ICML 2018), which keeps the policy from collapsing early.

Implemented for spaces whose architecture is a fixed-length sequence of categorical choices:

* ``nb201``: 6 tokens, the op on each edge (NASLib edge order), 5 choices each;
* ``nbgraph``: 5 tokens, the link pattern (9 choices) then the 4 ops (the space's op set).
  Most (link, ops) sequences are not the benchmark's representative of their class; a
  sequence is mapped to its representative with :func:`~naspredict.spaces.nbgraph.normal_form`
  (and the all-skip cell, which has none, is resampled).  The policy gradient uses the
  log-probability of the tokens the controller emitted.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .base import Strategy


class _Codec:
    """Maps archs of a supported space to token sequences and back."""

    def __init__(self, space):
        from ..spaces.nb201 import NB201Space
        from ..spaces.nbgraph import NBGraphSpace
        self.space = space
        if isinstance(space, NB201Space):
            self.kind = "nb201"
            self.vocab = [len(space.ops)] * 6
        elif isinstance(space, NBGraphSpace):
            from ..spaces import nbgraph
            self.kind = "nbgraph"
            self._nbg = nbgraph
            self.vocab = [len(nbgraph.LINKS)] + [len(space.ops)] * 4
        else:
            raise ValueError(f"the 'rl' strategy supports the spaces nb201 and nbgraph (fixed-length "
                             f"sequences of categorical choices); got {getattr(space, 'name', space)!r}")

    def encode(self, arch) -> list[int]:
        ops = self.space.ops
        if self.kind == "nb201":
            return [ops.index(o) for o in arch.ops]
        return [self._nbg.LINKS.index(tuple(arch.link))] + [ops.index(o) for o in arch.ops]

    def decode(self, tokens) -> Any | None:
        ops = self.space.ops
        if self.kind == "nb201":
            from ..spaces.nb201 import NB201Arch
            return NB201Arch(tuple(ops[int(t)] for t in tokens))
        cell = self._nbg.NBGraphArch(self._nbg.LINKS[int(tokens[0])], tuple(ops[int(t)] for t in tokens[1:]))
        return self._nbg.normal_form(cell)


def _controller(vocab: list[int], hidden: int, tanh_constant: float | None):
    from ._controller import Controller  # torch loads only when a controller is built
    return Controller(vocab, hidden, tanh_constant)


class ReinforceSearch(Strategy):
    """REINFORCE-trained LSTM controller (Zoph & Le, 2017) for ``nb201`` and ``nbgraph``.

    Parameters
    ----------
    space, target, direction, seed : see :class:`~naspredict.search.base.Strategy`.
        Spaces other than ``nb201`` and ``nbgraph`` raise ``ValueError``.
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

    def __init__(self, space, target="accuracy", direction="max", seed: int = 0,
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
                    continue  # nbgraph's all-skip cell: no benchmark representative
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
