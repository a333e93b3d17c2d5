"""NAS-Bench-101: cells of up to 7 nodes and 9 edges, each intermediate node one of 3 ops.

An *arch* is a spec ``(matrix, ops)``: an n x n strictly upper-triangular 0/1 adjacency
(``matrix[u][v] = 1`` for u -> v) and n op names, ``ops[0] = 'input'``, ``ops[-1] = 'output'``,
the rest from :data:`OPS`. :class:`NB101Spec` holds one as tuples; every function here also
accepts a ``(matrix, ops)`` pair of lists or arrays, or a dict with ``matrix`` and ``ops``.

The official rules (``nasbench.api.ModelSpec``), applied by :func:`prune` and
:func:`validity_error`:

1. *pruning*: a vertex that is not on some input -> output path is extraneous and is removed
   with its edges; when input and output are not connected at all the spec is invalid;
2. the pruned spec is valid iff it has at most 7 vertices and at most 9 edges, ``input`` first,
   ``output`` last, legal ops in between, and a strictly upper-triangular matrix.

The raw spec must already be square, 0/1 and strictly upper-triangular (a DAG in the order given).

**Key format** (:meth:`NB101Space.key`): the pruned spec in *canonical node order*, written
``"<row>,<row>,...|<op>,<op>,..."`` with each matrix row as a 0/1 string, e.g.
``"0110,0001,0001,0000|input,conv3x3-bn-relu,maxpool3x3,output"``. The canonical order is the
topological order of the intermediate nodes that gives the smallest ``(rows, ops)`` text, so
isomorphic specs (the same cell written with its nodes numbered differently) share one key:
an exact canonical form (at most 5! orders are tried), unlike :func:`spec_hash`, the
Weisfeiler-Lehman :meth:`ArchGraph.hash` of the pruned graph.
"""
from __future__ import annotations

import itertools
import random
from typing import Any, Iterator, NamedTuple, Sequence

import numpy as np

from archrep.errors import ArchrepError
from archrep.graph import ArchGraph
from archrep.ops import INPUT, OUTPUT
from archrep.spaces import register_space
from archrep.spaces.base import SearchSpace

#: the ops of the intermediate nodes, in the common one-hot order (arch2vec, NASLib)
OPS: tuple[str, ...] = ("conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3")
MAX_VERTICES = 7
MAX_EDGES = 9


