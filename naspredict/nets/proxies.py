"""Zero-cost proxies computed from a real, freshly initialised network.

:func:`proxy_scores` builds each architecture's network (:func:`~naspredict.nets.build_network`),
scores it on one batch of data without any training, and returns one row per architecture and
one column per proxy.  The proxies (``PROXIES``), implemented from their papers' definitions:

``synflow``
    Tanaka et al., "Pruning neural networks without any data by iteratively conserving synaptic
    flow", NeurIPS 2020, as used for NAS by Abdelfattah et al., "Zero-Cost Proxies for
    Lightweight NAS", ICLR 2021.  Every parameter is replaced by its absolute value, the network
    runs in double precision with BatchNorm in eval mode (at initialisation its running
    statistics are mean 0 / variance 1, so BN is bypassed up to ``1/sqrt(1 + eps)`` and the
    absolute affine weight 1, bias 0), on a single all-ones input of the data's shape;
    ``R = sum(output)`` and the score is ``sum over weights of |theta * dR/dtheta|``, summed
    without any normalisation (as the zero-cost paper does).  No data needed.
``snip``
    Lee et al., "SNIP: single-shot network pruning based on connection sensitivity", ICLR 2019:
    ``sum |g * w|`` with ``g`` the gradient of the cross-entropy loss of the real batch (the
    connection sensitivity at mask 1), network in training mode (BN on batch statistics).
``grad_norm``
    The sum over weight tensors of the L2 norm of the loss gradient (Abdelfattah et al., 2021),
    same batch, loss and mode as ``snip``.
``jacov``
    Mellor et al., "Neural Architecture Search without Training" (arXiv:2006.04647 v1, 2020):
    the per-sample input gradients ``J_i = d(sum_k f_k(x_i)) / d x_i`` of the batch, their
    correlation matrix ``Sigma_J`` (samples x samples) and its eigenvalues ``sigma``; the score
    is ``-sum_i [log(sigma_i + k) + 1 / (sigma_i + k)]`` with ``k = 1e-5``.  Training mode.
``nwot``
    Mellor et al., ICML 2021 version of the same paper: the binary codes ``c_i`` of every ReLU
    unit (pre-activation > 0) over the batch, the kernel ``K_H[i, j] = N_A - hamming(c_i, c_j)``
    (units that agree) and the score ``log |det K_H|``.  Training mode, no gradient.  Needs
    ``nn.ReLU`` modules (the NAS-Bench-Graph network applies ReLU functionally: not supported).
``params`` / ``flops``
    :func:`~naspredict.nets.count_params` and :func:`~naspredict.nets.profile`'s FLOPs at batch
    size 1 (a multiply-add is 2 FLOPs).

Choices: "weights" (what ``synflow``, ``snip`` and ``grad_norm`` sum over) are the parameter
tensors with at least 2 dimensions, i.e. convolution kernels and linear / GNN weight
matrices: the zero-cost paper scores only convolution and linear layers, so biases and
BatchNorm parameters are left out.  Networks whose forward returns a tuple (DARTS's auxiliary
head) are scored on the first element, the logits.

Randomness: each architecture's network is built under ``torch.random.fork_rng`` seeded from
``seed`` and the architecture's string, and each proxy runs on its own copy of that network
under a seed derived from (seed, arch, proxy), so a score depends only on those three, never
on the order of architectures or of proxies; the caller's RNG streams are untouched.  The
data batch is drawn with ``numpy.random.default_rng(seed)``.
"""
from __future__ import annotations

import copy
import hashlib
import math
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..spaces import SearchSpace, resolve_space

__all__ = ["Proxy", "PROXIES", "proxy_scores", "proxy_batch", "synflow", "snip", "grad_norm",
           "jacov", "nwot", "params", "flops", "DEFAULT_PROXIES"]

#: the proxies computed when ``names`` is not given
DEFAULT_PROXIES = ("synflow", "jacov", "snip", "grad_norm", "nwot", "params", "flops")
#: Mellor et al.'s ``k`` in the jacov score
JACOV_K = 1e-5


# -- inputs: images (x tensor) or graphs (a PyG Data) ------------------------------------------
def _is_graph(inp: Any) -> bool:
    return hasattr(inp, "edge_index") and hasattr(inp, "x")


