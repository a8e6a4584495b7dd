"""naspredict.nets: networks built from architectures (exact parameter counts, shapes, errors)."""
from __future__ import annotations

import ast
import json

import pytest
import torch

from naspredict.nets import build_network, count_params, make_op
from naspredict.spaces import get_space

from .conftest import shared_or_skip

ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
# NAS-Bench-201's best CIFAR-10 cell in its own table (94.37 % test accuracy, Dong & Yang 2020)
NB201_BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
DEAD = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|none~1|none~2|"


def _naslib_rows(name: str, dataset: str = "cifar10", n: int | None = None):
    data = json.loads(shared_or_skip("naslib_zc", f"zc_{name}.json").read_text())
    rows = data.get(dataset) or data["nasbench101"][dataset]
    items = list(rows.items())
    return items if n is None else items[:: max(1, len(items) // n)][:n]


# ---- nb201 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, expected", [(ALL_CONV, 1_531_546), (NB201_BEST, 1_288_506)])
def test_nb201_published_param_counts(cell, expected):
    assert count_params(build_network("nb201", cell)) == expected


def test_nb201_params_match_naslib_table():
    space = get_space("nb201")
    rows = _naslib_rows("nasbench201", n=6)
    for key, row in rows:
        net = build_network(space, space.from_naslib(ast.literal_eval(key)))
        assert round(count_params(net) / 1e6, 6) == pytest.approx(row["params"]["score"], abs=1e-9), key


def test_nb201_forward_shape_and_string_or_arch():
    space = get_space("nb201")
    arch = space.from_str(NB201_BEST)
    net = build_network(space, arch, channels=4, cells=1, n_classes=7, input_shape=(1, 16, 16))
    assert net(torch.randn(2, 1, 16, 16)).shape == (2, 7)
    # the canonical string and the arch object build the same network
    with torch.random.fork_rng():
        torch.manual_seed(0)
        a = build_network("nb201", NB201_BEST, channels=4, cells=1)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        b = build_network(space, arch, channels=4, cells=1)
    x = torch.randn(3, 3, 32, 32)
    a.eval(), b.eval()
    assert torch.equal(a(x), b(x))


def test_nb201_unreachable_output_gives_constant_logits():
    space = get_space("nb201")
    assert not space.has_live_path(space.from_str(DEAD))
    net = build_network("nb201", DEAD, channels=4, cells=1)
    for mode in (True, False):
        net.train(mode)
        out = net(torch.randn(4, 3, 32, 32) * 5)
        assert torch.isfinite(out).all()
        assert torch.allclose(out, out[:1].expand_as(out)), "dead cell must give constant logits"
    # a live cell does depend on its input (the test above could not pass by accident)
    live = build_network("nb201", NB201_BEST, channels=4, cells=1).eval()
    out = live(torch.randn(4, 3, 32, 32))
    assert not torch.allclose(out, out[:1].expand_as(out))


# ---- validation ----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(channels=0), "channels must be a positive int"),
    (dict(channels=2.5), "channels must be a positive int"),
    (dict(cells=-1), "cells must be a positive int"),
    (dict(n_classes=0), "n_classes"),
    (dict(input_shape=(32, 32)), r"\(C, H, W\)"),
    (dict(input_shape=(3, 32, 32, 1)), r"\(C, H, W\)"),
    (dict(input_shape=(3, 2, 2)), "at least 4"),
    (dict(input_shape=5), "must be a tuple"),
])
def test_bad_settings_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_network("nb201", ALL_CONV, **kwargs)


def test_bad_space_and_arch_raise():
    with pytest.raises(ValueError, match="unknown search space"):
        build_network("nb999", ALL_CONV)
    with pytest.raises(ValueError, match="NB201 string"):
        build_network("nb201", "not an arch")
    with pytest.raises(ValueError, match="expected an NB201Arch"):
        build_network("nb201", ("nor_conv_3x3",) * 6)


