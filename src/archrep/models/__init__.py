"""Predictors behind one registry: ``models.create("gin", hidden=64, seed=0)``.

Every predictor follows :class:`archrep.models.base.Predictor` (``fit`` / ``predict`` / ``save``)
and is read back with :func:`load`. Built in: ``params`` and ``flops`` (rank by a dataset
column), ``mlp`` (adjacency + one-hot ops -> MLP) and ``gin`` (dense batched GIN).
"""
from __future__ import annotations

from typing import Callable

from archrep.models.base import Predictor, TorchPredictor, load
from archrep.registry import Registry

MODELS: Registry = Registry("model")


def register_model(name: str) -> Callable[[type], type]:
    """Class decorator: register a :class:`Predictor` subclass as ``name`` (sets ``cls.name``)."""

    def deco(cls: type) -> type:
        if not (isinstance(cls, type) and issubclass(cls, Predictor)):
            raise TypeError(f"register_model({name!r}) expects a Predictor subclass, got {cls!r}")
        cls.name = name
        MODELS.register(name)(cls)
        return cls

    return deco


def create(name: str, **cfg) -> Predictor:
    """A new, unfitted predictor ``name`` with hyper-parameters ``cfg`` (``seed``, ``progress``,
    ``device`` and the model's own); unknown names and hyper-parameters list the valid ones."""
    return MODELS.get(name)(**cfg)


def list_models(pattern: str = "*") -> list[str]:
    """Registered predictor names matching a shell pattern, sorted."""
    return MODELS.names(pattern)


def hyperparameters(name: str) -> dict:
    """The hyper-parameters of predictor ``name`` with their defaults (plus ``seed``)."""
    return {**MODELS.get(name).defaults, "seed": 0}


# built-in predictors register themselves on import
from archrep.models import baselines, gin, mlp  # noqa: E402,F401

__all__ = ["MODELS", "Predictor", "TorchPredictor", "register_model", "create", "list_models",
           "hyperparameters", "load"]
