"""The trainer shared by every torch predictor.

:func:`train_network` fits a module ``net(**batch) -> scores (B,)`` on precomputed input tensors
(a dict of tensors whose first dimension indexes architectures): seeded shuffling, Adam/AdamW,
an optional cosine learning-rate schedule, a loss from :mod:`archrep.train.losses`, target
standardisation, and early stopping on the validation Kendall tau that restores the best
weights. Batches are built by indexing the precomputed tensors with a tensor of row indices, so
no Python code runs per architecture. On CPU, the same seed gives the same weights.

Graphs of different sizes (the model zoo: 20 to 600 nodes) are padded to the dataset's largest.
Given each row's node count (``sizes``), a batch is cut to the largest graph in it along the
node axes the network declares (``net.node_axes``: input name -> axes; networks are padding-
invariant, so only the cost changes), and ``size_buckets`` sorts each window of
``BUCKET_BATCHES`` shuffled batches by size before cutting them into batches (then shuffled),
so that small graphs are not padded to the largest in the data; prediction batches rows by size.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from archrep.errors import ArchrepError
from archrep.train import losses
from archrep.train.metrics import kendall_tau

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
SCHEDULERS = ("none", "cosine")
#: rows per forward pass at inference: large batches are what makes prediction fast
PREDICT_BATCH_SIZE = 1024
#: batches per window sorted by graph size (``size_buckets``): sizes vary within a window's
#: batches, and which rows share a batch stays random across windows and epochs
BUCKET_BATCHES = 16


def seed_everything(seed: int) -> None:
    """Seed python ``random``, numpy's global RNG and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(device: str | torch.device) -> torch.device:
    """``device`` as a torch.device; an unparsable or unavailable one is an error saying what to use."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ArchrepError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ArchrepError(f"device {device!r} asked for but torch sees no CUDA GPU; use device='cpu'")
    return dev


@dataclass
class Standardizer:
    """y -> (y - mean) / std, fitted on the training targets; ``std`` is 1 for constant targets."""

    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def fit(cls, y: np.ndarray, enabled: bool = True) -> "Standardizer":
        if not enabled:
            return cls()
        std = float(np.std(y))
        return cls(float(np.mean(y)), std if std > 0 else 1.0)

    def transform(self, y: np.ndarray) -> np.ndarray:
        return (np.asarray(y, dtype=np.float64) - self.mean) / self.std

    def inverse(self, s: np.ndarray) -> np.ndarray:
        return np.asarray(s, dtype=np.float64) * self.std + self.mean

    def to_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std}


@dataclass
class TrainResult:
    """What :func:`train_network` did: per-epoch history, the selected epoch, the target scaling."""

    scaler: Standardizer
    history: list[dict] = field(default_factory=list)
    #: 1-based epoch whose weights were kept (the best validation tau), None without validation
    best_epoch: int | None = None
    best_val_kendall_tau: float | None = None
    stopped_early: bool = False


def _rows(inputs: dict[str, torch.Tensor]) -> int:
    sizes = {k: int(v.shape[0]) for k, v in inputs.items()}
    if len(set(sizes.values())) != 1:
        raise ArchrepError(f"network inputs disagree in length: {sizes}")
    return next(iter(sizes.values()))


def node_counts(ops: np.ndarray) -> torch.Tensor:
    """int64 (N,): one past each row's last real node (op >= 0): how far its inputs can be cut."""
    real = np.asarray(ops) >= 0
    return torch.from_numpy(np.where(real, np.arange(1, real.shape[1] + 1), 0).max(axis=1, initial=0).astype(np.int64))


def _batch(net: torch.nn.Module, inputs: dict[str, torch.Tensor], idx: torch.Tensor,
           sizes: torch.Tensor | None, dev: torch.device) -> dict[str, torch.Tensor]:
    """Rows ``idx`` of ``inputs`` on ``dev``, cut along ``net.node_axes`` to the largest graph among them."""
    axes = getattr(net, "node_axes", None) if sizes is not None else None
    m = max(int(sizes[idx].max()), 1) if axes and len(idx) else None
    out = {}
    for k, v in inputs.items():
        for ax in (axes.get(k, ()) if m else ()):
            v = v.narrow(ax, 0, min(m, v.shape[ax]))
        out[k] = v[idx].to(dev, non_blocking=True)
    return out


def batch_indices(n: int, batch_size: int, generator: torch.Generator, sizes: torch.Tensor | None = None,
                  size_buckets: bool = False) -> list[torch.Tensor]:
    """One epoch's batches of row indices: a seeded shuffle cut into ``batch_size`` pieces, or with
    ``size_buckets`` (and ``sizes``) each window of ``BUCKET_BATCHES`` batches sorted by size first
    and the batches then shuffled (module docstring)."""
    order = torch.randperm(n, generator=generator)
    if not size_buckets or sizes is None:
        return [order[s:s + batch_size] for s in range(0, n, batch_size)]
    batches = []
    window = batch_size * BUCKET_BATCHES
    for s in range(0, n, window):
        part = order[s:s + window]
        part = part[torch.argsort(sizes[part], stable=True)]
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def predict_network(net: torch.nn.Module, inputs: dict[str, torch.Tensor], *,
                    batch_size: int = PREDICT_BATCH_SIZE, device: str | torch.device = "cpu",
                    sizes: torch.Tensor | None = None) -> np.ndarray:
    """Raw scores of ``net`` on every row of ``inputs`` (float64), in inference mode, large batches
    (of rows of similar size, cut to their largest graph, when ``sizes`` are given)."""
    dev = resolve_device(device)
    n = _rows(inputs)
    net.eval()
    order = torch.argsort(sizes, stable=True) if sizes is not None else torch.arange(n)
    out = torch.zeros(n, dtype=torch.float32)
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            out[idx] = net(**_batch(net, inputs, idx, sizes, dev)).float().cpu()
    return out.numpy().astype(np.float64)


