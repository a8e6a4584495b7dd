"""The weight-sharing supernet: mixed and single-path forwards, arch weights, derivation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from naspredict.oneshot.supernet import MixedOp, Supernet
from naspredict.spaces import get_space

SHAPE = (1, 8, 8)
TINY = {"nb201": dict(channels=4, cells=1), "darts": dict(channels=4, cells=3)}


def _net(space, **kw):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return Supernet(space, input_shape=SHAPE, **{**TINY[space], **kw})


def _x(n=6):
    return torch.randn(n, *SHAPE, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("space", ["nb201", "darts"])
def test_shapes_and_attributes(space):
    net = _net(space)
    assert net(_x(), weights={k: torch.full(net.weight_shape(k), 0.1) for k in net.kinds}).shape == (6, 10)
    if space == "nb201":
        assert net.kinds == ("cell",) and len(net.edges["cell"]) == 6 and len(net.op_names) == 5
    else:
        assert net.kinds == ("normal", "reduce") and net.op_names[0] == "none"
        assert all(len(net.edges[k]) == 14 for k in net.kinds) and len(net.op_names) == 8
        assert net.edges["normal"][:3] == [(0, 2), (1, 2), (0, 3)]


@pytest.mark.parametrize("space", ["nb201", "darts"])
def test_mixed_gradients_reach_every_alpha(space):
    net = _net(space)
    g = torch.Generator().manual_seed(2)
    alphas = {k: (1e-3 * torch.randn(net.weight_shape(k), generator=g)).requires_grad_()
              for k in net.kinds}
    logits = net(_x(), weights={k: a.softmax(-1) for k, a in alphas.items()})
    torch.nn.functional.cross_entropy(logits, torch.arange(6) % 10).backward()
    for k, a in alphas.items():
        assert a.grad is not None and bool((a.grad != 0).all()), (k, a.grad)


@pytest.mark.parametrize("space", ["nb201", "darts"])
def test_single_path_equals_one_hot_weights(space):
    net = _net(space).eval()
    sp = get_space(space)
    rng = np.random.default_rng(0)
    x = _x()
    for _ in range(4):
        arch = sp.sample(rng)
        a = net(x, arch=arch)
        b = net(x, weights=net.arch_weights(arch))
        assert torch.equal(a, b)
        assert torch.equal(a, net(x, arch=sp.to_str(arch)))  # the string form works too
    # and a different arch gives a different output (the path really changes)
    c = net(x, arch=sp.sample(rng))
    assert not torch.equal(a, c)


def test_straight_through_one_hot_runs_one_op_and_reaches_all_alphas():
    net = _net("nb201")
    calls = []
    for _, m in net.mixed_ops():
        for o, op in enumerate(m.ops):
            op.register_forward_hook(lambda mod, i, out, o=o: calls.append(o))
    alpha = torch.zeros(net.weight_shape("cell"), requires_grad=True)
    soft = alpha.softmax(-1)
    index = torch.tensor([2, 3, 0, 4, 2, 3])  # no `none`: a dead path would get no gradient
    hard = torch.nn.functional.one_hot(index, 5).float()
    w = hard - soft.detach() + soft  # value one-hot, gradient of the softmax
    net(_x(), weights={"cell": w}).sum().backward()
    assert sorted(set(calls)) == sorted(set(index.tolist())) and len(calls) == 3 * 6
    assert bool((alpha.grad != 0).all())


def test_mixed_op_is_the_weighted_sum():
    m = MixedOp(("skip_connect", "nor_conv_3x3", "avg_pool_3x3"), 3, 3, 1).eval()
    x = torch.randn(2, 3, 5, 5, generator=torch.Generator().manual_seed(0))
    w = torch.tensor([[0.2, 0.5, 0.3]])
    want = sum(w[0, o] * m.ops[o](x) for o in range(3))
    assert torch.allclose(m(x, w, [None]), want, atol=1e-6)
    assert torch.equal(m(x, None, [1]), m.ops[1](x))
    assert torch.equal(m(x, None, [-1]), torch.zeros_like(x))


def test_derive_nb201_argmax_and_round_trip():
    net = _net("nb201")
    sp = net.space
    arch = sp.sample(np.random.default_rng(3))
    assert net.derive(net.arch_weights(arch)) == arch
    w = torch.zeros(6, 5)
    w[:, 1] = 1.0  # 'none' everywhere is derivable in nb201
    derived = net.derive({"cell": w})
    assert derived.ops == ("none",) * 6 and sp.from_str(sp.to_str(derived)) == derived


def test_derive_darts_top2_without_none():
    net = _net("darts")
    sp = net.space
    arch = sp.sample(np.random.default_rng(4))
    derived = net.derive(net.arch_weights(arch))
    for cell_a, cell_d in ((arch.normal, derived.normal), (arch.reduce, derived.reduce)):
        for k in range(4):  # the same pairs per node, strongest first (here ties: lower input)
            assert set(cell_a[2 * k:2 * k + 2]) == set(cell_d[2 * k:2 * k + 2])
    assert sp.from_str(sp.to_str(derived)) == derived
    # 'none' dominates every edge: it is never derived; the strongest non-none op is
    g = torch.Generator().manual_seed(5)
    w = {k: torch.rand(net.weight_shape(k), generator=g) * 0.1 for k in net.kinds}
    for k in net.kinds:
        w[k][:, 0] = 10.0
    w["normal"][net.edges["normal"].index((1, 2)), 4] = 5.0  # sep_conv_3x3 on 1 -> 2
    w["normal"][net.edges["normal"].index((0, 2)), 3] = 1.0  # skip_connect on 0 -> 2 (weaker)
    d = net.derive(w)
    assert d.normal[:2] == ((1, "sep_conv_3x3"), (0, "skip_connect"))
    assert all(op != "none" for cell in (d.normal, d.reduce) for _, op in cell)


def test_darts_paper_size():
    # DARTS's search network at C=16, 8 cells (non-affine mixed-op BN): DARTS's train_search
    # log prints "param size = 1.930618MB" (recalled from its logs, counted without any head)
    net = Supernet("darts", channels=16, cells=8)
    assert sum(p.numel() for p in net.parameters()) == 1_930_618


def test_errors():
    with pytest.raises(ValueError, match="no supernet"):
        Supernet("nb101")
    net = _net("nb201")
    with pytest.raises(ValueError, match="exactly one"):
        net(_x())
    with pytest.raises(ValueError, match="shape"):
        net(_x(), weights={"cell": torch.zeros(5, 5)})
    with pytest.raises(ValueError, match="cell kind"):
        net(_x(), weights={"normal": torch.zeros(6, 5)})
    with pytest.raises(ValueError, match="channels"):
        Supernet("nb201", channels=0)
