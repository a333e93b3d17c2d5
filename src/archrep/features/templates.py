"""LeDG-Former's language templates: terse text for ops, hardware platforms and accuracy conditions.

LeDG-Former embeds every node, and the hardware platform, with one pretrained language model
(:mod:`archrep.features.language`). The paper keeps the text short so that numbers are not drowned
by context: a 3x3 convolution reads "ParamL Conv 3" (``ParamL`` marks an op with learnable
parameters) and an NVIDIA T4 at FP32 reads "Nv GPU FP32 8.1 Turing 70W". The full template
vocabulary is not published (research/methods.md §2, unknowns); the rules below are ours.

**Op template** (:func:`op_template`), words in this order:

1. ``ParamL`` when the op has learnable parameters (``OpSpec.has_params``); parameter-free ops
   carry no marker (its absence is the marker, as in the paper's examples).
2. The class words: :data:`OP_CLASS_WORDS` for the built-in ops; for any other registered op
   (e.g. ONNX ops registered later) the kind's word (:data:`KIND_WORDS`, else the kind as
   registered, spelled as in the op name when the name contains it) followed by the words of
   the op name that do not repeat it ("my_conv_3x3" of kind "conv", kernel 3 -> "Conv my 3");
   a name part like "3x3" is dropped when the kernel is known.
3. The kernel as a bare number ("3"; "1x7" when not square): the node's ``kernel`` attribute,
   else the op's registered kernel.
4. When the node attributes carry them: ``Stride s``, ``Dil d``, ``Groups g``, ``Exp e``
   (expansion ratio), ``Ch c`` (output channels), in that order. Other node attributes
   (shapes, FLOPs, names, ...) are not part of the text.

Ops that legitimately share a template (the same computation under different names in
different search spaces, so that a language embedding transfers between them):

* "ParamL Conv 1": ``nor_conv_1x1`` (NB201), ``conv1x1-bn-relu`` (NB101)
* "ParamL Conv 3": ``nor_conv_3x3`` (NB201), ``conv3x3-bn-relu`` (NB101)
* "Pool Max 3": ``max_pool_3x3`` (DARTS), ``maxpool3x3`` (NB101)
* "Identity": ``skip_connect`` (NB201/DARTS), ``identity`` (NAS-Bench-Macro), ``skip`` (NAS-Bench-Graph,
  FBNet)
* "ParamL MBConv 3 Exp 3": ``mb3_k3`` (NAS-Bench-Macro), ``mbconv_k3_e3`` (FBNet, OFA)
* "ParamL MBConv 5 Exp 6": ``mb6_k5`` (NAS-Bench-Macro), ``mbconv_k5_e6`` (FBNet, OFA)

Within each built-in search space all op templates are distinct.

**Platform template** (:func:`platform_template`): see :data:`PLATFORM_FIELDS` for the order.
**Condition template** (:func:`condition_template`): see :data:`CONDITION_TEMPLATES`.
"""
from __future__ import annotations

import math
import re
from numbers import Real
from typing import Mapping, Sequence

from archrep.errors import ArchrepError, UnknownNameError
from archrep.ops import MBCONV_BLOCKS, get_op

#: class words of the built-in ops (marker and numbers are added by :func:`op_template`)
OP_CLASS_WORDS: dict[str, str] = {
    "input": "Input",
    "output": "Output",
    # NAS-Bench-201 / NAS-Bench-101 (see the shared templates in the module docstring)
    "nor_conv_1x1": "Conv",
    "nor_conv_3x3": "Conv",
    "conv1x1-bn-relu": "Conv",
    "conv3x3-bn-relu": "Conv",
    "avg_pool_3x3": "Pool Avg",
    "max_pool_3x3": "Pool Max",
    "maxpool3x3": "Pool Max",
    "skip_connect": "Identity",
    "none": "Zero",
    # DARTS
    "sep_conv_3x3": "SepConv",
    "sep_conv_5x5": "SepConv",
    "dil_conv_3x3": "DilConv",
    "dil_conv_5x5": "DilConv",
    "add": "Add",
    "concat": "Concat",
    # NAS-Bench-Graph ("graph" is the k-GNN GraphConv layer; "fc" a plain linear layer)
    "gat": "GNN GAT",
    "gcn": "GNN GCN",
    "gin": "GNN GIN",
    "cheb": "GNN Cheb",
    "sage": "GNN SAGE",
    "arma": "GNN ARMA",
    "graph": "GNN GraphConv",
    "fc": "Linear",
    "skip": "Identity",
    # NAS-Bench-Macro
    "identity": "Identity",
    "mb3_k3": "MBConv",
    "mb6_k5": "MBConv",
    # FBNet / Once-for-All MobileNetV3 (blocks added below from archrep.ops.MBCONV_BLOCKS)
    "conv3x3-bn-hswish": "Conv HSwish",
    "conv1x1-bn-hswish": "Conv HSwish",
    "global_avg_pool": "Pool Avg Global",
}

