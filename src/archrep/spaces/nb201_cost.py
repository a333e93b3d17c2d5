"""Analytic parameter count and FLOPs of a whole NAS-Bench-201 network for a given cell.

The network (NB201's ``TinyNetwork``, C=16, N=5): stem Conv3x3(3->C, no bias) + BN; 5 cells
at C; a residual reduction block (ReLU-Conv3x3 stride 2-BN, ReLU-Conv3x3-BN, shortcut
AvgPool2d(2) + Conv1x1, no bias) to 2C; 5 cells; a block to 4C; 5 cells; BN + ReLU; global
average pool; Linear(4C -> num_classes, with bias). Cell edges: ``nor_conv_kxk`` = ReLU-Conv kxk
(C->C, no bias)-BN(affine); ``avg_pool_3x3`` = AvgPool2d(3, stride 1, pad 1); 'skip_connect' and
'none' cost nothing. Every edge counts, also one on no input->output path (the benchmark
builds and runs it). Input 32x32 for CIFAR-10/100, 16x16 for ImageNet16-120 (:data:`DATASETS`).

``params`` (millions) counts every weight, BN affine pair and the classifier bias; both
conventions agree on it. ``flops`` (millions) follows one of two counters:

* ``"nb201"``: the NB201 benchmark's own counter: multiply-accumulates of the convolutions
  and of the classifier (plus its bias adds); BN, ReLU, pooling and additions count nothing.
  Taken from the counting rules, NOT checked against data here (no file at hand holds the
  official FLOPs).
* ``"torchstat"``: the counter (torchstat, via tensorwatch) behind the NAS-Bench-Suite-Zero
  file ``zc_nasbench201.json``: convolution multiply-accumulates, BN 2 per element (affine),
  ReLU 1 per element, pooling kernel-area per output element, global pooling
  C x (H+1) x (W+1), classifier in x out without bias. Matches that file EXACTLY (to its 6
  decimals, params and flops) for all its cells of CIFAR-10, CIFAR-100 and ImageNet16-120.

That file keys cells by NASLib op-index tuples, whose conventions differ from NB201's own (see
:func:`naslib_to_arch`): indices 0..4 = skip_connect, none, nor_conv_3x3, nor_conv_1x1,
avg_pool_3x3, over the edges 0->1, 0->2, 0->3, 1->2, 1->3, 2->3 (NOT the arch-string order).
"""
from __future__ import annotations

import ast
from typing import Any

import numpy as np

from archrep.errors import ArchrepError
from archrep.spaces.nb201 import EDGES, NUM_ARCHS, OPS, string_to_arch

CONVENTIONS = ("nb201", "torchstat")
#: dataset -> (num_classes, input_size)
DATASETS: dict[str, tuple[int, int]] = {"cifar10": (10, 32), "cifar100": (100, 32),
                                        "ImageNet16-120": (120, 16)}
STEM_CHANNELS = 16
CELLS_PER_STAGE = 5
#: NASLib's NB201 op index order
NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: NASLib's NB201 edge order, as (source, target) cell nodes
NASLIB_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
_NASLIB_POS = tuple(NASLIB_EDGES.index(e) for e in EDGES)  # arch-string edge i <- NASLib position


# ------------------------------------------------------------------------------ layer costs
def _conv(cin: int, cout: int, k: int, h: int, w: int) -> tuple[int, dict[str, int]]:
    """Conv2d without bias, output h x w: (params, {convention: flops})."""
    macs = k * k * cin * cout * h * w
    return k * k * cin * cout, {"nb201": macs, "torchstat": macs}


def _bn(c: int, h: int, w: int) -> tuple[int, dict[str, int]]:
    return 2 * c, {"nb201": 0, "torchstat": 2 * c * h * w}


def _relu(c: int, h: int, w: int) -> tuple[int, dict[str, int]]:
    return 0, {"nb201": 0, "torchstat": c * h * w}


def _pool(c: int, k: int, h_out: int, w_out: int) -> tuple[int, dict[str, int]]:
    return 0, {"nb201": 0, "torchstat": c * h_out * w_out * k * k}


def _global_pool(c: int, h: int, w: int) -> tuple[int, dict[str, int]]:
    return 0, {"nb201": 0, "torchstat": c * (h + 1) * (w + 1)}


def _linear(fin: int, fout: int) -> tuple[int, dict[str, int]]:
    return fin * fout + fout, {"nb201": fin * fout + fout, "torchstat": fin * fout}


def _total(layers: list[tuple[int, dict[str, int]]], convention: str) -> tuple[int, int]:
    return sum(p for p, _ in layers), sum(f[convention] for _, f in layers)


def _relu_conv_bn(cin: int, cout: int, k: int, h_in: int, h_out: int) -> list:
    return [_relu(cin, h_in, h_in), _conv(cin, cout, k, h_out, h_out), _bn(cout, h_out, h_out)]


