"""The NAS-Bench-201 network of a cell (the benchmark's ``TinyNetwork``).

The skeleton is the one of :mod:`archrep.zoo.nb201` (used for latency profiling): stem
Conv3x3 + BN at C; N cells; residual reduction block to 2C; N cells; block to 4C; N cells;
BN + ReLU, global average pooling, Linear. Its parameter count equals the benchmark's
(:func:`archrep.spaces.nb201_cost.nb201_cost`, tested).
"""
from __future__ import annotations

from typing import Any

from torch import nn

from archrep.errors import ArchrepError
from archrep.spaces.nb201 import NB201Space, arch_to_string
from archrep.zoo.nb201 import build_nb201


def nb201_network(arch: Any, C: int = 16, N: int = 5, num_classes: int = 10) -> nn.Module:
    """The network of ``arch`` (arch string or 6-op tuple); C = 16, N = 5 as in the benchmark."""
    for name, value in (("C", C), ("N", N), ("num_classes", num_classes)):
        if not isinstance(value, int) or value < 1:
            raise ArchrepError(f"nb201_network: {name} must be a positive int, got {value!r}")
    ops = NB201Space()._check(arch)
    return build_nb201({"arch": arch_to_string(ops), "channels": C, "cells": N, "num_classes": num_classes})
