"""NAO: an LSTM encoder / predictor / decoder over token sequences.

Neural Architecture Optimization (Luo, Tian, Qin, Chen & Liu, NeurIPS 2018) maps an
architecture, written as a token sequence, to a continuous embedding with an LSTM encoder; an
MLP on the embedding predicts performance, and an LSTM decoder reconstructs the sequence from
the embedding.  The three parts are trained jointly with
``loss = trade_off * MSE + (1 - trade_off) * reconstruction cross-entropy``, so the embedding
both ranks architectures and can be decoded back.  NAO's search move walks the embedding up
the predictor's gradient and decodes the result (:meth:`NAOPredictor.gradient_step`).

Written for this package from the paper's description.  Choices of ours:

* The embedding is the mean over positions of the L2-normalised encoder states (NAO's
  pooling), one vector per architecture.  The decoder reads only that vector (it sets the
  decoder LSTM's initial state and is fed at every step beside the previous token), so
  :meth:`~NAOPredictor.encode`, :meth:`~NAOPredictor.decode` and gradient steps all work on
  plain ``(n, hidden_size)`` arrays.
* Decoding is greedy and constrained to the tokens each position may hold (op tokens on NB201),
  so NB201 embeddings always decode to valid cells.
* Token embeddings get a learned per-position embedding added (NB201's sequence is the 6
  edge ops in a fixed order, so an op's meaning depends on its slot).
* By default the MSE is taken on normal scores of the targets' ranks (``target_transform``),
  not on standardised values; predictions are mapped back to the caller's units.
* Optional ``n_ensemble`` independent nets (different seeds) whose mean is the prediction and
  whose spread is the ``return_std`` uncertainty; the default 1 is plain NAO.
"""
from __future__ import annotations

import numpy as np

from ..encodings.sequence import EDGE, FIRST_OP, NO_EDGE, PAD, SequenceEncoding
from ..encodings.base import n_inputs
from .base import Predictor
from .transforms import target_scaler


def _torch():
    import torch
    return torch


def _build_net(vocab: int, width: int, emb: int, hidden: int, layers: int, mlp_hidden: int,
               dropout: float):
    from ._nao_net import NAONet  # torch loads only when a network is built
    return NAONet(vocab, width, emb, hidden, layers, mlp_hidden, dropout)


