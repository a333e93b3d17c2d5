"""ArchGraph: the one architecture representation of archrep.

A directed acyclic graph of operations, stored in topological order. Every search space,
benchmark loader and model importer produces one; every feature encoder, predictor and proxy
consumes one.

* ``ops[i]`` names node i's op (a name of :mod:`archrep.ops`); ``edges`` are ``(u, v)`` pairs
  meaning data flows u -> v, with ``u < v`` once the graph is built.
* ``node_attrs[i]`` holds what is known of node i: ``kernel``, ``stride``, ``channels``,
  ``output_shape``, ``flops``, ``params``, ... (all optional, JSON-serialisable).
* ``attrs`` holds graph attributes: ``input_shape``, ``batch``, ``space``, ...

Validation raises one :class:`GraphError` per problem, naming the node and the fix: an edge
out of range, a self-loop, a cycle, an unknown op, no input or no output node, a node on no
input->output path (or, with ``prune=True``, such nodes are removed).

:meth:`ArchGraph.hash` is invariant to node numbering (isomorphic labelled graphs hash equal).
"""
from __future__ import annotations

import hashlib
import heapq
import json
from typing import Any, Iterable, Sequence

import numpy as np

from archrep.errors import GraphError
from archrep.ops import INPUT, OUTPUT, get_op

JSON_FORMAT = "archrep.graph"
JSON_VERSION = 1
# node attributes that name a node rather than describe it: ignored by the hash
_HASH_IGNORED_NODE_ATTRS = frozenset({"name"})
# graph attributes that change what the graph computes: included in the hash
_HASH_GRAPH_ATTRS = ("input_shape",)


