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


def write_arrays(path: Path, arrays: dict[str, np.ndarray], manifest: dict, compressed: bool = False) -> None:
    """Write ``arrays`` as ``path`` (.npz) and ``manifest`` plus the NPZ's SHA-256 as
    ``path.with_suffix('.json')``, both atomically (the manifest last, so it never vouches for
    a file that is not there)."""
    import io

    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    data = buf.getvalue()
    atomic_write_bytes(path, data)
    full = {**manifest, "sha256": hashlib.sha256(data).hexdigest()}
    atomic_write_bytes(path.with_suffix(".json"), json.dumps(full, indent=1).encode())


def read_arrays(path: Path) -> tuple[dict[str, np.ndarray], dict] | None:
    """The arrays and manifest :func:`write_arrays` wrote, or None when either file is absent,
    unreadable, or the NPZ no longer matches the SHA-256 in its manifest."""
    import io

    try:
        manifest = json.loads(path.with_suffix(".json").read_text())
        data = path.read_bytes()
        if not isinstance(manifest, dict) or hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
            return None
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}, manifest
    except (OSError, ValueError, json.JSONDecodeError):
        return None


def save(ds: ArchDataset, path: Path) -> None:
    """Save ``ds`` as ``path`` (.npz) and ``path.with_suffix('.json')`` (manifest)."""
    arrays = {"keys": ds.keys, "ops": ds.ops, "adj": ds.adj}
    for i, t in enumerate(ds.target_names):
        arrays[f"target_{i}"] = ds.targets[t]
    write_arrays(path, arrays, {
        "format": CACHE_FORMAT, "name": ds.name, "op_vocab": list(ds.op_vocab), "targets": ds.target_names,
        "target_info": ds.target_info, "space": ds.space, "default_target": ds.default_target, "meta": ds.meta,
    })


def load(path: Path) -> ArchDataset | None:
    """The cached dataset at ``path``, or None when it is absent, corrupt or of another format."""
    found = read_arrays(path)
    if found is None:
        return None
    z, manifest = found
    if manifest.get("format") != CACHE_FORMAT:
        return None
    try:
        targets = {t: z[f"target_{i}"] for i, t in enumerate(manifest["targets"])}
        return ArchDataset(manifest["name"], z["keys"], tuple(manifest["op_vocab"]), z["ops"],
                           z["adj"], targets, manifest["target_info"], manifest["space"],
                           manifest["default_target"], manifest["meta"])
    except (ValueError, KeyError, TypeError):
        return None