def _features(inp: Any) -> torch.Tensor:
    return inp.x if _is_graph(inp) else inp


def _with_features(inp: Any, x: torch.Tensor) -> Any:
    if _is_graph(inp):
        out = copy.copy(inp)
        out.x = x
        return out
    return x


def _logits(net: nn.Module, inp: Any) -> torch.Tensor:
    out = net(inp)
    return out[0] if isinstance(out, (tuple, list)) else out


def _weights(net: nn.Module) -> list[torch.Tensor]:
    return [p for p in net.parameters() if p.dim() >= 2]


def _loss_grads(net: nn.Module, inp: Any, y: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    net.train()
    net.zero_grad(set_to_none=True)
    loss = F.cross_entropy(_logits(net, inp), y, ignore_index=-1)
    ws = _weights(net)
    grads = torch.autograd.grad(loss, ws, allow_unused=True)
    return [(w, torch.zeros_like(w) if g is None else g) for w, g in zip(ws, grads)]


# -- the proxies ------------------------------------------------------------------------------
def synflow(net: nn.Module, inp: Any, y: torch.Tensor | None = None) -> float:
    """SynFlow (Tanaka et al. 2020): ``sum |theta * dR/dtheta|`` with ``theta -> |theta|``,
    double precision, BN in eval mode, an all-ones input of one sample (graphs: all-ones node
    features on the same edges), ``R = sum(logits)``.  Changes ``net`` (pass a copy).

    Parameters
    ----------
    net : the network (it is made double, eval mode, and its weights made non-negative).
    inp : a batch ``(N, C, H, W)`` (only its shape is read) or a PyG ``Data``.
    y : unused.

    Returns
    -------
    float, >= 0.
    """
    net.double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    x = _features(inp)
    ones = torch.ones((x.shape[0] if _is_graph(inp) else 1, *x.shape[1:]),
                      dtype=torch.float64, device=x.device)
    net.zero_grad(set_to_none=True)
    ws = _weights(net)
    r = _logits(net, _with_features(inp, ones)).sum()
    grads = torch.autograd.grad(r, ws, allow_unused=True)
    return float(sum((w * g).abs().sum().item() for w, g in zip(ws, grads) if g is not None))


def snip(net: nn.Module, inp: Any, y: torch.Tensor) -> float:
    """SNIP (Lee et al. 2019): ``sum |g * w|`` over the weights, ``g`` the gradient of the
    cross-entropy of ``(inp, y)`` in training mode.  Returns a float >= 0."""
    return float(sum((w * g).abs().sum().item() for w, g in _loss_grads(net, inp, y)))


def grad_norm(net: nn.Module, inp: Any, y: torch.Tensor) -> float:
    """Gradient norm (Abdelfattah et al. 2021): ``sum_W ||dL/dW||_2`` over the weight tensors,
    ``L`` the cross-entropy of ``(inp, y)`` in training mode.  Returns a float >= 0."""
    return float(sum(g.norm(2).item() for _, g in _loss_grads(net, inp, y)))


def jacov(net: nn.Module, inp: Any, y: torch.Tensor | None = None) -> float:
    """Jacobian covariance (Mellor et al. 2020, v1): ``-sum_i [log(s_i + k) + 1/(s_i + k)]``
    over the eigenvalues ``s`` of the correlation matrix of the per-sample input gradients of
    the summed logits, ``k = 1e-5``; training mode.  For graphs the samples are the nodes.

    Returns a float (higher is better); NaN when a sample's gradient is constant (e.g. a cell
    whose output is reached only through ``none``), as its correlation is undefined.
    """
    net.train()
    x = _features(inp).detach().clone().requires_grad_(True)
    out = _logits(net, _with_features(inp, x))
    (jac,) = torch.autograd.grad(out.sum(), x)
    j = jac.reshape(jac.shape[0], -1).double().cpu().numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.corrcoef(j)
    if not np.isfinite(corr).all():
        return float("nan")
    s = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(s + JACOV_K) + 1.0 / (s + JACOV_K)))


