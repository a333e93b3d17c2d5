"""Tests of the search spaces (the SearchSpace contract for every registered space, then each
space's own rules) and of the analytic NB201 cost model."""
from __future__ import annotations

import ast
import csv
import json
import random
import zipfile

import numpy as np
import pytest

from archrep import spaces
from archrep.errors import ArchrepError
from archrep.graph import ArchGraph
from archrep.spaces import darts, macro, nb101, nb201, nb201_cost

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
ALL_SPACES = spaces.list_spaces()
OPS_BY_INDEX = nb101.OPS  # NB101 shared-data test: any bijection of NASLib's op indices 2..4 works


# ============================================================================ the contract
@pytest.mark.parametrize("name", ALL_SPACES)
def test_space_contract(name):
    space = spaces.get(name)
    rng = random.Random(1234)
    for _ in range(50):
        arch = space.sample(rng)
        assert space.is_valid(arch)
        g = space.to_graph(arch)
        assert isinstance(g, ArchGraph)
        assert set(g.ops) <= set(space.op_vocab), set(g.ops) - set(space.op_vocab)
        assert ArchGraph.from_dict(g.to_dict()) == g  # a validated graph, through JSON too
        key = space.key(arch)
        assert isinstance(key, str)
        back = space.parse(key)
        assert space.is_valid(back) and space.key(back) == key
        child = space.mutate(arch, rng)
        assert space.is_valid(child) and space.key(child) != key


@pytest.mark.parametrize("name", ALL_SPACES)
def test_sampling_is_seeded(name):
    space = spaces.get(name)
    a = [space.key(space.sample(random.Random(7))) for _ in range(3)]
    assert len(set(a)) == 1


@pytest.mark.parametrize("name", ALL_SPACES)
@pytest.mark.parametrize("text", ["", "not an architecture", "|||"])
def test_malformed_keys_raise_archrep_error(name, text):
    with pytest.raises(ArchrepError) as info:
        spaces.get(name).parse(text)
    assert len(str(info.value)) > 20  # says something, not just the input back


@pytest.mark.parametrize("name", ["nb101", "nb201", "darts", "nas-bench-macro"])
def test_malformed_key_messages_quote_the_input(name):
    with pytest.raises(ArchrepError, match="not an architecture"):
        spaces.get(name).parse("not an architecture")


def test_unknown_space_lists_the_valid_ones():
    with pytest.raises(ArchrepError, match="nb101.*nb201"):
        spaces.get("nb-101")


# ============================================================================ NB201
def test_nb201_keep_none_gives_15625_distinct_keys_and_hashes():
    space = spaces.get("nb201")
    archs = list(space.enumerate())
    assert len(archs) == len(space) == 15625
    assert len({space.key(a) for a in archs}) == 15625
    assert len({space.to_graph(a).hash() for a in archs}) == 15625


def test_nb201_prune_none_hash_classes():
    """Without 'none' and dead nodes, a hash class is a set of cells with the same live graph.
    Invariants checked: there are fewer classes than cells and more than distinct op
    multisets; cells differing only on dead edges share a hash, on live edges they do not;
    the cells with no input->output path form one class. (The count is 8,765 here; NB201's own
    dedup, whose rules differ, e.g. it keeps dead branches, reports 6,466.)"""
    space = spaces.get("nb201", graph_style="prune_none")
    archs = list(space.enumerate())
    graphs = [space.to_graph(a) for a in archs]
    hashes = [g.hash() for g in graphs]
    classes = set(hashes)
    multisets = {tuple(sorted(g.ops)) for g in graphs}
    assert len(multisets) < len(classes) < len(archs)
    # one class holds every disconnected cell
    disconnected = {h for h, g in zip(hashes, graphs) if g.attrs.get("disconnected")}
    assert len(disconnected) == 1
    # 0->3 carries conv3; node 1 is unreachable when 0->1 is 'none', so edges 1->2, 1->3 are dead
    h = {}
    for dead in nb201.OPS:
        a = ("none", "nor_conv_1x1", dead, "nor_conv_3x3", dead, "skip_connect")
        h[dead] = space.to_graph(a).hash()
    assert len(set(h.values())) == 1
    # ... but the same ops on a live edge make different cells
    live = {space.to_graph(("skip_connect", "nor_conv_1x1", op, "nor_conv_3x3", "none", "skip_connect")).hash()
            for op in nb201.OPS}
    assert len(live) == len(nb201.OPS)


