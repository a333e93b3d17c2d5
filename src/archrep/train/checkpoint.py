"""Epoch checkpoints of a training loop, so that a run killed halfway resumes where it stopped.

A checkpoint is one file written atomically (temporary file, then rename) after every epoch. It
holds what the loop needs to continue exactly as if it had not stopped (state dicts of the model,
optimiser and scheduler, the random generators' states, the epochs done, the history) and a
fingerprint of the run: its config, epoch count and a digest of its data. It is read back with
``weights_only=True`` (tensors, numbers, strings and containers only: no pickled code runs), and a
checkpoint whose fingerprint differs from the run's is refused, since it belongs to another run.
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archrep.data.cache import atomic_write_bytes
from archrep.errors import ArchrepError

FORMAT = 1


def array_digest(*arrays: np.ndarray) -> str:
    """sha256 (first 16 hex digits) of the arrays' shapes, dtypes and bytes."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


class EpochCheckpoint:
    """The checkpoint file ``path`` of the run described by ``fingerprint`` (a JSON-serialisable
    dict). :meth:`load` gives the saved state (None when there is none), :meth:`save` replaces it,
    :meth:`clear` removes it once the run is complete."""

    def __init__(self, path: str | Path, fingerprint: dict[str, Any]):
        self.path = Path(path)
        self.fingerprint = json.dumps(fingerprint, sort_keys=True, default=str)

    def load(self) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        try:
            saved = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file: say which and how to go on
            raise ArchrepError(f"cannot read the training checkpoint {self.path}: {exc}; delete it to train "
                               f"from the start") from None
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise ArchrepError(f"{self.path} is not a format-{FORMAT} training checkpoint; delete it to train "
                               f"from the start")
        if saved.get("fingerprint") != self.fingerprint:
            raise ArchrepError(f"the training checkpoint {self.path} belongs to another run (other config, data "
                               f"or epoch count); delete it, or give this run another checkpoint path")
        return saved["state"]

    def save(self, state: dict[str, Any]) -> None:
        buf = io.BytesIO()
        torch.save({"format": FORMAT, "fingerprint": self.fingerprint, "state": _plain(state)}, buf)
        atomic_write_bytes(self.path, buf.getvalue())

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def _plain(obj: Any) -> Any:
    """``obj`` with numpy scalars made Python numbers (a learning rate computed with numpy, say),
    which a ``weights_only`` load would refuse."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v) for v in obj)
    return obj.item() if isinstance(obj, np.generic) else obj


__all__ = ["EpochCheckpoint", "array_digest"]
