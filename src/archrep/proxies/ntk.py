"""Empirical-NTK proxies: ``ntk`` (TE-NAS, Chen et al. 2021) and ``vintk`` (ViNTK, Zhou & Zhu
2024, arXiv 2405.04536), each also restricted to the MSA or the FFN parameters of a ViT
(``ntk_msa``, ``ntk_ffn``, ``vintk_msa``, ``vintk_ffn``).

**NTK (TE-NAS recipe).** On one batch of B real images, the net in train mode (batch-norm on
batch statistics): G is the B x P matrix whose row i is the gradient of the sum of image i's
logits w.r.t. every parameter whose name contains "weight" (also the BN / LN scales); the kernel
is Θ = G Gᵀ. Score κ = λ_max / λ_min (lower is better); a NaN κ, and (our addition, so that
round-off never makes a singular kernel look best) a kernel with λ_min <= 0, scores 1e5. Each
of ``repeats`` (3) fresh initialisations gives one κ, and the score is their mean. Init
``"kaiming"`` (TE-NAS): Conv/Linear weights Kaiming-normal (fan-in, ReLU gain), biases 0, norm
layers (1, 0), other parameters (class token, position embedding) as the net has them;
``init=None`` scores the net's own weights once.

**ViNTK.** Θ ∘ K (Hadamard product, PSD by the Schur product theorem), with K a random-Fourier-
feature kernel of the inputs: γ(x) = [cos(2π b_jᵀx), sin(2π b_jᵀx)]_{j<m} / √m, b_j ~ N(0, σ² I)
fixed by the seed, x the flattened normalised image, K_ij = γ(x_i)ᵀγ(x_j) (K_ii = 1; it
approximates the Gaussian kernel exp(-2π²σ²|x_i - x_j|²)). The paper leaves open the number of
features (it says p = 2), the scale and the statistic, so all are options: ``num_features``
m = 2 by default (our reading of p = 2), ``sigma`` a float or ``"median"`` (default:
σ = 1 / (2π median_{i<j} |x_i - x_j|), the median heuristic, so that typical pairs have
K ≈ exp(-1/2)), and ``statistic`` one of :data:`STATISTICS` (default ``cond``, as for NTK).
:func:`spectral_statistics` reports all statistics of both kernels from one NTK computation
(the ViNTK trace equals the NTK trace, K having a unit diagonal).

**Restrictions.** ``params="msa"`` keeps the weights inside the attention modules (``attn``:
Q-K-V and output projections), ``"ffn"`` those inside the MLP modules (``mlp``), of a ViT
from :func:`archrep.nets.vit_network`.

Directions: κ lower is better; λ_min, λ_max and the trace higher is better (a larger NTK
spectrum means faster convergence; NASI uses the trace).
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from archrep.errors import ArchrepError
from archrep.proxies.registry import register_proxy, split_on_oom

STATISTICS = ("cond", "lambda_max", "lambda_min", "trace")
HIGHER_IS_BETTER = {"cond": False, "lambda_max": True, "lambda_min": True, "trace": True}
PARAM_SETS = {"weight": "", "msa": "attn", "ffn": "mlp"}
KERNELS = ("ntk", "vintk")
#: κ of a kernel whose κ is NaN or whose smallest eigenvalue is not positive (TE-NAS: NaN -> 1e5)
DEGENERATE_COND = 1e5


def kaiming_init(net: nn.Module) -> nn.Module:
    """TE-NAS's Kaiming-normal initialisation (module docstring), in place."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)):
            if m.weight is not None:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
    return net


def kernel_params(net: nn.Module, params: str = "weight") -> list[torch.Tensor]:
    """The parameters whose gradients make the NTK: every one named "weight", or only those inside
    the ``attn`` (``params="msa"``) or ``mlp`` (``"ffn"``) modules."""
    if params not in PARAM_SETS:
        raise ArchrepError(f"unknown NTK parameter set {params!r}; valid: {', '.join(PARAM_SETS)}")
    module = PARAM_SETS[params]
    chosen = [p for name, p in net.named_parameters()
              if "weight" in name and (not module or f".{module}." in f".{name}")]
    if not chosen:
        raise ArchrepError(f"the net has no parameters for the {params!r} NTK (weights inside modules named "
                           f"{module!r}): the MSA/FFN restrictions need a ViT from archrep.nets.vit_network")
    return chosen