def test_nb201_disconnected_count_by_hand():
    """A cell is disconnected iff every 0->3 path has a 'none' edge. By hand (each edge is live
    in 4 of 5 ops): e03 = none, and either e01 live (4 ways), e13 none, and not (e02 or e12
    live and e23 live): 4 * (125 - 24 * 4) = 116; or e01 none, e13 free (5 ways) and not (e02
    and e23 live): 5 * (125 - 4 * 4 * 5) = 225. Together 341."""
    space = spaces.get("nb201", graph_style="prune_none")
    n = 0
    for a in space.enumerate():
        e01, e02, e12, e03, e13, e23 = (op != "none" for op in a)
        reach1 = e01
        reach2 = e02 or (reach1 and e12)
        connected = e03 or (reach1 and e13) or (reach2 and e23)
        assert bool(space.to_graph(a).attrs.get("disconnected")) == (not connected)
        n += not connected
    assert n == 341


# ============================================================================ NB101
def test_nb101_dangling_node_is_pruned():
    # node 2 (maxpool) reads the input but feeds nothing
    m = [[0, 1, 1, 0],
         [0, 0, 0, 1],
         [0, 0, 0, 0],
         [0, 0, 0, 0]]
    spec = (m, ["input", C3, MP, "output"])
    assert nb101.validity_error(spec) is None
    p = nb101.prune(spec)
    assert p == nb101.NB101Spec(((0, 1, 0), (0, 0, 1), (0, 0, 0)), ("input", C3, "output"))
    g = nb101.spec_to_graph(spec)
    assert g.ops == ["input", C3, "output"] and g.edges == [(0, 1), (1, 2)]


def test_nb101_edge_limit_counts_after_pruning():
    ops = ["input", C3, C1, MP, C3, C1, "output"]
    # 10 edges, all on input->output paths: invalid
    m = np.zeros((7, 7), dtype=int)
    for u, v in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (0, 6), (0, 2), (1, 3), (2, 4)]:
        m[u, v] = 1
    assert nb101.validity_error((m, ops)) == "10 edges after pruning; NB101 allows at most 9"
    m[2, 4] = 0  # 9 edges: valid
    assert nb101.validity_error((m, ops)) is None
    # 10 edges, of which the 3 touching node 5 are dead (node 5 feeds nothing): 7 live, valid
    m3 = np.zeros((7, 7), dtype=int)
    for u, v in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (0, 6), (3, 6), (0, 5), (1, 5), (2, 5)]:
        m3[u, v] = 1
    assert m3.sum() == 10
    assert nb101.validity_error((m3, ops)) is None
    pruned = nb101.prune((m3, ops))
    assert pruned.num_edges == 7 and pruned.ops == ("input", C3, C1, MP, C3, "output")
    # all 21 edges of a 7-node cell
    full = np.triu(np.ones((7, 7), dtype=int), 1)
    assert nb101.validity_error((full, ops)) == "21 edges after pruning; NB101 allows at most 9"


def test_nb101_no_path_and_other_invalid_cases():
    no_path = ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", C3, "output"])
    assert nb101.validity_error(no_path) == "there is no path from the input to the output"
    assert nb101.prune(no_path) is None
    chain8 = (np.eye(8, k=1, dtype=int), ["input", C3, C3, C3, C3, C3, C3, "output"])
    assert "8 vertices" in nb101.validity_error(chain8)
    wrong_first = ([[0, 1], [0, 0]], ["output", "input"])
    assert "first op must be 'input'" in nb101.validity_error(wrong_first)
    bad_op = ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"])
    assert "unknown NB101 op 'conv5x5'" in nb101.validity_error(bad_op)
    lower = ([[0, 0, 0], [1, 0, 1], [0, 0, 0]], ["input", C3, "output"])
    assert "upper-triangular" in nb101.validity_error(lower)
    assert "shape" in nb101.validity_error(([[0, 1], [0, 0]], ["input", C3, "output"]))
    assert "0 or 1" in nb101.validity_error(([[0, 2], [0, 0]], ["input", "output"]))
    space = spaces.get("nb101")
    assert not space.is_valid(no_path) and not space.is_valid("0110")
    with pytest.raises(ArchrepError, match="invalid NB101 spec: there is no path"):
        space.to_graph(no_path)


