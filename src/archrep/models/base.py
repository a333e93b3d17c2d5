"""The predictor contract, scikit-learn style, and the checkpoint format.

A predictor is created with hyper-parameters (``models.create("gin", hidden=64, seed=0)``),
then ``fit(train, target, val)`` on an :class:`ArchDataset` and ``predict(ds)`` -> float64
array of ``len(ds)`` values in the target's unit. ``save(dir)`` writes a checkpoint folder:

* ``config.json``: ``format``, ``format_version``, ``name``, ``archrep_version``,
  ``hyperparameters`` (seed included), ``target``, ``normalisation`` (``mean``, ``std`` of the
  training targets), ``data`` (``dataset``, ``space``, ``op_vocab``, ``max_nodes`` of the
  training set; ``node_features``: ``names``, ``mean``, ``std`` of the per-node features a torch
  predictor read, when it read any; ``graph_features`` likewise for its per-architecture
  features) and ``history`` (one record per epoch);
* ``weights.pt``: ``torch.save`` of a state dict of tensors (empty for predictors without weights),
  read back with ``torch.load(weights_only=True)``. No pickled Python objects.

:func:`load` reads such a folder back into a ready-to-predict predictor.
"""
from __future__ import annotations

import difflib
import io
import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from archrep.data.cache import atomic_write_bytes
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError, DataError, UnknownNameError
from archrep.features.onehot import node_mask, onehot_ops
from archrep.models.prior import PriorMixin
from archrep.train import fit as trainer
from archrep.train.losses import LOSSES, settings as loss_settings

CHECKPOINT_FORMAT = "archrep.predictor"
CHECKPOINT_VERSION = 1
#: the hyper-parameter of the torch predictors that can read a dataset's per-node features
#: (:attr:`ArchDataset.node_features`): on by default, used only where the dataset has them
NODE_FEATURE_DEFAULTS = {"node_features": True}
#: options that change how a predictor runs, not what it learns (never saved)
RUNTIME_OPTIONS = ("progress", "device")


def _check_value(model: str, key: str, value, default):
    """Light type check of one hyper-parameter against the type of its default."""
    def bad(kind: str):
        return ArchrepError(f"model {model!r}: hyper-parameter {key}={value!r} must be {kind}")

    if default is None:
        return value
    if isinstance(default, bool):
        if not isinstance(value, (bool, np.bool_)):
            raise bad("true or false")
        return bool(value)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise bad("an integer")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise bad("a number")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if isinstance(default, (list, tuple)):
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise bad("a list")
        return list(value)
    return value


