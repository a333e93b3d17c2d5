"""``gatedgcn``: a dense, batched residual gated graph ConvNet (FGP's GNN encoder).

ResGatedGCN (Bresson & Laurent, 2017) updates node i from its neighbours j with edge gates:

    x_i' = W_s x_i + Σ_j A_ij σ(W_k x_i + W_q x_j) ⊙ W_v x_j

FGP's encoder (research/methods.md §5) wraps it as: an input Linear gives x₀; each layer
computes x = 0.2·x₀ + 0.8·conv(x), then ReLU and dropout; the graph is undirected (A = adj +
adjᵀ, binarised); the readout is the mean of the real nodes, then Linear -> ReLU -> Linear.
Gates are computed for all (i, j) pairs of a padded (B, M, M, hidden) tensor and masked by A,
so a batch is a few dense products; padding nodes are zeroed after every layer.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import nn

from archrep.errors import ArchrepError
from archrep.models import register_model
from archrep.models.base import EncoderNet, TorchPredictor, padded_tensors

#: FGP's mix of the input embedding into every layer: x = RESIDUAL x₀ + (1 - RESIDUAL) conv(x)
RESIDUAL = 0.2


class ResGatedConv(nn.Module):
    """One residual gated graph convolution on dense inputs: x (B, M, H), A (B, M, M) -> (B, M, H)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.key, self.query, self.value = (nn.Linear(hidden, hidden) for _ in range(3))
        self.skip = nn.Linear(hidden, hidden, bias=False)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.key(x).unsqueeze(2) + self.query(x).unsqueeze(1))  # (B, i, j, H)
        messages = (gate * adj.unsqueeze(-1) * self.value(x).unsqueeze(1)).sum(dim=2)
        return self.skip(x) + messages


class DenseGatedGCN(EncoderNet):
    """Op one-hots (B, M, V), undirected adjacency (B, M, M), node mask (B, M) -> scores (B,);
    the graph embedding is the mean of the real nodes' final states (``hidden`` wide)."""

    node_axes: ClassVar[dict] = {"x": (1,), "adj": (1, 2), "mask": (1,)}

    def __init__(self, vocab_size: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.embedding_dim = hidden
        self.embed = nn.Linear(vocab_size, hidden)
        self.convs = nn.ModuleList(ResGatedConv(hidden) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def graph_embedding(self, x: torch.Tensor, adj: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1)
        x0 = self.embed(x) * m
        h = x0
        for conv in self.convs:
            h = self.dropout(torch.relu(RESIDUAL * x0 + (1 - RESIDUAL) * conv(h, adj))) * m
        return h.sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1)


@register_model("gatedgcn")
class GatedGCNPredictor(TorchPredictor):
    """Dense residual gated GCN (FGP's GatedGCN encoder, see the module docstring).

    Hyper-parameters: ``hidden`` width, ``layers``, ``dropout``, plus the trainer's
    (``TorchPredictor.defaults``). Defaults are FGP's NB201 GNN settings (methods.md §5):
    hidden 128, 3 layers, dropout 0.1, AdamW lr 1e-3, weight decay 1e-6, batch 16, the pairwise
    hinge (margin 0.5, 32 pairs per architecture); ours: 200 epochs instead of the paper's 500
    (CPU time) with the project's cosine schedule and early stopping (patience 30).
    """

    defaults: ClassVar[dict] = {**TorchPredictor.defaults, "epochs": 200, "batch_size": 16, "weight_decay": 1e-6,
                                "hidden": 128, "layers": 3, "dropout": 0.1}

    def _check_config(self) -> None:
        super()._check_config()
        c = self.config
        if c["hidden"] < 1 or c["layers"] < 1:
            raise ArchrepError(f"model 'gatedgcn': hidden and layers must be >= 1, got {c['hidden']} and {c['layers']}")
        if not 0 <= c["dropout"] < 1:
            raise ArchrepError(f"model 'gatedgcn': dropout must be in [0, 1), got {c['dropout']}")

    def build_network(self) -> nn.Module:
        c = self.config
        return DenseGatedGCN(len(self.data_info["op_vocab"]), c["hidden"], c["layers"], c["dropout"])

    def encode(self, ops: np.ndarray, adj: np.ndarray) -> dict[str, torch.Tensor]:
        """One-hot ops, the undirected 0/1 adjacency and the node mask of the whole dataset."""
        t = padded_tensors(ops, adj, len(self.data_info["op_vocab"]))
        t["adj"] = ((t["adj"] + t["adj"].transpose(1, 2)) > 0).float()
        return t
