"""The ONNX op vocabulary of :mod:`archrep.io`: which ONNX ops are read, and how each is costed.

Importing this module registers every op of :data:`ONNX_OPS` in :mod:`archrep.ops` under its
ONNX ``op_type`` spelling ("Conv", "Relu", "GlobalAveragePool", ...), so graphs read from real
models validate and get language templates like "ParamL Conv 3 Stride 2 Ch 64". It needs no
``onnx`` package.

Each op carries a cost *rule* (see :mod:`archrep.io.onnx` for the conventions):

* ``conv`` / ``gemm`` / ``matmul``: 2 FLOPs per multiply-accumulate;
* ``eltwise``: ``per_element`` FLOPs per output element (activations, arithmetic, norms);
* ``window``: kernel area FLOPs per output element (MaxPool, AveragePool);
* ``reduce``: 1 FLOP per input element (global pools, reductions);
* ``data``: 0 FLOPs (layout and data movement only).
"""
from __future__ import annotations

from dataclasses import dataclass

from archrep.ops import register_op


@dataclass(frozen=True)
class OnnxOp:
    """How one ONNX op is registered and costed. ``weights`` are the input positions whose
    constant tensors count as parameters (``None``: any constant operand with more than one
    element, for element-wise arithmetic whose vector operands are biases or scales)."""

    kind: str
    has_params: bool
    rule: str
    per_element: int = 0
    weights: tuple[int, ...] | None = ()


def _eltwise(kind: str, per_element: int = 1, *, has_params: bool = False,
             weights: tuple[int, ...] | None = ()) -> OnnxOp:
    return OnnxOp(kind, has_params, "eltwise", per_element, weights)


# data movement; not kind "identity", whose template ("Identity") is shared on purpose by the
# search spaces' skip ops only (features/templates.py)
_DATA = OnnxOp("data", False, "data")

#: op_type -> spec; the ops the ten model families produce plus their common neighbours
ONNX_OPS: dict[str, OnnxOp] = {
    "Conv": OnnxOp("conv", True, "conv", weights=(1, 2)),
    "Gemm": OnnxOp("linear", True, "gemm", weights=(0, 1, 2)),
    "MatMul": OnnxOp("linear", True, "matmul", weights=(0, 1)),
    "BatchNormalization": _eltwise("norm", 2, has_params=True, weights=(1, 2, 3, 4)),
    "InstanceNormalization": _eltwise("norm", 4, has_params=True, weights=(1, 2)),
    "LayerNormalization": _eltwise("norm", 4, has_params=True, weights=(1, 2)),
    "LRN": _eltwise("norm", 4),
    "Relu": _eltwise("activation"),
    "LeakyRelu": _eltwise("activation"),
    "PRelu": _eltwise("activation", has_params=True, weights=(1,)),
    "Elu": _eltwise("activation"),
    "Selu": _eltwise("activation"),
    "Clip": _eltwise("activation"),
    "Sigmoid": _eltwise("activation"),
    "HardSigmoid": _eltwise("activation"),
    "HardSwish": _eltwise("activation"),
    "Tanh": _eltwise("activation"),
    "Softplus": _eltwise("activation"),
    "Erf": _eltwise("activation"),
    "Gelu": _eltwise("activation"),
    "Sqrt": _eltwise("activation"),
    "Exp": _eltwise("activation"),
    "Softmax": _eltwise("activation", 3),
    "LogSoftmax": _eltwise("activation", 3),
    "Add": _eltwise("combine", weights=None),
    "Sub": _eltwise("combine", weights=None),
    "Mul": _eltwise("combine", weights=None),
    "Div": _eltwise("combine", weights=None),
    "Pow": _eltwise("combine"),
    "Max": _eltwise("combine"),
    "Min": _eltwise("combine"),
    "Sum": _eltwise("combine"),
    "MaxPool": OnnxOp("pool", False, "window"),
    "AveragePool": OnnxOp("pool", False, "window"),
    "GlobalAveragePool": OnnxOp("pool", False, "reduce"),
    "GlobalMaxPool": OnnxOp("pool", False, "reduce"),
    "ReduceMean": OnnxOp("pool", False, "reduce"),
    "ReduceMax": OnnxOp("pool", False, "reduce"),
    "ReduceSum": OnnxOp("pool", False, "reduce"),
    "Concat": OnnxOp("combine", False, "data"),
    "Reshape": _DATA,
    "Flatten": _DATA,
    "Squeeze": _DATA,
    "Unsqueeze": _DATA,
    "Transpose": _DATA,
    "Identity": _DATA,
    "Dropout": _DATA,
    "Split": _DATA,
    "Slice": _DATA,
    "Gather": _DATA,
    "Pad": _DATA,
    "Expand": _DATA,
    "Tile": _DATA,
    "Cast": _DATA,
    "CastLike": _DATA,
    "ConstantOfShape": _DATA,
}

#: ops whose outputs are known from static shapes alone: never graph nodes (folded like constants)
SHAPE_OPS = frozenset({"Constant", "Shape", "Size"})
#: ops that read only the type of some inputs: a node is a constant when the inputs at these
#: positions are (other ops: when all their inputs are)
VALUE_INPUTS: dict[str, tuple[int, ...]] = {"CastLike": (0,)}

for _name, _spec in ONNX_OPS.items():
    register_op(_name, _spec.kind, _spec.has_params, description=f"ONNX {_name}")
