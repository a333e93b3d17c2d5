"""Training losses for predictors, behind a registry: ``losses.create("hinge", margin=0.5)``.

* ``"mse"``: mean squared error between scores and (standardised) targets.
* ``"hinge"``: the pairwise ranking hinge of FGP / FlowerFormer fine-tuning (methods.md §5):
  over in-batch pairs i < j with y_i != y_j, mean max(0, m - sign(y_i - y_j)(s_i - s_j)); when
  there are more than R x batch_size such pairs, R x batch_size of them are drawn uniformly
  without replacement (seeded). Defaults m = 0.5, R = 32 (the NB201 values).
* ``"both"``: ``mse_weight * mse + hinge_weight * hinge``.

A loss is a callable ``loss(scores, y) -> scalar tensor`` on 1-D tensors of equal length.
"""
from __future__ import annotations

import inspect

import torch

from archrep.errors import ArchrepError
from archrep.registry import Registry

LOSSES: Registry = Registry("loss")


def mse_loss(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """mean_i (s_i - y_i)^2."""
    return torch.mean((scores - y) ** 2)


def pairwise_hinge_loss(scores: torch.Tensor, y: torch.Tensor, margin: float = 0.5, pair_ratio: float = 32,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """mean over pairs i < j with y_i != y_j of max(0, margin - sign(y_i - y_j) (s_i - s_j)).

    At most ``floor(pair_ratio * len(y))`` pairs are used, drawn without replacement with
    ``generator`` when there are more. A batch with no such pair (one element, or all targets
    equal) gives 0 (connected to the graph, so ``backward`` still works).
    """
    n = y.shape[0]
    i, j = torch.triu_indices(n, n, offset=1, device=y.device)
    diff = y[i] - y[j]
    keep = diff != 0
    i, j, diff = i[keep], j[keep], diff[keep]
    if i.numel() == 0:
        return scores.sum() * 0.0
    cap = int(pair_ratio * n)
    if i.numel() > cap:
        pick = torch.randperm(i.numel(), generator=generator, device="cpu")[:cap].to(y.device)
        i, j, diff = i[pick], j[pick], diff[pick]
    return torch.clamp(margin - torch.sign(diff) * (scores[i] - scores[j]), min=0).mean()


class Loss:
    """Base class: a seeded callable ``loss(scores, y)`` (the seed drives pair subsampling)."""

    def __init__(self, seed: int = 0):
        self.seed = int(seed)
        self.generator = torch.Generator().manual_seed(self.seed)

    def __call__(self, scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


@LOSSES.register("mse")
class MSELoss(Loss):
    """Mean squared error (see :func:`mse_loss`)."""

    def __call__(self, scores, y):
        return mse_loss(scores, y)


def _check_hinge(margin: float, pair_ratio: float) -> None:
    if not margin >= 0:
        raise ArchrepError(f"hinge loss: margin must be >= 0, got {margin!r}")
    if not pair_ratio > 0:
        raise ArchrepError(f"hinge loss: pair_ratio (R) must be > 0, got {pair_ratio!r}")


@LOSSES.register("hinge")
class HingeLoss(Loss):
    """Pairwise ranking hinge (see :func:`pairwise_hinge_loss`); margin m, at most R x batch pairs."""

    def __init__(self, margin: float = 0.5, pair_ratio: float = 32, seed: int = 0):
        super().__init__(seed)
        _check_hinge(margin, pair_ratio)
        self.margin, self.pair_ratio = float(margin), float(pair_ratio)

    def __call__(self, scores, y):
        return pairwise_hinge_loss(scores, y, self.margin, self.pair_ratio, self.generator)


@LOSSES.register("both")
class BothLoss(Loss):
    """``mse_weight * mse + hinge_weight * hinge``."""

    def __init__(self, margin: float = 0.5, pair_ratio: float = 32, mse_weight: float = 1.0,
                 hinge_weight: float = 1.0, seed: int = 0):
        super().__init__(seed)
        _check_hinge(margin, pair_ratio)
        self.margin, self.pair_ratio = float(margin), float(pair_ratio)
        self.mse_weight, self.hinge_weight = float(mse_weight), float(hinge_weight)

    def __call__(self, scores, y):
        return (self.mse_weight * mse_loss(scores, y)
                + self.hinge_weight * pairwise_hinge_loss(scores, y, self.margin, self.pair_ratio, self.generator))


def settings(name: str) -> list[str]:
    """The settings the loss ``name`` takes (besides ``seed``), e.g. ['margin', 'pair_ratio']."""
    cls = LOSSES.get(name)
    return [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "seed")]


def create(name: str, seed: int = 0, **cfg) -> Loss:
    """The loss registered as ``name`` (mse, hinge, both) with its settings; settings it does
    not take raise an error listing the ones it does."""
    cls = LOSSES.get(name)
    valid = settings(name)
    unknown = sorted(set(cfg) - set(valid))
    if unknown:
        raise ArchrepError(f"loss {name!r} takes no setting {', '.join(map(repr, unknown))}; "
                           f"valid settings: {', '.join(valid) or 'none'}")
    return cls(seed=seed, **cfg)


def list_losses(pattern: str = "*") -> list[str]:
    return LOSSES.names(pattern)