class ArchGraph:
    """A DAG of operations in topological order. See the module docstring."""

    __slots__ = ("ops", "edges", "node_attrs", "attrs", "_adj")

    def __init__(
        self,
        ops: Sequence[str],
        edges: Iterable[Sequence[int]],
        node_attrs: Sequence[dict] | None = None,
        attrs: dict | None = None,
        *,
        validate: bool = True,
        prune: bool = False,
    ):
        ops = [str(o) for o in ops]
        n = len(ops)
        if node_attrs is None:
            node_attrs = [{} for _ in range(n)]
        elif len(node_attrs) != n:
            raise GraphError(f"node_attrs has {len(node_attrs)} entries but the graph has {n} ops")
        edge_set: set[tuple[int, int]] = set()
        for k, e in enumerate(edges):
            u, v = _edge_pair(e, k)
            if not (0 <= u < n and 0 <= v < n):
                raise GraphError(f"edges[{k}] = ({u}, {v}) refers to a node outside 0..{n - 1}")
            if u == v:
                raise GraphError(f"self-loop on node {u} ({ops[u]}): remove edge ({u}, {u})")
            edge_set.add((u, v))
        order = _topological_order(n, edge_set, ops)
        if order != list(range(n)):
            pos = {old: new for new, old in enumerate(order)}
            ops = [ops[i] for i in order]
            node_attrs = [node_attrs[i] for i in order]
            edge_set = {(pos[u], pos[v]) for u, v in edge_set}
        self.ops: list[str] = ops
        self.edges: list[tuple[int, int]] = sorted(edge_set)
        self.node_attrs: list[dict] = [dict(a) for a in node_attrs]
        self.attrs: dict = dict(attrs or {})
        self._adj: np.ndarray | None = None
        if validate:
            self._validate_ops()
            live = self.live_nodes()
            if not live.any():
                raise GraphError("no path leads from an input node to an output node: connect them "
                                 "(pruning would leave an empty graph)")
            if not live.all():
                if not prune:
                    dead = [f"{i} ({self.ops[i]})" for i in np.flatnonzero(~live)]
                    raise GraphError(
                        f"node(s) {', '.join(dead)} lie on no input->output path: remove them, "
                        "or build the graph with prune=True to drop them"
                    )
                self._keep(live)

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_adjacency(cls, ops: Sequence[str], adjacency: Any, **kwargs) -> "ArchGraph":
        """Build from an op list and an n x n 0/1 matrix with ``A[u, v] = 1`` for u -> v."""
        a = np.asarray(adjacency)
        n = len(ops)
        if a.shape != (n, n):
            raise GraphError(f"adjacency has shape {a.shape}; expected ({n}, {n}) for {n} ops")
        us, vs = np.nonzero(a)
        return cls(ops, zip(us.tolist(), vs.tolist()), **kwargs)

    def _validate_ops(self) -> None:
        for i, op in enumerate(self.ops):
            try:
                get_op(op)
            except GraphError as exc:
                raise GraphError(f"node {i}: {exc}") from None
        if INPUT not in self.ops:
            raise GraphError(f"the graph has no '{INPUT}' node: add one as the source of the data")
        if OUTPUT not in self.ops:
            raise GraphError(f"the graph has no '{OUTPUT}' node: add one as the sink of the data")

    def _keep(self, mask: np.ndarray) -> None:
        idx = np.flatnonzero(mask).tolist()
        pos = {old: new for new, old in enumerate(idx)}
        self.ops = [self.ops[i] for i in idx]
        self.node_attrs = [self.node_attrs[i] for i in idx]
        self.edges = sorted((pos[u], pos[v]) for u, v in self.edges if u in pos and v in pos)
        self._adj = None

    # ------------------------------------------------------------------ structure
    @property
    def num_nodes(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return len(self.edges)

    def __len__(self) -> int:
        return len(self.ops)

    def adjacency(self) -> np.ndarray:
        """The n x n uint8 matrix with ``A[u, v] = 1`` for each edge u -> v (upper-triangular)."""
        if self._adj is None:
            a = np.zeros((self.num_nodes, self.num_nodes), dtype=np.uint8)
            if self.edges:
                e = np.asarray(self.edges)
                a[e[:, 0], e[:, 1]] = 1
            a.setflags(write=False)
            self._adj = a
        return self._adj

    def predecessors(self, v: int) -> list[int]:
        return [u for u, w in self.edges if w == v]

    def successors(self, u: int) -> list[int]:
        return [w for x, w in self.edges if x == u]

    @property
    def inputs(self) -> list[int]:
        return [i for i, op in enumerate(self.ops) if op == INPUT]

    @property
    def outputs(self) -> list[int]:
        return [i for i, op in enumerate(self.ops) if op == OUTPUT]

    def live_nodes(self) -> np.ndarray:
        """Boolean mask of nodes that lie on some input -> output path."""
        n = self.num_nodes
        fwd = np.zeros(n, dtype=bool)
        bwd = np.zeros(n, dtype=bool)
        fwd[self.inputs] = True
        bwd[self.outputs] = True
        for u, v in self.edges:  # edges sorted by source: one sweep in topological order
            if fwd[u]:
                fwd[v] = True
        for u, v in sorted(self.edges, key=lambda e: -e[1]):  # sinks first
            if bwd[v]:
                bwd[u] = True
        return fwd & bwd

    def pruned(self) -> "ArchGraph":
        """A copy without the nodes that lie on no input -> output path."""
        live = self.live_nodes()
        if not live.any():
            raise GraphError("no path leads from an input node to an output node: nothing would be left after pruning")
        g = self.copy()
        g._keep(live)
        return g

    def copy(self) -> "ArchGraph":
        g = ArchGraph.__new__(ArchGraph)
        g.ops = list(self.ops)
        g.edges = list(self.edges)
        g.node_attrs = [dict(a) for a in self.node_attrs]
        g.attrs = dict(self.attrs)
        g._adj = self._adj
        return g

    def permuted(self, perm: Sequence[int]) -> "ArchGraph":
        """The same graph with node i renumbered ``perm[i]`` (then re-sorted topologically)."""
        perm = list(perm)
        if sorted(perm) != list(range(self.num_nodes)):
            raise GraphError(f"perm must be a permutation of 0..{self.num_nodes - 1}")
        ops = [""] * self.num_nodes
        attrs = [{}] * self.num_nodes
        for i, p in enumerate(perm):
            ops[p] = self.ops[i]
            attrs[p] = self.node_attrs[i]
        return ArchGraph(ops, [(perm[u], perm[v]) for u, v in self.edges], attrs, self.attrs,
                         validate=False)

    # ------------------------------------------------------------------ identity
    def hash(self) -> str:
        """An isomorphism-invariant hex digest (Weisfeiler-Lehman refinement on directed edges).

        Node labels start from the op, the node's descriptive attributes (not ``name``) and its
        in/out degree; each round hashes a label with the sorted labels of its predecessors and
        of its successors, until the partition into label classes stops refining. Isomorphic
        labelled graphs always hash equal; non-isomorphic ones differ unless WL cannot tell them
        apart (never for NB101/NB201 cells in practice; the NB101 benchmark's own hash is also WL).
        """
        n = self.num_nodes
        preds: list[list[int]] = [[] for _ in range(n)]
        succs: list[list[int]] = [[] for _ in range(n)]
        for u, v in self.edges:
            preds[v].append(u)
            succs[u].append(v)
        labels = []
        for i in range(n):
            attrs = {k: v for k, v in self.node_attrs[i].items() if k not in _HASH_IGNORED_NODE_ATTRS}
            labels.append(_digest(json.dumps([self.ops[i], attrs, len(preds[i]), len(succs[i])],
                                             sort_keys=True, default=str)))
        classes = len(set(labels))
        for _ in range(n):
            labels = [
                _digest(labels[i] + "|" + ",".join(sorted(labels[u] for u in preds[i]))
                        + "|" + ",".join(sorted(labels[w] for w in succs[i])))
                for i in range(n)
            ]
            new_classes = len(set(labels))
            if new_classes == classes:
                break
            classes = new_classes
        graph_attrs = {k: self.attrs[k] for k in _HASH_GRAPH_ATTRS if k in self.attrs}
        return _digest(json.dumps([sorted(labels), self.num_edges, graph_attrs], default=str))

    def __eq__(self, other: object) -> bool:
        """Exact equality: same ops, edges and attributes in the same node order."""
        if not isinstance(other, ArchGraph):
            return NotImplemented
        return (self.ops == other.ops and self.edges == other.edges
                and self.node_attrs == other.node_attrs and self.attrs == other.attrs)

    __hash__ = None  # mutable; use .hash() for an identity key

    def is_isomorphic(self, other: "ArchGraph") -> bool:
        """True when the two graphs hash equal (see :meth:`hash`)."""
        return self.hash() == other.hash()

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        d: dict[str, Any] = {"format": JSON_FORMAT, "version": JSON_VERSION,
                             "ops": list(self.ops), "edges": [list(e) for e in self.edges]}
        if any(self.node_attrs):
            d["node_attrs"] = [dict(a) for a in self.node_attrs]
        if self.attrs:
            d["attrs"] = dict(self.attrs)
        return d

    @classmethod
    def from_dict(cls, d: Any, *, validate: bool = True, prune: bool = False) -> "ArchGraph":
        """Inverse of :meth:`to_dict`; a malformed dict names the offending field."""
        if not isinstance(d, dict):
            raise GraphError(f"a JSON graph must be an object with 'ops' and 'edges', got {type(d).__name__}")
        if d.get("format", JSON_FORMAT) != JSON_FORMAT:
            raise GraphError(f"'format' is {d.get('format')!r}; expected {JSON_FORMAT!r}")
        version = d.get("version", JSON_VERSION)
        if not isinstance(version, int) or isinstance(version, bool):
            raise GraphError(f"field 'version' must be an integer, got {version!r}")
        if version > JSON_VERSION:
            raise GraphError(f"graph JSON version {d['version']} is newer than this archrep "
                             f"understands ({JSON_VERSION}): upgrade archrep")
        for key in ("ops", "edges"):
            if key not in d:
                raise GraphError(f"a JSON graph needs the field {key!r}")
            if not isinstance(d[key], list):
                raise GraphError(f"field {key!r} must be a list, got {type(d[key]).__name__}")
        for i, op in enumerate(d["ops"]):
            if not isinstance(op, str):
                raise GraphError(f"ops[{i}] = {op!r} must be a string op name")
        node_attrs = d.get("node_attrs")
        if node_attrs is not None and (not isinstance(node_attrs, list)
                                       or not all(isinstance(a, dict) for a in node_attrs)):
            raise GraphError("field 'node_attrs' must be a list of objects, one per op")
        attrs = d.get("attrs")
        if attrs is not None and not isinstance(attrs, dict):
            raise GraphError("field 'attrs' must be an object")
        return cls(d["ops"], d["edges"], node_attrs, attrs, validate=validate, prune=prune)

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str, **kwargs) -> "ArchGraph":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GraphError(f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
        return cls.from_dict(d, **kwargs)

    def __repr__(self) -> str:
        return f"ArchGraph(nodes={self.num_nodes}, edges={self.num_edges}, ops={self.ops})"


def _edge_pair(e: Any, k: int) -> tuple[int, int]:
    """``(u, v)`` from an edge given as a pair of integers; anything else names edges[k]."""
    ok = isinstance(e, (list, tuple, np.ndarray)) and len(e) == 2 and all(
        isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)) for x in e)
    if not ok:
        raise GraphError(f"edges[{k}] = {e!r} is not a (source, target) pair of integer node indices")
    return int(e[0]), int(e[1])


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _topological_order(n: int, edges: set[tuple[int, int]], ops: Sequence[str]) -> list[int]:
    """Kahn's algorithm, smallest index first, so an already sorted graph keeps its order.
    Raises GraphError naming the nodes of a cycle."""
    indeg = [0] * n
    succ: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        succ[u].append(v)
        indeg[v] += 1
    heap = [i for i in range(n) if indeg[i] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        u = heapq.heappop(heap)
        order.append(u)
        for v in succ[u]:
            indeg[v] -= 1
            if indeg[v] == 0:
                heapq.heappush(heap, v)
    if len(order) < n:
        cycle = _find_cycle(n, edges, set(order))
        names = " -> ".join(f"{i} ({ops[i]})" for i in cycle)
        raise GraphError(f"the graph has a cycle: {names}; an architecture must be a DAG")
    return order


def _find_cycle(n: int, edges: set[tuple[int, int]], done: set[int]) -> list[int]:
    """A cycle among the nodes Kahn's algorithm could not order. Each of them keeps an in-edge
    from another such node, so walking predecessors must revisit a node."""
    pred: dict[int, list[int]] = {i: [] for i in range(n) if i not in done}
    for u, v in edges:
        if u in pred and v in pred:
            pred[v].append(u)
    path = [next(iter(pred))]
    seen = {path[0]: 0}
    while True:
        prev = pred[path[-1]][0]
        if prev in seen:
            return list(reversed(path[seen[prev]:])) + [path[-1]]
        seen[prev] = len(path)
        path.append(prev)
