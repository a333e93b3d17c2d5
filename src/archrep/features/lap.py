"""TART's Laplacian-eigenvector (LAP) tokens, computed for a whole padded batch at once.

TART (arXiv 2501.02007) follows TokenGT: every node v and every edge u -> v of an architecture
becomes one token, and the graph structure enters only through node identifiers P, the first
``dp`` entries of each node's row of the Laplacian eigenvectors:

* node token ``[x_v, P_v, P_v, extra]``, edge token ``[x_uv, P_u, P_v, extra]``;
* L = I - D^{-1/2} A D^{-1/2} of the symmetrised, binarised DAG, degrees clipped at >= 1,
  eigenvectors in ascending eigenvalue order, zero-padded when a graph has fewer than ``dp`` nodes;
* training-time augmentation: a random sign per eigenvector per graph (:func:`random_sign_flip`).

Choices where the paper is silent (research/methods.md §1, "Unknown"):

* ``x_v`` (``op_features="index"``, the default, df = 1): TART compresses the op one-hot into one
  number; we use ``(op_index + 1) / num_ops`` in (0, 1], so that no op reads as 0.
  ``op_features="onehot"`` keeps the one-hot (df = num_ops).
* ``x_uv`` = 0 (df zeros): DAG edges carry no features.
* the "+4" columns (``layout="type_onehot+endpoints"``, the default): a node/edge one-hot
  (node = [1, 0], edge = [0, 1]) and the two endpoint indices (u, v) in topological order
  (a node token has u = v = its own index). Indices are divided by the graph's own ``n - 1``
  (``index_norm="graph"``: input node 0, output node 1) so that a graph's tokens do not depend on
  how far the batch is padded; pass a number (e.g. the padded size) to divide by that instead.
  ``layout="type_onehot"`` keeps only the 2-column type one-hot, ``"none"`` adds nothing.

With df = 1, dp = 3 and the default layout a token has 11 columns: the paper's (N+M) x 11 matrix.

Batching: the eigen-decomposition runs as one ``torch.linalg.eigh`` per chunk of padded graphs.
A padded node gets an isolated diagonal entry :data:`PAD_EIGENVALUE` (> 2 >= every real
eigenvalue of a normalised Laplacian), so the Laplacian is block diagonal, the padding
eigenvalues sort after all real ones, and the first n eigenvectors are exactly the real graph's.
Graphs are sorted by size and each chunk is trimmed to its largest graph, so a batch of mixed
sizes does not pay for the padding of its largest member.
"""
from __future__ import annotations

from typing import Union

import numpy as np
import torch

from archrep.errors import ArchrepError, GraphError, UnknownNameError

ArrayLike = Union[np.ndarray, torch.Tensor]

#: the Laplacian diagonal of a padded node: above every real eigenvalue (which lie in [0, 2])
PAD_EIGENVALUE = 3.0
#: width of the "extra" columns of each token layout (the default is the first)
LAYOUTS: dict[str, int] = {"type_onehot+endpoints": 4, "type_onehot": 2, "none": 0}
OP_FEATURES = ("index", "onehot")
#: matrix entries per eigh chunk when ``chunk_size`` is not given (4 MB of float32): small enough
#: that a chunk of sorted graphs holds graphs of similar size, large enough that tiny graphs
#: (NB201's 8 nodes: 16,384 per chunk) pay little per-call overhead
DEFAULT_CHUNK_ELEMENTS = 1 << 20


def _tensor(x: ArrayLike, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x))
    raise ArchrepError(f"{name} must be a numpy array or a torch tensor, got {type(x).__name__}")


