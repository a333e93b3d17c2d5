"""Pretext tasks: what an encoder's graph embedding learns to predict in pre-training.

A task is built for one dataset (every architecture, no labels) and provides

* ``targets``: per-architecture tensors (first dimension = architectures), computed once;
* ``heads(embedding_dim)``: trainable heads on the graph embedding, thrown away afterwards;
* ``loss(heads, z, batch)``: the scalar loss of a batch of embeddings ``z`` and its parts, as floats;
* ``describe()``: the task's settings, for the pre-trained encoder's manifest.

Registered: ``"fgp"`` (:class:`FlowTask`) and ``"autoencoder"`` (:class:`AutoencoderTask`).
"""
from __future__ import annotations

import inspect
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError
from archrep.features.flow import FlowConfig, flow_config, surrogates_for
from archrep.registry import Registry
from archrep.train import losses

TASKS: Registry = Registry("pre-training method")
#: width of FGP's flow projection head and of its zero-cost-proxy head (methods.md §5)
FLOW_HEAD_HIDDEN, PROXY_HEAD_HIDDEN = 128, 64
#: width of the autoencoder's decoder
DECODER_HIDDEN = 128


def mlp_head(dim: int, hidden: int, out: int) -> nn.Module:
    """Linear -> ReLU -> Linear: the shape of every pre-training head."""
    return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, out))


