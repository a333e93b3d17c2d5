"""The SearchSpace contract shared by every space.

A space works on its own native architecture encoding (an NB201 arch string, an NB101
(matrix, ops) spec, ...), called an *arch* here, and converts it to the shared
:class:`~archrep.graph.ArchGraph` with :meth:`to_graph`.
"""
from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import Any, Iterator

from archrep.graph import ArchGraph


class SearchSpace(ABC):
    """``sample``, ``mutate``, ``is_valid``, ``to_graph``, and ``enumerate`` where finite.

    ``key(arch)`` is a canonical, hashable, JSON-friendly string for an arch (two spellings of
    one architecture give one key); ``parse(text)`` is its inverse and raises a clear
    :class:`~archrep.errors.ArchrepError` on malformed text.
    """

    name: str = ""
    #: ops a graph of this space can contain, in a fixed order (the one-hot column order)
    op_vocab: tuple[str, ...] = ()
    #: True when :meth:`enumerate` is available
    finite: bool = False

    @abstractmethod
    def sample(self, rng: random.Random) -> Any:
        """One architecture drawn uniformly from the valid ones (as far as the space allows)."""

    @abstractmethod
    def mutate(self, arch: Any, rng: random.Random) -> Any:
        """A valid neighbour that differs from ``arch`` in one choice."""

    @abstractmethod
    def is_valid(self, arch: Any) -> bool:
        """True if ``arch`` belongs to the space."""

    @abstractmethod
    def to_graph(self, arch: Any) -> ArchGraph:
        """The arch as an ArchGraph whose ops are all in :attr:`op_vocab`."""

    @abstractmethod
    def key(self, arch: Any) -> str:
        """Canonical string of ``arch``."""

    @abstractmethod
    def parse(self, text: str) -> Any:
        """Inverse of :meth:`key`; raises ArchrepError naming what is malformed."""

    def enumerate(self) -> Iterator[Any]:
        """Every architecture of a finite space, in the space's canonical order."""
        raise NotImplementedError(f"search space {self.name!r} is not finite: it cannot be enumerated")

    def __len__(self) -> int:
        raise TypeError(f"search space {self.name!r} has no fixed size")
