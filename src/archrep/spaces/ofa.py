"""Once-for-All MobileNetV3 (OFA-MBv3, Cai et al. 2020): subnets of elastic depth, kernel, expansion, resolution.

An *arch* is an :class:`OFAArch`: the input resolution ``r`` (128..224 in steps of 4) and, for
each of the 5 elastic stages, its 2..4 active blocks as ``(kernel, expansion)`` pairs with
kernel in {3, 5, 7} and expansion in {3, 4, 6}. OFA's own encoding (``ks``, ``e``: 20 values,
4 slots per stage; ``d``: active depth per stage; ``r``) converts with :func:`from_lists`; the
values in slots past a stage's depth are unused, so two such encodings that differ only there
are one architecture. The key lists the active blocks only: ``r204/k7e6.k5e4/k5e4.k5e6/...``
(resolution, then the blocks of each stage separated by '/').

Macro structure (the ``ofa_mbv3_d234_e346_k357`` supernet, ImageNet, 1000 classes): stem
Conv3x3-BN-HardSwish, 16 channels, stride 2; a fixed first block (3x3 depthwise-separable,
16 channels, ReLU: 'mbconv_k3_e1' without an expansion convolution); stages of 24, 40, 80, 112,
160 channels, first-layer strides 2, 2, 2, 1, 2, activations ReLU, ReLU, HardSwish, HardSwish,
HardSwish, squeeze-excite in stages 2, 4 and 5 (ops ``mbconv_k<k>_e<e>_se``); head
Conv1x1-BN-HardSwish to 960 channels, global average pooling, Conv1x1-HardSwish to 1280 (the
'feature mix' layer, written 'conv1x1-bn-hswish': batch norm folds away at inference), linear
classifier. ``width_mult`` scales every width (rounded to multiples of 8); which supernet
width HELP's subnets were measured with is not recorded, so it is a parameter, default 1.0
(``w1.2`` is the other released one).

Graph: a chain ``input, stem, first block, 10..20 blocks, head, pool, feature mix, classifier,
output``; graph attribute ``input_shape`` = [3, r, r]. Nodes carry kernel, stride, expansion,
channels, input side, activation, squeeze-excite, MACs and parameters
(:mod:`archrep.spaces.mobilenet`). About 5e20 architectures: not enumerable.
"""
from __future__ import annotations

import random
import re
from typing import NamedTuple, Sequence

from archrep.errors import ArchrepError
from archrep.graph import ArchGraph
from archrep.ops import INPUT, OUTPUT, mbconv_op
from archrep.spaces import register_space
from archrep.spaces.base import SearchSpace
from archrep.spaces.mobilenet import Chain, make_divisible

KERNELS: tuple[int, ...] = (3, 5, 7)
EXPANSIONS: tuple[int, ...] = (3, 4, 6)
DEPTHS: tuple[int, ...] = (2, 3, 4)
RESOLUTIONS: tuple[int, ...] = tuple(range(128, 225, 4))
NUM_STAGES = 5
MAX_DEPTH = max(DEPTHS)
#: per elastic stage: output channels (width 1.0), first-layer stride, activation, squeeze-excite
STAGE_CHANNELS: tuple[int, ...] = (24, 40, 80, 112, 160)
STAGE_STRIDES: tuple[int, ...] = (2, 2, 2, 1, 2)
STAGE_ACTS: tuple[str, ...] = ("relu", "relu", "hswish", "hswish", "hswish")
STAGE_SE: tuple[bool, ...] = (False, True, False, True, True)
STEM_CHANNELS = 16
HEAD_CHANNELS = 960
FEATURE_MIX_CHANNELS = 1280
NUM_CLASSES = 1000
WIDTH_MULTS: tuple[float, ...] = (1.0, 1.2)

Block = tuple[int, int]  # (kernel, expansion)


class OFAArch(NamedTuple):
    """One subnet: input resolution and the active (kernel, expansion) blocks of each stage."""

    r: int
    stages: tuple[tuple[Block, ...], ...]


