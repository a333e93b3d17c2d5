"""Vision Transformer spaces in the AutoFormer style: a shared embedding dim, a depth, and per
layer a number of attention heads and an MLP ratio.

An *arch* is a :class:`ViTArch` ``(embed_dim, num_heads, mlp_ratios)`` with one entry per
layer in ``num_heads`` and ``mlp_ratios`` (the depth is their length). The fixed macro settings
(image size, patch size, width of one head, classes) belong to the space, :class:`ViTMacro`.

The network (:func:`archrep.nets.vit_network`): patch embedding Conv(k = stride = patch) with
bias; a class token and a learned position embedding; ``depth`` pre-norm blocks
``x + MSA(LN(x))``, ``x + FFN(LN(x))``; a final LN; the class token to a Linear head.
MSA as in AutoFormer: its Q-K-V width is ``heads * head_dim`` (not the embedding dim), a
Linear(E -> 3 * heads * head_dim) with bias and an output Linear(heads * head_dim -> E) with
bias. FFN: Linear(E -> int(E * ratio)), GELU, Linear(-> E), both with bias.

Spaces (values of AutoFormer's supernet-T, and a tiny one of ours):

* ``vit`` (AutoFormer-T, 224x224, patch 16, head width 64, 1000 classes): embed {192, 216,
  240}, depth {12, 13, 14}, heads {3, 4}, MLP ratio {3.5, 4}.
* ``vit-tiny`` (ours, for 32x32 images such as CIFAR-10 or Fashion-MNIST padded to 32x32x3;
  small enough to train on one CPU core): patch 4 (64 tokens + the class token), head width 32,
  10 classes; embed {64, 96, 128}, depth {4, 5, 6}, heads {2, 3, 4}, MLP ratio {2, 3, 4}.
  The largest net has 1.21 M parameters and 84 M multiply-accumulates per image (a training
  step takes about 13 ms per image on one busy CPU core).
* ``vit-tiny-msa``: the MSA-only sub-space of ``vit-tiny`` (the ViNTK paper's MSA-only
  analysis): embed 128, depth 6 and MLP ratio 3 fixed; only the heads per layer vary (729 archs).

:meth:`ViTSpace.params` is the exact parameter count (equal to the built network's, tested).
Sampling draws the embed dim and the depth uniformly, then each layer's choices uniformly (as
AutoFormer samples subnets); this is not uniform over architectures.

**Key format** ``"e<embed>|h<heads per layer>|r<ratios per layer>"``, e.g.
``"e96|h2,4,3,4|r4,3,2,4"``. **Graph**: a chain ``input -> patch_embed_e<E> -> msa_h<h> ->
ffn_r<r> -> ... -> output``, so every choice is visible in the op names (the residual
connections are part of the block ops, not edges).
"""
from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

from archrep.errors import ArchrepError
from archrep.graph import ArchGraph
from archrep.ops import INPUT, OUTPUT, register_op
from archrep.spaces import register_space
from archrep.spaces.base import SearchSpace


class ViTArch(NamedTuple):
    """One ViT: the shared embedding dim and, per layer, the heads and the MLP ratio."""

    embed_dim: int
    num_heads: tuple[int, ...]
    mlp_ratios: tuple[float, ...]

    @property
    def depth(self) -> int:
        return len(self.num_heads)


@dataclass(frozen=True)
class ViTMacro:
    """The fixed part of a ViT space and the choices of its searchable part."""

    image_size: int
    patch_size: int
    in_chans: int
    head_dim: int
    num_classes: int
    embed_dims: tuple[int, ...]
    depths: tuple[int, ...]
    heads: tuple[int, ...]
    mlp_ratios: tuple[float, ...]

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


MACROS: dict[str, ViTMacro] = {
    "vit": ViTMacro(224, 16, 3, 64, 1000, (192, 216, 240), (12, 13, 14), (3, 4), (3.5, 4.0)),
    "vit-tiny": ViTMacro(32, 4, 3, 32, 10, (64, 96, 128), (4, 5, 6), (2, 3, 4), (2.0, 3.0, 4.0)),
    "vit-tiny-msa": ViTMacro(32, 4, 3, 32, 10, (128,), (6,), (2, 3, 4), (3.0,)),
}


def _fmt(r: float) -> str:
    return f"{float(r):g}"


def patch_op(embed_dim: int) -> str:
    return f"patch_embed_e{embed_dim}"


def msa_op(heads: int) -> str:
    return f"msa_h{heads}"


def ffn_op(ratio: float) -> str:
    return f"ffn_r{_fmt(ratio)}"


