"""FGP's flow surrogate: random vectors pushed forward, then backward, through each DAG.

FGP (arXiv 2510.18360; research/methods.md §5) pre-trains an encoder to reconstruct, for every
architecture, a k-dim *flow surrogate*. One draw of fixed random weights is shared by every
architecture of a space (:meth:`FlowConfig.params`)::

    rng = numpy.random.RandomState(seed)      # the legacy stream of numpy.random.seed(seed)
    r = rng.rand(k); rng.rand(k)              # the second vector is unused; kept for the stream
    P = rng.normal(0, sigma, (n_ops, k))      # op embedding o_v = x_v P (x_v the op one-hot)
    W = rng.normal(0, sigma, (2k, k))

and the surrogate of one architecture is computed as follows (α = 0.5)::

    h_v = r for every input node, 0 otherwise
    f(o, m) = α m + (1 - α) ReLU([o ‖ m] W)
    forward,  in topological order:          h_v = f(o_v, Σ_{u -> v} h_u)  for v with a predecessor
    backward, in reverse topological order:  h_u = f(o_u, Σ_{u -> w} h_w)  for u with a successor
    s = Σ over input nodes of h               (NB301's two cell inputs are summed)

Sinks keep their forward value; sources other than the input keep 0 in the forward pass.

The authors' code runs the passes by topological generations (FlowerFormer's edge masks): in the
backward pass, at generation g = G..1, every node with a successor in generation g is recomputed
from the current states of *all* its successors, so a node can be recomputed several times and
the last update wins. Because f never reads the node's own previous state, that last update (at
the generation of its nearest successor) already sees every successor in its final state, so the
result is exactly one reverse-topological sweep, which is what :func:`flow_surrogates` runs. The
tests check this against the generation-by-generation procedure written out by hand.

Vectorisation: a padded batch (``ArchDataset.ops`` / ``.adj``, nodes in topological order, i.e.
``adj`` strictly upper-triangular) is swept once per node position, each step one batched
product over all architectures; padded nodes have no edges and contribute nothing.

Choices where methods.md is silent (all parameters of :class:`FlowConfig`):

* (k, σ) for spaces FGP did not use (NAS-Bench-Graph, NAS-Bench-Macro, ...): NB201's (7, 0.1),
  the published space closest in cell size (:data:`DEFAULT_K`, :data:`DEFAULT_SIGMA`).
* the row order of P (which op gets which row of the draw): for NB101 and NB201 the op ids of
  methods.md §0 (the arch2vec / NN-Former conversions FGP's data files descend from; for NB201
  this differs from archrep's vocabulary order); elsewhere the dataset's own ``op_vocab`` order.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from archrep import config as archrep_config
from archrep.data.cache import read_arrays, write_arrays
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError, GraphError
from archrep.graph import ArchGraph

#: bumped whenever the surrogate a configuration produces changes (part of the cache key)
FLOW_VERSION = 1
#: (k, σ) for a space methods.md gives no values for: NB201's
DEFAULT_K, DEFAULT_SIGMA = 7, 0.1
#: float64 entries of node state (graphs x nodes x k) swept per chunk: bounds memory, not speed
DEFAULT_CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class FlowConfig:
    """What determines a space's flow surrogate: its size ``k``, the std ``sigma`` of P and W,
    the ``seed`` of the shared draw, the mixing ``alpha``, the op whose nodes start at r
    (``input_op``), and ``op_order``, the op name of each row of P (None: the dataset's
    ``op_vocab`` order). Get the per-space values with :func:`flow_config`."""

    k: int
    sigma: float
    seed: int = 0
    alpha: float = 0.5
    op_order: tuple[str, ...] | None = None
    input_op: str = "input"

    def __post_init__(self):
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ArchrepError(f"FlowConfig.k must be a positive integer, got {self.k!r}")
        if not (isinstance(self.sigma, (int, float)) and np.isfinite(self.sigma) and self.sigma > 0):
            raise ArchrepError(f"FlowConfig.sigma must be a positive number, got {self.sigma!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or not 0 <= self.seed < 2**32:
            raise ArchrepError(f"FlowConfig.seed must be an integer in [0, 2**32), got {self.seed!r}")
        _check_alpha(self.alpha)
        for name, cast in (("k", int), ("sigma", float), ("seed", int), ("alpha", float)):
            object.__setattr__(self, name, cast(getattr(self, name)))
        if self.op_order is not None:
            object.__setattr__(self, "op_order", tuple(str(o) for o in self.op_order))
            if len(set(self.op_order)) != len(self.op_order):
                raise ArchrepError(f"FlowConfig.op_order names an op twice: {self.op_order}")

    def to_dict(self) -> dict:
        """JSON-friendly fields (the cache key of :func:`surrogates_for`)."""
        d = dataclasses.asdict(self)
        d["op_order"] = list(self.op_order) if self.op_order is not None else None
        return d

    def params(self, op_vocab: Sequence[str]) -> "FlowParams":
        """The shared seeded draw (module docstring), with P's rows arranged for ``op_vocab``
        (row i embeds op index i), ready for :func:`flow_surrogates`."""
        op_vocab = tuple(op_vocab)
        order = self.op_order if self.op_order is not None else op_vocab
        missing = [op for op in op_vocab if op not in order]
        if missing:
            raise ArchrepError(f"ops {missing} of the vocabulary {op_vocab} have no row in the flow "
                               f"configuration's op_order {order}; add them to op_order (or pass "
                               "op_order=None to use the vocabulary's order)")
        if self.input_op not in op_vocab:
            raise ArchrepError(f"the flow input op {self.input_op!r} is not in the vocabulary {op_vocab}; "
                               "set FlowConfig.input_op to the op of the graphs' input nodes")
        rng = np.random.RandomState(self.seed)
        r = rng.rand(self.k)
        rng.rand(self.k)
        p = rng.normal(0.0, self.sigma, (len(order), self.k))
        w = rng.normal(0.0, self.sigma, (2 * self.k, self.k))
        rows = [order.index(op) for op in op_vocab]
        return FlowParams(r=r, P=p[rows], W=w, alpha=self.alpha, input_op=op_vocab.index(self.input_op))


@dataclass(frozen=True)
class FlowParams:
    """The arrays one surrogate computation uses: ``r`` (k,), ``P`` (V, k) with row i the
    embedding of op index i, ``W`` (2k, k) acting on ``[o ‖ m]``, ``alpha``, and ``input_op``,
    the op index whose nodes start at r. Drawn by :meth:`FlowConfig.params`, or given by hand."""

    r: np.ndarray
    P: np.ndarray
    W: np.ndarray
    alpha: float = 0.5
    input_op: int = 0

    def __post_init__(self):
        r, p, w = (np.asarray(x, dtype=np.float64) for x in (self.r, self.P, self.W))
        if r.ndim != 1 or r.size == 0:
            raise ArchrepError(f"FlowParams.r must be a (k,) vector, got shape {r.shape}")
        k = r.size
        if p.ndim != 2 or p.shape[1] != k or p.shape[0] == 0:
            raise ArchrepError(f"FlowParams.P must be (num_ops, k={k}), got shape {p.shape}")
        if w.shape != (2 * k, k):
            raise ArchrepError(f"FlowParams.W must be (2k, k) = {(2 * k, k)}, got shape {w.shape}")
        _check_alpha(self.alpha)
        if isinstance(self.input_op, bool) or not isinstance(self.input_op, (int, np.integer)) \
                or not 0 <= self.input_op < p.shape[0]:
            raise ArchrepError(f"FlowParams.input_op must be an op index in [0, {p.shape[0]}), got {self.input_op!r}")
        for name, value in (("r", r), ("P", p), ("W", w)):
            object.__setattr__(self, name, value)

    @property
    def k(self) -> int:
        return self.r.size


def _check_alpha(alpha) -> None:
    if not (isinstance(alpha, (int, float)) and 0.0 <= alpha <= 1.0):
        raise ArchrepError(f"alpha must be a number in [0, 1], got {alpha!r}")


#: methods.md §5 values per search space (``ArchDataset.space`` names); P's row order from §0
SPACE_CONFIGS: dict[str, FlowConfig] = {
    "nb101": FlowConfig(k=4, sigma=1.0, op_order=("input", "conv1x1-bn-relu", "conv3x3-bn-relu",
                                                  "maxpool3x3", "output")),
    "nb201": FlowConfig(k=7, sigma=0.1, op_order=("input", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3",
                                                  "skip_connect", "none", "output")),
    "darts": FlowConfig(k=12, sigma=0.1),
}


def flow_config(space: str | None = None, **overrides) -> FlowConfig:
    """The flow configuration of ``space`` (methods.md §5 for nb101, nb201, darts; the documented
    default (k, σ) = (:data:`DEFAULT_K`, :data:`DEFAULT_SIGMA`) for any other space or None),
    with ``overrides`` (``k=``, ``sigma=``, ``seed=``, ...) applied."""
    base = SPACE_CONFIGS.get(space or "", FlowConfig(k=DEFAULT_K, sigma=DEFAULT_SIGMA))
    fields = {f.name for f in dataclasses.fields(FlowConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ArchrepError(f"unknown flow configuration field(s) {unknown}; valid: {', '.join(sorted(fields))}")
    return dataclasses.replace(base, **overrides)


# ---------------------------------------------------------------------------------- computation
def _check_batch(ops: np.ndarray, adj: np.ndarray, params: FlowParams) -> None:
    """Shapes agree, op indices fit P, edges only between real nodes and in topological order,
    and every graph has an input node. Errors name the first bad graph."""
    if ops.ndim != 2 or not np.issubdtype(ops.dtype, np.integer):
        raise ArchrepError(f"ops must be a padded (N, M) integer array of op indices (-1 = padding), "
                           f"got {ops.dtype} array of shape {ops.shape}")
    if adj.shape != (*ops.shape, ops.shape[1]):
        raise ArchrepError(f"adj must have shape (N, M, M) = {(*ops.shape, ops.shape[1])} to match ops, "
                           f"got {adj.shape}")
    n_ops = params.P.shape[0]
    if ops.size and (ops.min() < -1 or ops.max() >= n_ops):
        raise ArchrepError(f"ops must hold op indices in [0, {n_ops}) or -1 for padding, found values in "
                           f"[{ops.min()}, {ops.max()}]; P has one row per op of the vocabulary")
    edge = adj != 0
    real = ops >= 0
    bad = (edge & ~(real[:, :, None] & real[:, None, :])).any((1, 2))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GraphError(f"adj[{i}] has an edge at a padded node (ops = -1); padded rows and columns "
                         "of adj must be 0")
    bad = (edge & np.tril(np.ones(edge.shape[1:], dtype=bool))).any((1, 2))  # an edge u -> v, u >= v
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        us, vs = np.nonzero(edge[i])
        try:
            ArchGraph([str(o) for o in ops[i]], zip(us.tolist(), vs.tolist()), validate=False)
        except GraphError as exc:
            raise GraphError(f"adj[{i}]: {exc}") from None
        raise GraphError(f"adj[{i}] is not in topological order (it has an edge u -> v with u >= v); "
                         "flow surrogates need nodes in topological order (strictly upper-triangular "
                         "adj), as ArchDataset and ArchGraph.adjacency() give them")
    no_input = ~(ops == params.input_op).any(1)
    if no_input.any():
        i = int(np.flatnonzero(no_input)[0])
        raise GraphError(f"graph {i} has no input node (op index {params.input_op}); the flow starts at "
                         "the input nodes, so every graph needs one")


def _sweep(ops: np.ndarray, edge: np.ndarray, params: FlowParams) -> np.ndarray:
    """Surrogates (n, k) of one chunk: the forward then the backward sweep over node positions."""
    n, m = ops.shape
    k, a = params.k, params.alpha
    w_o, w_m = params.W[:k], params.W[k:]
    # [o ‖ m] W = o W_o + m W_m, and o W_o is per op: one (V, k) table, zero for padding
    ow = np.where((ops >= 0)[..., None], (params.P @ w_o)[np.maximum(ops, 0)], 0.0)   # (n, m, k)
    is_input = ops == params.input_op
    h = np.where(is_input[..., None], params.r, 0.0)                                # (n, m, k)

    def update(v: int, msg: np.ndarray, active: np.ndarray) -> None:
        new = a * msg + (1.0 - a) * np.maximum(ow[:, v] + msg @ w_m, 0.0)
        h[:, v] = np.where(active[:, None], new, h[:, v])

    has_pred, has_succ = edge.any(1), edge.any(2)
    for v in range(1, m):                      # strictly upper-triangular: predecessors are < v
        if has_pred[:, v].any():
            update(v, np.einsum("nu,nuk->nk", edge[:, :v, v].astype(np.float64), h[:, :v]), has_pred[:, v])
    for u in range(m - 2, -1, -1):             # successors are > u
        if has_succ[:, u].any():
            update(u, np.einsum("nw,nwk->nk", edge[:, u, u + 1:].astype(np.float64), h[:, u + 1:]), has_succ[:, u])
    return np.einsum("nm,nmk->nk", is_input.astype(np.float64), h)


def flow_surrogates(ops, adj, params: FlowParams, *, chunk_size: int | None = None) -> np.ndarray:
    """Flow surrogates (N, k) float64 of a padded batch, all architectures at once.

    ``ops`` (N, M): op index per node, -1 for padding; ``adj`` (N, M, M): nonzero at [i, u, v]
    for an edge u -> v, nodes in topological order (strictly upper-triangular), graphs of any
    sizes (as ``ArchDataset`` stores them). ``params``: ``flow_config(space).params(op_vocab)``.
    ``chunk_size`` graphs are swept together (default: as many as keep the node states within
    :data:`DEFAULT_CHUNK_ELEMENTS`); it bounds memory and does not change the result.
    """
    if not isinstance(params, FlowParams):
        raise ArchrepError(f"params must be FlowParams (e.g. flow_config(space).params(op_vocab)), "
                           f"got {type(params).__name__}")
    ops, adj = np.asarray(ops), np.asarray(adj)
    _check_batch(ops, adj, params)
    n, m = ops.shape
    if chunk_size is None:
        chunk_size = max(1, DEFAULT_CHUNK_ELEMENTS // max(1, m * params.k))
    elif isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ArchrepError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    out = np.empty((n, params.k), dtype=np.float64)
    for start in range(0, n, chunk_size):
        end = min(n, start + chunk_size)
        out[start:end] = _sweep(ops[start:end], adj[start:end] != 0, params)
    return out


# ---------------------------------------------------------------------------------- cache
def _fingerprint(ds: ArchDataset, cfg: FlowConfig) -> str:
    """SHA-256 of what the surrogates depend on: the graphs, the vocabulary, the configuration."""
    return ds.fingerprint({"version": FLOW_VERSION, "config": cfg.to_dict()})


def surrogate_cache_path(ds: ArchDataset, config: FlowConfig | None = None) -> Path:
    """Where :func:`surrogates_for` keeps ``ds``'s surrogates (under ``ARCHREP_HOME/flow``)."""
    cfg = config or flow_config(ds.space)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", ds.name) or "dataset"
    return archrep_config.archrep_home() / "flow" / f"{safe}-{_fingerprint(ds, cfg)[:16]}.npz"


