"""naspredict.nets.profile: params, FLOPs / MACs, latency; the model comes back unchanged."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from naspredict.nets import build_network, count_params, profile


def test_linear_flops_are_two_per_multiply_add():
    lin = nn.Linear(8, 4)
    p = profile(lin, (8,), batch_sizes=(1, 5), repeats=2, warmup=1)
    assert p.params == 8 * 4 + 4
    assert p.flops == 2 * 8 * 4 and p.macs == 8 * 4
    assert p.flops_by_batch == {1: 2 * 8 * 4, 5: 2 * 8 * 4 * 5}
    assert set(p.latency_ms) == {1, 5} and all(v > 0 for v in p.latency_ms.values())
    assert p.device == "cpu" and p.repeats == 2 and p.warmup == 1


def test_conv_flops_and_example_tensor():
    conv = nn.Conv2d(3, 6, 3, padding=1, bias=False)
    x = torch.randn(7, 3, 5, 5)
    p = profile(conv, x, batch_sizes=(2,), repeats=1, warmup=0)
    assert p.flops == 2 * (6 * 5 * 5) * (3 * 3 * 3)
    assert p.flops_by_batch == {2: 2 * p.flops}


def test_profile_restores_modes_and_leaves_rng_alone():
    net = build_network("nb201", "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|"
                                 "+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|",
                        channels=4, cells=1)
    net.train()
    net.cells[0].eval()  # a mixed-mode model comes back as it was
    before = [m.training for m in net.modules()]
    state = torch.random.get_rng_state()
    seen = []
    hook = net.register_forward_pre_hook(lambda m, a: seen.append(m.training))
    p = profile(net, (3, 32, 32), batch_sizes=(1, 4), repeats=2, warmup=1)
    hook.remove()
    assert seen and not any(seen), "the model must run in eval mode"
    assert [m.training for m in net.modules()] == before
    assert torch.equal(torch.random.get_rng_state(), state)
    assert p.params == count_params(net)
    assert p.flops > 0 and p.macs * 2 == p.flops
    assert all(v > 0 for v in p.latency_ms.values())


def test_profile_graph_model():
    from torch_geometric.datasets import KarateClub
    data = KarateClub()[0]
    net = build_network("nbgraph", "link=0,0,1,2;ops=gcn,fc,gcn,sage", channels=8,
                        n_classes=4, input_shape=(data.num_features,))
    p = profile(net, data, batch_sizes=(1, 3), repeats=2, warmup=1)
    assert p.params == count_params(net)
    # 3 graphs in one batch: 3x the nodes, so 3x the (linear-layer) FLOPs
    assert p.flops > 0 and p.flops_by_batch[3] == 3 * p.flops
    assert all(v > 0 for v in p.latency_ms.values())


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_sizes=(0,)), "batch_sizes"),
    (dict(batch_sizes=(1, True)), "batch_sizes"),
    (dict(repeats=0), "repeats"),
    (dict(warmup=-1), "warmup"),
    (dict(device="gpu7"), "device"),
])
def test_profile_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        profile(nn.Linear(2, 2), (2,), **kwargs)


def test_profile_bad_example_and_model():
    with pytest.raises(ValueError, match="input shape"):
        profile(nn.Linear(2, 2), "2")
    with pytest.raises(ValueError, match="input shape"):
        profile(nn.Linear(2, 2), (0,))
    with pytest.raises(ValueError, match="nn.Module"):
        profile(lambda x: x, (2,))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_profile_on_cuda_returns_model_to_its_device():
    net = build_network("nb201", "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                                 "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|", channels=4, cells=1)
    p = profile(net, (3, 32, 32), device="cuda", repeats=3, warmup=1)
    assert p.device.startswith("cuda") and all(v > 0 for v in p.latency_ms.values())
    assert next(net.parameters()).device.type == "cpu"


def test_profile_without_timing_counts_params_and_flops_only():
    p = profile(torch.nn.Linear(8, 4), (8,), batch_sizes=())
    assert (p.params, p.flops, p.latency_ms) == (36, 64, {})
