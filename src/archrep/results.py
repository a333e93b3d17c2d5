"""The one results-record format of every benchmark (DESIGN.md, "Results records").

A results file ``benchmarks/results/<task>.json`` is a JSON list of flat records, one per
(dataset, target, protocol, size, method, variant) cell. Metric keys are ``<metric>_mean`` and
``<metric>_std`` with the names of :mod:`archrep.train.metrics`; speed keys name their unit.
Each record carries ``archrep_version``, ``git_commit`` and ``machine`` so that a number can be
traced to the code and the hardware that produced it.
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from archrep.data.cache import atomic_write_bytes

#: what makes two records the same cell, so that a new record replaces an old one with equal values
#: (a record lacking a field has it as None); ``lm_train_size``: the cells a generation benchmark's
#: code LM saw when fewer than its ``train_size``; ``model_variant``: the configuration of a
#: pre-training benchmark's encoder (its ``variant`` is the pre-training); ``latency_bin``: the
#: latency error analysis's bins; ``train_per_family``: the latency zoo's cap on training models per
#: family (a leave-family-out record has no ``train_size`` to tell two caps apart); ``pretrain_epochs``:
#: how long a pre-training benchmark's encoder was pre-trained; ``label_passes``: how many
#: measurement passes stand behind a latency label (absent: one); ``train_platforms``: the platforms
#: a latency fit trained on: a cross-machine fit's, or the stacked settings of an in-domain or
#: leave-family-out LeDG-Former fit (absent: the other settings of the tested platform's machine for
#: a zero-shot record; not recorded for LeDG-Former records written before it was)
CELL_FIELDS = ("task", "dataset", "space", "target", "protocol", "train_size", "lm_train_size", "train_per_family",
               "method", "variant", "model_variant", "pretrain_epochs", "temperature", "family", "latency_bin",
               "label_passes", "train_platforms")


def git_commit(cwd: str | os.PathLike | None = None) -> str:
    """Short commit of the working tree (``+dirty`` if it has uncommitted changes), or 'unknown'.
    ``ARCHREP_GIT_COMMIT`` names it where the tree is a copy without its ``.git`` (a remote machine)."""
    if os.environ.get("ARCHREP_GIT_COMMIT"):
        return os.environ["ARCHREP_GIT_COMMIT"]
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> str:
    """A one-line description of the CPU (and GPU if torch sees one)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    desc = f"{os.cpu_count()}-core {cpu}"
    try:
        import torch

        if torch.cuda.is_available():
            desc += f", {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return desc


def mean_std(values: Sequence[float], name: str) -> dict:
    """``{name_mean, name_std}`` over seeds (population std, 0 for one value)."""
    v = np.asarray(values, dtype=float)
    return {f"{name}_mean": float(np.mean(v)), f"{name}_std": float(np.std(v))}


def make_record(task: str, **fields) -> dict:
    """A record with the provenance fields filled in."""
    from archrep import __version__

    rec = {"task": task, **fields}
    rec.setdefault("archrep_version", __version__)
    rec.setdefault("git_commit", git_commit(Path(__file__).parent))
    rec.setdefault("machine", machine())
    return rec


def _cell(rec: dict) -> tuple:
    return tuple(json.dumps(rec.get(k), sort_keys=True) for k in CELL_FIELDS)


def read_records(path: str | os.PathLike) -> list[dict]:
    p = Path(path)
    if not p.exists():
        return []
    return json.loads(p.read_text())


@contextlib.contextmanager
def _locked(path: Path):
    """Hold an exclusive lock on ``path``'s sibling ``.lock`` file (POSIX; elsewhere no lock), so
    benchmark processes writing one results file at once do not drop each other's records."""
    try:
        import fcntl
    except ImportError:  # Windows: one writer at a time is the user's job
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_records(path: str | os.PathLike, records: Iterable[dict], merge: bool = True,
                  superseded: Callable[[dict], bool] | None = None) -> list[dict]:
    """Write records atomically; with ``merge`` the file's other cells are kept and equal cells
    replaced (read, merge and write under a lock, so concurrent writers are safe). ``superseded``:
    old records it returns True for are dropped too (cells a benchmark no longer produces)."""
    new = list(records)
    path = Path(path)
    with _locked(path):
        old = read_records(path) if merge else []
        keys = {_cell(r) for r in new}
        out = [r for r in old if _cell(r) not in keys and not (superseded and superseded(r))] + new
        atomic_write_bytes(path, (json.dumps(out, indent=1) + "\n").encode())
    return out


def append_json_line(path: str | os.PathLike, obj) -> None:
    """Append ``obj`` as one JSON line to ``path`` and sync it to disk. The file is opened for each
    line, so a line always lands in the file that is at ``path`` now, even when that file was
    replaced during a long run (a checkout, a stash) — a handle held open would write into the
    replaced, deleted one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(obj) + "\n")
        f.flush()
        os.fsync(f.fileno())


class SeedCheckpoint:
    """Per-seed results of cells not yet written, in one JSON file beside the results
    (``<results>/.<task>.seeds.json``), so that a benchmark killed in the middle of a cell of
    several seeds resumes at the first seed it had not finished. ``key``: any JSON-serialisable
    description of the cell and its settings (a different setting is a different cell); values
    are JSON-serialisable. Writes are atomic; :meth:`drop` a cell once its records are written."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text()) if self.path.exists() else {}
        except (OSError, ValueError):
            return {}  # a damaged checkpoint only costs recomputation

    @staticmethod
    def _key(key) -> str:
        return json.dumps(key, sort_keys=True)

    def get(self, key, seed: int):
        """The stored value of ``seed`` in cell ``key``, or None."""
        return self._read().get(self._key(key), {}).get(str(seed))

    def put(self, key, seed: int, value) -> None:
        with _locked(self.path):
            data = self._read()
            data.setdefault(self._key(key), {})[str(seed)] = value
            atomic_write_bytes(self.path, json.dumps(data).encode())

    def drop(self, key) -> None:
        with _locked(self.path):
            data = self._read()
            if data.pop(self._key(key), None) is not None:
                atomic_write_bytes(self.path, json.dumps(data).encode())
