"""``vqvae``: a VQ-VAE over cell graphs: every node of an architecture becomes one discrete code.

Arch-LLM (arXiv 2503.22063, methods.md §4) turns arch2vec's graph VAE into a VQ-VAE so that an
architecture is a short sequence of integers a language model can write. Here:

* **Encoder**: the dense GIN of :mod:`archrep.models.gin` (:class:`~archrep.models.gin.DenseGIN`,
  its node states, not its pooled readout) on the bidirectional adjacency A + Aᵀ (arch2vec's
  "prep method 4"), ``layers`` layers of width ``hidden``, learnable eps; the input of a node is
  its op one-hot, plus (``positional``, default on) a one-hot of its slot, because cells come in
  a fixed topological order and 1-WL message passing alone cannot tell some slots apart. A linear
  map gives the per-node latent z_e ∈ ℝ^``code_dim``.
* **Quantiser**: each node's z_e is replaced by its nearest (Euclidean) codebook vector e_k,
  k ∈ [0, ``codebook_size``) (K = 512 by default). The straight-through estimator
  z_q = z_e + sg[e_k − z_e] passes the decoder's gradient to the encoder unchanged. Loss terms:
  the codebook loss ‖sg[z_e] − e‖² and the commitment loss β‖z_e − sg[e]‖² with
  β = ``beta`` = 0.25 (the standard value; it keeps the encoder close to its codes). With
  ``ema`` the codebook instead follows exponential moving averages of the z_e assigned to each
  code (decay ``ema_decay``, Laplace-smoothed counts) and the codebook loss is dropped.
  Against codebook collapse (ours; the paper gives no detail): before training the codebook is
  set to the latents of random real nodes (data-dependent initialisation), and with
  ``restart_dead`` (default on) every code no batch of an epoch used is moved onto such a latent
  at the end of the epoch but the last of a :meth:`VQVAE.fit` call (``history`` records
  ``codes_used`` / ``codes_restarted``).
* **Decoder**: the M code vectors plus a learned slot embedding go through a small Transformer
  encoder (``decoder_layers``, ``decoder_heads``), so every node is decoded knowing the whole code
  sequence; a linear head gives per slot logits over the V ops plus a "no node" class (padding,
  so NB101's variable sizes are reconstructed), and a pair MLP on [h_u, h_v] gives the logit of
  the edge u -> v for every u < v. (arch2vec's decoder is ops = Linear(z), adj = σ(zzᵀ); the
  autoencoder of :mod:`archrep.pretrain.tasks` decodes from one pooled vector; neither reads a
  per-node code sequence, so neither is reused.)
* **Reconstruction loss**: cross-entropy over the V + 1 slot classes + binary cross-entropy over
  the upper-triangular pairs. Total = recon + codebook (unless ``ema``) + β · commitment.

**The continuous baseline** (``bottleneck="gaussian"``): the same encoder and decoder with
arch2vec's Gaussian bottleneck instead of the quantiser, so that only the latent type differs in a
comparison. The encoder gives per node a mean μ and a log-variance (a second linear map); training
decodes z = μ + σ·ε and adds ``kl_weight`` times the KL divergence to N(0, I) per latent element
(the mean over nodes and dimensions). The default ``kl_weight=None`` is arch2vec's weighting:
its KL term is the per-node KL summed over dimensions and divided by batch size × nodes, i.e.
``code_dim / (batch_size * max_nodes)`` times ours (0.0625 for NB201, 0.071 for NB101). :meth:`VQVAE.sample` decodes latents drawn from the
standard prior N(0, I) or (``prior="empirical"``, arch2vec's generation protocol) from
N(μ̂, σ̂), per slot and dimension the mean and standard deviation of the training cells' μ, kept
with the model after :meth:`VQVAE.fit`.

Training: Adam (``lr`` 1e-3), ``batch_size`` 32, gradient clip 5 (arch2vec's settings), a
constant learning rate (``schedule="constant"``, arch2vec's) or, ours, ``"cosine"``: decayed to
zero over the epochs of one :meth:`VQVAE.fit` call, which steadies the last epochs (with a constant
rate the held-out reconstruction of NB201 swings by several points from epoch to epoch);
``seed`` fixes initialisation and batch order. :meth:`VQVAE.save` writes ``config.json`` and
``model.pt`` (a state dict) to a folder, :meth:`VQVAE.load` reads them back.

Cells are given as a :class:`~archrep.spaces.enumeration.CellTable` (or anything with ``ops`` /
``adj`` arrays) or an ``(ops, adj)`` pair: ops (N, M) op indices padded with -1, adj (N, M, M) 0/1.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from archrep.errors import ArchrepError
from archrep.generate.artifact import (
    config_from_dict,
    read_config,
    read_state,
    resolve_config,
    save_folder,
)
from archrep.models.gin import DenseGIN
from archrep.train import metrics
from archrep.train.checkpoint import EpochCheckpoint, array_digest

FORMAT = 1
BOTTLENECKS = ("vq", "gaussian")
SCHEDULES = ("constant", "cosine")


@dataclass
class VQVAEConfig:
    """Hyper-parameters (see the module docstring). ``vocab_size`` and ``max_nodes`` describe
    the space (V ops including input/output, M node slots) and are required."""

    vocab_size: int
    max_nodes: int
    hidden: int = 128
    layers: int = 4
    code_dim: int = 16
    codebook_size: int = 512
    beta: float = 0.25
    ema: bool = False
    ema_decay: float = 0.99
    positional: bool = True
    restart_dead: bool = True
    bottleneck: str = "vq"
    kl_weight: float | None = None
    schedule: str = "constant"
    decoder_dim: int = 128
    decoder_layers: int = 2
    decoder_heads: int = 4
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    grad_clip: float = 5.0
    seed: int = 0

    def __post_init__(self):
        ints = ("vocab_size", "max_nodes", "hidden", "layers", "code_dim", "codebook_size", "decoder_dim",
                "decoder_layers", "decoder_heads", "batch_size")
        for name in ints:
            if int(getattr(self, name)) < 1:
                raise ArchrepError(f"vqvae: {name} must be >= 1, got {getattr(self, name)!r}")
        if self.max_nodes < 2:
            raise ArchrepError(f"vqvae: max_nodes must be >= 2, got {self.max_nodes}")
        if self.decoder_dim % self.decoder_heads:
            raise ArchrepError(f"vqvae: decoder_dim ({self.decoder_dim}) must be divisible by "
                               f"decoder_heads ({self.decoder_heads})")
        if self.bottleneck not in BOTTLENECKS:
            raise ArchrepError(f"vqvae: bottleneck must be one of {', '.join(BOTTLENECKS)}, got {self.bottleneck!r}")
        if self.kl_weight is not None and not self.kl_weight >= 0:
            raise ArchrepError(f"vqvae: kl_weight must be >= 0 (or None for arch2vec's), got {self.kl_weight!r}")
        if self.schedule not in SCHEDULES:
            raise ArchrepError(f"vqvae: schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if not self.beta >= 0 or not 0 < self.ema_decay < 1 or not self.lr > 0 or int(self.epochs) < 0:
            raise ArchrepError("vqvae: need beta >= 0, 0 < ema_decay < 1, lr > 0 and epochs >= 0; got "
                               f"{self.beta}, {self.ema_decay}, {self.lr}, {self.epochs}")

    @classmethod
    def from_dict(cls, d: dict) -> "VQVAEConfig":
        return config_from_dict(cls, d, "vqvae")


class VectorQuantizer(nn.Module):
    """Nearest-neighbour quantisation of (..., D) vectors onto a (K, D) codebook (module docstring)."""

    def __init__(self, codebook_size: int, dim: int, beta: float, ema: bool, decay: float):
        super().__init__()
        self.beta, self.ema, self.decay = float(beta), bool(ema), float(decay)
        init = torch.empty(codebook_size, dim).uniform_(-1 / codebook_size, 1 / codebook_size)
        if self.ema:
            self.codebook = nn.Buffer(init)
            self.ema_count = nn.Buffer(torch.zeros(codebook_size))
            self.ema_sum = nn.Buffer(init.clone())
        else:
            self.codebook = nn.Parameter(init)

    def indices(self, z: torch.Tensor) -> torch.Tensor:
        flat = z.reshape(-1, z.shape[-1])
        d = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.t()
             + self.codebook.pow(2).sum(1)[None, :])
        return d.argmin(dim=1).reshape(z.shape[:-1])

    @torch.no_grad()
    def restart(self, z: torch.Tensor, used: torch.Tensor, generator: torch.Generator) -> int:
        """Move every code not in ``used`` (bool, K) onto a random row of ``z`` (n, D); returns how
        many moved. At the first call (nothing used yet) this is the data-dependent initialisation."""
        dead = torch.nonzero(~used).squeeze(1)
        if len(dead) == 0 or len(z) == 0:
            return 0
        pick = torch.randint(len(z), (len(dead),), generator=generator).to(z.device)
        self.codebook[dead] = z[pick].to(self.codebook.dtype)
        if self.ema:
            self.ema_sum[dead] = self.codebook[dead]
            self.ema_count[dead] = 1.0
        return int(len(dead))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(z_q with straight-through gradient, code indices, codebook loss, commitment loss)."""
        idx = self.indices(z)
        e = self.codebook[idx]
        if self.ema and self.training:
            with torch.no_grad():
                onehot = F.one_hot(idx.reshape(-1), self.codebook.shape[0]).to(z.dtype)
                self.ema_count.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
                self.ema_sum.mul_(self.decay).add_(onehot.t() @ z.reshape(-1, z.shape[-1]).detach(),
                                                   alpha=1 - self.decay)
                n = self.ema_count.sum()
                count = (self.ema_count + 1e-5) / (n + 1e-5 * len(self.ema_count)) * n
                self.codebook.copy_(self.ema_sum / count[:, None])
        codebook_loss = z.new_zeros(()) if self.ema else F.mse_loss(e, z.detach())
        commitment = F.mse_loss(z, e.detach())
        zq = z + (e - z).detach()
        return zq, idx, codebook_loss, commitment


