"""The NAS-Bench-101 network of a cell (the benchmark's CIFAR-10 model, rewritten in PyTorch).

Macro: stem Conv3x3-BN-ReLU to 128 channels; 3 stacks of 3 cells; before stacks 2 and 3 a
2x2 max-pool (stride 2) and the channel count doubles (128, 256, 512); global average pooling;
Linear to the classes (with bias). Convolutions have no bias; BN has an affine pair (the
benchmark's TensorFlow BN: decay 0.997, eps 1e-5; PyTorch's momentum is left at its default,
which no training-free proxy sees).

Inside a cell of ``n`` vertices with ``C_out`` output channels (the official rules):

* channels: the vertices feeding the output share ``C_out`` (``C_out // k`` each, the first
  ``C_out % k`` get one more); every other interior vertex takes the largest channel count
  of the interior vertices it feeds (walking back from the output);
* a vertex sums its inputs: interior inputs truncated to its channels (their first channels),
  the cell input through a Conv1x1-BN-ReLU projection; then applies its op (Conv3x3-BN-ReLU,
  Conv1x1-BN-ReLU, or 3x3 max-pool with stride 1 and padding 1);
* the output concatenates the interior vertices that feed it, plus a projection of the cell
  input when the input feeds the output directly (added, not concatenated); a cell whose only
  edge is input -> output is that projection alone.

The spec is pruned first (extraneous vertices dropped, as the benchmark does).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from archrep.spaces.nb101 import _checked_pruned

STEM_CHANNELS = 128
NUM_STACKS = 3
CELLS_PER_STACK = 3


def _conv_bn_relu(cin: int, cout: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, 1, kernel // 2, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU())


def _op(name: str, channels: int) -> nn.Module:
    if name == "conv3x3-bn-relu":
        return _conv_bn_relu(channels, channels, 3)
    if name == "conv1x1-bn-relu":
        return _conv_bn_relu(channels, channels, 1)
    return nn.MaxPool2d(3, 1, 1)  # maxpool3x3 (the spec is validated before)


def vertex_channels(c_in: int, c_out: int, matrix) -> list[int]:
    """Channels of every vertex of a pruned cell (the official rule, see the module docstring)."""
    n = len(matrix)
    ch = [0] * n
    ch[0], ch[-1] = c_in, c_out
    if n == 2:
        return ch
    feeders = [v for v in range(1, n - 1) if matrix[v][n - 1]]
    share, extra = divmod(c_out, len(feeders))
    for k, v in enumerate(feeders):
        ch[v] = share + (1 if k < extra else 0)
    for v in range(n - 2, 0, -1):
        if not matrix[v][n - 1]:
            ch[v] = max(ch[d] for d in range(v + 1, n - 1) if matrix[v][d])
    return ch


class NB101Cell(nn.Module):
    """One cell (module docstring); ``matrix`` and ``ops`` of a pruned, valid spec."""

    def __init__(self, matrix, ops, c_in: int, c_out: int):
        super().__init__()
        self.matrix = [list(r) for r in matrix]
        n = len(ops)
        self.ch = vertex_channels(c_in, c_out, self.matrix)
        self.ops = nn.ModuleDict({str(v): _op(ops[v], self.ch[v]) for v in range(1, n - 1)})
        self.proj = nn.ModuleDict({str(v): _conv_bn_relu(c_in, self.ch[v], 1)
                                   for v in range(1, n) if self.matrix[0][v]})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, n = self.matrix, len(self.matrix)
        values: list[torch.Tensor | None] = [x]
        for v in range(1, n - 1):
            ins = [values[u][:, :self.ch[v]] for u in range(1, v) if m[u][v]]
            if m[0][v]:
                ins.append(self.proj[str(v)](x))
            values.append(self.ops[str(v)](sum(ins[1:], ins[0])))
        outs = [values[v] for v in range(1, n - 1) if m[v][n - 1]]
        if not outs:
            return self.proj[str(n - 1)](x)
        out = torch.cat(outs, 1) if len(outs) > 1 else outs[0]
        return out + self.proj[str(n - 1)](x) if m[0][n - 1] else out


def nb101_network(spec: Any, num_classes: int = 10, stem_channels: int = STEM_CHANNELS,
                  num_stacks: int = NUM_STACKS, cells_per_stack: int = CELLS_PER_STACK) -> nn.Module:
    """The network of an NB101 spec ((matrix, ops), dict, NB101Spec or key string)."""
    if isinstance(spec, str):
        from archrep.spaces.nb101 import string_to_spec

        spec = string_to_spec(spec)
    pruned = _checked_pruned(spec)
    layers: list[nn.Module] = [_conv_bn_relu(3, stem_channels, 3)]
    c_in = c = stem_channels
    for stack in range(num_stacks):
        if stack:
            layers.append(nn.MaxPool2d(2, 2))
            c *= 2
        for _ in range(cells_per_stack):
            layers.append(NB101Cell(pruned.matrix, pruned.ops, c_in, c))
            c_in = c
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes)]
    return nn.Sequential(*layers)
