"""Tests of archrep.graph.ArchGraph: validation, ordering, pruning, JSON, isomorphism hash."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from archrep.errors import ArchrepError, GraphError
from archrep.graph import ArchGraph

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"


def nb101(matrix, ops) -> ArchGraph:
    return ArchGraph.from_adjacency(ops, np.asarray(matrix))


# ----------------------------------------------------------------------------- validation
def test_valid_graph_keeps_order_and_edges():
    g = ArchGraph(["input", C3, C1, "output"], [(0, 1), (0, 2), (1, 3), (2, 3), (0, 1)])
    assert g.ops == ["input", C3, C1, "output"]
    assert g.edges == [(0, 1), (0, 2), (1, 3), (2, 3)]  # duplicate edge merged
    assert g.num_nodes == 4 and g.num_edges == 4 and len(g) == 4
    assert g.inputs == [0] and g.outputs == [3]
    assert g.predecessors(3) == [1, 2] and g.successors(0) == [1, 2]


def test_cycle_is_rejected_and_named():
    with pytest.raises(GraphError, match=r"cycle: .*1 \(conv3x3-bn-relu\).*2 \(conv1x1-bn-relu\)"):
        ArchGraph(["input", C3, C1, "output"], [(0, 1), (1, 2), (2, 1), (2, 3)])


def test_self_loop_is_rejected():
    with pytest.raises(GraphError, match=r"self-loop on node 1 \(conv3x3-bn-relu\)"):
        ArchGraph(["input", C3, "output"], [(0, 1), (1, 1), (1, 2)])


def test_unknown_op_names_node_and_close_match():
    with pytest.raises(GraphError, match=r"node 1: unknown op 'conv3x3-bn-relux'.*conv3x3-bn-relu"):
        ArchGraph(["input", "conv3x3-bn-relux", "output"], [(0, 1), (1, 2)])


def test_missing_input_or_output():
    with pytest.raises(GraphError, match="no 'input' node"):
        ArchGraph([C3, "output"], [(0, 1)])
    with pytest.raises(GraphError, match="no 'output' node"):
        ArchGraph(["input", C3], [(0, 1)])


def test_dead_node_is_rejected_or_pruned():
    ops = ["input", C3, MP, C1, "output"]
    # node 2 reads the input but feeds nothing; node 3 feeds the output but reads nothing
    edges = [(0, 1), (1, 4), (0, 2), (3, 4)]
    with pytest.raises(GraphError, match=r"2 \(maxpool3x3\), 3 \(conv1x1-bn-relu\) lie on no input->output path"):
        ArchGraph(ops, edges)
    g = ArchGraph(ops, edges, node_attrs=[{"i": i} for i in range(5)], prune=True)
    assert g.ops == ["input", C3, "output"]
    assert g.edges == [(0, 1), (1, 2)]
    assert [a["i"] for a in g.node_attrs] == [0, 1, 4]  # attributes follow their nodes
    unvalidated = ArchGraph(ops, edges, validate=False)
    assert unvalidated.live_nodes().tolist() == [True, True, False, False, True]
    assert unvalidated.pruned() == ArchGraph(ops, edges, prune=True)


def test_edge_out_of_range_and_malformed_edge():
    with pytest.raises(GraphError, match=r"edges\[1\] = \(1, 5\) refers to a node outside 0..2"):
        ArchGraph(["input", C3, "output"], [(0, 1), (1, 5)])
    with pytest.raises(GraphError, match=r"edges\[0\] = \(0, -1\) refers"):
        ArchGraph(["input", "output"], [(0, -1)])
    with pytest.raises(GraphError, match=r"edges\[0\] = \(0, 1, 2\) is not a \(source, target\) pair"):
        ArchGraph(["input", C3, "output"], [(0, 1, 2)])
    with pytest.raises(GraphError, match=r"edges\[0\] = \['a', 'b'\] is not"):
        ArchGraph(["input", "output"], [["a", "b"]])


def test_node_attrs_length_mismatch():
    with pytest.raises(GraphError, match="node_attrs has 1 entries but the graph has 2 ops"):
        ArchGraph(["input", "output"], [(0, 1)], node_attrs=[{}])


def test_graph_errors_are_archrep_errors():
    with pytest.raises(ArchrepError):
        ArchGraph(["input", "output"], [(1, 0), (0, 1)])


# ----------------------------------------------------------------------------- ordering
def test_topological_reordering_moves_ops_attrs_and_edges():
    # written output-first: 2 (input) -> 1 (conv) -> 0 (output), 2 -> 0
    g = ArchGraph(["output", C3, "input"], [(2, 1), (1, 0), (2, 0)],
                  node_attrs=[{"name": "out"}, {"name": "conv"}, {"name": "in"}])
    assert g.ops == ["input", C3, "output"]
    assert g.edges == [(0, 1), (0, 2), (1, 2)]
    assert [a["name"] for a in g.node_attrs] == ["in", "conv", "out"]
    assert np.array_equal(g.adjacency(), np.triu(g.adjacency(), 1))


def test_ties_keep_the_given_order():
    # two independent branches: Kahn's smallest-first keeps 1 before 2 and 3 before 4
    ops = ["input", MP, C1, C3, C3, "output"]
    edges = [(0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 5)]
    assert ArchGraph(ops, edges).ops == ops


def test_adjacency_is_read_only_and_matches_edges():
    g = nb101([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", C3, C1, "output"])
    a = g.adjacency()
    assert a.dtype == np.uint8 and a.sum() == 4 and a[0, 1] == 1 and a[1, 0] == 0
    with pytest.raises(ValueError):
        a[0, 0] = 1
    with pytest.raises(GraphError, match=r"adjacency has shape \(3, 3\); expected \(4, 4\)"):
        ArchGraph.from_adjacency(["input", C3, C1, "output"], np.zeros((3, 3)))


# ----------------------------------------------------------------------------- JSON
def test_json_round_trip_with_attributes():
    g = ArchGraph(["input", C3, "output"], [(0, 1), (1, 2), (0, 2)],
                  node_attrs=[{"output_shape": [1, 3, 32, 32]}, {"kernel": 3, "flops": 12.5}, {}],
                  attrs={"space": "nb101", "input_shape": [1, 3, 32, 32]})
    text = g.to_json()
    d = json.loads(text)
    assert d["format"] == "archrep.graph" and d["version"] == 1
    back = ArchGraph.from_json(text)
    assert back == g and back.hash() == g.hash()
    assert back.node_attrs[1] == {"kernel": 3, "flops": 12.5}
    assert back.attrs == {"space": "nb101", "input_shape": [1, 3, 32, 32]}
    plain = ArchGraph(["input", "output"], [(0, 1)])
    assert "node_attrs" not in plain.to_dict() and "attrs" not in plain.to_dict()
    assert ArchGraph.from_dict(plain.to_dict()) == plain


@pytest.mark.parametrize("text, field", [
    ('{"ops": ["input", "output"]', "not valid JSON"),
    ('[1, 2]', "must be an object"),
    ('{"ops": ["input", "output"]}', "'edges'"),
    ('{"edges": [[0, 1]]}', "'ops'"),
    ('{"ops": "input", "edges": [[0, 1]]}', "field 'ops' must be a list"),
    ('{"ops": ["input", "output"], "edges": {"0": 1}}', "field 'edges' must be a list"),
    ('{"ops": ["input", 7], "edges": [[0, 1]]}', r"ops\[1\] = 7"),
    ('{"ops": ["input", "output"], "edges": [[0, 1]], "node_attrs": [{}, 3]}', "'node_attrs'"),
    ('{"ops": ["input", "output"], "edges": [[0, 1]], "attrs": [1]}', "'attrs'"),
    ('{"format": "onnx", "ops": ["input", "output"], "edges": [[0, 1]]}', "'format'"),
    ('{"version": 99, "ops": ["input", "output"], "edges": [[0, 1]]}', "upgrade archrep"),
    ('{"ops": ["input", "output"], "edges": [[0, 9]]}', r"edges\[0\]"),
    ('{"ops": ["input", "output"], "edges": [["0", 1]]}', r"edges\[0\]"),
    ('{"ops": ["input", "output"], "edges": [[0.7, 1]]}', r"edges\[0\]"),
])
def test_malformed_json_names_the_field(text, field):
    with pytest.raises(GraphError, match=field):
        ArchGraph.from_json(text)


@pytest.mark.parametrize("version", ['"x"', "null"])
def test_malformed_version_names_the_field(version):
    with pytest.raises(GraphError, match="version"):
        ArchGraph.from_json('{"version": %s, "ops": ["input", "output"], "edges": [[0, 1]]}' % version)


def test_prune_of_a_graph_without_any_path_raises():
    with pytest.raises(GraphError, match="path"):
        ArchGraph(["input", C3, "output"], [(0, 1)], prune=True)


# ----------------------------------------------------------------------------- hash
def test_hash_invariant_to_node_numbering():
    # an NB101 cell with 5 intermediate nodes, then every numbering of them
    ops = ["input", C3, C1, MP, C3, C1, "output"]
    m = np.zeros((7, 7), dtype=int)
    for u, v in [(0, 1), (0, 2), (1, 3), (2, 3), (2, 4), (3, 5), (4, 5), (5, 6), (1, 6)]:
        m[u, v] = 1
    g = nb101(m, ops)
    rng = random.Random(0)
    for _ in range(20):
        mid = list(range(1, 6))
        rng.shuffle(mid)
        perm = [0, *mid, 6]
        p = g.permuted(perm)
        assert p.hash() == g.hash() and p.is_isomorphic(g)
        # also as a fresh graph from the permuted adjacency, written in a non-topological order
        ops_p = [""] * 7
        for i, q in enumerate(perm):
            ops_p[q] = ops[i]
        edges_p = [(perm[u], perm[v]) for u, v in g.edges]
        assert ArchGraph(ops_p, edges_p).hash() == g.hash()
    with pytest.raises(GraphError, match="permutation"):
        g.permuted([0, 1, 1, 2, 3, 4, 5])


def test_hash_differs_for_different_wiring_and_op_placement():
    chain = nb101([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", C3, C3, "output"])
    parallel = nb101([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", C3, C3, "output"])
    assert chain.hash() != parallel.hash()  # same ops, different wiring
    a = nb101([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", C3, C1, "output"])
    b = nb101([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", C1, C3, "output"])
    assert a.hash() != b.hash()  # same wiring, ops in the other order along the chain
    # same ops and same degree sequence; only where the skip edge lands differs
    ops = ["input", C3, C1, MP, "output"]
    s1 = nb101([[0, 1, 0, 0, 1], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0] * 5], ops)
    s2 = nb101([[0, 1, 0, 0, 0], [0, 0, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0] * 5], ops)
    assert s1.hash() != s2.hash()


def test_hash_of_isomorphic_nb101_specs_with_different_matrices():
    # input -> conv3 -> maxpool -> output and input -> conv1 -> output, written with the two
    # branches numbered in either order: different upper-triangular matrices, one cell
    ops1 = ["input", C3, C1, MP, "output"]
    m1 = [[0, 1, 1, 0, 0],
          [0, 0, 0, 1, 0],
          [0, 0, 0, 0, 1],
          [0, 0, 0, 0, 1],
          [0, 0, 0, 0, 0]]
    ops2 = ["input", C1, C3, MP, "output"]
    m2 = [[0, 1, 1, 0, 0],
          [0, 0, 0, 0, 1],
          [0, 0, 0, 1, 0],
          [0, 0, 0, 0, 1],
          [0, 0, 0, 0, 0]]
    assert m1 != m2
    g1, g2 = nb101(m1, ops1), nb101(m2, ops2)
    assert not np.array_equal(g1.adjacency(), g2.adjacency())
    assert g1.hash() == g2.hash()
    # moving the maxpool to the other branch is a different cell
    m3 = [[0, 1, 1, 0, 0],
          [0, 0, 0, 1, 0],
          [0, 0, 0, 0, 1],
          [0, 0, 0, 0, 1],
          [0, 0, 0, 0, 0]]
    assert nb101(m3, ops2).hash() != g1.hash()


def test_hash_sees_descriptive_attributes_but_not_names():
    base = ArchGraph(["input", C3, "output"], [(0, 1), (1, 2)])
    named = ArchGraph(["input", C3, "output"], [(0, 1), (1, 2)], node_attrs=[{}, {"name": "conv_a"}, {}])
    strided = ArchGraph(["input", C3, "output"], [(0, 1), (1, 2)], node_attrs=[{}, {"stride": 2}, {}])
    assert named.hash() == base.hash()
    assert strided.hash() != base.hash()
    shaped = ArchGraph(["input", C3, "output"], [(0, 1), (1, 2)], attrs={"input_shape": [1, 3, 32, 32]})
    tagged = ArchGraph(["input", C3, "output"], [(0, 1), (1, 2)], attrs={"space": "nb101"})
    assert shaped.hash() != base.hash()
    assert tagged.hash() == base.hash()
