"""``mlp``: the flattened upper-triangular adjacency and flattened one-hot ops -> an MLP.

The input has a fixed size, M(M-1)/2 + M*V for M = the training set's ``max_nodes`` and V ops,
so a dataset with fewer node slots is padded and one with more is accepted only when the extra
slots are empty in every architecture.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import nn

from archrep.errors import ArchrepError
from archrep.features.onehot import onehot_ops
from archrep.models import register_model
from archrep.models.base import EncoderNet, TorchPredictor


class MLPNet(EncoderNet):
    """Linear -> ReLU (-> dropout) per hidden size, then Linear -> 1 score; the graph embedding
    is the last hidden layer's output."""

    def __init__(self, in_dim: int, hidden: list[int], dropout: float):
        super().__init__()
        layers: list[nn.Module] = []
        for h in hidden:
            layers += [nn.Linear(in_dim, h), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            in_dim = h
        layers.append(nn.Linear(in_dim, 1))
        self.mlp = nn.Sequential(*layers)
        self.embedding_dim = in_dim
        self.head_prefix = f"mlp.{len(layers) - 1}."

    def graph_embedding(self, features: torch.Tensor) -> torch.Tensor:
        return self.mlp[:-1](features)

    def score(self, h: torch.Tensor) -> torch.Tensor:
        return self.mlp[-1](h).squeeze(-1)


@register_model("mlp")
class MLPPredictor(TorchPredictor):
    """MLP on [upper-triangular adjacency, one-hot ops], both flattened. Hyper-parameters:
    ``hidden`` (list of layer widths), ``dropout``, plus the trainer's (``TorchPredictor.defaults``)."""

    defaults: ClassVar[dict] = {**TorchPredictor.defaults, "hidden": [256, 256], "dropout": 0.0}

    def _check_config(self) -> None:
        super()._check_config()
        hidden = self.config["hidden"]
        if not hidden or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hidden):
            raise ArchrepError(f"model 'mlp': hidden must be a list of positive layer widths, got {hidden!r}")

    def build_network(self) -> nn.Module:
        m, v = self.data_info["max_nodes"], len(self.data_info["op_vocab"])
        return MLPNet(m * (m - 1) // 2 + m * v, self.config["hidden"], self.config["dropout"])

    def encode(self, ops: np.ndarray, adj: np.ndarray) -> dict[str, torch.Tensor]:
        m = self.data_info["max_nodes"]
        if ops.shape[1] > m:
            if (ops[:, m:] >= 0).any():
                raise ArchrepError(f"model 'mlp' was trained on graphs of at most {m} nodes; this dataset has "
                                   f"graphs of {int((ops >= 0).sum(1).max())} nodes (use a graph model such as gin)")
            ops, adj = ops[:, :m], adj[:, :m, :m]
        elif ops.shape[1] < m:
            pad = m - ops.shape[1]
            ops = np.pad(ops, ((0, 0), (0, pad)), constant_values=-1)
            adj = np.pad(adj, ((0, 0), (0, pad), (0, pad)))
        iu, ju = np.triu_indices(m, k=1)
        x = onehot_ops(ops, len(self.data_info["op_vocab"])).reshape(len(ops), -1)
        features = np.concatenate([adj[:, iu, ju].astype(np.float32), x], axis=1)
        return {"features": torch.from_numpy(features)}
