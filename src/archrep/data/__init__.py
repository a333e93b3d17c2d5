"""Benchmark datasets behind one registry: ``archrep.data.load("nb201")``.

Each dataset registers a :class:`DatasetSpec`: a builder that reads the raw files (from an
installed package, or from the data folder ``ARCHREP_DATA_DIR``) and returns an
:class:`ArchDataset`. ``load`` builds once and then reads the hash-checked cache.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from archrep import config
from archrep.data import cache
from archrep.data.dataset import ArchDataset
from archrep.registry import Registry


@dataclass(frozen=True)
class DatasetSpec:
    """How to build one dataset.

    ``build(data_dir)`` returns the dataset (``data_dir`` may be None). ``inputs(data_dir)`` lists
    the raw files the build reads, for the cache fingerprint (missing ones are skipped).
    ``version`` is bumped whenever the builder's output changes.
    """

    name: str
    build: Callable[[Path | None], ArchDataset]
    version: str
    description: str
    inputs: Callable[[Path | None], list[Path]] = field(default=lambda data_dir: [])


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    DATASETS.add(spec.name, spec)
    return spec


def list_datasets(pattern: str = "*") -> list[str]:
    return DATASETS.names(pattern)


def cache_path(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Where the processed dataset ``name`` is (or would be) cached."""
    spec = DATASETS.get(name)
    ddir = config.data_dir(data_dir)
    stamp = []
    for p in spec.inputs(ddir):
        p = Path(p)
        if p.exists():
            st = p.stat()
            stamp.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
    fp = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:12]
    return config.archrep_home() / "datasets" / f"{name}-v{spec.version}-{fp}.npz"


def load(name: str, *, data_dir: str | os.PathLike | None = None, refresh: bool = False) -> ArchDataset:
    """The dataset ``name``, from the cache when it holds a valid copy, else built and cached.

    ``data_dir`` overrides ``ARCHREP_DATA_DIR``; ``refresh=True`` rebuilds. Unknown names list
    the valid ones.
    """
    spec = DATASETS.get(name)
    path = cache_path(name, data_dir)
    if not refresh:
        ds = cache.load(path)
        if ds is not None:
            return ds
    ds = spec.build(config.data_dir(data_dir))
    cache.save(ds, path)
    return ds


__all__ = ["ArchDataset", "DatasetSpec", "DATASETS", "register_dataset", "list_datasets",
           "load", "cache_path"]

from archrep.data import macro, nb201  # noqa: E402,F401  (register datasets)
from archrep.data import nbgraph  # noqa: E402,F401
from archrep.data import latency  # noqa: E402,F401
from archrep.data import vit_ground_truth  # noqa: E402,F401
from archrep.data import zoo_latency  # noqa: E402,F401
