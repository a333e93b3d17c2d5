"""NAS-Bench-Macro: a chain of 8 searchable layers, each Identity, MB3_K3 or MB6_K5.

An *arch* is its 8-digit key, one digit per layer: ``0`` = Identity ('identity'), ``1`` =
MB3_K3 ('mb3_k3', MobileNetV2 block, expansion 3, kernel 3), ``2`` = MB6_K5 ('mb6_k5'), as in
the benchmark's JSON keys (e.g. ``'02012100'``). The digit -> op mapping is checked against
the benchmark's parameter counts in tests/test_spaces.py (replacing an MB3_K3 by an MB6_K5
always adds parameters, an Identity by either block too).

Graph: ``input -> layer 1 -> ... -> layer 8 -> output``. By default identity layers stay as
'identity' nodes (a fixed 10-node chain, the layer position readable from the node index);
``drop_identity=True`` removes them (a chain of the 0..8 blocks, ``input -> output`` when all
layers are identities).
"""
from __future__ import annotations

import itertools
import random
from typing import Iterator

from archrep.errors import ArchrepError
from archrep.graph import ArchGraph
from archrep.ops import INPUT, OUTPUT
from archrep.spaces import register_space
from archrep.spaces.base import SearchSpace

#: op of each digit
OPS: tuple[str, ...] = ("identity", "mb3_k3", "mb6_k5")
NUM_LAYERS = 8
NUM_ARCHS = len(OPS) ** NUM_LAYERS
_DIGITS = "".join(str(i) for i in range(len(OPS)))


def check_key(arch: str) -> str:
    """``arch`` if it is an 8-digit string of 0/1/2, else ArchrepError saying what is wrong."""
    if not isinstance(arch, str):
        raise ArchrepError(f"a NAS-Bench-Macro arch is an 8-digit string such as '02012100', "
                           f"got {type(arch).__name__}")
    s = arch.strip()
    if len(s) != NUM_LAYERS or set(s) - set(_DIGITS):
        raise ArchrepError(f"malformed NAS-Bench-Macro arch {arch!r}: expected {NUM_LAYERS} digits "
                           f"from {{0: identity, 1: mb3_k3, 2: mb6_k5}}, e.g. '02012100'")
    return s


def arch_to_graph(arch: str, drop_identity: bool = False) -> ArchGraph:
    """The layer chain (see the module docstring)."""
    layers = [OPS[int(d)] for d in check_key(arch)]
    if drop_identity:
        layers = [op for op in layers if op != "identity"]
    ops = [INPUT, *layers, OUTPUT]
    return ArchGraph(ops, [(i, i + 1) for i in range(len(ops) - 1)],
                     attrs={"space": "nas-bench-macro"})


@register_space("nas-bench-macro")
class MacroSpace(SearchSpace):
    """The 6,561 NAS-Bench-Macro architectures (``3**8``), enumerable in key order."""

    name = "nas-bench-macro"
    op_vocab = (INPUT, *OPS, OUTPUT)
    finite = True

    def __init__(self, drop_identity: bool = False):
        self.drop_identity = bool(drop_identity)

    def sample(self, rng: random.Random) -> str:
        return "".join(rng.choice(_DIGITS) for _ in range(NUM_LAYERS))

    def mutate(self, arch: str, rng: random.Random) -> str:
        """Change the op of one layer."""
        s = check_key(arch)
        i = rng.randrange(NUM_LAYERS)
        return s[:i] + rng.choice(_DIGITS.replace(s[i], "")) + s[i + 1:]

    def is_valid(self, arch) -> bool:
        return (isinstance(arch, str) and len(arch) == NUM_LAYERS
                and not set(arch) - set(_DIGITS))

    def to_graph(self, arch: str) -> ArchGraph:
        return arch_to_graph(arch, self.drop_identity)

    def key(self, arch: str) -> str:
        return check_key(arch)

    def parse(self, text: str) -> str:
        return check_key(text)

    def enumerate(self) -> Iterator[str]:
        """All keys in lexicographic order ('00000000', '00000001', ..., '22222222')."""
        return ("".join(p) for p in itertools.product(_DIGITS, repeat=NUM_LAYERS))

    def __len__(self) -> int:
        return NUM_ARCHS
