"""Ensemble of MLPs on the path encoding, BANANAS' predictor (White et al., AAAI 2021).

Each member is a feed-forward network trained from its own random initialisation on the same
data with a mean-absolute-error loss; the ensemble mean is the prediction and the spread
across members the uncertainty.
"""
from __future__ import annotations

import torch
from torch import nn

from ..encodings import make_encoding
from .base import Predictor, Standardizer


class MLPEnsemblePredictor(Predictor):
    """Parameters
    ----------
    encoding : vector encoding (default ``"path"``, as in BANANAS).
    n_members : ensemble size (BANANAS: 5).
    hidden, layers : width and depth of each MLP.
    epochs, lr, batch_size, weight_decay : Adam training settings.
    """

    supports_std = True
    min_train = 4

    def __init__(self, space="nb201", encoding: str = "path", n_members: int = 5, hidden: int = 64,
                 layers: int = 3, epochs: int = 200, lr: float = 0.005, batch_size: int = 32,
                 weight_decay: float = 1e-4, random_state: int | None = 0):
        super().__init__(space, random_state)
        self.encoding = encoding
        self.n_members = n_members
        self.hidden = hidden
        self.layers = layers
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay

    def _net(self, width: int) -> nn.Module:
        mods: list[nn.Module] = []
        d = width
        for _ in range(self.layers):
            mods += [nn.Linear(d, self.hidden), nn.ReLU()]
            d = self.hidden
        mods.append(nn.Linear(d, 1))
        return nn.Sequential(*mods)

    def _X(self, archs) -> torch.Tensor:
        return torch.from_numpy(make_encoding(self.encoding, self.space_).transform(archs))

    def _fit(self, archs, y):
        self._train(archs, y)

    def _train(self, archs, y):
        X = self._X(archs)
        self.scaler_ = Standardizer(y)
        t = torch.as_tensor(self.scaler_.forward(y), dtype=torch.float32)
        gen = torch.Generator().manual_seed(self._torch_seed())
        self.members_ = []
        n = len(t)
        for _ in range(self.n_members):
            # nn.Linear draws its initial weights from the global RNG: seed it per member inside
            # fork_rng, which restores the caller's RNG state afterwards.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(torch.randint(2**31 - 1, (1,), generator=gen)))
                net = self._net(X.shape[1])
            opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, self.epochs)
            for _ in range(self.epochs):
                perm = torch.randperm(n, generator=gen)
                for s in range(0, n, self.batch_size):
                    idx = perm[s:s + self.batch_size]
                    opt.zero_grad()
                    loss = (net(X[idx]).squeeze(-1) - t[idx]).abs().mean()
                    loss.backward()
                    opt.step()
                sched.step()
            net.eval()
            self.members_.append(net)

    def _predict(self, archs, return_std=False):
        X = self._X(archs)
        with torch.no_grad():
            preds = torch.stack([m(X).squeeze(-1) for m in self.members_]).numpy()
        mean, std = preds.mean(0), preds.std(0)
        if return_std:
            return self.scaler_.inverse(mean, std)
        return self.scaler_.inverse(mean)