def _check_batch(adj: torch.Tensor, mask: torch.Tensor) -> None:
    """Shapes agree, no self-loop, no edge touching a padded node."""
    if adj.dim() != 3 or adj.shape[1] != adj.shape[2]:
        raise ArchrepError(f"adj must have shape (N, M, M), got {tuple(adj.shape)}")
    if tuple(mask.shape) != tuple(adj.shape[:2]):
        raise ArchrepError(f"mask must have shape (N, M) = {tuple(adj.shape[:2])} to match adj, "
                           f"got {tuple(mask.shape)}")
    edge = adj != 0
    if edge.diagonal(dim1=1, dim2=2).any():
        i = int(edge.diagonal(dim1=1, dim2=2).any(1).nonzero()[0])
        raise GraphError(f"adj[{i}] has a self-loop; architecture DAGs have none (clear the diagonal)")
    real_pair = mask[:, :, None] & mask[:, None, :]
    if (edge & ~real_pair).any():
        i = int((edge & ~real_pair).flatten(1).any(1).nonzero()[0])
        raise GraphError(f"adj[{i}] has an edge at a padded node (mask False); padded rows and "
                         "columns of adj must be 0 (ops = -1 marks padding)")


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ArchrepError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _chunk_end(sizes: list[int], start: int, chunk_size: int | None) -> int:
    """End of the chunk that starts at ``start`` of the ascending ``sizes``: ``chunk_size`` graphs,
    or as many as keep (count x largest size^2) within DEFAULT_CHUNK_ELEMENTS."""
    if chunk_size is not None:
        return min(start + chunk_size, len(sizes))
    end = min(len(sizes), start + max(1, DEFAULT_CHUNK_ELEMENTS // max(1, sizes[start]) ** 2))
    return min(end, start + max(1, DEFAULT_CHUNK_ELEMENTS // max(1, sizes[end - 1]) ** 2))


def laplacian_eigvecs(adj: ArrayLike, mask: ArrayLike, dp: int = 3, *, chunk_size: int | None = None,
                      dtype: torch.dtype = torch.float32, return_eigvals: bool = False):
    """First ``dp`` Laplacian eigenvector entries of every node of a padded batch of graphs.

    ``adj`` (N, M, M): nonzero at [i, u, v] for an edge u -> v; ``mask`` (N, M) bool: real nodes.
    Returns P (N, M, dp) float32 with P[i, v, k] = entry v of the k-th eigenvector (ascending
    eigenvalue) of graph i's normalised Laplacian; rows of padded nodes and columns k >= n_i are 0.
    With ``return_eigvals`` also returns (N, dp) float32 eigenvalues (NaN for k >= n_i).

    ``dtype`` is the precision of the decomposition (float32 is up to ~2x faster than float64 on
    CPU at 100-200 nodes; eigenvector error grows as precision / eigenvalue gap). ``chunk_size`` graphs are
    decomposed per ``eigh`` call (default: as many as fit in :data:`DEFAULT_CHUNK_ELEMENTS`).
    Eigenvector signs, and the basis inside a repeated eigenvalue, are whatever ``eigh`` returns.
    """
    dp = _positive_int(dp, "dp")
    if chunk_size is not None:
        chunk_size = _positive_int(chunk_size, "chunk_size")
    if dtype not in (torch.float32, torch.float64):
        raise ArchrepError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    adj_t = _tensor(adj, "adj")
    mask_t = _tensor(mask, "mask").to(device=adj_t.device, dtype=torch.bool)
    _check_batch(adj_t, mask_t)
    n_graphs, m = mask_t.shape
    device = adj_t.device
    out = torch.zeros(n_graphs, m, dp, dtype=torch.float32, device=device)
    vals = torch.full((n_graphs, dp), float("nan"), dtype=torch.float32, device=device)

    if n_graphs == 0 or m == 0:
        return (out, vals) if return_eigvals else out
    # size = last real node + 1: the smallest square that holds the graph
    pos = torch.arange(1, m + 1, device=device)
    size = torch.where(mask_t, pos, torch.zeros_like(pos)).amax(1)
    order = torch.argsort(size, stable=True)
    sizes = size[order].tolist()
    n_real = mask_t.sum(1)
    start = 0
    while start < n_graphs:
        end = _chunk_end(sizes, start, chunk_size)
        idx, s = order[start:end], sizes[end - 1]
        start = end
        if s == 0:
            continue
        mk = mask_t[idx, :s]
        a = adj_t[idx, :s, :s] != 0
        sym = (a | a.transpose(1, 2)).to(dtype)
        dinv = sym.sum(-1).clamp(min=1).rsqrt()
        lap = -(dinv[:, :, None] * sym * dinv[:, None, :])
        diag = torch.where(mk, 1.0, PAD_EIGENVALUE).to(dtype)
        lap = lap + torch.diag_embed(diag)
        w, v = torch.linalg.eigh(lap)
        k = min(dp, s)
        keep = torch.arange(k, device=device)[None, :] < n_real[idx][:, None]  # (c, k)
        vec = v[:, :, :k] * keep[:, None, :] * mk[:, :, None]
        out[idx, :s, :k] = vec.to(torch.float32)
        vals[idx, :k] = torch.where(keep, w[:, :k], torch.full_like(w[:, :k], float("nan"))).to(torch.float32)
    return (out, vals) if return_eigvals else out


def random_sign_flip(eigvecs: ArrayLike, generator: torch.Generator | None = None) -> torch.Tensor:
    """``eigvecs`` (N, M, dp) with each graph's each eigenvector multiplied by a random +-1.

    TokenGT's training-time augmentation: an eigenvector's sign is arbitrary, so the model should
    not depend on it. ``generator`` (a CPU ``torch.Generator``) makes the draw reproducible.
    """
    eigvecs = _tensor(eigvecs, "eigvecs")
    if eigvecs.dim() != 3:
        raise ArchrepError(f"eigvecs must have shape (N, M, dp), got {tuple(eigvecs.shape)}")
    n, _, dp = eigvecs.shape
    signs = torch.randint(0, 2, (n, 1, dp), generator=generator).to(eigvecs.device, eigvecs.dtype) * 2 - 1
    return eigvecs * signs


def tart_token_dim(dp: int = 3, op_features: str = "index", num_ops: int | None = None,
                   layout: str = "type_onehot+endpoints") -> int:
    """Token width df + 2 dp + extra (11 for TART's defaults)."""
    return _op_width(op_features, num_ops) + 2 * _positive_int(dp, "dp") + _layout_width(layout)


def tart_token_columns(dp: int = 3, op_features: str = "index", op_vocab=None,
                       layout: str = "type_onehot+endpoints") -> list[str]:
    """Names of the :func:`tart_tokens` columns, in order, for files that store tokens.

    ``op_vocab`` (the op names) is needed for ``op_features="onehot"``. ``eig_a_k`` is P_v[k] for
    a node token and P_u[k] for an edge token u -> v, ``eig_b_k`` is P_v[k] for both.
    """
    if op_features == "onehot":
        if op_vocab is None:
            raise ArchrepError("op_features='onehot' needs op_vocab to name its columns")
        ops = [f"op={name}" for name in op_vocab]
    else:
        _op_width(op_features, None)
        ops = ["op_index"]
    dp = _positive_int(dp, "dp")
    extra = ["is_node", "is_edge", "index_u", "index_v"][:_layout_width(layout)]
    return [*ops, *(f"eig_a_{k}" for k in range(dp)), *(f"eig_b_{k}" for k in range(dp)), *extra]


def _layout_width(layout: str) -> int:
    if layout not in LAYOUTS:
        raise UnknownNameError(f"unknown LAP token layout {layout!r}. Valid layouts: {', '.join(LAYOUTS)}")
    return LAYOUTS[layout]


def _op_width(op_features: str, num_ops: int | None) -> int:
    if op_features not in OP_FEATURES:
        raise UnknownNameError(f"unknown op_features {op_features!r}. Valid: {', '.join(OP_FEATURES)}")
    if op_features == "index":
        return 1
    if num_ops is None:
        raise ArchrepError("op_features='onehot' needs num_ops (e.g. len(dataset.op_vocab))")
    return _positive_int(num_ops, "num_ops")


def tart_tokens(ops: ArrayLike, adj: ArrayLike, dp: int = 3, op_features: str = "index",
                num_ops: int | None = None, layout: str = "type_onehot+endpoints",
                sign_flip: bool = False, generator: torch.Generator | None = None, *,
                eigvecs: torch.Tensor | None = None, index_norm: str | float = "graph",
                chunk_size: int | None = None, dtype: torch.dtype = torch.float32):
    """TART tokens of a padded batch: (tokens (N, T, D) float32, token_mask (N, T) bool).

    ``ops`` (N, M): op index per node, -1 for padding; ``adj`` (N, M, M) as in ArchDataset.
    Graph i's tokens are its n_i node tokens (topological order) followed by its E_i edge tokens
    (edges in (u, v) row-major order), then zero padding up to T = max_i (n_i + E_i);
    ``token_mask`` is True on real tokens. D = :func:`tart_token_dim` (see the module docstring
    for the columns). ``num_ops`` (the vocabulary size, e.g. ``len(dataset.op_vocab)``) is
    required so that features do not depend on which ops a batch happens to hold.

    ``eigvecs``: precomputed :func:`laplacian_eigvecs` output (compute once per dataset, then
    re-tokenise cheaply each epoch with ``sign_flip=True``). ``sign_flip`` applies
    :func:`random_sign_flip` with ``generator``. ``index_norm``: "graph" divides endpoint
    indices by n_i - 1, a number divides them by that number.
    """
    if num_ops is None:
        raise ArchrepError("tart_tokens needs num_ops, the op vocabulary size (e.g. len(dataset.op_vocab))")
    num_ops = _positive_int(num_ops, "num_ops")
    dp = _positive_int(dp, "dp")
    df = _op_width(op_features, num_ops)
    extra = _layout_width(layout)
    if not (index_norm == "graph" or (isinstance(index_norm, (int, float)) and not isinstance(index_norm, bool)
                                      and index_norm > 0)):
        raise ArchrepError(f"index_norm must be 'graph' or a positive number, got {index_norm!r}")

    adj_t = _tensor(adj, "adj")
    device = adj_t.device
    ops_t = _tensor(ops, "ops").to(device=device, dtype=torch.long)
    if ops_t.dim() != 2 or tuple(ops_t.shape) != tuple(adj_t.shape[:2]):
        raise ArchrepError(f"ops must have shape (N, M) = {tuple(adj_t.shape[:2])} to match adj, "
                           f"got {tuple(ops_t.shape)}")
    if ops_t.numel() and (int(ops_t.min()) < -1 or int(ops_t.max()) >= num_ops):
        raise ArchrepError(f"ops must hold op indices in [0, {num_ops}) or -1 for padding; found "
                           f"values in [{int(ops_t.min())}, {int(ops_t.max())}] (is num_ops right?)")
    mask = ops_t >= 0
    n_graphs, m = mask.shape
    if eigvecs is None:
        eigvecs = laplacian_eigvecs(adj_t, mask, dp, chunk_size=chunk_size, dtype=dtype)
    else:
        _check_batch(adj_t, mask)
        if tuple(eigvecs.shape) != (n_graphs, m, dp):
            raise ArchrepError(f"eigvecs must have shape (N, M, dp) = {(n_graphs, m, dp)}, got "
                               f"{tuple(eigvecs.shape)}; compute them with laplacian_eigvecs(adj, ops >= 0, dp)")
        eigvecs = eigvecs.to(device=device, dtype=torch.float32)
    if sign_flip:
        eigvecs = random_sign_flip(eigvecs, generator)

    n_nodes = mask.sum(1)                                   # (N,)
    node_rank = mask.long().cumsum(1) - 1                   # topological index among real nodes
    edges = torch.nonzero(adj_t != 0)                       # (K, 3) rows (graph, u, v), row-major
    n_edges = torch.bincount(edges[:, 0], minlength=n_graphs) if len(edges) else torch.zeros(
        n_graphs, dtype=torch.long, device=device)
    t = int((n_nodes + n_edges).max()) if n_graphs else 0
    width = df + 2 * dp + extra
    tokens = torch.zeros(n_graphs, t, width, dtype=torch.float32, device=device)
    token_mask = torch.zeros(n_graphs, t, dtype=torch.bool, device=device)
    norm = (n_nodes - 1).clamp(min=1).float() if index_norm == "graph" else torch.full(
        (n_graphs,), float(index_norm), device=device)

    # node tokens [x_v, P_v, P_v, extra]
    nb, nv = torch.nonzero(mask, as_tuple=True)
    npos = node_rank[nb, nv]
    op = ops_t[nb, nv]
    if op_features == "index":
        tokens[nb, npos, 0] = (op + 1).float() / num_ops
    else:
        tokens[nb, npos, op] = 1.0
    tokens[nb, npos, df:df + dp] = eigvecs[nb, nv]
    tokens[nb, npos, df + dp:df + 2 * dp] = eigvecs[nb, nv]
    token_mask[nb, npos] = True

    # edge tokens [0, P_u, P_v, extra], placed after the graph's nodes
    eb, eu, ev = edges.unbind(1)
    first_edge = torch.cumsum(n_edges, 0) - n_edges        # row of each graph's first edge in `edges`
    epos = n_nodes[eb] + torch.arange(len(edges), device=device) - first_edge[eb]
    tokens[eb, epos, df:df + dp] = eigvecs[eb, eu]
    tokens[eb, epos, df + dp:df + 2 * dp] = eigvecs[eb, ev]
    token_mask[eb, epos] = True

    if extra:
        c = df + 2 * dp
        tokens[nb, npos, c] = 1.0
        tokens[eb, epos, c + 1] = 1.0
        if layout == "type_onehot+endpoints":
            vi = node_rank[nb, nv].float() / norm[nb]
            tokens[nb, npos, c + 2] = vi
            tokens[nb, npos, c + 3] = vi
            tokens[eb, epos, c + 2] = node_rank[eb, eu].float() / norm[eb]
            tokens[eb, epos, c + 3] = node_rank[eb, ev].float() / norm[eb]
    return tokens, token_mask


__all__ = ["PAD_EIGENVALUE", "LAYOUTS", "OP_FEATURES", "laplacian_eigvecs", "random_sign_flip",
           "tart_token_columns", "tart_token_dim", "tart_tokens"]
