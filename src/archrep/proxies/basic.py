"""Data-free size proxies: ``params`` and ``flops``."""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from archrep.proxies.registry import one_input_shape, register_proxy


@register_proxy("params", higher_is_better=True, needs_data=False, input_shape=None)
def params(net, inputs, targets, *, seed, input_shape):
    """Number of parameters, in millions (every nn.Parameter of the net)."""
    return sum(p.numel() for p in net.parameters()) / 1e6


@register_proxy("flops", higher_is_better=True, needs_data=False, input_shape=None)
def flops(net, inputs, targets, *, seed, input_shape):
    """Multiply-accumulates of one input, in millions: torch's FLOP counter (convolutions, matrix
    products, attention) halved; normalisation, activations and pooling count nothing (the
    NAS-Bench-201 convention, :func:`archrep.spaces.nb201_cost.nb201_cost`)."""
    x = torch.zeros((1, *one_input_shape(inputs, input_shape)), device=next(net.parameters()).device)
    net.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(x)
    return counter.get_total_flops() / 2 / 1e6
