"""Evaluation protocols as named, seeded objects (DESIGN.md, "Protocols are objects").

``create("space-fraction", train_size=781, seed=0).split(15625)`` returns a :class:`Split` of
index arrays. Every protocol is deterministic for its seed and says what it did in
``describe()``, which goes into results records.

* ``"space-fraction"`` (NAR-Former / NN-Former): train on N architectures of a seeded
  permutation, validate on the next ``val_size`` (1,024), test on **all** architectures of the
  space, the training ones included.
* ``"pool"`` (FlowerFormer / FGP): a permutation (identity for seed 21), its first ``pool_size``
  architectures form the training pool, the next 40 validate, the rest test; the model trains on
  the first ``floor(pool_size * train_ratio)`` (or ``train_size``) architectures of the pool.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from archrep.errors import ArchrepError
from archrep.registry import Registry

PROTOCOLS: Registry = Registry("split protocol")
register_protocol = PROTOCOLS.register

#: FGP / FlowerFormer training-pool sizes (half of each benchmark file, rounded up)
POOL_SIZES: dict[str, int] = {"nb101": 7290, "nb201": 7813, "nb301": 5611}


@dataclass(frozen=True)
class Split:
    """Row indices (np.int64) of the training, validation and test architectures."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {"train": int(self.train.size), "val": int(self.val.size), "test": int(self.test.size)}


