"""The Vision Transformer of an arch of an AutoFormer-style space (:mod:`archrep.spaces.vit`).

Module names are part of the interface: the MSA of block ``i`` is ``blocks.i.attn`` (``qkv``,
``proj``), its FFN ``blocks.i.mlp`` (``fc1``, ``fc2``); the MSA-only and FFN-only NTK
restrictions select parameters by these names. Attention is written out (matmul, softmax,
matmul) rather than fused, so that every proxy (FLOP counting, batched gradients) sees it.
Initialisation: Linear weights truncated-normal (std 0.02), biases 0, LN (1, 0), class token
and position embedding truncated-normal (std 0.02), as in ViT/DeiT/AutoFormer.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Attention(nn.Module):
    """Multi-head self-attention with Q-K-V width ``heads * head_dim`` (AutoFormer)."""

    def __init__(self, dim: int, heads: int, head_dim: int):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.qkv = nn.Linear(dim, 3 * heads * head_dim)
        self.proj = nn.Linear(heads * head_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * self.head_dim ** -0.5).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, self.heads * self.head_dim))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: ``x + MSA(LN(x))``, then ``x + FFN(LN(x))``."""

    def __init__(self, dim: int, heads: int, head_dim: int, mlp_ratio: float):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim, heads, head_dim)
        self.norm2, self.mlp = nn.LayerNorm(dim), Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """Patch embedding, class token, position embedding, blocks, final LN, linear head."""

    def __init__(self, arch, macro):
        super().__init__()
        e = arch.embed_dim
        self.patch_embed = nn.Conv2d(macro.in_chans, e, macro.patch_size, macro.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, e))
        self.pos_embed = nn.Parameter(torch.zeros(1, macro.num_patches + 1, e))
        self.blocks = nn.ModuleList(Block(e, h, macro.head_dim, r)
                                    for h, r in zip(arch.num_heads, arch.mlp_ratios))
        self.norm = nn.LayerNorm(e)
        self.head = nn.Linear(e, macro.num_classes)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x)[:, 0])


def vit_network(arch: Any, space: Any = "vit-tiny", num_classes: int | None = None) -> nn.Module:
    """The network of ``arch`` (a ViTArch, its key, or a dict) in ``space`` (name or ViTSpace);
    ``num_classes`` overrides the space's."""
    from dataclasses import replace

    from archrep import spaces
    from archrep.errors import ArchrepError
    from archrep.spaces.vit import ViTSpace

    sp = space if isinstance(space, ViTSpace) else spaces.get(space)
    if not isinstance(sp, ViTSpace):
        raise ArchrepError(f"vit_network needs a ViT space (vit, vit-tiny, vit-tiny-msa), got {space!r}")
    a = sp.parse(arch) if isinstance(arch, str) else sp.check(arch)
    macro = sp.macro if num_classes is None else replace(sp.macro, num_classes=num_classes)
    return VisionTransformer(a, macro)
