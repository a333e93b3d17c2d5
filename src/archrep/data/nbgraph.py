"""Datasets "nbgraph-<name>": the NAS-Bench-Graph light benchmarks of 9 graph datasets.

The ``nas-bench-graph`` package ships ``light/<name>.bench`` for cora, citeseer, pubmed, cs,
physics, photo, computers, arxiv (ogbn-arxiv) and proteins (ogbn-proteins): pickled dicts from
the integer arch id (:func:`archrep.spaces.nbgraph.hash_key`) to ``{'valid_perf', 'perf',
'latency', 'para'}``. They are found through ``importlib`` without importing the package and
read with the restricted unpickler.

Rows follow ``NBGraphSpace().enumerate()`` (integer-id order): 26,206 archs, 2,021 for proteins
(its 5-op space ``nbgraph-proteins``). Keys are the space's keys; graphs are the space's 6-node
graphs, packed with the full 11-entry op vocabulary for every dataset (proteins included) so that
op columns mean the same across datasets.

Targets (what the light files hold; the per-epoch curves are in the separate full download):

* ``perf`` (default): test accuracy as a fraction, ROC-AUC for proteins (ogbn-proteins'
  metric); the mean over the benchmark's 3 seeds (every Cora, CiteSeer and PubMed value is a
  multiple of 1/3000, not all of 1/1000: 3 runs on their 1,000 test nodes).
* ``valid_perf``: the same on the validation split (multiples of 1/1500: 500 nodes, 3 runs).
* ``latency``: seconds, as stored (the package documents nothing more; 0.4 ms for a 1-layer
  FC net on Cora).
* ``params``: the ``para`` field, in millions of parameters. Check: on Cora (1,433 features,
  hidden size 256) a 1-layer SAGE net has 1433 x 256 more parameters than a 1-layer FC net
  (SAGE's extra root weight), and ``para`` differs by exactly 0.366848.
"""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
from pathlib import Path

import numpy as np

from archrep import spaces
from archrep.data import DatasetSpec, register_dataset, safe_pickle
from archrep.data.dataset import ArchDataset
from archrep.errors import DataError, MissingDependencyError
from archrep.spaces.nbgraph import GNN_OPS, NBGraphProteinsSpace, NBGraphSpace

VERSION = "1"
PACKAGE = "nas-bench-graph"
#: the benchmark's datasets, in the package's order
DATASETS: tuple[str, ...] = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers",
                             "arxiv", "proteins")
#: op vocabulary of every nbgraph dataset (the full space's, also for proteins)
OP_VOCAB: tuple[str, ...] = ("input", *GNN_OPS, "output")
#: .bench field -> target name
FIELDS: dict[str, str] = {"perf": "perf", "valid_perf": "valid_perf", "latency": "latency",
                          "para": "params"}
_DESCRIPTIONS = {
    "cora": "Cora citation network", "citeseer": "CiteSeer citation network",
    "pubmed": "PubMed citation network", "cs": "Coauthor-CS co-authorship network",
    "physics": "Coauthor-Physics co-authorship network",
    "photo": "Amazon-Photo co-purchase network", "computers": "Amazon-Computers co-purchase network",
    "arxiv": "ogbn-arxiv citation network", "proteins": "ogbn-proteins protein association network",
}


def _metric(name: str) -> str:
    return "ROC-AUC (fraction)" if name == "proteins" else "accuracy (fraction)"


def target_info(name: str) -> dict[str, str]:
    """One line per target of dataset ``name`` (unit and source)."""
    src = f"nas-bench-graph light/{name}.bench"
    return {
        "perf": f"test {_metric(name)} on {_DESCRIPTIONS[name]}, mean over 3 seeds ({src}, field perf)",
        "valid_perf": f"validation {_metric(name)}, mean over 3 seeds ({src}, field valid_perf)",
        "latency": f"latency in seconds, as stored ({src}, field latency)",
        "params": f"number of parameters in millions ({src}, field para)",
    }


def bench_path(name: str) -> Path:
    """Path of ``light/<name>.bench`` inside the installed nas-bench-graph (not imported)."""
    if name not in DATASETS:
        raise DataError(f"unknown NAS-Bench-Graph dataset {name!r}; valid: {', '.join(DATASETS)}")
    spec = importlib.util.find_spec("nas_bench_graph")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            f"the 'nbgraph-{name}' dataset needs the nas-bench-graph package: pip install {PACKAGE}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "light" / f"{name}.bench"
        if path.is_file():
            return path
    raise DataError(f"nas-bench-graph is installed at {list(spec.submodule_search_locations)} but "
                    f"light/{name}.bench is missing: pip install --force-reinstall {PACKAGE}")


