"""Search strategies behind one registry: ``search.get("evolution")(space, objective, ...)``.

Every strategy is ``fn(space, objective, *, queries, seed, budget_params=None, callback=None,
**options) -> SearchResult``; it draws all its randomness from ``random.Random(seed)``, so a
run is reproducible given the objective. A *query* is one call of the objective (a repeated
arch is a query too, though a cached proxy serves it for free); ``queries`` is the number of
them. With ``budget_params`` every arch the strategy queries has at most that many parameters
(:func:`archrep.search.objective.arch_params`): a sample or mutation over the budget is
rejected and drawn again.

* ``random``: ``queries`` archs sampled from the space (under the budget).
* ``evolution``: regularised (aging) evolution, Real et al. 2019: a population of
  ``population`` random archs; then each cycle samples ``sample_size`` members at random, mutates
  the best of them (``space.mutate``), queries the child, adds it and removes the *oldest* member.
* ``llm-fill``: the same evolution with Arch-LLM's fill mutation (:func:`llm_fill`).
"""
from __future__ import annotations

import collections
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from archrep.errors import ArchrepError
from archrep.registry import Registry
from archrep.search.objective import Objective, arch_params
from archrep.spaces.base import SearchSpace

MAX_DRAWS = 2000


@dataclass
class SearchResult:
    """One run. ``history``: one dict per query, ``{"query", "arch", "score", "params",
    "best_arch", "best_score", "seconds"}`` with ``seconds`` the wall-clock time since the start."""

    strategy: str
    space: str
    objective: dict
    seed: int
    budget_params: float | None
    history: list[dict] = field(default_factory=list)
    options: dict = field(default_factory=dict)

    @property
    def best_arch(self) -> str:
        return self.history[-1]["best_arch"]

    @property
    def best_score(self) -> float:
        return self.history[-1]["best_score"]

    @property
    def seconds(self) -> float:
        return self.history[-1]["seconds"] if self.history else 0.0

    @property
    def n_queries(self) -> int:
        return len(self.history)

    @property
    def n_unique(self) -> int:
        return len({h["arch"] for h in self.history})

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(best_arch=self.best_arch, best_score=self.best_score, n_queries=self.n_queries,
                 n_unique=self.n_unique, seconds=self.seconds)
        return d


STRATEGIES: Registry[Callable[..., SearchResult]] = Registry("search strategy")


def register_strategy(name: str):
    """Decorator: register ``fn(space, objective, *, queries, seed, budget_params, callback, **options)``."""
    return STRATEGIES.register(name)


def get(name: str) -> Callable[..., SearchResult]:
    return STRATEGIES.get(name)


def list_strategies(pattern: str = "*") -> list[str]:
    return STRATEGIES.names(pattern)


class _Run:
    """Book-keeping shared by the strategies: budget checks, queries and the history."""

    def __init__(self, name: str, space: SearchSpace, objective: Objective, seed: int,
                 budget_params: float | None, callback, options: dict):
        if budget_params is not None and budget_params <= 0:
            raise ArchrepError(f"--budget-params must be positive, got {budget_params:g}")
        self.space, self.objective, self.budget, self.callback = space, objective, budget_params, callback
        self.rng = random.Random(seed)
        self.result = SearchResult(name, space.name, objective.describe(), seed, budget_params, options=options)
        self.best: tuple[float, str] | None = None
        self.t0 = time.perf_counter()

    def fits(self, arch: Any) -> bool:
        return self.budget is None or arch_params(self.space, arch) <= self.budget

    def sample(self) -> Any:
        for _ in range(MAX_DRAWS):
            arch = self.space.sample(self.rng)
            if self.fits(arch):
                return arch
        raise ArchrepError(f"no architecture of space {self.space.name!r} with at most {self.budget:,.0f} "
                           f"parameters in {MAX_DRAWS} draws: raise --budget-params")

    def mutate(self, arch: Any) -> Any:
        """A mutation within the budget (a fresh sample if none is found)."""
        for _ in range(100):
            child = self.space.mutate(arch, self.rng)
            if self.fits(child):
                return child
        return self.sample()

    def query(self, arch: Any) -> float:
        score = float(self.objective(arch))
        key = self.space.key(arch)
        if self.best is None or score > self.best[0]:
            self.best = (score, key)
        h = {"query": len(self.result.history) + 1, "arch": key, "score": score,
             "params": arch_params(self.space, arch), "best_arch": self.best[1], "best_score": self.best[0],
             "seconds": time.perf_counter() - self.t0}
        self.result.history.append(h)
        if self.callback is not None:
            self.callback(h)
        return score


