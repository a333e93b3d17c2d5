"""MobileNetV2, MobileNetV3, MnasNet and EfficientNet as parametric families.

All four stack inverted residual blocks (:class:`~archrep.zoo.blocks.InvertedResidual`) in
stages; the knobs are a width multiplier, per-stage depth, kernel size and expansion ratio,
squeeze-excite where the family has a choice, and the input resolution and batch.
"""
from __future__ import annotations

import math
import random

from torch import nn

from archrep.errors import ArchrepError
from archrep.zoo import Family, families
from archrep.zoo.blocks import InvertedResidual, classifier_head, conv_bn, make_divisible
from archrep.zoo.classic import common, per_stage, pick

MOBILE_RESOLUTIONS = (96, 128, 160, 192, 224)


def _stages(cin: int, stages, act: str, se_of=None, se_act: str = "relu", se_gate: str = "sigmoid"):
    """Blocks of ``stages`` = [(depth, cout, kernel, stride, mid_of(cin)), ...]; the first block
    of a stage has its stride. ``se_of(cin, mid)`` gives the SE width (0: none). Returns
    (blocks, cout)."""
    blocks: list[nn.Module] = []
    for depth, cout, kernel, stride, mid_of in stages:
        for j in range(depth):
            mid = mid_of(cin)
            se = se_of(cin, mid) if se_of else 0
            blocks.append(InvertedResidual(cin, mid, cout, kernel, stride if j == 0 else 1, act, se, se_act, se_gate))
            cin = cout
    return blocks, cin


def _ratio(t: int):
    return lambda cin: cin * t


# ----------------------------------------------------------------------------------- MobileNetV2
#: (expansion, channels, depth, stride) of the 7 stages of MobileNetV2
MBV2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def build_mobilenetv2(c: dict) -> nn.Module:
    """Stem 3x3/2 (32), 7 inverted-residual stages, 1x1 conv to 1280, global pool, FC (ReLU6)."""
    n = len(MBV2_STAGES)
    depths, kernels, expands = (per_stage(c, k, n, "mobilenetv2") for k in ("depths", "kernels", "expansions"))
    w = c["width"]
    stem = make_divisible(32 * w)
    stages = [(d, make_divisible(ch * w), k, s, _ratio(t))
              for (_, ch, _, s), d, k, t in zip(MBV2_STAGES, depths, kernels, expands)]
    blocks, cin = _stages(stem, stages, "relu6")
    last = make_divisible(1280 * max(1.0, w))
    return nn.Sequential(conv_bn(3, stem, 3, 2, act="relu6"), *blocks, conv_bn(cin, last, 1, act="relu6"),
                         classifier_head(last, c["num_classes"]))


def sample_mobilenetv2(rng: random.Random) -> dict:
    return {"width": pick(rng, (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)),
            "depths": [1] + [rng.randint(1, 4) for _ in range(6)],
            "kernels": [pick(rng, (3, 5, 7)) for _ in range(7)],
            "expansions": [1] + [pick(rng, (3, 4, 6)) for _ in range(6)],
            **common(rng, MOBILE_RESOLUTIONS)}


families.add("mobilenetv2", Family(
    "mobilenetv2", build_mobilenetv2, sample_mobilenetv2,
    {"width": 1.0, "depths": [s[2] for s in MBV2_STAGES], "kernels": [3] * 7,
     "expansions": [s[0] for s in MBV2_STAGES], "num_classes": 1000, "resolution": 224, "batch": 1},
    "MobileNetV2 (Sandler et al. 2018): width, per-stage depth, kernel and expansion"))


# ----------------------------------------------------------------------------------- MobileNetV3
#: per stage: (kernel, [expand channels of each block], out channels, SE, activation, stride)
MBV3_STAGES = {
    "large": ((3, [16], 16, False, "relu", 1), (3, [64, 72], 24, False, "relu", 2),
              (5, [72, 120, 120], 40, True, "relu", 2), (3, [240, 200, 184, 184], 80, False, "hswish", 2),
              (3, [480, 672], 112, True, "hswish", 1), (5, [672, 960, 960], 160, True, "hswish", 2)),
    "small": ((3, [16], 16, True, "relu", 2), (3, [72, 88], 24, False, "relu", 2),
              (5, [96, 240, 240], 40, True, "hswish", 2), (5, [120, 144], 48, True, "hswish", 1),
              (5, [288, 576, 576], 96, True, "hswish", 2)),
}
#: (last conv channels, head hidden units) per variant
MBV3_HEAD = {"large": (960, 1280), "small": (576, 1024)}