def from_lists(ks: Sequence[int], e: Sequence[int], d: Sequence[int], r: int) -> OFAArch:
    """An arch from OFA's encoding (20 kernels, 20 expansions, 5 depths, resolution); unused
    slots are dropped. Raises ArchrepError naming a wrong length or value."""
    for name, seq, n in (("ks", ks, NUM_STAGES * MAX_DEPTH), ("e", e, NUM_STAGES * MAX_DEPTH), ("d", d, NUM_STAGES)):
        if isinstance(seq, (str, bytes)) or not isinstance(seq, Sequence) or len(seq) != n:
            raise ArchrepError(f"OFA field {name!r} must be a list of {n} integers, got {seq!r}")
    if any(depth not in DEPTHS for depth in d):
        raise ArchrepError(f"OFA depths d = {list(d)} must each be one of {DEPTHS}")
    stages = tuple(tuple((ks[MAX_DEPTH * s + j], e[MAX_DEPTH * s + j]) for j in range(d[s]))
                   for s in range(NUM_STAGES))
    return check_arch(OFAArch(r, stages))


def _problem(arch) -> str | None:
    """What makes ``arch`` not an OFA subnet, or None when it is one."""
    if not isinstance(arch, tuple) or len(arch) != 2:
        return f"an OFA arch is OFAArch(r, stages), got {arch!r}"
    r, stages = arch
    if type(r) is not int or r not in RESOLUTIONS:
        return f"resolution {r!r} is not one of 128, 132, ..., 224"
    if not isinstance(stages, tuple) or len(stages) != NUM_STAGES:
        return f"an OFA arch has {NUM_STAGES} stages, got {stages!r}"
    for s, blocks in enumerate(stages, start=1):
        if not isinstance(blocks, tuple) or len(blocks) not in DEPTHS:
            return f"stage {s} must have {DEPTHS[0]}..{DEPTHS[-1]} blocks, got {blocks!r}"
        for block in blocks:
            if (not isinstance(block, tuple) or len(block) != 2 or any(type(v) is not int for v in block)
                    or block[0] not in KERNELS or block[1] not in EXPANSIONS):
                return (f"stage {s}: block {block!r} is not a (kernel, expansion) pair with kernel in "
                        f"{KERNELS} and expansion in {EXPANSIONS}")
    return None


def check_arch(arch) -> OFAArch:
    """``arch`` as an OFAArch, or ArchrepError saying what is wrong."""
    problem = _problem(arch)
    if problem:
        raise ArchrepError(f"not an OFA MobileNetV3 subnet: {problem}")
    return OFAArch(*arch)


def arch_to_graph(arch: OFAArch, width_mult: float = 1.0) -> ArchGraph:
    """The chain of an OFA subnet (see the module docstring)."""
    r, stages = check_arch(arch)

    def width(c: int) -> int:
        return make_divisible(c * width_mult)

    chain = Chain(3, r)
    chain.conv("conv3x3-bn-hswish", width(STEM_CHANNELS), 3, stride=2, act="hswish")
    chain.mbconv(mbconv_op(3, 1), width(STEM_CHANNELS), expand_conv=False)
    for blocks, cout, first_stride, act, se in zip(stages, STAGE_CHANNELS, STAGE_STRIDES, STAGE_ACTS, STAGE_SE):
        for i, (kernel, expansion) in enumerate(blocks):
            chain.mbconv(mbconv_op(kernel, expansion, se=se), width(cout), first_stride if i == 0 else 1, act)
    chain.conv("conv1x1-bn-hswish", width(HEAD_CHANNELS), 1, act="hswish")
    chain.pool()
    chain.conv("conv1x1-bn-hswish", width(FEATURE_MIX_CHANNELS) if width_mult > 1 else FEATURE_MIX_CHANNELS,
               1, act="hswish")
    chain.linear(NUM_CLASSES)
    return chain.graph("ofa", [3, r, r])