class NB101Spec(NamedTuple):
    """One NB101 cell: ``matrix`` as a tuple of 0/1 row tuples, ``ops`` as a tuple of names."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))


def as_spec(arch: Any) -> NB101Spec:
    """Coerce ``arch`` to an :class:`NB101Spec`; a wrongly shaped one raises ArchrepError.

    Only the structure is checked here (square 0/1 strictly upper-triangular matrix, one op per
    node, ops are strings); the NB101 rules are :func:`validity_error`'s job.
    """
    if isinstance(arch, NB101Spec):
        return arch
    if isinstance(arch, dict):
        if "matrix" not in arch or "ops" not in arch:
            raise ArchrepError(f"an NB101 spec dict needs the keys 'matrix' and 'ops'; got {sorted(arch)}")
        matrix, ops = arch["matrix"], arch["ops"]
    elif isinstance(arch, (tuple, list)) and len(arch) == 2:
        matrix, ops = arch
    else:
        raise ArchrepError(f"an NB101 arch must be a (matrix, ops) pair, got {type(arch).__name__}")
    try:
        m = np.asarray(matrix)
    except (TypeError, ValueError):
        raise ArchrepError(f"NB101 matrix {matrix!r} is not a 2-D array of 0/1") from None
    if isinstance(ops, str) or not isinstance(ops, (Sequence, np.ndarray)):
        raise ArchrepError(f"NB101 ops must be a list of op names, got {type(ops).__name__}")
    ops = [str(o) if isinstance(o, (str, np.str_)) else o for o in ops]
    if any(not isinstance(o, str) for o in ops):
        raise ArchrepError(f"NB101 ops must all be strings, got {ops!r}")
    n = len(ops)
    if m.ndim != 2 or m.shape != (n, n):
        raise ArchrepError(f"NB101 matrix has shape {m.shape}; expected ({n}, {n}) for {n} ops")
    if m.dtype == bool:
        m = m.astype(np.int64)
    if not np.issubdtype(m.dtype, np.number) or not np.isin(m, (0, 1)).all():
        raise ArchrepError("NB101 matrix entries must be 0 or 1")
    m = m.astype(np.int64)
    if np.tril(m).any():
        u, v = np.argwhere(np.tril(m))[0].tolist()
        raise ArchrepError(f"NB101 matrix must be strictly upper-triangular (node u feeds only "
                           f"later nodes v > u); entry [{u}][{v}] is set")
    return NB101Spec(tuple(tuple(int(x) for x in row) for row in m), tuple(ops))


def prune(arch: Any) -> NB101Spec | None:
    """The spec without its extraneous vertices (those on no input -> output path), or None
    when no input -> output path exists (the official ``ModelSpec`` pruning)."""
    spec = as_spec(arch)
    n = spec.num_vertices
    if n < 2:
        return None
    m = spec.matrix
    fwd = [False] * n
    fwd[0] = True
    for u in range(n):
        if fwd[u]:
            for v in range(u + 1, n):
                if m[u][v]:
                    fwd[v] = True
    bwd = [False] * n
    bwd[n - 1] = True
    for v in range(n - 1, -1, -1):
        if bwd[v]:
            for u in range(v):
                if m[u][v]:
                    bwd[u] = True
    keep = [i for i in range(n) if fwd[i] and bwd[i]]
    if len(keep) < 2 or keep[0] != 0 or keep[-1] != n - 1:
        return None
    if len(keep) == n:
        return spec
    return NB101Spec(tuple(tuple(m[u][v] for v in keep) for u in keep), tuple(spec.ops[i] for i in keep))


def validity_error(arch: Any) -> str | None:
    """Why ``arch`` is not a valid NB101 cell, or None when it is (see the module docstring)."""
    try:
        spec = as_spec(arch)
    except ArchrepError as exc:
        return str(exc)
    if spec.num_vertices < 2:
        return f"an NB101 cell needs at least an input and an output node, got {spec.num_vertices} node(s)"
    if spec.ops[0] != INPUT or spec.ops[-1] != OUTPUT:
        return f"the first op must be {INPUT!r} and the last {OUTPUT!r}, got {spec.ops[0]!r} ... {spec.ops[-1]!r}"
    bad = [o for o in spec.ops[1:-1] if o not in OPS]
    if bad:
        return f"unknown NB101 op {bad[0]!r}; intermediate ops must be one of {', '.join(OPS)}"
    pruned = prune(spec)
    if pruned is None:
        return "there is no path from the input to the output"
    if pruned.num_vertices > MAX_VERTICES:
        return f"{pruned.num_vertices} vertices after pruning; NB101 allows at most {MAX_VERTICES}"
    if pruned.num_edges > MAX_EDGES:
        return f"{pruned.num_edges} edges after pruning; NB101 allows at most {MAX_EDGES}"
    return None


def _checked_pruned(arch: Any) -> NB101Spec:
    reason = validity_error(arch)
    if reason is not None:
        raise ArchrepError(f"invalid NB101 spec: {reason}")
    return prune(arch)  # type: ignore[return-value]


def canonical(arch: Any) -> NB101Spec:
    """The pruned spec with its intermediate nodes in canonical order (see the module docstring):
    isomorphic specs give the identical result."""
    spec = _checked_pruned(arch)
    n = spec.num_vertices
    m = spec.matrix
    edges = [(u, v) for u in range(n) for v in range(u + 1, n) if m[u][v]]
    best: tuple[str, tuple[str, ...]] | None = None
    best_order: tuple[int, ...] = tuple(range(n))
    for mid in itertools.permutations(range(1, n - 1)):
        order = (0, *mid, n - 1)
        pos = {old: new for new, old in enumerate(order)}
        if any(pos[u] > pos[v] for u, v in edges):
            continue
        rows = ",".join("".join(str(m[order[i]][order[j]]) for j in range(n)) for i in range(n))
        cand = (rows, tuple(spec.ops[i] for i in order))
        if best is None or cand < best:
            best, best_order = cand, order
    o = best_order
    return NB101Spec(tuple(tuple(m[o[i]][o[j]] for j in range(n)) for i in range(n)),
                     tuple(spec.ops[i] for i in o))


def spec_to_string(arch: Any) -> str:
    """The canonical key of a valid spec (format in the module docstring)."""
    spec = canonical(arch)
    rows = ",".join("".join(map(str, row)) for row in spec.matrix)
    return f"{rows}|{','.join(spec.ops)}"


def string_to_spec(text: str) -> NB101Spec:
    """Parse ``"<row>,...|<op>,..."``; malformed or invalid text raises ArchrepError saying why."""
    if not isinstance(text, str):
        raise ArchrepError(f"an NB101 key must be a str, got {type(text).__name__}")
    example = "'0110,0001,0001,0000|input,conv3x3-bn-relu,maxpool3x3,output'"
    parts = text.strip().split("|")
    if len(parts) != 2:
        raise ArchrepError(f"malformed NB101 key {text!r}: expected '<matrix rows>|<ops>' with one '|', "
                           f"e.g. {example}")
    rows = [r.strip() for r in parts[0].split(",")]
    ops = [o.strip() for o in parts[1].split(",")]
    n = len(ops)
    if len(rows) != n:
        raise ArchrepError(f"malformed NB101 key {text!r}: {len(rows)} matrix rows but {n} ops")
    for i, r in enumerate(rows):
        if len(r) != n or set(r) - {"0", "1"}:
            raise ArchrepError(f"malformed NB101 key {text!r}: matrix row {i} ({r!r}) must be {n} "
                               f"characters of 0/1, e.g. {example}")
    matrix = [[int(c) for c in r] for r in rows]
    spec = as_spec((matrix, ops))
    reason = validity_error(spec)
    if reason is not None:
        raise ArchrepError(f"NB101 key {text!r} is not a valid cell: {reason}")
    return spec


def spec_to_graph(arch: Any) -> ArchGraph:
    """The pruned spec as an ArchGraph (node order as in the pruned spec)."""
    spec = _checked_pruned(arch)
    return ArchGraph.from_adjacency(spec.ops, spec.matrix, attrs={"space": "nb101"})


def spec_hash(arch: Any) -> str:
    """The isomorphism-invariant :meth:`ArchGraph.hash` of the pruned cell."""
    return spec_to_graph(arch).hash()


def _random_raw(rng: random.Random, ops_choice: Sequence[str]) -> NB101Spec:
    n = MAX_VERTICES
    matrix = [[1 if v > u and rng.random() < 0.5 else 0 for v in range(n)] for u in range(n)]
    ops = [INPUT, *(rng.choice(ops_choice) for _ in range(n - 2)), OUTPUT]
    return NB101Spec(tuple(map(tuple, matrix)), tuple(ops))


def _padded(spec: NB101Spec, rng: random.Random) -> NB101Spec:
    """``spec`` grown to 7 vertices with unconnected nodes (random ops) before the output, so
    that a mutation can wire in new nodes."""
    n = spec.num_vertices
    extra = MAX_VERTICES - n
    if extra <= 0:
        return spec
    order = list(range(n - 1)) + [None] * extra + [n - 1]
    m = tuple(tuple(spec.matrix[a][b] if a is not None and b is not None else 0 for b in order)
              for a in order)
    ops = tuple(spec.ops[a] if a is not None else rng.choice(OPS) for a in order)
    return NB101Spec(m, ops)


def _moves(spec: NB101Spec) -> list[tuple[str, int, int | str]]:
    n = spec.num_vertices
    moves: list[tuple[str, int, int | str]] = [("edge", u, v) for u in range(n) for v in range(u + 1, n)]
    moves += [("op", i, op) for i in range(1, n - 1) for op in OPS if op != spec.ops[i]]
    return moves


def _apply(spec: NB101Spec, move: tuple[str, int, int | str]) -> NB101Spec:
    kind, a, b = move
    if kind == "edge":
        m = [list(r) for r in spec.matrix]
        m[a][b] = 1 - m[a][b]  # type: ignore[index]
        return NB101Spec(tuple(map(tuple, m)), spec.ops)
    ops = list(spec.ops)
    ops[a] = b  # type: ignore[assignment]
    return NB101Spec(spec.matrix, tuple(ops))


@register_space("nb101")
class NB101Space(SearchSpace):
    """The 423,624 NAS-Bench-101 cells; :meth:`enumerate` lists them all, one per isomorphism
    class, from the cached :func:`archrep.spaces.enumeration.enumerate_cells` table."""

    name = "nb101"
    op_vocab = (INPUT, *OPS, OUTPUT)
    finite = True

    def sample(self, rng: random.Random) -> NB101Spec:
        """The official sampler: a random 7-node upper-triangular matrix (each edge with p=0.5)
        and random ops, redrawn until valid; returned pruned."""
        while True:
            raw = _random_raw(rng, OPS)
            if validity_error(raw) is None:
                return prune(raw)  # type: ignore[return-value]

    def mutate(self, arch: Any, rng: random.Random) -> NB101Spec:
        """Flip one edge or change one op (of the spec padded to 7 nodes with unconnected
        ones) such that the result is valid and not isomorphic to ``arch``; returned pruned.
        When no single change works (only for the bare input -> output cell) two are made."""
        spec = _checked_pruned(arch)
        own = spec_to_string(spec)
        padded = _padded(spec, rng)
        moves = _moves(padded)
        rng.shuffle(moves)
        for mv in moves:
            cand = _apply(padded, mv)
            if validity_error(cand) is None and spec_to_string(cand) != own:
                return prune(cand)  # type: ignore[return-value]
        pairs = list(itertools.combinations(moves, 2))
        rng.shuffle(pairs)
        for m1, m2 in pairs:
            cand = _apply(_apply(padded, m1), m2)
            if validity_error(cand) is None and spec_to_string(cand) != own:
                return prune(cand)  # type: ignore[return-value]
        raise ArchrepError(f"no valid NB101 neighbour of {own!r} within two edits")

    def is_valid(self, arch: Any) -> bool:
        return validity_error(arch) is None

    def to_graph(self, arch: Any) -> ArchGraph:
        return spec_to_graph(arch)

    def key(self, arch: Any) -> str:
        return spec_to_string(arch)

    def parse(self, text: str) -> NB101Spec:
        return string_to_spec(text)

    def canonical(self, arch: Any) -> NB101Spec:
        return canonical(arch)

    def spec_hash(self, arch: Any) -> str:
        return spec_hash(arch)

    def cells(self):
        """The :class:`~archrep.spaces.enumeration.CellTable` of all unique valid cells
        (built in seconds on first use, then read from the ARCHREP_HOME cache)."""
        from archrep.spaces.enumeration import enumerate_cells

        return enumerate_cells(self)

    def enumerate(self) -> Iterator[NB101Spec]:
        """Every unique valid cell as a pruned :class:`NB101Spec` in canonical node order (so
        ``key(spec)`` is the spec written out): by vertex count, then matrix, then ops."""
        table = self.cells()
        mats: dict[bytes, tuple] = {}  # ~2.5k distinct matrices: convert each once
        for i in range(len(table)):
            n = int(table.num_nodes[i])
            raw = table.adj[i].tobytes()
            m = mats.get(raw)
            if m is None:
                m = mats[raw] = tuple(tuple(int(x) for x in row) for row in table.adj[i, :n, :n])
            yield NB101Spec(m, tuple(self.op_vocab[k] for k in table.ops[i, :n].tolist()))

    def __len__(self) -> int:
        from archrep.spaces.enumeration import NB101_NUM_CELLS

        return NB101_NUM_CELLS

