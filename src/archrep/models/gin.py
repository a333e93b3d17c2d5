"""``gin``: a dense, batched Graph Isomorphism Network on padded tensors.

Per layer, h <- MLP((1 + eps) h + A h) (Xu et al., ICLR 2019) with A the aggregation matrix
of the chosen ``direction``: "undirected" (default) A = adj + adjᵀ, "forward" each node sums
its predecessors (A = adjᵀ), "backward" its successors (A = adj). Padding nodes are zeroed
after every layer (they have no edges, so they never leak into real nodes); the readout sums or
averages the real nodes only, then an MLP head gives one score (or, ``logsumexp``, the head scores
each node and the readout adds them up in log space, :data:`archrep.models.base.READOUTS`). With
``jumping_knowledge`` the readout pools every layer's states concatenated (Xu et al., ICML 2018),
as FGP's GIN encoder does (research/methods.md §5), so the graph embedding is ``layers x hidden`` wide. Everything is batched matrix
algebra over (B, M, ·) tensors, so inference on a whole benchmark is a handful of bmm calls.
With ``node_features`` (the dataset's per-node features, :class:`TorchPredictor`), the input
embedding is a Linear of [one-hot op ‖ standardised features].
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import nn

from archrep.errors import ArchrepError
from archrep.models import register_model
from archrep.models.base import (NODE_FEATURE_DEFAULTS, READOUTS, SPARSE_FROM, EncoderNet, TorchPredictor,
                                 padded_tensors, pool_nodes)

DIRECTIONS = ("undirected", "forward", "backward")


class DenseGIN(EncoderNet):
    """Op one-hots (B, M, V), aggregation matrix (B, M, M), node mask (B, M) [, node features (B,
    M, ``node_features``)] -> scores (B,); the graph embedding is the pooled node states (``hidden``
    wide, or every layer's concatenated, ``layers x hidden``, with ``jumping_knowledge``)."""

    node_axes: ClassVar[dict] = {"x": (1,), "agg": (1, 2), "mask": (1,), "node_features": (1,)}

    def __init__(self, vocab_size: int, hidden: int, layers: int, readout: str, train_eps: bool, dropout: float,
                 node_features: int = 0, jumping_knowledge: bool = False):
        super().__init__()
        self.readout, self.jumping_knowledge = readout, jumping_knowledge
        self.embedding_dim = hidden * (layers if jumping_knowledge else 1)
        self.embed = nn.Linear(vocab_size, hidden)
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
            for _ in range(layers))
        eps = torch.zeros(layers)
        self.eps = nn.Parameter(eps) if train_eps else nn.Buffer(eps)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(nn.Linear(self.embedding_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.add_node_features(node_features, hidden)

    def layer_states(self, x: torch.Tensor, agg: torch.Tensor, mask: torch.Tensor,
                     node_features: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Per-node states (B, M, hidden) after each GIN layer; padding rows are zero."""
        m = mask.unsqueeze(-1)
        h = (self.embed(x) + self.node_feature_term(node_features)) * m
        agg = agg.to(h.dtype)
        if agg.shape[-1] >= SPARSE_FROM:  # large graphs are sparse: O(edges) aggregation
            agg = agg.to_sparse()
        states = []
        for k, layer in enumerate(self.layers):
            h = self.dropout(layer((1 + self.eps[k]) * h + torch.bmm(agg, h))) * m
            states.append(h)
        return states

    def node_states(self, x: torch.Tensor, agg: torch.Tensor, mask: torch.Tensor,
                    node_features: torch.Tensor | None = None) -> torch.Tensor:
        """Per-node states (B, M, hidden) after the last GIN layer; padding rows are zero."""
        return self.layer_states(x, agg, mask, node_features)[-1]

    def node_embeddings(self, x: torch.Tensor, agg: torch.Tensor, mask: torch.Tensor,
                        node_features: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.layer_states(x, agg, mask, node_features)
        return (torch.cat(states, dim=-1) if self.jumping_knowledge else states[-1]), mask > 0

    def graph_embedding(self, x: torch.Tensor, agg: torch.Tensor, mask: torch.Tensor,
                        node_features: torch.Tensor | None = None) -> torch.Tensor:
        return pool_nodes(*self.node_embeddings(x, agg, mask, node_features), self.readout)


@register_model("gin")
class GINPredictor(TorchPredictor):
    """Dense GIN. Hyper-parameters: ``hidden`` width, ``layers``, ``direction`` (undirected /
    forward / backward), ``readout`` (sum / mean over real nodes, or logsumexp of per-node
    scores), ``jumping_knowledge`` (pool every layer's states concatenated), ``train_eps``
    (learn eps per layer, else eps = 0),
    ``dropout``, ``node_features`` (read the dataset's per-node features when
    it has any, :class:`TorchPredictor`), plus the trainer's (``TorchPredictor.defaults``)."""

    defaults: ClassVar[dict] = {**TorchPredictor.defaults, "epochs": 200, "hidden": 64, "layers": 3,
                                "direction": "undirected", "readout": "sum", "jumping_knowledge": False,
                                "train_eps": True, "dropout": 0.0, **NODE_FEATURE_DEFAULTS}
    #: ``fgp``: FGP's GIN encoder and its NB201 GNN training settings (research/methods.md §5)
    variants: ClassVar[dict] = {"fgp": {"hidden": 128, "layers": 3, "dropout": 0.1, "readout": "mean",
                                        "jumping_knowledge": True, "weight_decay": 1e-6, "batch_size": 16}}
    choices: ClassVar[dict] = {**TorchPredictor.choices, "direction": DIRECTIONS, "readout": READOUTS}

    def _check_config(self) -> None:
        super()._check_config()
        c = self.config
        if c["hidden"] < 1 or c["layers"] < 1:
            raise ArchrepError(f"model 'gin': hidden and layers must be >= 1, got {c['hidden']} and {c['layers']}")

    def build_network(self) -> nn.Module:
        c = self.config
        return DenseGIN(len(self.data_info["op_vocab"]), c["hidden"], c["layers"], c["readout"],
                        c["train_eps"], c["dropout"], self.node_feature_count, c["jumping_knowledge"])

    def encode(self, ops: np.ndarray, adj: np.ndarray) -> dict[str, torch.Tensor]:
        t = padded_tensors(ops, adj, len(self.data_info["op_vocab"]))
        a = t.pop("adj")
        direction = self.config["direction"]
        if direction == "undirected":
            a = a + a.transpose(1, 2)
        elif direction == "forward":
            a = a.transpose(1, 2).contiguous()
        t["agg"] = a
        return t