class Predictor:
    """Base class of every predictor. Subclasses set ``defaults`` (hyper-parameter -> default)
    and implement ``_fit``, ``_predict`` and, when they have weights, ``state_dict`` /
    ``_restore``. ``name`` is set by :func:`archrep.models.register_model`."""

    name: ClassVar[str] = ""
    defaults: ClassVar[dict] = {}
    #: hyper-parameter -> its allowed values, checked at construction
    choices: ClassVar[dict] = {}
    #: hyper-parameters that also accept None (besides values of their default's type)
    nullable: ClassVar[tuple] = ()
    #: named ablations: variant name -> the hyper-parameters that differ from the faithful default
    variants: ClassVar[dict] = {}

    def __init__(self, seed: int = 0, progress: bool = True, device: str = "cpu", **hparams):
        unknown = sorted(set(hparams) - set(self.defaults))
        if unknown:
            valid = sorted([*self.defaults, "seed", *RUNTIME_OPTIONS])
            close = difflib.get_close_matches(unknown[0], valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownNameError(
                f"model {self.name!r} has no hyper-parameter {', '.join(map(repr, unknown))}.{hint} "
                f"Valid hyper-parameters: {', '.join(valid)}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ArchrepError(f"model {self.name!r}: seed must be an integer, got {seed!r}")
        cfg = {k: None if (k in self.nullable and hparams.get(k, v) is None)
               else _check_value(self.name, k, hparams.get(k, v), v) for k, v in self.defaults.items()}
        for key, allowed in self.choices.items():
            if cfg[key] not in allowed:
                raise ArchrepError(f"model {self.name!r}: {key}={cfg[key]!r} is not one of {', '.join(map(str, allowed))}")
        self.config: dict = {**cfg, "seed": int(seed)}
        self._check_config()
        self.progress = bool(progress)
        self.device = str(device)
        self.target: str | None = None
        self.normalisation: dict = {}
        self.data_info: dict = {}
        self.history: list[dict] = []

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{type(self).__name__}({args})"

    @property
    def seed(self) -> int:
        return self.config["seed"]

    @property
    def is_fitted(self) -> bool:
        return self.target is not None

    # ------------------------------------------------------------------ contract
    def fit(self, train: ArchDataset, target: str, val: ArchDataset | None = None) -> "Predictor":
        """Learn ``target`` from ``train`` (rows without a value are ignored); ``val`` selects the
        best epoch (torch predictors; a validation set without labelled rows counts as none).
        Returns self."""
        train = self._labelled(train, target, "training")
        if len(train) < 2:
            raise ArchrepError(f"model {self.name!r}: {len(train)} training architectures have a value for "
                               f"{target!r}; at least 2 are needed")
        if val is not None:
            val = self._labelled(val, target, "validation")
            if len(val) == 0:
                val = None
        self.data_info = data_info(train)
        self.history = []
        self._fit(train, target, val)
        self.target = target
        return self

    def predict(self, ds: ArchDataset) -> np.ndarray:
        """float64 predictions of the fitted target, one per architecture of ``ds``."""
        if not self.is_fitted:
            raise ArchrepError(f"model {self.name!r} is not fitted: call fit(train, target) or load a checkpoint first")
        if not isinstance(ds, ArchDataset):
            raise ArchrepError(f"predict expects an ArchDataset, got {type(ds).__name__}")
        out = np.asarray(self._predict(ds), dtype=np.float64)
        if out.shape != (len(ds),):
            raise ArchrepError(f"model {self.name!r} returned {out.shape} predictions for {len(ds)} architectures")
        return out

    @classmethod
    def unsupported(cls, ds: ArchDataset) -> str | None:
        """Why this predictor cannot be used on ``ds`` at all (e.g. a column it needs is absent),
        or None; lets benchmarks skip such cells instead of failing."""
        return None

    @classmethod
    def _missing_columns(cls, ds: ArchDataset, columns) -> str | None:
        """The :meth:`unsupported` reason of a predictor that reads dataset ``columns``, or None."""
        missing = [c for c in columns if c not in ds.targets]
        if not missing:
            return None
        return (f"the {cls.name!r} predictor needs the column(s) {', '.join(map(repr, missing))}, but dataset "
                f"{ds.name!r} has none (its columns: {', '.join(ds.target_names) or 'none'}); use a dataset "
                f"that records them or another predictor")

    def _check_config(self) -> None:
        """Model-specific checks of ``self.config`` beyond types and choices (none by default)."""

    def _fit(self, train: ArchDataset, target: str, val: ArchDataset | None) -> None:
        raise NotImplementedError

    def _predict(self, ds: ArchDataset) -> np.ndarray:
        raise NotImplementedError

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The learnt tensors (CPU); predictors without weights have none."""
        return {}

    def _restore(self, state: dict[str, torch.Tensor]) -> None:
        """Rebuild from a state dict after ``target``/``data_info``/``normalisation`` are set."""
        if state:
            raise DataError(f"model {self.name!r} has no weights but the checkpoint holds {len(state)} tensors")

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _labelled(ds: ArchDataset, target: str, role: str) -> ArchDataset:
        if not isinstance(ds, ArchDataset):
            raise ArchrepError(f"the {role} data must be an ArchDataset, got {type(ds).__name__}")
        ds.target(target)  # unknown target: error listing the valid ones
        return ds.with_target(target)

    def _aligned_ops(self, ds: ArchDataset) -> np.ndarray:
        """``ds.ops`` re-indexed into the training op vocabulary (int64, -1 padding); an op the
        model never saw is an error naming it."""
        vocab = self.data_info["op_vocab"]
        if list(ds.op_vocab) == list(vocab):
            return ds.ops.astype(np.int64)
        index = {op: i for i, op in enumerate(vocab)}
        lut = np.array([index.get(op, -2) for op in ds.op_vocab] + [-1], dtype=np.int64)
        ops = lut[np.where(ds.ops >= 0, ds.ops, len(ds.op_vocab)).astype(np.int64)]
        if (ops == -2).any():
            unseen = sorted({ds.op_vocab[k] for k in np.unique(ds.ops[ops == -2])})
            raise ArchrepError(f"dataset {ds.name!r} uses ops {unseen} that model {self.name!r} was not trained "
                               f"on (its op vocabulary: {', '.join(vocab)})")
        return ops

    # ------------------------------------------------------------------ checkpoints
    def save(self, path: str | Path) -> Path:
        """Write ``config.json`` and ``weights.pt`` into folder ``path`` (created), atomically per file."""
        if not self.is_fitted:
            raise ArchrepError(f"model {self.name!r} is not fitted; there is nothing to save")
        from archrep import __version__

        out = Path(path)
        config = {"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, "name": self.name,
                  "archrep_version": __version__, "hyperparameters": self.config, "target": self.target,
                  "normalisation": self.normalisation, "data": self.data_info, "history": self.history}
        buf = io.BytesIO()
        torch.save({k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}, buf)
        atomic_write_bytes(out / "weights.pt", buf.getvalue())
        atomic_write_bytes(out / "config.json", (json.dumps(config, indent=1) + "\n").encode())
        return out


def data_info(ds: ArchDataset) -> dict:
    """What a predictor records about its training data (``Predictor.data_info``)."""
    return {"dataset": ds.name, "space": ds.space, "op_vocab": list(ds.op_vocab), "max_nodes": int(ds.max_nodes)}


def node_feature_stats(ds: ArchDataset) -> dict:
    """``names`` and per-column ``mean`` / ``std`` of ``ds``'s node features over its real nodes
    (std 1 for a constant column, which then standardises to 0), as JSON lists."""
    return {"names": list(ds.node_feature_names), **column_stats(ds.node_features[ds.ops >= 0])}


def column_stats(values: np.ndarray) -> dict:
    """``mean`` and ``std`` of the columns of ``values`` (rows x columns) as JSON lists, std 1 for a
    constant column (which then standardises to 0)."""
    values = np.asarray(values, dtype=np.float64)
    std = values.std(axis=0)
    return {"mean": values.mean(axis=0).tolist(), "std": np.where(std > 1e-6, std, 1.0).tolist()}


def load(path: str | Path, *, progress: bool = False, device: str = "cpu") -> Predictor:
    """The predictor saved in checkpoint folder ``path`` by :meth:`Predictor.save`.

    A missing folder or file, unreadable JSON, another format, or weights that do not fit the
    model raise :class:`DataError` naming the folder.
    """
    from archrep import models

    folder = Path(path)
    where = f"checkpoint {str(folder)!r}"
    if not folder.is_dir():
        raise DataError(f"{where} does not exist or is not a folder; pass the folder written by "
                        "Predictor.save / 'archrep train --out DIR' (e.g. DIR/seed_0)")
    cfg_path, w_path = folder / "config.json", folder / "weights.pt"
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise DataError(f"{where} has no {p.name}; it is incomplete, save the model again")
    try:
        cfg = json.loads(cfg_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{where}: config.json is not valid JSON ({exc}); the checkpoint is corrupt") from None
    if not isinstance(cfg, dict) or cfg.get("format") != CHECKPOINT_FORMAT:
        raise DataError(f"{where}: config.json is not an archrep predictor checkpoint (format "
                        f"{cfg.get('format') if isinstance(cfg, dict) else None!r})")
    if cfg.get("format_version") != CHECKPOINT_VERSION:
        raise DataError(f"{where}: checkpoint format version {cfg.get('format_version')!r}, this archrep "
                        f"reads version {CHECKPOINT_VERSION}; retrain or use the archrep that wrote it")
    missing = [k for k in ("name", "hyperparameters", "target", "normalisation", "data", "history") if k not in cfg]
    if missing:
        raise DataError(f"{where}: config.json lacks {', '.join(missing)}; the checkpoint is corrupt")
    try:
        model = models.create(cfg["name"], progress=progress, device=device, **cfg["hyperparameters"])
    except ArchrepError as exc:
        raise DataError(f"{where}: cannot rebuild the model: {exc}") from None
    try:
        state = torch.load(w_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise DataError(f"{where}: weights.pt cannot be read ({type(exc).__name__}: {exc}); the checkpoint is corrupt") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(f"{where}: weights.pt is not a state dict of tensors")
    model.target = cfg["target"]
    model.normalisation = dict(cfg["normalisation"])
    model.data_info = dict(cfg["data"])
    model.history = list(cfg["history"])
    model._restore(state)
    return model


#: node count from which networks multiply by the adjacency as a sparse tensor (architectures have
#: a few edges per node, so beyond some tens of nodes that is far cheaper than dense M x M products)
SPARSE_FROM = 64
#: graph readouts of the encoders with per-node states (gin, ledg): ``sum`` or ``mean`` of the node
#: states, then the score head; ``logsumexp`` (ours, for latency) scores every node with the head and
#: returns log(sum_v exp(score_v)), so that with ``log_target=True, standardize=False`` the predicted
#: latency is a sum of positive per-node latencies, as a network's run time is a sum over its ops
#: (the kernel-additive model's assumption, with learnt per-node costs). Its graph embedding, which
#: pre-training heads read, is the mean of the node states.
READOUTS = ("sum", "mean", "logsumexp")


def pool_nodes(h: torch.Tensor, real: torch.Tensor, readout: str) -> torch.Tensor:
    """Node states (B, N, E) pooled over the real nodes (B, N, bool) to (B, E): their sum for
    ``readout="sum"``, their mean otherwise (``mean``, and ``logsumexp``'s graph embedding)."""
    pooled = (h * real[..., None]).sum(dim=1)
    if readout == "sum":
        return pooled
    return pooled / real.sum(dim=1, keepdim=True).clamp(min=1)


class EncoderNet(torch.nn.Module):
    """A predictor network split into an encoder and a score head, so that pre-training heads
    (:mod:`archrep.pretrain`) attach to any encoder: ``graph_embedding(**inputs)`` -> (B,
    ``embedding_dim``) is what the score head reads, ``score(h)`` -> (B,) is the head, and
    ``forward(**inputs) = score(graph_embedding(**inputs))``. The head's parameters are those
    whose names start with ``head_prefix`` or ``graph_feature_proj.`` (:meth:`is_head_parameter`);
    pre-training transfers all the others.

    ``graph_features`` (B, F), an optional input that only ``forward`` reads: per-architecture
    features (FLOPs, memory traffic, ...) whose linear projection (:meth:`add_graph_features`) is
    added to the graph embedding before the head, as NNLQP's static features join its readout."""

    embedding_dim: int
    head_prefix: str = "head."
    #: input name -> its node axes: where the trainer may cut a batch to its largest graph
    #: (the network's output must not depend on padding beyond it); empty: never cut
    node_axes: ClassVar[dict[str, tuple[int, ...]]] = {}

    def graph_embedding(self, **inputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h).squeeze(-1)

    def node_embeddings(self, **inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-node embeddings (B, N, ``embedding_dim``) that the score head can read one by one,
        and the real-node mask (B, N, bool): what the ``logsumexp`` readout (:data:`READOUTS`) needs."""
        raise ArchrepError(f"{type(self).__name__} has no per-node embeddings, so it cannot use the "
                           "'logsumexp' readout; use 'sum' or 'mean'")

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        extra = self.graph_feature_term(inputs.pop("graph_features", None))
        if getattr(self, "readout", None) != "logsumexp":
            return self.score(self.graph_embedding(**inputs) + extra)
        h, real = self.node_embeddings(**inputs)
        per_node = self.score(h + (extra[:, None] if torch.is_tensor(extra) else extra))
        return torch.logsumexp(per_node.masked_fill(~real, float("-inf")), dim=1)

    def graph_feature_term(self, graph_features: torch.Tensor | None) -> torch.Tensor | float:
        """The projected graph features (B, ``embedding_dim``) to add to the embedding, or 0 without them."""
        proj = getattr(self, "graph_feature_proj", None)  # set by add_graph_features
        if proj is None:
            return 0.0
        if graph_features is None:
            raise ArchrepError(f"{type(self).__name__} was built to read {proj.in_features} graph features but "
                               "got none; pass the predictor's network_inputs(ds)")
        return proj(graph_features)

    def add_graph_features(self, count: int) -> None:
        """Read ``count`` per-architecture features (0: none) through a Linear to the embedding
        width; called after the network is built, so that without them it initialises as before."""
        self.graph_feature_proj = torch.nn.Linear(count, self.embedding_dim) if count else None

    def is_head_parameter(self, name: str) -> bool:
        """Whether parameter ``name`` belongs to the score head (fine-tuning trains it fresh)."""
        return name.startswith(self.head_prefix) or name.startswith("graph_feature_proj.")

    def add_node_features(self, count: int, width: int) -> None:
        """Read ``count`` per-node features (0: none) through a bias-free Linear to ``width`` that
        the network adds to its node-input projection: together one Linear of [op input ‖
        features]. Call it last in ``__init__``, so that a network without features initialises
        (seeded) exactly as before features existed."""
        self.node_feature_proj = torch.nn.Linear(count, width, bias=False) if count else None

    def node_feature_term(self, node_features: torch.Tensor | None) -> torch.Tensor | float:
        """The projected features (B, M, width) to add to the node inputs, or 0 without features."""
        if self.node_feature_proj is None:
            return 0.0
        if node_features is None:
            raise ArchrepError(f"{type(self).__name__} was built to read {self.node_feature_proj.in_features} node "
                               "features but got none; pass the predictor's network_inputs(ds)")
        return self.node_feature_proj(node_features)

    def encoder_state(self) -> dict[str, torch.Tensor]:
        """The learnt parameters of the encoder (everything but the score head), detached copies.
        Buffers are left out: predictors derive them from their configuration and data."""
        return {k: v.detach().cpu().clone() for k, v in self.named_parameters() if not self.is_head_parameter(k)}


class TorchPredictor(PriorMixin, Predictor):
    """A predictor whose network is trained by :func:`archrep.train.fit.train_network`.

    The default loss is the pairwise ranking hinge (FGP), which ranks best (NB201, 781 archs:
    GIN Kendall tau 0.86 with it vs 0.78 with MSE); its predictions are ranking scores mapped
    back through the target's mean/std, so their order is meaningful but not their values. Use
    ``loss="mse"`` (or ``"both"``) when the values matter (latency, MAPE, Acc@10%).

    Subclasses implement ``build_network()`` (from ``self.config`` and ``self.data_info``), an
    :class:`EncoderNet`, and ``encode(ops, adj)`` -> dict of float tensors, first dimension =
    architectures, computed for a whole dataset at once; the network is called as
    ``net(**batch)`` and returns (B,) scores.

    ``init``: the folder of a pre-trained encoder (``archrep pretrain``, :mod:`archrep.pretrain`)
    whose weights replace the freshly initialised encoder's before training (the score head
    stays fresh); None trains from scratch. It must come from the same encoder with the same
    architecture hyper-parameters, pre-trained on the same dataset, else fitting says what differs.

    ``log_target``: learn log(target) and predict exp of the network's output (targets must be
    positive). For latency, whose values span orders of magnitude, this makes the MSE loss weigh
    relative errors (what MAPE and Acc@10% measure) instead of the largest networks' absolute
    errors; ``normalisation`` then holds the mean/std of the log targets.

    ``node_features`` (the predictors with :data:`NODE_FEATURE_DEFAULTS`: gin, tart, transformer,
    ledg): when the training set has per-node features (real models, e.g. ``zoo-latency``), feed
    them, standardised with the training set's per-column mean/std over real nodes (kept in
    ``data_info`` and so in the checkpoint), as the extra network input ``node_features`` (N, M,
    F), 0 on padding; the network adds their linear projection to its node inputs. A model fitted
    with features refuses a dataset without the same feature names. Datasets without features
    (NAS cells) give exactly the network and predictions of ``node_features=False``.

    ``graph_features``: names of the dataset's per-architecture columns (``targets``, e.g.
    ``["flops", "memory", "params"]``) read as graph-level inputs, as NNLQP's predictor reads its
    static features (research/methods.md §2): log(1 + x), standardised with the training set's
    mean/std (kept in ``data_info``), projected by a Linear and added to the graph embedding
    before the score head (:class:`EncoderNet`). Empty (the default): none. A column that is
    missing, not finite or negative is an error naming it.

    ``prior`` (ours, for latency, :mod:`archrep.models.prior`): the name of an analytic predictor (``flops-macs-linear``,
    ``kernel-additive``, ... :mod:`archrep.models.latency`) with hyper-parameters ``prior_config``,
    fitted first on the same training set; the network then learns only the log of the ratio of the
    target to the prior's prediction, and predicts prior x exp(network). A network alone must learn
    the scale of a network's run time from few examples and extrapolates it poorly to a family it
    never saw; a cost model's FLOPs and bytes carry that scale, and the network corrects what they
    miss. Needs ``log_target=True``; the prior's fitted weights are saved in the checkpoint
    (``prior.*`` tensors). None (the default): no prior, the papers' setting.

    ``size_buckets``: batch training rows of similar graph size together (:mod:`archrep.train.fit`),
    so that a batch of small graphs is not padded to the dataset's largest; for datasets whose
    graph sizes vary widely (the model zoo). Off by default: it changes which rows share a batch
    (and so the pairs of the hinge loss). Batches are always cut to their largest graph for the
    networks that declare ``node_axes``, which changes only the cost.
    """

    defaults: ClassVar[dict] = {
        "epochs": 100, "batch_size": 32, "lr": 1e-3, "weight_decay": 1e-4, "optimizer": "adamw",
        "scheduler": "cosine", "loss": "hinge", "margin": 0.5, "pair_ratio": 32.0, "mse_weight": 1.0,
        "hinge_weight": 1.0, "patience": 30, "grad_clip": None, "standardize": True, "init": None,
        "log_target": False, "size_buckets": False, "graph_features": [], "prior": None, "prior_config": {},
    }
    choices: ClassVar[dict] = {"optimizer": tuple(trainer.OPTIMIZERS), "scheduler": trainer.SCHEDULERS,
                               "loss": tuple(LOSSES.names())}
    nullable: ClassVar[tuple] = ("patience", "grad_clip", "prior")

    def __init__(self, seed: int = 0, progress: bool = True, device: str = "cpu", **hparams):
        super().__init__(seed, progress, device, **hparams)
        self.net: torch.nn.Module | None = None
        self.prior_model: Predictor | None = None

    def _check_config(self) -> None:
        c = self.config
        positive = {"epochs": c["epochs"], "batch_size": c["batch_size"], "lr": c["lr"], "pair_ratio": c["pair_ratio"]}
        if c["patience"] is not None:
            positive["patience"] = c["patience"]
        if c["grad_clip"] is not None:
            positive["grad_clip"] = c["grad_clip"]
        if not isinstance(c["grad_clip"], (int, float, type(None))) or isinstance(c["grad_clip"], bool):
            raise ArchrepError(f"model {self.name!r}: grad_clip must be a positive number or None, got {c['grad_clip']!r}")
        for key, value in positive.items():
            if not value > 0:
                raise ArchrepError(f"model {self.name!r}: {key} must be > 0, got {value!r}")
        for key in ("weight_decay", "margin", "mse_weight", "hinge_weight"):
            if not c[key] >= 0:
                raise ArchrepError(f"model {self.name!r}: {key} must be >= 0, got {c[key]!r}")
        if isinstance(c["init"], Path):
            c["init"] = str(c["init"])
        if c["init"] is not None and not (isinstance(c["init"], str) and c["init"].strip()):
            raise ArchrepError(f"model {self.name!r}: init must be the folder of a pre-trained encoder "
                               f"(archrep pretrain --out DIR) or None, got {c['init']!r}")
        self._check_prior()

    def build_network(self) -> EncoderNet:
        raise NotImplementedError

    def architecture_config(self) -> dict:
        """The hyper-parameters that define the network (all but the trainer's and the seed):
        a pre-trained encoder fits a predictor only when these agree."""
        return {k: v for k, v in self.config.items() if k not in TorchPredictor.defaults and k != "seed"}

    def _prepare(self, target: str | None) -> None:
        """Compute what ``build_network`` needs beyond the config and ``data_info`` (nothing by
        default; LeDG embeds its op and platform texts). ``target`` is None in pre-training."""

    def new_network(self, ds: ArchDataset, target: str | None = None) -> EncoderNet:
        """A freshly initialised network for ``ds`` (seeded with the model seed; sets
        ``data_info``), as ``fit`` builds it; pre-training trains such a network's encoder."""
        self.data_info = data_info(ds)
        if self.config.get("node_features") and ds.node_features is not None:
            self.data_info["node_features"] = node_feature_stats(ds)
        if self.config["graph_features"]:
            names = list(self.config["graph_features"])
            self.data_info["graph_features"] = {"names": names,
                                                **column_stats(self._graph_feature_values(ds, names))}
        self._prepare(target)
        trainer.seed_everything(self.config["seed"])
        return self._built_network()

    def _built_network(self) -> EncoderNet:
        """``build_network()`` with the graph-feature input the config asks for."""
        net = self.build_network()
        net.add_graph_features(len(self.data_info.get("graph_features", {}).get("names", [])))
        return net

    def encode(self, ops: np.ndarray, adj: np.ndarray) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    @property
    def node_feature_count(self) -> int:
        """How many per-node features the network reads (0: none), for ``build_network``."""
        info = self.data_info.get("node_features")
        return len(info["names"]) if info else 0

    def network_inputs(self, ds: ArchDataset) -> dict[str, torch.Tensor]:
        """The network's input tensors for every architecture of ``ds`` (ops aligned to the training
        vocabulary; standardised node features when the network reads them)."""
        inputs = self.encode(self._aligned_ops(ds), ds.adj)
        if self.node_feature_count:
            inputs["node_features"] = self._standardised_features(ds)
        info = self.data_info.get("graph_features")
        if info:
            mean, std = np.asarray(info["mean"]), np.asarray(info["std"])
            values = (self._graph_feature_values(ds, info["names"]) - mean) / std
            inputs["graph_features"] = torch.from_numpy(values.astype(np.float32))
        return inputs

    def _graph_feature_values(self, ds: ArchDataset, names: list[str]) -> np.ndarray:
        """float64 (N, F): log(1 + x) of ``ds``'s per-architecture columns ``names``."""
        cols = []
        for name in names:
            if name not in ds.targets:
                raise ArchrepError(f"model {self.name!r}: graph feature {name!r} is not a column of dataset "
                                   f"{ds.name!r} (it has {', '.join(sorted(ds.targets))}); choose graph_features "
                                   "among them")
            x = np.asarray(ds.targets[name], dtype=np.float64)
            if not np.isfinite(x).all() or (x < 0).any():
                raise ArchrepError(f"model {self.name!r}: graph feature {name!r} of dataset {ds.name!r} has missing "
                                   "or negative values; graph features must be non-negative counts (FLOPs, bytes, "
                                   "parameters)")
            cols.append(np.log1p(x))
        return np.stack(cols, axis=1)

    def _standardised_features(self, ds: ArchDataset) -> torch.Tensor:
        """float32 (N, M, F): ``ds``'s node features standardised with the training statistics, 0 on
        padding; a dataset without the training set's feature columns is an error."""
        info = self.data_info["node_features"]
        if list(ds.node_feature_names) != list(info["names"]):
            have = f"the node features {list(ds.node_feature_names)}" if ds.node_features is not None else "none"
            raise ArchrepError(
                f"model {self.name!r} was trained with the node features {info['names']} but dataset {ds.name!r} has "
                f"{have}; build the dataset with the same features (ArchDataset.from_graphs(..., node_features="
                f"{info['names']!r}) from graphs with node attributes, as zoo-latency does), or use a model fitted "
                f"with node_features=False")
        mean, std = (np.asarray(info[k], dtype=np.float32) for k in ("mean", "std"))
        x = (ds.node_features - mean) / std
        x *= (ds.ops >= 0)[..., None]
        return torch.from_numpy(x)

    def _fit(self, train, target, val):
        c = self.config
        self._fit_prior(train, target)
        self.net = self.new_network(train, target)
        if c["init"] is not None:
            from archrep import pretrain

            pretrain.load(c["init"]).initialise(self, train)
        loss_cfg = {k: c[k] for k in loss_settings(c["loss"])}
        val_kw = {}
        if val is not None:
            val_kw = {"val_inputs": self.network_inputs(val), "val_y": self._learnt(val, target),
                      "val_sizes": trainer.node_counts(val.ops)}
        result = trainer.train_network(
            self.net, self.network_inputs(train), self._learnt(train, target), **val_kw, epochs=c["epochs"],
            batch_size=c["batch_size"], lr=c["lr"], weight_decay=c["weight_decay"], optimizer=c["optimizer"],
            loss=c["loss"], loss_cfg=loss_cfg, scheduler=c["scheduler"], patience=c["patience"],
            grad_clip=c["grad_clip"], standardize=c["standardize"], seed=c["seed"], progress=self.progress,
            device=self.device, desc=f"{self.name} on {train.name}", sizes=trainer.node_counts(train.ops),
            size_buckets=c["size_buckets"])
        self.net.cpu()
        self.normalisation = result.scaler.to_dict()
        self.history = result.history

    def _predict(self, ds):
        scaler = trainer.Standardizer(self.normalisation["mean"], self.normalisation["std"])
        dev = trainer.resolve_device(self.device)
        self.net.to(dev)
        try:
            scores = trainer.predict_network(self.net, self.network_inputs(ds), device=dev,
                                             sizes=trainer.node_counts(ds.ops))
        finally:
            self.net.cpu()
        return self._from_learnt(scaler.inverse(scores), ds)

    def state_dict(self):
        return {**({} if self.net is None else dict(self.net.state_dict())), **self._prior_state()}

    def _restore(self, state):
        state = self._restore_prior(state)
        for key in ("mean", "std"):
            if not isinstance(self.normalisation.get(key), (int, float)):
                raise DataError(f"model {self.name!r}: checkpoint normalisation lacks a numeric {key!r}")
        info = self.data_info.get("node_features")
        if info and not (isinstance(info, dict) and all(isinstance(info.get(k), list) for k in ("names", "mean", "std"))
                         and len(info["names"]) == len(info["mean"]) == len(info["std"])):
            raise DataError(f"model {self.name!r}: the checkpoint's node feature statistics (data.node_features) need "
                            "equally long 'names', 'mean' and 'std' lists; the checkpoint is corrupt, save it again")
        self.net = self._built_network()
        try:
            self.net.load_state_dict(state)
        except RuntimeError as exc:
            raise DataError(f"model {self.name!r}: the checkpoint weights do not fit the network built from its "
                            f"config ({str(exc).splitlines()[0]})") from None


def padded_tensors(ops: np.ndarray, adj: np.ndarray, vocab_size: int) -> dict[str, torch.Tensor]:
    """Common dense inputs: one-hot ops (N, M, V) and node mask (N, M) float32, adjacency (N, M, M)
    uint8 (0/1): networks cast it per batch, so that a dataset of large graphs (the zoo's 600
    nodes) is not held as float32, 4x the memory of the dataset's own adjacency."""
    return {"x": torch.from_numpy(onehot_ops(ops, vocab_size)),
            "adj": torch.from_numpy(np.asarray(adj != 0, dtype=np.uint8)),
            "mask": torch.from_numpy(node_mask(ops).astype(np.float32))}