class PretextTask:
    """Base class (see the module docstring); ``seed`` drives any sampling the loss does."""

    name: ClassVar[str] = ""

    def __init__(self, ds: ArchDataset, seed: int = 0):
        self.targets: dict[str, torch.Tensor] = {}
        self.seed = int(seed)

    def heads(self, embedding_dim: int) -> nn.ModuleDict:
        raise NotImplementedError

    def loss(self, heads: nn.ModuleDict, z: torch.Tensor,
             batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def describe(self) -> dict:
        raise NotImplementedError


@TASKS.register("fgp")
class FlowTask(PretextTask):
    """FGP (arXiv 2510.18360, methods.md §5): reconstruct the flow surrogate s of every architecture.

    A projection head (hidden :data:`FLOW_HEAD_HIDDEN`) maps the embedding to ŝ ∈ ℝ^k, and
    L_flow = mean over the batch of Σ_d (ŝ_d − s_d)², on the raw surrogates of
    :func:`~archrep.features.flow.surrogates_for` (``flow``: the space's
    :func:`~archrep.features.flow.flow_config` by default). With ``proxy``, the name of a
    dataset column holding a zero-cost proxy (e.g. ``params`` or ``flops``), a second head
    (hidden :data:`PROXY_HEAD_HIDDEN`) ranks it with the pairwise hinge of fine-tuning (margin
    0.5, at most 32 pairs per architecture; rows without a value are skipped), and the loss is
    (1 − ``proxy_weight``)·L_flow + ``proxy_weight``·L_proxy (0.5 / 0.5 in the paper). Which proxy
    the paper used is unknown; no proxy is the default.

    ``standardize`` (ours, off by default): reconstruct each surrogate dimension z-scored over the
    dataset instead of raw. NB201's raw surrogates vary little around their mean (total variance
    about 0.002 against a squared norm near 1.4), so the raw loss mostly asks for the mean.
    """

    def __init__(self, ds: ArchDataset, seed: int = 0, flow: FlowConfig | None = None, proxy: str | None = None,
                 proxy_weight: float = 0.5, standardize: bool = False):
        super().__init__(ds, seed)
        self.flow = flow or flow_config(ds.space)
        if not isinstance(self.flow, FlowConfig):
            raise ArchrepError(f"fgp: flow must be a FlowConfig (see archrep.features.flow.flow_config), "
                               f"got {type(self.flow).__name__}")
        if not (isinstance(proxy_weight, (int, float)) and 0 < proxy_weight < 1):
            raise ArchrepError(f"fgp: proxy_weight must be in (0, 1) (the paper's 0.5), got {proxy_weight!r}")
        self.proxy, self.proxy_weight, self.standardize = proxy, float(proxy_weight), bool(standardize)
        s = surrogates_for(ds, self.flow)
        if self.standardize:
            std = s.std(axis=0)
            s = (s - s.mean(axis=0)) / np.where(std > 0, std, 1.0)
        self.targets["surrogate"] = torch.from_numpy(s.astype(np.float32))
        if proxy is not None:
            values = ds.target(proxy)  # an unknown column lists the dataset's columns
            if np.unique(values[np.isfinite(values)]).size < 2:
                raise ArchrepError(f"fgp: proxy column {proxy!r} of dataset {ds.name!r} has fewer than 2 distinct "
                                   "values, so there is nothing to rank; choose another column or no proxy")
            self.targets["proxy"] = torch.from_numpy(values.astype(np.float32))
            self.hinge = losses.create("hinge", seed=seed)

    def heads(self, embedding_dim):
        heads = {"flow": mlp_head(embedding_dim, FLOW_HEAD_HIDDEN, self.flow.k)}
        if self.proxy is not None:
            heads["proxy"] = mlp_head(embedding_dim, PROXY_HEAD_HIDDEN, 1)
        return nn.ModuleDict(heads)

    def loss(self, heads, z, batch):
        flow = ((heads["flow"](z) - batch["surrogate"]) ** 2).sum(dim=1).mean()
        if self.proxy is None:
            return flow, {"flow_loss": float(flow.detach())}
        known = torch.isfinite(batch["proxy"])
        proxy = self.hinge(heads["proxy"](z[known]).squeeze(-1), batch["proxy"][known])
        total = (1 - self.proxy_weight) * flow + self.proxy_weight * proxy
        return total, {"flow_loss": float(flow.detach()), "proxy_loss": float(proxy.detach())}

    def describe(self):
        return {"flow_config": self.flow.to_dict(), "standardize": self.standardize, "proxy": self.proxy,
                "proxy_weight": self.proxy_weight if self.proxy is not None else None,
                "proxy_margin": self.hinge.margin if self.proxy is not None else None,
                "proxy_pair_ratio": self.hinge.pair_ratio if self.proxy is not None else None,
                "flow_head_hidden": FLOW_HEAD_HIDDEN, "proxy_head_hidden": PROXY_HEAD_HIDDEN}


@TASKS.register("autoencoder")
class AutoencoderTask(PretextTask):
    """arch2vec-style graph autoencoder: reconstruct every node's op and the adjacency.

    The decoder reads the graph embedding z (the one interface every encoder has) with an MLP
    (hidden :data:`DECODER_HIDDEN`) that outputs, for each of the M node slots, logits over the
    V ops plus a "no node" class (so graph sizes are reconstructed too), and one logit per
    upper-triangular slot pair u < v for the edge u -> v. Loss = cross-entropy over the slots +
    binary cross-entropy over the pairs. Unlike arch2vec it is deterministic (no variational
    term) and decodes from one graph-level vector rather than per-node embeddings: the baseline
    pretext task of FGP's comparison, not a generative model.
    """

    def __init__(self, ds: ArchDataset, seed: int = 0):
        super().__init__(ds, seed)
        self.slots, self.vocab = ds.max_nodes, len(ds.op_vocab)
        ops = np.where(ds.ops >= 0, ds.ops, self.vocab).astype(np.int64)
        iu, ju = np.triu_indices(self.slots, k=1)
        real = ds.ops >= 0
        self.targets = {"ops": torch.from_numpy(ops),
                        "edges": torch.from_numpy((ds.adj[:, iu, ju] != 0).astype(np.float32)),
                        "real_pairs": torch.from_numpy(real[:, iu] & real[:, ju])}

    def heads(self, embedding_dim):
        pairs = self.slots * (self.slots - 1) // 2
        out = self.slots * (self.vocab + 1) + pairs
        return nn.ModuleDict({"decoder": mlp_head(embedding_dim, DECODER_HIDDEN, out)})

    def loss(self, heads, z, batch):
        out = heads["decoder"](z)
        op_logits = out[:, :self.slots * (self.vocab + 1)].reshape(len(z), self.slots, self.vocab + 1)
        edge_logits = out[:, self.slots * (self.vocab + 1):]
        op_loss = F.cross_entropy(op_logits.reshape(-1, self.vocab + 1), batch["ops"].reshape(-1))
        edge_loss = (F.binary_cross_entropy_with_logits(edge_logits, batch["edges"])
                     if edge_logits.shape[1] else op_loss.new_zeros(()))
        with torch.no_grad():
            real = batch["ops"] < self.vocab
            op_acc = (op_logits.argmax(-1) == batch["ops"])[real].float().mean()
            pairs = batch["real_pairs"]
            edge_ok = (edge_logits > 0) == (batch["edges"] > 0)
            edge_acc = edge_ok[pairs].float().mean() if pairs.any() else torch.ones(())
        return op_loss + edge_loss, {"op_loss": float(op_loss.detach()), "edge_loss": float(edge_loss.detach()),
                                     "op_accuracy": float(op_acc), "edge_accuracy": float(edge_acc)}

    def describe(self):
        return {"decoder_hidden": DECODER_HIDDEN, "node_slots": self.slots}


def create(method: str, ds: ArchDataset, seed: int = 0, **options) -> PretextTask:
    """The pretext task ``method`` for ``ds``; unknown methods and options list the valid ones."""
    cls = TASKS.get(method)
    valid = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "ds", "seed")]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ArchrepError(f"pre-training method {method!r} takes no option {', '.join(map(repr, unknown))}; "
                           f"valid options: {', '.join(valid) or 'none'}")
    return cls(ds, seed=seed, **options)
