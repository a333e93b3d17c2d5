"""Proxies of Mellor et al., "Neural Architecture Search without Training", in its two versions.

* ``jacov`` (v1, 2020; the "jacob_cov" of the zero-cost-proxies paper): the input Jacobians of
  the summed outputs, one row per image, their correlation matrix ``Σ`` with eigenvalues ``λ``;
  score ``-Σ_i [log(λ_i + k) + 1 / (λ_i + k)]``, ``k = 1e-5``. Higher is better.
* ``naswot`` (v2, ICML 2021): binary codes ``c`` of every ReLU (or GELU, for ViTs) unit, 1
  where its input is positive; kernel ``K = c cᵀ + (1 - c)(1 - c)ᵀ`` (the number of units on
  which two images agree, the complement of the Hamming distance); score ``log |det K|``.
  Higher is better.

Both run the net in train mode on a batch of real images. A batch that runs out of memory is
split; rows of the parts are concatenated (with batch-norm, each part has its own statistics).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from archrep.proxies.registry import register_proxy, split_on_oom

#: score of a net whose Jacobian correlation is undefined (constant outputs, e.g. an NB201 cell
#: with no input -> output path): below any attainable jacov score
JACOV_DEGENERATE = -1e8
#: score of a net whose NASWOT kernel is singular (log det = -inf)
NASWOT_DEGENERATE = -1e8


@register_proxy("jacov", higher_is_better=True)
def jacov(net, inputs, targets, *, seed):
    """Jacobian covariance (Mellor et al. v1): -sum(log(λ + 1e-5) + 1 / (λ + 1e-5)) of the
    correlation matrix of the per-image input Jacobians."""
    net.train()

    def part(a: int, b: int) -> torch.Tensor:
        x = inputs[a:b].clone().requires_grad_(True)
        (g,) = torch.autograd.grad(net(x).sum(), x)
        return g.reshape(len(x), -1)

    jac = torch.cat(split_on_oom(part, len(inputs))).double().cpu().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(jac)
    if not np.isfinite(corr).all():
        return JACOV_DEGENERATE
    lam = np.linalg.eigvalsh(corr)
    k = 1e-5
    return float(-np.sum(np.log(np.abs(lam + k)) + 1.0 / (lam + k)))


@register_proxy("naswot", higher_is_better=True)
def naswot(net, inputs, targets, *, seed):
    """NASWOT (Mellor et al. v2): log|det K| of the activation-pattern kernel of the ReLU/GELU units."""
    net.train()
    units = [m for m in net.modules() if isinstance(m, (nn.ReLU, nn.GELU))]

    def part(a: int, b: int) -> torch.Tensor:
        codes: list[torch.Tensor] = []
        hooks = [m.register_forward_hook(lambda _m, inp, _out: codes.append((inp[0] > 0).flatten(1)))
                 for m in units]
        try:
            with torch.no_grad():
                net(inputs[a:b])
        finally:
            for h in hooks:
                h.remove()
        return torch.cat(codes, 1) if codes else torch.zeros(b - a, 0, dtype=torch.bool)

    c = torch.cat(split_on_oom(part, len(inputs))).double()
    kernel = c @ c.T + (1 - c) @ (1 - c).T
    _, logdet = torch.linalg.slogdet(kernel.cpu())
    return float(logdet) if torch.isfinite(logdet) else NASWOT_DEGENERATE
