"""LAP tokens (archrep.features.lap): batched eigenvectors against per-graph numpy, token layout."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from archrep.errors import ArchrepError, GraphError, UnknownNameError
from archrep.features import lap
from archrep.features.lap import (PAD_EIGENVALUE, laplacian_eigvecs, random_sign_flip, tart_token_dim,
                                  tart_tokens)

S2 = np.sqrt(0.5)


def pack(graphs, m):
    """[(n, edges)] -> padded (ops, adj) with op index = node index mod 5."""
    ops = np.full((len(graphs), m), -1, np.int16)
    adj = np.zeros((len(graphs), m, m), np.uint8)
    for i, (n, edges) in enumerate(graphs):
        ops[i, :n] = np.arange(n) % 5
        for u, v in edges:
            adj[i, u, v] = 1
    return ops, adj


def ref_laplacian(a):
    """The normalised Laplacian of one unpadded DAG, written out independently."""
    s = ((a + a.T) > 0).astype(float)
    d = np.maximum(s.sum(1), 1.0)
    return np.eye(len(a)) - s / np.sqrt(np.outer(d, d))


def random_dags(rng, count, max_n, p=0.35):
    graphs = []
    for _ in range(count):
        n = int(rng.integers(1, max_n + 1))
        up = np.triu(rng.random((n, n)) < p, 1)
        graphs.append((n, list(zip(*np.nonzero(up)))))
    return graphs


def assert_same_eigvecs(p, w, a, dp, tol):
    """Batched (p: n x dp, w: dp) against numpy eigh of the real graph, up to sign and to the basis
    inside a repeated eigenvalue (projectors for clusters inside the first dp, subspace membership
    for a cluster cut by the dp boundary)."""
    n = len(a)
    wr, vr = np.linalg.eigh(ref_laplacian(a))
    k = min(dp, n)
    np.testing.assert_allclose(w[:k], wr[:k], atol=tol)
    assert np.isnan(w[k:]).all()
    assert np.all(p[:, k:] == 0)
    p = p[:, :k].astype(float)
    start = 0
    while start < k:
        end = start + 1
        while end < n and wr[end] - wr[start] < 1e-6:
            end += 1
        q = vr[:, start:end]
        mine = p[:, start:min(end, k)]
        if end - start == 1:  # simple eigenvalue: same vector up to sign
            sign = np.sign(mine[:, 0] @ q[:, 0])
            np.testing.assert_allclose(sign * mine[:, 0], q[:, 0], atol=tol)
        elif end <= k:       # whole cluster kept: same projector
            np.testing.assert_allclose(mine @ mine.T, q @ q.T, atol=tol)
        else:                # cluster cut at dp: orthonormal vectors inside the cluster's space
            np.testing.assert_allclose(mine.T @ mine, np.eye(mine.shape[1]), atol=tol)
            np.testing.assert_allclose(q @ (q.T @ mine), mine, atol=tol)
        start = end


def test_path_graph_by_hand():
    # path 0-1-2: eigenvalues 0, 1, 2; vectors [1, sqrt2, 1]/2, [1, 0, -1]/sqrt2, [1, -sqrt2, 1]/2
    ops, adj = pack([(3, [(0, 1), (1, 2)])], 3)
    p, w = laplacian_eigvecs(adj, ops >= 0, 3, dtype=torch.float64, return_eigvals=True)
    np.testing.assert_allclose(w[0].numpy(), [0, 1, 2], atol=1e-6)
    expect = np.array([[0.5, S2, 0.5], [S2, 0, -S2], [0.5, -S2, 0.5]]).T
    got = p[0].numpy()
    got = got * np.sign(got[0])  # first entry of each expected vector is positive
    np.testing.assert_allclose(got, expect, atol=1e-6)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-6), (torch.float32, 2e-4)])
def test_matches_numpy_per_graph_on_variable_sizes(dtype, tol):
    rng = np.random.default_rng(0)
    graphs = random_dags(rng, 60, 12)
    graphs += [
        (6, [(0, i) for i in range(1, 6)]),              # star: eigenvalue 1 repeated 4 times
        (6, [(0, 1), (1, 2), (3, 4), (4, 5)]),           # two components: 0 twice
        (5, [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)]),   # symmetric diamond
        (4, [(0, 1)]),                                   # two isolated nodes (eigenvalue 1)
        (1, []), (2, [(0, 1)]),                          # fewer nodes than dp
    ]
    ops, adj = pack(graphs, 15)
    for dp in (3, 5):
        p, w = laplacian_eigvecs(adj, ops >= 0, dp, dtype=dtype, chunk_size=16, return_eigvals=True)
        assert p.shape == (len(graphs), 15, dp) and p.dtype == torch.float32
        for i, (n, _) in enumerate(graphs):
            assert torch.all(p[i, n:] == 0)
            assert_same_eigvecs(p[i, :n].numpy(), w[i].numpy(), adj[i, :n, :n], dp, tol)


def test_padding_does_not_leak_into_real_eigenvectors():
    # one graph decomposed alone (no padding inside its eigh) and inside a chunk padded to 20
    g = (6, [(0, 1), (1, 2), (0, 3), (2, 4), (3, 4), (4, 5), (1, 5)])
    big = (20, [(i, i + 1) for i in range(19)])
    ops_a, adj_a = pack([g], 8)
    ops_b, adj_b = pack([g, big], 20)
    pa, wa = laplacian_eigvecs(adj_a, ops_a >= 0, 4, dtype=torch.float64, return_eigvals=True)
    pb, wb = laplacian_eigvecs(adj_b, ops_b >= 0, 4, dtype=torch.float64, return_eigvals=True)
    assert np.all(np.diff(np.linalg.eigvalsh(ref_laplacian(adj_a[0, :6, :6])))[:4] > 1e-3)  # simple
    np.testing.assert_allclose(wa[0], wb[0], atol=1e-10)
    assert wb.max() < PAD_EIGENVALUE
    sign = torch.sign((pa[0, :6] * pb[0, :6]).sum(0))
    np.testing.assert_allclose(pa[0, :6] * sign, pb[0, :6], atol=1e-6)
    assert torch.all(pb[0, 6:] == 0)


def test_tokens_independent_of_padding_and_chunking(monkeypatch):
    rng = np.random.default_rng(1)
    graphs = random_dags(rng, 12, 8)
    ops8, adj8 = pack(graphs, 8)
    ops20, adj20 = pack(graphs, 20)
    t8, m8 = tart_tokens(ops8, adj8, num_ops=5, dtype=torch.float64)
    t20, m20 = tart_tokens(ops20, adj20, num_ops=5, dtype=torch.float64)
    t1, m1 = tart_tokens(ops20, adj20, num_ops=5, dtype=torch.float64, chunk_size=1)
    assert t8.shape == t20.shape and torch.equal(m8, m20) and torch.equal(m1, m20)
    # identical graphs in identical trimmed chunks: identical tokens
    torch.testing.assert_close(t8, t20, atol=1e-6, rtol=0)
    # non-eigenvector columns are exact whatever the chunking
    cols = [0, 7, 8, 9, 10]
    assert torch.equal(t1[..., cols], t20[..., cols])
    # the default chunking splits by an element budget: a tiny budget gives many chunks, same result
    monkeypatch.setattr(lap, "DEFAULT_CHUNK_ELEMENTS", 150)
    p_small, w_small = laplacian_eigvecs(adj20, ops20 >= 0, 4, dtype=torch.float64, return_eigvals=True)
    monkeypatch.undo()
    p_big, w_big = laplacian_eigvecs(adj20, ops20 >= 0, 4, dtype=torch.float64, return_eigvals=True)
    torch.testing.assert_close(w_small, w_big, atol=1e-6, rtol=0, equal_nan=True)
    simple = (np.nan_to_num(np.diff(w_big.numpy(), axis=1), nan=1.0) > 1e-3).all(1)  # no repeated eigenvalue
    assert simple.sum() >= 6
    torch.testing.assert_close(p_small[simple].abs(), p_big[simple].abs(), atol=1e-5, rtol=0)


def test_token_layout_by_hand():
    # path 0 -> 1 -> 2 (ops 0, 1, 2 of 5) and a lone edge 0 -> 1 (ops 3, 4), padded to 4 nodes
    ops = np.array([[0, 1, 2, -1], [3, 4, -1, -1]], np.int16)
    adj = np.zeros((2, 4, 4), np.uint8)
    adj[0, 0, 1] = adj[0, 1, 2] = adj[1, 0, 1] = 1
    p = laplacian_eigvecs(adj, ops >= 0, 3)
    tok, mask = tart_tokens(ops, adj, num_ops=5, eigvecs=p)
    assert tok.shape == (2, 5, 11) and tart_token_dim() == 11
    assert mask.tolist() == [[True] * 5, [True, True, True, False, False]]
    t = tok[0]
    # x: (op + 1) / num_ops for nodes, 0 for edges
    np.testing.assert_allclose(t[:, 0], [0.2, 0.4, 0.6, 0, 0])
    # type one-hot, then endpoints / (n - 1)
    np.testing.assert_allclose(t[:, 7:], [[1, 0, 0, 0], [1, 0, .5, .5], [1, 0, 1, 1],
                                          [0, 1, 0, .5], [0, 1, .5, 1]])
    for v in range(3):
        assert torch.equal(t[v, 1:4], p[0, v]) and torch.equal(t[v, 4:7], p[0, v])
    for k, (u, v) in enumerate([(0, 1), (1, 2)]):
        assert torch.equal(t[3 + k, 1:4], p[0, u]) and torch.equal(t[3 + k, 4:7], p[0, v])
    # second graph: 2 nodes, 1 edge, endpoint of its last node is 1; padding is all zero
    np.testing.assert_allclose(tok[1, :3, 0], [0.8, 1.0, 0.0])
    np.testing.assert_allclose(tok[1, :3, 7:], [[1, 0, 0, 0], [1, 0, 1, 1], [0, 1, 0, 1]])
    assert torch.all(tok[1, 3:] == 0)
    # the third eigenvector of a 2-node graph does not exist: zero
    assert torch.all(tok[1, :3, [3, 6]] == 0)


def test_layouts_op_features_and_index_norm():
    ops, adj = pack([(3, [(0, 1), (1, 2)])], 3)
    assert tart_tokens(ops, adj, num_ops=5, layout="type_onehot")[0].shape[-1] == 9
    assert tart_tokens(ops, adj, num_ops=5, layout="none")[0].shape[-1] == 7
    tok, _ = tart_tokens(ops, adj, dp=2, op_features="onehot", num_ops=5)
    assert tok.shape[-1] == tart_token_dim(2, "onehot", 5) == 5 + 4 + 4
    np.testing.assert_array_equal(tok[0, :, :5], [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0],
                                                  [0] * 5, [0] * 5])
    tok, _ = tart_tokens(ops, adj, num_ops=5, index_norm=10)
    np.testing.assert_allclose(tok[0, :, 9:], [[0, 0], [.1, .1], [.2, .2], [0, .1], [.1, .2]])


def test_edge_tokens_count_and_mask():
    rng = np.random.default_rng(2)
    graphs = random_dags(rng, 30, 10)
    ops, adj = pack(graphs, 10)
    tok, mask = tart_tokens(ops, adj, num_ops=5)
    counts = [(n, len(e)) for n, e in graphs]
    assert tok.shape[1] == max(n + e for n, e in counts)
    for i, (n, e) in enumerate(counts):
        assert mask[i].tolist() == [True] * (n + e) + [False] * (tok.shape[1] - n - e)
        assert int(tok[i, :, 7].sum()) == n and int(tok[i, :, 8].sum()) == e
        # edge tokens list the graph's edges in row-major order
        ends = (tok[i, n:n + e, 9:11] * max(n - 1, 1)).round().long().tolist()
        assert ends == [list(map(int, uv)) for uv in sorted(graphs[i][1])]
        assert torch.all(tok[i, n + e:] == 0)


def test_sign_flip_reproducible_and_only_signs():
    rng = np.random.default_rng(3)
    ops, adj = pack(random_dags(rng, 40, 9), 9)
    p = laplacian_eigvecs(adj, ops >= 0, 3)
    f1 = random_sign_flip(p, torch.Generator().manual_seed(7))
    f2 = random_sign_flip(p, torch.Generator().manual_seed(7))
    f3 = random_sign_flip(p, torch.Generator().manual_seed(8))
    assert torch.equal(f1, f2) and not torch.equal(f1, f3)
    ratio = torch.where(p != 0, f1 / p, torch.zeros_like(p))
    # one sign per (graph, eigenvector), shared by all of the graph's nodes
    signs = ratio.abs().amax(1, keepdim=True) * torch.sign(ratio.sum(1, keepdim=True))
    assert torch.equal(torch.where(p != 0, f1, torch.zeros_like(p)), p * signs)
    exists = (p != 0).any(1, keepdim=True)  # a 1-node graph has no 2nd and 3rd eigenvector
    assert torch.all(signs[exists].abs() == 1) and (signs < 0).any() and (signs > 0).any()
    # inside tart_tokens: eigenvector columns flip, nothing else changes
    t0, _ = tart_tokens(ops, adj, num_ops=5, eigvecs=p)
    t1, _ = tart_tokens(ops, adj, num_ops=5, eigvecs=p, sign_flip=True, generator=torch.Generator().manual_seed(7))
    t2, _ = tart_tokens(ops, adj, num_ops=5, eigvecs=p, sign_flip=True, generator=torch.Generator().manual_seed(7))
    assert torch.equal(t1, t2)
    assert torch.equal(t1.abs(), t0.abs()) and not torch.equal(t1, t0)
    cols = [0, 7, 8, 9, 10]
    assert torch.equal(t1[..., cols], t0[..., cols])


def test_torch_input_matches_numpy_input():
    rng = np.random.default_rng(4)
    ops, adj = pack(random_dags(rng, 10, 7), 7)
    a, ma = tart_tokens(ops, adj, num_ops=5)
    b, mb = tart_tokens(torch.from_numpy(ops), torch.from_numpy(adj).bool(), num_ops=5)
    assert torch.equal(a, b) and torch.equal(ma, mb)


def test_bad_input_raises_clear_errors():
    ops, adj = pack([(3, [(0, 1), (1, 2)])], 4)
    with pytest.raises(ArchrepError, match="num_ops"):
        tart_tokens(ops, adj)
    with pytest.raises(ArchrepError, match=r"op indices in \[0, 2\)"):
        tart_tokens(ops, adj, num_ops=2)
    with pytest.raises(UnknownNameError, match="type_onehot"):
        tart_tokens(ops, adj, num_ops=5, layout="plus4")
    with pytest.raises(UnknownNameError, match="onehot"):
        tart_tokens(ops, adj, num_ops=5, op_features="embedding")
    with pytest.raises(ArchrepError, match="eigvecs must have shape"):
        tart_tokens(ops, adj, num_ops=5, eigvecs=torch.zeros(1, 4, 2))
    with pytest.raises(ArchrepError, match="mask must have shape"):
        laplacian_eigvecs(adj, np.ones((1, 3), bool))
    with pytest.raises(ArchrepError, match="dp must be a positive integer"):
        laplacian_eigvecs(adj, ops >= 0, 0)
    loop = adj.copy()
    loop[0, 1, 1] = 1
    with pytest.raises(GraphError, match="self-loop"):
        laplacian_eigvecs(loop, ops >= 0)
    leak = adj.copy()
    leak[0, 2, 3] = 1  # node 3 is padding
    with pytest.raises(GraphError, match="padded node"):
        tart_tokens(ops, leak, num_ops=5)
