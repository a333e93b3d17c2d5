"""DARTS / NAS-Bench-301 genotypes: a normal and a reduction cell, each of 4 intermediate nodes.

A *genotype* (:class:`Genotype`) lists, per cell, 8 ``(op, input)`` pairs: pairs ``2k`` and
``2k + 1`` feed intermediate node ``k + 2``; input 0 is the cell input c_{k-2}, input 1 is
c_{k-1}, inputs 2..5 are earlier intermediate nodes; the cell output concatenates nodes 2..5.
The space is that of DARTS-derived genotypes (and NB301): the two inputs of a node are distinct
earlier nodes, ops come from :data:`OPS` ('none' is a search-time primitive that never appears
in a derived genotype, so it is rejected), and ``*_concat`` is ``[2, 3, 4, 5]``.

Text form (the one printed by DARTS code), parsed without ``eval`` (each field value goes
through :func:`ast.literal_eval`; ``range(2, 6)`` is accepted for a concat)::

    Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5],
             reduce=[('max_pool_3x3', 0), ...], reduce_concat=[2, 3, 4, 5])

A dict ``{"normal": [[op, input], ...], "reduce": [...], "normal_concat": ..., ...}`` (concat
optional) is accepted too. :meth:`DartsSpace.key` writes the text form with the two pairs of
each node sorted, since their order does not change the sum the node computes.

**Graph** (edge ops become nodes, as for NB201), ``cell="normal"`` or ``"reduce"`` (16 nodes)::

    0 input (c_{k-2}), 1 input (c_{k-1}),
    for node j = 2..5: op node of pair 2(j-2), op node of pair 2(j-2)+1, 'add' node j,
    14 'concat' (of the 4 add nodes), 15 'output'

Both inputs have op 'input' and are told apart by the node attribute ``cell_input`` (0 or 1),
which the graph hash sees. In a reduction cell the op nodes that read a cell input carry
``stride=2``. No node is ever dead: node 2 reads two distinct inputs among {0, 1}, so both
cell inputs are always used (a genotype outside this space that left a cell input unread
would need ``ArchGraph(..., prune=True)`` to drop it).

``cell="both"`` chains the two cells as consecutive cells of the DARTS network, normal then
reduce (29 nodes): inputs s0 (``cell_input=0``) and s1 (``cell_input=1``); the normal cell
reads (s0, s1) and its 'concat' node is s2; the reduction cell reads (s1, s2) and its 'concat'
feeds the single 'output'. Op and add nodes carry ``cell`` = 'normal' / 'reduce'.
"""
from __future__ import annotations

import ast
import random
import re
from typing import Any, NamedTuple

from archrep.errors import ArchrepError
from archrep.graph import ArchGraph
from archrep.ops import INPUT, OUTPUT
from archrep.spaces import register_space
from archrep.spaces.base import SearchSpace

#: the DARTS search primitives, in the DARTS order
PRIMITIVES: tuple[str, ...] = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
                               "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
#: the ops a derived genotype can use (all primitives but 'none')
OPS: tuple[str, ...] = PRIMITIVES[1:]
NUM_NODES = 4  # intermediate nodes per cell
CONCAT: tuple[int, ...] = (2, 3, 4, 5)
CELLS = ("normal", "reduce")
GRAPH_CELLS = ("normal", "reduce", "both")
_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")

Cell = tuple[tuple[str, int], ...]


class Genotype(NamedTuple):
    """A DARTS genotype (the field names of DARTS' own ``Genotype`` namedtuple)."""

    normal: Cell
    normal_concat: tuple[int, ...]
    reduce: Cell
    reduce_concat: tuple[int, ...]


def _cell_error(name: str, cell: Any) -> str | None:
    if not isinstance(cell, (list, tuple)) or len(cell) != 2 * NUM_NODES:
        n = len(cell) if isinstance(cell, (list, tuple)) else type(cell).__name__
        return f"cell {name!r} must list {2 * NUM_NODES} (op, input) pairs, got {n}"
    for k, pair in enumerate(cell):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            return f"{name}[{k}] = {pair!r} is not an (op, input) pair"
        op, src = pair
        if op not in OPS:
            extra = " ('none' never appears in a derived genotype)" if op == "none" else ""
            return f"{name}[{k}] has unknown op {op!r}{extra}; valid ops: {', '.join(OPS)}"
        node = 2 + k // 2
        if isinstance(src, bool) or not isinstance(src, int) or not 0 <= src < node:
            return f"{name}[{k}] = {pair!r}: node {node} can only read inputs 0..{node - 1}"
    for j in range(NUM_NODES):
        if cell[2 * j][1] == cell[2 * j + 1][1]:
            return (f"{name}[{2 * j}] and {name}[{2 * j + 1}] both read input {cell[2 * j][1]}: "
                    f"the two inputs of node {j + 2} must differ")
    return None