def test_op_registry_errors_and_shapes():
    with pytest.raises(ValueError, match="unknown op"):
        make_op("conv_9x9", 4, 4)
    with pytest.raises(ValueError, match="stride must be a positive int"):
        make_op("nor_conv_3x3", 4, 4, 0)
    x = torch.randn(2, 4, 8, 8)
    for name in ("none", "skip_connect", "avg_pool_3x3", "max_pool_3x3", "nor_conv_3x3",
                 "sep_conv_5x5", "dil_conv_3x3"):
        assert make_op(name, 4, 6, 2)(x).shape == (2, 6, 4, 4), name


# ---- nb101 ---------------------------------------------------------------------------------

def test_nb101_params_match_naslib_table():
    space = get_space("nb101")
    rows = _naslib_rows("nasbench101", n=5)
    for key, row in rows:
        # the space's NASLib decoder (op ids 2=maxpool3x3, 3=conv1x1, 4=conv3x3): a wrong id
        # order fails here, since the counts match only with the right one
        net = build_network(space, space.from_naslib(ast.literal_eval(key)))
        assert round(count_params(net) / 1e6, 6) == pytest.approx(row["params"], abs=1e-9), key


def test_nb101_readme_cell_params_and_pruning():
    space = get_space("nb101")
    m = [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
         [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]]
    ops = ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu",
           "maxpool3x3", "output"]
    assert count_params(build_network(space, space.from_spec(m, ops))) == 2_694_282
    # a dangling vertex (no path to the output) is pruned: same network as without it
    dangling = [row[:] for row in m]
    dangling[1][6], dangling[1][4] = 0, 0
    dangling[0][1] = 1
    with_dangling = space.from_spec(dangling, ops)
    assert space.pruned(with_dangling).n_nodes == 6
    assert (count_params(build_network(space, with_dangling, channels=8, cells=1))
            == count_params(build_network(space, space.pruned(with_dangling), channels=8, cells=1)))