def _check_queries(queries: int) -> None:
    if queries < 1:
        raise ArchrepError(f"--queries must be at least 1, got {queries}")


@register_strategy("random")
def random_search(space: SearchSpace, objective: Objective, *, queries: int = 100, seed: int = 0,
                  budget_params: float | None = None, callback=None) -> SearchResult:
    """``queries`` random archs (under the budget); the best is the answer."""
    _check_queries(queries)
    run = _Run("random", space, objective, seed, budget_params, callback, {})
    for _ in range(queries):
        run.query(run.sample())
    return run.result


def _evolve(run: _Run, queries: int, population: int, sample_size: int, mutate: Callable[[Any], Any]) -> None:
    """Regularised evolution on ``run``: a random population, then tournament, ``mutate``, aging."""
    if population < 2 or not 1 <= sample_size <= population:
        raise ArchrepError(f"evolution needs population >= 2 and 1 <= sample_size <= population, "
                           f"got population={population}, sample_size={sample_size}")
    pop: collections.deque = collections.deque()
    while len(pop) < population and len(run.result.history) < queries:
        arch = run.sample()
        pop.append((arch, run.query(arch)))
    while len(run.result.history) < queries:
        parent = max(run.rng.sample(list(pop), sample_size), key=lambda m: m[1])[0]
        child = mutate(parent)
        pop.append((child, run.query(child)))
        pop.popleft()  # aging: the oldest member dies


@register_strategy("evolution")
def evolution(space: SearchSpace, objective: Objective, *, queries: int = 100, seed: int = 0,
              budget_params: float | None = None, callback=None, population: int = 20,
              sample_size: int = 5) -> SearchResult:
    """Regularised evolution (module docstring); the first ``min(population, queries)`` queries
    are the random initial population."""
    _check_queries(queries)
    run = _Run("evolution", space, objective, seed, budget_params, callback,
               {"population": population, "sample_size": sample_size})
    _evolve(run, queries, population, sample_size, run.mutate)
    return run.result


@register_strategy("llm-fill")
def llm_fill(space: SearchSpace, objective: Objective, *, queries: int = 100, seed: int = 0,
             budget_params: float | None = None, callback=None, model: Any = None, population: int = 20,
             sample_size: int = 5, masked: int = 2, temperature: float = 1.0, tries: int = 10) -> SearchResult:
    """Arch-LLM's NAS (methods.md §4): regularised evolution whose mutation masks ``masked``
    random codes of the parent's code sequence and lets the code LM fill them
    (:meth:`archrep.generate.archllm.ArchLLM.fill_mutation`, at ``temperature``). ``model`` is an
    :class:`~archrep.generate.archllm.ArchLLM` of this space or its folder. A fill that decodes
    to an invalid cell, the parent itself or one over the budget is drawn again, up to ``tries``
    times; then the space's own mutation is used, and ``result.options["fallbacks"]`` counts how
    often that happened."""
    from archrep.generate.archllm import ArchLLM

    _check_queries(queries)
    if model is None:
        raise ArchrepError("llm-fill needs a trained Arch-LLM: pass model=FOLDER (archrep generate --save FOLDER)")
    llm = model if isinstance(model, ArchLLM) else ArchLLM.load(model)
    if llm.space != space.name:
        raise ArchrepError(f"llm-fill: the model is of space {llm.space!r}, the search of {space.name!r}")
    if not isinstance(tries, int) or tries < 1:
        raise ArchrepError(f"llm-fill: tries must be a positive int, got {tries!r}")
    options = {"population": population, "sample_size": sample_size, "masked": masked,
               "temperature": temperature, "tries": tries, "fallbacks": 0, "invalid_fills": 0}
    run = _Run("llm-fill", space, objective, seed, budget_params, callback, options)

    def mutate(parent: Any) -> Any:
        key = space.key(parent)
        for _ in range(tries):
            child = llm.fill_mutation(key, masked=masked, temperature=temperature, seed=run.rng.randrange(2 ** 31))
            if child is not None and child != key and run.fits(space.parse(child)):
                return space.parse(child)
            options["invalid_fills"] += 1
        options["fallbacks"] += 1
        return run.mutate(parent)

    _evolve(run, queries, population, sample_size, mutate)
    return run.result


def run_search(strategy: str, space: SearchSpace, objective: Objective, **kwargs) -> SearchResult:
    """``get(strategy)(space, objective, **kwargs)``; unknown names list the valid ones."""
    return get(strategy)(space, objective, **kwargs)
