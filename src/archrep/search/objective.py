"""What a search maximises: an :class:`Objective` maps an arch to a float, higher is better.

* :class:`ProxyObjective`: a training-free proxy of :mod:`archrep.proxies`, scored on a batch of
  real images on the network ``archrep.nets.network(space, arch)`` initialised from
  ``torch.manual_seed(seed)``; oriented so that higher is better (a proxy whose raw score is
  lower-is-better is negated). Scores are cached per (arch key, proxy, options, seed, inputs) in
  memory and, with ``cache_path``, in a JSON-lines file, so a repeated query costs nothing.
* :class:`OracleObjective`: the benchmark's accuracy looked up in a dataset (NB201 through
  ``archrep.data.load("nb201")`` and its official ``cifar10`` target): the search the proxies are
  judged against. A lookup costs nothing here; it stands for training the network.
* :class:`FunctionObjective`: any ``fn(arch) -> float`` (toy objectives, tests).

:func:`arch_params` is the parameter count a budget is checked against.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable

from archrep.errors import ArchrepError
from archrep.spaces.base import SearchSpace


# ------------------------------------------------------------------------------ params
def as_arch(space: SearchSpace, arch: Any) -> Any:
    """``arch``, or the arch of a key string (``space.parse``)."""
    return space.parse(arch) if isinstance(arch, str) else arch


_PARAMS_CACHE: dict[tuple[str, str], int] = {}


def arch_params(space: SearchSpace, arch: Any) -> int:
    """The number of parameters of ``arch``'s network: the space's exact ``params()`` where it
    has one (ViT spaces), NB201's closed form (:func:`archrep.spaces.nb201_cost.nb201_cost`), else
    counted on the built network (cached per arch key)."""
    arch = as_arch(space, arch)
    if hasattr(space, "params"):
        return int(space.params(arch))
    key = (space.name, space.key(arch))
    if key not in _PARAMS_CACHE:
        if space.name == "nb201":
            from archrep.spaces.nb201_cost import nb201_cost

            _PARAMS_CACHE[key] = int(round(nb201_cost(arch)["params"] * 1e6))
        else:
            from archrep import nets

            net = nets.network(space.name, arch)
            _PARAMS_CACHE[key] = sum(p.numel() for p in net.parameters())
    return _PARAMS_CACHE[key]


# ------------------------------------------------------------------------------ objectives
class Objective:
    """``obj(arch) -> float`` (higher is better) with a ``name`` and a count of real evaluations."""

    name = "objective"

    def __init__(self):
        self.n_evaluated = 0  # evaluations that were not served from a cache

    def __call__(self, arch: Any) -> float:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"objective": self.name}


class FunctionObjective(Objective):
    """Wraps ``fn(arch) -> float`` (higher is better)."""

    def __init__(self, fn: Callable[[Any], float], name: str = "function"):
        super().__init__()
        self.fn, self.name = fn, name

    def __call__(self, arch: Any) -> float:
        self.n_evaluated += 1
        return float(self.fn(arch))


class OracleObjective(Objective):
    """The benchmark's value of an arch: ``values[space.key(arch)]`` (e.g. NB201 test accuracy)."""

    def __init__(self, space: SearchSpace, values: dict[str, float], name: str = "accuracy"):
        super().__init__()
        self.space, self.values, self.name = space, values, name

    @classmethod
    def from_dataset(cls, space: SearchSpace, dataset: str = "nb201", target: str = "cifar10",
                     data_dir: str | os.PathLike | None = None) -> "OracleObjective":
        """The ``target`` of dataset ``dataset`` (``archrep.data.load``) keyed by arch key."""
        from archrep import data

        ds = data.load(dataset, **({"data_dir": data_dir} if data_dir else {}))
        values = dict(zip(ds.keys.tolist(), map(float, ds.target(target).tolist())))
        return cls(space, values, name=f"{dataset}:{target}")

    def __call__(self, arch: Any) -> float:
        key = self.space.key(arch)
        try:
            value = self.values[key]
        except KeyError:
            raise ArchrepError(f"objective {self.name!r} has no value for arch {key!r}") from None
        self.n_evaluated += 1
        return value

    def get(self, arch: Any) -> float | None:
        """The value without counting a query, or None."""
        return self.values.get(self.space.key(arch))


class ProxyObjective(Objective):
    """A proxy's score of an arch's untrained network, oriented (higher is better) and cached.

    ``inputs`` is an :class:`archrep.proxies.inputs.Images` (``load_images("cifar10")``);
    ``options`` are the proxy's options (``statistic="cond"`` for ntk/vintk, ...).
    ``raw(arch)`` is the un-oriented score. ``cache_path``: a JSON-lines file of scores read at
    start and appended to (one line per new score).
    """

    def __init__(self, space: SearchSpace, proxy: str, inputs, *, seed: int = 0, device: str = "cpu",
                 cache_path: str | os.PathLike | None = None, **options):
        from archrep import proxies

        super().__init__()
        self.space, self.proxy, self.seed, self.device = space, proxy, seed, device
        self.spec = proxies.get(proxy)  # unknown names list the valid ones
        unknown = sorted(set(options) - set(self.spec.defaults))
        if unknown:
            raise ArchrepError(f"unknown option(s) {', '.join(unknown)} for proxy {proxy!r}; "
                               f"valid: {', '.join(sorted(self.spec.defaults)) or 'none'}")
        self.options = options
        self.higher_is_better = self.spec.is_higher_better(**options)
        self.x, self.y = inputs.x.to(device), inputs.y.to(device)
        self.inputs_desc = f"{inputs.source}:{len(inputs.x)}"
        self.name = proxy + "".join(f",{k}={v}" for k, v in sorted(options.items()))
        self.cache: dict[tuple, float] = {}
        self.cache_path = Path(cache_path) if cache_path else None
        self.seconds = 0.0  # time spent scoring (cache misses only)
        if self.cache_path is not None and self.cache_path.exists():
            for line in self.cache_path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                    self.cache[tuple(rec["k"])] = float(rec["score"])
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line or a foreign line: ignored

    def _key(self, arch: Any) -> tuple:
        return (self.space.name, self.space.key(arch), self.name, self.seed, self.inputs_desc)

    def raw(self, arch: Any) -> float:
        """The proxy's own score (not oriented), from the cache when there."""
        import time

        import torch

        from archrep import nets

        arch = as_arch(self.space, arch)
        key = self._key(arch)
        if key in self.cache:
            return self.cache[key]
        t = time.perf_counter()
        torch.manual_seed(self.seed)
        net = nets.network(self.space.name, arch).to(self.device)
        value = float(self.spec(net, self.x, self.y, seed=self.seed, **self.options))
        self.seconds += time.perf_counter() - t
        self.n_evaluated += 1
        self.cache[key] = value
        if self.cache_path is not None:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.cache_path, "a") as f:
                f.write(json.dumps({"k": list(key), "score": value}) + "\n")
        return value

    def __call__(self, arch: Any) -> float:
        value = self.raw(arch)
        value = value if self.higher_is_better else -value
        return value if math.isfinite(value) else -math.inf

    def describe(self) -> dict:
        return {"objective": "proxy", "proxy": self.proxy, "options": self.options, "proxy_seed": self.seed,
                "higher_is_better": self.higher_is_better, "inputs": self.inputs_desc}
