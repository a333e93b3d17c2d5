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
    """The outcome of one seed: test metrics, timings and where the checkpoint went.
    ``model_seed`` is the model's seed when it differs from the split seed ``seed``."""

    seed: int
    metrics: dict
    fit_seconds: float
    archs_per_second: float
    checkpoint: str | None = None
    model_seed: int | None = None


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
    #: the pre-trained encoder folder the model was initialised from, if any
    init: str | None = None

    @property
    def seeds(self) -> list[int]:
        """The split seeds, each once, in run order."""
        return list(dict.fromkeys(r.seed for r in self.runs))

    @property
    def model_seeds(self) -> list[int] | None:
        """The model seeds crossed with every split seed, or None when each run's model seed is its split seed."""
        if all(r.model_seed is None for r in self.runs):
            return None
        return list(dict.fromkeys(r.model_seed for r in self.runs))

    def summary(self) -> dict:
        """Mean and std over seeds of every metric, each run's value in run order (``<metric>_runs``:
        two cells run on the same seeds can then be compared pair by pair), plus seconds and
        inference speed."""
        out: dict = {}
        for name in self.runs[0].metrics:
            values = [float(r.metrics[name]) for r in self.runs]
            out.update(mean_std(values, name))
            out[f"{name}_runs"] = values
        out["archs_per_second"] = float(np.median([r.archs_per_second for r in self.runs]))
        out["seconds"] = float(sum(r.fit_seconds for r in self.runs))
        return out

    def record(self, task: str = "accuracy_prediction", **extra) -> dict:
        """A results record: the cell, its seeds (``model_seeds`` and ``runs`` when crossed, ``init``
        when pre-trained) and the summary, plus ``extra`` fields."""
        fields: dict = {"seeds": self.seeds}
        if self.model_seeds is not None:
            fields.update(model_seeds=self.model_seeds, runs=len(self.runs))
        if self.init is not None:
            fields["init"] = self.init
        return make_record(task, dataset=self.dataset, target=self.target, protocol=self.protocol,
                           train_size=self.train_size, method=self.method, variant=self.variant,
                           **fields, **self.summary(), **extra)


def run(ds: ArchDataset, target: str, method: str, *, train_size: int,
        protocol: str = "space-fraction", seeds: Sequence[int] = (0, 1, 2),
        model_cfg: dict | None = None, protocol_cfg: dict | None = None, variant: str = "default",
        out_dir: str | Path | None = None, metrics: Sequence[str] = DEFAULT_METRICS,
        progress: bool = True, speed_repeats: int = 1, model_seeds: Sequence[int] | None = None,
        init: str | Path | None = None) -> Experiment:
    """Train ``method`` on ``train_size`` archs of ``ds`` for each seed and test it.

    The split seed and the model seed are both ``seed``, unless ``model_seeds`` is given: then
    every split seed runs once per model seed (FGP's 3 permutations x 3 training seeds). Rows
    without a value for ``target`` are dropped first. ``variant`` names one of the model's
    ablations (:func:`archrep.models.variants`); ``model_cfg`` is applied on top of it.
    ``init``: a pre-trained encoder folder (:mod:`archrep.pretrain`) to fine-tune from; its
    architecture hyper-parameters are applied over the variant's (``model_cfg`` still wins, and
    a conflict is an error). With ``out_dir`` each run's checkpoint goes to ``out_dir/seed_<seed>``
    (``seed_<seed>_<model seed>`` with ``model_seeds``). Inference speed is the test set's size over
    the fastest of ``speed_repeats`` timed predictions (the least disturbed by other processes).
    """
    ds.target(target)  # unknown target: error listing the valid ones, before any work
    base = models.variant_config(method, variant)
    if init is not None:
        from archrep import pretrain

        encoder = pretrain.load(init)
        encoder.check_model(method)
        encoder.check_dataset(ds)
        base = {**base, **encoder.encoder_config, "init": str(init)}
    model_cfg = {**base, **(model_cfg or {})}
    data = ds.with_target(target)
    exp = Experiment(ds.name, target, protocol, int(train_size), method, variant,
                     init=None if init is None else str(init))
    runs = [(s, None) for s in seeds] if model_seeds is None else [(s, m) for s in seeds for m in model_seeds]
    for seed, model_seed in runs:
        proto = splits.create(protocol, train_size=train_size, seed=seed, **(protocol_cfg or {}))
        exp.protocol_info = proto.describe()
        sp = proto.split(len(data))
        train, val, test = data.subset(sp.train), data.subset(sp.val), data.subset(sp.test)
        model = models.create(method, seed=seed if model_seed is None else model_seed, progress=progress, **model_cfg)
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
            ckpt = str(Path(out_dir) / (f"seed_{seed}" if model_seed is None else f"seed_{seed}_{model_seed}"))
            model.save(ckpt)
        exp.runs.append(SeedRun(int(seed), scores, fit_seconds, speed, ckpt,
                                None if model_seed is None else int(model_seed)))
    return exp