def space_for(name: str) -> NBGraphSpace:
    """The search space whose archs dataset ``name`` holds."""
    return NBGraphProteinsSpace() if name == "proteins" else NBGraphSpace()


def read_bench(name: str, path: str | Path | None = None) -> dict[int, dict[str, float]]:
    """The records of ``<name>.bench`` as ``{id: {field: float}}`` (restricted unpickler).

    Raises DataError when the file is not a dict of int ids to records with the 4 fields.
    """
    path = Path(path) if path is not None else bench_path(name)
    data = safe_pickle.load(path)
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a dict of architecture records, found {type(data).__name__}")
    out = {}
    for key, rec in data.items():
        if isinstance(key, bool) or not isinstance(key, int):
            raise DataError(f"{path}: key {key!r} is not an integer architecture id")
        if not isinstance(rec, dict) or not set(FIELDS) <= set(rec):
            raise DataError(f"{path}: the record of {key} lacks one of the fields {', '.join(FIELDS)}")
        try:
            out[key] = {f: float(rec[f]) for f in FIELDS}
        except (TypeError, ValueError):
            raise DataError(f"{path}: the record of {key} has a non-numeric field: {rec!r}") from None
    return out


@functools.lru_cache(maxsize=None)
def _space_arrays(space_name: str) -> tuple[list[int], tuple[str, ...], np.ndarray, np.ndarray]:
    """(ids, keys, ops, adj) of a space in enumerate order, shared by the datasets that use it."""
    space = spaces.get(space_name)
    archs = list(space.enumerate())
    ids = [space.hash_key(a) for a in archs]
    keys = tuple(space.key(a) for a in archs)
    packed = ArchDataset.from_graphs(space_name, keys, [space.to_graph(a) for a in archs], {},
                                     op_vocab=OP_VOCAB)
    return ids, keys, packed.ops, packed.adj


def build(name: str) -> ArchDataset:
    """Dataset ``nbgraph-<name>`` from the installed package's light benchmark."""
    path = bench_path(name)
    records = read_bench(name, path)
    space = space_for(name)
    ids, keys, ops, adj = _space_arrays(space.name)
    missing = [k for k, i in zip(keys, ids) if i not in records]
    extra = set(records) - set(ids)
    if missing or extra:
        raise DataError(f"{path}: its ids do not match the {len(ids)} archs of space {space.name!r} "
                        f"({len(missing)} archs without a record, e.g. {missing[:3]}; {len(extra)} "
                        f"ids of no canonical arch, e.g. {sorted(extra)[:3]}): the file is not a "
                        f"NAS-Bench-Graph light benchmark of this layout")
    targets = {t: np.array([records[i][f] for i in ids], dtype=np.float64) for f, t in FIELDS.items()}
    for t, v in targets.items():
        if not np.isfinite(v).all():
            raise DataError(f"{path}: target {t!r} has non-finite values")
    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise MissingDependencyError(f"nas-bench-graph has no package metadata: pip install {PACKAGE}") from None
    meta = {"source": f"{PACKAGE} {version}, light/{name}.bench", "package": PACKAGE,
            "package_version": version, "graph_dataset": _DESCRIPTIONS[name],
            "hash": "archrep.spaces.nbgraph.hash_key (the package's Arch.valid_hash())",
            "paper": "Qin et al., NAS-Bench-Graph, NeurIPS 2022 Datasets and Benchmarks"}
    return ArchDataset(f"nbgraph-{name}", np.asarray(keys, dtype=str), OP_VOCAB, ops.copy(), adj.copy(),
                       targets, target_info(name), space=space.name, default_target="perf", meta=meta)


def _register(name: str) -> None:
    register_dataset(DatasetSpec(
        name=f"nbgraph-{name}",
        build=lambda data_dir: build(name),
        version=VERSION,
        description=f"NAS-Bench-Graph on {_DESCRIPTIONS[name]}: test/validation {_metric(name)}, "
                    "latency and parameters of every architecture",
        inputs=lambda data_dir: [bench_path(name)],
    ))


for _name in DATASETS:
    _register(_name)
