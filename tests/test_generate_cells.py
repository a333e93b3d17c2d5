"""Decoded cells to keys: every enumerated cell is valid with its own key; broken cells are None."""
import numpy as np
import pytest

from archrep.errors import ArchrepError
from archrep.generate.cells import cell_keys
from archrep.spaces.enumeration import enumerate_cells
from archrep.spaces.nb101 import NB101Space
from archrep.spaces.nb201 import NB201Space


@pytest.mark.parametrize("space", ["nb101", "nb201"])
def test_enumerated_cells_are_valid_and_distinct(space):
    t = enumerate_cells(space, **({"max_vertices": 5} if space == "nb101" else {}))
    keys = cell_keys(space, t.ops, t.adj, t.op_vocab)
    assert None not in keys and len(set(keys)) == len(t)
    sp = NB101Space() if space == "nb101" else NB201Space()
    assert keys[7] == sp.key(sp.canonical(t.cell(7)) if space == "nb101" else list(sp.enumerate())[7])


def test_invalid_cells_are_none():
    t = enumerate_cells("nb201")
    ops, adj = t.ops[:4].astype(np.int64).copy(), t.adj[:4].copy()
    ops[0, 0] = ops[0, 3]              # no input node
    adj[1, 0, 7] = 1                   # an edge NB201 does not have
    ops[2, 5] = -1                     # a missing node
    keys = cell_keys("nb201", ops, adj, t.op_vocab)
    assert keys[:3] == [None, None, None] and keys[3] is not None

    n = enumerate_cells("nb101", max_vertices=5)
    i = int(np.flatnonzero(n.num_nodes == 4)[0])
    ops, adj = np.repeat(n.ops[i:i + 1].astype(np.int64), 4, 0), np.repeat(n.adj[i:i + 1], 4, 0)
    adj[0] = 0                         # no input -> output path
    ops[1, 1] = -1                     # a gap before real nodes
    ops[2, 4] = ops[2, 1]              # an edge-free node after the output is a real node: output not last
    keys = cell_keys("nb101", ops, adj, n.op_vocab)
    assert keys[:3] == [None, None, None] and keys[3] is not None
    # an extraneous vertex is pruned away: the same key as without it
    ops4, adj4 = n.ops[i].astype(np.int64).copy(), n.adj[i].copy()
    k = int(n.num_nodes[i])
    ops5, adj5 = np.full(7, -1), np.zeros((7, 7), np.uint8)
    ops5[:k - 1], ops5[k - 1], ops5[k] = ops4[:k - 1], ops4[2], ops4[k - 1]
    adj5[:k - 1, :k - 1] = adj4[:k - 1, :k - 1]
    adj5[:k - 1, k] = adj4[:k - 1, k - 1]
    adj5[0, k - 1] = 1                 # input -> dangling vertex, which feeds nothing
    full = np.full(7, -1)
    full[:k] = ops4[:k]
    full_adj = np.zeros((7, 7), np.uint8)
    full_adj[:k, :k] = adj4[:k, :k]
    a, b = cell_keys("nb101", np.stack([ops5, full]), np.stack([adj5, full_adj]), n.op_vocab)
    assert a is not None and a == b


def test_bad_input_errors():
    with pytest.raises(ArchrepError, match="spaces"):
        cell_keys("darts", np.zeros((1, 2), int), np.zeros((1, 2, 2)), ["input", "output"])
    with pytest.raises(ArchrepError, match="vocabulary"):
        cell_keys("nb201", np.full((1, 8), 9), np.zeros((1, 8, 8)), ["input"] * 3)


@pytest.mark.parametrize("space", ["nb101", "nb201"])
def test_cell_arrays_invert_cell_keys(space):
    t = enumerate_cells(space)
    idx = np.random.default_rng(0).choice(len(t), 300, replace=False)
    keys = cell_keys(space, t.ops[idx], t.adj[idx], t.op_vocab)
    from archrep.generate.cells import cell_arrays
    ops, adj = cell_arrays(space, keys, t.op_vocab)
    np.testing.assert_array_equal(ops, t.ops[idx])
    np.testing.assert_array_equal(adj, t.adj[idx])
