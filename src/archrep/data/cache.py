"""The processed-dataset cache: one NPZ per dataset plus a JSON manifest with its SHA-256.

A dataset is built once from its raw files and saved under ``ARCHREP_HOME/datasets``; the name of
the cache file carries the loader's version and a fingerprint of the raw inputs, so a new loader
or a changed raw file builds anew. A cache file whose hash no longer matches its manifest is
treated as corrupt and rebuilt. Files are written to a temporary name and renamed, so an
interrupted build never leaves a half-written cache behind.

Format 2 stores a 0/1 adjacency bit-packed along its last axis (8x smaller: the zoo's 2,000 graphs
of up to 600 nodes take 90 MB instead of 720 MB) and the optional per-node features; a cache of
another format is rebuilt, never read.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError

CACHE_FORMAT = 2


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
    arrays = {"keys": ds.keys, "ops": ds.ops}
    packed = ds.adj.size > 0 and int(ds.adj.min()) >= 0 and int(ds.adj.max()) <= 1
    arrays["adj_bits" if packed else "adj"] = np.packbits(ds.adj != 0, axis=-1) if packed else ds.adj
    for i, t in enumerate(ds.target_names):
        arrays[f"target_{i}"] = ds.targets[t]
    if ds.node_features is not None:
        arrays["node_features"] = ds.node_features
    write_arrays(path, arrays, {
        "format": CACHE_FORMAT, "name": ds.name, "op_vocab": list(ds.op_vocab), "targets": ds.target_names,
        "target_info": ds.target_info, "space": ds.space, "default_target": ds.default_target, "meta": ds.meta,
        "adj_dtype": ds.adj.dtype.str, "node_feature_names": list(ds.node_feature_names),
    })


def _adjacency(z: dict[str, np.ndarray], manifest: dict) -> np.ndarray:
    """The adjacency as it was saved: unpacked from ``adj_bits`` to (N, M, M) of its own dtype."""
    if "adj" in z:
        return z["adj"]
    m = z["ops"].shape[1]
    return np.unpackbits(z["adj_bits"], axis=-1, count=m).astype(np.dtype(manifest["adj_dtype"]), copy=False)


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
        names = tuple(manifest["node_feature_names"])
        return ArchDataset(manifest["name"], z["keys"], tuple(manifest["op_vocab"]), z["ops"],
                           _adjacency(z, manifest), targets, manifest["target_info"], manifest["space"],
                           manifest["default_target"], manifest["meta"], z["node_features"] if names else None, names)
    except (ValueError, KeyError, TypeError, ArchrepError):
        return None
