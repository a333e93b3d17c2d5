"""One experiment = one predictor trained and tested on one dataset target under one split
protocol, repeated over seeds. Used by ``archrep train``, ``archrep demo`` and the benchmark
scripts, so that every reported number is produced the same way.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from archrep import models
from archrep.data import splits
from archrep.data.dataset import ArchDataset
from archrep.results import make_record, mean_std
from archrep.train.metrics import evaluate

DEFAULT_METRICS = ("kendall_tau", "spearman")


@dataclass
class SeedRun:
    """The outcome of one seed: test metrics, timings and where the checkpoint went."""

    seed: int
    metrics: dict
    fit_seconds: float
    archs_per_second: float
    checkpoint: str | None = None


@dataclass
class Experiment:
    """All seeds of one (dataset, target, protocol, train_size, method, variant) cell."""

    dataset: str
    target: str
    protocol: str
    train_size: int
    method: str
    variant: str
    runs: list[SeedRun] = field(default_factory=list)
    protocol_info: dict = field(default_factory=dict)

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.runs]

    def summary(self) -> dict:
        """Mean and std over seeds of every metric, plus seconds and inference speed."""
        out: dict = {}
        for name in self.runs[0].metrics:
            out.update(mean_std([r.metrics[name] for r in self.runs], name))
        out["archs_per_second"] = float(np.median([r.archs_per_second for r in self.runs]))
        out["seconds"] = float(sum(r.fit_seconds for r in self.runs))
        return out

    def record(self, task: str = "accuracy_prediction", **extra) -> dict:
        return make_record(task, dataset=self.dataset, target=self.target, protocol=self.protocol,
                           train_size=self.train_size, method=self.method, variant=self.variant,
                           seeds=self.seeds, **self.summary(), **extra)


def run(ds: ArchDataset, target: str, method: str, *, train_size: int,
        protocol: str = "space-fraction", seeds: Sequence[int] = (0, 1, 2),
        model_cfg: dict | None = None, protocol_cfg: dict | None = None, variant: str = "default",
        out_dir: str | Path | None = None, metrics: Sequence[str] = DEFAULT_METRICS,
        progress: bool = True, speed_repeats: int = 1) -> Experiment:
    """Train ``method`` on ``train_size`` archs of ``ds`` for each seed and test it.

    The split seed and the model seed are both ``seed``. Rows without a value for ``target`` are
    dropped first. ``variant`` names one of the model's ablations (:func:`archrep.models.variants`);
    ``model_cfg`` is applied on top of it. With ``out_dir`` each seed's checkpoint goes to
    ``out_dir/seed_<seed>``. Inference speed is the test set's size over the fastest of
    ``speed_repeats`` timed predictions (the minimum is the least disturbed by other processes).
    """
    ds.target(target)  # unknown target: error listing the valid ones, before any work
    model_cfg = {**models.variant_config(method, variant), **(model_cfg or {})}
    data = ds.with_target(target)
    exp = Experiment(ds.name, target, protocol, int(train_size), method, variant)
    for seed in seeds:
        proto = splits.create(protocol, train_size=train_size, seed=seed, **(protocol_cfg or {}))
        exp.protocol_info = proto.describe()
        sp = proto.split(len(data))
        train, val, test = data.subset(sp.train), data.subset(sp.val), data.subset(sp.test)
        model = models.create(method, seed=seed, progress=progress, **model_cfg)
        t0 = time.perf_counter()
        model.fit(train, target, val if len(val) else None)
        fit_seconds = time.perf_counter() - t0
        seconds = []
        for _ in range(speed_repeats):
            t0 = time.perf_counter()
            pred = model.predict(test)
            seconds.append(time.perf_counter() - t0)
        speed = len(test) / max(min(seconds), 1e-9)
        scores = evaluate(test.target(target), pred, metrics)
        ckpt = None
        if out_dir is not None:
            ckpt = str(Path(out_dir) / f"seed_{seed}")
            model.save(ckpt)
        exp.runs.append(SeedRun(int(seed), scores, fit_seconds, speed, ckpt))
    return exp