def test_nb101_isomorphic_specs_share_key_and_hash():
    ops1 = ["input", C3, C1, MP, "output"]
    m1 = [[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    ops2 = ["input", C1, C3, MP, "output"]
    m2 = [[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    space = spaces.get("nb101")
    assert space.key((m1, ops1)) == space.key((m2, ops2))
    assert nb101.spec_hash((m1, ops1)) == nb101.spec_hash((m2, ops2))
    # an extra dead node (4: reads node 1, feeds nothing) does not change the key either
    m3 = [[0, 1, 1, 0, 0, 0],
          [0, 0, 0, 1, 1, 0],
          [0, 0, 0, 0, 0, 1],
          [0, 0, 0, 0, 0, 1],
          [0, 0, 0, 0, 0, 0],
          [0, 0, 0, 0, 0, 0]]
    spec3 = (m3, ["input", C3, C1, MP, C3, "output"])
    assert space.key(spec3) == space.key((m1, ops1))
    # a different cell has a different key
    assert space.key((m1, ["input", C3, MP, C1, "output"])) != space.key((m1, ops1))
    assert nb101.canonical((m2, ops2)) == nb101.canonical((m1, ops1))


def test_nb101_key_format_and_parse_errors():
    space = spaces.get("nb101")
    key = "0110,0001,0001,0000|input,conv3x3-bn-relu,maxpool3x3,output"
    spec = space.parse(key)
    assert spec.ops == ("input", C3, MP, "output")
    assert spec.matrix == ((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0))
    assert space.key(spec) == key  # already canonical
    assert space.key(space.parse("0110,0001,0001,0000|input,maxpool3x3,conv3x3-bn-relu,output")) == key
    for text, msg in [
        ("0110,0001,0001,0000", "one '\\|'"),
        ("0110,0001,0001|input,conv3x3-bn-relu,maxpool3x3,output", "3 matrix rows but 4 ops"),
        ("0110,0001,0021,0000|input,conv3x3-bn-relu,maxpool3x3,output", "row 2"),
        ("0110,0001,0001,0000|input,conv9x9,maxpool3x3,output", "unknown NB101 op 'conv9x9'"),
        ("0100,0000,0001,0000|input,conv3x3-bn-relu,maxpool3x3,output", "no path"),
    ]:
        with pytest.raises(ArchrepError, match=msg):
            space.parse(text)


def test_nb101_sample_and_mutate_respect_the_limits():
    space = spaces.get("nb101")
    rng = random.Random(0)
    sizes = set()
    for _ in range(200):
        s = space.sample(rng)
        assert s.num_vertices <= 7 and s.num_edges <= 9
        assert nb101.prune(s) == s  # returned pruned
        sizes.add(s.num_vertices)
    assert 7 in sizes
    bare = ([[0, 1], [0, 0]], ["input", "output"])  # no single edit gives a valid other cell
    child = space.mutate(bare, rng)
    assert space.is_valid(child) and child.num_vertices == 3


def test_nb101_accepts_dicts_and_arrays():
    space = spaces.get("nb101")
    m = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    ops = ["input", C1, "output"]
    assert space.key({"matrix": m, "ops": ops}) == space.key((m.tolist(), ops)) == space.key((m.astype(bool), ops))
    with pytest.raises(ArchrepError, match="'matrix' and 'ops'"):
        space.key({"adjacency": m, "ops": ops})


def test_nb101_suite_zero_specs(shared_data_dir):
    """The 500 NB101 cells of NAS-Bench-Suite-Zero (raw 7-node specs as NASLib samples them;
    op index 0 = input, 1 = output, 2..4 the three ops) are all valid, and cells that share a
    key share the params and FLOPs of the networks built from them: pruning and canonical
    ordering only merge identical networks. (Up to a few percent: NB101 splits the output
    channels among the nodes feeding the output and hands the remainder to the lowest-numbered
    ones, so two numberings of one cell can differ by a channel per node, e.g. 1.907M vs 1.923M
    params for input -> {conv3x3, conv3x3, maxpool} -> output.)"""
    data = json.loads((shared_data_dir / "zero_cost" / "zc_nasbench101.json").read_text())
    records = data["nasbench101"]["cifar10"]
    names = {0: "input", 1: "output", 2: OPS_BY_INDEX[0], 3: OPS_BY_INDEX[1], 4: OPS_BY_INDEX[2]}
    by_key: dict[str, set] = {}
    for text, rec in records.items():
        t = ast.literal_eval(text)
        matrix = [list(t[7 * i: 7 * i + 7]) for i in range(7)]
        ops = [names[i] for i in t[49:]]
        assert nb101.validity_error((matrix, ops)) is None
        by_key.setdefault(nb101.spec_to_string((matrix, ops)), set()).add((rec["params"], rec["flops"]))
    assert len(records) == 500
    for values in by_key.values():
        params, flops = np.array(sorted(values)).T
        assert params.max() / params.min() < 1.05 and flops.max() / flops.min() < 1.05
    assert sum(len(v) > 1 for v in by_key.values()) < 5  # nearly always identical
    assert len(by_key) < 500  # NASLib's sample holds isomorphic / pruned-equal duplicates


# ============================================================================ DARTS
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
            "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
            "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
            "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
            "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


def test_darts_v2_parses_and_builds_graphs():
    g = darts.string_to_genotype(DARTS_V2)
    assert g.normal[7] == ("dil_conv_3x3", 2) and g.reduce[0] == ("max_pool_3x3", 0)
    normal = darts.genotype_to_graph(g, "normal")
    # 2 inputs + 4 x (2 ops + add) + concat + output; 8 x 2 op edges + 4 into concat + 1
    assert normal.num_nodes == 16 and normal.num_edges == 21
    assert normal.ops.count("input") == 2 and normal.ops.count("add") == 4
    assert normal.ops.count("sep_conv_3x3") == 5 and normal.ops.count("skip_connect") == 2
    assert [normal.node_attrs[i]["cell_input"] for i in normal.inputs] == [0, 1]
    reduce = darts.genotype_to_graph(g, "reduce")
    assert reduce.num_nodes == 16
    # the 5 max pools all read a cell input, so they stride; the skips read node 2
    assert sorted(a.get("stride", 1) for a, op in zip(reduce.node_attrs, reduce.ops) if op == "max_pool_3x3") == [2] * 5
    assert all("stride" not in a for a, op in zip(reduce.node_attrs, reduce.ops) if op == "skip_connect")
    both = darts.genotype_to_graph(g, "both")
    assert both.num_nodes == 29 and both.num_edges == 2 * 20 + 1
    assert both.ops.count("concat") == 2 and both.ops.count("output") == 1
    # the reduce cell reads s1 (node 1) and the normal cell's concat
    nconcat = next(i for i, (op, a) in enumerate(zip(both.ops, both.node_attrs))
                   if op == "concat" and a["cell"] == "normal")
    readers = [v for u, v in both.edges if u == nconcat]
    assert {both.node_attrs[v]["cell"] for v in readers} == {"reduce"}
    assert len(readers) == 3  # the three reduce pairs ('max_pool_3x3', 1)
    assert len(both.successors(1)) == 3 + 2  # normal pairs reading 1, reduce pairs reading 0


def test_darts_both_cell_inputs_are_always_live():
    # node 2 reads two distinct inputs among {0, 1}: every cell uses both cell inputs
    rng = random.Random(3)
    space = spaces.get("darts", cell="both")
    for _ in range(50):
        g = space.to_graph(space.sample(rng))
        assert g.num_nodes == 29 and g.live_nodes().all()


def test_darts_key_is_order_free_within_a_node_and_hash_is_numbering_free():
    space = spaces.get("darts")
    g = darts.string_to_genotype(DARTS_V2)
    swapped = list(g.normal)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    g2 = g._replace(normal=tuple(swapped))
    assert g2 != g and space.key(g2) == space.key(g)
    assert space.to_graph(g2).hash() == space.to_graph(g).hash()
    # nodes 2 and 3 both read only the cell inputs: exchanging them (and renumbering the
    # readers of node 2 / 3) gives a different genotype and key but an isomorphic graph
    a = darts.Genotype(
        (("sep_conv_3x3", 0), ("sep_conv_5x5", 1), ("skip_connect", 0), ("dil_conv_3x3", 1),
         ("sep_conv_3x3", 2), ("max_pool_3x3", 1), ("avg_pool_3x3", 3), ("sep_conv_3x3", 4)),
        darts.CONCAT, g.reduce, darts.CONCAT)
    b = darts.Genotype(
        (("skip_connect", 0), ("dil_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_5x5", 1),
         ("sep_conv_3x3", 3), ("max_pool_3x3", 1), ("avg_pool_3x3", 2), ("sep_conv_3x3", 4)),
        darts.CONCAT, g.reduce, darts.CONCAT)
    assert space.key(a) != space.key(b)
    assert space.to_graph(a).hash() == space.to_graph(b).hash()
    # the two cell inputs are not interchangeable
    c = a._replace(normal=tuple((op, {0: 1, 1: 0}.get(s, s)) for op, s in a.normal))
    assert space.to_graph(c).hash() != space.to_graph(a).hash()


def test_darts_text_dict_and_range_forms_agree():
    g = darts.string_to_genotype(DARTS_V2)
    ranged = DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)")
    assert darts.string_to_genotype(ranged) == g
    d = {"normal": [list(p) for p in g.normal], "reduce": [list(p) for p in g.reduce]}
    assert darts.as_genotype(d) == g
    key = darts.genotype_to_string(g)
    back = darts.string_to_genotype(key)
    assert darts.genotype_to_string(back) == key
    for cell_a, cell_b in ((g.normal, back.normal), (g.reduce, back.reduce)):
        for j in range(4):
            assert set(cell_a[2 * j: 2 * j + 2]) == set(cell_b[2 * j: 2 * j + 2])
    assert spaces.get("darts").is_valid(DARTS_V2) and not spaces.get("darts").is_valid("Genotype()")


@pytest.mark.parametrize("text, msg", [
    ("Genotype(normal=[('sep_conv_3x3', 0)])", "'reduce'"),
    (DARTS_V2.replace("('sep_conv_3x3', 0)", "('none', 0)", 1), "'none' never appears"),
    (DARTS_V2.replace("('sep_conv_3x3', 0)", "('conv_7x7', 0)", 1), "unknown op 'conv_7x7'"),
    (DARTS_V2.replace("('sep_conv_3x3', 1)", "('sep_conv_3x3', 0)", 1), "must differ"),
    (DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "node 5 can only read inputs 0..4"),
    (DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3]"), "normal_concat must be"),
    (DARTS_V2.replace("normal=[", "normal=__import__('os').system('true') or ["), "not a literal"),
    (DARTS_V2.replace("reduce_concat", "extra=1, reduce_concat"), "unknown DARTS genotype field"),
    (DARTS_V2[:-1], "expected 'Genotype"),
    (DARTS_V2.replace("normal=[", "normal=[[", 1), "unbalanced"),
    ("Genotype(normal=[('sep_conv_3x3', 0)], normal=[], reduce=[])", "given twice"),
])
def test_darts_malformed_genotypes(text, msg):
    with pytest.raises(ArchrepError, match=msg):
        darts.string_to_genotype(text)


def test_darts_graph_cell_option():
    with pytest.raises(ArchrepError, match="valid: normal, reduce, both"):
        spaces.get("darts", cell="middle")
    g = darts.string_to_genotype(DARTS_V2)
    assert spaces.get("darts", cell="both").to_graph(g).num_nodes == 29


def test_darts_suite_zero_genotypes_are_valid(shared_data_dir):
    """The 500 NB301 genotypes of NAS-Bench-Suite-Zero (NASLib form: per cell 8 (input, op
    index) pairs, 7 op indices) all satisfy this space's rules (distinct inputs, no 'none')."""
    data = json.loads((shared_data_dir / "zero_cost" / "zc_nasbench301.json").read_text())
    records = data["nasbench301"]["cifar10"]
    assert len(records) == 500
    for text in records:
        normal, reduce = ast.literal_eval(text)
        assert {o for _, o in normal + reduce} <= set(range(len(darts.OPS)))
        geno = (tuple((darts.OPS[o], s) for s, o in normal), darts.CONCAT,
                tuple((darts.OPS[o], s) for s, o in reduce), darts.CONCAT)
        assert darts.validity_error(geno) is None, text


# ============================================================================ NAS-Bench-Macro
def test_macro_enumerates_6561_in_lexicographic_order():
    space = spaces.get("nas-bench-macro")
    keys = list(space.enumerate())
    assert len(keys) == len(space) == 6561 == 3 ** 8
    assert keys == sorted(keys) and keys[0] == "00000000" and keys[-1] == "22222222"
    assert len({space.to_graph(k).hash() for k in keys}) == 6561
    dropped = spaces.get("nas-bench-macro", drop_identity=True)
    # without identities only the sequence of blocks is left: sum_k 2**k for k = 0..8
    assert len({dropped.to_graph(k).hash() for k in keys}) == 2 ** 9 - 1


def test_macro_graphs():
    g = macro.arch_to_graph("02012100")
    assert g.ops == ["input", "identity", "mb6_k5", "identity", "mb3_k3", "mb6_k5", "mb3_k3",
                     "identity", "identity", "output"]
    assert g.edges == [(i, i + 1) for i in range(9)]
    d = macro.arch_to_graph("02012100", drop_identity=True)
    assert d.ops == ["input", "mb6_k5", "mb3_k3", "mb6_k5", "mb3_k3", "output"]
    assert macro.arch_to_graph("00000000", drop_identity=True).edges == [(0, 1)]
    for bad in ("0201210", "020121003", "02012103", "0201210a", 2012100):
        with pytest.raises(ArchrepError, match="8 digits|8-digit"):
            macro.check_key(bad)


def test_macro_digit_to_op_mapping_matches_benchmark_params(shared_data_dir):
    """Evidence for 0 = Identity, 1 = MB3_K3, 2 = MB6_K5: in the benchmark file, raising any
    one layer's digit (0 -> 1 or 1 -> 2) always adds parameters, and the all-2 network is the
    largest, the all-0 one the smallest."""
    data = json.loads((shared_data_dir / "nas_bench_macro" / "nas-bench-macro_cifar10.json").read_text())
    space = spaces.get("nas-bench-macro")
    assert set(data) == set(space.enumerate())
    params = {k: v["params"] for k, v in data.items()}
    for k, p in params.items():
        for i, c in enumerate(k):
            if c != "2":
                assert params[k[:i] + str(int(c) + 1) + k[i + 1:]] > p
    assert max(params, key=params.get) == "22222222" and min(params, key=params.get) == "00000000"


# ============================================================================ NB201 cost
def test_nb201_cost_by_hand():
    none = ("none",) * 6
    c = nb201_cost.nb201_cost(none)
    # stem 432 + 32; block 16->32: 4608 + 64 + 9216 + 64 + 512; block 32->64: 18432 + 128
    # + 36864 + 128 + 2048; last BN 128; classifier 640 + 10
    assert c["params"] == pytest.approx(73306 / 1e6, abs=0)
    # conv MACs: stem 32*32*16*27; block1 16*16*32*(144 + 288 + 16); block2 8*8*64*(288 + 576 + 32)
    # classifier 640 + 10 bias
    assert c["flops"] == pytest.approx((442368 + 256 * 32 * 448 + 64 * 64 * 896 + 650) / 1e6, abs=0)
    # one conv3x3 edge: 5 cells per stage of 9*C*C + 2C params and 9*C*C*H*W MACs
    one = nb201_cost.nb201_cost(("nor_conv_3x3",) + ("none",) * 5)
    assert round((one["params"] - c["params"]) * 1e6) == 5 * (2336 + 9280 + 36992)
    assert round((one["flops"] - c["flops"]) * 1e6) == 5 * 9 * (16 * 16 * 1024 + 32 * 32 * 256 + 64 * 64 * 64)
    # pooling and skips are free in the NB201 counter, not in torchstat's
    pool = ("avg_pool_3x3",) * 6
    assert nb201_cost.nb201_cost(pool) == c
    ts_none = nb201_cost.nb201_cost(none, convention="torchstat")
    ts_pool = nb201_cost.nb201_cost(pool, convention="torchstat")
    assert round((ts_pool["flops"] - ts_none["flops"]) * 1e6) == 6 * 5 * 9 * (16 * 1024 + 32 * 256 + 64 * 64)
    assert ts_pool["params"] == c["params"]
    # ImageNet16-120: 120 classes on 16x16 inputs
    im = nb201_cost.nb201_cost(none, num_classes=120, input_size=16)
    assert round(im["params"] * 1e6) == 73306 - 650 + 64 * 120 + 120


def test_nb201_cost_table_matches_the_scalar_version():
    space = spaces.get("nb201")
    archs = list(space.enumerate())
    for conv in nb201_cost.CONVENTIONS:
        for classes, size in nb201_cost.DATASETS.values():
            t = nb201_cost.nb201_cost_table(classes, size, conv)
            assert t["params"].shape == t["flops"].shape == (15625,)
            for i in (0, 1, 777, 5000, 12345, 15624):
                c = nb201_cost.nb201_cost(archs[i], classes, size, conv)
                assert (t["params"][i], t["flops"][i]) == (c["params"], c["flops"])
    t = nb201_cost.nb201_cost_table()
    assert t["params"].min() == pytest.approx(0.073306) and t["params"].max() == pytest.approx(1.531546)
    assert np.argmax(t["flops"]) == archs.index(("nor_conv_3x3",) * 6)


def test_nb201_cost_bad_inputs():
    with pytest.raises(ArchrepError, match="convention"):
        nb201_cost.nb201_cost(("none",) * 6, convention="fvcore")
    with pytest.raises(ArchrepError, match="multiple of 4"):
        nb201_cost.nb201_cost(("none",) * 6, input_size=30)
    with pytest.raises(ArchrepError, match="not an NB201 arch"):
        nb201_cost.nb201_cost(("none",) * 5)
    s = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    assert nb201_cost.nb201_cost(s) == nb201_cost.nb201_cost(("nor_conv_3x3",) + ("none",) * 5)


def test_naslib_key_conversion():
    arch = ("nor_conv_3x3", "skip_connect", "none", "avg_pool_3x3", "nor_conv_1x1", "skip_connect")
    # arch-string edge order 01, 02, 12, 03, 13, 23 -> NASLib order 01, 02, 03, 12, 13, 23
    assert nb201_cost.arch_to_naslib(arch) == (2, 0, 4, 1, 3, 0)
    assert nb201_cost.naslib_to_arch("(2, 0, 4, 1, 3, 0)") == arch
    for a in list(spaces.get("nb201").enumerate())[::97]:
        assert nb201_cost.naslib_to_arch(nb201_cost.arch_to_naslib(a)) == a
    for bad in ("(2, 0, 4, 1, 3)", "(2, 0, 4, 1, 3, 5)", "2, 0, 4", "(2, 0, 4, 1, 3, x)", "(True, 0, 0, 0, 0, 0)"):
        with pytest.raises(ArchrepError, match="NASLib NB201 key"):
            nb201_cost.naslib_to_arch(bad)


def test_nb201_cost_matches_suite_zero_exactly(shared_data_dir):
    """The torchstat convention reproduces params and FLOPs of every cell of the
    NAS-Bench-Suite-Zero file exactly (to its 6 decimals), on all three datasets; cells on dead
    paths included."""
    data = json.loads((shared_data_dir / "zero_cost" / "zc_nasbench201.json").read_text())["nasbench201"]
    for dataset, (classes, size) in nb201_cost.DATASETS.items():
        records = data[dataset]
        assert len(records) > 400
        for key, rec in records.items():
            c = nb201_cost.nb201_cost(nb201_cost.naslib_to_arch(key), classes, size, "torchstat")
            assert round(c["params"], 6) == rec["params"], (dataset, key)
            assert round(c["flops"], 6) == rec["flops"], (dataset, key)


def test_naslib_mapping_agrees_with_nb201_accuracies(shared_data_dir):
    """NASLib's keys in the Zen-NAS file map, through naslib_to_arch, onto all 15,625 NB201
    cells, and their validation accuracies track NB201's test accuracies (the arch-string edge
    order, or 'none' and 'skip_connect' exchanged, would not)."""
    test_acc = {}
    with open(shared_data_dir / "nb201" / "nats_bench_test_acc.csv", newline="") as f:
        for row in csv.DictReader(f):
            test_acc[nb201.string_to_arch(row["ArchitectureString"])] = float(row["CIFAR10TestAccuracy200Epochs"])
    records = []
    with zipfile.ZipFile(shared_data_dir / "zero_cost" / "nb201_val_acc_zen.zip") as z:
        for name in z.namelist():
            if "--cifar10--" in name and name.endswith(".json"):
                records += json.loads(z.read(name))
    archs = [nb201_cost.naslib_to_arch(r["arch"]) for r in records]
    assert len(set(archs)) == len(archs) == 15625
    val = np.array([r["val_accuracy"] for r in records])
    ours = np.array([test_acc[a] for a in archs])
    assert np.corrcoef(val, ours)[0, 1] > 0.99
    wrong_order = np.array([test_acc[tuple(nb201_cost.NASLIB_OPS[i] for i in ast.literal_eval(r["arch"]))]
                            for r in records])
    assert np.corrcoef(val, wrong_order)[0, 1] < 0.5
