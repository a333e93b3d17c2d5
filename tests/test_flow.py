"""FGP flow surrogates (archrep.features.flow) against a hand-worked example and an independent,
generation-by-generation reference; batching, padding, relabelling, the seeded draw, the cache."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from archrep import spaces
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError, GraphError
from archrep.features import flow
from archrep.features.flow import FlowConfig, FlowParams, flow_config, flow_surrogates, surrogates_for

# ----------------------------------------------------------------------------- the hand-worked example
# vocabulary: 0 input, 1 conv, 2 pool, 3 output; k = 2
R = np.array([1.0, 2.0])
P = np.array([[0.1, -0.2],     # input
              [0.3, 0.4],      # conv
              [-0.5, 0.2],     # pool
              [0.0, 0.1]])     # output
W = np.array([[1.0, 0.0],      # rows 0-1 act on o_v
              [0.0, 1.0],
              [0.5, -1.0],     # rows 2-3 act on m_v
              [1.0, 0.5]])
HAND = FlowParams(r=R, P=P, W=W, alpha=0.5, input_op=0)
# 0 input -> 1 conv -> 2 pool -> 3 output, plus the skips 0 -> 2 and 0 -> 3.
# Generations (longest path from the input): 0: {0}, 1: {1}, 2: {2}, 3: {3}.
HAND_OPS = np.array([0, 1, 2, 3])
HAND_EDGES = [(0, 1), (0, 2), (1, 2), (2, 3), (0, 3)]


def hand_adj(n=4):
    a = np.zeros((n, n), np.uint8)
    for u, v in HAND_EDGES:
        a[u, v] = 1
    return a


def f(o, m):
    """h <- 0.5 m + 0.5 ReLU([o || m] W)."""
    return 0.5 * m + 0.5 * np.maximum(np.concatenate([o, m]) @ W, 0.0)


def test_hand_worked_example():
    o = P[HAND_OPS]
    h = [R.copy(), np.zeros(2), np.zeros(2), np.zeros(2)]
    # forward, generation by generation
    h[1] = f(o[1], h[0])                 # [.3,.4] + [1*.5+2*1, -1+2*.5] = [2.8,.4]; .5*[1,2]+.5*[2.8,.4]
    np.testing.assert_allclose(h[1], [1.9, 1.2])
    h[2] = f(o[2], h[0] + h[1])          # m = [2.9, 3.2]: [-.5,.2] + [4.65,-1.3] -> ReLU [4.15, 0]
    np.testing.assert_allclose(h[2], [3.525, 1.6])
    h[3] = f(o[3], h[2] + h[0])          # m = [4.525, 3.6]: [0,.1] + [5.8625,-2.725] -> ReLU [5.8625, 0]
    np.testing.assert_allclose(h[3], [5.19375, 1.8])
    # backward on reversed edges, g = 3..1; the nodes with a successor in generation g are updated
    # together from the current states of all their successors
    h[0], h[2] = f(o[0], h[1] + h[2] + h[3]), f(o[2], h[3])            # g = 3: sources of 2->3, 0->3
    np.testing.assert_allclose(h[2], [4.5453125, 0.9])
    h[0], h[1] = f(o[0], h[1] + h[2] + h[3]), f(o[1], h[2])            # g = 2: sources of 0->2, 1->2
    np.testing.assert_allclose(h[1], [4.008984375, 0.45])
    h[0] = f(o[0], h[1] + h[2] + h[3])                                  # g = 1: source of 0->1; last wins
    np.testing.assert_allclose(h[0], [11.936035156, 1.575])

    got = flow_surrogates(HAND_OPS[None], hand_adj()[None], HAND)
    np.testing.assert_allclose(got, [h[0]], rtol=1e-12)


def test_hand_example_inside_a_padded_batch():
    ops = np.full((3, 6), -1, np.int16)
    adj = np.zeros((3, 6, 6), np.uint8)
    ops[0, :2], adj[0, 0, 1] = [0, 3], 1                     # input -> output
    ops[1, :4], adj[1, :4, :4] = HAND_OPS, hand_adj()
    ops[2, :2] = [0, 3]                                      # disconnected: the input keeps r
    got = flow_surrogates(ops, adj, HAND)
    np.testing.assert_allclose(got[1], [11.936035156, 1.575], rtol=1e-10)
    out = f(P[3], R)
    np.testing.assert_allclose(got[0], f(P[0], out))
    np.testing.assert_allclose(got[2], R)


# ----------------------------------------------------------------------------- an independent reference
def reference(ops_row, adj_row, params):
    """One graph, literally as methods.md §5 runs it: topological generations, edge masks by
    target generation, simultaneous updates per generation, last update wins."""
    n = int((ops_row >= 0).sum())
    a = adj_row[:n, :n] != 0
    edges = list(zip(*np.nonzero(a)))
    gen = [0] * n
    for u, v in sorted(edges, key=lambda e: e[1]):          # sorted by target: u's generation is final
        gen[v] = max(gen[v], gen[u] + 1)
    big_g = max(gen, default=0)
    k, al = params.k, params.alpha

    def upd(v, m):
        return al * m + (1 - al) * np.maximum(np.concatenate([params.P[ops_row[v]], m]) @ params.W, 0)

    h = [params.r.copy() if ops_row[v] == params.input_op else np.zeros(k) for v in range(n)]
    for g in range(1, big_g + 1):
        targets = {v for u, v in edges if gen[v] == g}
        new = {v: upd(v, sum((h[u] for u, w in edges if w == v), np.zeros(k))) for v in targets}
        for v, x in new.items():
            h[v] = x
    for g in range(big_g, 0, -1):
        sources = {u for u, v in edges if gen[v] == g}
        new = {u: upd(u, sum((h[w] for x, w in edges if x == u), np.zeros(k))) for u in sources}
        for u, x in new.items():
            h[u] = x
    return sum((h[v] for v in range(n) if ops_row[v] == params.input_op), np.zeros(k))


def random_batch(rng, count, max_n, n_ops=5, p=0.4):
    """Padded random DAGs of 1..max_n nodes: node 0 an input, sometimes a second input, random
    other ops (so some graphs have non-input sources, isolated nodes, several sinks)."""
    ops = np.full((count, max_n), -1, np.int16)
    adj = np.zeros((count, max_n, max_n), np.uint8)
    for i in range(count):
        n = int(rng.integers(1, max_n + 1))
        ops[i, :n] = rng.integers(1, n_ops, n)
        ops[i, 0] = 0
        if n > 2 and rng.random() < 0.3:
            ops[i, 1] = 0
        adj[i, :n, :n] = np.triu(rng.random((n, n)) < p, 1)
    return ops, adj


@pytest.fixture(scope="module")
def params5():
    return flow_config(k=6, sigma=0.7, seed=3).params(["input", "a", "b", "c", "output"])


def test_batch_equals_reference_and_per_graph(params5):
    ops, adj = random_batch(np.random.default_rng(0), 60, 9)
    got = flow_surrogates(ops, adj, params5)
    assert got.shape == (60, 6) and got.dtype == np.float64
    for i in range(len(ops)):
        n = int((ops[i] >= 0).sum())
        np.testing.assert_allclose(got[i], reference(ops[i], adj[i], params5), rtol=1e-10, atol=1e-12)
        alone = flow_surrogates(ops[i:i + 1, :n], adj[i:i + 1, :n, :n], params5)
        np.testing.assert_allclose(got[i], alone[0], rtol=1e-12, atol=1e-14)


def test_padding_and_chunking_do_not_change_the_result(params5):
    ops, adj = random_batch(np.random.default_rng(1), 40, 7)
    base = flow_surrogates(ops, adj, params5)
    ops_p = np.full((40, 12), -1, np.int16)
    adj_p = np.zeros((40, 12, 12), np.uint8)
    ops_p[:, :7], adj_p[:, :7, :7] = ops, adj
    np.testing.assert_allclose(flow_surrogates(ops_p, adj_p, params5), base, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(flow_surrogates(ops, adj, params5, chunk_size=7), base, rtol=1e-12, atol=1e-14)
    assert flow_surrogates(ops[:0], adj[:0], params5).shape == (0, 6)


def test_isomorphic_relabellings_give_the_same_surrogate(params5):
    rng = np.random.default_rng(2)
    ops, adj = random_batch(rng, 30, 8, p=0.5)
    base = flow_surrogates(ops, adj, params5)
    perm_ops, perm_adj = np.full_like(ops, -1), np.zeros_like(adj)
    for i in range(len(ops)):
        n = int((ops[i] >= 0).sum())
        a = adj[i, :n, :n]
        order, indeg = [], a.sum(0).astype(int)
        ready = [v for v in range(n) if indeg[v] == 0]
        while ready:                                          # a random topological order
            v = ready.pop(int(rng.integers(len(ready))))
            order.append(v)
            for w in np.flatnonzero(a[v]):
                indeg[w] -= 1
                if indeg[w] == 0:
                    ready.append(int(w))
        perm_ops[i, :n] = ops[i, order]
        perm_adj[i, :n, :n] = a[np.ix_(order, order)]
    assert not np.array_equal(perm_ops, ops)                  # some graphs really were renumbered
    np.testing.assert_allclose(flow_surrogates(perm_ops, perm_adj, params5), base, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- search-space graphs
def space_batch(name, count, **kw):
    space = spaces.get(name, **kw)
    rng = random.Random(0)
    graphs = [space.to_graph(space.sample(rng)) for _ in range(count)]
    return ArchDataset.from_graphs(name, [str(i) for i in range(count)], graphs, {},
                                   op_vocab=space.op_vocab, space=name)


@pytest.mark.parametrize("name,kw", [("nb201", {}), ("nb201", {"graph_style": "prune_none"}),
                                     ("nb101", {}), ("darts", {"cell": "both"}), ("nbgraph", {}),
                                     ("nas-bench-macro", {})])
def test_space_graphs_match_the_reference(name, kw):
    ds = space_batch(name, 25, **kw)
    params = flow_config(ds.space).params(ds.op_vocab)
    got = flow_surrogates(ds.ops, ds.adj, params)
    assert got.shape == (25, flow_config(name).k) and np.isfinite(got).all()
    for i in range(len(ds)):
        np.testing.assert_allclose(got[i], reference(ds.ops[i], ds.adj[i], params), rtol=1e-10, atol=1e-12)


def test_darts_sums_both_cell_inputs():
    ds = space_batch("darts", 3, cell="normal")
    params = flow_config("darts").params(ds.op_vocab)
    assert (ds.ops == params.input_op).sum(1).tolist() == [2, 2, 2]
    got = flow_surrogates(ds.ops, ds.adj, params)
    one_input = ds.ops.copy()
    one_input[:, 1] = ds.op_vocab.index("output")             # same graph, second input relabelled
    assert not np.allclose(got, flow_surrogates(one_input, ds.adj, params))


def test_prune_none_disconnected_cell_is_r():
    space = spaces.get("nb201", graph_style="prune_none")
    g = space.to_graph(("none",) * 6)
    ds = ArchDataset.from_graphs("x", ["a"], [g], {}, op_vocab=space.op_vocab, space="nb201")
    params = flow_config("nb201").params(ds.op_vocab)
    np.testing.assert_array_equal(flow_surrogates(ds.ops, ds.adj, params)[0], params.r)


# ----------------------------------------------------------------------------- the shared seeded draw
def test_draw_follows_the_methods_recipe():
    vocab = spaces.get("nb201").op_vocab
    state = np.random.get_state()
    try:
        np.random.seed(0)
        r = np.random.rand(7)
        np.random.rand(7)
        p = np.random.normal(0, 0.1, (7, 7))
        w = np.random.normal(0, 0.1, (14, 7))
    finally:
        np.random.set_state(state)
    params = flow_config("nb201").params(vocab)
    order = ["input", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "none", "output"]
    np.testing.assert_array_equal(params.r, r)
    np.testing.assert_array_equal(params.W, w)
    np.testing.assert_array_equal(params.P, p[[order.index(op) for op in vocab]])
    assert params.input_op == vocab.index("input") and params.alpha == 0.5


def test_same_seed_same_draw_other_seed_other_draw():
    vocab = ["input", "x", "output"]
    a, b = flow_config(seed=5).params(vocab), flow_config(seed=5).params(vocab)
    c = flow_config(seed=6).params(vocab)
    for name in ("r", "P", "W"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert not np.allclose(getattr(a, name), getattr(c, name))
    # the draw belongs to the op, not to the vocabulary's order
    shuffled = flow_config(op_order=vocab).params(["output", "input", "x"])
    plain = flow_config().params(vocab)
    np.testing.assert_array_equal(shuffled.P, plain.P[[2, 0, 1]])


def test_per_space_configs():
    assert (flow_config("nb101").k, flow_config("nb101").sigma) == (4, 1.0)
    assert (flow_config("nb201").k, flow_config("nb201").sigma) == (7, 0.1)
    assert (flow_config("darts").k, flow_config("darts").sigma) == (12, 0.1)
    other = flow_config("nbgraph")
    assert (other.k, other.sigma, other.seed, other.alpha) == (flow.DEFAULT_K, flow.DEFAULT_SIGMA, 0, 0.5)
    assert flow_config("nb201", k=9).k == 9


# ----------------------------------------------------------------------------- bad input
def test_bad_inputs_raise_clear_errors(params5):
    ops, adj = random_batch(np.random.default_rng(4), 3, 5)
    with pytest.raises(ArchrepError, match="adj must have shape"):
        flow_surrogates(ops, adj[:, :4, :4], params5)
    with pytest.raises(ArchrepError, match="integer array"):
        flow_surrogates(ops.astype(float), adj, params5)
    bad = ops.copy()
    bad[0, 0] = 9
    with pytest.raises(ArchrepError, match=r"op indices in \[0, 5\)"):
        flow_surrogates(bad, adj, params5)
    cyc_ops, cyc = np.zeros((1, 3), np.int16), np.zeros((1, 3, 3), np.uint8)
    cyc[0, 0, 1] = cyc[0, 1, 2] = cyc[0, 2, 1] = 1
    with pytest.raises(GraphError, match=r"adj\[0\].*cycle"):
        flow_surrogates(cyc_ops, cyc, params5)
    low = np.zeros((1, 3, 3), np.uint8)
    low[0, 2, 1] = 1                                          # a DAG, but not in topological order
    with pytest.raises(GraphError, match="topological order"):
        flow_surrogates(cyc_ops, low, params5)
    pad_ops, pad_adj = np.array([[0, 1, -1]]), np.zeros((1, 3, 3), np.uint8)
    pad_adj[0, 1, 2] = 1
    with pytest.raises(GraphError, match="padded node"):
        flow_surrogates(pad_ops, pad_adj, params5)
    with pytest.raises(GraphError, match="graph 0 has no input node"):
        flow_surrogates(np.array([[1, 2]]), np.zeros((1, 2, 2)), params5)
    with pytest.raises(ArchrepError, match="params must be FlowParams"):
        flow_surrogates(ops, adj, flow_config())
    with pytest.raises(ArchrepError, match="chunk_size"):
        flow_surrogates(ops, adj, params5, chunk_size=0)


def test_bad_configurations_raise_clear_errors():
    with pytest.raises(ArchrepError, match="k must be a positive integer"):
        FlowConfig(k=0, sigma=0.1)
    with pytest.raises(ArchrepError, match="sigma"):
        FlowConfig(k=3, sigma=-1.0)
    with pytest.raises(ArchrepError, match="alpha"):
        FlowConfig(k=3, sigma=0.1, alpha=2.0)
    with pytest.raises(ArchrepError, match="unknown flow configuration field"):
        flow_config("nb201", kk=3)
    with pytest.raises(ArchrepError, match="no row in the flow configuration's op_order"):
        flow_config("nb201").params(["input", "conv", "output"])
    with pytest.raises(ArchrepError, match="input op 'input' is not in the vocabulary"):
        flow_config().params(["a", "b"])
    with pytest.raises(ArchrepError, match=r"W must be \(2k, k\)"):
        FlowParams(r=R, P=P, W=W[:3])


# ----------------------------------------------------------------------------- the cache
@pytest.fixture()
def small_ds():
    return space_batch("nb201", 40)


def test_surrogates_for_caches_and_reuses(small_ds, monkeypatch):
    first = surrogates_for(small_ds)
    params = flow_config("nb201").params(small_ds.op_vocab)
    np.testing.assert_array_equal(first, flow_surrogates(small_ds.ops, small_ds.adj, params))
    path = flow.surrogate_cache_path(small_ds)
    assert path.exists() and json.loads(path.with_suffix(".json").read_text())["config"]["k"] == 7

    def boom(*a, **k):
        raise AssertionError("recomputed although the cache is valid")

    monkeypatch.setattr(flow, "flow_surrogates", boom)
    np.testing.assert_array_equal(surrogates_for(small_ds), first)


def test_cache_rebuilds_when_corrupt_and_keys_on_config_and_graphs(small_ds):
    first = surrogates_for(small_ds)
    path = flow.surrogate_cache_path(small_ds)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    np.testing.assert_array_equal(surrogates_for(small_ds), first)
    assert path.read_bytes() != bytes(data)                   # rewritten
    other = flow_config("nb201", seed=1)
    assert flow.surrogate_cache_path(small_ds, other) != path
    assert not np.allclose(surrogates_for(small_ds, other), first)
    sub = small_ds.subset(np.arange(10))
    assert flow.surrogate_cache_path(sub) != path
    np.testing.assert_array_equal(surrogates_for(sub), first[:10])
    np.testing.assert_array_equal(surrogates_for(small_ds, refresh=True), first)
