"""Dataset "nas-bench-macro": the 6,561 NAS-Bench-Macro architectures with CIFAR-10 results.

Read from ``<data_dir>/nas_bench_macro/nas-bench-macro_cifar10.json`` (xiusu/NAS-Bench-Macro:
``data/nas-bench-macro_cifar10.json``): a JSON object keyed by 8-digit strings (one digit per
layer: 0 identity, 1 MB3_K3, 2 MB6_K5) whose values hold ``test_acc`` (3 runs), ``mean_acc``,
``std``, ``params`` and ``flops``. Keys are in the space's enumeration order (lexicographic).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from archrep.data import DatasetSpec, register_dataset
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError, DataError
from archrep.spaces.macro import NUM_ARCHS, MacroSpace

VERSION = "1"
#: the raw file, relative to the data folder
MACRO_JSON = Path("nas_bench_macro") / "nas-bench-macro_cifar10.json"
SOURCE = "xiusu/NAS-Bench-Macro: data/nas-bench-macro_cifar10.json"

TARGET_INFO = {
    "cifar10": "CIFAR-10 test accuracy (%), mean of 3 runs (field mean_acc)",
    "cifar10_std": "standard deviation (%) of the CIFAR-10 test accuracy over the 3 runs (field std)",
    "params": "parameters (millions) of the network (field params / 1e6)",
    "flops": "FLOPs (millions) of the network (field flops / 1e6)",
}


def _missing_message(data_dir: Path | None) -> str:
    where = (f"{Path(data_dir) / MACRO_JSON} does not exist" if data_dir is not None
             else "no data folder is set")
    return (f"the 'nas-bench-macro' dataset needs {MACRO_JSON.as_posix()} in the data folder, but "
            f"{where}. Set ARCHREP_DATA_DIR=/path/to/data (or pass data_dir=...) with the file at "
            f"$ARCHREP_DATA_DIR/{MACRO_JSON.as_posix()}; source: {SOURCE} (archrep.data.download."
            "fetch_known('nas-bench-macro') downloads it when you have a network)")


def _number(path: Path, key: str, rec: dict, field: str) -> float:
    value = rec.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DataError(f"{path}: architecture {key!r} has no finite number {field!r} (found {value!r})")
    return float(value)


def read_macro(path: str | Path) -> dict[str, dict[str, float]]:
    """The benchmark's records by key, checked: ``{key: {'cifar10', 'cifar10_std', 'params', 'flops'}}``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object keyed by 8-digit arch strings, found {type(data).__name__}")
    space = MacroSpace()
    out: dict[str, dict[str, float]] = {}
    for key, rec in data.items():
        try:
            k = space.key(key)
        except ArchrepError as exc:
            raise DataError(f"{path}: {exc}") from None
        if not isinstance(rec, dict):
            raise DataError(f"{path}: the entry of {key!r} is a {type(rec).__name__}, not an object")
        runs = rec.get("test_acc")
        if not isinstance(runs, list) or not runs:
            raise DataError(f"{path}: architecture {key!r} has no list 'test_acc' of run accuracies")
        out[k] = {"cifar10": _number(path, key, rec, "mean_acc"),
                  "cifar10_std": _number(path, key, rec, "std"),
                  "params": _number(path, key, rec, "params") / 1e6,
                  "flops": _number(path, key, rec, "flops") / 1e6}
    return out


def inputs(data_dir: Path | None) -> list[Path]:
    return [Path(data_dir) / MACRO_JSON] if data_dir is not None else []


def build(data_dir: Path | None) -> ArchDataset:
    """Build "nas-bench-macro"; a missing file raises DataError naming it, the env var and the source."""
    path = Path(data_dir) / MACRO_JSON if data_dir is not None else None
    if path is None or not path.is_file():
        raise DataError(_missing_message(data_dir))
    records = read_macro(path)
    space = MacroSpace()
    keys = [k for k in space.enumerate() if k in records]
    if len(keys) != NUM_ARCHS:
        missing = next(k for k in space.enumerate() if k not in records)
        raise DataError(f"{path}: {NUM_ARCHS - len(keys)} of the {NUM_ARCHS} architectures are missing, "
                        f"e.g. {missing!r}; get the complete file from {SOURCE}")
    targets = {t: np.array([records[k][t] for k in keys]) for t in TARGET_INFO}
    graphs = [space.to_graph(k) for k in keys]
    return ArchDataset.from_graphs("nas-bench-macro", keys, graphs, targets, op_vocab=MacroSpace.op_vocab,
                                   space="nas-bench-macro", default_target="cifar10",
                                   target_info=dict(TARGET_INFO),
                                   meta={"sources": {"results": SOURCE}})


SPEC = register_dataset(DatasetSpec(
    name="nas-bench-macro", build=build, version=VERSION, inputs=inputs,
    description="NAS-Bench-Macro: 6,561 chains of 8 MobileNet-style layers with CIFAR-10 accuracy "
                "(mean and std of 3 runs), params and FLOPs (needs the data folder)",
))

__all__ = ["MACRO_JSON", "SOURCE", "TARGET_INFO", "SPEC", "read_macro", "build", "inputs"]