def build_mobilenetv3(c: dict) -> nn.Module:
    """Stem 3x3/2 (16, h-swish), the variant's stages (first ``depths[i]`` blocks, kernels and
    expand channels x ``expand_scale`` overridable), 1x1 conv, pool, FC-hswish-FC."""
    if c["variant"] not in MBV3_STAGES:
        raise ArchrepError(f"mobilenetv3 'variant' must be one of {', '.join(MBV3_STAGES)}, got {c['variant']!r}")
    table = MBV3_STAGES[c["variant"]]
    depths = per_stage(c, "depths", len(table), "mobilenetv3")
    kernels = per_stage(c, "kernels", len(table), "mobilenetv3")
    w, scale = c["width"], c["expand_scale"]
    blocks: list[nn.Module] = []
    cin = stem = make_divisible(16 * w)
    for (_, mids, out, se, act, stride), depth, kernel in zip(table, depths, kernels):
        if not 1 <= depth <= len(mids):
            raise ArchrepError(f"mobilenetv3 {c['variant']}: a stage depth must be in 1..{len(mids)}, got {depth}")
        cout = make_divisible(out * w)
        for j in range(depth):
            mid = make_divisible(mids[j] * w * scale)
            squeeze = make_divisible(mid / 4) if se else 0
            blocks.append(InvertedResidual(cin, mid, cout, kernel, stride if j == 0 else 1, act, squeeze,
                                           "relu", "hsigmoid"))
            cin = cout
    last, hidden = MBV3_HEAD[c["variant"]]
    last = make_divisible(last * w * scale)
    return nn.Sequential(conv_bn(3, stem, 3, 2, act="hswish"), *blocks, conv_bn(cin, last, 1, act="hswish"),
                         classifier_head(last, c["num_classes"], hidden=make_divisible(hidden * max(1.0, w)),
                                         act="hswish"))


def sample_mobilenetv3(rng: random.Random) -> dict:
    variant = pick(rng, ("large", "small"))
    table = MBV3_STAGES[variant]
    return {"variant": variant, "width": pick(rng, (0.35, 0.5, 0.75, 1.0, 1.25)),
            "expand_scale": pick(rng, (0.5, 0.75, 1.0, 1.25)),
            "depths": [rng.randint(1, len(s[1])) for s in table],
            "kernels": [pick(rng, (3, 5, 7)) for _ in table], **common(rng, MOBILE_RESOLUTIONS)}


families.add("mobilenetv3", Family(
    "mobilenetv3", build_mobilenetv3, sample_mobilenetv3,
    {"variant": "large", "width": 1.0, "expand_scale": 1.0, "depths": [len(s[1]) for s in MBV3_STAGES["large"]],
     "kernels": [s[0] for s in MBV3_STAGES["large"]], "num_classes": 1000, "resolution": 224, "batch": 1},
    "MobileNetV3 (Howard et al. 2019) large/small: width, expansion scale, per-stage depth and kernel"))


# ----------------------------------------------------------------------------------- MnasNet
#: (channels, stride) of MnasNet-B1's 6 stacks (its expansions, kernels and depths are defaults)
MNAS_STACKS = ((24, 2), (40, 2), (80, 2), (96, 1), (192, 2), (320, 1))


