"""Networks built from architectures (archrep.nets) and the ViT search spaces."""
from __future__ import annotations

import ast
import json
import random

import pytest
import torch

from archrep import nets, spaces
from archrep.errors import ArchrepError, UnknownNameError
from archrep.nets.nb101 import vertex_channels
from archrep.spaces.nb201_cost import naslib_to_arch, nb201_cost
from archrep.spaces.vit import ViTArch, ViTSpace

ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
MIXED = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


# ------------------------------------------------------------------------------------ NB201
def test_nb201_params_equal_the_benchmark():
    # 1.531546 M is NB201's largest CIFAR-10 network (all 3x3 convolutions)
    assert n_params(nets.nb201_network(ALL_CONV3)) == 1_531_546
    for arch in (MIXED, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"):
        assert n_params(nets.nb201_network(arch)) / 1e6 == pytest.approx(nb201_cost(arch)["params"], abs=1e-6)
    assert n_params(nets.nb201_network(MIXED, num_classes=100)) / 1e6 == pytest.approx(
        nb201_cost(MIXED, num_classes=100)["params"], abs=1e-6)


@pytest.mark.shared_data
def test_nb201_params_equal_suite_zero_file(shared_data_dir):
    raw = json.loads((shared_data_dir / "zero_cost" / "zc_nasbench201.json").read_text())["nasbench201"]["cifar10"]
    for key, rec in list(raw.items())[:5]:
        net = nets.nb201_network(naslib_to_arch(ast.literal_eval(key)))
        assert n_params(net) / 1e6 == pytest.approx(rec["params"], abs=1e-6)


def test_nb201_forward_and_errors():
    net = nets.network("nb201", MIXED, C=4, N=1)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ArchrepError, match="unknown NB201 op"):
        nets.nb201_network("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(ArchrepError, match="C must be a positive int"):
        nets.nb201_network(MIXED, C=0)
    with pytest.raises(UnknownNameError, match="nb101.*nb201"):
        nets.network("nb999", MIXED)


# ------------------------------------------------------------------------------------ NB101
def _chain_params(c_stem=128, classes=10):
    """Hand count for the cell input -> conv3x3 -> output (one vertex, fed by a projection)."""
    total = 3 * 9 * c_stem + 2 * c_stem  # stem conv + BN
    c_in = c = c_stem
    for stack in range(3):
        if stack:
            c *= 2
        for _ in range(3):
            total += c_in * c + 2 * c + 9 * c * c + 2 * c  # projection, conv3x3 (each + BN)
            c_in = c
    return total + c * classes + classes


def test_nb101_params_by_hand():
    spec = ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
    net = nets.nb101_network(spec)
    assert n_params(net) == _chain_params()
    assert net(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_nb101_vertex_channels_official_rule():
    # input -> 1, 2; 1 -> 3; 2, 3 -> output: the 2 output feeders split 5 channels 3 + 2 (first
    # gets the remainder); vertex 1 feeds only vertex 3 and takes its channels
    m = [[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert vertex_channels(7, 5, m) == [7, 2, 3, 2, 5]
    spec = (m, ["input", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu", "output"])
    net = nets.network("nb101", spec, stem_channels=5, num_stacks=1, cells_per_stack=2)
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 10)
    with pytest.raises(ArchrepError, match="no path from the input"):
        nets.nb101_network(([[0, 0], [0, 0]], ["input", "output"]))


@pytest.mark.shared_data
def test_nb101_params_equal_suite_zero_file(shared_data_dir):
    # NASLib op codes: 0 input, 1 output, 2 maxpool3x3, 3 conv1x1, 4 conv3x3 (fitted on the params)
    codes = {0: "input", 1: "output", 2: "maxpool3x3", 3: "conv1x1-bn-relu", 4: "conv3x3-bn-relu"}
    raw = json.loads((shared_data_dir / "zero_cost" / "zc_nasbench101.json").read_text())["nasbench101"]["cifar10"]
    for key, rec in list(raw.items())[:6]:
        t = ast.literal_eval(key)
        spec = ([list(t[7 * i:7 * i + 7]) for i in range(7)], [codes[c] for c in t[49:]])
        assert n_params(nets.nb101_network(spec)) / 1e6 == pytest.approx(rec["params"], abs=1e-6)


# ------------------------------------------------------------------------------------ ViT
@pytest.mark.parametrize("name", ["vit-tiny", "vit-tiny-msa", "vit"])
def test_vit_params_formula_is_exact(name):
    space = spaces.get(name)
    rng = random.Random(3)
    for _ in range(2 if name == "vit" else 4):
        arch = space.sample(rng)
        assert space.params(arch) == n_params(nets.network(name, arch))


def test_vit_forward_graph_and_key():
    space = spaces.get("vit-tiny")
    arch = space.parse("e64|h2,4,3,2|r4,2,3,2")
    assert arch == ViTArch(64, (2, 4, 3, 2), (4.0, 2.0, 3.0, 2.0)) and arch.depth == 4
    assert space.key(arch) == "e64|h2,4,3,2|r4,2,3,2"
    assert nets.vit_network(arch)(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    g = space.to_graph(arch)
    assert g.ops == ["input", "patch_embed_e64", "msa_h2", "ffn_r4", "msa_h4", "ffn_r2", "msa_h3", "ffn_r3",
                     "msa_h2", "ffn_r2", "output"]
    assert set(g.ops) <= set(space.op_vocab) and g.attrs["params"] == space.params(arch)
    assert space.check({"embed_dim": 64, "num_heads": [2, 4, 3, 2], "mlp_ratios": [4, 2, 3, 2]}) == arch


def test_vit_sample_mutate_validity():
    space = spaces.get("vit-tiny")
    rng = random.Random(0)
    for _ in range(30):
        arch = space.sample(rng)
        child = space.mutate(arch, rng)
        assert space.is_valid(arch) and space.is_valid(child) and child != arch
    assert not space.is_valid(ViTArch(100, (2,) * 4, (2.0,) * 4))      # embed not in the space
    assert not space.is_valid(ViTArch(64, (2,) * 4, (2.0,) * 3))       # ratios for 3 of 4 layers
    assert not space.is_valid(ViTArch(64, (2,) * 7, (2.0,) * 7))       # too deep
    assert not space.is_valid("e64")
    for bad in ("e64|h2,2", "x64|h2,2,2,2|r2,2,2,2", "e64|ha,b|r2,2"):
        with pytest.raises(ArchrepError, match="malformed ViT key"):
            space.parse(bad)
    with pytest.raises(ArchrepError, match="heads 5 not in"):
        space.parse("e64|h5,2,2,2|r2,2,2,2")


def test_vit_msa_only_space_varies_only_heads():
    space = spaces.get("vit-tiny-msa")
    archs = list(space.enumerate())
    assert len(archs) == len(space) == 3 ** 6
    assert {(a.embed_dim, a.mlp_ratios) for a in archs} == {(128, (3.0,) * 6)}
    rng = random.Random(1)
    a = space.sample(rng)
    b = space.mutate(a, rng)
    assert sum(x != y for x, y in zip(a.num_heads, b.num_heads)) == 1
    with pytest.raises(ArchrepError, match="unknown ViT space variant"):
        ViTSpace("vit-huge")
    with pytest.raises(ArchrepError, match="needs a ViT space"):
        nets.vit_network("e64|h2,2,2,2|r2,2,2,2", space="nb201")
