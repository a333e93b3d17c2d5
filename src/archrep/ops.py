"""The op vocabulary: canonical op names, whether they carry parameters, and their kind.

Every node of an :class:`~archrep.graph.ArchGraph` names one op from this vocabulary. Search
spaces and importers register the ops they produce (``register_op``); a graph with an op that is
not registered fails validation with the list of close matches. The ``kind`` groups ops for
feature templates (e.g. LeDG-Former's "ParamL Conv 3").
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

from archrep.errors import GraphError

INPUT = "input"
OUTPUT = "output"


@dataclass(frozen=True)
class OpSpec:
    """One op. ``kernel`` is the spatial kernel size where the op has a fixed one."""

    name: str
    kind: str
    has_params: bool
    kernel: int | None = None
    description: str = ""


_OPS: dict[str, OpSpec] = {}


def register_op(name: str, kind: str, has_params: bool, kernel: int | None = None,
                description: str = "") -> OpSpec:
    """Add an op to the vocabulary (idempotent for an identical spec)."""
    spec = OpSpec(name, kind, has_params, kernel, description)
    old = _OPS.get(name)
    if old is not None and old != spec:
        raise ValueError(f"op {name!r} is already registered as {old}")
    _OPS[name] = spec
    return spec


def get_op(name: str) -> OpSpec:
    """The spec of ``name``; an unknown op raises GraphError with the closest valid names."""
    try:
        return _OPS[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(_OPS), n=3)
        hint = f" Closest known ops: {', '.join(close)}." if close else ""
        raise GraphError(
            f"unknown op {name!r}.{hint} Register it with archrep.ops.register_op(...) "
            f"or use one of the {len(_OPS)} known ops (archrep.ops.known_ops())."
        ) from None


def is_known(name: str) -> bool:
    return name in _OPS


def known_ops() -> list[str]:
    return sorted(_OPS)


# --- vocabularies of the built-in search spaces ---------------------------------------------
register_op(INPUT, "io", False, description="graph input")
register_op(OUTPUT, "io", False, description="graph output")

# NAS-Bench-201 (edge ops, turned into nodes)
register_op("nor_conv_1x1", "conv", True, 1, "ReLU-Conv1x1-BN")
register_op("nor_conv_3x3", "conv", True, 3, "ReLU-Conv3x3-BN")
register_op("avg_pool_3x3", "pool", False, 3, "3x3 average pooling")
register_op("skip_connect", "identity", False, description="identity")
register_op("none", "zero", False, description="zero (no connection)")

# NAS-Bench-101
register_op("conv3x3-bn-relu", "conv", True, 3, "Conv3x3-BN-ReLU")
register_op("conv1x1-bn-relu", "conv", True, 1, "Conv1x1-BN-ReLU")
register_op("maxpool3x3", "pool", False, 3, "3x3 max pooling")

# DARTS / NAS-Bench-301 (plus the cell's combine node)
register_op("sep_conv_3x3", "conv", True, 3, "separable conv 3x3 (twice)")
register_op("sep_conv_5x5", "conv", True, 5, "separable conv 5x5 (twice)")
register_op("dil_conv_3x3", "conv", True, 3, "dilated separable conv 3x3")
register_op("dil_conv_5x5", "conv", True, 5, "dilated separable conv 5x5")
register_op("max_pool_3x3", "pool", False, 3, "3x3 max pooling")
# "avg_pool_3x3" and "skip_connect" are shared with NB201
register_op("add", "combine", False, description="element-wise sum of the inputs")
register_op("concat", "combine", False, description="channel concatenation of the inputs")

# NAS-Bench-Graph (GNN layer choices)
for _gnn in ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph"):
    register_op(_gnn, "gnn", True, description=f"{_gnn} graph convolution layer")
register_op("fc", "linear", True, description="fully-connected layer")
register_op("skip", "identity", False, description="identity")

# NAS-Bench-Macro (chain of MobileNet-style blocks)
register_op("identity", "identity", False, description="identity")
register_op("mb3_k3", "conv", True, 3, "MobileNetV2 block, expansion 3, kernel 3")
register_op("mb6_k5", "conv", True, 5, "MobileNetV2 block, expansion 6, kernel 5")

# FBNet and Once-for-All MobileNetV3 (chains of MobileNet inverted-residual blocks)
register_op("conv3x3-bn-hswish", "conv", True, 3, "Conv3x3-BN-HardSwish (MobileNetV3 stem)")
register_op("conv1x1-bn-hswish", "conv", True, 1, "Conv1x1-BN-HardSwish (MobileNetV3 head)")
register_op("global_avg_pool", "pool", False, description="global average pooling")

#: inverted-residual block op name -> (kernel, expansion, groups, squeeze-excite)
MBCONV_BLOCKS: dict[str, tuple[int, int, int, bool]] = {}


def mbconv_op(kernel: int, expansion: int, groups: int = 1, se: bool = False) -> str:
    """The op name of an inverted-residual block: 'mbconv_k5_e6', 'mbconv_k3_e1_g2', 'mbconv_k7_e4_se'."""
    return f"mbconv_k{kernel}_e{expansion}" + (f"_g{groups}" if groups > 1 else "") + ("_se" if se else "")


_FBNET_BLOCKS = [(k, e, g, False) for k in (3, 5) for e, g in ((1, 1), (1, 2), (3, 1), (6, 1))]
_OFA_BLOCKS = [(k, e, 1, se) for k in (3, 5, 7) for e in (3, 4, 6) for se in (False, True)]
for _k, _e, _g, _se in _FBNET_BLOCKS + _OFA_BLOCKS:
    _name = mbconv_op(_k, _e, _g, _se)
    MBCONV_BLOCKS[_name] = (_k, _e, _g, _se)
    register_op(_name, "conv", True, _k,
                f"MobileNet inverted-residual block, kernel {_k}, expansion {_e}"
                + (f", {_g} groups in the 1x1 convolutions" if _g > 1 else "")
                + (", squeeze-and-excitation" if _se else ""))
