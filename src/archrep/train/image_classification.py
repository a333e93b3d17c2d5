"""One fixed training recipe for small image classifiers, to measure ground-truth accuracy here.

The ViT mini-benchmark (``benchmarks/vit_ground_truth.py``) trains every sampled network with
the same :class:`ImageRecipe`, so that accuracies are comparable and the proxies can be judged
against them. The default is sized for one CPU core (about a minute per ``vit-tiny`` net):

* data: Fashion-MNIST (Debian ``dataset-fashion-mnist``) brought to 32x32x3 as the proxies'
  inputs are (:func:`archrep.proxies.inputs.fashion_to_32x32x3`); a class-balanced seeded subset
  of ``train_images`` training images and ``test_images`` test images (``data_seed``);
* optimiser: AdamW (``lr``, ``weight_decay``), batch ``batch_size``, a cosine schedule to zero
  over all steps after ``warmup_steps`` of linear warm-up; cross-entropy with ``label_smoothing``;
* ``epochs`` passes over the training subset, shuffled by the run's seed;
* the result: top-1 accuracy (%) on the test subset after the last step, the mean training loss
  of the last epoch, and the wall-clock seconds.

A recipe is identified by :meth:`ImageRecipe.digest`; results of different recipes are never
mixed in one file. The short budget makes this a ranking of early trainability as much as of
final accuracy: say so wherever its numbers are quoted.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from archrep.errors import ArchrepError


@dataclass(frozen=True)
class ImageRecipe:
    """The training recipe (module docstring); every field is part of the digest."""

    dataset: str = "fashion-mnist"
    train_images: int = 4000
    test_images: int = 2000
    epochs: int = 2
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 10
    label_smoothing: float = 0.0
    data_seed: int = 0

    def __post_init__(self):
        if self.dataset != "fashion-mnist":
            raise ArchrepError(f"ImageRecipe.dataset {self.dataset!r} is not supported; valid: fashion-mnist")
        for name in ("train_images", "test_images", "epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ArchrepError(f"ImageRecipe.{name} must be a positive int, got {value!r}")
        if self.train_images % 10 or self.test_images % 10:
            raise ArchrepError("ImageRecipe.train_images and test_images must be multiples of 10 "
                               f"(class-balanced subsets), got {self.train_images} and {self.test_images}")

    def to_dict(self) -> dict:
        return asdict(self)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]

    @property
    def steps(self) -> int:
        return self.epochs * math.ceil(self.train_images / self.batch_size)


class ImageData(NamedTuple):
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def _balanced(labels: np.ndarray, n: int, rng: np.random.Generator, split: str) -> np.ndarray:
    per_class = n // 10
    picks = []
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        if len(idx) < per_class:
            raise ArchrepError(f"Fashion-MNIST {split} has {len(idx)} images of class {c}, the recipe asks "
                               f"for {per_class}: lower train_images / test_images")
        picks.append(rng.choice(idx, per_class, replace=False))
    return np.sort(np.concatenate(picks))


def recipe_data(recipe: ImageRecipe) -> ImageData:
    """The recipe's training and test subsets as normalised [n, 3, 32, 32] tensors."""
    from archrep.proxies.inputs import fashion_mnist, fashion_to_32x32x3

    rng = np.random.default_rng(recipe.data_seed)
    out = []
    for split, n in (("train", recipe.train_images), ("test", recipe.test_images)):
        images, labels = fashion_mnist(split)
        idx = _balanced(labels, n, rng, split)
        out += [fashion_to_32x32x3(images[idx]), torch.from_numpy(labels[idx])]
    return ImageData(*out)


def _lr_factor(step: int, recipe: ImageRecipe) -> float:
    if step < recipe.warmup_steps:
        return (step + 1) / recipe.warmup_steps
    span = max(1, recipe.steps - recipe.warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * (step - recipe.warmup_steps) / span))


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Top-1 accuracy (%) of ``net`` (in eval mode) on ``x`` / ``y``."""
    net.eval()
    device = next(net.parameters()).device
    correct = 0
    for i in range(0, len(x), batch_size):
        logits = net(x[i:i + batch_size].to(device))
        correct += int((logits.argmax(1).cpu() == y[i:i + batch_size]).sum())
    return 100.0 * correct / len(x)


def train_and_test(net: nn.Module, recipe: ImageRecipe, data: ImageData, *, seed: int,
                   device: str = "cpu") -> dict:
    """Train ``net`` with ``recipe`` on ``data`` (shuffling by ``seed``) and test it.

    The network's initialisation is the caller's (seed torch before building it). Returns
    ``test_accuracy`` (%), ``train_loss`` (mean of the last epoch), ``seconds`` and ``steps``.
    """
    net = net.to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, recipe))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    gen = torch.Generator().manual_seed(seed)
    t0, step, last = time.perf_counter(), 0, float("nan")
    for _ in range(recipe.epochs):
        net.train()
        order = torch.randperm(len(data.x_train), generator=gen)
        total, count = 0.0, 0
        for i in range(0, len(order), recipe.batch_size):
            b = order[i:i + recipe.batch_size]
            x, y = data.x_train[b].to(device), data.y_train[b].to(device)
            loss = loss_fn(net(x), y)
            if not torch.isfinite(loss):
                raise ArchrepError(f"training diverged at step {step} (loss {loss.item()}): lower the recipe's lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total, count = total + loss.item() * len(b), count + len(b)
        last = total / count
    acc = accuracy(net, data.x_test, data.y_test)
    return {"test_accuracy": acc, "train_loss": last, "seconds": time.perf_counter() - t0, "steps": step}


__all__ = ["ImageRecipe", "ImageData", "recipe_data", "train_and_test", "accuracy"]