#: node attributes a built-in op implies when the node does not say otherwise
OP_DEFAULT_ATTRS: dict[str, dict] = {
    "mb3_k3": {"expansion": 3},
    "mb6_k5": {"expansion": 6},
}
for _op, (_kernel, _expansion, _groups, _se) in MBCONV_BLOCKS.items():
    OP_CLASS_WORDS[_op] = "MBConv SE" if _se else "MBConv"
    OP_DEFAULT_ATTRS[_op] = {"expansion": _expansion, **({"groups": _groups} if _groups > 1 else {})}

#: class word of an op kind, used for registered ops without an entry in OP_CLASS_WORDS
KIND_WORDS: dict[str, str] = {
    "conv": "Conv",
    "pool": "Pool",
    "identity": "Identity",
    "zero": "Zero",
    "io": "IO",
    "combine": "Combine",
    "gnn": "GNN",
    "linear": "Linear",
    "norm": "Norm",
    "activation": "Act",
    "data": "Data",
}

#: (node attribute, word before its value) in template order, after the kernel
ATTR_WORDS: tuple[tuple[str, str], ...] = (
    ("stride", "Stride"),
    ("dilation", "Dil"),
    ("groups", "Groups"),
    ("expansion", "Exp"),
    ("channels", "Ch"),
)

PARAM_MARKER = "ParamL"


def _fmt_number(value, what: str) -> str:
    """A number as a terse token: 3 -> "3", 8.10 -> "8.1", (3, 3) -> "3", (1, 7) -> "1x7"."""
    if isinstance(value, (list, tuple)):
        if not value:
            raise ArchrepError(f"{what} is an empty sequence; give a number or a non-empty list of numbers")
        parts = [_fmt_number(v, what) for v in value]
        return parts[0] if len(set(parts)) == 1 else "x".join(parts)
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ArchrepError(f"{what} must be a finite number (or a list of them), got {value!r}")
    return f"{float(value):g}" if float(value) != int(value) else str(int(value))


def op_template(op: str, attrs: Mapping | None = None) -> str:
    """The template text of one node: op ``op`` (a registered op name) with node ``attrs``.

    Deterministic; works for every registered op (ops without an explicit entry fall back on
    their kind and name). An unregistered op raises GraphError with the closest known names;
    a malformed attribute value (not a number) raises ArchrepError naming it.
    """
    spec = get_op(op)
    node = dict(OP_DEFAULT_ATTRS.get(op, {}))
    if attrs:
        node.update(attrs)
    kernel = node.get("kernel", spec.kernel)

    words = [PARAM_MARKER] if spec.has_params else []
    if op in OP_CLASS_WORDS:
        words.append(OP_CLASS_WORDS[op])
    else:
        parts = [p for p in re.split(r"[\s_\-./]+", op) if p]
        # the kind's word; an unlisted kind takes the op name's spelling of it ("MatMul")
        kind_word = KIND_WORDS.get(spec.kind) or next(
            (p for p in parts if p.lower() == spec.kind.lower()), spec.kind)
        if kind_word:
            words.append(kind_word)
        for part in parts:
            if part.lower() == kind_word.lower():
                continue
            if kernel is not None and re.fullmatch(r"\d+(x\d+)*", part):
                continue
            words.append(part)
        if len(words) == (1 if spec.has_params else 0):  # name and kind both empty
            words.append(op)
    if kernel is not None:
        words.append(_fmt_number(kernel, f"op {op!r}: attribute 'kernel'"))
    for key, word in ATTR_WORDS:
        if node.get(key) is not None:
            words.append(f"{word} {_fmt_number(node[key], f'op {op!r}: attribute {key!r}')}")
    return " ".join(words)


