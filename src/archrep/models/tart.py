"""``tart`` and ``transformer``: a standard Transformer encoder over architecture tokens.

TART (arXiv 2501.02007) turns every node and every edge of an architecture into a Laplacian
(LAP) token (:mod:`archrep.features.lap`), runs a plain Transformer encoder over the tokens and
maps the pooled output to one score with a fully connected head. ``transformer`` is the paper's
pure-Transformer baseline: the same encoder, head and trainer, but one token per node made of
its op feature only, with no eigenvectors and no edge tokens, so it never sees the adjacency.

Eigenvectors are computed once per dataset in ``encode`` (one batched ``laplacian_eigvecs``
call); the tokens are assembled in the network's forward from ops, adjacency and eigenvectors, so
that training can flip each graph's eigenvector signs at random (TokenGT's augmentation, drawn
from a generator seeded with the model seed) while evaluation uses the eigenvectors as computed.
Padding tokens are masked in attention and in pooling, so a prediction does not depend on how
far its batch or dataset is padded. With ``node_features`` (the dataset's per-node features,
:class:`~archrep.models.base.TorchPredictor`), each node token's embedding also gets the linear
projection of its node's standardised features (edge tokens get none).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from archrep.errors import ArchrepError
from archrep.features.lap import LAYOUTS, OP_FEATURES, laplacian_eigvecs, tart_token_dim, tart_tokens
from archrep.models import register_model
from archrep.models.base import NODE_FEATURE_DEFAULTS, EncoderNet, TorchPredictor, pool_nodes

#: ``logsumexp`` (ours, for latency): the score head reads every node token and the prediction is
#: log(sum_v exp(score_v)), as the ``logsumexp`` readout of :data:`archrep.models.base.READOUTS`
POOLINGS = ("mean", "sum", "graph_token", "logsumexp")
ACTIVATIONS = ("gelu", "relu")
#: TART's setting (methods.md §1): the paper's 6 layers, df = 1 and 30 epochs, the rest from its
#: pure-Transformer ancestor (width 256, 16 heads, FF 256, MSE, Adam lr 1e-4, wd 1e-3, batch 40)
#: ours: ranks well from a few hundred architectures in about a minute on one CPU thread
TUNED = {"op_features": "onehot", "d_model": 32, "heads": 4, "ff": 64, "epochs": 150, "loss": "hinge",
         "optimizer": "adamw", "lr": 3e-3, "weight_decay": 1e-4, "batch_size": 64}


class TokenTransformer(EncoderNet):
    """Tokens (B, T, D) + token mask (B, T) -> Linear -> Transformer encoder -> pool -> Linear -> (B,);
    the graph embedding is the pooled output (``d_model`` wide).

    ``pooling``: "mean" or "sum" over real tokens, "graph_token" (TokenGT's learned [graph]
    token prepended to every sequence; its output is the graph's), or "logsumexp" (:data:`POOLINGS`;
    its graph embedding is the mean of the node tokens' outputs). Subclasses turn their inputs
    into tokens in :meth:`tokens`, node tokens first and in node order (token j is node j), so that
    ``node_features`` (B, M, ``node_features``), when the network reads them, are projected and
    added to the first M token embeddings.
    """

    def __init__(self, token_dim: int, d_model: int, heads: int, layers: int, ff: int, dropout: float,
                 activation: str, norm_first: bool, pooling: str, node_features: int = 0):
        super().__init__()
        self.pooling, self.embedding_dim = pooling, d_model
        self.embed = nn.Linear(token_dim, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, activation, batch_first=True,
                                           norm_first=norm_first)
        # pre-LN stacks need a final norm; nested tensors cannot run pre-LN layers (torch would warn)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model) if norm_first else None,
                                             enable_nested_tensor=False)
        self.graph_token = nn.Parameter(torch.zeros(1, 1, d_model)) if pooling == "graph_token" else None
        self.head = nn.Linear(d_model, 1)
        self.add_node_features(node_features, d_model)

    def tokens(self, ops: torch.Tensor, **graph: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    @property
    def readout(self) -> str:
        """The pooling under the name :meth:`EncoderNet.forward` reads."""
        return self.pooling

    def graph_embedding(self, ops: torch.Tensor, node_features: torch.Tensor | None = None,
                        **graph: torch.Tensor) -> torch.Tensor:
        if self.pooling == "logsumexp":
            return pool_nodes(*self.node_embeddings(ops, node_features, **graph), "mean")
        h, mask = self.token_states(ops, node_features, **graph)
        if self.pooling == "graph_token":
            return h[:, 0]
        return pool_nodes(h, mask, self.pooling)

    def node_embeddings(self, ops: torch.Tensor, node_features: torch.Tensor | None = None,
                        **graph: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The node tokens' outputs (B, M, ``d_model``) and the real-node mask (``ops >= 0``)."""
        h, _ = self.token_states(ops, node_features, **graph)
        offset = 1 if self.graph_token is not None else 0
        return h[:, offset:offset + ops.shape[1]], ops >= 0

    def token_states(self, ops: torch.Tensor, node_features: torch.Tensor | None = None,
                     **graph: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's output per token (B, T, ``d_model``) and the real-token mask; with a
        [graph] token, it comes first."""
        tokens, mask = self.tokens(ops, **graph)
        h = self.embed(tokens)
        if self.node_feature_proj is not None:  # node slots past a graph's nodes have zero features
            f = self.node_feature_term(node_features)[:, :h.shape[1]]
            h = h + F.pad(f, (0, 0, 0, h.shape[1] - f.shape[1]))
        if self.graph_token is not None:
            h = torch.cat([self.graph_token.expand(len(h), -1, -1), h], dim=1)
            mask = torch.cat([mask.new_ones(len(mask), 1), mask], dim=1)
        return self.encoder(h, src_key_padding_mask=~mask), mask


class NodeOpTransformer(TokenTransformer):
    """The pure-Transformer baseline's tokens: one per real node, its op feature only."""

    node_axes: ClassVar[dict] = {"ops": (1,), "node_features": (1,)}

    def __init__(self, num_ops: int, op_features: str, **encoder):
        super().__init__(1 if op_features == "index" else num_ops, **encoder)
        self.num_ops, self.op_features = num_ops, op_features

    def tokens(self, ops, **graph):
        mask = ops >= 0
        op = ops.clamp(min=0)
        if self.op_features == "index":  # same scalar as a TART node token, (index + 1) / num_ops
            x = ((op + 1).float() / self.num_ops).unsqueeze(-1)
        else:
            x = nn.functional.one_hot(op, self.num_ops).float()
        return x * mask.unsqueeze(-1), mask


class LAPTransformer(TokenTransformer):
    """TART's tokens, assembled by :func:`tart_tokens` from ops, adjacency and eigenvectors, with
    a random sign per eigenvector per graph in training mode (``generator``, seeded) only."""

    node_axes: ClassVar[dict] = {"ops": (1,), "adj": (1, 2), "eigvecs": (1,), "node_features": (1,)}

    def __init__(self, num_ops: int, op_features: str, dp: int, layout: str, sign_flip: bool, seed: int,
                 **encoder):
        super().__init__(tart_token_dim(dp, op_features, num_ops, layout), **encoder)
        self.token_cfg = {"dp": dp, "op_features": op_features, "num_ops": num_ops, "layout": layout}
        self.sign_flip = sign_flip
        self.generator = torch.Generator().manual_seed(seed)

    def tokens(self, ops, adj, eigvecs):
        return tart_tokens(ops, adj, **self.token_cfg, eigvecs=eigvecs,
                           sign_flip=self.sign_flip and self.training, generator=self.generator)


@register_model("tart")
class TARTPredictor(TorchPredictor):
    """TART: LAP tokens -> Transformer encoder -> fully connected head.

    Token hyper-parameters (:mod:`archrep.features.lap`): ``dp`` eigenvector entries per node
    (paper: 3), ``op_features`` "index" (paper: df = 1, the op index compressed to one number) or
    "onehot", ``layout`` of the extra columns (default: node/edge one-hot + endpoint indices, our
    reading of the paper's "+4"), ``sign_flip`` per-eigenvector sign augmentation in training.
    Encoder: ``layers`` (paper: 6), ``d_model``, ``heads``, ``ff`` (feed-forward width),
    ``dropout``, ``activation``, ``norm_first`` (pre-LayerNorm), ``pooling`` (mean / sum over
    real tokens, or a learned [graph] token), ``node_features`` (read the dataset's per-node
    features when it has any, added to the node tokens), plus the trainer's (``TorchPredictor.defaults``).

    Paper vs ours. The defaults are the paper's: 6 layers, df = 1, dp = 3, 30 epochs; its width,
    heads, optimiser and lr are unknown, so they come from the pure-Transformer script it descends
    from: width 256, 16 heads, FF 256, pre-LN, GELU, mean pooling, MSE, Adam lr 1e-4, wd 1e-3,
    batch 40 (methods.md §1). The ``"archrep"`` variant (:data:`TUNED`) is ours, chosen to rank
    well from a few hundred architectures in about a minute on one CPU thread: one-hot ops (df = 1
    ranks far worse: tau 0.54 vs 0.78 at 50 epochs), d_model 32, 4 heads, FF 64, the pairwise
    hinge loss, AdamW lr 3e-3, batch 64, 150 epochs; it keeps 6 layers, dp = 3, the "+4" layout,
    sign flips, pre-LN, GELU and mean pooling. Tuned on NB201 ``cifar10`` (space-fraction, seed 0):
    Kendall tau 0.882 in 59 s at 781 training architectures; wider (64), shallower (3-4 layers),
    shorter (50-100 epochs), dropout 0.1, a [graph] token and the MSE + hinge loss all ranked
    lower (tau 0.69-0.86). The benchmark's figures are in benchmarks/results/.
    """

    defaults: ClassVar[dict] = {
        **TorchPredictor.defaults, "epochs": 30, "batch_size": 40, "lr": 1e-4, "weight_decay": 1e-3,
        "optimizer": "adam", "loss": "mse", "d_model": 256, "heads": 16, "layers": 6, "ff": 256, "dropout": 0.0,
        "activation": "gelu", "norm_first": True, "pooling": "mean", "op_features": "index", "dp": 3,
        "layout": "type_onehot+endpoints", "sign_flip": True, **NODE_FEATURE_DEFAULTS,
    }
    choices: ClassVar[dict] = {**TorchPredictor.choices, "pooling": POOLINGS, "activation": ACTIVATIONS,
                               "op_features": OP_FEATURES, "layout": tuple(LAYOUTS)}
    variants: ClassVar[dict] = {"archrep": TUNED, "onehot": {"op_features": "onehot"},
                                "no_sign_flip": {"sign_flip": False}}

    def _check_config(self) -> None:
        super()._check_config()
        c = self.config
        for key in ("d_model", "heads", "layers", "ff", *(("dp",) if "dp" in c else ())):
            if c[key] < 1:
                raise ArchrepError(f"model {self.name!r}: {key} must be >= 1, got {c[key]}")
        if c["d_model"] % c["heads"]:
            raise ArchrepError(f"model {self.name!r}: d_model={c['d_model']} is not divisible by heads={c['heads']}; "
                               f"each head gets d_model / heads dimensions, so pick heads dividing d_model (e.g. heads=4, d_model=32)")
        if not 0 <= c["dropout"] < 1:
            raise ArchrepError(f"model {self.name!r}: dropout must be in [0, 1), got {c['dropout']}")

    def _encoder_cfg(self) -> dict:
        c = self.config
        return {**{k: c[k] for k in ("d_model", "heads", "layers", "ff", "dropout", "activation", "norm_first",
                                     "pooling")}, "node_features": self.node_feature_count}

    def build_network(self) -> nn.Module:
        c = self.config
        return LAPTransformer(len(self.data_info["op_vocab"]), c["op_features"], c["dp"], c["layout"],
                              c["sign_flip"], c["seed"], **self._encoder_cfg())

    def encode(self, ops: np.ndarray, adj: np.ndarray) -> dict[str, torch.Tensor]:
        """Ops (N, M) int64, adjacency (N, M, M) bool and eigenvectors (N, M, dp) of the whole dataset."""
        ops_t = torch.from_numpy(ops.astype(np.int64))
        adj_t = torch.from_numpy(np.asarray(adj) != 0)
        return {"ops": ops_t, "adj": adj_t, "eigvecs": laplacian_eigvecs(adj_t, ops_t >= 0, self.config["dp"])}


@register_model("transformer")
class TransformerPredictor(TARTPredictor):
    """The pure-Transformer baseline of TART: node tokens of op features only (no LAP, no edge
    tokens, so no structure at all; node features, when the dataset has them, are added to the
    node tokens as in ``tart``), the same encoder, head, trainer and defaults as ``tart``,
    except ``op_features`` "onehot" (the DeepNets-1M baseline script's Linear(15 -> 256)); the
    ``"archrep"`` variant is tart's, without the LAP."""

    defaults: ClassVar[dict] = {**{k: v for k, v in TARTPredictor.defaults.items()
                                   if k not in ("dp", "layout", "sign_flip")}, "op_features": "onehot"}
    choices: ClassVar[dict] = {k: v for k, v in TARTPredictor.choices.items() if k != "layout"}
    variants: ClassVar[dict] = {"archrep": TUNED}

    def build_network(self) -> nn.Module:
        return NodeOpTransformer(len(self.data_info["op_vocab"]), self.config["op_features"], **self._encoder_cfg())

    def encode(self, ops: np.ndarray, adj: np.ndarray) -> dict[str, torch.Tensor]:
        """Ops (N, M) int64 only: the baseline ignores the adjacency."""
        return {"ops": torch.from_numpy(ops.astype(np.int64))}
