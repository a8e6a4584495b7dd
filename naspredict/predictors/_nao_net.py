"""The NAO network (encoder LSTM, MLP predictor, LSTM decoder) of
:class:`~naspredict.predictors.nao.NAOPredictor`, at module level so fitted predictors and the
strategies holding them pickle (run state, process pools)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class NAONet(nn.Module):
    """Encoder LSTM -> pooled embedding -> (MLP predictor, LSTM decoder)."""

    def __init__(self, vocab: int, width: int, emb: int, hidden: int, layers: int, mlp_hidden: int,
                 dropout: float):
        super().__init__()
        self.layers = layers
        self.hidden = hidden
        self.embed = nn.Embedding(vocab, emb)
        # a learned embedding per position, added to the token's: the same op means
        # different things on different edges, and this lets the LSTM see it at once.
        self.pos = nn.Parameter(0.5 * torch.randn(width, emb))
        self.encoder = nn.LSTM(emb, hidden, layers, batch_first=True,
                               dropout=dropout if layers > 1 else 0.0)
        self.predictor = nn.Sequential(nn.Linear(hidden, mlp_hidden), nn.ReLU(),
                                       nn.Dropout(dropout), nn.Linear(mlp_hidden, 1))
        self.sos = vocab  # start-of-sequence token of the decoder
        self.dec_embed = nn.Embedding(vocab + 1, emb)
        self.dec_init = nn.Linear(hidden, 2 * layers * hidden)
        self.decoder = nn.LSTM(emb + hidden, hidden, layers, batch_first=True,
                               dropout=dropout if layers > 1 else 0.0)
        self.out = nn.Linear(hidden, vocab)

    def encode(self, tokens):
        states, _ = self.encoder(self.embed(tokens) + self.pos[:tokens.shape[1]])
        return F.normalize(states, dim=-1).mean(dim=1)

    def predict(self, z):
        return self.predictor(z).squeeze(-1)

    def _init_state(self, z):
        hc = torch.tanh(self.dec_init(z)).view(z.shape[0], 2, self.layers, self.hidden)
        hc = hc.permute(1, 2, 0, 3).contiguous()
        return hc[0], hc[1]

    def decode_logits(self, z, tokens):
        """Teacher-forced logits, shape ``(n, width, vocab)``."""
        prev = torch.cat([torch.full_like(tokens[:, :1], self.sos), tokens[:, :-1]], dim=1)
        inp = torch.cat([self.dec_embed(prev), z.unsqueeze(1).expand(-1, tokens.shape[1], -1)],
                        dim=-1)
        out, _ = self.decoder(inp, self._init_state(z))
        return self.out(out)

    def greedy(self, z, allowed):
        """Greedy decoding; ``allowed`` is a ``(width, vocab)`` bool mask per position."""
        state = self._init_state(z)
        prev = torch.full((z.shape[0],), self.sos, dtype=torch.long)
        toks = []
        for t in range(allowed.shape[0]):
            inp = torch.cat([self.dec_embed(prev), z], dim=-1).unsqueeze(1)
            out, state = self.decoder(inp, state)
            logits = self.out(out[:, 0]).masked_fill(~allowed[t], float("-inf"))
            prev = logits.argmax(dim=-1)
            toks.append(prev)
        return torch.stack(toks, dim=1)
