"""Pruning-at-initialisation proxies (Abdelfattah et al. 2021, "Zero-Cost Proxies"): grad_norm,
snip and synflow, summed over the weights of the Conv2d and Linear layers.

grad_norm and snip use the cross-entropy loss (mean over the batch) of the net in train mode
(batch-norm on batch statistics). A batch that runs out of memory is split and the gradients of
the parts summed, weighted by their sizes (with batch-norm, each part then has its own
statistics).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archrep.proxies.registry import check_targets, one_input_shape, prunable_layers, register_proxy, split_on_oom


def _loss_grads(name: str, net: nn.Module, inputs: torch.Tensor, targets, weights: list[torch.Tensor]):
    """Gradients of the mean cross-entropy over the whole batch w.r.t. ``weights``."""
    net.train()
    n = len(inputs)

    def part(a: int, b: int):
        logits = net(inputs[a:b])
        loss = F.cross_entropy(logits, check_targets(name, targets[a:b] if targets is not None else None, logits),
                               reduction="sum") / n
        return torch.autograd.grad(loss, weights, allow_unused=True)

    parts = split_on_oom(part, n)
    return [sum((p[i] for p in parts if p[i] is not None), torch.zeros_like(w)) for i, w in enumerate(weights)]


@register_proxy("grad_norm", higher_is_better=True)
def grad_norm(net, inputs, targets, *, seed):
    """Sum over Conv2d/Linear layers of the L2 norm of the loss gradient w.r.t. the layer's weight."""
    weights = [m.weight for m in prunable_layers(net)]
    return float(sum(g.norm() for g in _loss_grads("grad_norm", net, inputs, targets, weights)))


@register_proxy("snip", higher_is_better=True)
def snip(net, inputs, targets, *, seed):
    """SNIP saliency: sum over Conv2d/Linear weights of |weight x d loss / d weight|."""
    weights = [m.weight for m in prunable_layers(net)]
    grads = _loss_grads("snip", net, inputs, targets, weights)
    return float(sum((w.detach() * g).abs().sum() for w, g in zip(weights, grads)))


def _drop_batchnorm(net: nn.Module) -> nn.Module:
    """Replace every BatchNorm layer by the identity (in place)."""
    for name, child in net.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(net, name, nn.Identity())
        else:
            _drop_batchnorm(child)
    return net


@register_proxy("synflow", higher_is_better=True, needs_data=False, input_shape=None)
def synflow(net, inputs, targets, *, seed, input_shape):
    """SynFlow (Tanaka et al. 2020): sum over Conv2d/Linear weights of |w x dR/dw|, with R the sum
    of the outputs of the net with all parameters and buffers made positive (|.|) on an all-ones
    input, in float64. Data-free: only the input shape is used.

    Batch-norm layers are removed (the zero-cost-proxies recipe, ``bn=False``): on one constant
    input, batch statistics would normalise every activation to zero. Other layers (LayerNorm,
    pooling, attention) stay, in eval mode.
    """
    net = _drop_batchnorm(net).double().eval()
    with torch.no_grad():
        for t in [*net.parameters(), *net.buffers()]:
            if t.is_floating_point():
                t.abs_()
    weights = [m.weight for m in prunable_layers(net)]
    x = torch.ones((1, *one_input_shape(inputs, input_shape)), dtype=torch.float64, device=weights[0].device)
    grads = torch.autograd.grad(net(x).sum(), weights, allow_unused=True)
    return float(sum((w.detach() * g).abs().sum() for w, g in zip(weights, grads) if g is not None))
