"""NAS-Bench-201: a cell of 4 nodes whose 6 edges (i -> j, i < j) each carry one of 5 ops.

An *arch* is a tuple of 6 op names in arch-string edge order
``(0->1, 0->2, 1->2, 0->3, 1->3, 2->3)``; its key is the official arch string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.

Two graph styles from the literature (edge ops become nodes):

* ``"keep_none"`` (arch2vec): 8 fixed nodes ``[input, op(0->1), op(0->2), op(1->2), op(0->3),
  op(1->3), op(2->3), output]`` with the fixed adjacency 0->{1,2,4}, 1->{3,5}, {2,3}->6,
  {4,5,6}->7; 'none' stays an ordinary node.
* ``"prune_none"`` (NN-Former): 'none' nodes deleted, then every node on no input->output path
  pruned; variable size. A cell with no input->output path becomes ``[input, output]`` with no
  edge (graph attribute ``disconnected=True``).
"""
from __future__ import annotations

import itertools
import random
from typing import Iterator

from archrep.errors import ArchrepError
from archrep.graph import ArchGraph
from archrep.spaces import register_space
from archrep.spaces.base import SearchSpace

#: the official NB201 op order (index i in the benchmark's op list)
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (source, target) cell nodes of the 6 edges, in arch-string order
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: the fixed 8-node adjacency of the keep_none style
NODE_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (0, 4), (1, 3), (1, 5), (2, 6), (3, 6), (4, 7), (5, 7), (6, 7),
)
GRAPH_STYLES = ("keep_none", "prune_none")
NUM_ARCHS = len(OPS) ** len(EDGES)

Arch = tuple[str, str, str, str, str, str]


def arch_to_string(arch: Arch) -> str:
    """``('nor_conv_3x3', ...)`` -> ``|nor_conv_3x3~0|+|...~0|...~1|+|...~0|...~1|...~2|``."""
    a = list(arch)
    return f"|{a[0]}~0|+|{a[1]}~0|{a[2]}~1|+|{a[3]}~0|{a[4]}~1|{a[5]}~2|"


def string_to_arch(text: str) -> Arch:
    """Parse an arch string; a malformed one raises ArchrepError naming the faulty part."""
    if not isinstance(text, str):
        raise ArchrepError(f"an NB201 arch string must be a str, got {type(text).__name__}")
    s = text.strip()
    nodes = s.split("+")
    if len(nodes) != 3:
        raise ArchrepError(
            f"malformed NB201 arch string {text!r}: expected 3 '+'-separated node groups like "
            f"'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|', found {len(nodes)}")
    ops: list[str] = []
    for j, group in enumerate(nodes, start=1):
        if not (group.startswith("|") and group.endswith("|")):
            raise ArchrepError(f"malformed NB201 arch string {text!r}: node group {j} ({group!r}) "
                               "must start and end with '|'")
        items = group[1:-1].split("|")
        if len(items) != j:
            raise ArchrepError(f"malformed NB201 arch string {text!r}: node {j} needs {j} inputs "
                               f"('op~0'..'op~{j - 1}'), found {len(items)}")
        for i, item in enumerate(items):
            op, sep, src = item.partition("~")
            if sep != "~" or src != str(i):
                raise ArchrepError(f"malformed NB201 arch string {text!r}: {item!r} in node {j} "
                                   f"should read 'op~{i}'")
            if op not in OPS:
                raise ArchrepError(f"unknown NB201 op {op!r} in {text!r}; valid ops: {', '.join(OPS)}")
            ops.append(op)
    return tuple(ops)  # type: ignore[return-value]


def arch_to_graph(arch: Arch, style: str = "keep_none") -> ArchGraph:
    """The node-op graph of a cell in one of :data:`GRAPH_STYLES` (see the module docstring)."""
    if style not in GRAPH_STYLES:
        raise ArchrepError(f"unknown NB201 graph style {style!r}; valid: {', '.join(GRAPH_STYLES)}")
    ops = ["input", *arch, "output"]
    attrs = {"space": "nb201"}
    if style == "keep_none":
        return ArchGraph(ops, NODE_EDGES, attrs=attrs)
    keep = [i for i, op in enumerate(ops) if op != "none"]
    pos = {old: new for new, old in enumerate(keep)}
    edges = [(pos[u], pos[v]) for u, v in NODE_EDGES if u in pos and v in pos]
    g = ArchGraph([ops[i] for i in keep], edges, attrs=attrs, validate=False)
    live = g.live_nodes()
    if not live.any():
        return ArchGraph(["input", "output"], [], attrs={**attrs, "disconnected": True}, validate=False)
    return g.pruned()


@register_space("nb201")
class NB201Space(SearchSpace):
    """The 15,625 NAS-Bench-201 cells. ``graph_style`` picks the node-op conversion."""

    name = "nb201"
    op_vocab = ("input", *OPS, "output")
    finite = True

    def __init__(self, graph_style: str = "keep_none"):
        if graph_style not in GRAPH_STYLES:
            raise ArchrepError(f"unknown NB201 graph style {graph_style!r}; valid: {', '.join(GRAPH_STYLES)}")
        self.graph_style = graph_style

    def sample(self, rng: random.Random) -> Arch:
        return tuple(rng.choice(OPS) for _ in EDGES)  # type: ignore[return-value]

    def mutate(self, arch: Arch, rng: random.Random) -> Arch:
        i = rng.randrange(len(EDGES))
        new = list(arch)
        new[i] = rng.choice([op for op in OPS if op != arch[i]])
        return tuple(new)  # type: ignore[return-value]

    def is_valid(self, arch) -> bool:
        return isinstance(arch, (tuple, list)) and len(arch) == len(EDGES) and all(op in OPS for op in arch)

    def to_graph(self, arch: Arch) -> ArchGraph:
        return arch_to_graph(self._check(arch), self.graph_style)

    def key(self, arch: Arch) -> str:
        return arch_to_string(self._check(arch))

    def parse(self, text: str) -> Arch:
        return string_to_arch(text)

    def enumerate(self) -> Iterator[Arch]:
        """All cells, edge 0->1 varying slowest, ops in the official order."""
        return (tuple(p) for p in itertools.product(OPS, repeat=len(EDGES)))  # type: ignore[misc]

    def __len__(self) -> int:
        return NUM_ARCHS

    def cells(self):
        """All 15,625 cells as a cached :class:`~archrep.spaces.enumeration.CellTable` of
        ``keep_none`` graphs, in :meth:`enumerate` order (the same entry point as NB101's)."""
        from archrep.spaces.enumeration import enumerate_cells

        return enumerate_cells(self)

    def _check(self, arch) -> Arch:
        if isinstance(arch, str):
            return string_to_arch(arch)
        if not self.is_valid(arch):
            raise ArchrepError(f"not an NB201 arch: {arch!r}; expected 6 ops from {', '.join(OPS)}")
        return tuple(arch)  # type: ignore[return-value]