class VQVAENet(nn.Module):
    """Encoder (DenseGIN node states -> z_e), quantiser or Gaussian bottleneck, Transformer decoder
    (module docstring)."""

    def __init__(self, c: VQVAEConfig):
        super().__init__()
        self.c = c
        m = c.max_nodes
        in_dim = c.vocab_size + (m if c.positional else 0)
        self.gin = DenseGIN(in_dim, c.hidden, c.layers, readout="sum", train_eps=True, dropout=0.0)
        self.gin.head = nn.Identity()  # the score head of the predictor is not used here
        self.to_latent = nn.Linear(c.hidden, c.code_dim)
        if c.bottleneck == "vq":
            self.quantizer = VectorQuantizer(c.codebook_size, c.code_dim, c.beta, c.ema, c.ema_decay)
        else:
            self.to_logvar = nn.Linear(c.hidden, c.code_dim)
            self.latent_mean = nn.Buffer(torch.zeros(m, c.code_dim))
            self.latent_std = nn.Buffer(torch.ones(m, c.code_dim))
        self.from_code = nn.Linear(c.code_dim, c.decoder_dim)
        self.slot = nn.Parameter(torch.randn(m, c.decoder_dim) * 0.02)
        layer = nn.TransformerEncoderLayer(c.decoder_dim, c.decoder_heads, 2 * c.decoder_dim, dropout=0.0,
                                           batch_first=True)
        self.decoder = nn.TransformerEncoder(layer, c.decoder_layers, enable_nested_tensor=False)
        self.op_head = nn.Linear(c.decoder_dim, c.vocab_size + 1)
        self.edge_head = nn.Sequential(nn.Linear(2 * c.decoder_dim, c.decoder_dim), nn.ReLU(),
                                       nn.Linear(c.decoder_dim, 1))
        iu, ju = np.triu_indices(m, k=1)
        self.iu, self.ju = nn.Buffer(torch.from_numpy(iu)), nn.Buffer(torch.from_numpy(ju))
        self.initialised = nn.Buffer(torch.zeros((), dtype=torch.bool))

    def node_states(self, ops: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """ops (B, M) long with -1 pads, adj (B, M, M) float -> GIN node states (B, M, hidden)."""
        c = self.c
        mask = (ops >= 0).float()
        x = F.one_hot(ops.clamp(min=0), c.vocab_size).float() * mask.unsqueeze(-1)
        if c.positional:
            pos = torch.eye(c.max_nodes, device=ops.device).expand(len(ops), -1, -1)
            x = torch.cat([x, pos], dim=-1)
        agg = adj + adj.transpose(1, 2)
        return self.gin.node_states(x, agg, mask)

    def encode(self, ops: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """z_e (B, M, code_dim): the latent before quantisation (the mean μ for "gaussian")."""
        return self.to_latent(self.node_states(ops, adj))

    def decode(self, zq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, M, code_dim) code vectors -> op logits (B, M, V + 1), edge logits (B, M(M-1)/2)."""
        h = self.decoder(self.from_code(zq) + self.slot)
        pairs = torch.cat([h[:, self.iu], h[:, self.ju]], dim=-1)
        return self.op_head(h), self.edge_head(pairs).squeeze(-1)

    def forward(self, ops, adj):
        """(op logits, edge logits, code indices or None, codebook loss or KL, commitment loss)."""
        if self.c.bottleneck == "gaussian":
            h = self.node_states(ops, adj)
            mu, logvar = self.to_latent(h), self.to_logvar(h)
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
            kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).mean()
            return (*self.decode(z), None, kl, mu.new_zeros(()))
        zq, idx, cb, commit = self.quantizer(self.encode(ops, adj))
        op_logits, edge_logits = self.decode(zq)
        return op_logits, edge_logits, idx, cb, commit


def _arrays(cells: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(cells, (tuple, list)) and len(cells) == 2:
        ops, adj = cells
    elif hasattr(cells, "ops") and hasattr(cells, "adj"):
        ops, adj = cells.ops, cells.adj
    else:
        raise ArchrepError("vqvae: cells must be a CellTable (anything with .ops and .adj) or an (ops, adj) pair, "
                           f"got {type(cells).__name__}")
    ops, adj = np.asarray(ops), np.asarray(adj)
    if ops.ndim != 2 or adj.shape != (*ops.shape, ops.shape[1]):
        raise ArchrepError(f"vqvae: ops must be (N, M) and adj (N, M, M); got {ops.shape} and {adj.shape}")
    return ops.astype(np.int64), (adj != 0).astype(np.float32)


class VQVAE:
    """The trainable model: ``fit(cells)``, ``encode(cells) -> codes (N, max_nodes)``,
    ``decode(codes) -> (ops, adj)``, ``reconstruction_accuracy(cells)``, ``save`` / ``load``;
    with ``bottleneck="gaussian"`` the continuous baseline: ``latents``, ``decode_latents``,
    ``sample`` instead of codes."""

    def __init__(self, config: VQVAEConfig | dict | None = None, device: str = "cpu", **options):
        self.config = config = resolve_config(VQVAEConfig, config, options, "vqvae")
        self.device = torch.device(device)
        torch.manual_seed(config.seed)
        self.net = VQVAENet(config).to(self.device)
        self.history: list[dict] = []

    # ------------------------------------------------------------------ training
    def _check(self, ops: np.ndarray) -> None:
        c = self.config
        if ops.shape[1] != c.max_nodes:
            raise ArchrepError(f"vqvae: cells have {ops.shape[1]} node slots, the model {c.max_nodes}")
        if ops.size and (ops.max() >= c.vocab_size or ops.min() < -1):
            raise ArchrepError(f"vqvae: op indices must be in [-1, {c.vocab_size - 1}], got "
                               f"[{ops.min()}, {ops.max()}]")

    def loss(self, ops: torch.Tensor, adj: torch.Tensor,
             used: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss of one batch and its parts (floats), in the net's current mode; marks the
        codes the batch uses in ``used`` (bool, K) when given."""
        c = self.config
        op_logits, edge_logits, idx, cb, commit = self.net(ops, adj)
        if used is not None and idx is not None:
            used[idx.reshape(-1)] = True
        op_target = torch.where(ops >= 0, ops, torch.full_like(ops, c.vocab_size))
        op_loss = F.cross_entropy(op_logits.reshape(-1, c.vocab_size + 1), op_target.reshape(-1))
        edge_target = adj[:, self.net.iu, self.net.ju]
        edge_loss = F.binary_cross_entropy_with_logits(edge_logits, edge_target)
        if c.bottleneck == "gaussian":
            weight = c.code_dim / (c.batch_size * c.max_nodes) if c.kl_weight is None else c.kl_weight
            total = op_loss + edge_loss + weight * cb
            parts = {"op_loss": op_loss, "edge_loss": edge_loss, "kl_loss": cb}
        else:
            total = op_loss + edge_loss + cb + c.beta * commit
            parts = {"op_loss": op_loss, "edge_loss": edge_loss, "codebook_loss": cb, "commitment_loss": commit}
        return total, {k: float(v.detach()) for k, v in parts.items()}

    def fit(self, cells: Any, epochs: int | None = None, verbose: bool = False,
            checkpoint: str | Path | None = None) -> "VQVAE":
        """Train on ``cells`` for ``epochs`` (default ``config.epochs``); appends per-epoch mean
        losses to ``history``. With ``checkpoint`` (a file path) the training state is saved there
        after every epoch and a run killed halfway resumes from it, ending with the weights an
        uninterrupted run would have; the file is removed when training completes."""
        c = self.config
        ops, adj = _arrays(cells)
        self._check(ops)
        if len(ops) == 0:
            raise ArchrepError("vqvae: fit needs at least one cell")
        ops_t, adj_t = torch.from_numpy(ops).to(self.device), torch.from_numpy(adj).to(self.device)
        gen = torch.Generator().manual_seed(c.seed)
        opt = torch.optim.Adam(self.net.parameters(), lr=c.lr)
        n_epochs = c.epochs if epochs is None else int(epochs)
        steps = n_epochs * -(-len(ops) // c.batch_size)
        sched = (torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + np.cos(np.pi * s / steps)))
                 if c.schedule == "cosine" and steps else None)
        ckpt = None if checkpoint is None else EpochCheckpoint(checkpoint, {
            "model": "vqvae", "config": asdict(c), "epochs": n_epochs, "data": array_digest(ops, adj),
            "history": len(self.history)})
        start = self._resume(ckpt.load(), opt, sched, gen) if ckpt else 0
        vq = c.bottleneck == "vq"
        self.net.train()
        if vq and not bool(self.net.initialised):  # data-dependent codebook initialisation
            self._restart_codes(ops_t, adj_t, torch.zeros(c.codebook_size, dtype=torch.bool), gen)
            self.net.initialised.fill_(True)
        for epoch in range(start, n_epochs):
            t0, sums, nb = time.perf_counter(), {}, 0
            used = torch.zeros(c.codebook_size, dtype=torch.bool, device=self.device)
            for b in torch.randperm(len(ops), generator=gen).split(c.batch_size):
                b = b.to(self.device)
                total, parts = self.loss(ops_t[b], adj_t[b], used)
                opt.zero_grad()
                total.backward()
                nn.utils.clip_grad_norm_(self.net.parameters(), c.grad_clip)
                opt.step()
                if sched is not None:
                    sched.step()
                for k, v in {"loss": float(total.detach()), **parts}.items():
                    sums[k] = sums.get(k, 0.0) + v
                nb += 1
            rec = {"epoch": len(self.history), **{k: v / nb for k, v in sums.items()}}
            if vq:
                rec["codes_used"] = int(used.sum())
                # no restart after the last epoch: no training would follow to adapt the decoder to it
                last = epoch == n_epochs - 1
                rec["codes_restarted"] = self._restart_codes(ops_t, adj_t, used, gen) if c.restart_dead and not last else 0
            rec["seconds"] = time.perf_counter() - t0
            self.history.append(rec)
            if ckpt:
                ckpt.save({"epochs_done": epoch + 1, "net": self.net.state_dict(), "optimizer": opt.state_dict(),
                           "scheduler": sched.state_dict() if sched else {}, "generator": gen.get_state(),
                           "torch_rng": torch.get_rng_state(), "history": self.history})
            if verbose:
                print(json.dumps(rec))
        self.net.eval()
        if not vq:  # the empirical prior of sample(prior="empirical"): statistics of the training μ
            mu = torch.from_numpy(self.latents((ops, adj))).to(self.device)
            self.net.latent_mean.copy_(mu.mean(0))
            self.net.latent_std.copy_(mu.std(0, unbiased=False) if len(mu) > 1 else torch.ones_like(mu[0]))
        if ckpt:
            ckpt.clear()
        return self

    def _resume(self, state: dict | None, opt, sched, gen: torch.Generator) -> int:
        """Restore a :class:`~archrep.train.checkpoint.EpochCheckpoint` state; the epochs it had done."""
        if state is None:
            return 0
        self.net.load_state_dict(state["net"])
        opt.load_state_dict(state["optimizer"])
        if sched is not None:
            sched.load_state_dict(state["scheduler"])
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.history = list(state["history"])
        return int(state["epochs_done"])

    @torch.no_grad()
    def _restart_codes(self, ops_t, adj_t, used, gen, sample: int = 4096) -> int:
        """Move the codes not ``used`` onto the latents of random real nodes of the training cells."""
        pick = torch.randperm(len(ops_t), generator=gen)[:sample].to(ops_t.device)
        was = self.net.training
        self.net.eval()
        z = self.net.encode(ops_t[pick], adj_t[pick])
        self.net.train(was)
        z = z[ops_t[pick] >= 0]
        return self.net.quantizer.restart(z, used.to(z.device), gen)

    # ------------------------------------------------------------------ inference
    def _require(self, bottleneck: str, what: str) -> None:
        if self.config.bottleneck != bottleneck:
            raise ArchrepError(f"vqvae: {what} needs bottleneck={bottleneck!r}; this model's is "
                               f"{self.config.bottleneck!r}")

    @torch.no_grad()
    def latents(self, cells: Any, batch_size: int = 4096) -> np.ndarray:
        """The continuous latents (N, max_nodes, code_dim), float32: z_e before quantisation, or
        the posterior mean μ of the Gaussian bottleneck."""
        ops, adj = _arrays(cells)
        self._check(ops)
        self.net.eval()
        out = [self.net.encode(torch.from_numpy(ops[s:s + batch_size]).to(self.device),
                               torch.from_numpy(adj[s:s + batch_size]).to(self.device)).cpu()
               for s in range(0, len(ops), batch_size)]
        c = self.config
        return torch.cat(out).numpy() if out else np.zeros((0, c.max_nodes, c.code_dim), dtype=np.float32)

    @torch.no_grad()
    def encode(self, cells: Any, batch_size: int = 4096) -> np.ndarray:
        """Code indices (N, max_nodes), int64, one per node slot (padding slots get codes too)."""
        self._require("vq", "encode (discrete codes)")
        z = torch.from_numpy(self.latents(cells, batch_size)).to(self.device)
        return self.net.quantizer.indices(z).cpu().numpy().astype(np.int64)

    @torch.no_grad()
    def decode(self, codes: Any, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """Code indices (N, max_nodes) -> ops (N, M) int64 (-1 = no node) and the 0/1 strictly
        upper-triangular adjacency (N, M, M) uint8 (edge logit > 0, i.e. probability > 0.5)."""
        c = self.config
        self._require("vq", "decode (discrete codes)")
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != c.max_nodes:
            raise ArchrepError(f"vqvae: codes must be (N, {c.max_nodes}), got {codes.shape}")
        if codes.size and (codes.min() < 0 or codes.max() >= c.codebook_size):
            raise ArchrepError(f"vqvae: code indices must be in [0, {c.codebook_size}), got "
                               f"[{codes.min()}, {codes.max()}]")
        return self._decode_vectors(lambda s, e: self.net.quantizer.codebook[
            torch.from_numpy(codes[s:e].astype(np.int64)).to(self.device)], len(codes), batch_size)

    @torch.no_grad()
    def decode_latents(self, z: Any, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """Continuous latents (N, max_nodes, code_dim) -> (ops, adj) as :meth:`decode` gives them
        (for the Gaussian bottleneck; a VQ model decodes them unquantised)."""
        c = self.config
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 3 or z.shape[1:] != (c.max_nodes, c.code_dim):
            raise ArchrepError(f"vqvae: latents must be (N, {c.max_nodes}, {c.code_dim}), got {z.shape}")
        return self._decode_vectors(lambda s, e: torch.from_numpy(z[s:e]).to(self.device), len(z), batch_size)

    def _decode_vectors(self, chunk, n: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Decode ``chunk(start, end)`` -> (b, M, code_dim) vectors in batches into (ops, adj)."""
        c = self.config
        self.net.eval()
        m = c.max_nodes
        ops = np.full((n, m), -1, dtype=np.int64)
        adj = np.zeros((n, m, m), dtype=np.uint8)
        iu, ju = np.triu_indices(m, k=1)
        for s in range(0, n, batch_size):
            op_logits, edge_logits = self.net.decode(chunk(s, s + batch_size))
            o = op_logits.argmax(-1).cpu().numpy()
            ops[s:s + len(o)] = np.where(o == c.vocab_size, -1, o)
            adj[s:s + len(o), iu, ju] = (edge_logits > 0).cpu().numpy()
        return ops, adj

    @torch.no_grad()
    def sample(self, n: int, *, seed: int = 0, prior: str = "empirical",
               temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Decode ``n`` latents drawn from the Gaussian bottleneck's prior (module docstring):
        ``"standard"`` N(0, I) or ``"empirical"`` N(μ̂, σ̂); ``temperature`` scales the std."""
        self._require("gaussian", "sample")
        if prior not in ("standard", "empirical"):
            raise ArchrepError(f"vqvae: prior must be 'standard' or 'empirical', got {prior!r}")
        if not isinstance(n, int) or n < 1 or not temperature > 0:
            raise ArchrepError(f"vqvae: sample needs n >= 1 and temperature > 0, got {n!r} and {temperature!r}")
        c = self.config
        eps = torch.randn(n, c.max_nodes, c.code_dim, generator=torch.Generator().manual_seed(seed))
        if prior == "empirical":
            z = self.net.latent_mean.cpu() + temperature * eps * self.net.latent_std.cpu()
        else:
            z = temperature * eps
        return self.decode_latents(z.numpy())

    def reconstruct(self, cells: Any) -> tuple[np.ndarray, np.ndarray]:
        """decode(encode(cells)), or the decoded posterior mean for the Gaussian bottleneck."""
        if self.config.bottleneck == "gaussian":
            return self.decode_latents(self.latents(cells))
        return self.decode(self.encode(cells))

    def reconstruction_accuracy(self, cells: Any) -> float:
        """Exact whole-graph match of decode(encode(cells)) (:func:`archrep.train.metrics.reconstruction_accuracy`)."""
        ops, adj = _arrays(cells)
        rops, radj = self.reconstruct((ops, adj))
        return metrics.reconstruction_accuracy(ops, adj, rops, radj)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write ``config.json`` and ``model.pt`` (state dict) into the folder ``path``."""
        return save_folder(path, "vqvae", FORMAT, asdict(self.config), self.net.state_dict())

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> "VQVAE":
        """Read a model written by :meth:`save`."""
        model = cls(VQVAEConfig.from_dict(read_config(path, "vqvae", FORMAT, "VQ-VAE")), device=device)
        model.net.load_state_dict(read_state(path, model.device))
        model.net.eval()
        return model
