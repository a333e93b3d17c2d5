"""Every unique valid cell of a finite cell space, as compact arrays, cached under ARCHREP_HOME.

:func:`enumerate_cells` is the one entry point: ``enumerate_cells("nb101")`` gives the 423,624
unique valid NAS-Bench-101 cells, ``enumerate_cells("nb201")`` the 15,625 NAS-Bench-201 cells.
The result, a :class:`CellTable`, holds per cell the op indices into the space's ``op_vocab``
(padded with -1), the 0/1 adjacency (padded with zeros, arch2vec style: real nodes first, the
output node last among them) and the node count.

**NB101 method.** Instead of the official brute force over every raw (matrix, ops) pair
(about 510 M for 7 vertices), each *pruned* cell is built once:

1. for each vertex count n = 2..7, every strictly upper-triangular n x n matrix (2^21 for n = 7)
   is tested at once with numpy: at most ``max_edges`` edges and every vertex on an
   input -> output path (exactly the matrices that pruning leaves unchanged; every valid raw
   spec prunes to one of them);
2. each such matrix is mapped to its class representative: over all permutations of the
   intermediate vertices that keep the matrix upper-triangular (the other topological orders
   of the same DAG), the one with the smallest row-major bit string. Isomorphic matrices
   (input and output fixed) share the representative; this is exact, not a hash;
3. for each representative, its automorphisms (the orders that give it back) act on the
   3^(n-2) op labelings; one labeling per orbit is kept, the smallest (ops in :data:`OPS`
   order), so no two kept cells are isomorphic as labelled graphs.

The kept cell is therefore exactly :func:`archrep.spaces.nb101.canonical` of itself, so its
:meth:`NB101Space.key` is its matrix and ops written out. Distinct cells also have distinct
:meth:`ArchGraph.hash` (Weisfeiler-Lehman, the same kind of hash as the official benchmark's),
which the tests check on every cell of up to 6 vertices and ``benchmarks/enumeration.py
--check-hash`` on the full set.

**Cache.** ``ARCHREP_HOME/spaces/<space>-cells-v<VERSION>[-<params>].npz`` plus a JSON
manifest (format, space, version, count, seconds, sha256, parameters). Both are written
atomically; a file whose SHA-256 does not match its manifest, or an unreadable one, is rebuilt.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from archrep import config
from archrep.errors import ArchrepError
from archrep.graph import ArchGraph

#: bump when the enumeration or the file layout changes: old caches are then ignored
VERSION = 1
CACHE_FORMAT = 1
#: the official counts of the complete spaces
NB101_NUM_CELLS = 423_624
NB201_NUM_CELLS = 15_625


@dataclass
class CellTable:
    """Every cell of a space. ``ops[i, :num_nodes[i]]`` index ``op_vocab`` (-1 pads),
    ``adj[i]`` is the padded adjacency with ``adj[i, u, v] = 1`` for u -> v."""

    space: str
    op_vocab: tuple[str, ...]
    ops: np.ndarray  # (N, V) int8
    adj: np.ndarray  # (N, V, V) uint8
    num_nodes: np.ndarray  # (N,) int8
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ops.shape[0])

    def cell(self, i: int) -> tuple[np.ndarray, list[str]]:
        """Cell ``i`` unpadded: its (n, n) adjacency and its n op names."""
        n = int(self.num_nodes[i])
        return self.adj[i, :n, :n].copy(), [self.op_vocab[k] for k in self.ops[i, :n]]

    def graph(self, i: int) -> ArchGraph:
        a, ops = self.cell(i)
        return ArchGraph.from_adjacency(ops, a, attrs={"space": self.space})


# ---------------------------------------------------------------------------- NB101
def _live_upper_matrices(n: int, max_edges: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Edge-bit codes (bit k = edge ``edges[k]``) of the n x n strictly upper-triangular
    matrices with at most ``max_edges`` edges and every vertex on an input -> output path."""
    edges = [(i, j) for i in range(n) for j in range(i + 1, n)]
    m = len(edges)
    codes = np.arange(1 << m, dtype=np.int64)
    bits = ((codes[:, None] >> np.arange(m, dtype=np.int64)) & 1).astype(bool)
    keep = bits.sum(axis=1) <= max_edges
    codes, bits = codes[keep], bits[keep]
    a = np.zeros((len(codes), n, n), dtype=bool)
    for k, (i, j) in enumerate(edges):
        a[:, i, j] = bits[:, k]
    fwd = np.zeros((len(codes), n), dtype=bool)
    fwd[:, 0] = True
    for v in range(1, n):
        fwd[:, v] = (fwd[:, :v] & a[:, :v, v]).any(axis=1)
    bwd = np.zeros((len(codes), n), dtype=bool)
    bwd[:, n - 1] = True
    for u in range(n - 2, -1, -1):
        bwd[:, u] = (bwd[:, u + 1:] & a[:, u, u + 1:]).any(axis=1)
    live = (fwd & bwd).all(axis=1)
    return codes[live], edges