def node_templates(graph) -> list[str]:
    """The template of every node of an :class:`~archrep.graph.ArchGraph`, in node order."""
    return [op_template(op, attrs) for op, attrs in zip(graph.ops, graph.node_attrs)]


# ---------------------------------------------------------------------------- platforms
#: the accepted keys of a platform description, in template order, with how each is written.
#: The first six are the paper's "Nv GPU FP32 8.1 Turing 70W" (NVIDIA T4 at FP32: 8.1 TFLOPS
#: peak FP32 throughput, Turing architecture, 70 W TDP).
PLATFORM_FIELDS: tuple[tuple[str, str], ...] = (
    ("vendor", "abbreviated by VENDOR_WORDS (nvidia -> Nv), else as given"),
    ("device_type", "upper-cased: GPU, CPU, ASIC, FPGA, NPU, DSP, ..."),
    ("precision", "upper-cased, one of PRECISIONS"),
    ("throughput", "peak throughput at that precision, TFLOPS (TOPS for integer types), bare number"),
    ("architecture", "micro-architecture name as given: Turing, Ampere, Cascade Lake, ..."),
    ("tdp_w", "thermal design power in watts: '70W'"),
    ("memory_gbs", "peak memory bandwidth in GB/s: '320GB/s'"),
    ("compute_capability", "CUDA compute capability: 'CC 7.5'"),
    ("isa", "instruction-set flags as given, a string or a list: 'AVX512 VNNI'"),
    ("runtime", "inference runtime as given: 'TensorRT 7.1', 'ONNXRuntime 1.17'"),
    ("threads", "CPU threads used: 'Threads 8'"),
    ("batch", "batch size of the measurement: 'Batch 32'"),
)

VENDOR_WORDS: dict[str, str] = {
    "nvidia": "Nv",
    "intel": "Intel",
    "amd": "AMD",
    "arm": "Arm",
    "qualcomm": "Qualcomm",
    "apple": "Apple",
    "google": "Google",
    "samsung": "Samsung",
    "xilinx": "Xilinx",
    "huawei": "Huawei",
    "broadcom": "Broadcom",
}

PRECISIONS: tuple[str, ...] = ("FP32", "TF32", "FP16", "BF16", "FP8", "INT16", "INT8", "INT4")


def _text(value, key: str) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(_text(v, key) for v in value)
    if not isinstance(value, (str, Real)) or isinstance(value, bool) or not str(value).strip():
        raise ArchrepError(f"platform field {key!r} must be a non-empty string, got {value!r}")
    return str(value).strip()


def _positive(value, key: str, integer: bool = False) -> str:
    ok = (isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0
          and (not integer or float(value) == int(value)))
    if not ok:
        kind = "a positive integer" if integer else "a positive number"
        raise ArchrepError(f"platform field {key!r} must be {kind}, got {value!r}")
    return _fmt_number(value, f"platform field {key!r}")