def train_network(net: torch.nn.Module, inputs: dict[str, torch.Tensor], y: np.ndarray, *,
                  val_inputs: dict[str, torch.Tensor] | None = None, val_y: np.ndarray | None = None,
                  epochs: int = 100, batch_size: int = 32, lr: float = 1e-3, weight_decay: float = 0.0,
                  optimizer: str = "adamw", loss: str = "mse", loss_cfg: dict | None = None,
                  scheduler: str = "cosine", patience: int | None = None, grad_clip: float | None = None,
                  standardize: bool = True, seed: int = 0, progress: bool = True,
                  device: str | torch.device = "cpu", desc: str = "training", sizes: torch.Tensor | None = None,
                  val_sizes: torch.Tensor | None = None, size_buckets: bool = False) -> TrainResult:
    """Train ``net`` in place on ``inputs`` -> ``y`` and return the history and target scaling.

    * The global RNGs are seeded with ``seed`` first (:func:`seed_everything`); the shuffling and
      the hinge pair sampling use their own generators seeded from it.
    * ``standardize``: the network learns (y - mean) / std of the training targets (the
      returned ``scaler`` maps scores back).
    * ``loss``: a name of :mod:`archrep.train.losses` with ``loss_cfg`` settings.
    * ``scheduler``: "cosine" anneals the learning rate to 0 over ``epochs`` (per epoch), "none" keeps it.
    * With validation data the Kendall tau on it is computed after every epoch; the weights of
      the best epoch are restored at the end (ties keep the earlier epoch) and training stops
      after ``patience`` epochs without improvement (None: never stops early).
    * ``sizes`` / ``val_sizes``: node counts of the rows (:func:`node_counts`), to cut batches to
      their graphs; ``size_buckets``: batch rows of similar size together (module docstring).
    """
    if optimizer not in OPTIMIZERS:
        raise ArchrepError(f"unknown optimizer {optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
    if scheduler not in SCHEDULERS:
        raise ArchrepError(f"unknown scheduler {scheduler!r}; valid: {', '.join(SCHEDULERS)}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ArchrepError(f"{name} must be a positive integer, got {value!r}")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ArchrepError(f"patience must be a positive integer or None, got {patience!r}")
    n = _rows(inputs)
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (n,) or not np.isfinite(y).all():
        raise ArchrepError(f"training targets must be {n} finite values, got shape {y.shape} "
                           f"with {int((~np.isfinite(y)).sum())} non-finite")
    if (val_inputs is None) != (val_y is None):
        raise ArchrepError("give both val_inputs and val_y, or neither")
    if val_y is not None and np.asarray(val_y).size < 2:
        raise ArchrepError("the validation set needs at least 2 labelled architectures to rank them")

    dev = resolve_device(device)
    seed_everything(seed)
    net.to(dev)
    scaler = Standardizer.fit(y, standardize)
    y_t = torch.as_tensor(scaler.transform(y), dtype=torch.float32)
    loss_fn = losses.create(loss, seed=seed + 1, **(loss_cfg or {}))
    opt = OPTIMIZERS[optimizer](net.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs) if scheduler == "cosine" else None
    shuffle = torch.Generator().manual_seed(seed)

    result = TrainResult(scaler)
    best_score, best_state, since_best = -np.inf, None, 0
    t0 = time.perf_counter()
    bar = tqdm(range(1, epochs + 1), desc=desc, disable=not progress, leave=False, unit="epoch")
    for epoch in bar:
        net.train()
        total, seen = 0.0, 0
        for idx in batch_indices(n, batch_size, shuffle, sizes, size_buckets):
            batch = _batch(net, inputs, idx, sizes, dev)
            target = y_t[idx].to(dev)
            opt.zero_grad(set_to_none=True)
            value = loss_fn(net(**batch), target)
            value.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
            opt.step()
            total += float(value.detach()) * idx.numel()
            seen += idx.numel()
        record = {"epoch": epoch, "train_loss": total / seen, "lr": opt.param_groups[0]["lr"]}
        if sched is not None:
            sched.step()
        if val_inputs is not None:
            tau = kendall_tau(val_y, predict_network(net, val_inputs, device=dev, sizes=val_sizes))
            record["val_kendall_tau"] = float(tau) if np.isfinite(tau) else None  # JSON has no NaN
            score = tau if np.isfinite(tau) else -np.inf
            if best_state is None or score > best_score:
                best_score, since_best = score, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                result.best_epoch = epoch
                result.best_val_kendall_tau = record["val_kendall_tau"]
            else:
                since_best += 1
        record["seconds"] = time.perf_counter() - t0
        result.history.append(record)
        bar.set_postfix({k: f"{v:.4f}" for k, v in record.items()
                        if k in ("train_loss", "val_kendall_tau") and v is not None})
        if patience is not None and since_best >= patience:
            result.stopped_early = epoch < epochs
            break
    bar.close()
    if best_state is not None:
        net.load_state_dict(best_state)
    return result
