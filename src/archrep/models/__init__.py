"""Predictors behind one registry: ``models.create("gin", hidden=64, seed=0)``.

Every predictor follows :class:`archrep.models.base.Predictor` (``fit`` / ``predict`` / ``save``)
and is read back with :func:`load`. Built in: ``params`` and ``flops`` (rank by a dataset
column), ``mlp`` (adjacency + one-hot ops -> MLP), ``gin`` (dense batched GIN), ``gatedgcn``
(FGP's residual gated GCN), ``tart`` (LAP tokens + Transformer encoder) and its pure-Transformer
baseline ``transformer``, ``ledg`` (LeDG-Former: language-embedded op tokens + Dynamic Graph
Self-Attention + a platform token), and the analytic latency baselines ``flops-linear``,
``flops-macs-linear`` and ``kernel-additive`` (:mod:`archrep.models.latency`). Every torch
predictor's network is an :class:`EncoderNet` (graph embedding + score head), so
:mod:`archrep.pretrain` can pre-train any of them.
"""
from __future__ import annotations

from typing import Callable

from archrep.errors import UnknownNameError
from archrep.models.base import EncoderNet, Predictor, TorchPredictor, load
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


def variants(name: str) -> dict[str, dict]:
    """Predictor ``name``'s named configurations: ``"default"`` (the paper's setting, no
    overrides) and each ablation with the hyper-parameters it changes."""
    return {"default": {}, **MODELS.get(name).variants}


def variant_config(name: str, variant: str) -> dict:
    """The hyper-parameter overrides of ``variant`` of predictor ``name``; unknown variants list the valid ones."""
    known = variants(name)
    if variant not in known:
        raise UnknownNameError(f"model {name!r} has no variant {variant!r}; valid variants: {', '.join(known)}")
    return dict(known[variant])


# built-in predictors register themselves on import
from archrep.models import baselines, gatedgcn, gin, kernel_gbdt, latency, ledg, mlp, tart  # noqa: E402,F401

__all__ = ["MODELS", "EncoderNet", "Predictor", "TorchPredictor", "register_model", "create", "list_models",
           "hyperparameters", "variants", "variant_config", "load"]