def empirical_ntks(net: nn.Module, inputs: torch.Tensor, param_sets=("weight",)) -> dict[str, torch.Tensor]:
    """Θ = G Gᵀ (float64, B x B) of the net as it is, in train mode (module docstring), for each
    of ``param_sets``, from one backward pass per image w.r.t. the union of their parameters (the
    kernel of a set is the sum over its parameters' gradient blocks)."""
    net.train()
    chosen = {s: kernel_params(net, s) for s in param_sets}
    weights = list({id(p): p for ps in chosen.values() for p in ps}.values())
    column = {id(p): i for i, p in enumerate(weights)}

    def part(a: int, b: int) -> dict[str, torch.Tensor]:
        out = net(inputs[a:b])
        rows: dict[str, list] = {s: [] for s in chosen}
        for i in range(b - a):  # one backward per image: faster on CPU than a vmapped backward
            grads = torch.autograd.grad(out[i].sum(), weights, retain_graph=i < b - a - 1, allow_unused=True)
            for s, ps in chosen.items():
                flat = [grads[column[id(p)]] for p in ps]
                rows[s].append(torch.cat([g.reshape(-1) for g in flat if g is not None]).double())
        return {s: torch.stack(r) for s, r in rows.items()}

    parts = split_on_oom(part, len(inputs))
    out = {}
    for s in chosen:
        g = torch.cat([p[s] for p in parts])
        out[s] = g @ g.T
    return out


def empirical_ntk(net: nn.Module, inputs: torch.Tensor, params: str = "weight") -> torch.Tensor:
    """Θ of one parameter set (:func:`empirical_ntks`)."""
    return empirical_ntks(net, inputs, (params,))[params]


def rff_kernel(inputs: torch.Tensor, num_features: int = 2, sigma: float | str = "median",
               seed: int = 0) -> torch.Tensor:
    """K_ij = γ(x_i)ᵀγ(x_j) of random Fourier features (module docstring), float64 B x B."""
    if not isinstance(num_features, int) or num_features < 1:
        raise ArchrepError(f"num_features must be a positive int, got {num_features!r}")
    x = inputs.detach().flatten(1).double().cpu()
    if sigma == "median":
        dist = torch.pdist(x)
        if len(dist) == 0 or float(dist.median()) == 0.0:
            raise ArchrepError("sigma='median' needs at least 2 distinct inputs; pass a float sigma")
        sigma = 1.0 / (2 * math.pi * float(dist.median()))
    if isinstance(sigma, str) or not sigma > 0:
        raise ArchrepError(f"sigma must be a positive float or 'median', got {sigma!r}")
    gen = torch.Generator().manual_seed(seed)
    b = torch.randn(num_features, x.shape[1], generator=gen, dtype=torch.float64) * sigma
    proj = 2 * math.pi * x @ b.T
    feats = torch.cat([proj.cos(), proj.sin()], 1) / math.sqrt(num_features)
    return (feats @ feats.T).to(inputs.device)


def statistics(kernel: torch.Tensor) -> dict[str, float]:
    """κ, λ_max, λ_min and the trace of a symmetric kernel (κ rule in the module docstring)."""
    eig = torch.linalg.eigvalsh(kernel.double().cpu())
    lmin, lmax = float(eig[0]), float(eig[-1])
    cond = lmax / lmin if lmin > 0 else float("nan")
    return {"cond": cond if math.isfinite(cond) else DEGENERATE_COND, "lambda_max": lmax,
            "lambda_min": lmin, "trace": float(kernel.diagonal().sum())}