def platform_template(desc: Mapping) -> str:
    """The template text of a hardware platform described by ``desc`` (keys of PLATFORM_FIELDS).

    Fields that are absent or None are left out; the others are written in PLATFORM_FIELDS
    order. ``{"vendor": "nvidia", "device_type": "gpu", "precision": "fp32", "throughput": 8.1,
    "architecture": "Turing", "tdp_w": 70}`` gives "Nv GPU FP32 8.1 Turing 70W".
    An unknown key, an unknown precision or a malformed value raises ArchrepError.
    """
    if not isinstance(desc, Mapping):
        raise ArchrepError(f"platform_template: desc must be a dict of platform fields, got {type(desc).__name__}")
    known = [k for k, _ in PLATFORM_FIELDS]
    unknown = sorted(set(desc) - set(known))
    if unknown:
        raise ArchrepError(f"platform_template: unknown field(s) {unknown}; accepted fields: {known}")
    d = {k: v for k, v in desc.items() if v is not None}
    if not d:
        raise ArchrepError(f"platform_template: the description is empty; give some of {known}")
    words: list[str] = []
    if "vendor" in d:
        vendor = _text(d["vendor"], "vendor")
        words.append(VENDOR_WORDS.get(vendor.lower(), vendor))
    if "device_type" in d:
        words.append(_text(d["device_type"], "device_type").upper())
    if "precision" in d:
        precision = _text(d["precision"], "precision").upper()
        if precision not in PRECISIONS:
            raise ArchrepError(f"platform field 'precision' is {d['precision']!r}; use one of {list(PRECISIONS)}")
        words.append(precision)
    if "throughput" in d:
        words.append(_positive(d["throughput"], "throughput"))
    if "architecture" in d:
        words.append(_text(d["architecture"], "architecture"))
    if "tdp_w" in d:
        words.append(_positive(d["tdp_w"], "tdp_w") + "W")
    if "memory_gbs" in d:
        words.append(_positive(d["memory_gbs"], "memory_gbs") + "GB/s")
    if "compute_capability" in d:
        words.append("CC " + _text(d["compute_capability"], "compute_capability"))
    if "isa" in d:
        words.append(_text(d["isa"], "isa"))
    if "runtime" in d:
        words.append(_text(d["runtime"], "runtime"))
    if "threads" in d:
        words.append("Threads " + _positive(d["threads"], "threads", integer=True))
    if "batch" in d:
        words.append("Batch " + _positive(d["batch"], "batch", integer=True))
    return " ".join(words)


# ---------------------------------------------------------------------------- accuracy conditions
#: analog-nasbench accuracy conditions (the nb201 targets ``<condition>_accuracy``) as platform
#: tokens. The bit widths and the PCM device are our reading of analog-nasbench (IBM aihwkit's
#: default phase-change-memory model); the package does not state them.
CONDITION_TEMPLATES: dict[str, str] = {
    "digital": "Digital FP32",               # full-precision training and inference
    "ptq": "PTQ INT8",                        # post-training quantisation
    "qat": "QAT INT8",                        # quantisation-aware training
    "noisy": "Analog noisy PCM",              # digital network evaluated with analog weight noise
    "analog": "Analog hardware-aware PCM",    # hardware-aware trained network on simulated analog hardware
}

#: other spellings accepted by condition_template
CONDITION_ALIASES: dict[str, str] = {"baseline": "digital"}


def condition_template(name: str) -> str:
    """The platform-token text of an accuracy condition: a key of CONDITION_TEMPLATES, an alias
    ("baseline" = "digital"), or an nb201 target name such as "ptq_accuracy" (case-insensitive)."""
    if not isinstance(name, str):
        raise ArchrepError(f"condition_template: name must be a string, got {name!r}")
    key = name.strip().lower()
    key = key[: -len("_accuracy")] if key.endswith("_accuracy") else key
    key = CONDITION_ALIASES.get(key, key)
    if key not in CONDITION_TEMPLATES:
        raise UnknownNameError(f"unknown accuracy condition {name!r}; use one of "
                               f"{sorted(CONDITION_TEMPLATES) + sorted(CONDITION_ALIASES)} "
                               "(optionally with the suffix '_accuracy')")
    return CONDITION_TEMPLATES[key]


def templates_for(names: Sequence[str], attrs: Mapping[str, Mapping] | None = None) -> list[str]:
    """Op templates for a vocabulary ``names`` (e.g. ``ArchDataset.op_vocab``); ``attrs`` maps
    an op name to the node attributes to use for it. A key of ``attrs`` not in ``names`` is an
    error (a typo would otherwise be ignored)."""
    attrs = dict(attrs or {})
    extra = sorted(set(attrs) - set(names))
    if extra:
        raise ArchrepError(f"attrs names op(s) {extra} that are not in the op vocabulary {list(names)}")
    return [op_template(op, attrs.get(op)) for op in names]
