"""archrep.io: ONNX and torch models in, with shapes and costs checked against hand counts."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from archrep.errors import MissingDependencyError, ModelImportError  # noqa: E402
from archrep.graph import ArchGraph  # noqa: E402
from archrep.io import from_onnx, from_torch  # noqa: E402

F = TensorProto.FLOAT


def _init(name, *shape):
    return numpy_helper.from_array(np.ones(shape, dtype=np.float32), name)


def _model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name, shape):
    return helper.make_tensor_value_info(name, F, shape)


def conv_net():
    """x[1,3,8,8] -> Conv 3x3 pad 1 (4 ch, bias) -> Relu -> MaxPool 2/2 -> Flatten -> Gemm (5)."""
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "FW", "FB"], ["y"], name="fc", transB=1),
    ]
    inits = [_init("W", 4, 3, 3, 3), _init("B", 4), _init("FW", 5, 64), _init("FB", 5)]
    return _model(nodes, [_vi("x", [1, 3, 8, 8])], [_vi("y", [1, 5])], inits)


def test_conv_net_costs_by_hand():
    g = from_onnx(conv_net())
    assert g.ops == ["input", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "output"]
    assert g.edges == [(i, i + 1) for i in range(6)]
    conv, relu, pool, flat, fc = g.node_attrs[1:6]
    assert conv["output_shape"] == [1, 4, 8, 8]
    assert (conv["kernel"], conv["stride"], conv["pads"], conv["dilation"]) == ([3, 3], [1, 1], [1, 1, 1, 1], [1, 1])
    assert (conv["in_channels"], conv["channels"], conv["groups"]) == (3, 4, 1)
    assert conv["macs"] == 4 * 8 * 8 * 3 * 9  # 6912
    assert conv["flops"] == 2 * 6912
    assert conv["params"] == 4 * 3 * 9 + 4
    assert conv["mem_bytes"] == 4 * (3 * 64 + 108 + 4 + 4 * 64)
    assert relu["flops"] == 256 and relu["params"] == 0
    assert pool["output_shape"] == [1, 4, 4, 4] and pool["flops"] == 4 * 64
    assert flat["output_shape"] == [1, 64] and flat["flops"] == 0
    assert fc["macs"] == 64 * 5 and fc["params"] == 5 * 64 + 5 and fc["channels"] == 5
    assert g.attrs["input_shape"] == [1, 3, 8, 8] and g.attrs["batch"] == 1
    assert g.attrs["params"] == 112 + 325
    assert g.attrs["flops"] == 13824 + 256 + 256 + 640
    assert ArchGraph.from_json(g.to_json()) == g


def test_constants_fold_and_several_inputs_outputs():
    """Identity of an initializer, Shape->Gather->Concat->Reshape chains and Constant nodes are
    not nodes; two inputs share one input node, two outputs one output node."""
    nodes = [
        helper.make_node("Identity", ["S0"], ["s"], name="scale_copy"),
        helper.make_node("BatchNormalization", ["a", "s", "S0", "S0", "S1"], ["bn"], name="bn"),
        helper.make_node("Add", ["bn", "b"], ["sum"], name="add"),
        helper.make_node("Shape", ["sum"], ["shape"], name="shape"),
        helper.make_node("Constant", [], ["zero"], name="zero",
                         value=numpy_helper.from_array(np.array([0], dtype=np.int64))),
        helper.make_node("Gather", ["shape", "zero"], ["n"], name="gather"),
        helper.make_node("Constant", [], ["minus1"], name="m1",
                         value=numpy_helper.from_array(np.array([-1], dtype=np.int64))),
        helper.make_node("Concat", ["n", "minus1"], ["target"], name="cat_shape", axis=0),
        helper.make_node("Reshape", ["sum", "target"], ["flat"], name="reshape"),
        helper.make_node("Softmax", ["flat"], ["prob"], name="softmax", axis=1),
    ]
    inits = [_init("S0", 2), _init("S1", 2)]
    g = from_onnx(_model(nodes, [_vi("a", [1, 2, 3, 3]), _vi("b", [1, 2, 3, 3])],
                         [_vi("prob", [1, 18]), _vi("sum", [1, 2, 3, 3])], inits))
    assert g.ops == ["input", "BatchNormalization", "Add", "Reshape", "Softmax", "output"]
    assert sorted(g.edges) == [(0, 1), (0, 2), (1, 2), (2, 3), (2, 5), (3, 4), (4, 5)]
    assert g.node_attrs[0]["output_shapes"] == [[1, 2, 3, 3], [1, 2, 3, 3]]
    assert g.node_attrs[-1]["output_shapes"] == [[1, 18], [1, 2, 3, 3]]
    bn, add, reshape, softmax = g.node_attrs[1:5]
    assert bn["params"] == 4 * 2 and bn["flops"] == 2 * 18 and bn["channels"] == 2
    assert add["params"] == 0 and add["flops"] == 18
    assert reshape["output_shape"] == [1, 18] and reshape["flops"] == 0
    assert softmax["flops"] == 3 * 18


def test_symbolic_batch():
    model = conv_net()
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    model.graph.output[0].type.tensor_type.shape.dim[0].dim_param = "N"
    with pytest.raises(ModelImportError, match="batch=N"):
        from_onnx(model)
    g = from_onnx(model, batch=3)
    assert g.attrs["batch"] == 3 and g.attrs["input_shape"] == [3, 3, 8, 8]
    assert g.node_attrs[1]["macs"] == 3 * 6912
    with pytest.raises(ModelImportError, match="fixed batch 1"):
        from_onnx(conv_net(), batch=2)


def test_fold_bn_into_conv():
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], name="conv", kernel_shape=[1, 1]),
             helper.make_node("BatchNormalization", ["c", "S", "S", "S", "S"], ["y"], name="bn")]
    model = _model(nodes, [_vi("x", [1, 3, 4, 4])], [_vi("y", [1, 4, 4, 4])], [_init("W", 4, 3, 1, 1), _init("S", 4)])
    plain, folded = from_onnx(model), from_onnx(model, fold_bn=True)
    assert plain.ops == ["input", "Conv", "BatchNormalization", "output"]
    assert folded.ops == ["input", "Conv", "output"]
    assert folded.node_attrs[1]["params"] == 12 + 4  # the BN gives the conv a bias
    assert folded.node_attrs[1]["folded_bn"] is True


def test_malformed_files(tmp_path):
    data = conv_net().SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelImportError, match="cut.onnx"):
        from_onnx(path)
    with pytest.raises(ModelImportError, match="does not exist"):
        from_onnx(tmp_path / "missing.onnx")

    unknown = conv_net()
    unknown.graph.node[1].op_type = "FancyAct"
    with pytest.raises(ModelImportError) as err:
        from_onnx(unknown)
    assert "'relu'" in str(err.value) and "FancyAct" in str(err.value) and "Supported ops" in str(err.value)

    missing = conv_net()
    missing.graph.node[2].input[0] = "nowhere"
    with pytest.raises(ModelImportError) as err:
        from_onnx(missing)
    assert "'pool'" in str(err.value) and "MaxPool" in str(err.value) and "'nowhere'" in str(err.value)

    bad_shape = conv_net()
    bad_shape.graph.initializer[2].CopyFrom(_init("FW", 5, 63))  # Gemm K mismatch
    with pytest.raises(ModelImportError, match="Gemm"):
        from_onnx(bad_shape)


class SmallNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


def test_from_torch_small_net_by_hand():
    net = SmallNet().train()
    g = from_torch(net, torch.zeros(2, 3, 16, 16))
    assert net.training and net.bn.training  # modes restored
    assert g.ops == ["input", "Conv", "BatchNormalization", "Relu", "GlobalAveragePool", "Flatten", "Gemm", "output"]
    conv_macs = 2 * 8 * 8 * 8 * 27
    assert g.node_attrs[1]["output_shape"] == [2, 8, 8, 8] and g.node_attrs[1]["stride"] == [2, 2]
    assert g.attrs["params"] == 216 + 4 * 8 + 8 * 4 + 4
    assert g.attrs["macs"] == conv_macs + 2 * 8 * 4
    elements = 2 * 8 * 8 * 8
    assert g.attrs["flops"] == 2 * conv_macs + 2 * elements + elements + elements + 2 * 2 * 8 * 4
    assert g.attrs["batch"] == 2
    assert from_torch(net, torch.zeros(2, 3, 16, 16)).hash() == g.hash()
    assert from_torch(net, torch.zeros(1, 3, 16, 16)).hash() != g.hash()
    assert from_torch(net, torch.zeros(2, 3, 16, 16), fold_bn=True).ops[2] == "Relu"


def test_package_imports_without_onnx_and_names_the_extra():
    code = ("import sys; sys.modules['onnx'] = None\n"
            "import archrep.io, archrep.zoo\n"
            "from archrep.errors import MissingDependencyError\n"
            "try:\n    archrep.io.from_onnx('m.onnx')\n"
            "except MissingDependencyError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert 'pip install "archrep[onnx]"' in out.stdout
    assert issubclass(MissingDependencyError, ImportError)


def test_dynamo_export_agrees_with_torchscript_export():
    """The dynamo exporter spells the same net differently (ReduceMean, CastLike, shape chains);
    costs must not change."""
    pytest.importorskip("onnxscript")  # the dynamo exporter's dependency, not archrep's
    x = torch.zeros(2, 3, 16, 16)
    ts = from_torch(SmallNet(), x)
    dyn = from_torch(SmallNet(), x, dynamo=True, optimize=False)
    for key in ("flops", "macs", "params", "input_shape"):
        assert dyn.attrs[key] == ts.attrs[key], key
    assert "CastLike" not in dyn.ops and "BatchNormalization" in dyn.ops
