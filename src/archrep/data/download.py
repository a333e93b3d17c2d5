"""Download raw benchmark files for users with a network: stream, check the hash, rename.

:func:`fetch` writes to a temporary file beside ``dest`` and renames it only once the whole
file is there and its SHA-256 matches, so an interrupted or corrupted download never leaves a
file that looks complete. Any ``urllib`` URL works (``https://``, ``http://``, ``file://``).

:data:`KNOWN_FILES` lists where the official files are published, and where in the data folder
(``ARCHREP_DATA_DIR``) the loaders expect them. These addresses are the ones the projects
document; they were not reachable from where this code was written, so they are not verified
here and carry no hashes (pass ``sha256=`` when you know it).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from archrep import config
from archrep.errors import DataError, UnknownNameError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class KnownFile:
    """An official file: its published URL and its place in the data folder."""

    url: str
    path: str
    description: str
    sha256: str | None = None


KNOWN_FILES: dict[str, KnownFile] = {
    "nas-bench-macro": KnownFile(
        "https://raw.githubusercontent.com/xiusu/NAS-Bench-Macro/master/data/nas-bench-macro_cifar10.json",
        "nas_bench_macro/nas-bench-macro_cifar10.json",
        "NAS-Bench-Macro CIFAR-10 results (xiusu/NAS-Bench-Macro: data/nas-bench-macro_cifar10.json)"),
    "nb201-official-csv": KnownFile(
        "https://raw.githubusercontent.com/v-tao/nats-bench-landscape/main/nats_bench.csv",
        "nb201/nats_bench_test_acc.csv",
        "NAS-Bench-201 test accuracies at 200 epochs, 3 datasets (v-tao/nats-bench-landscape: nats_bench.csv)"),
    "nasbench101-only108": KnownFile(
        "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord",
        "nb101/nasbench_only108.tfrecord",
        "NAS-Bench-101 results at 108 epochs (google-research/nasbench README), ~500 MB"),
    "hw-nas-bench": KnownFile(
        "https://raw.githubusercontent.com/GATECH-EIC/HW-NAS-Bench/main/HW-NAS-Bench-v1_0.pickle",
        "hw_nas_bench/HW-NAS-Bench-v1_0.pickle",
        "HW-NAS-Bench latency/energy of NB201 and FBNet archs (GATECH-EIC/HW-NAS-Bench)"),
}


def _manual_hint(url: str, dest: Path) -> str:
    return (f"download it by hand (a browser, or: curl -L -o '{dest}' '{url}') and place it at "
            f"{dest}")


def fetch(url: str, dest: str | os.PathLike, sha256: str | None = None, *, timeout: float = 60.0,
          progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` atomically and return ``dest``.

    The data is streamed to a temporary file in ``dest``'s folder and hashed on the way;
    when ``sha256`` is given and does not match, the temporary file is deleted and a
    DataError names both hashes. Network and file errors raise DataError naming the URL and
    how to get the file by hand.
    """
    dest = Path(dest).expanduser()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as exc:
        raise DataError(f"cannot write into {dest.parent} to download {url}: {exc.strerror}") from None
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                total = resp.headers.get("Content-Length")
                from tqdm import tqdm

                with tqdm(total=int(total) if total else None, unit="B", unit_scale=True,
                          desc=dest.name, disable=not progress) as bar:
                    for block in iter(lambda: resp.read(_CHUNK), b""):
                        out.write(block)
                        digest.update(block)
                        bar.update(len(block))
                out.flush()
                os.fsync(out.fileno())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
            raise DataError(f"could not download {url}: {reason}. Check the address and your network, "
                            f"or {_manual_hint(url, dest)}") from None
        actual = digest.hexdigest()
        if sha256 is not None and actual.lower() != sha256.lower():
            raise DataError(f"download of {url} is corrupt or changed: SHA-256 {actual}, expected "
                            f"{sha256}. Retry, or {_manual_hint(url, dest)} and check its hash")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def fetch_known(name: str, data_dir: str | os.PathLike | None = None, *, progress: bool = True) -> Path:
    """Download the official file ``name`` of :data:`KNOWN_FILES` into the data folder.

    The data folder is ``data_dir`` or ``ARCHREP_DATA_DIR``; without either a DataError says
    which to set.
    """
    if name not in KNOWN_FILES:
        raise UnknownNameError(f"unknown benchmark file {name!r}. Known files: {', '.join(sorted(KNOWN_FILES))}")
    known = KNOWN_FILES[name]
    folder = config.data_dir(data_dir)
    if folder is None:
        raise DataError(f"no data folder to download {name!r} into: set ARCHREP_DATA_DIR=/path/to/data "
                        f"or pass data_dir=...; the file goes to <data folder>/{known.path}")
    return fetch(known.url, folder / known.path, known.sha256, progress=progress)


__all__ = ["KnownFile", "KNOWN_FILES", "fetch", "fetch_known"]
