"""The latency commands: archrep profile, predict-latency and latency-dataset, on tiny ONNX models."""
import json

import numpy as np
import pytest
import torch

from archrep import models
from archrep.cli import main, zoo_jobs
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError
from archrep.models.latency import MEMORY_COLUMN


class Net(torch.nn.Module):
    def __init__(self, width: int, depth: int):
        super().__init__()
        layers, c = [], 3
        for _ in range(depth):
            layers += [torch.nn.Conv2d(c, width, 3, padding=1), torch.nn.ReLU()]
            c = width
        self.body = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x).mean(dim=(2, 3))


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory):
    """Six tiny ONNX models of growing size, as files, and their graphs."""
    pytest.importorskip("onnxruntime")
    from archrep.io import export_onnx, from_onnx

    folder = tmp_path_factory.mktemp("onnx")
    paths, graphs = [], []
    for i, (width, depth) in enumerate([(4, 1), (8, 1), (8, 2), (16, 2), (16, 3), (32, 3)]):
        path = folder / f"net{i}.onnx"
        path.write_bytes(export_onnx(Net(width, depth).eval(), torch.zeros(1, 3, 16, 16)))
        paths.append(path)
        graphs.append(from_onnx(path))
    return paths, graphs


def test_profile_prints_median_and_spread_and_stores(onnx_files, tmp_path, capsys):
    path = onnx_files[0][0]
    assert main(["profile", str(path), "--repeats", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["median_ms"] > 0 and out["iqr_ms"] >= 0 and out["platform"].startswith("ort")
    store = tmp_path / "lat.sqlite"
    assert main(["profile", str(path), "--repeats", "3", "--store", str(store), "--family", "tiny"]) == 0
    captured = capsys.readouterr()
    assert "median_ms" in captured.out and "spread" in captured.out and "stored in" in captured.err
    assert main(["latency-dataset", "info", "--store", str(store)]) == 0
    assert "1 graphs, 1 platforms, 1 measurements" in capsys.readouterr().out


def test_profile_bad_input_is_one_line_error(tmp_path, capsys):
    assert main(["profile", str(tmp_path / "missing.onnx")]) == 2
    assert "missing.onnx" in capsys.readouterr().err
    assert main(["profile", str(tmp_path / "missing.onnx"), "--threads", "0"]) == 2
    assert "--threads 0" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["flops-macs-linear", "kernel-additive"])
def test_predict_latency_matches_the_predictor(onnx_files, tmp_path, capsys, name):
    paths, graphs = onnx_files
    flops = np.array([g.attrs["flops"] / 1e6 for g in graphs])
    memory = np.array([g.attrs["mem_bytes"] / 1e6 for g in graphs])
    ds = ArchDataset.from_graphs("tiny", [p.name for p in paths], graphs,
                                 {"latency": 0.5 + 2 * flops + memory, "flops": flops, MEMORY_COLUMN: memory})
    model = models.create(name, **({"position": False} if name == "kernel-additive" else {})).fit(ds, "latency")
    ckpt = model.save(tmp_path / name)
    assert main(["predict-latency", str(paths[3]), "--checkpoint", str(ckpt), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["prediction"] == pytest.approx(model.predict(ds.subset([3]))[0], rel=1e-9)
    assert main(["predict-latency", str(paths[3]), "--checkpoint", str(ckpt), "--platform", "Nv GPU"]) == 2
    assert "several platforms" in capsys.readouterr().err


@pytest.mark.parametrize("name, hp", [("kernel-gbdt", {"kernel_costs": True, "log_target": True, "trees": 20,
                                                       "min_leaf": 1}),
                                      ("gin", {"epochs": 2, "loss": "mse", "log_target": True, "hidden": 8})])
def test_predict_latency_gives_real_model_predictors_their_node_features(onnx_files, tmp_path, capsys, name, hp):
    """Predictors trained on real models read per-node features (and the batch column): predict-latency
    builds them for the ONNX file as the zoo-latency dataset does."""
    paths, graphs = onnx_files
    flops = np.array([g.attrs["flops"] / 1e6 for g in graphs])
    costs = {"flops": flops, MEMORY_COLUMN: np.array([g.attrs["mem_bytes"] / 1e6 for g in graphs]),
             "params": np.array([g.attrs["params"] / 1e6 for g in graphs]), "batch": np.ones(len(graphs))}
    ds = ArchDataset.from_graphs("tiny", [p.name for p in paths], graphs, {"latency": 0.1 + flops, **costs},
                                 node_features=True)
    model = models.create(name, seed=0, progress=False, **hp).fit(ds, "latency")
    ckpt = model.save(tmp_path / name)
    assert main(["predict-latency", str(paths[3]), "--checkpoint", str(ckpt), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["prediction"] == pytest.approx(model.predict(ds.subset([3]))[0], rel=1e-6) and out["batch"] == 1


def test_zoo_jobs_extend_keeps_earlier_jobs():
    two, three = zoo_jobs(2, ["nb201", "resnet"], 0), zoo_jobs(3, ["nb201", "resnet"], 0)
    assert [j for j in three if j in two] == two and len(three) == 6
    assert three[:4] == two and [name for name, _ in three] == ["nb201", "resnet"] * 3  # round-robin
    assert zoo_jobs(2, ["nb201"], 1) != zoo_jobs(2, ["nb201"], 0)


def test_latency_dataset_build_extend_info(tmp_path, capsys, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("sqlalchemy")
    import archrep.cli as cli

    small = {"arch": "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|",
             "cells": 1, "resolution": 16, "batch": 1}
    monkeypatch.setattr(cli, "zoo_jobs", lambda n, fams, seed: [("nb201", {**small, "channels": 8 * (i + 1)})
                                                                for i in range(n)])
    store = tmp_path / "zoo.sqlite"
    args = ["--store", str(store), "--families", "nb201", "--repeats", "3", "--no-progress"]
    assert main(["latency-dataset", "extend", *args]) == 2  # nothing to extend yet
    assert "latency-dataset build" in capsys.readouterr().err
    assert main(["latency-dataset", "build", "--per-family", "2", *args]) == 0
    assert "measured 2, already there 0" in capsys.readouterr().out
    assert main(["latency-dataset", "extend", "--per-family", "3", *args]) == 0
    out = capsys.readouterr().out
    assert "measured 1, already there 2" in out and "3 measurements" in out and "nb201 3" in out
    assert main(["latency-dataset", "extend", "--per-family", "3", "--passes", "2", *args]) == 0
    out = capsys.readouterr().out  # a second pass of each model: 3 models, 6 measurements
    assert "measured 3, already there 3" in out and "6 measurements" in out and "2.00" in out and "nb201 3" in out
    assert main(["latency-dataset", "build", "--platforms", "onnxruntime:fp32", *args]) == 2
    assert "RUNTIME:PRECISION:THREADS" in capsys.readouterr().err
    assert main(["latency-dataset", "extend", "--passes", "0", *args]) == 2
    assert "--passes 0" in capsys.readouterr().err


def test_platform_specs_take_an_optional_device():
    from archrep.cli import platform_specs

    cpu, gpu = platform_specs("onnxruntime:fp32:1,torch:fp16:1:cuda")
    assert (cpu.device, gpu.device, gpu.precision) == ("cpu", "cuda", "fp16") and cpu.id != gpu.id
    assert platform_specs("torch:fp32:2:cpu")[0].device == "cpu"
    with pytest.raises(ArchrepError, match="use one of cpu, cuda"):
        platform_specs("torch:fp32:1:tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error of a machine without a GPU")
def test_cuda_platform_without_a_gpu_is_one_line_error(onnx_files, tmp_path, capsys):
    assert main(["profile", str(onnx_files[0][0]), "--device", "cuda"]) == 2
    assert "no CUDA device is visible here" in capsys.readouterr().err
    args = ["--store", str(tmp_path / "zoo.sqlite"), "--families", "nb201", "--per-family", "1", "--no-progress"]
    assert main(["latency-dataset", "build", "--platforms", "torch:fp16:1:cuda", *args]) == 2
    assert "no CUDA device is visible here" in capsys.readouterr().err
    assert not (tmp_path / "zoo.sqlite").exists()  # no empty store left behind