def nwot(net: nn.Module, inp: Any, y: torch.Tensor | None = None) -> float:
    """NASWOT (Mellor et al., ICML 2021): ``log |det K_H|`` of the kernel of agreeing binary
    ReLU codes over the batch, ``K_H[i, j] = c_i . c_j + (1 - c_i) . (1 - c_j)``.

    Raises
    ------
    ValueError
        When the network has no ``nn.ReLU`` module to read codes from, or for a graph input
        (the NAS-Bench-Graph network's ReLUs are functional).
    """
    if _is_graph(inp):
        raise ValueError("nwot is not supported for graph networks: NAS-Bench-Graph's network "
                         "applies its ReLUs functionally (F.relu), so their codes cannot be read; "
                         "drop 'nwot' from names")
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError(f"nwot reads the codes of nn.ReLU modules and {type(net).__name__} has "
                         f"none (it applies ReLU functionally); drop 'nwot' from names")
    n = _features(inp).shape[0]
    kernel = torch.zeros((n, n), dtype=torch.float64, device=_features(inp).device)

    def hook(module, args):
        b = (args[0].detach().reshape(n, -1) > 0).double()
        kernel.add_(b @ b.T + (1 - b) @ (1 - b).T)

    handles = [m.register_forward_pre_hook(hook) for m in relus]
    try:
        net.train()
        with torch.no_grad():
            _logits(net, inp)
    finally:
        for h in handles:
            h.remove()
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if float(sign) > 0 else float("nan")


def params(net: nn.Module, inp: Any = None, y: torch.Tensor | None = None) -> float:
    """Parameter count (:func:`~naspredict.nets.count_params`)."""
    from . import count_params
    return float(count_params(net))


def flops(net: nn.Module, inp: Any, y: torch.Tensor | None = None) -> float:
    """FLOPs of one forward pass at batch size 1 (:func:`~naspredict.nets.profile`, a
    multiply-add is 2 FLOPs; graphs: the whole graph)."""
    from .profile import profile
    example = inp if _is_graph(inp) else inp[:1]
    return float(profile(net, example, batch_sizes=()).flops)


@dataclass(frozen=True)
class Proxy:
    """A registered proxy: ``fn(net, inp, y) -> float`` (it may change ``net``: it is given a
    copy), whether it reads the batch's values (``needs_data``; otherwise only its shape) and
    its labels (``needs_labels``), and where it comes from."""

    fn: Callable[[nn.Module, Any, Any], float]
    needs_data: bool
    needs_labels: bool
    source: str


#: name -> :class:`Proxy`
PROXIES: dict[str, Proxy] = {
    "synflow": Proxy(synflow, False, False, "Tanaka et al. 2020; Abdelfattah et al. 2021"),
    "snip": Proxy(snip, True, True, "Lee et al. 2019; Abdelfattah et al. 2021"),
    "grad_norm": Proxy(grad_norm, True, True, "Abdelfattah et al. 2021"),
    "jacov": Proxy(jacov, True, False, "Mellor et al. 2020 (v1)"),
    "nwot": Proxy(nwot, True, False, "Mellor et al. 2021 (ICML)"),
    "params": Proxy(params, False, False, "parameter count"),
    "flops": Proxy(flops, False, False, "FLOPs at batch size 1"),
}


# -- data -------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _default_images(seed: int):
    from ..training import load_images
    try:
        return load_images("fashion-mnist", seed=seed)
    except FileNotFoundError:
        warnings.warn("Fashion-MNIST is not installed; zero-cost proxies use scikit-learn's "
                      "digits (8x8) instead (apt-get install dataset-fashion-mnist for the default)",
                      stacklevel=4)
        return load_images("digits", seed=seed)


@lru_cache(maxsize=8)
def _named_images(name: str, seed: int):
    from ..training import load_images
    return load_images(name, seed=seed)


