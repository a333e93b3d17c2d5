"""The processed-dataset cache: one NPZ per dataset plus a JSON manifest with its SHA-256.

A dataset is built once from its raw files and saved under ``ARCHREP_HOME/datasets``; the name of
the cache file carries the loader's version and a fingerprint of the raw inputs, so a new loader
or a changed raw file builds anew. A cache file whose hash no longer matches its manifest is
treated as corrupt and rebuilt. Files are written to a temporary name and renamed, so an
interrupted build never leaves a half-written cache behind.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from archrep.data.dataset import ArchDataset

CACHE_FORMAT = 1


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(ds: ArchDataset, path: Path) -> None:
    """Save ``ds`` as ``path`` (.npz) and ``path.with_suffix('.json')`` (manifest)."""
    import io

    arrays = {"keys": ds.keys, "ops": ds.ops, "adj": ds.adj}
    for i, t in enumerate(ds.target_names):
        arrays[f"target_{i}"] = ds.targets[t]
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    data = buf.getvalue()
    manifest = {
        "format": CACHE_FORMAT, "name": ds.name, "sha256": hashlib.sha256(data).hexdigest(),
        "op_vocab": list(ds.op_vocab), "targets": ds.target_names, "target_info": ds.target_info,
        "space": ds.space, "default_target": ds.default_target, "meta": ds.meta,
    }
    atomic_write_bytes(path, data)
    atomic_write_bytes(path.with_suffix(".json"), json.dumps(manifest, indent=1).encode())


def load(path: Path) -> ArchDataset | None:
    """The cached dataset at ``path``, or None when it is absent, corrupt or of another format."""
    mpath = path.with_suffix(".json")
    if not path.exists() or not mpath.exists():
        return None
    try:
        manifest = json.loads(mpath.read_text())
        if manifest.get("format") != CACHE_FORMAT:
            return None
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != manifest["sha256"]:
            return None
        import io

        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            targets = {t: z[f"target_{i}"] for i, t in enumerate(manifest["targets"])}
            return ArchDataset(manifest["name"], z["keys"], tuple(manifest["op_vocab"]), z["ops"],
                               z["adj"], targets, manifest["target_info"], manifest["space"],
                               manifest["default_target"], manifest["meta"])
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        return None