def _load_cached(path: Path, fingerprint: str, shape: tuple[int, int]) -> np.ndarray | None:
    """The cached array, or None when absent, corrupt, or made from other graphs or settings."""
    found = read_arrays(path)
    if found is None or found[1].get("fingerprint") != fingerprint:
        return None
    s = found[0].get("surrogates")
    return s if s is not None and s.shape == shape and s.dtype == np.float64 else None


def surrogates_for(ds: ArchDataset, config: FlowConfig | None = None, *, refresh: bool = False) -> np.ndarray:
    """Flow surrogates (len(ds), k) of every architecture of ``ds``, computed once and cached.

    ``config`` defaults to ``flow_config(ds.space)``. The cache file (NPZ plus a JSON manifest with
    its SHA-256) is keyed by the graphs, the op vocabulary and the configuration, written
    atomically, and rebuilt when missing, corrupt or mismatched, or when ``refresh`` is True.
    """
    cfg = config or flow_config(ds.space)
    if not isinstance(cfg, FlowConfig):
        raise ArchrepError(f"config must be a FlowConfig (see flow_config), got {type(cfg).__name__}")
    fingerprint = _fingerprint(ds, cfg)
    path = surrogate_cache_path(ds, cfg)
    if not refresh:
        cached = _load_cached(path, fingerprint, (len(ds), cfg.k))
        if cached is not None:
            return cached
    s = flow_surrogates(ds.ops, ds.adj, cfg.params(ds.op_vocab))
    write_arrays(path, {"surrogates": s}, {"version": FLOW_VERSION, "dataset": ds.name, "space": ds.space,
                                           "archs": len(ds), "config": cfg.to_dict(), "fingerprint": fingerprint})
    return s


__all__ = ["FLOW_VERSION", "DEFAULT_K", "DEFAULT_SIGMA", "SPACE_CONFIGS", "FlowConfig", "FlowParams",
           "flow_config", "flow_surrogates", "surrogate_cache_path", "surrogates_for"]