for _m in MACROS.values():
    for _e in _m.embed_dims:
        register_op(patch_op(_e), "embed", True, description=f"ViT patch embedding to {_e} dims "
                    "with class token and position embedding")
    for _h in _m.heads:
        register_op(msa_op(_h), "attention", True, description=f"pre-norm multi-head self-attention "
                    f"block with {_h} heads, residual")
    for _r in _m.mlp_ratios:
        register_op(ffn_op(_r), "mlp", True, description=f"pre-norm MLP block, hidden = {_fmt(_r)} x "
                    "embed, GELU, residual")


def vit_params(arch: ViTArch, macro: ViTMacro) -> int:
    """Exact parameter count of :func:`archrep.nets.vit_network` for ``arch`` (module docstring)."""
    e = arch.embed_dim
    p = macro.patch_size
    total = macro.in_chans * p * p * e + e          # patch embedding conv + bias
    total += e + (macro.num_patches + 1) * e         # class token, position embedding
    for h, r in zip(arch.num_heads, arch.mlp_ratios):
        q = h * macro.head_dim
        hidden = int(e * r)
        total += 2 * e                               # LN before MSA
        total += e * 3 * q + 3 * q + q * e + e       # qkv, output projection
        total += 2 * e                               # LN before FFN
        total += e * hidden + hidden + hidden * e + e
    total += 2 * e + e * macro.num_classes + macro.num_classes  # final LN, head
    return total