def validity_error(geno: Any) -> str | None:
    """Why ``geno`` is not a genotype of this space, or None when it is."""
    if not isinstance(geno, (Genotype, tuple, list)) or len(geno) != 4:
        return f"a DARTS genotype is a Genotype(normal, normal_concat, reduce, reduce_concat), got {geno!r}"
    for name, cell, concat in (("normal", geno[0], geno[1]), ("reduce", geno[2], geno[3])):
        err = _cell_error(name, cell)
        if err:
            return err
        if not isinstance(concat, (list, tuple, range)) or tuple(concat) != CONCAT:
            return f"{name}_concat must be [2, 3, 4, 5] (all intermediate nodes), got {concat!r}"
    return None


def as_genotype(geno: Any) -> Genotype:
    """A checked :class:`Genotype` from a Genotype, a 4-tuple, a dict or the text form."""
    if isinstance(geno, str):
        return string_to_genotype(geno)
    if isinstance(geno, dict):
        return dict_to_genotype(geno)
    err = validity_error(geno)
    if err:
        raise ArchrepError(f"invalid DARTS genotype: {err}")
    return Genotype(tuple((str(op), int(src)) for op, src in geno[0]), CONCAT,
                    tuple((str(op), int(src)) for op, src in geno[2]), CONCAT)


def dict_to_genotype(d: dict) -> Genotype:
    """From ``{"normal": [[op, input], ...], "reduce": [...]}`` (``*_concat`` optional)."""
    unknown = set(d) - set(_FIELDS)
    if unknown:
        raise ArchrepError(f"unknown DARTS genotype field(s) {sorted(unknown)}; valid: {', '.join(_FIELDS)}")
    for f in ("normal", "reduce"):
        if f not in d:
            raise ArchrepError(f"a DARTS genotype needs the field {f!r}")
    return as_genotype((d["normal"], d.get("normal_concat", CONCAT), d["reduce"], d.get("reduce_concat", CONCAT)))


_RANGE = re.compile(r"^range\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_FIELD = re.compile(r"\s*([A-Za-z_]\w*)\s*=")


def _split_top_level(body: str, text: str) -> list[str]:
    """Split ``body`` at the commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(body):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                raise ArchrepError(f"malformed DARTS genotype {text!r}: unbalanced ')' or ']'")
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    if depth != 0 or quote:
        raise ArchrepError(f"malformed DARTS genotype {text!r}: unbalanced brackets or quotes")
    parts.append(body[start:])
    return [p for p in parts if p.strip()]


def string_to_genotype(text: str) -> Genotype:
    """Parse the ``Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])``
    text form safely; a malformed one raises ArchrepError naming the faulty part."""
    if not isinstance(text, str):
        raise ArchrepError(f"a DARTS genotype string must be a str, got {type(text).__name__}")
    s = text.strip()
    if not (s.startswith("Genotype(") and s.endswith(")")):
        raise ArchrepError(f"malformed DARTS genotype {text!r}: expected "
                           "'Genotype(normal=[(op, input), ...], normal_concat=[2, 3, 4, 5], "
                           "reduce=[...], reduce_concat=[2, 3, 4, 5])'")
    fields: dict[str, Any] = {}
    for part in _split_top_level(s[len("Genotype("):-1], text):
        m = _FIELD.match(part)
        if not m:
            raise ArchrepError(f"malformed DARTS genotype {text!r}: {part.strip()!r} is not a 'name=value' field")
        name, value = m.group(1), part[m.end():].strip()
        if name in fields:
            raise ArchrepError(f"malformed DARTS genotype {text!r}: field {name!r} given twice")
        r = _RANGE.match(value)
        if r:
            fields[name] = list(range(int(r.group(1)), int(r.group(2))))
            continue
        try:
            fields[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise ArchrepError(f"malformed DARTS genotype {text!r}: the value of {name!r} ({value!r}) "
                               "is not a literal list") from None
    return dict_to_genotype(fields)


def _sorted_cell(cell: Cell) -> Cell:
    out: list[tuple[str, int]] = []
    for j in range(NUM_NODES):
        out += sorted(cell[2 * j: 2 * j + 2], key=lambda p: (p[1], p[0]))
    return tuple(out)


def genotype_to_string(geno: Any) -> str:
    """The canonical text form (pairs of each node sorted by input, then op)."""
    g = as_genotype(geno)
    concat = list(CONCAT)
    return (f"Genotype(normal={list(_sorted_cell(g.normal))}, normal_concat={concat}, "
            f"reduce={list(_sorted_cell(g.reduce))}, reduce_concat={concat})")


def _add_cell(ops: list[str], attrs: list[dict], edges: list[tuple[int, int]], cell: Cell,
              inputs: tuple[int, int], kind: str, tag: bool) -> int:
    """Append one cell's op/add/concat nodes reading the nodes ``inputs``; return the concat."""
    node_of = {0: inputs[0], 1: inputs[1]}
    for j in range(NUM_NODES):
        add_idx = len(ops) + 2
        for op, src in cell[2 * j: 2 * j + 2]:
            a: dict = {"cell": kind} if tag else {}
            if kind == "reduce" and src < 2:
                a["stride"] = 2
            ops.append(op)
            attrs.append(a)
            edges += [(node_of[src], len(ops) - 1), (len(ops) - 1, add_idx)]
        ops.append("add")
        attrs.append({"cell": kind} if tag else {})
        node_of[j + 2] = add_idx
    ops.append("concat")
    attrs.append({"cell": kind} if tag else {})
    concat = len(ops) - 1
    edges += [(node_of[j], concat) for j in CONCAT]
    return concat