def build_mnasnet(c: dict) -> nn.Module:
    """Stem 3x3/2 (32) + separable 3x3 (16), 6 stacks of inverted residuals (optional SE,
    squeeze = 1/4 of the expanded width), 1x1 conv to 1280, global pool, FC (ReLU)."""
    n = len(MNAS_STACKS)
    depths, kernels, expands = (per_stage(c, k, n, "mnasnet") for k in ("depths", "kernels", "expansions"))
    w = c["width"]
    c0, c1 = make_divisible(32 * w), make_divisible(16 * w)
    stem = [conv_bn(3, c0, 3, 2), conv_bn(c0, c0, 3, groups=c0), conv_bn(c0, c1, 1, act=None)]
    stages = [(d, make_divisible(ch * w), k, s, _ratio(t)) for (ch, s), d, k, t in zip(MNAS_STACKS, depths, kernels, expands)]
    se_of = (lambda cin, mid: make_divisible(mid / 4)) if c["se"] else None
    blocks, cin = _stages(c1, stages, "relu", se_of)
    return nn.Sequential(*stem, *blocks, conv_bn(cin, 1280, 1), classifier_head(1280, c["num_classes"]))


def sample_mnasnet(rng: random.Random) -> dict:
    return {"width": pick(rng, (0.5, 0.75, 1.0, 1.3)), "depths": [rng.randint(1, 4) for _ in MNAS_STACKS],
            "kernels": [pick(rng, (3, 5, 7)) for _ in MNAS_STACKS],
            "expansions": [pick(rng, (3, 6)) for _ in MNAS_STACKS], "se": rng.random() < 0.5,
            **common(rng, MOBILE_RESOLUTIONS)}


families.add("mnasnet", Family(
    "mnasnet", build_mnasnet, sample_mnasnet,
    {"width": 1.0, "depths": [3, 3, 3, 2, 4, 1], "kernels": [3, 5, 5, 3, 5, 3], "expansions": [3, 3, 6, 6, 6, 6],
     "se": False, "num_classes": 1000, "resolution": 224, "batch": 1},
    "MnasNet (Tan et al. 2019; defaults MnasNet-B1): width, per-stack depth, kernel, expansion, SE"))


# ----------------------------------------------------------------------------------- EfficientNet
#: (expansion, kernel, stride, channels, depth) of EfficientNet-B0's 7 stages
EFFNET_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
                 (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))


def build_efficientnet(c: dict) -> nn.Module:
    """Stem 3x3/2 (32 x width), 7 MBConv stages (SE with 1/4 of the block's input channels,
    swish), each ceil(depth x ``depth_mult``) deep; 1x1 conv to 4 x the last width; pool; FC."""
    n = len(EFFNET_STAGES)
    kernels, expands = per_stage(c, "kernels", n, "efficientnet"), per_stage(c, "expansions", n, "efficientnet")
    w, dm = c["width_mult"], c["depth_mult"]
    stem = make_divisible(32 * w)
    stages = [(max(1, math.ceil(d * dm)), make_divisible(ch * w), k, s, _ratio(t))
              for (_, _, s, ch, d), k, t in zip(EFFNET_STAGES, kernels, expands)]
    blocks, cin = _stages(stem, stages, "swish", lambda cin, mid: max(1, cin // 4), "swish")
    last = 4 * cin
    return nn.Sequential(conv_bn(3, stem, 3, 2, act="swish"), *blocks, conv_bn(cin, last, 1, act="swish"),
                         classifier_head(last, c["num_classes"]))


def sample_efficientnet(rng: random.Random) -> dict:
    return {"width_mult": pick(rng, (0.5, 0.75, 1.0, 1.1, 1.2, 1.4)),
            "depth_mult": pick(rng, (0.5, 0.75, 1.0, 1.2, 1.4, 1.8)),
            "kernels": [pick(rng, (3, 5, 7)) for _ in EFFNET_STAGES],
            "expansions": [1] + [pick(rng, (4, 6)) for _ in EFFNET_STAGES[1:]],
            **common(rng, MOBILE_RESOLUTIONS + (240,))}


families.add("efficientnet", Family(
    "efficientnet", build_efficientnet, sample_efficientnet,
    {"width_mult": 1.0, "depth_mult": 1.0, "kernels": [s[1] for s in EFFNET_STAGES],
     "expansions": [s[0] for s in EFFNET_STAGES], "num_classes": 1000, "resolution": 224, "batch": 1},
    "EfficientNet (Tan & Le 2019; defaults B0): width and depth multipliers, per-stage kernel and expansion"))