class _PermCoder:
    """Row-major codes of edge-coded matrices after renumbering the vertices, via lookup tables
    over 8-bit chunks of the edge code. The row-major code puts entry (0, 0) in the most
    significant bit, so smaller code = smaller row-major 0/1 text."""

    CHUNK = 8

    def __init__(self, n: int, edges: list[tuple[int, int]]):
        self.n = n
        self.edges = edges
        # p[i] = new position of vertex i; input and output stay put
        self.perms = [(0, *mid, n - 1) for mid in itertools.permutations(range(1, n - 1))] if n > 2 else [(0, 1)]
        nbits = n * n
        self.tables: list[list[np.ndarray]] = []
        self.bad: list[int] = []
        for p in self.perms:
            weights = [1 << (nbits - 1 - (p[i] * n + p[j])) for i, j in edges]
            self.bad.append(sum(1 << k for k, (i, j) in enumerate(edges) if p[i] > p[j]))
            tabs = []
            for start in range(0, len(edges), self.CHUNK):
                w = np.asarray(weights[start:start + self.CHUNK], dtype=np.int64)
                vals = np.arange(1 << len(w), dtype=np.int64)
                sel = ((vals[:, None] >> np.arange(len(w), dtype=np.int64)) & 1).astype(bool)
                tabs.append((sel * w).sum(axis=1).astype(np.int64))
            self.tables.append(tabs)

    def code(self, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(row-major code after perm k, whether the result is still upper-triangular)."""
        out = np.zeros(len(codes), dtype=np.int64)
        mask = (1 << self.CHUNK) - 1
        for c, tab in enumerate(self.tables[k]):
            out |= tab[(codes >> (c * self.CHUNK)) & mask]
        return out, (codes & self.bad[k]) == 0


def _nb101_cells(max_vertices: int, max_edges: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(ops, adj, num_nodes, per-size counts) of the unique valid NB101 cells."""
    from archrep.spaces.nb101 import OPS

    nops = len(OPS)
    width = max_vertices
    all_ops, all_adj, all_n = [], [], []
    stats: dict[str, Any] = {}
    for n in range(2, max_vertices + 1):
        codes, edges = _live_upper_matrices(n, max_edges)
        if len(codes) == 0:
            stats[str(n)] = {"matrices": 0, "classes": 0, "cells": 0}
            continue
        pc = _PermCoder(n, edges)
        ident, _ = pc.code(codes, 0)  # perm 0 is the identity
        best = ident.copy()
        for k in range(1, len(pc.perms)):
            c, ok = pc.code(codes, k)
            np.minimum(best, np.where(ok, c, best), out=best)
        reps = np.unique(best)
        # edge code of each representative: it is itself one of the enumerated matrices
        order = np.argsort(ident)
        rep_codes = codes[order[np.searchsorted(ident[order], reps)]]
        # automorphisms: perms mapping the representative onto itself
        aut = np.zeros((len(reps), len(pc.perms)), dtype=bool)
        for k in range(len(pc.perms)):
            c, ok = pc.code(rep_codes, k)
            aut[:, k] = ok & (c == reps)
        # op labelings of the intermediate vertices, base-nops code, first vertex most significant
        mid = n - 2
        labels = np.array(list(itertools.product(range(nops), repeat=mid)), dtype=np.int64).reshape(nops ** mid, mid)
        place = nops ** np.arange(mid - 1, -1, -1, dtype=np.int64)
        lab_code = labels @ place
        kept_by_group: dict[bytes, np.ndarray] = {}
        groups = {}
        for r in range(len(reps)):
            groups.setdefault(aut[r].tobytes(), []).append(r)
        nclasses_cells = 0
        rows_adj: list[np.ndarray] = []
        rows_ops: list[np.ndarray] = []
        for key, members in groups.items():
            if key not in kept_by_group:
                canon = lab_code.copy()
                for k in np.flatnonzero(aut[members[0]]):
                    p = pc.perms[k]
                    # vertex i moves to p[i]: new label at position p[i] is labels[:, i]
                    newpos = np.array([p[i] - 1 for i in range(1, n - 1)], dtype=np.int64)
                    np.minimum(canon, labels @ place[newpos], out=canon)
                kept_by_group[key] = labels[canon == lab_code]
            kept = kept_by_group[key]
            for r in members:
                a = np.zeros((width, width), dtype=np.uint8)
                for b, (i, j) in enumerate(edges):
                    if (rep_codes[r] >> b) & 1:
                        a[i, j] = 1
                rows_adj.append(np.broadcast_to(a, (len(kept), width, width)))
                o = np.full((len(kept), width), -1, dtype=np.int8)
                o[:, 0] = 0  # input
                o[:, 1:n - 1] = kept + 1
                o[:, n - 1] = nops + 1  # output
                rows_ops.append(o)
                nclasses_cells += len(kept)
        # sort: by representative code, then labeling (deterministic order)
        adj_n = np.concatenate(rows_adj)
        ops_n = np.concatenate(rows_ops)
        keyrow = ops_n[:, 1:n - 1].astype(np.int64) @ place if mid else np.zeros(len(ops_n), np.int64)
        repcode = np.concatenate([np.full(len(kept_by_group[aut[r].tobytes()]), reps[r], dtype=np.int64)
                                  for g in groups.values() for r in g])
        srt = np.lexsort((keyrow, repcode))
        all_adj.append(adj_n[srt])
        all_ops.append(ops_n[srt])
        all_n.append(np.full(len(srt), n, dtype=np.int8))
        stats[str(n)] = {"matrices": int(len(codes)), "classes": int(len(reps)), "cells": int(nclasses_cells)}
    return (np.concatenate(all_ops), np.concatenate(all_adj), np.concatenate(all_n), stats)


# ---------------------------------------------------------------------------- NB201
def _nb201_cells(graph_style: str = "keep_none") -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    from archrep.spaces.nb201 import NB201Space

    space = NB201Space(graph_style)
    vocab = space.op_vocab
    index = {op: i for i, op in enumerate(vocab)}
    graphs = [space.to_graph(a) for a in space.enumerate()]
    width = max(g.num_nodes for g in graphs)
    ops = np.full((len(graphs), width), -1, dtype=np.int8)
    adj = np.zeros((len(graphs), width, width), dtype=np.uint8)
    nn = np.zeros(len(graphs), dtype=np.int8)
    for r, g in enumerate(graphs):
        n = g.num_nodes
        ops[r, :n] = [index[o] for o in g.ops]
        adj[r, :n, :n] = g.adjacency()
        nn[r] = n
    return ops, adj, nn, tuple(vocab)


# ---------------------------------------------------------------------------- entry point + cache
def cache_path(space: str, **params: Any) -> Path:
    suffix = "".join(f"-{k}{v}" for k, v in sorted(params.items()))
    return config.archrep_home() / "spaces" / f"{space}-cells-v{VERSION}{suffix}.npz"


def _save(table: CellTable, path: Path) -> None:
    from archrep.data.cache import write_arrays

    write_arrays(path, {"ops": table.ops, "adj": table.adj, "num_nodes": table.num_nodes},
                 {"format": CACHE_FORMAT, "space": table.space, "op_vocab": list(table.op_vocab), **table.meta},
                 compressed=True)


def _load(path: Path) -> CellTable | None:
    from archrep.data.cache import read_arrays

    found = read_arrays(path)
    if found is None:
        return None
    z, manifest = found
    try:
        if manifest.get("format") != CACHE_FORMAT or manifest.get("version") != VERSION:
            return None
        if len(z["ops"]) != manifest["count"]:
            return None
        meta = {k: v for k, v in manifest.items() if k not in ("format", "sha256", "space", "op_vocab")}
        return CellTable(manifest["space"], tuple(manifest["op_vocab"]), z["ops"], z["adj"], z["num_nodes"], meta)
    except (ValueError, KeyError, TypeError):
        return None


def enumerate_cells(space: str | Any = "nb101", *, max_vertices: int = 7, max_edges: int = 9,
                    cache: bool = True, rebuild: bool = False) -> CellTable:
    """All unique valid cells of ``space`` ("nb101" or "nb201", or the space object).

    NB101: ``max_vertices`` / ``max_edges`` (defaults: the official 7 and 9) give the smaller
    spaces the tests check against a brute force. NB201: the 15,625 cells in
    ``NB201Space.enumerate()`` order, as ``keep_none`` graphs (the limits do not apply).
    With ``cache`` the table is read from / written to ARCHREP_HOME (see the module docstring);
    ``rebuild`` ignores an existing cache file.
    """
    name = space if isinstance(space, str) else getattr(space, "name", "")
    if name == "nb101":
        from archrep.spaces.nb101 import MAX_EDGES, MAX_VERTICES

        if not (2 <= int(max_vertices) <= MAX_VERTICES) or not (0 <= int(max_edges) <= MAX_EDGES):
            raise ArchrepError(f"nb101 enumeration limits must be 2 <= max_vertices <= {MAX_VERTICES} "
                               f"and 0 <= max_edges <= {MAX_EDGES}; got {max_vertices}, {max_edges}")
        params = {} if (max_vertices, max_edges) == (MAX_VERTICES, MAX_EDGES) else \
            {"v": int(max_vertices), "e": int(max_edges)}
    elif name == "nb201":
        style = getattr(space, "graph_style", "keep_none") if not isinstance(space, str) else "keep_none"
        if style != "keep_none":
            raise ArchrepError(f"nb201 enumeration is of keep_none graphs; got graph_style {style!r}")
        params = {}
    else:
        raise ArchrepError(f"cannot enumerate the cells of space {name!r}: supported are nb101, nb201")
    path = cache_path(name, **params)
    if cache and not rebuild:
        table = _load(path)
        if table is not None:
            return table
    t0 = time.perf_counter()
    if name == "nb101":
        from archrep.spaces.nb101 import NB101Space

        ops, adj, nn, stats = _nb101_cells(int(max_vertices), int(max_edges))
        vocab = tuple(NB101Space.op_vocab)
        extra: dict[str, Any] = {"max_vertices": int(max_vertices), "max_edges": int(max_edges),
                                 "by_vertices": stats}
    else:
        ops, adj, nn, vocab = _nb201_cells()
        extra = {"graph_style": "keep_none"}
    seconds = time.perf_counter() - t0
    table = CellTable(name, vocab, ops, adj, nn,
                      {"version": VERSION, "count": int(len(ops)), "seconds": round(seconds, 3), **extra})
    if cache:
        _save(table, path)
    return table