def genotype_to_graph(geno: Any, cell: str = "normal") -> ArchGraph:
    """The graph of one cell or of both chained (layouts in the module docstring)."""
    if cell not in GRAPH_CELLS:
        raise ArchrepError(f"unknown DARTS graph cell {cell!r}; valid: {', '.join(GRAPH_CELLS)}")
    g = as_genotype(geno)
    ops = [INPUT, INPUT]
    attrs: list[dict] = [{"cell_input": 0}, {"cell_input": 1}]
    edges: list[tuple[int, int]] = []
    if cell == "both":
        s2 = _add_cell(ops, attrs, edges, g.normal, (0, 1), "normal", True)
        last = _add_cell(ops, attrs, edges, g.reduce, (1, s2), "reduce", True)
    else:
        last = _add_cell(ops, attrs, edges, getattr(g, cell), (0, 1), cell, False)
    ops.append(OUTPUT)
    attrs.append({})
    edges.append((last, len(ops) - 1))
    return ArchGraph(ops, edges, attrs, {"space": "darts", "cell": cell})


def _random_cell(rng: random.Random) -> Cell:
    cell: list[tuple[str, int]] = []
    for j in range(NUM_NODES):
        for src in rng.sample(range(j + 2), 2):
            cell.append((rng.choice(OPS), src))
    return tuple(cell)


@register_space("darts")
class DartsSpace(SearchSpace):
    """DARTS / NB301 genotypes; ``cell`` picks the graph (see the module docstring)."""

    name = "darts"
    op_vocab = (INPUT, *OPS, "add", "concat", OUTPUT)
    finite = False

    def __init__(self, cell: str = "normal"):
        if cell not in GRAPH_CELLS:
            raise ArchrepError(f"unknown DARTS graph cell {cell!r}; valid: {', '.join(GRAPH_CELLS)}")
        self.cell = cell

    def sample(self, rng: random.Random) -> Genotype:
        """Each node reads 2 distinct earlier nodes through uniformly drawn ops (not 'none')."""
        return Genotype(_random_cell(rng), CONCAT, _random_cell(rng), CONCAT)

    def mutate(self, geno: Any, rng: random.Random) -> Genotype:
        """Change the op or the input of one pair of one cell (always a different genotype)."""
        g = as_genotype(geno)
        which = rng.randrange(2)
        cell = list(g[2 * which])
        k = rng.randrange(len(cell))
        op, src = cell[k]
        other = cell[k ^ 1][1]
        free = [s for s in range(2 + k // 2) if s not in (src, other)]
        if free and rng.random() < 0.5:
            cell[k] = (op, rng.choice(free))
        else:
            cell[k] = (rng.choice([o for o in OPS if o != op]), src)
        new = list(g)
        new[2 * which] = tuple(cell)
        return Genotype(*new)

    def is_valid(self, geno: Any) -> bool:
        if isinstance(geno, (str, dict)):
            try:
                as_genotype(geno)
            except ArchrepError:
                return False
            return True
        return validity_error(geno) is None

    def to_graph(self, geno: Any) -> ArchGraph:
        return genotype_to_graph(geno, self.cell)

    def key(self, geno: Any) -> str:
        return genotype_to_string(geno)

    def parse(self, text: str) -> Genotype:
        return string_to_genotype(text)
