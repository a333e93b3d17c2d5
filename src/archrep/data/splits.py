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
* ``"in-domain"`` (NNLQP): within every model family a seeded 10 % of its architectures are
  test, the rest train; one predictor learns the union and is scored per family.
* ``"leave-family-out"`` (NNLQP out-of-domain): train on every family but one, test on all of
  that one; one protocol object per held-out family (``families`` lists them).

The family protocols take the family label of every architecture (``groups``, e.g.
:func:`archrep.data.zoo_latency.row_families`), so ``split(n)`` needs ``n == len(groups)``.
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


class FamilyProtocol(Protocol):
    """Base of the protocols that split by model family: ``groups`` holds the family of each
    architecture; ``train_per_family`` (None = all) caps the training architectures taken from
    each family, a seeded choice, to scale a run down without changing its test set."""

    default_seeds = (0, 1, 2, 3, 4)

    def __init__(self, groups, train_per_family: int | None = None, seed: int = 0):
        labels = np.asarray(groups)
        if labels.ndim != 1 or labels.size == 0:
            raise ArchrepError(f"{self.name}: groups must be a non-empty sequence with the family of every "
                               f"architecture, got {labels.size} labels")
        self.groups = labels.astype(str)
        self.families: list[str] = sorted(set(self.groups.tolist()))
        self.train_per_family = None if train_per_family is None else _positive_int(
            train_per_family, "train_per_family", self.name)
        self.seed = int(seed)

    def _rows(self, n: int, family: str) -> np.ndarray:
        n = _check_n(n, self.name)
        if n != self.groups.size:
            raise ArchrepError(f"{self.name}: the protocol has family labels for {self.groups.size} architectures, "
                               f"the dataset {n}; build it from the groups of the dataset it splits")
        return np.flatnonzero(self.groups == family).astype(np.int64)

    def _train(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` (in a seeded order already), cut to ``train_per_family``."""
        return rows if self.train_per_family is None else rows[:self.train_per_family]

    def describe(self) -> dict:
        return {"name": self.name, "seed": self.seed, "train_per_family": self.train_per_family,
                "families": {f: int((self.groups == f).sum()) for f in self.families}}


@register_protocol("in-domain")
class InDomain(FamilyProtocol):
    """NNLQP's in-domain protocol: per family, test on a seeded ``test_fraction`` of it, train on the rest.

    One generator ``numpy.random.default_rng(seed)`` permutes each family's rows in turn (families
    in sorted order); the first ``max(1, round(test_fraction * size))`` are test, the others
    train (the first ``train_per_family`` of them when capped). NNLQP: 1,800 / 200 of each of
    its 2,000-model families. No validation set. Each family needs at least 2 architectures.
    """

    name = "in-domain"

    def __init__(self, groups, test_fraction: float = 0.1, train_per_family: int | None = None, seed: int = 0):
        super().__init__(groups, train_per_family, seed)
        if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) \
                or not 0 < test_fraction < 1:
            raise ArchrepError(f"in-domain: test_fraction must be in (0, 1), got {test_fraction!r}")
        self.test_fraction = float(test_fraction)

    def split(self, n: int) -> Split:
        rng = np.random.default_rng(self.seed)
        train, test = [], []
        for family in self.families:
            rows = self._rows(n, family)
            if rows.size < 2:
                raise ArchrepError(f"in-domain: family {family!r} has {rows.size} architecture; each family needs at "
                                   "least 2 (one to train on, one to test), so measure more of it or leave it out")
            rows = rows[rng.permutation(rows.size)]
            k = min(rows.size - 1, max(1, round(self.test_fraction * rows.size)))
            test.append(rows[:k])
            train.append(self._train(rows[k:]))
        return Split(np.sort(np.concatenate(train)), np.zeros(0, dtype=np.int64), np.sort(np.concatenate(test)))

    def describe(self) -> dict:
        return {**super().describe(), "test_fraction": self.test_fraction,
                "test": "a seeded test_fraction of every family; one predictor trained on the rest of all of them",
                "permutation": "numpy.random.default_rng(seed).permutation per family, families in sorted order"}


@register_protocol("leave-family-out")
class LeaveFamilyOut(FamilyProtocol):
    """NNLQP's out-of-domain protocol: test on every architecture of family ``held_out``, train on
    all the other families (the first ``train_per_family`` of each in a seeded order when capped;
    otherwise the split is the same for every seed and seeds vary only the predictor). No
    validation set. Ten families give ten folds, one protocol object each."""

    name = "leave-family-out"

    def __init__(self, groups, held_out: str, train_per_family: int | None = None, seed: int = 0):
        super().__init__(groups, train_per_family, seed)
        if held_out not in self.families:
            raise ArchrepError(f"leave-family-out: no architecture of family {held_out!r} to hold out; the "
                               f"families are {', '.join(self.families)}")
        if len(self.families) < 2:
            raise ArchrepError(f"leave-family-out: only family {held_out!r} is present; it needs at least two "
                               "families (one to hold out, the others to train on)")
        self.held_out = str(held_out)

    def split(self, n: int) -> Split:
        rng = np.random.default_rng(self.seed)
        train = [self._train(rows[rng.permutation(rows.size)]) for rows in
                 (self._rows(n, f) for f in self.families if f != self.held_out)]
        return Split(np.sort(np.concatenate(train)), np.zeros(0, dtype=np.int64), self._rows(n, self.held_out))

    def describe(self) -> dict:
        return {**super().describe(), "held_out": self.held_out,
                "test": "every architecture of the held-out family; train on the other families"}


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
