"""The REINFORCE controller of :class:`~naspredict.search.rl.ReinforceSearch`, at module
level so the strategy's state pickles (run state in the store, process pools)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Controller(nn.Module):
    """LSTM cell unrolled over the decisions; decision ``i`` has its own softmax head and
    its own token embeddings (a shared table, offset per decision)."""

    def __init__(self, vocab: list[int], hidden: int, tanh_constant: float | None):
        super().__init__()
        self.tanh_constant = tanh_constant
        self.vocab = list(vocab)
        self.offsets = np.concatenate([[1], 1 + np.cumsum(vocab)[:-1]]).tolist()  # 0 = start
        self.embed = nn.Embedding(1 + sum(vocab), hidden)
        self.cell = nn.LSTMCell(hidden, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, v) for v in vocab)

    def _logits(self, h, i):
        z = self.heads[i](h)
        return self.tanh_constant * torch.tanh(z) if self.tanh_constant else z

    def sample(self, n: int, generator) -> "torch.Tensor":
        with torch.no_grad():
            x = self.embed(torch.zeros(n, dtype=torch.long))
            state = None
            out = []
            for i in range(len(self.vocab)):
                state = self.cell(x, state)
                probs = torch.softmax(self._logits(state[0], i), dim=-1)
                tok = torch.multinomial(probs, 1, generator=generator).squeeze(1)
                out.append(tok)
                x = self.embed(tok + self.offsets[i])
            return torch.stack(out, dim=1)

    def log_prob(self, tokens: "torch.Tensor"):
        """Sum over decisions of log-probability and entropy, teacher-forced."""
        n = tokens.shape[0]
        x = self.embed(torch.zeros(n, dtype=torch.long))
        state = None
        logp = torch.zeros(n)
        ent = torch.zeros(n)
        for i in range(len(self.vocab)):
            state = self.cell(x, state)
            lp = torch.log_softmax(self._logits(state[0], i), dim=-1)
            logp = logp + lp.gather(1, tokens[:, i:i + 1]).squeeze(1)
            ent = ent - (lp.exp() * lp).sum(-1)
            x = self.embed(tokens[:, i] + self.offsets[i])
        return logp, ent
