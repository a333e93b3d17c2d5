"""Enumeration of every unique valid cell (archrep.spaces.enumeration).

Small NB101 spaces are checked against an independent brute force that follows the official
procedure: every raw upper-triangular matrix of each size with every op labelling, pruned,
checked for validity and deduplicated by the exact canonical key. Counts (max_edges 9):
<= 4 vertices: 91 cells, <= 5: 2,532, <= 6: 64,542, <= 7: 423,624 (the official count).
"""
from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from archrep import spaces
from archrep.errors import ArchrepError
from archrep.spaces import enumeration, nb101
from archrep.spaces.enumeration import enumerate_cells
from archrep.spaces.nb101 import OPS

SMALL_COUNTS = {(4, 9): 91, (5, 9): 2532, (6, 9): 64542, (5, 5): 334}


def _written(spec) -> str:
    return ",".join("".join(map(str, r)) for r in spec.matrix) + "|" + ",".join(spec.ops)


def _table_specs(table):
    out = []
    for i in range(len(table)):
        a, ops = table.cell(i)
        out.append(nb101.NB101Spec(tuple(tuple(int(x) for x in r) for r in a), tuple(ops)))
    return out


def _brute_force_keys(max_vertices: int, max_edges: int) -> set[str]:
    """The official way: raw (matrix, ops) of every size, prune, validate, dedupe by key."""
    pruned = set()
    for n in range(2, max_vertices + 1):
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        for bits in itertools.product((0, 1), repeat=len(pairs)):
            m = [[0] * n for _ in range(n)]
            for (i, j), b in zip(pairs, bits):
                m[i][j] = b
            placeholder = ["input", *[OPS[0]] * (n - 2), "output"]
            p = nb101.prune((m, placeholder))
            if p is None or p.num_edges > max_edges:
                continue
            # pruning keeps a subset of vertices: the kept ops are any labelling of them
            for labels in itertools.product(OPS, repeat=p.num_vertices - 2):
                pruned.add((p.matrix, ("input", *labels, "output")))
    keys = set()
    for m, ops in pruned:
        assert nb101.validity_error((m, ops)) is None
        keys.add(nb101.spec_to_string((m, ops)))
    return keys


@pytest.mark.parametrize("limits", [(4, 9), (5, 9), (5, 5)])
def test_small_nb101_spaces_match_brute_force(limits):
    table = enumerate_cells("nb101", max_vertices=limits[0], max_edges=limits[1], cache=False)
    specs = _table_specs(table)
    keys = [_written(s) for s in specs]
    assert len(table) == len(set(keys)) == SMALL_COUNTS[limits]
    assert set(keys) == _brute_force_keys(*limits)
    # each stored cell is already in canonical node order: its key is itself written out
    assert all(nb101.spec_to_string(s) == k for s, k in zip(specs, keys))


def test_hash_agrees_and_isomorphic_cells_are_deduped():
    table = enumerate_cells("nb101", max_vertices=6, cache=False)
    assert len(table) == SMALL_COUNTS[(6, 9)]
    specs = _table_specs(table)
    rng = random.Random(0)
    sample = rng.sample(range(len(specs)), 1500) + [i for i in range(len(specs)) if table.num_nodes[i] <= 4]
    hashes = {nb101.spec_hash(specs[i]) for i in sample}
    assert len(hashes) == len(set(sample))  # distinct cells, distinct ArchGraph.hash
    assert all(table.graph(i).hash() == nb101.spec_hash(specs[i]) for i in sample[:200])
    keys = {_written(s) for s in specs}
    for i in sample[:300]:  # a renumbered copy is the same cell: its key is in the table
        s = specs[i]
        n = s.num_vertices
        for mid in itertools.permutations(range(1, n - 1)):
            p = (0, *mid, n - 1)
            m = [[0] * n for _ in range(n)]
            ops = [""] * n
            for u in range(n):
                ops[p[u]] = s.ops[u]
                for v in range(n):
                    if s.matrix[u][v]:
                        m[p[u]][p[v]] = 1
            if any(m[u][v] for u in range(n) for v in range(u + 1)):
                continue  # not upper-triangular in this order
            assert nb101.spec_to_string((m, ops)) in keys
            assert nb101.spec_hash((m, ops)) == nb101.spec_hash(s)


