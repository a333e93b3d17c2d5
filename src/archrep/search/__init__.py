"""Architecture search over any SearchSpace with any objective.

    from archrep import search, spaces
    from archrep.proxies.inputs import load_images
    space = spaces.get("nb201")
    obj = search.ProxyObjective(space, "synflow", load_images("cifar10"), seed=0)
    result = search.run_search("evolution", space, obj, queries=100, seed=0, budget_params=1e6)
    result.best_arch, result.history[-1]

Strategies (:mod:`.strategies`): ``random``, ``evolution`` (regularised evolution under a
parameter budget). Objectives (:mod:`.objective`): a cached proxy, the benchmark's accuracy
(an oracle), or any function.
"""
from __future__ import annotations

from archrep.search.objective import (FunctionObjective, Objective, OracleObjective, ProxyObjective,
                                      arch_params)
from archrep.search.strategies import (STRATEGIES, SearchResult, evolution, get, list_strategies,
                                       random_search, register_strategy, run_search)

__all__ = ["Objective", "FunctionObjective", "OracleObjective", "ProxyObjective", "arch_params",
           "STRATEGIES", "SearchResult", "evolution", "random_search", "get", "list_strategies",
           "register_strategy", "run_search"]
