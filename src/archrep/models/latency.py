"""Analytic latency baselines: least squares on cost columns, and an nn-Meter-style additive model.

They are what every learnt latency predictor must beat (NNLQP's FLOPs / FLOPs+MACs rows, nn-Meter's
kernel sum), fit in milliseconds and need no torch training:

* ``flops-linear``: latency = a * FLOPs + b, ordinary least squares on the dataset's ``flops``
  column. ``log_space=True`` fits log latency = a * log FLOPs + b instead (a power law
  latency = e^b * FLOPs^a): relative errors then weigh alike for small and large networks, which
  suits MAPE, and predictions stay positive.
* ``flops-macs-linear``: latency = a * FLOPs + c * memory traffic + b, on ``flops`` and
  :data:`MEMORY_COLUMN` (memory traffic in MB: bytes of every node's inputs, outputs and weights,
  the MACs of NNLQP = memory access cost); ``log_space`` as above. Datasets without a memory column
  (the real-device HELP data has only FLOPs and params) are refused by :meth:`unsupported`.
* ``kernel-additive``: nn-Meter's idea, latency = sum over the network's kernels of each kernel's
  latency. A kernel here is a node's op kind, at its position in the graph when ``position=True``
  (default): on a fixed-skeleton space (NB201, FBNet, OFA) the node position fixes the channels and
  resolution, so per-(position, op) latencies form FBNet's latency lookup table. The features are
  the counts of each kernel (one-hot rows summed) plus a constant for what every network shares
  (stem, head); the kernel latencies are fitted by non-negative least squares, since no kernel can
  take negative time. ``position=False`` pools each op kind over positions (fewer parameters, for
  graphs whose positions mean nothing). We cannot profile kernels on the devices of the shared data,
  so kernel latencies are learnt from whole-network measurements rather than measured one by one.
  By default kernels are keyed on op kind (and position) only, not on a node's configuration.
  ``kernel_costs=True`` is nn-Meter's per-kernel cost model for real models, whose kernels of one
  kind differ in size (a 16- and a 512-channel conv): each kernel's latency is linear in its own
  FLOPs and memory traffic, a_k GFLOPs + b_k MB + c_k (a_k, b_k, c_k >= 0 per op kind), read from
  the per-node features (:attr:`ArchDataset.node_features`, ``log_flops`` / ``log_mem_bytes``).
  ``relative=True`` weighs each network's squared error by 1 / latency^2 (NNLS on rows divided by
  the target), i.e. fits relative errors, which is what MAPE scores.
  ``pooled=True`` (ours) adds the whole network's sums of the same columns (node count, and with
  ``kernel_costs`` total FLOPs and memory traffic) as shared kernels and ``ridge`` > 0 shrinks every
  per-kernel latency towards 0, so a kernel seen in few training networks costs about the shared
  rate instead of an extrapolated one: fitted on whole networks, an op kind that only ever occurs
  with tiny FLOPs (say Sigmoid in a few squeeze-excite blocks) can get a huge per-FLOP latency that
  a family using it everywhere (EfficientNet's swish) multiplies. The penalty is ``ridge`` * N *
  (coefficient x RMS of the networks' total of that cost)^2 over the N training rows: a kernel's
  rate is judged at the scale of a whole network's node count, FLOPs or bytes, so a rate that only
  a few tiny occurrences support shrinks to about 0 and the shared kernels carry the cost; NNLS
  on the augmented system.

Fitting uses the rows with a value for the target; the coefficients are the checkpoint's weights.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from scipy.optimize import nnls

from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError, DataError
from archrep.models import register_model
from archrep.models.base import Predictor

#: dataset column of memory traffic (MB) that ``flops-macs-linear`` needs besides ``flops``
MEMORY_COLUMN = "memory"


class LinearCostModel(Predictor):
    """Least squares of the target on cost columns ``columns`` plus an intercept (optionally in log space)."""

    columns: ClassVar[tuple] = ()
    defaults: ClassVar[dict] = {"log_space": False}

    def __init__(self, seed: int = 0, progress: bool = True, device: str = "cpu", **hparams):
        super().__init__(seed, progress, device, **hparams)
        self.coef: np.ndarray | None = None

    @classmethod
    def unsupported(cls, ds: ArchDataset) -> str | None:
        return cls._missing_columns(ds, cls.columns)

    def _design(self, ds: ArchDataset) -> np.ndarray:
        why = self.unsupported(ds)
        if why:
            raise ArchrepError(why)
        x = np.stack([ds.targets[c] for c in self.columns], axis=1)
        bad = ~np.isfinite(x).all(axis=1)
        if bad.any():
            raise ArchrepError(f"dataset {ds.name!r}: {int(bad.sum())} architectures lack a value of "
                               f"{', '.join(self.columns)}; the {self.name!r} predictor cannot use them")
        if self.config["log_space"]:
            if (x <= 0).any():
                raise ArchrepError(f"model {self.name!r}: log_space=True needs positive {', '.join(self.columns)} "
                                   f"in dataset {ds.name!r}; use log_space=False")
            x = np.log(x)
        return np.hstack([x, np.ones((len(ds), 1))])

    def _fit(self, train, target, val):
        y = train.target(target)
        if self.config["log_space"]:
            if (y <= 0).any():
                raise ArchrepError(f"model {self.name!r}: log_space=True needs a positive target, but {target!r} "
                                   f"has {int((y <= 0).sum())} values <= 0; use log_space=False")
            y = np.log(y)
        self.coef = np.linalg.lstsq(self._design(train), y, rcond=None)[0]

    def _predict(self, ds):
        out = self._design(ds) @ self.coef
        return np.exp(out) if self.config["log_space"] else out

    def state_dict(self):
        return {} if self.coef is None else {"coef": torch.from_numpy(self.coef.copy())}

    def _restore(self, state):
        coef = state.get("coef")
        if coef is None or coef.shape != (len(self.columns) + 1,):
            raise DataError(f"model {self.name!r}: the checkpoint needs {len(self.columns) + 1} coefficients, "
                            f"found {None if coef is None else tuple(coef.shape)}")
        self.coef = coef.double().numpy()


@register_model("flops-linear")
class FlopsLinear(LinearCostModel):
    """latency = a * FLOPs + b (``log_space``: a power law); see the module docstring."""

    columns = ("flops",)


@register_model("flops-macs-linear")
class FlopsMacsLinear(LinearCostModel):
    """latency = a * FLOPs + c * memory traffic + b (``log_space``: in logs); see the module docstring."""

    columns = ("flops", MEMORY_COLUMN)


@register_model("kernel-additive")
class KernelAdditive(Predictor):
    """Sum of non-negative per-kernel latencies plus a shared constant, fitted by NNLS (module docstring)."""

    defaults: ClassVar[dict] = {"position": True, "kernel_costs": False, "relative": False, "pooled": False,
                                "ridge": 0.0}
    #: per-kernel cost columns with ``kernel_costs``: FLOPs (GFLOPs), memory traffic (MB), a count
    COSTS: ClassVar[tuple] = (("log_flops", 1e9), ("log_mem_bytes", 1e6))

    def __init__(self, seed: int = 0, progress: bool = True, device: str = "cpu", **hparams):
        super().__init__(seed, progress, device, **hparams)
        self.coef: np.ndarray | None = None

    def _per_kernel(self) -> int:
        return len(self.COSTS) + 1 if self.config["kernel_costs"] else 1

    def _kernels(self) -> int:
        """Columns of the per-kernel latencies (the rest: the pooled ones, then the constant)."""
        vocab = len(self.data_info["op_vocab"])
        return vocab * (self.data_info["max_nodes"] if self.config["position"] else 1) * self._per_kernel()

    def _width(self) -> int:
        return self._kernels() + (self._per_kernel() if self.config["pooled"] else 0) + 1

    def _totals(self, x: np.ndarray) -> np.ndarray:
        """(N, per-kernel columns): each cost column of the feature rows ``x`` summed over all kernels."""
        return x[:, :self._kernels()].reshape(len(x), -1, self._per_kernel()).sum(axis=1)

    def _node_costs(self, ds: ArchDataset, rows: np.ndarray, cols: np.ndarray) -> list[np.ndarray]:
        """Each real node's FLOPs and memory traffic in the :data:`COSTS` units (``kernel_costs``)."""
        names = list(ds.node_feature_names)
        missing = [c for c, _ in self.COSTS if c not in names]
        if ds.node_features is None or missing:
            raise ArchrepError(f"model {self.name!r} (kernel_costs=True) needs the per-node features "
                               f"{[c for c, _ in self.COSTS]}, which dataset {ds.name!r} lacks; use a dataset of "
                               "real models (e.g. zoo-latency) or kernel_costs=False")
        return [np.expm1(ds.node_features[rows, cols, names.index(c)].astype(np.float64)) / unit
                for c, unit in self.COSTS]

    def features(self, ds: ArchDataset) -> np.ndarray:
        """(N, width) float64: how often each kernel occurs in each network (with ``kernel_costs``
        also the FLOPs and memory traffic summed per kernel), with ``pooled`` the same summed over all
        kernels, then a constant 1."""
        ops = self._aligned_ops(ds)
        m, vocab = self.data_info["max_nodes"], len(self.data_info["op_vocab"])
        if self.config["position"] and ops.shape[1] > m:
            if (ops[:, m:] >= 0).any():
                raise ArchrepError(f"model {self.name!r} (position=True) knows node positions up to {m}, but dataset "
                                   f"{ds.name!r} has larger graphs; use position=False or retrain on them")
            ops = ops[:, :m]
        rows, cols = np.nonzero(ops >= 0)
        kernel = (ops[rows, cols] + (cols * vocab if self.config["position"] else 0)) * self._per_kernel()
        x = np.zeros((len(ds), self._width()))
        np.add.at(x, (rows, kernel), 1.0)
        if self.config["kernel_costs"]:
            for j, cost in enumerate(self._node_costs(ds, rows, cols), start=1):
                np.add.at(x, (rows, kernel + j), cost)
        if self.config["pooled"]:
            k = self._kernels()
            x[:, k:k + self._per_kernel()] = self._totals(x)
        x[:, -1] = 1.0
        return x

    def _fit(self, train, target, val):
        x, y = self.features(train), train.target(target)
        if self.config["relative"]:
            if (y <= 0).any():
                raise ArchrepError(f"model {self.name!r}: relative=True needs a positive target, but {target!r} of "
                                   f"dataset {train.name!r} has values <= 0; use relative=False")
            x, y = x / y[:, None], np.ones_like(y)
        ridge = float(self.config["ridge"])
        if ridge < 0:
            raise ArchrepError(f"model {self.name!r}: ridge must be >= 0, got {ridge}")
        if ridge > 0:
            k = self._kernels()
            rms = np.tile(np.sqrt((self._totals(x) ** 2).mean(axis=0)), k // self._per_kernel())
            penalty = np.zeros((k, x.shape[1]))
            penalty[np.arange(k), np.arange(k)] = np.sqrt(ridge * len(x)) * rms
            x, y = np.vstack([x, penalty]), np.concatenate([y, np.zeros(k)])
        self.coef = nnls(x, y)[0]

    def _predict(self, ds):
        return self.features(ds) @ self.coef

    def state_dict(self):
        return {} if self.coef is None else {"coef": torch.from_numpy(self.coef.copy())}

    def _restore(self, state):
        coef = state.get("coef")
        if coef is None or coef.shape != (self._width(),):
            raise DataError(f"model {self.name!r}: the checkpoint needs {self._width()} kernel latencies, found "
                            f"{None if coef is None else tuple(coef.shape)}")
        self.coef = coef.double().numpy()