@pytest.mark.slow
def test_six_vertex_space_all_hashes_distinct_and_brute_force():
    table = enumerate_cells("nb101", max_vertices=6, cache=False)
    specs = _table_specs(table)
    assert len({nb101.spec_hash(s) for s in specs}) == len(specs) == SMALL_COUNTS[(6, 9)]
    assert {_written(s) for s in specs} == _brute_force_keys(6, 9)


def test_full_nb101_count_and_invalid_cells_excluded():
    space = spaces.get("nb101")
    table = space.cells()
    assert len(table) == len(space) == enumeration.NB101_NUM_CELLS == 423_624
    assert table.meta["count"] == 423_624 and table.meta["version"] == enumeration.VERSION
    assert table.adj.sum(axis=(1, 2)).max() <= 9  # no cell over the edge limit
    assert table.num_nodes.min() == 2 and table.num_nodes.max() == 7
    assert np.all(np.tril(table.adj) == 0)
    # every stored cell keeps all its vertices on an input -> output path (it is pruned)
    n7 = np.flatnonzero(table.num_nodes == 7)
    for i in random.Random(1).sample(list(n7), 200):
        a, ops = table.cell(i)
        assert nb101.validity_error((a, ops)) is None and nb101.prune((a, ops)).num_vertices == 7
    written = {}
    for spec in itertools.islice(space.enumerate(), 3000):
        written[_written(spec)] = spec
    no_path = ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", OPS[0], "output"])
    assert nb101.validity_error(no_path) is not None
    assert "000,000,000|input,conv1x1-bn-relu,output" not in written
    ten_edges = [[1 if v > u else 0 for v in range(5)] for u in range(5)]  # 10 edges, 5 vertices
    assert nb101.validity_error((ten_edges, ["input", *OPS, "output"])) is not None
    assert not any(table.adj[table.num_nodes == 5].sum(axis=(1, 2)) == 10)


def test_cache_round_trip_and_corrupt_cache_rebuilds(monkeypatch):
    built = enumerate_cells("nb101", max_vertices=5)
    path = enumeration.cache_path("nb101", v=5, e=9)
    assert path.exists() and path.with_suffix(".json").exists()
    assert built.meta["count"] == 2532 and built.meta["seconds"] >= 0

    calls = []
    real = enumeration._nb101_cells
    monkeypatch.setattr(enumeration, "_nb101_cells", lambda *a: calls.append(a) or real(*a))
    again = enumerate_cells("nb101", max_vertices=5)
    assert calls == []  # read from the cache
    for f in ("ops", "adj", "num_nodes"):
        assert np.array_equal(getattr(again, f), getattr(built, f))
    assert again.op_vocab == built.op_vocab and again.meta == built.meta

    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    rebuilt = enumerate_cells("nb101", max_vertices=5)
    assert len(calls) == 1
    assert np.array_equal(rebuilt.ops, built.ops) and np.array_equal(rebuilt.adj, built.adj)
    assert enumeration._load(path) is not None  # the rebuilt file is sound again

    path.with_suffix(".json").write_text("{not json")
    enumerate_cells("nb101", max_vertices=5)
    assert len(calls) == 2


def test_nb201_through_the_same_entry_point():
    space = spaces.get("nb201")
    table = enumerate_cells("nb201")
    assert len(table) == 15_625 and table.meta["count"] == 15_625
    assert len(space.cells()) == 15_625
    archs = list(space.enumerate())
    for i in random.Random(0).sample(range(len(archs)), 100):
        assert table.graph(i).hash() == space.to_graph(archs[i]).hash()


def test_bad_requests_say_why():
    with pytest.raises(ArchrepError, match="max_vertices"):
        enumerate_cells("nb101", max_vertices=8)
    with pytest.raises(ArchrepError, match="nb101, nb201"):
        enumerate_cells("darts")