def proxy_batch(space: str | SearchSpace, data: Any = None, *, batch_size: int = 64,
                seed: int = 0) -> tuple[Any, torch.Tensor | None, int, tuple[int, ...]]:
    """The batch the proxies of ``space`` are computed on.

    Parameters
    ----------
    space : the search space (image spaces take images; ``nbgraph`` takes a graph).
    data : ``None`` (image spaces: Fashion-MNIST through ``load_images("fashion-mnist")`` at its
        native 1 x 28 x 28, or scikit-learn's digits with a warning when it is not installed;
        nbgraph: PyG's karate club through ``load_graph("karate")``), a name or path that
        ``load_images`` (nbgraph: ``load_graph``) accepts, an ``ImageData`` / ``GraphData``, a
        PyG ``Data`` (nbgraph), or a tensor pair ``(x, y)`` with ``x`` of shape ``(N, C, H, W)``
        and ``y`` of shape ``(N,)`` (``y`` may be ``None``: only label-free proxies then).
    batch_size : images drawn from the training split (without replacement, by
        ``numpy.random.default_rng(seed)``); a tensor pair is used whole; a graph is used whole.
    seed : seeds the draw (and the splits of a loaded data set).

    Returns
    -------
    ``(inp, y, n_classes, input_shape)``: the input (a tensor or a PyG ``Data``), the labels
    (``-1`` marks graph nodes outside the training mask), the number of classes and the input
    shape without the batch dimension.

    Raises
    ------
    ValueError
        For a malformed tensor pair or a data kind the space cannot take.
    """
    sp = resolve_space(space)
    if sp.name == "nbgraph":
        return _graph_batch(data, seed)
    if data is None:
        data = _default_images(seed)
    elif isinstance(data, str) or hasattr(data, "__fspath__"):
        data = _named_images(str(data), seed)
    if hasattr(data, "train") and hasattr(data, "input_shape"):
        x_all, y_all = data.train
        rng = np.random.default_rng(seed)
        take = np.sort(rng.choice(len(y_all), size=min(batch_size, len(y_all)), replace=False))
        idx = torch.from_numpy(take)
        return x_all[idx], y_all[idx], int(data.n_classes), tuple(data.input_shape)
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], torch.Tensor):
        x, y = data
        if x.dim() != 4:
            raise ValueError(f"data x must be (N, C, H, W), got shape {tuple(x.shape)}")
        if y is not None and (not isinstance(y, torch.Tensor) or y.shape != (x.shape[0],)):
            raise ValueError(f"data y must be a tensor of shape ({x.shape[0]},) of class indices "
                             f"or None, got {getattr(y, 'shape', y)!r}")
        n_classes = int(y.max()) + 1 if y is not None else 10
        return x, (None if y is None else y.long()), max(n_classes, 2), tuple(x.shape[1:])
    raise ValueError(f"data must be None, a data set name or path, an ImageData or a tensor pair "
                     f"(x, y); got {type(data).__name__}")


def _graph_batch(data: Any, seed: int):
    from ..training import load_graph
    if data is None or isinstance(data, str) or hasattr(data, "__fspath__"):
        data = load_graph("karate" if data is None else str(data), seed=seed)
    if hasattr(data, "data") and hasattr(data, "n_classes"):  # GraphData
        g, n_classes = data.data, int(data.n_classes)
    elif _is_graph(data):
        g, n_classes = data, int(data.y.max()) + 1
    else:
        raise ValueError(f"nbgraph proxies need a graph: None (karate), a load_graph name or "
                         f"path, a GraphData or a PyG Data; got {type(data).__name__}")
    y = g.y.clone().long()
    if getattr(g, "train_mask", None) is not None:
        y[~g.train_mask] = -1
    return g, y, n_classes, (int(g.x.shape[1]),)


# -- the scorer -------------------------------------------------------------------------------
def _derived_seed(*parts: Any) -> int:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") % (2**63 - 1)


def _fork(device: torch.device):
    devices = [device.index or 0] if device.type == "cuda" else []
    return torch.random.fork_rng(devices=devices)


def _record(timings, key: str, t0: float, dev: torch.device) -> None:
    if timings is not None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        timings.setdefault(key, []).append(time.perf_counter() - t0)


