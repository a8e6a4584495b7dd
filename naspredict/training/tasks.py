"""Tasks: what :func:`~naspredict.training.trainer.train` trains on.

A task hands out training batches for an epoch (deterministic by a seed), evaluation batches
for a split, and reads a model's logits for a batch.  :class:`ImageTask` serves in-memory image
tensors (:class:`~naspredict.training.data.ImageData`) in minibatches; :class:`GraphTask`
serves one graph (:class:`~naspredict.training.graphs.GraphData`) full-batch, with node masks
for the splits (node classification, as NAS-Bench-Graph trains).
"""
from __future__ import annotations

from typing import Any

import torch

__all__ = ["ImageTask", "GraphTask", "make_task"]


class ImageTask:
    """Minibatches of an :class:`~naspredict.training.data.ImageData`.

    ``augment`` is the data set's standard augmentation (a callable ``(x, generator) -> x``)
    or ``None``; :func:`train` turns it off with ``TrainConfig(augment=False)``.
    """

    def __init__(self, data: Any, *, batch_size: int = 256, eval_batch_size: int = 1024,
                 augment: Any = "default", channels_last: bool = False):
        self.data = data
        self.batch_size = int(batch_size)
        self.eval_batch_size = int(eval_batch_size)
        self.augment = data.default_augment() if augment == "default" else augment
        self.channels_last = channels_last
        self.device = torch.device("cpu")

    def to(self, device: torch.device | str) -> "ImageTask":
        device = torch.device(device)
        if device != self.device:
            self.data = self.data.to(device)
            if self.channels_last:
                self.data = _channels_last(self.data)
            self.device = device
        return self

    @property
    def n_train(self) -> int:
        return len(self.data.train[1])

    def train_batches(self, epoch: int, seed: int, augment: bool | None = None):
        from .data import TensorLoader
        x, y = self.data.train
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        aug = self.augment if augment is not False else None
        return TensorLoader(x, y, self.batch_size, shuffle=True, generator=gen, augment=aug)

    def eval_batches(self, split: str):
        from .data import TensorLoader
        x, y = getattr(self.data, split)
        return TensorLoader(x, y, self.eval_batch_size, shuffle=False)

    @staticmethod
    def logits(model: torch.nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        return model(inputs)


def _channels_last(data: Any) -> Any:
    from dataclasses import replace
    cl = lambda s: (s[0].contiguous(memory_format=torch.channels_last), s[1])  # noqa: E731
    return replace(data, train=cl(data.train), val=cl(data.val), test=cl(data.test))


class GraphTask:
    """Full-batch node classification on one :class:`~naspredict.training.graphs.GraphData`:
    one optimisation step per epoch on the training nodes."""

    def __init__(self, graph: Any):
        self.graph = graph
        self.device = torch.device("cpu")

    def to(self, device: torch.device | str) -> "GraphTask":
        device = torch.device(device)
        if device != self.device:
            self.graph = self.graph.to(device)
            self.device = device
        return self

    @property
    def n_train(self) -> int:
        return int(self.graph.data.train_mask.sum())

    def _batch(self, split: str):
        data = self.graph.data
        mask = getattr(data, f"{split}_mask")
        return [((data, mask), data.y[mask])]

    def train_batches(self, epoch: int, seed: int, augment: bool | None = None):
        return self._batch("train")

    def eval_batches(self, split: str):
        return self._batch(split)

    @staticmethod
    def logits(model: torch.nn.Module, inputs) -> torch.Tensor:
        data, mask = inputs
        return model(data)[mask]


def make_task(data: Any, *, batch_size: int = 256, eval_batch_size: int = 1024,
              channels_last: bool = False):
    """The task for ``data``: a :class:`GraphTask` for graph data, else an :class:`ImageTask`."""
    if hasattr(data, "data") and hasattr(data.data, "edge_index"):
        return GraphTask(data)
    return ImageTask(data, batch_size=batch_size, eval_batch_size=eval_batch_size,
                     channels_last=channels_last)
