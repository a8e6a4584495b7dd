"""ENAS as an ask/tell strategy: a thin adapter of :func:`naspredict.oneshot.enas.enas_search`.

On the first :meth:`~naspredict.search.base.Strategy.ask` the strategy runs ENAS (Pham et al.,
ICML 2018): a supernet trained on controller-sampled paths, interleaved with REINFORCE steps of
the ``rl`` strategy's controller rewarded by one-shot validation accuracy.  Its proposals are
then the final controller samples, best one-shot score first, for the run's evaluator to judge
for real (Pham et al. retrain the chosen cell from scratch); once those are used up, further
samples of the trained controller follow.  What the evaluator returns is recorded in the
history and does not change the controller.

The state (:meth:`state_dict`) holds the ranked proposals, the per-epoch ENAS history and the
trained controller, not the supernet: a resumed run goes on proposing without searching again.
"""
from __future__ import annotations

from typing import Any

from .base import Strategy


class ENASSearch(Strategy):
    """ENAS (Pham et al., 2018) over a supernet trained here, then its best archs proposed.

    Parameters
    ----------
    space, target, direction, seed : see :class:`~naspredict.search.base.Strategy`; ``target``
        is the run evaluator's metric (ENAS itself is rewarded by one-shot validation
        accuracy).  The space needs a supernet and the ``rl`` controller (``nb201``).
    data : the image data set the supernet trains on (name, path or ImageData).
    epochs, controller_steps, controller_batch, final_samples, reward_images, bn_batches,
    channels, cells, data_fraction, resolution, val_fraction, batch_size, config, device,
    data_root, policy : passed to :func:`naspredict.oneshot.enas.enas_search` (see there).
    progress : print a line per ENAS epoch.

    Attributes (after the first ask)
    --------------------------------
    enas_history : per-epoch rows of the search; ``oneshot_scores`` : arch string -> one-shot
    validation accuracy of the ranked final samples; ``enas_seconds`` : the search's wall time.
    """

    _transient = ("_data",)

    def __init__(self, space, target="val_accuracy", direction=None, seed: int = 0, *,
                 data: Any = "fashion-mnist", epochs: int = 10, controller_steps: int = 10,
                 controller_batch: int = 8, final_samples: int = 32, reward_images: int = 256,
                 bn_batches: int = 2, channels: int | None = None, cells: int | None = None,
                 data_fraction: float = 1.0, resolution: int | None = None, val_fraction: float = 0.1,
                 batch_size: int = 256, config: Any = None, device: str | None = "auto",
                 data_root: Any = None, policy: dict | None = None, progress: bool = False):
        super().__init__(space, target=target, direction=direction, seed=seed)
        from ..oneshot.supernet import SUPERNET_SPACES
        if self.space.name not in SUPERNET_SPACES:
            raise ValueError(f"ENAS needs a supernet; spaces with one: {', '.join(SUPERNET_SPACES)}, "
                             f"got {self.space.name!r}")
        self._data = data
        self.settings = dict(epochs=epochs, controller_steps=controller_steps, controller_batch=controller_batch,
                             final_samples=final_samples, reward_images=reward_images, bn_batches=bn_batches,
                             channels=channels, cells=cells, data_fraction=data_fraction, resolution=resolution,
                             val_fraction=val_fraction, batch_size=batch_size, config=config, device=device,
                             data_root=data_root, policy=policy, progress=progress)
        self.ranked: list[str] | None = None  # ENAS's final samples, best one-shot score first
        self.oneshot_scores: dict[str, float] = {}
        self.enas_history: list[dict[str, float]] = []
        self.enas_seconds = 0.0
        self.policy = None

    def _search(self) -> None:
        from ..oneshot.enas import enas_search
        res = enas_search(self.space, self._data, seed=self.seed, **self.settings)
        self.ranked = [self.space.to_str(a) for a, _ in res.candidates]
        self.oneshot_scores = {self.space.to_str(a): s for a, s in res.candidates}
        self.enas_history = res.history
        self.enas_seconds = res.seconds
        self.policy = res.policy

    def _propose(self, n: int) -> list:
        from ..oneshot.enas import sample_archs
        if self.ranked is None:
            self._search()
        out, keys = [], set()
        while self.ranked and len(out) < n:
            a = self.space.from_str(self.ranked.pop(0))
            if self.is_new(a) and self.key(a) not in keys:
                out.append(a)
                keys.add(self.key(a))
        tries = 0
        while len(out) < n and tries < 20:  # then more samples of the trained controller
            tries += 1
            for a in sample_archs(self.policy, 4 * n):
                if self.is_new(a) and self.key(a) not in keys:
                    out.append(a)
                    keys.add(self.key(a))
                    if len(out) == n:
                        break
        return out  # short only when the controller keeps repeating: the base class tops up
