"""Parametric model families: the ten NNLQP families, written here in PyTorch.

``families.list()`` names them; ``families.get(name)`` returns a :class:`Family` with
``sample_config(rng)`` (a random config, JSON-serialisable, seeded by ``rng``), ``build(config)``
(an ``nn.Module`` in eval mode, weights seeded so the same config rebuilds the same model) and
``example_input(config)`` (a zero tensor of shape ``[batch, 3, resolution, resolution]``).
Every config holds ``resolution`` and ``batch`` beside the family's own knobs (depth, width
multiplier, kernel sizes, expansion ratios, ...); a partial config is completed from
``Family.defaults`` (the published reference model at 224x224, batch 1).

The sampling ranges aim at a wide latency range per family (about two orders of magnitude on
one CPU thread) while keeping the largest model profileable in a few seconds.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from archrep.errors import ArchrepError
from archrep.registry import Registry


@dataclass(frozen=True)
class Family:
    """One model family: its reference config, a builder and a sampler (see the module docstring)."""

    name: str
    builder: Callable[[dict], Any]
    sampler: Callable[[random.Random], dict]
    defaults: dict = field(default_factory=dict)
    description: str = ""

    def config(self, config: dict | None = None) -> dict:
        """``config`` completed from the defaults; unknown keys or values of the wrong type raise."""
        config = dict(config or {})
        unknown = sorted(set(config) - set(self.defaults))
        if unknown:
            raise ArchrepError(f"unknown config key(s) {', '.join(map(repr, unknown))} for model family "
                               f"{self.name!r}; valid keys: {', '.join(sorted(self.defaults))}")
        full = {**self.defaults, **config}
        for key, value in full.items():
            want = type(self.defaults[key])
            ok = isinstance(value, want) or (want is float and isinstance(value, int))
            if not ok or isinstance(value, bool) != isinstance(self.defaults[key], bool):
                raise ArchrepError(f"config key {key!r} of family {self.name!r} must be of type {want.__name__}, "
                                   f"got {value!r}")
        return json.loads(json.dumps(full))  # a plain JSON copy: tuples become lists

    def sample_config(self, rng: random.Random | int) -> dict:
        """A random full config; ``rng`` is a ``random.Random`` or an integer seed."""
        rng = rng if isinstance(rng, random.Random) else random.Random(rng)
        return self.config(self.sampler(rng))

    def build(self, config: dict | None = None):
        """The model of ``config`` in eval mode, its weights drawn from the fixed seed 0."""
        import torch

        full = self.config(config)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = self.builder(full)
        return model.eval()

    def input_shape(self, config: dict | None = None) -> list[int]:
        full = self.config(config)
        return [full["batch"], 3, full["resolution"], full["resolution"]]

    def example_input(self, config: dict | None = None):
        import torch

        return torch.zeros(self.input_shape(config))


class FamilyRegistry(Registry):
    """``list()`` and ``get(name)`` over the registered families."""

    def list(self) -> list[str]:
        return self.names()


families: FamilyRegistry = FamilyRegistry("model family")

# the families register themselves on import
from archrep.zoo import classic, mobile, nb201  # noqa: E402,F401

__all__ = ["Family", "families"]