class NAOPredictor(Predictor):
    """NAO performance predictor (Luo et al., NeurIPS 2018) with encode / decode / gradient moves.

    Parameters
    ----------
    space, random_state : see :class:`~naspredict.predictors.base.Predictor`.  The space must
        have a :class:`~naspredict.encodings.SequenceEncoding`; decoding needs nb201 or nb101.
    embedding_size : token embedding size.
    hidden_size : LSTM state size, also the size of the architecture embedding.
    num_layers : LSTM layers (encoder and decoder).
    mlp_hidden : hidden units of the predictor MLP.
    epochs : passes over the training data; at least ``min_steps`` optimiser steps are taken
        in all, so small training sets still get enough updates.
    min_steps : fewest optimiser steps.
    lr, weight_decay : Adam settings.
    batch_size : mini-batch size.
    trade_off : weight of the MSE term; ``1 - trade_off`` weighs reconstruction.
    dropout : dropout in the predictor MLP (and between LSTM layers).
    n_ensemble : independently seeded nets averaged (``return_std`` is their spread).
    target_transform : ``"rank"`` (default) trains on normal scores of the targets' ranks and
        maps predictions back monotonically; ``"standard"`` standardises (NAO's plain MSE).

    ``fit(archs, y, sample_weight=None)`` accepts per-point weights on the MSE term (used by
    :class:`~naspredict.predictors.semi.SemiSupervisedPredictor`).
    """

    def __init__(self, space="nb201", embedding_size: int = 32, hidden_size: int = 64,
                 num_layers: int = 1, mlp_hidden: int = 128, epochs: int = 60,
                 min_steps: int = 600, lr: float = 3e-3, weight_decay: float = 1e-4,
                 batch_size: int = 32, trade_off: float = 0.8, dropout: float = 0.0,
                 n_ensemble: int = 1, target_transform: str = "rank",
                 random_state: int | None = 0):
        super().__init__(space, random_state)
        self.embedding_size = embedding_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.mlp_hidden = mlp_hidden
        self.epochs = epochs
        self.min_steps = min_steps
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.trade_off = trade_off
        self.dropout = dropout
        self.n_ensemble = n_ensemble
        self.target_transform = target_transform

    @property
    def supports_std(self) -> bool:  # type: ignore[override]
        """Uncertainty (the spread across nets) needs ``n_ensemble > 1``."""
        return int(self.n_ensemble) > 1

    # -- helpers --------------------------------------------------------------------------
    def _encoding(self) -> SequenceEncoding:
        return SequenceEncoding(space=self.space_)

    def _tokens(self, archs):
        torch = _torch()
        return torch.as_tensor(self._encoding().transform(archs), dtype=torch.long)

    def _allowed(self):
        """``(width, vocab)`` mask of the tokens each sequence position may hold."""
        torch = _torch()
        enc = self._encoding()
        sp = self.space_
        vocab, width = enc.vocab_size, enc.width
        mask = torch.zeros((width, vocab), dtype=torch.bool)
        if sp.fixed_topology:
            mask[:, FIRST_OP:] = True
            return mask
        n_max, k = sp.max_nodes, n_inputs(sp)
        t = 0
        for j in range(k, n_max):
            for _ in range(j):
                mask[t, [NO_EDGE, EDGE]] = True
                if j < n_max - 1:
                    mask[t, PAD] = True
                t += 1
            if j < n_max - 1:
                mask[t, FIRST_OP:] = True
                mask[t, PAD] = True
                t += 1
        return mask

    def _check_fitted(self):
        if not hasattr(self, "n_train_"):
            from sklearn.exceptions import NotFittedError
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(archs, y) first")

    # -- training -------------------------------------------------------------------------
    accepts_sample_weight = True

    def _fit(self, archs, y, sample_weight=None):
        self._fit_nets(archs, y, sample_weight)

    def _fit_nets(self, archs, y, sample_weight):
        torch = _torch()
        F = torch.nn.functional
        self.scaler_ = target_scaler(self.target_transform, y)
        tokens = self._tokens(archs)
        target = torch.as_tensor(self.scaler_.forward(y), dtype=torch.float32)
        n = len(y)
        if sample_weight is None:
            w = torch.ones(n)
        else:
            w = torch.as_tensor(np.asarray(sample_weight, float).ravel(), dtype=torch.float32)
            if w.shape[0] != n or not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
                raise ValueError("sample_weight must hold one finite, non-negative weight per "
                                 "arch, not all zero")
        enc = self._encoding()
        bs = max(1, min(self.batch_size, n))
        per_epoch = int(np.ceil(n / bs))
        epochs = max(int(self.epochs), int(np.ceil(self.min_steps / per_epoch)))
        rng = self._rng()
        # weight init and dropout draw from the global RNG: seed it inside fork_rng, which
        # restores the caller's RNG state afterwards
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self._torch_seed())
            self.nets_ = []
            for _m in range(max(1, int(self.n_ensemble))):
                net = _build_net(enc.vocab_size, enc.width, self.embedding_size, self.hidden_size,
                                 self.num_layers, self.mlp_hidden, self.dropout)
                opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
                net.train()
                for _ in range(epochs):
                    perm = torch.as_tensor(rng.permutation(n))
                    for b in range(per_epoch):
                        idx = perm[b * bs:(b + 1) * bs]
                        tok, tgt, wb = tokens[idx], target[idx], w[idx]
                        z = net.encode(tok)
                        mse = (wb * (net.predict(z) - tgt) ** 2).sum() / wb.sum().clamp_min(1e-12)
                        logits = net.decode_logits(z, tok)
                        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tok.reshape(-1))
                        loss = self.trade_off * mse + (1.0 - self.trade_off) * ce
                        opt.zero_grad()
                        loss.backward()
                        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
                        opt.step()
                net.eval()
                self.nets_.append(net)

    def _raw_predict(self, tokens):
        """Standardised predictions, shape ``(n_ensemble, n)``."""
        torch = _torch()
        outs = []
        with torch.no_grad():
            for net in self.nets_:
                parts = [net.predict(net.encode(tokens[i:i + 8192]))
                         for i in range(0, len(tokens), 8192)]
                outs.append(torch.cat(parts).numpy())
        return np.stack(outs).astype(float)

    def _predict(self, archs, return_std=False):
        raw = self._raw_predict(self._tokens(archs))
        mean = raw.mean(axis=0)
        if not return_std:
            return self.scaler_.inverse(mean)
        return self.scaler_.inverse(mean, raw.std(axis=0))

    # -- NAO's continuous space -----------------------------------------------------------
    def encode(self, archs) -> np.ndarray:
        """Embeddings of ``archs``, shape ``(n, hidden_size)`` (the first net's, with an
        ensemble)."""
        self._check_fitted()
        torch = _torch()
        archs = self._check_archs(archs)
        if not archs:
            return np.zeros((0, self.hidden_size))
        with torch.no_grad():
            return self.nets_[0].encode(self._tokens(archs)).numpy().astype(float)

    def predict_embeddings(self, embeddings) -> np.ndarray:
        """The predictor MLP on embeddings, in the target's units."""
        self._check_fitted()
        torch = _torch()
        z = torch.as_tensor(np.asarray(embeddings, float), dtype=torch.float32)
        with torch.no_grad():
            return self.scaler_.inverse(self.nets_[0].predict(z).numpy().astype(float))

    def decode(self, embeddings) -> list:
        """Architectures decoded greedily from embeddings ``(n, hidden_size)``.

        Each position is constrained to the tokens it may hold, so NB201 always gives valid
        cells.  On NB101 a decoded sequence can still name an invalid cell (disconnected,
        too many edges); those entries are ``None``.
        """
        self._check_fitted()
        torch = _torch()
        z = torch.as_tensor(np.asarray(embeddings, float), dtype=torch.float32)
        if z.ndim != 2 or z.shape[1] != self.hidden_size:
            raise ValueError(f"embeddings must have shape (n, {self.hidden_size}), got {tuple(z.shape)}")
        if z.shape[0] == 0:
            return []
        with torch.no_grad():
            toks = self.nets_[0].greedy(z, self._allowed()).numpy()
        enc = self._encoding()
        if self.space_.fixed_topology:
            return enc.inverse_transform(toks)
        out = []
        for row in toks:
            try:
                out.append(enc.inverse_transform(row[None, :])[0])
            except ValueError:
                out.append(None)
        return out

    def gradient_step(self, archs, step_size: float = 1.0) -> list:
        """NAO's move: ``z + step_size * d(predicted performance)/dz``, then decode.

        Returns one architecture per input; where decoding fails (NB101) the input is returned
        unchanged, and a step too small to change any token also returns the input.  Larger
        ``step_size`` moves further (NAO increases it until the decoded cell is new).
        """
        self._check_fitted()
        archs = self._check_archs(archs)
        if not archs:
            return []
        net = self.nets_[0]
        z = net.encode(self._tokens(archs)).detach().requires_grad_(True)
        net.predict(z).sum().backward()
        new = (z + step_size * z.grad).detach().numpy()
        decoded = self.decode(new)
        return [d if d is not None else a for d, a in zip(decoded, archs)]
