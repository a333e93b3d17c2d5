"""ArchDataset: a benchmark's architectures as padded arrays, with their targets.

Graphs are stored the way models consume them, so that loading and batching never loop over
Python objects: ``ops[i, j]`` is the op index (into ``op_vocab``) of node j of architecture i,
-1 past the graph's last node; ``adj[i, u, v] = 1`` for an edge u -> v. Nodes are in
topological order. ``targets`` maps a target name to a float64 array with NaN where the
source has no value. ``keys`` are the canonical arch keys of the dataset's search space.

Datasets of real models (ONNX imports: ``zoo-latency``) also carry per-node numeric features,
``node_features[i, j]`` (float32, 0 on padding) with column names ``node_feature_names``
(:mod:`archrep.features.node_features`), so that predictors see channels, kernels, shapes and
costs besides op types; NAS cells carry none (``node_features`` is None).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from archrep.errors import ArchrepError, UnknownNameError
from archrep.features.node_features import NODE_FEATURES, check_names, node_feature_array
from archrep.graph import ArchGraph


@dataclass
class ArchDataset:
    name: str
    keys: np.ndarray
    op_vocab: tuple[str, ...]
    ops: np.ndarray
    adj: np.ndarray
    targets: dict[str, np.ndarray]
    #: one line per target: what it is, its unit and its source
    target_info: dict[str, str] = field(default_factory=dict)
    #: the search space the keys belong to (``archrep.spaces.get(space)``), if any
    space: str | None = None
    #: the target a plain ``train`` uses when none is named
    default_target: str | None = None
    #: provenance: source files, versions, notes (JSON-serialisable); ``meta["missing_targets"]``
    #: maps a target the raw files could not supply to what the user must do to get it
    meta: dict = field(default_factory=dict)
    #: per-node numeric features (N, M, F) float32, 0 on padding, or None (module docstring)
    node_features: np.ndarray | None = None
    #: the name of each of the F feature columns (empty without features)
    node_feature_names: tuple[str, ...] = ()

    def __post_init__(self):
        n = len(self.keys)
        if self.ops.shape[0] != n or self.adj.shape[0] != n:
            raise ArchrepError(f"dataset {self.name!r}: keys, ops and adj disagree in length")
        if self.adj.shape[1:] != (self.ops.shape[1], self.ops.shape[1]):
            raise ArchrepError(f"dataset {self.name!r}: adj must be (N, M, M) for ops (N, M)")
        self.node_feature_names = tuple(self.node_feature_names)
        if self.node_features is None:
            if self.node_feature_names:
                raise ArchrepError(f"dataset {self.name!r}: node_feature_names given without node_features")
        else:
            self.node_features = np.asarray(self.node_features, dtype=np.float32)
            if self.node_features.shape != (*self.ops.shape, len(self.node_feature_names)):
                raise ArchrepError(f"dataset {self.name!r}: node_features must be (N, M, F) = "
                                   f"{(*self.ops.shape, len(self.node_feature_names))} for ops {self.ops.shape} and "
                                   f"{len(self.node_feature_names)} node_feature_names, got {self.node_features.shape}")
            if not np.isfinite(self.node_features).all():
                raise ArchrepError(f"dataset {self.name!r}: node_features hold NaN or infinite values; give 0 for "
                                   "what a node lacks")
        for t, v in self.targets.items():
            if len(v) != n:
                raise ArchrepError(f"dataset {self.name!r}: target {t!r} has {len(v)} values for {n} archs")

    # ------------------------------------------------------------------ building
    @classmethod
    def from_graphs(cls, name: str, keys: Sequence[str], graphs: Sequence[ArchGraph],
                    targets: dict[str, Sequence[float]], op_vocab: Sequence[str] | None = None,
                    max_nodes: int | None = None, node_features: bool | Sequence[str] | None = None,
                    **kwargs) -> "ArchDataset":
        """Pack graphs into padded arrays (op vocabulary taken from the graphs if not given).

        ``node_features``: None or False (default) stores none; True stores every feature of
        :data:`~archrep.features.node_features.NODE_FEATURES`, a list of names those columns, all
        read from the graphs' node attributes (missing attributes give 0)."""
        if len(keys) != len(graphs):
            raise ArchrepError(f"dataset {name!r}: {len(keys)} keys for {len(graphs)} graphs")
        if op_vocab is None:
            op_vocab = sorted({op for g in graphs for op in g.ops})
        index = {op: i for i, op in enumerate(op_vocab)}
        m = max_nodes or max((g.num_nodes for g in graphs), default=0)
        ops = np.full((len(graphs), m), -1, dtype=np.int16)
        adj = np.zeros((len(graphs), m, m), dtype=np.uint8)
        for i, g in enumerate(graphs):
            if g.num_nodes > m:
                raise ArchrepError(f"dataset {name!r}: graph {keys[i]} has {g.num_nodes} nodes > max_nodes={m}")
            try:
                ops[i, :g.num_nodes] = [index[op] for op in g.ops]
            except KeyError as exc:
                raise ArchrepError(f"dataset {name!r}: op {exc.args[0]!r} of {keys[i]} is not in the op vocabulary") from None
            adj[i, :g.num_nodes, :g.num_nodes] = g.adjacency()
        tg = {t: np.asarray(v, dtype=np.float64) for t, v in targets.items()}
        if node_features not in (None, False):
            names = NODE_FEATURES if node_features is True else check_names(node_features, f"dataset {name!r}")
            kwargs.update(node_features=node_feature_array(graphs, m, names), node_feature_names=names)
        return cls(name, np.asarray(keys, dtype=str), tuple(op_vocab), ops, adj, tg, **kwargs)

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self.keys)

    @property
    def max_nodes(self) -> int:
        return self.ops.shape[1]

    @property
    def num_nodes(self) -> np.ndarray:
        """Number of real (unpadded) nodes of each architecture."""
        return (self.ops >= 0).sum(axis=1)

    @property
    def target_names(self) -> list[str]:
        return sorted(self.targets)

    def target(self, name: str | None = None) -> np.ndarray:
        """The values of a target (the default one if ``name`` is None); unknown names list the valid ones."""
        name = name or self.default_target
        if name not in self.targets:
            missing = (self.meta.get("missing_targets") or {}).get(name)
            if missing:
                raise UnknownNameError(f"dataset {self.name!r} has no target {name!r} here: {missing}")
            raise UnknownNameError(
                f"dataset {self.name!r} has no target {name!r}. Valid targets: {', '.join(self.target_names)}"
            )
        return self.targets[name]

    def graph(self, i: int) -> ArchGraph:
        """Architecture i as an ArchGraph (built on demand)."""
        n = int((self.ops[i] >= 0).sum())
        ops = [self.op_vocab[k] for k in self.ops[i, :n]]
        g = ArchGraph.from_adjacency(ops, self.adj[i, :n, :n], validate=False)
        if self.space:
            g.attrs["space"] = self.space
        return g

    def graphs(self) -> Iterator[ArchGraph]:
        return (self.graph(i) for i in range(len(self)))

    def index_of(self, key: str) -> int:
        """Row of a canonical key (dict built on first use)."""
        lookup = self.__dict__.get("_index")
        if lookup is None:
            lookup = {str(k): i for i, k in enumerate(self.keys)}
            self.__dict__["_index"] = lookup
        try:
            return lookup[key]
        except KeyError:
            raise ArchrepError(f"architecture {key!r} is not in dataset {self.name!r}") from None

    def subset(self, idx: Sequence[int] | np.ndarray) -> "ArchDataset":
        """The architectures at ``idx`` (a copy of the selected rows)."""
        idx = np.asarray(idx, dtype=np.int64)
        return ArchDataset(self.name, self.keys[idx], self.op_vocab, self.ops[idx], self.adj[idx],
                           {t: v[idx] for t, v in self.targets.items()}, dict(self.target_info),
                           self.space, self.default_target, dict(self.meta),
                           None if self.node_features is None else self.node_features[idx], self.node_feature_names)

    def fingerprint(self, extra: dict | None = None) -> str:
        """SHA-256 (hex) of the graphs (op vocabulary, ops, adjacency, node features if any; not
        the targets) and of ``extra``, JSON-serialisable settings that what is derived from the
        graphs depends on. It keys caches of per-architecture features and ties pre-trained
        encoders to their data. A dataset without node features hashes as it did before they existed."""
        ops = np.ascontiguousarray(self.ops, dtype=np.int32)
        adj = np.ascontiguousarray(self.adj != 0)
        head = {**(extra or {}), "op_vocab": list(self.op_vocab), "ops_shape": list(ops.shape),
                "adj_shape": list(adj.shape)}
        if self.node_features is not None:
            head["node_feature_names"] = list(self.node_feature_names)
        h = hashlib.sha256(json.dumps(head, sort_keys=True).encode())
        h.update(ops.tobytes())
        h.update(np.packbits(adj).tobytes())
        if self.node_features is not None:
            h.update(np.ascontiguousarray(self.node_features, dtype="<f4").tobytes())
        return h.hexdigest()

    def with_target(self, name: str) -> "ArchDataset":
        """The architectures that have a value for target ``name`` (NaN rows dropped)."""
        return self.subset(np.flatnonzero(~np.isnan(self.target(name))))

    def summary(self) -> dict:
        """A JSON-friendly description (size, nodes, targets with their ranges)."""
        out = {"name": self.name, "archs": len(self), "space": self.space,
               "max_nodes": self.max_nodes, "op_vocab": list(self.op_vocab),
               "default_target": self.default_target, "targets": {}}
        if self.node_features is not None:
            out["node_features"] = list(self.node_feature_names)
        for t in self.target_names:
            v = self.targets[t]
            ok = v[~np.isnan(v)]
            out["targets"][t] = {
                "count": int(ok.size),
                "min": float(ok.min()) if ok.size else None,
                "max": float(ok.max()) if ok.size else None,
                "description": self.target_info.get(t, ""),
            }
        out["meta"] = self.meta
        return out