@register_space("vit")
class ViTSpace(SearchSpace):
    """An AutoFormer-style ViT space; ``variant`` picks the values (module docstring)."""

    name = "vit"
    finite = False

    def __init__(self, variant: str = "vit"):
        if variant not in MACROS:
            raise ArchrepError(f"unknown ViT space variant {variant!r}; valid: {', '.join(MACROS)}")
        self.name = variant
        self.macro = MACROS[variant]
        m = self.macro
        self.op_vocab = (INPUT, *map(patch_op, m.embed_dims), *map(msa_op, m.heads),
                         *map(ffn_op, m.mlp_ratios), OUTPUT)
        self.finite = variant == "vit-tiny-msa"

    # ------------------------------------------------------------------ contract
    def sample(self, rng: random.Random) -> ViTArch:
        m = self.macro
        depth = rng.choice(m.depths)
        return ViTArch(rng.choice(m.embed_dims), tuple(rng.choice(m.heads) for _ in range(depth)),
                       tuple(float(rng.choice(m.mlp_ratios)) for _ in range(depth)))

    def mutate(self, arch: Any, rng: random.Random) -> ViTArch:
        """Change one choice: the embed dim, the depth (drop the last layer or append a random
        one), or one layer's heads or MLP ratio; the result differs from ``arch``."""
        a = self.check(arch)
        m = self.macro
        moves: list[tuple[str, int]] = [("embed", 0)] if len(m.embed_dims) > 1 else []
        moves += [("depth", 0)] if len(m.depths) > 1 else []
        moves += [("heads", i) for i in range(a.depth)] if len(m.heads) > 1 else []
        moves += [("ratio", i) for i in range(a.depth)] if len(m.mlp_ratios) > 1 else []
        if not moves:
            raise ArchrepError(f"space {self.name!r} has a single architecture: nothing to mutate")
        kind, i = rng.choice(moves)
        heads, ratios = list(a.num_heads), list(a.mlp_ratios)
        if kind == "embed":
            return a._replace(embed_dim=rng.choice([e for e in m.embed_dims if e != a.embed_dim]))
        if kind == "depth":
            depth = rng.choice([d for d in m.depths if d != a.depth])
            while len(heads) < depth:
                heads.append(rng.choice(m.heads))
                ratios.append(float(rng.choice(m.mlp_ratios)))
            return ViTArch(a.embed_dim, tuple(heads[:depth]), tuple(ratios[:depth]))
        if kind == "heads":
            heads[i] = rng.choice([h for h in m.heads if h != heads[i]])
        else:
            ratios[i] = float(rng.choice([r for r in m.mlp_ratios if r != ratios[i]]))
        return ViTArch(a.embed_dim, tuple(heads), tuple(ratios))

    def is_valid(self, arch: Any) -> bool:
        return self.validity_error(arch) is None

    def to_graph(self, arch: Any) -> ArchGraph:
        a = self.check(arch)
        ops = [INPUT, patch_op(a.embed_dim)]
        for h, r in zip(a.num_heads, a.mlp_ratios):
            ops += [msa_op(h), ffn_op(r)]
        ops.append(OUTPUT)
        return ArchGraph(ops, [(i, i + 1) for i in range(len(ops) - 1)],
                         attrs={"space": self.name, "embed_dim": a.embed_dim, "params": self.params(a)})

    def key(self, arch: Any) -> str:
        a = self.check(arch)
        return (f"e{a.embed_dim}|h{','.join(map(str, a.num_heads))}"
                f"|r{','.join(map(_fmt, a.mlp_ratios))}")

    def parse(self, text: str) -> ViTArch:
        example = "'e96|h2,4,3,4|r4,3,2,4'"
        if not isinstance(text, str):
            raise ArchrepError(f"a ViT key must be a str, got {type(text).__name__}")
        parts = text.strip().split("|")
        if len(parts) != 3 or not (parts[0][:1], parts[1][:1], parts[2][:1]) == ("e", "h", "r"):
            raise ArchrepError(f"malformed ViT key {text!r}: expected 'e<embed>|h<heads,...>|r<ratios,...>', "
                               f"e.g. {example}")
        try:
            arch = ViTArch(int(parts[0][1:]), tuple(int(h) for h in parts[1][1:].split(",")),
                           tuple(float(r) for r in parts[2][1:].split(",")))
        except ValueError:
            raise ArchrepError(f"malformed ViT key {text!r}: numbers expected, e.g. {example}") from None
        return self.check(arch)

    def enumerate(self) -> Iterator[ViTArch]:
        """Every architecture; only the MSA-only space is small enough (729 archs)."""
        if not self.finite:
            return super().enumerate()
        m = self.macro
        return (ViTArch(e, heads, ratios) for e in m.embed_dims for d in m.depths
                for heads in itertools.product(m.heads, repeat=d)
                for ratios in itertools.product(map(float, m.mlp_ratios), repeat=d))

    def __len__(self) -> int:
        if not self.finite:
            return super().__len__()
        m = self.macro
        return len(m.embed_dims) * sum((len(m.heads) * len(m.mlp_ratios)) ** d for d in m.depths)

    # ------------------------------------------------------------------ ViT specifics
    def params(self, arch: Any) -> int:
        """Exact parameter count of the network (for parameter budgets)."""
        return vit_params(self.check(arch), self.macro)

    def validity_error(self, arch: Any) -> str | None:
        """Why ``arch`` is not in this space, or None."""
        try:
            a = _as_arch(arch)
        except ArchrepError as exc:
            return str(exc)
        m = self.macro
        if a.embed_dim not in m.embed_dims:
            return f"embed dim {a.embed_dim} not in {m.embed_dims}"
        if a.depth not in m.depths:
            return f"depth {a.depth} not in {m.depths}"
        if len(a.mlp_ratios) != a.depth:
            return f"{len(a.mlp_ratios)} MLP ratios for {a.depth} layers"
        bad_h = [h for h in a.num_heads if h not in m.heads]
        if bad_h:
            return f"heads {bad_h[0]} not in {m.heads}"
        bad_r = [r for r in a.mlp_ratios if r not in m.mlp_ratios]
        if bad_r:
            return f"MLP ratio {bad_r[0]} not in {m.mlp_ratios}"
        return None

    def check(self, arch: Any) -> ViTArch:
        """``arch`` as a ViTArch of this space, or ArchrepError saying what is wrong."""
        reason = self.validity_error(arch)
        if reason is not None:
            raise ArchrepError(f"not an architecture of space {self.name!r}: {reason}")
        return _as_arch(arch)


def _as_arch(arch: Any) -> ViTArch:
    """Coerce a ViTArch, a 3-sequence or a dict with embed_dim/num_heads/mlp_ratios."""
    if isinstance(arch, dict):
        missing = {"embed_dim", "num_heads", "mlp_ratios"} - set(arch)
        if missing:
            raise ArchrepError(f"a ViT arch dict needs the keys embed_dim, num_heads, mlp_ratios; "
                               f"missing {sorted(missing)}")
        arch = (arch["embed_dim"], arch["num_heads"], arch["mlp_ratios"])
    if not isinstance(arch, (tuple, list)) or len(arch) != 3:
        raise ArchrepError(f"a ViT arch is (embed_dim, num_heads per layer, mlp_ratios per layer), "
                           f"got {arch!r}")
    e, heads, ratios = arch
    try:
        return ViTArch(int(e), tuple(int(h) for h in heads), tuple(float(r) for r in ratios))
    except (TypeError, ValueError):
        raise ArchrepError(f"a ViT arch needs an int embed dim and lists of ints (heads) and numbers "
                           f"(MLP ratios), got {arch!r}") from None


for _variant in ("vit-tiny", "vit-tiny-msa"):
    register_space(_variant)(functools.partial(ViTSpace, _variant))
