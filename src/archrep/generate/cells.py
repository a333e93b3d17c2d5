"""Decoded cells -> canonical keys of their space, or None when a cell is not valid there.

Generators (the VQ-VAE's decoder, the continuous VAE's sampler) write cells as padded arrays: op
indices into the space's op vocabulary with -1 for "no node", and a 0/1 adjacency. The
generation metrics (:func:`archrep.train.metrics.generation_metrics`) need one key per sample,
None for an invalid one; equal keys are isomorphic cells, so uniqueness and novelty count
architectures, not spellings. Validity:

* **nb101** (the official ``ModelSpec`` rules, as arch2vec checks them): the real nodes are a
  prefix of the slots (no node after a "no node"), no edge touches a missing node, the first op
  is the input and the last real one the output, the others are NB101 ops, and after pruning the
  vertices on no input -> output path the cell has at most 7 vertices and 9 edges. The key is the
  canonical (pruned, isomorphism-reduced) spec.
* **nb201**: 8 nodes, input first, output last, the six others NB201 ops, and exactly NB201's
  fixed node adjacency. (arch2vec's NB201 check ignores the adjacency; ours is stricter, and
  applies to every method measured alike.)
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from archrep.errors import ArchrepError

SPACES = ("nb101", "nb201")


def _real_nodes(ops_row: np.ndarray, adj_row: np.ndarray) -> int | None:
    """The number of real nodes when they are a prefix and no edge touches a missing one."""
    real = ops_row >= 0
    n = int(real.sum())
    if not real[:n].all():
        return None
    if adj_row[n:].any() or adj_row[:, n:].any():
        return None
    return n


def nb101_key(ops_row: np.ndarray, adj_row: np.ndarray, op_vocab: Sequence[str]) -> str | None:
    from archrep.spaces.nb101 import NB101Space, validity_error

    n = _real_nodes(ops_row, adj_row)
    if n is None or n < 2:
        return None
    spec = (np.triu(adj_row[:n, :n], 1).astype(int), [op_vocab[i] for i in ops_row[:n]])
    if np.tril(adj_row[:n, :n]).any() or validity_error(spec) is not None:
        return None
    return NB101Space().key(spec)


def nb201_key(ops_row: np.ndarray, adj_row: np.ndarray, op_vocab: Sequence[str]) -> str | None:
    from archrep.spaces.nb201 import NODE_EDGES, OPS, NB201Space

    if len(ops_row) != 8 or (ops_row < 0).any():
        return None
    names = [op_vocab[i] for i in ops_row]
    if names[0] != "input" or names[-1] != "output" or any(o not in OPS for o in names[1:-1]):
        return None
    expected = np.zeros((8, 8), dtype=bool)
    for u, v in NODE_EDGES:
        expected[u, v] = True
    if not np.array_equal(adj_row != 0, expected):
        return None
    return NB201Space().key(tuple(names[1:-1]))


_KEYS = {"nb101": nb101_key, "nb201": nb201_key}


def cell_keys(space: str, ops: np.ndarray, adj: np.ndarray, op_vocab: Sequence[str]) -> list[str | None]:
    """One canonical key per decoded cell (ops (N, M) with -1 pads, adj (N, M, M)), None if invalid."""
    if space not in _KEYS:
        raise ArchrepError(f"cell validity is defined for the spaces {', '.join(SPACES)}, not {space!r}")
    ops, adj = np.asarray(ops), np.asarray(adj)
    if ops.ndim != 2 or adj.shape != (*ops.shape, ops.shape[1]):
        raise ArchrepError(f"cell_keys: ops must be (N, M) and adj (N, M, M); got {ops.shape} and {adj.shape}")
    if ops.size and ops.max() >= len(op_vocab):
        raise ArchrepError(f"cell_keys: op index {int(ops.max())} is outside the vocabulary of {len(op_vocab)} ops")
    fn = _KEYS[space]
    return [fn(o, a, op_vocab) for o, a in zip(ops, adj)]


def cell_arrays(space: str, keys: Sequence[str], op_vocab: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`cell_keys`: padded (ops, adj) of canonical cells in the layout of
    :func:`archrep.spaces.enumeration.enumerate_cells` (NB101: the canonical spec, padded to 7
    slots; NB201: the 8-node ``keep_none`` graph)."""
    from archrep import spaces

    if space not in _KEYS:
        raise ArchrepError(f"cell arrays are defined for the spaces {', '.join(SPACES)}, not {space!r}")
    sp = spaces.get(space)
    index = {op: i for i, op in enumerate(op_vocab)}
    m = 7 if space == "nb101" else 8
    ops = np.full((len(keys), m), -1, dtype=np.int64)
    adj = np.zeros((len(keys), m, m), dtype=np.uint8)
    for r, key in enumerate(keys):
        arch = sp.parse(key)
        if space == "nb101":
            spec = sp.canonical(arch)
            mat, names = np.array(spec.matrix), spec.ops
        else:
            g = sp.to_graph(arch)
            mat, names = g.adjacency(), g.ops
        n = len(names)
        ops[r, :n] = [index[o] for o in names]
        adj[r, :n, :n] = mat
    return ops, adj


__all__ = ["SPACES", "cell_keys", "cell_arrays", "nb101_key", "nb201_key"]
