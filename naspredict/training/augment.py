"""Standard image augmentation as one vectorised op on a whole batch.

:class:`Augment` does a random crop with padding ("pad by ``pad`` pixels, cut a random
``H x W`` window") and an optional random horizontal flip, for every image of a
``(B, C, H, W)`` batch at once (one ``gather``), on the batch's own device.  The random numbers
come from an explicit ``torch.Generator`` (never the global RNG): the same generator state gives
the same batch, and a CPU generator gives the same augmentation for a batch on any device.

Defaults per data set (:func:`default_augment`):

============== ========= ===================================================================
data set        flip      why
============== ========= ===================================================================
cifar10/100     yes       the standard CIFAR recipe (pad 4, crop 32, flip)
fashion-mnist   yes       clothes are left-right symmetric classes; flipping is common
mnist, digits   no        a mirrored digit is another shape (or another digit)
anything else   no        a flip may change the class; turn it on where it is known safe
============== ========= ===================================================================

The crop padding is ``round(size / 8)`` pixels of the smaller side (4 for 32 and 28 px, 1 for
8 px).  Padding is filled with black in pixel units: for normalised data (an
:class:`~naspredict.training.data.ImageData`) that is ``-mean / std`` per channel, as
torchvision's ``RandomCrop(padding=...)`` before ``Normalize`` gives.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

__all__ = ["Augment", "default_augment", "default_pad", "FLIP_DEFAULTS"]

#: whether :func:`default_augment` flips, per data set name (others: no flip)
FLIP_DEFAULTS = {"cifar10": True, "cifar100": True, "fashion-mnist": True,
                 "mnist": False, "digits": False}


def default_pad(size: int) -> int:
    """The crop padding for images of side ``size``: ``round(size / 8)``, at least 1
    (32 -> 4, 28 -> 4, 16 -> 2, 8 -> 1)."""
    return max(1, int(size / 8 + 0.5))


class Augment:
    """Random crop with padding and random horizontal flip of a batch.

    Parameters
    ----------
    pad : pixels added on every side before cropping back to ``H x W`` (0: no crop).
    flip : flip each image left-right with probability 1/2.
    fill : value of the padded pixels, a float or one per channel (in the data's units).

    Call ``augment(x, generator)`` with ``x`` of shape ``(B, C, H, W)`` (float, any device);
    returns a new tensor of the same shape, dtype and device.  Per image it draws a window
    offset ``(dy, dx)`` in ``[0, 2 * pad]`` and a flip bit from ``generator`` (on the
    generator's device, then moved to ``x``'s; see :meth:`params`).
    """

    def __init__(self, pad: int = 4, flip: bool = True, fill: float | Sequence[float] = 0.0) -> None:
        if isinstance(pad, bool) or not isinstance(pad, int) or pad < 0:
            raise ValueError(f"pad must be a non-negative int, got {pad!r}")
        self.pad = pad
        self.flip = bool(flip)
        self.fill = tuple(float(v) for v in fill) if isinstance(fill, (list, tuple)) else float(fill)

    def __repr__(self) -> str:
        return f"Augment(pad={self.pad}, flip={self.flip}, fill={self.fill})"

    def params(self, batch: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """Draw ``(dy, dx, flip)`` for ``batch`` images from ``generator``: int64 offsets of
        shape ``(batch,)`` in ``[0, 2 * pad]`` and a bool flip mask of shape ``(batch,)``
        (all ``False`` when ``flip`` is off), on the generator's device."""
        if not isinstance(generator, torch.Generator):
            raise TypeError("augmentation needs an explicit torch.Generator (it never uses the "
                            f"global RNG), got {type(generator).__name__}")
        dev = generator.device
        if self.pad:
            dy, dx = torch.randint(0, 2 * self.pad + 1, (2, batch), generator=generator, device=dev)
        else:
            dy = dx = torch.full((batch,), 0, dtype=torch.int64, device=dev)
        if self.flip:
            fl = torch.rand(batch, generator=generator, device=dev) < 0.5
        else:
            fl = torch.zeros(batch, dtype=torch.bool, device=dev)
        return dy, dx, fl

    def apply(self, x: Tensor, dy: Tensor, dx: Tensor, flip: Tensor) -> Tensor:
        """Crop and flip ``x`` of shape ``(B, C, H, W)`` by given parameters (see
        :meth:`params`): ``out[b] = flip_b(pad(x[b])[:, dy_b:dy_b + H, dx_b:dx_b + W])``."""
        if x.dim() != 4:
            raise ValueError(f"augment expects a (B, C, H, W) batch, got shape {tuple(x.shape)}")
        b, c, h, w = x.shape
        dev = x.device
        dy, dx, flip = dy.to(dev), dx.to(dev), flip.to(dev)
        p = self.pad
        rows = dy.view(b, 1) - p + torch.arange(h, device=dev)  # (B, H) source rows
        cols = dx.view(b, 1) - p + torch.arange(w, device=dev)  # (B, W) source columns
        cols = torch.where(flip.view(b, 1), cols.flip(1), cols)
        idx = rows.clamp(0, h - 1).unsqueeze(2) * w + cols.clamp(0, w - 1).unsqueeze(1)
        out = x.reshape(b, c, h * w).gather(2, idx.view(b, 1, h * w).expand(b, c, h * w))
        out = out.view(b, c, h, w)
        if p:
            valid = (((rows >= 0) & (rows < h)).unsqueeze(2)
                     & ((cols >= 0) & (cols < w)).unsqueeze(1)).unsqueeze(1)  # (B, 1, H, W)
            fill = torch.as_tensor(self.fill, dtype=x.dtype, device=dev)
            if fill.dim():
                if fill.numel() != c:
                    raise ValueError(f"fill has {fill.numel()} values, the batch {c} channels")
                fill = fill.view(1, c, 1, 1)
            out = torch.where(valid, out, fill)
        return out

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """Augment the batch ``x`` of shape ``(B, C, H, W)`` with numbers from ``generator``."""
        return self.apply(x, *self.params(len(x), generator))


def default_augment(data=None, *, name: str | None = None,
                    input_shape: Sequence[int] | None = None) -> Augment:
    """The standard augmentation for a data set: crop padding ``default_pad(min(H, W))``,
    a flip where :data:`FLIP_DEFAULTS` says so, black padding.

    ``data`` is an :class:`~naspredict.training.data.ImageData` (its name, input shape and
    normalisation are used: the fill is ``-mean / std``); or give ``name`` and ``input_shape``
    ``(C, H, W)`` for data in ``[0, 1]`` pixel units (fill 0).
    """
    if data is not None:
        name, input_shape = data.name, data.input_shape
        fill = tuple(-m / s for m, s in zip(data.mean, data.std))
    else:
        if input_shape is None:
            raise ValueError("give an ImageData, or input_shape=(C, H, W)")
        fill = 0.0
    c, h, w = input_shape
    return Augment(pad=default_pad(min(h, w)), flip=FLIP_DEFAULTS.get(name, False), fill=fill)
