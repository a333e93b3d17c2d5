"""``kernel-gbdt`` (ours): gradient-boosted regression trees on a network's kernel features.

nn-Meter predicts each kernel with a random forest over its configuration and adds the kernels
up; NNLQP's strongest non-graph baselines are tree ensembles over static features. This predictor
sits between them for graphs whose kernels were never measured one by one: the features of a
network are, per op kind of the training vocabulary, how often it occurs and (``kernel_costs``,
real models with per-node ``log_flops`` / ``log_mem_bytes``) the GFLOPs and MB of memory traffic
summed over its nodes, the same sums over all nodes, and the dataset's cost columns
:data:`COST_COLUMNS` that the training set has, all as log(1 + x); with a ``prior``
(:mod:`archrep.models.prior`) also the log of the prior's prediction. Trees capture what a sum of
per-kernel rates cannot: that a conv's cost per FLOP depends on its size, and that a network of
many tiny kernels is dominated by per-kernel overhead. Trees do not extrapolate: a network faster
or slower than every training network is predicted about as its nearest training networks, so
train on the range of sizes it will be asked about (or use a ``prior``, which carries the scale).

Fitting is scikit-learn's ``GradientBoostingRegressor`` (squared error, on the target, its log
with ``log_target``, or its log over the prior's prediction with ``prior``), ``trees`` trees of
depth ``depth``, shrinkage ``learning_rate``, row subsampling ``subsample``, at least ``min_leaf``
rows per leaf, seeded. The checkpoint holds the fitted trees as plain arrays (split feature,
threshold, children, leaf value per node) and predicts without scikit-learn's objects, so it
loads under any scikit-learn version, or none (scikit-learn is needed to fit:
``pip install "archrep[trees]"``).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError, DataError, MissingDependencyError
from archrep.models import register_model
from archrep.models.base import Predictor
from archrep.models.latency import MEMORY_COLUMN, KernelAdditive
from archrep.models.prior import PriorMixin

#: per-architecture columns read as features when the training set has them (all finite, >= 0)
COST_COLUMNS = ("flops", MEMORY_COLUMN, "params", "batch")
#: the tree arrays of a checkpoint, one entry per node of all trees, trees one after another
TREE_ARRAYS = ("left", "right", "feature", "threshold", "value")


@register_model("kernel-gbdt")
class KernelGBDT(PriorMixin, Predictor):
    """Boosted trees on per-op-kind counts and costs (module docstring)."""

    defaults: ClassVar[dict] = {"kernel_costs": False, "trees": 300, "depth": 4, "learning_rate": 0.05,
                                "subsample": 0.8, "min_leaf": 5, "log_target": False, "prior": None,
                                "prior_config": {}}
    nullable: ClassVar[tuple] = ("prior",)

    def __init__(self, seed: int = 0, progress: bool = True, device: str = "cpu", **hparams):
        super().__init__(seed, progress, device, **hparams)
        self.trees: dict[str, np.ndarray] | None = None

    def _check_config(self) -> None:
        c = self.config
        for key in ("trees", "depth", "min_leaf", "learning_rate"):
            if not c[key] > 0:
                raise ArchrepError(f"model {self.name!r}: {key} must be > 0, got {c[key]!r}")
        if not 0 < c["subsample"] <= 1:
            raise ArchrepError(f"model {self.name!r}: subsample must be in (0, 1], got {c['subsample']!r}")
        self._check_prior()

    def _kernel_view(self) -> KernelAdditive:
        """An unfitted kernel-additive model whose :meth:`~KernelAdditive.features` give the per-op-kind
        counts and costs in this model's training vocabulary."""
        view = KernelAdditive(position=False, kernel_costs=self.config["kernel_costs"], pooled=True)
        view.data_info = self.data_info
        return view

    def features(self, ds: ArchDataset, log_prior: np.ndarray | None = None) -> np.ndarray:
        """(N, F) float64 feature rows of ``ds`` (module docstring); ``log_prior``: the prior's
        :meth:`_log_prior` of ``ds`` when already computed."""
        parts = [self._kernel_view().features(ds)[:, :-1]]  # without its constant column
        for name in self.data_info["cost_columns"]:
            if name not in ds.targets:
                raise ArchrepError(f"model {self.name!r} reads the column {name!r}, which dataset {ds.name!r} lacks; "
                                   "use a dataset with the training set's columns")
            parts.append(self._column(ds, name)[:, None])
        x = np.log1p(np.hstack(parts))
        if self.prior_model is None:
            return x
        return np.hstack([x, np.asarray(self._log_prior(ds) if log_prior is None else log_prior)[:, None]])

    @staticmethod
    def _column(ds: ArchDataset, name: str) -> np.ndarray:
        x = np.asarray(ds.targets[name], dtype=np.float64)
        if not (np.isfinite(x) & (x >= 0)).all():
            raise ArchrepError(f"dataset {ds.name!r}: column {name!r} has missing or negative values, which "
                               "kernel-gbdt cannot read")
        return x

    def _fit(self, train, target, val):
        try:
            from sklearn.ensemble import GradientBoostingRegressor
        except ImportError:
            raise MissingDependencyError('kernel-gbdt fits with scikit-learn: pip install "archrep[trees]"') from None
        self.data_info["cost_columns"] = [c for c in COST_COLUMNS if c in train.targets and c != target
                                          and (np.isfinite(train.targets[c]) & (train.targets[c] >= 0)).all()]
        self._fit_prior(train, target)
        log_prior = self._log_prior(train)
        x, y = self.features(train, log_prior), self._learnt(train, target, log_prior)
        c = self.config
        base = float(np.mean(y))
        gbr = GradientBoostingRegressor(loss="squared_error", n_estimators=c["trees"], max_depth=c["depth"],
                                        learning_rate=c["learning_rate"], subsample=c["subsample"],
                                        min_samples_leaf=c["min_leaf"], init="zero", random_state=self.seed)
        gbr.fit(x, y - base)
        self.trees = _tree_arrays([est.tree_ for est in gbr.estimators_[:, 0]], base)

    def _predict(self, ds):
        t = self.trees
        log_prior = self._log_prior(ds)
        x = self.features(ds, log_prior).astype(np.float32).astype(np.float64)  # the trees split float32 values
        node = np.broadcast_to(t["offsets"][:-1], (len(x), len(t["offsets"]) - 1)).copy()
        rows = np.arange(len(x))[:, None]
        for _ in range(int(t["max_depth"])):
            inner = t["left"][node] >= 0
            if not inner.any():
                break
            go_left = x[rows, np.where(inner, t["feature"][node], 0)] <= t["threshold"][node]
            node = np.where(inner, np.where(go_left, t["left"][node], t["right"][node]), node)
        out = t["base"] + self.config["learning_rate"] * t["value"][node].sum(axis=1)
        return self._from_learnt(out, ds, log_prior)

    def state_dict(self):
        if self.trees is None:
            return {}
        return {**{k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in self.trees.items()
                   if k != "max_depth"}, **self._prior_state()}

    def _restore(self, state):
        state = self._restore_prior(state)
        need = (*TREE_ARRAYS, "offsets", "base")
        missing = [k for k in need if k not in state]
        if missing:
            raise DataError(f"model {self.name!r}: the checkpoint lacks the tree arrays {missing}; save it again")
        trees = {k: state[k].numpy() for k in need}
        n = len(trees["left"])
        if any(len(trees[k]) != n for k in TREE_ARRAYS) or trees["offsets"][-1] != n:
            raise DataError(f"model {self.name!r}: the checkpoint's tree arrays disagree in length; save it again")
        trees["max_depth"] = self.config["depth"] + 1
        self.trees = trees


def _tree_arrays(trees, base: float) -> dict[str, np.ndarray]:
    """scikit-learn fitted trees (``tree_`` objects, public arrays only) as one set of node arrays,
    children as global node indices (-1 at leaves)."""
    offsets = np.cumsum([0] + [t.node_count for t in trees])
    out = {k: [] for k in TREE_ARRAYS}
    for start, t in zip(offsets, trees):
        leaf = t.children_left < 0
        out["left"].append(np.where(leaf, -1, t.children_left + start))
        out["right"].append(np.where(leaf, -1, t.children_right + start))
        out["feature"].append(np.where(leaf, 0, t.feature))
        out["threshold"].append(np.where(leaf, 0.0, t.threshold))
        out["value"].append(t.value[:, 0, 0])
    arrays = {k: np.concatenate(v).astype(np.int64 if k in ("left", "right", "feature") else np.float64)
              for k, v in out.items()}
    depth = max(int(t.max_depth) for t in trees) + 1 if trees else 1
    return {**arrays, "offsets": offsets.astype(np.int64), "base": np.array(base), "max_depth": depth}
