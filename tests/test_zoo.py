"""archrep.zoo: the ten model families build, run, export and convert; configs are seeded and JSON."""
from __future__ import annotations

import json
import random

import pytest

torch = pytest.importorskip("torch")

from archrep.errors import ArchrepError, UnknownNameError  # noqa: E402
from archrep.zoo import families  # noqa: E402

NAMES = ["alexnet", "efficientnet", "googlenet", "mnasnet", "mobilenetv2", "mobilenetv3", "nb201",
         "resnet", "squeezenet", "vgg"]
#: small versions of each family, so that a test builds, runs and exports them in well under a second
TINY = {
    "alexnet": {"width": 0.5, "hidden": 64, "resolution": 64},
    "vgg": {"depths": [1, 1, 1, 1, 1], "width": 0.25, "hidden": 32, "resolution": 32},
    "resnet": {"block": "bottleneck", "depths": [1, 1, 1, 1], "base": 16, "resolution": 32},
    "squeezenet": {"width": 0.5, "resolution": 64},
    "googlenet": {"blocks": [1, 1, 1], "width": 0.5, "resolution": 64},
    "mobilenetv2": {"width": 0.35, "depths": [1] * 7, "resolution": 32},
    "mobilenetv3": {"variant": "small", "width": 0.35, "depths": [1] * 5, "kernels": [3] * 5, "resolution": 32},
    "mnasnet": {"width": 0.5, "depths": [1] * 6, "se": True, "resolution": 32},
    "efficientnet": {"width_mult": 0.5, "depth_mult": 0.5, "resolution": 32},
    "nb201": {"arch": "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|",
              "cells": 1, "resolution": 16},
}


def test_registry():
    assert families.list() == NAMES
    with pytest.raises(UnknownNameError, match="resnet"):
        families.get("resnett")


@pytest.mark.parametrize("name", NAMES)
def test_sampled_configs_are_seeded_json_and_varied(name):
    fam = families.get(name)
    configs = [fam.sample_config(random.Random(seed)) for seed in range(20)]
    assert configs == [fam.sample_config(seed) for seed in range(20)]
    assert all(json.loads(json.dumps(c)) == c and set(c) == set(fam.defaults) for c in configs)
    assert len({json.dumps(c, sort_keys=True) for c in configs}) >= 15
    assert len({c["resolution"] for c in configs}) > 1 and len({c["batch"] for c in configs}) > 1


@pytest.mark.parametrize("name", NAMES)
def test_family_builds_runs_exports_and_converts(name):
    io = pytest.importorskip("archrep.io")
    pytest.importorskip("onnx")
    fam = families.get(name)
    config = {**TINY[name], "num_classes": 10, "batch": 2}
    model = fam.build(config)
    x = fam.example_input(config)
    with torch.no_grad():
        assert model(x).shape == (2, 10)
    g = io.from_torch(model, x)
    assert g.attrs["input_shape"] == [2, 3, config["resolution"], config["resolution"]]
    assert g.node_attrs[-1]["output_shape"] == [2, 10]
    assert g.attrs["params"] >= sum(p.numel() for p in model.parameters())  # + BN statistics
    assert g.attrs["flops"] > 0 and all(a["flops"] >= 0 for a in g.node_attrs[1:-1])


def test_same_config_same_model_and_hash():
    io = pytest.importorskip("archrep.io")
    pytest.importorskip("onnx")
    fam = families.get("mobilenetv2")
    config = {**TINY["mobilenetv2"], "num_classes": 10}
    a, b = fam.build(config), fam.build(config)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    x = fam.example_input(config)
    assert io.from_torch(a, x).hash() == io.from_torch(b, x).hash()
    other = {**config, "kernels": [3, 5, 3, 3, 3, 3, 3]}
    assert io.from_torch(fam.build(other), fam.example_input(other)).hash() != io.from_torch(a, x).hash()


def test_bad_configs_name_the_fix():
    fam = families.get("resnet")
    with pytest.raises(ArchrepError, match="valid keys"):
        fam.build({"depth": [1, 1, 1, 1]})
    with pytest.raises(ArchrepError, match="'base' .* must be of type int"):
        fam.config({"base": "wide"})
    with pytest.raises(ArchrepError, match="4 values"):
        fam.build({"depths": [1, 1]})
    with pytest.raises(ArchrepError, match="NB201"):
        families.get("nb201").build({"arch": "|conv~0|"})
