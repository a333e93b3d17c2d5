"""FBNet: a chain of 22 searchable layers, each one of 9 blocks (HW-NAS-Bench's CIFAR-100 setting).

An *arch* is a tuple of 22 block names from :data:`BLOCKS` (``k<kernel>_e<expansion>[_g2]`` or
``skip``), as in the ``arch_str`` of HELP's FBNet file; its key is the 22 block indices as
digits (e.g. ``'7818488874147327324245'``), the ``op_idx_list`` of that file.
The index order is the file's (checked against its names in tests/test_data_latency.py).

Macro structure (FBNet, Wu et al. 2019, Table 1; CIFAR variant of HW-NAS-Bench, 32x32 inputs,
100 classes): stem Conv3x3-BN-ReLU, 16 channels, stride 1; seven stages of 1, 4, 4, 4, 4, 4, 1
searchable layers with 16, 24, 32, 64, 112, 184, 352 output channels whose first layer has
stride 1, 1, 2, 2, 1, 2, 1 (ImageNet: 1, 2, 2, 2, 1, 2, 1 after a stride-2 stem); head
Conv1x1-BN-ReLU to 1504 channels (ImageNet: 1984), global average pooling, linear classifier.
A block ``k<k>_e<e>`` is 1x1 expansion (x e), k x k depthwise, 1x1 projection, with a residual
when shapes allow; ``_g2`` uses 2 groups in both 1x1 convolutions (with a channel shuffle).
``skip`` is the identity, or a Conv1x1-BN-ReLU projection in a stage's first layer where the
stride or the width changes.

Graph: ``input, stem, 22 layers, head, pool, classifier, output`` (a fixed 28-node chain, the
layer position readable from the node index); identity skips stay as 'skip' nodes. Nodes carry
kernel, stride, expansion, groups, channels, input side, MACs and parameters
(:mod:`archrep.spaces.mobilenet`). The space has 9**22 architectures: not enumerable.
"""
from __future__ import annotations

import random
from typing import Sequence

from archrep.errors import ArchrepError
from archrep.graph import ArchGraph
from archrep.ops import INPUT, OUTPUT, mbconv_op
from archrep.spaces import register_space
from archrep.spaces.base import SearchSpace
from archrep.spaces.mobilenet import Chain

#: the 9 block choices, in the index order of HELP's / HW-NAS-Bench's ``op_idx_list``
BLOCKS: tuple[str, ...] = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
#: searchable layers per stage, output channels and first-layer stride per stage (CIFAR setting)
STAGE_LAYERS: tuple[int, ...] = (1, 4, 4, 4, 4, 4, 1)
STAGE_CHANNELS: tuple[int, ...] = (16, 24, 32, 64, 112, 184, 352)
STAGE_STRIDES: tuple[int, ...] = (1, 1, 2, 2, 1, 2, 1)
STEM_CHANNELS = 16
HEAD_CHANNELS = 1504
NUM_LAYERS = sum(STAGE_LAYERS)
INPUT_SIZE = 32
NUM_CLASSES = 100

Arch = tuple[str, ...]


def block_op(block: str) -> str:
    """The registered op of a block choice: 'k5_e6' -> 'mbconv_k5_e6', 'k3_e1_g2' -> 'mbconv_k3_e1_g2'."""
    if block == "skip":
        return "skip"
    parts = block.split("_")
    groups = int(parts[2][1:]) if len(parts) == 3 else 1
    return mbconv_op(int(parts[0][1:]), int(parts[1][1:]), groups)


def check_arch(arch) -> Arch:
    """``arch`` as a tuple of 22 block names, or ArchrepError saying what is wrong."""
    if isinstance(arch, str) or not isinstance(arch, Sequence):
        raise ArchrepError(f"an FBNet arch is a sequence of {NUM_LAYERS} block names from {list(BLOCKS)}, "
                           f"got {arch!r}; parse a key with FBNetSpace().parse")
    if len(arch) != NUM_LAYERS:
        raise ArchrepError(f"an FBNet arch has {NUM_LAYERS} layers, got {len(arch)}")
    bad = [(i, b) for i, b in enumerate(arch) if b not in BLOCKS]
    if bad:
        raise ArchrepError(f"FBNet layer {bad[0][0]} is {bad[0][1]!r}, not a block; valid blocks: {list(BLOCKS)}")
    return tuple(arch)


def arch_to_graph(arch: Arch) -> ArchGraph:
    """The 28-node chain of an FBNet arch (see the module docstring)."""
    arch = check_arch(arch)
    chain = Chain(3, INPUT_SIZE)
    chain.conv("conv3x3-bn-relu", STEM_CHANNELS, 3)
    layer = 0
    for n, cout, first_stride in zip(STAGE_LAYERS, STAGE_CHANNELS, STAGE_STRIDES):
        for i in range(n):
            stride = first_stride if i == 0 else 1
            if arch[layer] == "skip":
                chain.skip(cout, stride)
            else:
                chain.mbconv(block_op(arch[layer]), cout, stride)
            layer += 1
    chain.conv("conv1x1-bn-relu", HEAD_CHANNELS, 1)
    chain.pool()
    chain.linear(NUM_CLASSES)
    return chain.graph("fbnet", [3, INPUT_SIZE, INPUT_SIZE])


@register_space("fbnet")
class FBNetSpace(SearchSpace):
    """FBNet's 9**22 architectures in HW-NAS-Bench's CIFAR-100 setting (not enumerable)."""

    name = "fbnet"
    op_vocab = (INPUT, "conv3x3-bn-relu", *(block_op(b) for b in BLOCKS), "conv1x1-bn-relu",
                "global_avg_pool", "fc", OUTPUT)

    def sample(self, rng: random.Random) -> Arch:
        return tuple(rng.choice(BLOCKS) for _ in range(NUM_LAYERS))

    def mutate(self, arch: Arch, rng: random.Random) -> Arch:
        """Change the block of one layer."""
        arch = check_arch(arch)
        i = rng.randrange(NUM_LAYERS)
        return arch[:i] + (rng.choice([b for b in BLOCKS if b != arch[i]]),) + arch[i + 1:]

    def is_valid(self, arch) -> bool:
        return (not isinstance(arch, str) and isinstance(arch, Sequence) and len(arch) == NUM_LAYERS
                and all(b in BLOCKS for b in arch))

    def to_graph(self, arch: Arch) -> ArchGraph:
        return arch_to_graph(arch)

    def key(self, arch: Arch) -> str:
        return "".join(str(BLOCKS.index(b)) for b in check_arch(arch))

    def parse(self, text: str) -> Arch:
        """A 22-digit key (digits 0..8, the block indices) back to block names."""
        s = text.strip() if isinstance(text, str) else None
        if s is None or len(s) != NUM_LAYERS or not all(c in "012345678" for c in s):
            raise ArchrepError(f"malformed FBNet key {text!r}: expected {NUM_LAYERS} digits 0..8, the block "
                               f"index of each layer in the order {list(BLOCKS)}, e.g. '7818488874147327324245'")
        return tuple(BLOCKS[int(c)] for c in s)
