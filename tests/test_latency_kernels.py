"""Per-kernel latency from onnxruntime's profiler: the trace reader on a hand-made trace, a real
profile of a tiny model, and the ``archrep profile --kernels`` command."""
import json

import pytest
import torch

from archrep.cli import main
from archrep.errors import ArchrepError
from archrep.latency import detect
from archrep.latency.kernels import _read_trace, profile_kernels


def _node(name, op, us):
    return {"cat": "Node", "name": f"{name}_kernel_time", "dur": us, "args": {"op_name": op}}


def _run(us):
    return {"cat": "Session", "name": "model_run", "dur": us}


def test_trace_reader_drops_untimed_runs_and_takes_medians():
    events = [{"cat": "Session", "name": "session_initialization", "dur": 999},
              _node("conv_relu", "Conv", 500), _node("fc", "Gemm", 500), _run(1200),  # untimed
              _node("conv_relu", "Conv", 10), _node("fc", "Gemm", 4), _run(20),
              _node("conv_relu", "Conv", 30), _node("fc", "Gemm", 2), {"cat": "Node", "name": "fc_fence_before",
                                                                       "dur": 1}, _run(40),
              _node("conv_relu", "Conv", 20), _run(30)]  # fc skipped in this run: 0 there
    kp = _read_trace(events, skip=1, platform="p", batch=2)
    assert (kp.platform, kp.batch, kp.runs, kp.run_ms) == ("p", 2, 3, 0.030)
    assert [(k.name, k.op_type) for k in kp.kernels] == [("conv_relu", "Conv"), ("fc", "Gemm")]
    assert [k.median_ms for k in kp.kernels] == pytest.approx([0.020, 0.002])
    assert kp.kernels[0].share == pytest.approx(0.020 / 0.030)
    assert kp.by_op() == pytest.approx({"Conv": 0.020, "Gemm": 0.002}) and kp.kernel_ms == pytest.approx(0.022)
    with pytest.raises(ArchrepError, match="none after the 4 untimed"):
        _read_trace(events, skip=4, platform="p", batch=2)


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    from archrep.io import export_onnx

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 3),
                              torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 4)).eval()
    path = tmp_path_factory.mktemp("kernels") / "tiny.onnx"
    path.write_bytes(export_onnx(net, torch.zeros(1, 3, 16, 16)))
    return path


def test_profile_kernels_of_a_real_model(tiny_onnx):
    kp = profile_kernels(tiny_onnx, detect(), repeats=5, warmup=1)
    ops = {k.op_type for k in kp.kernels}
    assert {"Conv", "Gemm"} <= ops and "Relu" not in ops  # the Relu is fused into the first Conv
    assert kp.runs == 5 and kp.batch == 1 and kp.platform == detect().id
    assert all(k.median_ms >= 0 for k in kp.kernels) and 0 < kp.kernel_ms <= kp.run_ms
    assert json.loads(json.dumps(kp.to_dict()))["kernels"][0]["name"] == kp.kernels[0].name


def test_profile_kernels_refuses_other_runtimes_and_bad_counts(tiny_onnx):
    with pytest.raises(ArchrepError, match="onnxruntime platform"):
        profile_kernels(tiny_onnx, detect("torch"))
    with pytest.raises(ArchrepError, match="repeats >= 1"):
        profile_kernels(tiny_onnx, repeats=0)


def test_profile_command_lists_the_slowest_kernels(tiny_onnx, capsys):
    assert main(["profile", str(tiny_onnx), "--repeats", "3", "--kernels", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 slowest of" in out and "per op type" in out and "Conv" in out
    assert main(["profile", str(tiny_onnx), "--repeats", "3", "--kernels", "--json"]) == 0
    assert {k["op_type"] for k in json.loads(capsys.readouterr().out)["kernels"]["kernels"]} >= {"Conv", "Gemm"}
    assert main(["profile", str(tiny_onnx), "--runtime", "torch", "--kernels"]) == 2
    assert "use --runtime onnxruntime" in capsys.readouterr().err
    assert main(["profile", str(tiny_onnx), "--kernels", "0"]) == 2
