"""Real PyTorch networks from architectures of a search space.

``network("nb201", arch)`` builds the benchmark's network for an arch of that space (an arch
object or its key string); each space's builder is also importable: :func:`nb201_network`,
:func:`nb101_network`, :func:`vit_network`. Networks come in train mode with PyTorch's default
initialisation drawn from the global torch RNG: seed it (``torch.manual_seed``) for a fixed net.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from archrep.nets.nb101 import nb101_network
from archrep.nets.nb201 import nb201_network
from archrep.nets.vit import vit_network
from archrep.registry import Registry

BUILDERS: Registry[Callable[..., Any]] = Registry("network space")
BUILDERS.add("nb201", nb201_network)
BUILDERS.add("nb101", nb101_network)
for _name in ("vit", "vit-tiny", "vit-tiny-msa"):
    BUILDERS.add(_name, functools.partial(vit_network, space=_name))


def network(space: str, arch: Any, **kwargs):
    """The ``nn.Module`` of ``arch`` (an arch of ``space`` or its key); unknown spaces list the
    valid ones."""
    return BUILDERS.get(space)(arch, **kwargs)


def list_network_spaces() -> list[str]:
    return BUILDERS.names()


__all__ = ["network", "list_network_spaces", "nb201_network", "nb101_network", "vit_network"]
