"""One-hot op features and node masks for padded op arrays (``ArchDataset.ops``).

Both functions work on the whole (N, M) array at once: padding (-1) rows become all-zero
one-hot rows and False in the mask, so models need no per-graph loop.
"""
from __future__ import annotations

import numpy as np

from archrep.errors import ArchrepError


def node_mask(ops: np.ndarray) -> np.ndarray:
    """bool (N, M): True for real nodes, False for padding (op index -1)."""
    return np.asarray(ops) >= 0


def onehot_ops(ops: np.ndarray, vocab_size: int) -> np.ndarray:
    """float32 (N, M, V): ``out[i, j, ops[i, j]] = 1``, all zeros where ``ops[i, j] == -1``.

    Op indices must lie in [-1, vocab_size); anything else is an error naming the bad value.
    """
    ops = np.asarray(ops)
    if ops.ndim != 2:
        raise ArchrepError(f"onehot_ops: ops must be a padded (N, M) array of op indices, got shape {ops.shape}")
    if ops.size:
        lo, hi = int(ops.min()), int(ops.max())
        if lo < -1 or hi >= vocab_size:
            bad = lo if lo < -1 else hi
            raise ArchrepError(f"onehot_ops: op index {bad} is outside [-1, {vocab_size}); the ops do not "
                               f"belong to a vocabulary of {vocab_size} ops")
    return (ops[..., None] == np.arange(vocab_size, dtype=ops.dtype)).astype(np.float32)