_KEY_BLOCK = re.compile(r"k(\d+)e(\d+)")


@register_space("ofa")
class OFASpace(SearchSpace):
    """Once-for-All MobileNetV3 subnets (not enumerable); ``width_mult`` picks the supernet width."""

    name = "ofa"
    op_vocab = (INPUT, "conv3x3-bn-hswish", mbconv_op(3, 1),
                *(mbconv_op(k, e, se=se) for se in (False, True) for k in KERNELS for e in EXPANSIONS),
                "conv1x1-bn-hswish", "global_avg_pool", "fc", OUTPUT)

    def __init__(self, width_mult: float = 1.0):
        if width_mult not in WIDTH_MULTS:
            raise ArchrepError(f"OFA width_mult {width_mult!r} is not a released supernet width; use one of {WIDTH_MULTS}")
        self.width_mult = float(width_mult)

    def sample(self, rng: random.Random) -> OFAArch:
        stages = tuple(tuple((rng.choice(KERNELS), rng.choice(EXPANSIONS)) for _ in range(rng.choice(DEPTHS)))
                       for _ in range(NUM_STAGES))
        return OFAArch(rng.choice(RESOLUTIONS), stages)

    def mutate(self, arch: OFAArch, rng: random.Random) -> OFAArch:
        """Change one choice: the resolution, one stage's depth, or one block's kernel or expansion."""
        r, stages = check_arch(arch)
        what = rng.randrange(3)
        if what == 0:
            return OFAArch(rng.choice([x for x in RESOLUTIONS if x != r]), stages)
        s = rng.randrange(NUM_STAGES)
        blocks = list(stages[s])
        if what == 1:
            depth = rng.choice([d for d in DEPTHS if d != len(blocks)])
            blocks = blocks[:depth] + [(rng.choice(KERNELS), rng.choice(EXPANSIONS)) for _ in range(depth - len(blocks))]
        else:
            j = rng.randrange(len(blocks))
            kernel, expansion = blocks[j]
            if rng.random() < 0.5:
                blocks[j] = (rng.choice([k for k in KERNELS if k != kernel]), expansion)
            else:
                blocks[j] = (kernel, rng.choice([e for e in EXPANSIONS if e != expansion]))
        return OFAArch(r, stages[:s] + (tuple(blocks),) + stages[s + 1:])

    def is_valid(self, arch) -> bool:
        return _problem(arch) is None

    def to_graph(self, arch: OFAArch) -> ArchGraph:
        return arch_to_graph(arch, self.width_mult)

    def key(self, arch: OFAArch) -> str:
        r, stages = check_arch(arch)
        return f"r{r}/" + "/".join(".".join(f"k{k}e{e}" for k, e in blocks) for blocks in stages)

    def parse(self, text: str) -> OFAArch:
        """A key ``r<res>/<stage 1>/.../<stage 5>``, each stage ``k<k>e<e>`` blocks joined by '.'."""
        parts = text.strip().split("/") if isinstance(text, str) else []
        try:
            if len(parts) != NUM_STAGES + 1 or not re.fullmatch(r"r\d+", parts[0]):
                raise ArchrepError("expected 'r<resolution>' and 5 stages separated by '/'")
            stages = []
            for part in parts[1:]:
                blocks = [_KEY_BLOCK.fullmatch(b) for b in part.split(".")]
                if not all(blocks):
                    raise ArchrepError(f"stage {part!r} is not blocks 'k<kernel>e<expansion>' joined by '.'")
                stages.append(tuple((int(m.group(1)), int(m.group(2))) for m in blocks))
            return check_arch(OFAArch(int(parts[0][1:]), tuple(stages)))
        except ArchrepError as exc:
            raise ArchrepError(f"malformed OFA key {text!r}: {exc}; e.g. "
                               "'r224/k3e4.k5e6/k7e3.k3e3/k5e4.k5e4.k3e6/k7e6.k7e6/k3e4.k5e3.k7e6.k3e3'") from None
