"""Read an ONNX model into an :class:`~archrep.graph.ArchGraph`, with shapes and costs per node.

Each ONNX node that computes on data becomes one graph node named by its ``op_type``
(:mod:`archrep.io.vocab` lists the supported ops). Initializers, ``Constant`` nodes and
everything computed only from them or from static shapes (``Shape`` -> ``Gather`` ->
``Concat`` chains that feed a ``Reshape``) are folded away: they are not nodes. One ``input``
node feeds every consumer of the model's data inputs and one ``output`` node collects its
outputs, however many the ONNX graph has. Nodes that feed no output are dropped.

**Node attributes** (all JSON values):

* ``name``: the ONNX node name (ignored by the graph hash);
* ``output_shape``: the first output's shape from ONNX shape inference (``output_shapes`` when
  there are several); the ``input`` node holds the input shape;
* the op's structural attributes under archrep's names: ``kernel``, ``stride``, ``pads``,
  ``dilation``, ``groups`` (Conv, pools), ``axis``, ``perm``, ``ceil_mode``, ...; Conv, Gemm and
  MatMul add ``in_channels`` and ``channels`` (output channels / features), BatchNormalization
  ``channels``;
* ``params``: elements of the node's constant weight inputs (Conv weight and bias, Gemm/MatMul
  constant operands, BatchNormalization scale, bias, mean and variance = 4 x C, vector operands of
  Add/Mul/Sub/Div). Scalars and shape/index operands are not parameters. The graph total is
  the number of weights stored in the file, not torch's count of trainable parameters.
* ``macs``: multiply-accumulates of Conv / Gemm / MatMul (0 elsewhere);
* ``flops``: **2 x MACs** for Conv / Gemm / MatMul (bias additions not counted); per output
  element 1 for activations and element-wise arithmetic, 2 for BatchNormalization (scale and
  shift), 3 for Softmax, 4 for the other normalisations; kernel area per output element for
  MaxPool / AveragePool; 1 per input element for global pools and reductions; 0 for data
  movement (Reshape, Concat, Transpose, Pad, ...);
* ``mem_bytes``: memory traffic, the bytes of every input (activations and weights) read plus
  every output written, at the tensors' own element types. NNLQP calls this quantity "MACs"
  (memory access cost); archrep keeps ``macs`` for multiply-accumulates.

**Graph attributes**: ``input_shape`` (first data input), ``batch`` (its leading dimension),
``source`` ("onnx"), ``opset``, and the totals ``flops``, ``macs``, ``params``, ``mem_bytes``.

Every problem with the model (unreadable bytes, an unsupported op, a tensor nobody produces,
failed shape inference, a shape left symbolic) raises one
:class:`~archrep.errors.ModelImportError` naming the file, the node and its op.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from archrep.errors import GraphError, MissingDependencyError, ModelImportError
from archrep.graph import ArchGraph
from archrep.io.vocab import ONNX_OPS, SHAPE_OPS, VALUE_INPUTS
from archrep.ops import INPUT, OUTPUT

ONNX_EXTRA_HINT = 'pip install "archrep[onnx]"'
#: ONNX attribute -> node attribute name; attributes not listed (epsilon, momentum, alpha, ...)
#: do not change the computation's shape or cost and are not kept
_ATTR_NAMES = {
    "kernel_shape": "kernel", "strides": "stride", "pads": "pads", "dilations": "dilation",
    "group": "groups", "auto_pad": "auto_pad", "ceil_mode": "ceil_mode", "axis": "axis",
    "axes": "axes", "perm": "perm", "keepdims": "keepdims", "transA": "transA",
    "transB": "transB", "count_include_pad": "count_include_pad", "mode": "mode",
}
#: attribute values equal to the ONNX defaults are dropped, so exporters that spell them out
#: and exporters that leave them implicit give equal graphs
_DEFAULTS = {"auto_pad": "NOTSET", "ceil_mode": 0, "count_include_pad": 0, "keepdims": 1,
             "transA": 0, "transB": 0}
_ONNX_DOMAINS = ("", "ai.onnx")


def _onnx():
    """The ``onnx`` module, or a MissingDependencyError naming the extra to install."""
    try:
        import onnx
    except ImportError:
        raise MissingDependencyError(
            f"reading ONNX models needs the 'onnx' package, which is not installed: {ONNX_EXTRA_HINT}"
        ) from None
    return onnx


def from_onnx(model: Any, *, batch: int | None = None, fold_bn: bool = False) -> ArchGraph:
    """The ArchGraph of an ONNX model (a file path, the file's bytes, or an ``onnx.ModelProto``).

    ``batch`` fixes a symbolic leading input dimension (required then); a model exported with a
    fixed batch must be re-exported to change it. ``fold_bn=True`` merges each BatchNormalization
    that is the only consumer of a Conv into that Conv (as inference runtimes do): the Conv keeps
    the BN's output, gains a bias if it had none, and the BN node disappears. See the module
    docstring for the node attributes and cost conventions.
    """
    onnx = _onnx()
    source, proto = _load(onnx, model)
    return _Converter(onnx, proto, source, batch, fold_bn).run()


def _load(onnx, model: Any):
    """(a name for messages, the ModelProto) of a path, bytes or ModelProto."""
    if isinstance(model, onnx.ModelProto):
        return "<ModelProto>", model
    if isinstance(model, (bytes, bytearray)):
        source, data = "<bytes>", bytes(model)
    elif isinstance(model, (str, os.PathLike)):
        path = Path(model)
        source = str(path)
        if not path.is_file():
            raise ModelImportError(f"ONNX file {source!r} does not exist: check the path")
        data = path.read_bytes()
    else:
        raise ModelImportError(f"from_onnx takes a path, bytes or an onnx.ModelProto, got {type(model).__name__}")
    try:
        proto = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise ModelImportError(f"{source}: not a valid ONNX model, the protobuf does not decode "
                               f"({type(exc).__name__}: {exc}); the file may be truncated: re-export it") from None
    if not proto.graph.node:
        raise ModelImportError(f"{source}: the ONNX model has no nodes (empty or truncated file): re-export it")
    return source, proto


def _node_label(node, index: int) -> str:
    name = f"'{node.name}'" if node.name else "(unnamed)"
    return f"node {name} (#{index}, op {node.op_type})"


class _Converter:
    """One conversion: checks, shape inference, folding of constants, then nodes and costs."""

    def __init__(self, onnx, proto, source: str, batch: int | None, fold_bn: bool):
        self.onnx, self.proto, self.source = onnx, proto, source
        self.batch, self.fold_bn = batch, fold_bn

    def fail(self, message: str):
        raise ModelImportError(f"{self.source}: {message}")

    # ------------------------------------------------------------------ checks and shapes
    def run(self) -> ArchGraph:
        graph = self.proto.graph
        initializers = {t.name for t in graph.initializer}
        self.inputs = [i for i in graph.input if i.name not in initializers]
        if not self.inputs:
            self.fail("the ONNX graph has no data input (every input is an initializer)")
        self._check_nodes(initializers)
        self._fix_batch()
        self._infer_shapes()
        return self._build(initializers)

    def _check_nodes(self, initializers: set[str]) -> None:
        known = initializers | {i.name for i in self.proto.graph.input}
        supported = sorted(ONNX_OPS)
        for index, node in enumerate(self.proto.graph.node):
            label = _node_label(node, index)
            if node.domain not in _ONNX_DOMAINS:
                self.fail(f"{label} is in the custom domain {node.domain!r}; archrep reads only standard "
                          "ONNX ops: export without custom ops")
            if node.op_type not in ONNX_OPS and node.op_type not in SHAPE_OPS:
                self.fail(f"{label}: op {node.op_type!r} is not supported by archrep.io. Supported ops: "
                          f"{', '.join(supported)}. Add it to archrep.io.vocab.ONNX_OPS with its cost rule")
            for tensor in node.input:
                if tensor and tensor not in known:
                    self.fail(f"{label} reads tensor {tensor!r}, which no earlier node, initializer or "
                              "graph input produces: the model is malformed (nodes must be in "
                              "topological order); re-export it")
            known.update(o for o in node.output if o)
        for out in self.proto.graph.output:
            if out.name not in known:
                self.fail(f"graph output {out.name!r} is produced by no node: the model is malformed; re-export it")

    def _fix_batch(self) -> None:
        """Set a symbolic leading input dimension to ``batch``; check a fixed one against it."""
        proto = self.onnx.ModelProto()
        proto.CopyFrom(self.proto)
        for inp in proto.graph.input:
            if inp.name not in {i.name for i in self.inputs}:
                continue
            dims = inp.type.tensor_type.shape.dim
            if not dims:
                self.fail(f"graph input {inp.name!r} has no shape: export with a static input shape")
            lead = dims[0]
            if lead.HasField("dim_value") and lead.dim_value > 0:
                if self.batch is not None and lead.dim_value != self.batch:
                    self.fail(f"graph input {inp.name!r} has the fixed batch {lead.dim_value}, not "
                              f"batch={self.batch}: re-export the model with batch {self.batch} "
                              "(or a symbolic batch dimension)")
            elif self.batch is None:
                self.fail(f"graph input {inp.name!r} has a symbolic batch dimension "
                          f"{lead.dim_param or '?'!r}: pass batch=N to from_onnx")
            else:
                lead.Clear()
                lead.dim_value = int(self.batch)
            for k, d in enumerate(dims[1:], start=1):
                if not (d.HasField("dim_value") and d.dim_value > 0):
                    self.fail(f"graph input {inp.name!r} has a symbolic dimension {k} "
                              f"({d.dim_param or '?'!r}): export with a static input shape")
        self.proto = proto

    def _infer_shapes(self) -> None:
        onnx = self.onnx
        try:
            onnx.checker.check_model(self.proto)
            inferred = onnx.shape_inference.infer_shapes(self.proto, check_type=True, strict_mode=True,
                                                         data_prop=True)
        except Exception as exc:  # checker / inference errors name the node in their message
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.fail(f"the ONNX model is invalid: {text}")
        self.shapes: dict[str, tuple[int, ...] | None] = {}
        self.itemsize: dict[str, int] = {}
        for t in inferred.graph.initializer:
            self.shapes[t.name] = tuple(int(d) for d in t.dims)
            self.itemsize[t.name] = self._itemsize(t.data_type)
        g = inferred.graph
        for vi in list(g.input) + list(g.value_info) + list(g.output):
            tt = vi.type.tensor_type
            if not tt.HasField("shape"):
                self.shapes.setdefault(vi.name, None)
                continue
            dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
            self.shapes[vi.name] = None if None in dims else tuple(int(d) for d in dims)
            self.itemsize[vi.name] = self._itemsize(tt.elem_type)
        self.proto = inferred

    def _itemsize(self, data_type: int) -> int:
        try:
            return int(self.onnx.helper.tensor_dtype_to_np_dtype(data_type).itemsize)
        except Exception:  # string / undefined types: count one byte an element
            return 1

    # ------------------------------------------------------------------ nodes
    def _build(self, initializers: set[str]) -> ArchGraph:
        graph = self.proto.graph
        constant = set(initializers)
        nodes: list[dict] = []  # {"onnx": NodeProto, "index": position, "outputs": [tensor names]}
        for index, node in enumerate(graph.node):
            positions = VALUE_INPUTS.get(node.op_type, range(len(node.input)))
            ins = [node.input[p] for p in positions if p < len(node.input) and node.input[p]]
            if node.op_type in SHAPE_OPS or all(t in constant for t in ins):
                constant.update(o for o in node.output if o)
                continue
            for out in node.output:
                if out and self.shapes.get(out) is None:
                    self.fail(f"{_node_label(node, index)}: shape inference could not give its output "
                              f"{out!r} a static shape; export the model with static input shapes")
            nodes.append({"onnx": node, "index": index, "outputs": [o for o in node.output if o]})
        self.constant = constant
        for out in graph.output:
            if out.name in constant:
                self.fail(f"graph output {out.name!r} is a constant: it does not depend on the input")
        if self.fold_bn:
            nodes = self._fold_bn(nodes)

        ops = [INPUT]
        first = self.inputs[0].name
        in_attrs: dict[str, Any] = {"name": first, "output_shape": list(self.shapes[first])}
        if len(self.inputs) > 1:
            in_attrs["output_shapes"] = [list(self.shapes[i.name]) for i in self.inputs]
        attrs = [in_attrs]
        producer = {i.name: 0 for i in self.inputs}
        edges: list[tuple[int, int]] = []
        for rec in nodes:
            node, k = rec["onnx"], len(ops)
            ops.append(node.op_type)
            attrs.append(self._node_attrs(rec))
            for t in node.input:
                if t and t not in self.constant:
                    edges.append((producer[t], k))
            for out in rec["outputs"]:
                producer[out] = k
        out_k = len(ops)
        ops.append(OUTPUT)
        outs = [o.name for o in graph.output]
        out_attrs: dict[str, Any] = {"name": outs[0], "output_shape": list(self.shapes[outs[0]])}
        if len(outs) > 1:
            out_attrs["output_shapes"] = [list(self.shapes[o]) for o in outs]
        attrs.append(out_attrs)
        edges.extend((producer[o], out_k) for o in outs)

        totals = {key: sum(a.get(key, 0) for a in attrs) for key in ("flops", "macs", "params", "mem_bytes")}
        shape = list(self.shapes[first])
        opset = next((o.version for o in self.proto.opset_import if o.domain in _ONNX_DOMAINS), None)
        gattrs = {"input_shape": shape, "batch": shape[0], "source": "onnx", "opset": opset, **totals}
        try:
            return ArchGraph(ops, edges, attrs, gattrs, prune=True)
        except GraphError as exc:
            self.fail(f"the model's graph is not usable: {exc}")

    def _fold_bn(self, nodes: list[dict]) -> list[dict]:
        """Merge each BatchNormalization into the Conv whose output only it reads."""
        consumers: dict[str, int] = {}
        for rec in nodes:
            for t in rec["onnx"].input:
                consumers[t] = consumers.get(t, 0) + 1
        for out in self.proto.graph.output:
            consumers[out.name] = consumers.get(out.name, 0) + 1
        by_output = {rec["outputs"][0]: rec for rec in nodes if rec["onnx"].op_type == "Conv"}
        kept = []
        for rec in nodes:
            node = rec["onnx"]
            conv = by_output.get(node.input[0]) if node.op_type == "BatchNormalization" else None
            if (conv is not None and consumers.get(node.input[0]) == 1 and len(rec["outputs"]) == 1
                    and all(t in self.constant for t in node.input[1:])):
                conv["outputs"] = rec["outputs"]
                conv["folded_bn"] = True
                continue
            kept.append(rec)
        return kept

    def _node_attrs(self, rec: dict) -> dict:
        node, spec = rec["onnx"], ONNX_OPS[rec["onnx"].op_type]
        out_shapes = [self.shapes[o] for o in rec["outputs"]]
        attrs: dict[str, Any] = {"name": node.name or f"#{rec['index']}", "output_shape": list(out_shapes[0])}
        if len(out_shapes) > 1:
            attrs["output_shapes"] = [list(s) for s in out_shapes]
        for a in node.attribute:
            if a.name in _ATTR_NAMES:
                value = self.onnx.helper.get_attribute_value(a)
                if isinstance(value, bytes):
                    value = value.decode()
                value = list(value) if isinstance(value, (list, tuple)) else value
                if _DEFAULTS.get(_ATTR_NAMES[a.name], None) != value:
                    attrs[_ATTR_NAMES[a.name]] = value
        ins = [t if t else None for t in node.input]
        in_shapes = [self.shapes.get(t) if t else None for t in ins]
        label = _node_label(node, rec["index"])
        if spec.rule in ("conv", "window"):  # spell out the defaults of sliding-window ops
            rank = len(out_shapes[0]) - 2
            if spec.rule == "conv" and in_shapes[1] is not None:
                attrs.setdefault("kernel", list(in_shapes[1][2:]))
            attrs.setdefault("stride", [1] * rank)
            attrs.setdefault("pads", [0] * (2 * rank))
            if spec.rule == "conv" or node.op_type == "MaxPool":
                attrs.setdefault("dilation", [1] * rank)

        macs = 0
        if spec.rule == "conv":
            w = in_shapes[1]
            if w is None or len(w) < 3:
                self.fail(f"{label}: the weight has no static shape of rank >= 3")
            groups = int(attrs.get("groups", 1))
            attrs.update(groups=groups, in_channels=int(w[1]) * groups, channels=int(w[0]))
            macs = math.prod(out_shapes[0]) * int(w[1]) * math.prod(w[2:])
        elif spec.rule in ("gemm", "matmul"):
            a, b = in_shapes[0], in_shapes[1]
            if a is None or b is None:
                self.fail(f"{label}: an operand has no static shape")
            if spec.rule == "gemm":
                k = a[0] if attrs.get("transA", 0) else a[-1]
            else:
                k = a[-1]
            attrs.update(in_channels=int(k), channels=int(out_shapes[0][-1]) if out_shapes[0] else 1)
            macs = math.prod(out_shapes[0]) * int(k)
        elif node.op_type == "BatchNormalization":
            attrs["channels"] = int(in_shapes[0][1]) if len(in_shapes[0]) > 1 else 1

        if spec.rule in ("conv", "gemm", "matmul"):
            flops = 2 * macs
        elif spec.rule == "eltwise":
            flops = spec.per_element * sum(math.prod(s) for s in out_shapes)
        elif spec.rule == "window":
            kernel = attrs.get("kernel") or []
            flops = math.prod(kernel) * math.prod(out_shapes[0])
        elif spec.rule == "reduce":
            flops = math.prod(in_shapes[0])
        else:
            flops = 0

        weights = range(len(ins)) if spec.weights is None else spec.weights
        params = 0
        for pos in weights:
            if pos < len(ins) and ins[pos] in self.constant and in_shapes[pos] is not None:
                n = math.prod(in_shapes[pos])
                if spec.weights is not None or n > 1:
                    params += n
        mem = sum(math.prod(s) * self.itemsize.get(t, 4) for t, s in zip(ins, in_shapes)
                  if t is not None and s is not None)
        mem += sum(math.prod(s) * self.itemsize.get(o, 4) for o, s in zip(rec["outputs"], out_shapes))
        if rec.get("folded_bn"):
            channels = attrs["channels"]
            attrs["folded_bn"] = True
            if len(ins) < 3 or ins[2] is None:  # the folded BN gives the Conv a bias
                params += channels
                mem += channels * self.itemsize.get(ins[1], 4)
        attrs.update(params=int(params), macs=int(macs), flops=int(flops), mem_bytes=int(mem))
        return attrs