def _stages(input_size: int) -> list[tuple[int, int]]:
    """(channels, spatial size) of the three cell stages."""
    return [(STEM_CHANNELS * 2 ** s, input_size // 2 ** s) for s in range(3)]


def _skeleton(num_classes: int, input_size: int) -> list:
    """Every layer outside the cells."""
    (c1, h1), (c2, h2), (c3, h3) = _stages(input_size)
    layers = [_conv(3, c1, 3, h1, h1), _bn(c1, h1, h1)]
    for (cin, hin), (cout, hout) in (((c1, h1), (c2, h2)), ((c2, h2), (c3, h3))):
        layers += _relu_conv_bn(cin, cout, 3, hin, hout)      # conv_a, stride 2
        layers += _relu_conv_bn(cout, cout, 3, hout, hout)    # conv_b
        layers += [_pool(cin, 2, hout, hout), _conv(cin, cout, 1, hout, hout)]  # shortcut
    layers += [_bn(c3, h3, h3), _relu(c3, h3, h3), _global_pool(c3, h3, h3), _linear(c3, num_classes)]
    return layers


def _edge(op: str, c: int, h: int) -> list:
    if op == "nor_conv_3x3":
        return _relu_conv_bn(c, c, 3, h, h)
    if op == "nor_conv_1x1":
        return _relu_conv_bn(c, c, 1, h, h)
    if op == "avg_pool_3x3":
        return [_pool(c, 3, h, h)]
    return []  # skip_connect, none


def _check_setup(num_classes: int, input_size: int, convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ArchrepError(f"unknown FLOPs convention {convention!r}; valid: {', '.join(CONVENTIONS)}")
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ArchrepError(f"num_classes must be an integer >= 1, got {num_classes!r}")
    if not isinstance(input_size, (int, np.integer)) or input_size < 4 or input_size % 4:
        raise ArchrepError(f"input_size must be a positive multiple of 4 (two stride-2 stages), "
                           f"got {input_size!r}")


def _per_op_costs(num_classes: int, input_size: int, convention: str) -> tuple[tuple[int, int], np.ndarray]:
    """(skeleton (params, flops), array [len(OPS), 2] of one edge's cost over all 15 cells)."""
    _check_setup(num_classes, input_size, convention)
    base = _total(_skeleton(int(num_classes), int(input_size)), convention)
    per_op = np.zeros((len(OPS), 2), dtype=np.int64)
    for i, op in enumerate(OPS):
        for c, h in _stages(int(input_size)):
            p, f = _total(_edge(op, c, h), convention)
            per_op[i] += (CELLS_PER_STAGE * p, CELLS_PER_STAGE * f)
    return base, per_op


def _as_arch(arch: Any) -> tuple[str, ...]:
    if isinstance(arch, str):
        return string_to_arch(arch)
    if not isinstance(arch, (tuple, list)) or len(arch) != len(EDGES) or any(op not in OPS for op in arch):
        raise ArchrepError(f"not an NB201 arch: {arch!r}; expected 6 ops from {', '.join(OPS)} "
                           "or an arch string")
    return tuple(arch)


# ------------------------------------------------------------------------------ public API
def nb201_cost(arch: Any, num_classes: int = 10, input_size: int = 32,
               convention: str = "nb201") -> dict[str, float]:
    """``{"params": millions, "flops": millions}`` of the whole network for the cell ``arch``
    (an op tuple in arch-string edge order, or an arch string). See the module docstring."""
    a = _as_arch(arch)
    (p, f), per_op = _per_op_costs(num_classes, input_size, convention)
    for op in a:
        p += int(per_op[OPS.index(op), 0])
        f += int(per_op[OPS.index(op), 1])
    return {"params": p / 1e6, "flops": f / 1e6}


def nb201_cost_table(num_classes: int = 10, input_size: int = 32,
                     convention: str = "nb201") -> dict[str, np.ndarray]:
    """Params and FLOPs (millions) of all 15,625 cells at once, in ``NB201Space.enumerate()``
    order (edge 0->1 varying slowest, ops in NB201 order): the cost is the skeleton's plus
    one per-op term per edge, so it is a table lookup and a sum."""
    (p0, f0), per_op = _per_op_costs(num_classes, input_size, convention)
    idx = np.arange(NUM_ARCHS)
    digits = (idx[:, None] // len(OPS) ** np.arange(len(EDGES) - 1, -1, -1)) % len(OPS)
    totals = per_op[digits].sum(axis=1)  # [N, 2]
    return {"params": (p0 + totals[:, 0]) / 1e6, "flops": (f0 + totals[:, 1]) / 1e6}


def naslib_to_arch(key: Any) -> tuple[str, ...]:
    """An NB201 arch (arch-string edge order) from a NASLib op-index tuple or its text
    ``"(4, 3, 3, 3, 2, 3)"``: index i is ``NASLIB_OPS[i]``, position j is edge
    ``NASLIB_EDGES[j]``. Established on the NAS-Bench-Suite-Zero data: params and FLOPs fix
    the conv and pool indices, disconnected cells (accuracy at chance) fix 'none' and the edge
    order, and the accuracies of all 15,625 cells agree with NB201's (correlation 0.994)."""
    t = key
    if isinstance(key, str):
        try:
            t = ast.literal_eval(key.strip())
        except (ValueError, SyntaxError):
            raise ArchrepError(f"malformed NASLib NB201 key {key!r}: expected a tuple such as "
                               "'(4, 3, 3, 3, 2, 3)'") from None
    if (not isinstance(t, (tuple, list)) or len(t) != len(EDGES)
            or any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(NASLIB_OPS) for i in t)):
        raise ArchrepError(f"malformed NASLib NB201 key {key!r}: expected 6 op indices in 0..4")
    return tuple(NASLIB_OPS[t[_NASLIB_POS[j]]] for j in range(len(EDGES)))


def arch_to_naslib(arch: Any) -> tuple[int, ...]:
    """Inverse of :func:`naslib_to_arch`."""
    a = _as_arch(arch)
    out = [0] * len(EDGES)
    for j, op in enumerate(a):
        out[_NASLIB_POS[j]] = NASLIB_OPS.index(op)
    return tuple(out)
