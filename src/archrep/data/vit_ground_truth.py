"""Datasets "vit-tiny-fashion" and "vit-tiny-msa-fashion": ViTs trained here, for judging proxies.

No accuracy table of an AutoFormer-style space installs here, so archrep makes its own: ViTs
sampled from ``vit-tiny`` (or every-head-choice ``vit-tiny-msa``), each trained with one fixed
:class:`archrep.train.image_classification.ImageRecipe` on Fashion-MNIST by
``benchmarks/vit_ground_truth.py``, which appends one JSON line per trained network to the
package file ``archrep/data/files/<name>.jsonl``:

``{"space", "key", "seed", "recipe" (the recipe's fields), "recipe_digest", "test_accuracy" (%),
"train_loss", "params", "seconds", "device", "torch"}``

A file holds one recipe. A key trained with several seeds gets the mean accuracy (``test_accuracy``)
and its standard deviation (``test_accuracy_std``, NaN with one seed).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from archrep.data import DatasetSpec, register_dataset
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError, DataError

VERSION = "1"
FILES_DIR = Path(__file__).resolve().parent / "files"
#: dataset name -> its search space
GROUND_TRUTH = {"vit-tiny-fashion": "vit-tiny", "vit-tiny-msa-fashion": "vit-tiny-msa"}
TARGET_INFO = {
    "test_accuracy": "Fashion-MNIST test accuracy (%) after the file's fixed training recipe, mean over seeds",
    "test_accuracy_std": "standard deviation (%) of that accuracy over seeds (NaN with one seed)",
    "train_loss": "mean training loss of the last epoch, mean over seeds",
    "params": "parameters (millions) of the network",
}
REQUIRED = ("space", "key", "seed", "recipe_digest", "test_accuracy", "train_loss", "params")


def ground_truth_path(name: str) -> Path:
    """The package file of dataset ``name`` (which the benchmark script writes by default)."""
    if name not in GROUND_TRUTH:
        raise ArchrepError(f"unknown ViT ground-truth dataset {name!r}; valid: {', '.join(GROUND_TRUTH)}")
    return FILES_DIR / f"{name.replace('-', '_')}.jsonl"


def read_lines(path: str | Path, space: str) -> list[dict]:
    """The checked records of a ground-truth file (empty when it does not exist)."""
    from archrep import spaces

    path = Path(path)
    if not path.exists():
        return []
    sp = spaces.get(space)
    out, digests = [], set()
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}, line {n}: not JSON ({exc}); delete the line and re-run the script") from None
        missing = [k for k in REQUIRED if k not in rec] if isinstance(rec, dict) else list(REQUIRED)
        if missing:
            raise DataError(f"{path}, line {n}: missing field(s) {', '.join(missing)}")
        if rec["space"] != space:
            raise DataError(f"{path}, line {n}: space {rec['space']!r}, expected {space!r}")
        try:
            rec["key"] = sp.key(sp.parse(rec["key"]))
        except ArchrepError as exc:
            raise DataError(f"{path}, line {n}: {exc}") from None
        if not (isinstance(rec["test_accuracy"], (int, float)) and math.isfinite(rec["test_accuracy"])):
            raise DataError(f"{path}, line {n}: test_accuracy must be a finite number, got {rec['test_accuracy']!r}")
        digests.add(rec["recipe_digest"])
        out.append(rec)
    if len(digests) > 1:
        raise DataError(f"{path} mixes training recipes {sorted(digests)}: keep one recipe per file")
    return out


def build_named(name: str) -> ArchDataset:
    from archrep import spaces

    space = GROUND_TRUTH[name]
    path = ground_truth_path(name)
    lines = read_lines(path, space)
    if not lines:
        raise DataError(f"dataset {name!r} has no trained networks yet ({path} is missing or empty): "
                        f"run `python benchmarks/vit_ground_truth.py --space {space} --n 150`")
    by_key: dict[str, list[dict]] = {}
    for rec in lines:
        by_key.setdefault(rec["key"], []).append(rec)
    keys = list(by_key)
    acc = [np.array([r["test_accuracy"] for r in by_key[k]], dtype=float) for k in keys]
    targets = {"test_accuracy": np.array([a.mean() for a in acc]),
               "test_accuracy_std": np.array([a.std(ddof=1) if len(a) > 1 else np.nan for a in acc]),
               "train_loss": np.array([np.mean([r["train_loss"] for r in by_key[k]]) for k in keys]),
               "params": np.array([by_key[k][0]["params"] / 1e6 for k in keys])}
    sp = spaces.get(space)
    return ArchDataset.from_graphs(name, keys, [sp.to_graph(sp.parse(k)) for k in keys], targets, op_vocab=sp.op_vocab,
                                   space=space, default_target="test_accuracy", target_info=dict(TARGET_INFO),
                                   meta={"sources": {"results": str(path)}, "recipe": lines[0].get("recipe"),
                                         "recipe_digest": lines[0]["recipe_digest"],
                                         "seeds": sorted({r["seed"] for r in lines})})


for _name, _space in GROUND_TRUTH.items():
    register_dataset(DatasetSpec(
        name=_name, build=lambda data_dir, _n=_name: build_named(_n), version=VERSION,
        inputs=lambda data_dir, _n=_name: [ground_truth_path(_n)],
        description=f"ViTs of space {_space!r} trained here on Fashion-MNIST with one fixed recipe "
                    "(benchmarks/vit_ground_truth.py), for judging training-free proxies"))

__all__ = ["GROUND_TRUTH", "TARGET_INFO", "ground_truth_path", "read_lines", "build_named"]