def _spectral(net: nn.Module, inputs: torch.Tensor, *, seed: int, param_sets: tuple[str, ...], repeats: int,
              init: str | None, batch_size: int | None, num_features: int, sigma: float | str,
              kernels: tuple[str, ...] = KERNELS) -> dict[str, dict[str, dict[str, float]]]:
    if init not in ("kaiming", None):
        raise ArchrepError(f"unknown NTK init {init!r}; valid: 'kaiming', None (keep the net's weights)")
    if not isinstance(repeats, int) or repeats < 1:
        raise ArchrepError(f"repeats must be a positive int, got {repeats!r}")
    x = inputs if batch_size is None else inputs[:batch_size]
    if len(x) < 2:
        raise ArchrepError(f"an NTK needs a batch of at least 2 inputs, got {len(x)}")
    rff = rff_kernel(x, num_features, sigma, seed) if "vintk" in kernels else None
    runs = []
    for _ in range(repeats if init else 1):
        if init:
            kaiming_init(net)
        thetas = empirical_ntks(net, x, param_sets)
        runs.append({s: {k: statistics(theta if k == "ntk" else theta * rff) for k in kernels}
                     for s, theta in thetas.items()})
    return {s: {k: {st: sum(r[s][k][st] for r in runs) / len(runs) for st in STATISTICS} for k in kernels}
            for s in param_sets}


def spectral_statistics_by_set(net: nn.Module, inputs: torch.Tensor, param_sets=("weight",), *, seed: int = 0,
                               repeats: int = 3, init: str | None = "kaiming", batch_size: int | None = None,
                               num_features: int = 2, sigma: float | str = "median") -> dict[str, dict]:
    """Every statistic of both kernels for each parameter set, ``{set: {"ntk": {...}, "vintk":
    {...}}}``, averaged over the repeats, from one gradient pass per image and repeat; equal to
    what the registered proxies return for the same options (the net is copied and the torch RNG
    forked and seeded, as they do)."""
    net = copy.deepcopy(net)
    device = next(net.parameters()).device
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        return _spectral(net, inputs.to(device), seed=seed, param_sets=tuple(param_sets), repeats=repeats,
                         init=init, batch_size=batch_size, num_features=num_features, sigma=sigma)


def spectral_statistics(net: nn.Module, inputs: torch.Tensor, *, params: str = "weight", **options) -> dict[str, dict]:
    """``{"ntk": {...}, "vintk": {...}}`` of one parameter set (:func:`spectral_statistics_by_set`)."""
    return spectral_statistics_by_set(net, inputs, (params,), **options)[params]


def _direction(options: dict) -> bool:
    return HIGHER_IS_BETTER[options["statistic"]]


def _make(kernel: str, params: str):
    def proxy(net, inputs, targets, *, seed, statistic, repeats, init, batch_size, **rff):
        if statistic not in STATISTICS:
            raise ArchrepError(f"unknown spectral statistic {statistic!r}; valid: {', '.join(STATISTICS)}")
        stats = _spectral(net, inputs, seed=seed, param_sets=(params,), repeats=repeats, init=init,
                          batch_size=batch_size, num_features=rff.get("num_features", 2),
                          sigma=rff.get("sigma", "median"), kernels=(kernel,))
        return stats[params][kernel][statistic]

    where = {"weight": "", "msa": ", MSA weights only", "ffn": ", FFN weights only"}[params]
    proxy.__doc__ = (f"{'ViNTK: NTK ∘ random-Fourier-feature kernel' if kernel == 'vintk' else 'Empirical NTK'}"
                     f"{where}; a spectral statistic (default condition number, lower is better).")
    options = dict(statistic="cond", repeats=3, init="kaiming", batch_size=None)
    if kernel == "vintk":
        options.update(num_features=2, sigma="median")
    name = kernel if params == "weight" else f"{kernel}_{params}"
    register_proxy(name, higher_is_better=_direction, **options)(proxy)


for _kernel in KERNELS:
    for _params in PARAM_SETS:
        _make(_kernel, _params)
