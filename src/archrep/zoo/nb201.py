"""NAS-Bench-201 networks as a family: the benchmark's macro skeleton around a sampled cell.

Skeleton (NB201's TinyNetwork): stem Conv3x3 (3 -> C, no bias) + BN; ``cells`` cells at C;
a residual reduction block to 2C (ReLU-Conv3x3/2-BN, ReLU-Conv3x3-BN; shortcut AvgPool 2x2 +
Conv1x1); ``cells`` cells at 2C; a block to 4C; ``cells`` cells at 4C; BN + ReLU; global
pool; Linear. A cell has 4 nodes; node j sums op(i -> j)(node i) over i < j, with the ops of
the arch string: ReLU-Conv-BN 1x1 / 3x3, AvgPool 3x3 (padding excluded from the mean),
identity, and 'none' as ``x * 0`` (as the benchmark runs it). The sampled knobs are the cell,
the input resolution and the batch; C = 16 and 5 cells per stage as in the benchmark.
"""
from __future__ import annotations

import random

from torch import nn

from archrep.spaces.nb201 import EDGES, OPS, arch_to_string, string_to_arch
from archrep.zoo import Family, families
from archrep.zoo.classic import common, pick


def _relu_conv_bn(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(cout))


class _Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def _edge_op(op: str, c: int) -> nn.Module:
    if op == "nor_conv_1x1":
        return _relu_conv_bn(c, c, 1)
    if op == "nor_conv_3x3":
        return _relu_conv_bn(c, c, 3)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    return nn.Identity() if op == "skip_connect" else _Zero()


class _Cell(nn.Module):
    def __init__(self, arch, c: int):
        super().__init__()
        self.edges = nn.ModuleList(_edge_op(op, c) for op in arch)

    def forward(self, x):
        nodes = [x]
        for j in (1, 2, 3):
            total = None
            for k, (i, t) in enumerate(EDGES):
                if t == j:
                    y = self.edges[k](nodes[i])
                    total = y if total is None else total + y
            nodes.append(total)
        return nodes[3]


class _Reduction(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(_relu_conv_bn(cin, cout, 3, 2), _relu_conv_bn(cout, cout, 3))
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


def build_nb201(c: dict) -> nn.Module:
    arch = string_to_arch(c["arch"])
    ch = c["channels"]
    layers: list[nn.Module] = [nn.Conv2d(3, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch)]
    for stage in range(3):
        if stage:
            layers.append(_Reduction(ch, ch * 2))
            ch *= 2
        layers += [_Cell(arch, ch) for _ in range(c["cells"])]
    layers += [nn.BatchNorm2d(ch), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ch, c["num_classes"])]
    return nn.Sequential(*layers)


def sample_nb201(rng: random.Random) -> dict:
    arch = tuple(pick(rng, OPS) for _ in EDGES)
    return {"arch": arch_to_string(arch), **common(rng, (16, 32, 48, 64, 96, 128))}


families.add("nb201", Family(
    "nb201", build_nb201, sample_nb201,
    {"arch": arch_to_string(("nor_conv_3x3",) * len(EDGES)), "channels": 16, "cells": 5, "num_classes": 10,
     "resolution": 32, "batch": 1},
    "NAS-Bench-201 network (Dong & Yang 2020): cell from an arch string, C=16, 5 cells per stage"))
