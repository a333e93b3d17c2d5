"""NAS-Bench-Graph: a GNN macro space of 4 layers, each reading one earlier node.

An *arch* is ``(link, ops)``: ``link[i]`` is the node layer ``i`` reads (0 = the graph input,
``j > 0`` = the output of layer ``j - 1``, so ``link[i] <= i``) and ``ops[i]`` is its op, one of
:data:`GNN_OPS` (:data:`PROTEINS_OPS` for the ogbn-proteins variant). The layers form a rooted
tree over the input; every layer no other layer reads (a leaf) feeds the output. The key is
the canonical form (below) written ``"0,0,1,3|gcn,gat,fc,gin"`` (link, then ops).

**Why 26,206 and not 9 x 9^4.** The benchmark trains one network per equivalence class and files
it under the integer id of one representative (:func:`hash_key`, the package's
``Arch.valid_hash()``). Two rules make archs equivalent:

1. *Relabelling.* Numbering the layers differently gives the same tree. There are 24 ways to
   give each of 4 layers an earlier input, but only 9 rooted trees with 4 non-root nodes; the
   representative uses the link of :data:`LINKS` with that shape, and among the numberings that
   produce it (the tree's automorphisms, e.g. the 4! of ``0,0,0,0``) the one whose op indices
   (in :data:`GNN_OPS` order) are lexicographically smallest.
2. *Skips.* A ``skip`` layer is the identity, and a leaf whose value is still the raw input
   features counts for nothing (the package's rules drop it; its comment says such a value keeps
   the input dimension, not the hidden one). So a skip's readers may read its input instead; a leaf skip that is its parent's only reader
   just makes the parent a leaf; and a skip whose value is the raw input adds nothing. What is
   left is the tree of non-skip layers plus, for each of them, how many times its output is
   summed into the result (leaf skips that are not removable). Unused skips become *padding*:
   a chain ``input -> skip -> skip ...`` at the root that the first real layers read, which is
   how the benchmark writes networks of fewer than 4 real layers (its anchor archs, e.g. a
   2-layer GCN is ``0,1,2,3|skip,skip,gcn,gcn``). An all-skip arch has no layer and is invalid.

:func:`canonicalize` applies both rules; the canonical archs over the 9 ops are exactly the
26,206 keys of every full ``.bench`` file, and over the 5 proteins ops the 2,021 keys of
``proteins.bench`` (checked in ``tests/test_nbgraph.py``). Any of the 24 DAG links is accepted
as a spelling (the package README writes ``0,1,2,1|gcn,gin,fc,cheb``); :meth:`NBGraphSpace.is_valid`
accepts the 9 links of :data:`LINKS`, the space's native encoding.

The ArchGraph of an arch is that of its canonical form: ``input``, the 4 layers in canonical
order, ``output``; edge ``link[i] -> layer i`` and ``leaf -> output``. Padding skips and residual
skips are ordinary nodes, so every graph has 6 nodes and 4 + (number of leaves) edges.
"""
from __future__ import annotations

import functools
import itertools
import numbers
import random
from collections import Counter
from typing import Iterator, Sequence

from archrep.errors import ArchrepError
from archrep.graph import ArchGraph
from archrep.spaces import register_space
from archrep.spaces.base import SearchSpace