def _positive_int(value, what: str, protocol: str, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (0 if allow_zero else 1):
        need = "a non-negative" if allow_zero else "a positive"
        raise ArchrepError(f"{protocol}: {what} must be {need} integer, got {value!r}")
    return int(value)


def _check_n(n, protocol: str) -> int:
    return _positive_int(n, "the number of architectures n", protocol)


class Protocol:
    """Base class: ``split(n)`` for a dataset of ``n`` architectures, ``describe()`` for records."""

    name: str = ""
    #: the seeds a benchmark uses when it runs this protocol over several seeds
    default_seeds: tuple[int, ...] = ()

    def split(self, n: int) -> Split:
        raise NotImplementedError

    def describe(self) -> dict:
        raise NotImplementedError


@register_protocol("space-fraction")
class SpaceFraction(Protocol):
    """NAR-Former / NN-Former protocol: train on ``train_size`` architectures, test on the whole space.

    The permutation is ``numpy.random.default_rng(seed).permutation(n)``; train = its first
    ``train_size`` entries, val = the next ``val_size`` (0 for none), test = ``arange(n)``,
    i.e. every architecture including the training ones (NB201: N = 469 / 781 / 1,563 of
    15,625; NB101: 172 / 424 / 4,236 of 423,624).
    """

    name = "space-fraction"
    default_seeds = (0, 1, 2)

    def __init__(self, train_size: int, val_size: int = 1024, seed: int = 0):
        self.train_size = _positive_int(train_size, "train_size", self.name)
        self.val_size = _positive_int(val_size, "val_size", self.name, allow_zero=True)
        self.seed = int(seed)

    def split(self, n: int) -> Split:
        n = _check_n(n, self.name)
        if self.train_size + self.val_size > n:
            raise ArchrepError(
                f"space-fraction: train_size={self.train_size} + val_size={self.val_size} exceeds the {n} "
                "architectures of the dataset; lower train_size or val_size")
        perm = np.random.default_rng(self.seed).permutation(n).astype(np.int64)
        return Split(perm[:self.train_size], perm[self.train_size:self.train_size + self.val_size],
                     np.arange(n, dtype=np.int64))

    def describe(self) -> dict:
        return {"name": self.name, "seed": self.seed, "train_size": self.train_size,
                "val_size": self.val_size, "test": "all architectures (training ones included)",
                "permutation": "numpy.random.default_rng(seed).permutation(n)"}


@register_protocol("pool")
class Pool(Protocol):
    """FlowerFormer / FGP protocol: a training pool, 40 validation architectures, the rest as test.

    Permutation: seed 21 is the identity (the benchmark's own order); any other seed gives
    ``numpy.random.RandomState(seed).permutation(n)`` (legacy Mersenne-Twister, the same as
    ``np.random.seed(seed); np.random.permutation(n)`` in the reference code). With it:
    pool = ``perm[:pool_size]``, val = ``perm[pool_size:pool_size + val_size]``, test = the
    rest; train = the first ``floor(pool_size * train_ratio)`` of the pool, or its first
    ``train_size`` (give exactly one of the two).

    ``pool_size`` is given by the caller (:data:`POOL_SIZES`: NB201 7,813); None means
    ``ceil(n / 2)``, which reproduces NB101 (14,580 -> 7,290) and NB201 (15,625 -> 7,813).
    FGP runs seeds {21, 2021, 202121} (``default_seeds``).
    """

    name = "pool"
    default_seeds = (21, 2021, 202121)
    IDENTITY_SEED = 21

    def __init__(self, pool_size: int | None = None, train_ratio: float | None = None,
                 train_size: int | None = None, val_size: int = 40, seed: int = 21):
        if (train_ratio is None) == (train_size is None):
            raise ArchrepError("pool: give exactly one of train_ratio (e.g. 0.01 of the pool) or train_size")
        if train_ratio is not None and not 0 < float(train_ratio) <= 1:
            raise ArchrepError(f"pool: train_ratio must be in (0, 1], got {train_ratio!r}")
        self.pool_size = None if pool_size is None else _positive_int(pool_size, "pool_size", self.name)
        self.train_ratio = None if train_ratio is None else float(train_ratio)
        self.train_size = None if train_size is None else _positive_int(train_size, "train_size", self.name)
        self.val_size = _positive_int(val_size, "val_size", self.name, allow_zero=True)
        self.seed = int(seed)

    def permutation(self, n: int) -> np.ndarray:
        """The seeded order of the ``n`` architectures (identity for seed 21)."""
        n = _check_n(n, self.name)
        if self.seed == self.IDENTITY_SEED:
            return np.arange(n, dtype=np.int64)
        return np.random.RandomState(self.seed).permutation(n).astype(np.int64)

    def split(self, n: int) -> Split:
        n = _check_n(n, self.name)
        pool = self.pool_size if self.pool_size is not None else math.ceil(n / 2)
        if pool + self.val_size >= n:
            raise ArchrepError(f"pool: pool_size={pool} + val_size={self.val_size} leaves no test architecture "
                               f"out of {n}; lower pool_size")
        if self.train_size is not None:
            train = self.train_size
            if train > pool:
                raise ArchrepError(f"pool: train_size={train} exceeds pool_size={pool}; lower train_size")
        else:
            train = math.floor(Fraction(str(self.train_ratio)) * pool)
            if train < 1:
                raise ArchrepError(f"pool: train_ratio={self.train_ratio} of pool_size={pool} gives no training "
                                   "architecture; raise train_ratio")
        perm = self.permutation(n)
        return Split(perm[:train], perm[pool:pool + self.val_size], perm[pool + self.val_size:])

    def describe(self) -> dict:
        out = {"name": self.name, "seed": self.seed,
               "pool_size": self.pool_size if self.pool_size is not None else "ceil(n/2)",
               "val_size": self.val_size, "test": "the rest after the pool and the validation set",
               "permutation": "identity for seed 21, else numpy.random.RandomState(seed).permutation(n)"}
        if self.train_size is not None:
            out["train_size"] = self.train_size
        else:
            out["train_ratio"] = self.train_ratio
        return out


def create(name: str, **cfg) -> Protocol:
    """The protocol registered as ``name`` built with ``cfg``; unknown names list the valid ones,
    unknown arguments name the valid ones."""
    cls = PROTOCOLS.get(name)
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(cfg) - set(valid))
    if unknown:
        raise ArchrepError(f"split protocol {name!r} has no argument {', '.join(map(repr, unknown))}; "
                           f"valid arguments: {', '.join(valid)}")
    return cls(**cfg)


def list_protocols(pattern: str = "*") -> list[str]:
    return PROTOCOLS.names(pattern)
