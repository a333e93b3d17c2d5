"""A learnt model as a correction of an analytic one: the ``prior`` hyper-parameter (ours, for latency).

A predictor with :class:`PriorMixin` and ``prior`` set (the name of an analytic predictor:
``flops-macs-linear``, ``kernel-additive``, ... with hyper-parameters ``prior_config``) fits the
prior first on the same training set, then learns only log(target / the prior's prediction) and
predicts prior x exp(learnt). A learnt model alone must find the scale of a network's run time
from few examples and extrapolates it poorly to a family it never saw; a cost model's FLOPs and
bytes carry that scale, and the learnt model corrects what they miss. Needs ``log_target=True``;
the prior's fitted weights go into the checkpoint as ``prior.*`` tensors. Shared by the torch
predictors (:class:`~archrep.models.base.TorchPredictor`) and ``kernel-gbdt``.

The host class has the hyper-parameters ``log_target``, ``prior`` (nullable) and ``prior_config``.
"""
from __future__ import annotations

import numpy as np
import torch

from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError


class PriorMixin:
    """``prior`` / ``prior_config`` / ``log_target`` handling (module docstring)."""

    #: the checkpoint's key prefix of the prior's weights
    PRIOR_PREFIX = "prior."
    prior_model = None

    def _check_prior(self) -> None:
        """``prior`` names an analytic predictor that ``prior_config`` configures, with ``log_target``."""
        c = self.config
        if not isinstance(c["prior_config"], dict):
            raise ArchrepError(f"model {self.name!r}: prior_config must be a mapping of the prior's "
                               f"hyper-parameters, got {c['prior_config']!r}")
        c["prior_config"] = dict(c["prior_config"])
        if c["prior"] is None:
            if c["prior_config"]:
                raise ArchrepError(f"model {self.name!r}: prior_config is set but prior is None; name the prior "
                                   "predictor, e.g. prior='kernel-additive'")
            return
        from archrep import models
        from archrep.models.base import TorchPredictor

        if not isinstance(c["prior"], str) or issubclass(models.MODELS.get(c["prior"]), (TorchPredictor, PriorMixin)):
            raise ArchrepError(f"model {self.name!r}: prior must name an analytic predictor (e.g. 'flops-macs-linear' "
                               f"or 'kernel-additive'), not {c['prior']!r}")
        if not c["log_target"]:
            raise ArchrepError(f"model {self.name!r}: prior={c['prior']!r} needs log_target=True (the model learns "
                               "the log of the target over the prior's prediction)")
        self._new_prior()  # unknown or bad prior hyper-parameters fail here

    def _new_prior(self):
        """A fresh, unfitted prior predictor (``prior`` with ``prior_config``)."""
        from archrep import models

        return models.create(self.config["prior"], seed=self.seed, progress=False, **self.config["prior_config"])

    def _fit_prior(self, train: ArchDataset, target: str) -> None:
        self.prior_model = None if self.config["prior"] is None else self._new_prior().fit(train, target)

    def _learnt(self, ds: ArchDataset, target: str, log_prior: np.ndarray | float | None = None) -> np.ndarray:
        """The values the model learns for ``target``: as they are, or their log (``log_target``)
        over the prior's prediction (``log_prior``: :meth:`_log_prior` of ``ds``, when already known)."""
        y = ds.target(target)
        if not self.config["log_target"]:
            return y
        if (y <= 0).any():
            raise ArchrepError(f"model {self.name!r}: log_target=True needs a positive target, but {target!r} of "
                               f"dataset {ds.name!r} has {int((y <= 0).sum())} values <= 0; use log_target=False")
        return np.log(y) - (self._log_prior(ds) if log_prior is None else log_prior)

    def _from_learnt(self, out: np.ndarray, ds: ArchDataset,
                     log_prior: np.ndarray | float | None = None) -> np.ndarray:
        """Predictions in the target's unit from the learnt values ``out`` on ``ds``."""
        if not self.config["log_target"]:
            return out
        return np.exp(out + (self._log_prior(ds) if log_prior is None else log_prior))

    def _log_prior(self, ds: ArchDataset) -> np.ndarray | float:
        """log of the prior's predictions on ``ds`` (``prior``), or 0 without a prior."""
        if self.prior_model is None:
            return 0.0
        p = self.prior_model.predict(ds)
        bad = ~(np.isfinite(p) & (p > 0))
        if bad.any():
            raise ArchrepError(f"model {self.name!r}: its prior {self.config['prior']!r} predicts {int(bad.sum())} "
                               f"non-positive or missing values on dataset {ds.name!r}, so no ratio can be learnt; use "
                               "a prior whose predictions stay positive (log_space=True for the linear ones)")
        return np.log(p)

    def _prior_state(self) -> dict[str, torch.Tensor]:
        """The fitted prior's tensors under :attr:`PRIOR_PREFIX` (none without a prior)."""
        if self.prior_model is None:
            return {}
        return {self.PRIOR_PREFIX + k: v for k, v in self.prior_model.state_dict().items()}

    def _restore_prior(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Rebuild the fitted prior from its ``prior.*`` tensors; returns the other tensors."""
        mine = {k[len(self.PRIOR_PREFIX):]: v for k, v in state.items() if k.startswith(self.PRIOR_PREFIX)}
        rest = {k: v for k, v in state.items() if not k.startswith(self.PRIOR_PREFIX)}
        if self.config["prior"] is None:
            return rest
        prior = self._new_prior()
        prior.target, prior.data_info = self.target, dict(self.data_info)  # the prior reads its own keys only
        prior._restore(mine)
        self.prior_model = prior
        return rest
