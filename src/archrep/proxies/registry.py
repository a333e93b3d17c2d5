"""The proxy registry, the :class:`Proxy` wrapper, and helpers shared by the proxy families.

A proxy is a function ``fn(net, inputs, targets, *, seed, **options) -> float`` registered with
``@register_proxy(name, higher_is_better=...)``. :class:`Proxy` calls it on a deep copy of the
net (the caller's net and its gradients are never touched), inside a forked torch RNG seeded with
``seed``, with the inputs moved to the net's device; so a score depends only on (net, inputs,
targets, seed, options). Every score is a finite float: degenerate networks get a documented
sentinel instead of NaN or infinity.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from archrep.errors import ArchrepError
from archrep.registry import Registry


@dataclass(frozen=True)
class Proxy:
    """A registered proxy. ``higher_is_better`` is a bool, or a function of the call's options
    (the spectral proxies: it depends on the statistic)."""

    name: str
    fn: Callable[..., float]
    higher_is_better: bool | Callable[[dict], bool]
    needs_data: bool
    description: str
    defaults: dict = field(default_factory=dict)

    def is_higher_better(self, **options) -> bool:
        """The direction of the score for these options (True: a larger score predicts a better net)."""
        hib = self.higher_is_better
        return hib({**self.defaults, **options}) if callable(hib) else hib

    def __call__(self, net: nn.Module, inputs: torch.Tensor | None = None, targets: torch.Tensor | None = None,
                 *, seed: int = 0, **options) -> float:
        if not isinstance(net, nn.Module):
            raise ArchrepError(f"proxy {self.name!r} scores a torch nn.Module, got {type(net).__name__}; "
                               "build one with archrep.nets.network(space, arch)")
        unknown = sorted(set(options) - set(self.defaults))
        if unknown:
            raise ArchrepError(f"unknown option(s) {', '.join(unknown)} for proxy {self.name!r}; "
                               f"valid: {', '.join(sorted(self.defaults)) or 'none'}")
        if inputs is None and (self.needs_data or options.get("input_shape") is None):
            what = "a batch of real images" if self.needs_data else "inputs (for their shape) or input_shape="
            raise ArchrepError(f"proxy {self.name!r} needs {what}: see archrep.proxies.inputs.load_images")
        if inputs is not None and (inputs.ndim < 2 or len(inputs) < 1):
            raise ArchrepError(f"proxy {self.name!r}: inputs must be a batch [n, ...], got shape {tuple(inputs.shape)}")
        if self.needs_data and targets is not None and len(targets) != len(inputs):
            raise ArchrepError(f"proxy {self.name!r}: {len(inputs)} inputs but {len(targets)} targets")
        net = copy.deepcopy(net)
        device = next((p.device for p in net.parameters()), torch.device("cpu"))
        inputs = inputs.to(device) if inputs is not None else None
        targets = targets.to(device) if targets is not None else None
        devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            value = float(self.fn(net, inputs, targets, seed=seed, **{**self.defaults, **options}))
        if not math.isfinite(value):
            raise ArchrepError(f"proxy {self.name!r} produced {value}; this is a bug, please report it")
        return value


PROXIES: Registry[Proxy] = Registry("proxy")


def register_proxy(name: str, *, higher_is_better: bool | Callable[[dict], bool], needs_data: bool = True,
                   **defaults) -> Callable[[Callable], Callable]:
    """Decorator: register ``fn(net, inputs, targets, *, seed, **options)`` as proxy ``name``;
    ``defaults`` are its options (the only keyword arguments a caller may pass)."""

    def deco(fn: Callable) -> Callable:
        doc = (fn.__doc__ or "").strip().split("\n")[0]
        PROXIES.add(name, Proxy(name, fn, higher_is_better, needs_data, doc, dict(defaults)))
        return fn

    return deco


def get(name: str) -> Proxy:
    """The proxy registered as ``name``; unknown names list the valid ones."""
    return PROXIES.get(name)


def list_proxies(pattern: str = "*") -> list[str]:
    return PROXIES.names(pattern)


def score(name: str, net: nn.Module, inputs: torch.Tensor | None = None, targets: torch.Tensor | None = None,
          *, seed: int = 0, **options) -> float:
    """``get(name)(net, inputs, targets, seed=seed, **options)``."""
    return get(name)(net, inputs, targets, seed=seed, **options)


# ------------------------------------------------------------------------------ shared helpers
def is_oom(exc: BaseException) -> bool:
    """True for an out-of-memory error of any torch device (CUDA, MPS, CPU allocator)."""
    if isinstance(exc, getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)):
        return True
    msg = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in msg or "can't allocate memory" in msg)


def split_on_oom(fn: Callable[[int, int], Any], n: int, *, min_size: int = 1) -> list:
    """``[fn(0, n)]``, or, when that runs out of memory, the results over the two halves of
    ``[0, n)`` (recursively, in order) until each part fits; a part of ``min_size`` items that
    still does not fit raises ArchrepError. ``fn(start, stop)`` must leave no partial state behind
    when it fails (return its result rather than accumulate into ``.grad``)."""

    def run(a: int, b: int) -> list:
        try:
            return [fn(a, b)]
        except Exception as exc:  # noqa: BLE001 - anything but an OOM is re-raised
            if not is_oom(exc):
                raise
            if b - a <= min_size:
                raise ArchrepError(f"out of memory even for {b - a} input(s): use a smaller network, fewer "
                                   "inputs, or a device with more memory") from exc
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            mid = (a + b) // 2
            return run(a, mid) + run(mid, b)

    return run(0, n)


def prunable_layers(net: nn.Module) -> list[nn.Module]:
    """The Conv2d and Linear layers: the layers whose weights the pruning-at-init proxies (snip,
    grad_norm, synflow) score, as in Abdelfattah et al. 2021."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def one_input_shape(inputs: torch.Tensor | None, input_shape) -> tuple[int, ...]:
    """The shape of one input: from ``inputs`` when given, else the ``input_shape`` option."""
    return tuple(inputs.shape[1:]) if inputs is not None else tuple(input_shape)


def check_targets(name: str, targets: torch.Tensor | None, logits: torch.Tensor) -> torch.Tensor:
    """Targets for a loss; a missing or out-of-range one raises ArchrepError."""
    if targets is None:
        raise ArchrepError(f"proxy {name!r} needs targets (class labels) beside the inputs")
    if targets.dtype not in (torch.int64, torch.int32) or targets.min() < 0 or targets.max() >= logits.shape[1]:
        raise ArchrepError(f"proxy {name!r}: targets must be class indices in 0..{logits.shape[1] - 1}")
    return targets.long()