def test_nb101_vertex_channels():
    from naspredict.nets.nb101 import compute_vertex_channels
    # input -> 1 -> out, input -> 2 -> out, 1 -> 2: 2 vertices feed the output, 11 = 6 + 5
    m = [[0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert compute_vertex_channels(4, 11, m) == [4, 6, 5, 11]


def test_nb101_forward_small():
    space = get_space("nb101")
    arch = space.from_str("0110.0011.0001.0000:input,conv3x3-bn-relu,maxpool3x3,output")
    net = build_network(space, arch, channels=8, cells=1, n_classes=5, input_shape=(3, 8, 8))
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 5)
    direct = space.from_str("01.00:input,output")  # input straight to output: one projection
    assert build_network(space, direct, channels=8, cells=1)(torch.randn(1, 3, 8, 8)).shape == (1, 10)


# ---- darts ---------------------------------------------------------------------------------

DARTS_V2 = dict(
    normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
    reduce_concat=[2, 3, 4, 5])


def test_darts_v2_published_param_count():
    from naspredict.nets.darts import DartsNetwork
    arch = get_space("darts").from_genotype(DARTS_V2)
    net = DartsNetwork(arch, 36, 20, auxiliary=True)
    # DARTS's log: "param size = 3.349342MB" (auxiliary head excluded)
    assert sum(p.numel() for n, p in net.named_parameters() if "auxiliary" not in n) == 3_349_342


def test_darts_params_match_naslib_table_with_nonaffine_ops():
    from naspredict.nets.darts import DartsNetwork
    space = get_space("darts")
    for key, row in _naslib_rows("nasbench301", n=4):
        arch = space.from_naslib(ast.literal_eval(key))
        expected = round(row["params"]["score"] * 1e6)
        assert count_params(DartsNetwork(arch, 32, 8, op_affine=False)) == expected, key
        assert count_params(build_network(space, arch)) > expected  # default: affine op BNs


def test_darts_forward_small_with_options():
    from naspredict.nets.darts import DartsNetwork
    space = get_space("darts")
    arch = space.from_genotype(DARTS_V2)
    net = build_network(space, space.to_str(arch), channels=4, cells=3, n_classes=6,
                        input_shape=(3, 16, 16))
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 6)
    aux = DartsNetwork(arch, 4, 3, n_classes=6, auxiliary=True, drop_path_prob=0.3)
    logits, aux_logits = aux(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux_logits.shape == (2, 6)
    x = torch.randn(4, 3, 32, 32)
    assert not torch.equal(aux(x)[0], aux(x)[0])  # drop path is random in training
    aux.drop_path_prob = 0.0
    assert torch.equal(aux(x)[0], aux(x)[0])
    aux.eval()
    assert aux(x).shape == (4, 6)
    with pytest.raises(ValueError, match="drop_path_prob"):
        aux.drop_path_prob = 1.5
    # odd widths work too (FactorizedReduce splits C_out into C_out // 2 and the rest)
    assert build_network(space, arch, channels=5, cells=3)(torch.randn(1, 3, 16, 16)).shape == (1, 10)


# ---- nbgraph -------------------------------------------------------------------------------

def _bench(dataset: str):
    import pickle
    from naspredict.spaces.nbgraph import bench_path
    try:
        path = bench_path(dataset)
    except FileNotFoundError as err:
        pytest.skip(str(err))
    with open(path, "rb") as f:
        return pickle.load(f)


@pytest.mark.parametrize("dataset, n", [("cora", 6), ("computers", 3), ("proteins", 3)])
def test_nbgraph_params_match_bench_para(dataset, n):
    from naspredict.nets.nbgraph import NBGraphNetwork
    bench = _bench(dataset)
    space = get_space("nbgraph", ops_set="proteins" if dataset == "proteins" else "full")
    keys = list(bench)[:: len(bench) // n][:n]
    for key in keys:
        arch = space.from_key(key)
        net = NBGraphNetwork.for_dataset(arch, dataset, space=space)
        assert count_params(net) == round(float(bench[key]["para"]) * 1e6), (dataset, str(arch))
    if dataset == "cora":  # build_network's default shape is Cora's
        arch = space.from_key(keys[1])
        net = build_network(space, arch, n_classes=7, input_shape=(1433,))
        assert count_params(net) == round(float(bench[keys[1]]["para"]) * 1e6)


def test_nbgraph_forward_on_karate_club():
    from torch_geometric.datasets import KarateClub  # ships inside PyG, no download
    data = KarateClub()[0]
    space = get_space("nbgraph")
    archs = list(space.enumerate())[:: 26_206 // 6]
    ops_seen = set()
    for arch in archs + [space.from_str("link=0,1,2,3;ops=cheb,arma,graph,gin")]:
        ops_seen |= set(arch.ops)
        net = build_network(space, arch, channels=8, n_classes=4, input_shape=(data.num_features,))
        out = net(data)
        assert out.shape == (data.num_nodes, 4) and torch.isfinite(out).all(), str(arch)
        net.eval()
        assert torch.equal(net(data), net(data))  # no dropout in eval mode
    assert ops_seen >= {"gat", "gcn", "gin", "cheb", "arma", "graph", "skip"}


def test_nbgraph_bad_inputs():
    arch = get_space("nbgraph").from_str("link=0,0,0,0;ops=gat,gat,gat,gat")
    with pytest.raises(ValueError, match=r"n_features"):
        build_network("nbgraph", arch)
    with pytest.raises(ValueError, match=r"graph space"):
        build_network("nbgraph", arch, input_shape=(3, 32, 32))
    with pytest.raises(ValueError, match="divisible by 4"):
        build_network("nbgraph", arch, channels=10, input_shape=(5,))
    with pytest.raises(ValueError, match="not a NAS-Bench-Graph benchmark cell"):
        build_network("nbgraph", "link=0,0,0,0;ops=skip,gcn,gcn,gcn", input_shape=(5,))