def proxy_scores(space: str | SearchSpace, archs: Sequence[Any], names: Sequence[str] = DEFAULT_PROXIES,
                 data: Any = None, *, batch_size: int = 64, seed: int = 0, device: Any = "cpu",
                 progress: bool = False, timings: dict[str, list[float]] | None = None,
                 **network_options):
    """Zero-cost proxy scores of ``archs``, each computed on its freshly built network.

    Parameters
    ----------
    space : a :class:`~naspredict.spaces.SearchSpace` or its name; it needs a network builder.
    archs : architectures of the space or their strings.
    names : proxies to compute, keys of :data:`PROXIES` (default: all of them).
    data : the data; see :func:`proxy_batch` (``None``: a seeded batch of Fashion-MNIST, 1 x 28
        x 28, for image spaces, or the digits when Fashion-MNIST is absent; karate for nbgraph).
    batch_size : images in the batch (default 64, as the zero-cost paper).
    seed : seeds the batch and every network's initialisation (see the module docstring).
    device : where the networks run (``"cpu"``, ``"cuda:0"``, a ``torch.device``).
    progress : show a tqdm progress bar over the archs.
    timings : optional dict that receives wall seconds: ``timings[name]`` gets one entry per
        arch for each proxy (its own network copy and score), ``timings["build"]`` one per
        network build.
    **network_options : for :func:`~naspredict.nets.build_network`: ``channels``, ``cells``
        (default: the space's published network, e.g. NB201 C=16, N=5), ``n_classes`` and
        ``input_shape`` (default: the data's; an ``input_shape`` must match the data).

    Returns
    -------
    ``pandas.DataFrame`` of shape ``(len(archs), len(names))``, float, indexed by the arch
    strings (``space.to_str``), one column per proxy.  A non-finite score is NaN and warned
    about (naming the arch and the proxy).

    Raises
    ------
    ValueError
        For an unknown proxy, a space without a builder, a label-needing proxy without labels,
        an ``input_shape`` that disagrees with the data, or bad ``seed`` / ``batch_size``.
    """
    import pandas as pd

    from .build import build_network
    sp = resolve_space(space)
    names = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in PROXIES]
    if unknown or not names:
        raise ValueError(f"unknown proxies {unknown or names}; expected names from {', '.join(PROXIES)}")
    for what, v, low in (("seed", seed, 0), ("batch_size", batch_size, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise ValueError(f"{what} must be an int >= {low}, got {v!r}")
    bad = set(network_options) - {"channels", "cells", "n_classes", "input_shape"}
    if bad:
        raise ValueError(f"unknown network options {sorted(bad)}; build_network takes channels, "
                         f"cells, n_classes, input_shape")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here; use 'cpu'")
    inp, y, n_classes, shape = proxy_batch(sp, data, batch_size=batch_size, seed=seed)
    if y is None and any(PROXIES[n].needs_labels for n in names):
        raise ValueError(f"proxies {[n for n in names if PROXIES[n].needs_labels]} need labels; "
                         f"give data=(x, y) with y, or drop them")
    opts = dict(network_options)
    given = opts.get("input_shape")
    if given is not None and tuple(given)[:1] != shape[:1]:
        raise ValueError(f"input_shape {tuple(given)} does not match the data's {shape}; leave it "
                         f"out to use the data's")
    opts.setdefault("input_shape", shape)
    opts.setdefault("n_classes", n_classes)
    inp = inp.to(dev)
    y = None if y is None else y.to(dev)

    strs = [sp.to_str(sp.validate(sp.from_str(a) if isinstance(a, str) else a)) for a in archs]
    out = np.full((len(strs), len(names)), np.nan)
    it = strs
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(strs, desc="zero-cost proxies", unit="arch")
    for i, s in enumerate(it):
        arch_seed = _derived_seed(seed, sp.name, s)
        with _fork(dev):
            torch.manual_seed(arch_seed)
            t0 = time.perf_counter()
            net = build_network(sp, s, **opts).to(dev)
            _record(timings, "build", t0, dev)
            for k, name in enumerate(names):
                torch.manual_seed(_derived_seed(arch_seed, name))
                t0 = time.perf_counter()
                value = PROXIES[name].fn(copy.deepcopy(net), inp, y)
                _record(timings, name, t0, dev)
                if math.isfinite(value):
                    out[i, k] = value
                else:
                    warnings.warn(f"proxy {name!r} of arch {s} is not finite ({value}); kept as NaN",
                                  RuntimeWarning, stacklevel=2)
    return pd.DataFrame(out, index=pd.Index(strs, name="arch"), columns=names)