#: the benchmark's op list; an op's position is its digit in :func:`hash_key`
GNN_OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
#: the ops of the ogbn-proteins benchmark (a subset; same digits as in :data:`GNN_OPS`)
PROTEINS_OPS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
OP_SETS: dict[str, tuple[str, ...]] = {"all": GNN_OPS, "proteins": PROTEINS_OPS}
#: one link per rooted tree shape; a link's position is the leading digit of :func:`hash_key`
LINKS: tuple[tuple[int, ...], ...] = (
    (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
    (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3),
)
NUM_LAYERS = 4
SKIP = "skip"
#: base of the integer id: one more than the number of ops
HASH_BASE = len(GNN_OPS) + 1

_OP_INDEX = {op: i for i, op in enumerate(GNN_OPS)}
_LINK_INDEX = {link: i for i, link in enumerate(LINKS)}

Arch = tuple[tuple[int, int, int, int], tuple[str, str, str, str]]


def _relabellings() -> dict[tuple[int, ...], tuple[tuple[int, ...], list[tuple[int, ...]]]]:
    """For each of the 24 DAG links: its canonical link and every layer order that yields it.

    An order ``perm`` puts old layer ``perm[i]`` at position ``i``; node numbers follow (node
    0, the input, stays). Exactly one link of :data:`LINKS` is reachable from each DAG link.
    """
    table: dict[tuple[int, ...], tuple[tuple[int, ...], list[tuple[int, ...]]]] = {}
    for link in itertools.product(*(range(i + 1) for i in range(NUM_LAYERS))):
        targets: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
        for perm in itertools.permutations(range(NUM_LAYERS)):
            new_node = {0: 0, **{old + 1: new + 1 for new, old in enumerate(perm)}}
            relabelled = tuple(new_node[link[old]] for old in perm)
            if relabelled in _LINK_INDEX:
                targets.setdefault(relabelled, []).append(perm)
        (canonical, perms), = targets.items()
        table[link] = (canonical, perms)
    return table


_RELABEL = _relabellings()


def _check_link(link) -> tuple[int, ...]:
    if not isinstance(link, (tuple, list)) or len(link) != NUM_LAYERS:
        raise ArchrepError(f"a NAS-Bench-Graph link must be {NUM_LAYERS} input-node indices, got {link!r}")
    out = []
    for i, x in enumerate(link):
        if isinstance(x, bool) or not isinstance(x, numbers.Integral) or not 0 <= x <= i:
            allowed = "node 0 (the input)" + (f" .. {i} (layer {i - 1}'s output)" if i else "")
            raise ArchrepError(f"link {tuple(link)!r}: entry {i} is {x!r}; layer {i} can only read {allowed}")
        out.append(int(x))
    return tuple(out)


def _check_ops(ops, vocab: Sequence[str]) -> tuple[str, ...]:
    if not isinstance(ops, (tuple, list)) or len(ops) != NUM_LAYERS:
        raise ArchrepError(f"a NAS-Bench-Graph arch needs {NUM_LAYERS} ops, got {ops!r}")
    for op in ops:
        if op not in vocab:
            raise ArchrepError(f"unknown NAS-Bench-Graph op {op!r} in {tuple(ops)!r}; valid ops: {', '.join(vocab)}")
    if all(op == SKIP for op in ops):
        raise ArchrepError(f"arch with ops {tuple(ops)!r} has no layer (all 'skip'): give at least one "
                           "layer a non-skip op")
    return tuple(ops)


def _min_relabelling(link: tuple[int, ...], ops: Sequence[str]) -> Arch:
    """The canonical link of ``link``'s tree shape with the lexicographically smallest op order."""
    canonical, perms = _RELABEL[link]
    best = min(perms, key=lambda p: [_OP_INDEX[ops[i]] for i in p])
    return canonical, tuple(ops[i] for i in best)  # type: ignore[return-value]


def canonicalize(arch, ops_set: Sequence[str] = GNN_OPS) -> Arch:
    """The benchmark's representative of ``arch`` (see the module docstring for the rules).

    ``arch`` is ``(link, ops)`` with any DAG link (``link[i] <= i``); ops must come from
    ``ops_set``. Raises ArchrepError naming what is malformed.
    """
    if not isinstance(arch, (tuple, list)) or len(arch) != 2:
        raise ArchrepError(f"a NAS-Bench-Graph arch is (link, ops), got {arch!r}")
    link = _check_link(arch[0])
    ops = _check_ops(arch[1], ops_set)
    nodes = range(1, NUM_LAYERS + 1)  # node j is layer j - 1
    parent = {j: link[j - 1] for j in nodes}
    op = {j: ops[j - 1] for j in nodes}
    # the nearest non-skip node at or above each node (0 when the value is the raw input)
    anchor = {0: 0}
    for j in nodes:
        anchor[j] = j if op[j] != SKIP else anchor[parent[j]]
    read = {parent[j] for j in nodes}
    real = [j for j in nodes if op[j] != SKIP]
    real_parent = {j: anchor[parent[j]] for j in real}
    # how often each real layer's output is summed into the result through leaf skips
    residual = Counter(anchor[j] for j in nodes if op[j] == SKIP and j not in read and anchor[j] != 0)
    has_real_child = {real_parent[j] for j in real}
    kept = {j: (residual[j] if j in has_real_child or residual[j] >= 2 else 0) for j in real}
    padding = NUM_LAYERS - len(real) - sum(kept.values())
    # rebuild in topological order: padding chain, real layers, residual skips
    new_parent: list[int] = [j for j in range(padding)]  # padding node j + 1 reads node j
    new_ops: list[str] = [SKIP] * padding
    position: dict[int, int] = {0: padding}  # the real tree hangs off the end of the padding chain
    for j in real:
        new_parent.append(position[real_parent[j]])
        new_ops.append(op[j])
        position[j] = len(new_parent)
    for j in real:
        for _ in range(kept[j]):
            new_parent.append(position[j])
            new_ops.append(SKIP)
    return _min_relabelling(tuple(new_parent), new_ops)


def hash_key(arch, ops_set: Sequence[str] = GNN_OPS) -> int:
    """The benchmark's integer id of ``arch``: the key of its ``.bench`` entry.

    Digits in base :data:`HASH_BASE` (10) of the canonical arch: its link's position in
    :data:`LINKS`, then the position in :data:`GNN_OPS` of each of the 4 ops. The proteins
    benchmark uses the same id (full op list digits), not a base-6 one.
    """
    return _id(*canonicalize(arch, ops_set))


def _id(link: tuple[int, ...], ops: Sequence[str]) -> int:
    h = _LINK_INDEX[link]
    for op in ops:
        h = h * HASH_BASE + _OP_INDEX[op]
    return h


def arch_to_string(arch) -> str:
    """``((0, 0, 1, 3), ('gcn', 'gat', 'fc', 'gin'))`` -> ``"0,0,1,3|gcn,gat,fc,gin"`` (as given)."""
    link, ops = arch
    return ",".join(str(x) for x in link) + "|" + ",".join(ops)


def string_to_arch(text: str, ops_set: Sequence[str] = GNN_OPS) -> Arch:
    """Parse ``"0,0,1,3|gcn,gat,fc,gin"`` (any DAG link) into the canonical arch."""
    if not isinstance(text, str):
        raise ArchrepError(f"a NAS-Bench-Graph arch string must be a str, got {type(text).__name__}")
    parts = text.strip().split("|")
    if len(parts) != 2:
        raise ArchrepError(f"malformed NAS-Bench-Graph arch {text!r}: expected 'link|ops' like "
                           "'0,0,1,3|gcn,gat,fc,gin'")
    link_items = [s.strip() for s in parts[0].split(",")]
    op_items = [s.strip() for s in parts[1].split(",")]
    if len(link_items) != NUM_LAYERS or len(op_items) != NUM_LAYERS:
        raise ArchrepError(f"malformed NAS-Bench-Graph arch {text!r}: needs {NUM_LAYERS} comma-separated "
                           f"links and {NUM_LAYERS} ops, found {len(link_items)} and {len(op_items)}")
    if not all(s.isdigit() for s in link_items):
        raise ArchrepError(f"malformed NAS-Bench-Graph arch {text!r}: the links {parts[0]!r} must be "
                           "non-negative integers")
    return canonicalize((tuple(int(s) for s in link_items), tuple(op_items)), ops_set)


def arch_to_graph(arch, ops_set: Sequence[str] = GNN_OPS) -> ArchGraph:
    """The 6-node ArchGraph of the canonical form of ``arch`` (see the module docstring)."""
    link, ops = canonicalize(arch, ops_set)
    out = NUM_LAYERS + 1
    edges = [(src, i + 1) for i, src in enumerate(link)]
    edges += [(j, out) for j in range(1, NUM_LAYERS + 1) if j not in link]
    return ArchGraph(["input", *ops, "output"], edges, attrs={"space": "nbgraph"})


@functools.lru_cache(maxsize=None)
def canonical_archs(ops_set: tuple[str, ...] = GNN_OPS) -> tuple[Arch, ...]:
    """Every canonical arch over ``ops_set``, sorted by :func:`hash_key` (cached)."""
    found = []
    for link in LINKS:
        for ops in itertools.product(ops_set, repeat=NUM_LAYERS):
            if all(op == SKIP for op in ops):
                continue
            if canonicalize((link, ops), ops_set) == (link, ops):
                found.append((link, ops))
    return tuple(sorted(found, key=lambda a: _id(*a)))


@register_space("nbgraph")
class NBGraphSpace(SearchSpace):
    """The NAS-Bench-Graph space; ``ops="proteins"`` restricts it to the 5 ogbn-proteins ops."""

    finite = True

    def __init__(self, ops: str = "all"):
        if ops not in OP_SETS:
            raise ArchrepError(f"unknown NAS-Bench-Graph op set {ops!r}; valid: {', '.join(OP_SETS)}")
        self.ops_set = OP_SETS[ops]
        self.name = "nbgraph" if ops == "all" else f"nbgraph-{ops}"
        self.op_vocab = ("input", *self.ops_set, "output")

    def sample(self, rng: random.Random) -> Arch:
        """A canonical arch drawn uniformly from the benchmark's distinct architectures."""
        return rng.choice(canonical_archs(self.ops_set))

    def mutate(self, arch, rng: random.Random) -> Arch:
        """Change one layer's op or one layer's input node; the result is canonical and differs."""
        base = self._check(arch)
        link, ops = base
        candidates = []
        for i in range(NUM_LAYERS):
            for op in self.ops_set:
                if op != ops[i]:
                    candidates.append((link, ops[:i] + (op,) + ops[i + 1:]))
            for src in range(i + 1):
                if src != link[i]:
                    candidates.append((link[:i] + (src,) + link[i + 1:], ops))
        rng.shuffle(candidates)
        for cand in candidates:
            if all(op == SKIP for op in cand[1]):
                continue
            new = canonicalize(cand, self.ops_set)
            if new != base:
                return new
        raise ArchrepError(f"arch {arch_to_string(base)!r} has no neighbour in {self.name!r}")

    def is_valid(self, arch) -> bool:
        """True for ``(link, ops)`` with a link of :data:`LINKS`, 4 ops of this space, not all skip."""
        try:
            link, ops = arch
            return (tuple(link) in _LINK_INDEX and len(ops) == NUM_LAYERS
                    and all(op in self.ops_set for op in ops) and any(op != SKIP for op in ops))
        except (TypeError, ValueError):
            return False

    def canonicalize(self, arch) -> Arch:
        """The benchmark's representative of ``arch`` (any DAG link, or a key string)."""
        return self._check(arch)

    def hash_key(self, arch) -> int:
        """The benchmark's integer id of ``arch`` (see :func:`hash_key`)."""
        return hash_key(arch, self.ops_set)

    def to_graph(self, arch) -> ArchGraph:
        g = arch_to_graph(arch, self.ops_set)
        g.attrs["space"] = self.name
        return g

    def key(self, arch) -> str:
        return arch_to_string(self._check(arch))

    def parse(self, text: str) -> Arch:
        return string_to_arch(text, self.ops_set)

    def enumerate(self) -> Iterator[Arch]:
        """The canonical archs, i.e. the benchmark's entries, in integer-id order."""
        return iter(canonical_archs(self.ops_set))

    def __len__(self) -> int:
        return len(canonical_archs(self.ops_set))

    def _check(self, arch) -> Arch:
        """``arch`` (or its key string) in canonical form; raises ArchrepError when malformed."""
        if isinstance(arch, str):
            return string_to_arch(arch, self.ops_set)
        return canonicalize(arch, self.ops_set)


@register_space("nbgraph-proteins")
class NBGraphProteinsSpace(NBGraphSpace):
    """The ogbn-proteins variant of NAS-Bench-Graph (5 ops, 2,021 archs)."""

    def __init__(self):
        super().__init__(ops="proteins")
