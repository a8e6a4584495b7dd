"""Cheap objectives of a built network: parameters, FLOPs / MACs, latency.

:func:`profile` never trains and never changes the model it is given: the model runs in eval
mode under ``torch.no_grad`` and gets back its train/eval modes and its device afterwards.
Inputs are drawn from a private generator (seed 0), so the caller's RNG stream is untouched.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["Profile", "profile"]


@dataclass(frozen=True)
class Profile:
    """What :func:`profile` measured.

    Attributes
    ----------
    params : every parameter element (``sum(p.numel() for p in model.parameters())``; BN
        affine weight and bias included, buffers such as BN running statistics excluded).
    flops : floating-point operations of one forward pass at batch size 1 (one image, or one
        graph), as ``torch.utils.flop_counter.FlopCounterMode`` counts them: a multiply-add is
        **2** FLOPs, and only matrix products and convolutions (``mm``, ``addmm``, ``bmm``,
        ``convolution``, attention) are counted, not element-wise ops, normalisation, pooling
        or PyG's scatter aggregation.
    macs : multiply-accumulates, ``flops // 2``.
    flops_by_batch : FLOPs of one forward pass at each profiled batch size.
    latency_ms : batch size -> median wall time of one forward pass in milliseconds
        (``repeats`` timed runs after ``warmup`` untimed ones, CUDA synchronised around each).
    device : where it was measured, e.g. ``"cpu"`` or ``"cuda:0"``.
    """

    params: int
    flops: int
    macs: int
    latency_ms: dict[int, float]
    device: str
    flops_by_batch: dict[int, int] = field(default_factory=dict)
    repeats: int = 0
    warmup: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (e.g. for a trial's ``info``)."""
        return asdict(self)


def _model_device(model: nn.Module) -> torch.device:
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


def _resolve_device(device: Any, model: nn.Module) -> torch.device:
    if device is None:
        return _model_device(model)
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be a torch device or string such as 'cpu' or 'cuda:0', "
                         f"got {device!r} ({err})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here; use 'cpu'")
    return dev


def _is_graph(example: Any) -> bool:
    return hasattr(example, "edge_index") and hasattr(example, "x")


def _make_batch(example: Any, batch_size: int, device: torch.device) -> Any:
    """One input of ``batch_size`` samples on ``device``."""
    if _is_graph(example):
        from torch_geometric.data import Batch
        data = example if batch_size == 1 else Batch.from_data_list([example] * batch_size)
        return data.to(device)
    if isinstance(example, torch.Tensor):
        one = example[:1]
        return one.expand(batch_size, *one.shape[1:]).contiguous().to(device)
    gen = torch.Generator().manual_seed(0)
    return torch.randn((batch_size, *example), generator=gen).to(device)


def _check_example(example: Any) -> Any:
    if _is_graph(example) or isinstance(example, torch.Tensor):
        if isinstance(example, torch.Tensor) and (example.dim() < 1 or example.shape[0] < 1):
            raise ValueError(f"an example tensor needs a batch dimension with at least one "
                             f"sample, got shape {tuple(example.shape)}")
        return example
    try:
        shape = tuple(example)
    except TypeError:
        shape = None
    if not shape or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape):
        raise ValueError(f"example must be an input shape without the batch dimension, e.g. "
                         f"(3, 32, 32), an example tensor (batch first) or a PyG Data; got "
                         f"{example!r}")
    return shape


def _count_flops(model: nn.Module, x: Any) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        model(x)
    return int(counter.get_total_flops())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _latency_ms(model: nn.Module, x: Any, device: torch.device, repeats: int, warmup: int) -> float:
    for _ in range(warmup):
        model(x)
    _sync(device)
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        model(x)
        _sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(statistics.median(times))


def profile(model: nn.Module, example: Any, *, device: Any = None,
            batch_sizes: Sequence[int] = (1, 64), repeats: int = 10, warmup: int = 3) -> Profile:
    """Parameters, FLOPs / MACs and latency of ``model``.

    Parameters
    ----------
    model : any ``nn.Module``; it is run in eval mode under ``torch.no_grad`` and its modes
        (per submodule) and device are restored afterwards.
    example : the input shape without the batch dimension (``(3, 32, 32)``; inputs are drawn
        from a private generator), an example tensor with a batch dimension (its first sample
        is repeated to each batch size), or a PyG ``Data`` (batch size ``b`` is ``b`` copies of
        the graph as one disjoint-union ``Batch``).
    device : where to measure (``"cpu"``, ``"cuda:0"``, a ``torch.device``); ``None``: where
        the model's parameters are.
    batch_sizes : the batch sizes timed (and FLOP-counted); ``flops`` is always at batch 1.
        ``()``: no timing (params and FLOPs only; ``latency_ms`` is empty).
    repeats, warmup : timed runs (their median is reported) and untimed runs before them.

    Returns
    -------
    :class:`Profile`.

    Examples
    --------
    >>> p = profile(torch.nn.Linear(8, 4), (8,), batch_sizes=(1, 2), repeats=2, warmup=0)
    >>> p.flops, p.macs, p.flops_by_batch
    (64, 32, {1: 64, 2: 128})
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    example = _check_example(example)
    sizes = tuple(batch_sizes)
    if not all(isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in sizes):
        raise ValueError(f"batch_sizes must be positive ints, e.g. (1, 64), or () for no timing; "
                         f"got {batch_sizes!r}")
    for what, v, low in (("repeats", repeats, 1), ("warmup", warmup, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ValueError(f"{what} must be an int >= {low}, got {v!r}")
    dev = _resolve_device(device, model)
    home = _model_device(model)
    modes = [(m, m.training) for m in model.modules()]
    try:
        if dev != home:
            model.to(dev)
        model.eval()
        with torch.no_grad():
            flops_by_batch, latency = {}, {}
            for b in dict.fromkeys((1, *sizes)):
                x = _make_batch(example, b, dev)
                flops_by_batch[b] = _count_flops(model, x)
                if b in sizes:
                    latency[b] = _latency_ms(model, x, dev, repeats, warmup)
    finally:
        if dev != home:
            model.to(home)
        for m, mode in modes:
            m.training = mode
    flops = flops_by_batch[1]
    return Profile(params=sum(p.numel() for p in model.parameters()), flops=flops,
                   macs=flops // 2, latency_ms=latency, device=str(dev),
                   flops_by_batch={b: flops_by_batch[b] for b in sizes},
                   repeats=repeats, warmup=warmup)
