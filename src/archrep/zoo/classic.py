"""AlexNet, VGG, ResNet, SqueezeNet and GoogLeNet as parametric families.

Layer tables follow the published networks; the knobs scale them: a width multiplier on every
channel count, per-stage depths, kernel sizes, and the input resolution and batch. Heads that
the reference models give an adaptive pool to a fixed size flatten the actual feature map
instead (ONNX has no adaptive pooling to sizes that do not divide the input). VGG and ResNet
keep their 3x3 body kernels when sampled (``kernel`` stays a config knob): larger ones pushed the
heaviest sampled models past a few seconds a forward pass.
"""
from __future__ import annotations

import random

import torch
from torch import nn

from archrep.errors import ArchrepError
from archrep.zoo import Family, families
from archrep.zoo.blocks import classifier_head, conv_bn, make_divisible

BATCHES = (1, 2, 4, 8)


def pick(rng: random.Random, options):
    return options[rng.randrange(len(options))]


def common(rng: random.Random, resolutions, batches=BATCHES) -> dict:
    """The ``resolution`` and ``batch`` every family samples."""
    return {"resolution": pick(rng, resolutions), "batch": pick(rng, batches)}


def per_stage(config: dict, key: str, n: int, family: str) -> list:
    """``config[key]``, checked to hold one value per stage."""
    value = config[key]
    if len(value) != n:
        raise ArchrepError(f"family {family!r}: config key {key!r} needs {n} values (one per stage), "
                           f"got {len(value)}: {value}")
    return value


def scaled(channels: int, width: float) -> int:
    return make_divisible(channels * width)


def pooled(size: int, kernel: int, stride: int, padding: int = 0, ceil: bool = False) -> int:
    """Output size of a conv/pool along one spatial axis."""
    span = size + 2 * padding - kernel
    out = (span + stride - 1) // stride + 1 if ceil else span // stride + 1
    if out < 1:
        raise ArchrepError(f"the input resolution is too small: a {kernel}x{kernel} window leaves no "
                           "output; raise 'resolution'")
    return out


# ----------------------------------------------------------------------------------- AlexNet
def build_alexnet(c: dict) -> nn.Module:
    """5 convs (first kernel k1 stride 4) with 3 max pools, then 3 fully connected layers."""
    w = [scaled(ch, c["width"]) for ch in (64, 192, 384, 256, 256)]
    k1, k2 = c["kernel1"], c["kernel2"]
    features = nn.Sequential(
        nn.Conv2d(3, w[0], k1, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(w[0], w[1], k2, 1, k2 // 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(w[1], w[2], 3, 1, 1), nn.ReLU(inplace=True),
        nn.Conv2d(w[2], w[3], 3, 1, 1), nn.ReLU(inplace=True),
        nn.Conv2d(w[3], w[4], 3, 1, 1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
    )
    s = pooled(pooled(pooled(pooled(c["resolution"], k1, 4, 2), 3, 2), 3, 2), 3, 2)
    h = c["hidden"]
    classifier = nn.Sequential(
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(w[4] * s * s, h), nn.ReLU(inplace=True),
        nn.Dropout(0.5), nn.Linear(h, h), nn.ReLU(inplace=True), nn.Linear(h, c["num_classes"]))
    return nn.Sequential(features, classifier)


def sample_alexnet(rng: random.Random) -> dict:
    return {"width": pick(rng, (0.5, 0.75, 1.0, 1.25, 1.5)), "kernel1": pick(rng, (7, 9, 11)),
            "kernel2": pick(rng, (3, 5)), "hidden": pick(rng, (512, 1024, 2048, 4096)),
            **common(rng, (96, 128, 160, 192, 224))}


families.add("alexnet", Family(
    "alexnet", build_alexnet, sample_alexnet,
    {"width": 1.0, "kernel1": 11, "kernel2": 5, "hidden": 4096, "num_classes": 1000,
     "resolution": 224, "batch": 1},
    "AlexNet (Krizhevsky et al. 2012, single-tower): width, first kernels, FC width"))


# ----------------------------------------------------------------------------------- VGG
VGG_CHANNELS = (64, 128, 256, 512, 512)


def build_vgg(c: dict) -> nn.Module:
    """5 stages of ``depths[i]`` 3x3 convs [+BN] + ReLU, each closed by a 2x2 max pool; 3 FC layers."""
    depths = per_stage(c, "depths", 5, "vgg")
    layers: list[nn.Module] = []
    cin = 3
    for depth, ch in zip(depths, VGG_CHANNELS):
        cout = scaled(ch, c["width"])
        for _ in range(depth):
            layers.append(conv_bn(cin, cout, c["kernel"], bn=c["bn"]))
            cin = cout
        layers.append(nn.MaxPool2d(2, 2))
    s = c["resolution"] // 32
    if s < 1:
        raise ArchrepError("VGG needs resolution >= 32 (five 2x2 pools)")
    h = c["hidden"]
    classifier = nn.Sequential(
        nn.Flatten(), nn.Linear(cin * s * s, h), nn.ReLU(inplace=True), nn.Dropout(0.5),
        nn.Linear(h, h), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(h, c["num_classes"]))
    return nn.Sequential(*layers, classifier)


def sample_vgg(rng: random.Random) -> dict:
    return {"depths": [rng.randint(1, 4) for _ in range(5)], "width": pick(rng, (0.25, 0.375, 0.5, 0.75, 1.0)),
            "kernel": 3, "bn": rng.random() < 0.5, "hidden": pick(rng, (256, 512, 1024, 2048)),
            **common(rng, (32, 64, 96, 128, 160, 192, 224), (1, 2, 4))}


families.add("vgg", Family(
    "vgg", build_vgg, sample_vgg,
    {"depths": [2, 2, 3, 3, 3], "width": 1.0, "kernel": 3, "bn": False, "hidden": 4096,
     "num_classes": 1000, "resolution": 224, "batch": 1},
    "VGG (Simonyan & Zisserman 2015; defaults VGG-16): per-stage depth, width, kernel, BN, FC width"))


# ----------------------------------------------------------------------------------- ResNet
class _ResBlock(nn.Module):
    """Basic (3x3, 3x3) or bottleneck (1x1, 3x3, 1x1 x4) residual block with a projection shortcut."""

    def __init__(self, cin: int, planes: int, stride: int, bottleneck: bool, kernel: int):
        super().__init__()
        cout = planes * 4 if bottleneck else planes
        if bottleneck:
            self.body = nn.Sequential(conv_bn(cin, planes, 1), conv_bn(planes, planes, kernel, stride),
                                      conv_bn(planes, cout, 1, act=None))
        else:
            self.body = nn.Sequential(conv_bn(cin, planes, kernel, stride), conv_bn(planes, cout, kernel, act=None))
        self.shortcut = (nn.Identity() if stride == 1 and cin == cout
                         else conv_bn(cin, cout, 1, stride, act=None))
        self.act = nn.ReLU(inplace=True)
        self.cout = cout

    def forward(self, x):
        return self.act(self.body(x) + self.shortcut(x))


def build_resnet(c: dict) -> nn.Module:
    """Stem conv (kernel ``stem_kernel``, stride 2) + max pool, 4 stages of residual blocks
    (``base``, 2x, 4x, 8x planes; stride 2 from stage 2), global pool, FC."""
    depths = per_stage(c, "depths", 4, "resnet")
    bottleneck = {"basic": False, "bottleneck": True}.get(c["block"])
    if bottleneck is None:
        raise ArchrepError(f"resnet 'block' must be 'basic' or 'bottleneck', got {c['block']!r}")
    base = c["base"]
    layers: list[nn.Module] = [conv_bn(3, base, c["stem_kernel"], 2), nn.MaxPool2d(3, 2, 1)]
    cin = base
    for i, depth in enumerate(depths):
        for j in range(depth):
            block = _ResBlock(cin, base * 2 ** i, 2 if (i > 0 and j == 0) else 1, bottleneck, c["kernel"])
            layers.append(block)
            cin = block.cout
    layers.append(classifier_head(cin, c["num_classes"], dropout=0.0))
    return nn.Sequential(*layers)


def sample_resnet(rng: random.Random) -> dict:
    return {"block": pick(rng, ("basic", "bottleneck")), "depths": [rng.randint(1, 6) for _ in range(4)],
            "base": pick(rng, (16, 24, 32, 48, 64)), "stem_kernel": pick(rng, (3, 5, 7)),
            "kernel": 3, **common(rng, (64, 96, 128, 160, 192, 224))}


families.add("resnet", Family(
    "resnet", build_resnet, sample_resnet,
    {"block": "basic", "depths": [2, 2, 2, 2], "base": 64, "stem_kernel": 7, "kernel": 3,
     "num_classes": 1000, "resolution": 224, "batch": 1},
    "ResNet (He et al. 2016; defaults ResNet-18): block type, per-stage depth, base width, kernels"))


# ----------------------------------------------------------------------------------- SqueezeNet
#: expand channels (1x1 + 3x3) of the 8 Fire modules of SqueezeNet
FIRE_EXPAND = (128, 128, 256, 256, 384, 384, 512, 512)
#: after which Fire modules (0-based) a 3x3/2 max pool follows, per version
FIRE_POOLS = {"1_0": (2, 6), "1_1": (1, 3)}


class _Fire(nn.Module):
    """Squeeze 1x1 -> ReLU -> [expand 1x1 | expand 3x3] -> ReLU -> channel concat."""

    def __init__(self, cin: int, squeeze: int, e1: int, e3: int):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(cin, squeeze, 1), nn.ReLU(inplace=True))
        self.e1 = nn.Sequential(nn.Conv2d(squeeze, e1, 1), nn.ReLU(inplace=True))
        self.e3 = nn.Sequential(nn.Conv2d(squeeze, e3, 3, padding=1), nn.ReLU(inplace=True))

    def forward(self, x):
        s = self.squeeze(x)
        return torch.cat([self.e1(s), self.e3(s)], 1)


def build_squeezenet(c: dict) -> nn.Module:
    """SqueezeNet 1.0 (7x7/96 stem) or 1.1 (3x3/64 stem): 8 Fire modules and a conv classifier."""
    if c["version"] not in FIRE_POOLS:
        raise ArchrepError(f"squeezenet 'version' must be one of {', '.join(FIRE_POOLS)}, got {c['version']!r}")
    stem_ch, stem_k = (96, 7) if c["version"] == "1_0" else (64, 3)
    cin = scaled(stem_ch, c["width"])
    layers: list[nn.Module] = [nn.Conv2d(3, cin, stem_k, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True)]
    for i, expand in enumerate(FIRE_EXPAND):
        total = scaled(expand, c["width"])
        e3 = make_divisible(total * c["pct3x3"])
        squeeze = make_divisible(total * c["squeeze_ratio"])
        layers.append(_Fire(cin, squeeze, max(8, total - e3), e3))
        cin = max(8, total - e3) + e3
        if i in FIRE_POOLS[c["version"]]:
            layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
    layers += [nn.Dropout(0.5), nn.Conv2d(cin, c["num_classes"], 1), nn.ReLU(inplace=True),
               nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)


def sample_squeezenet(rng: random.Random) -> dict:
    return {"version": pick(rng, ("1_0", "1_1")), "width": pick(rng, (0.5, 0.75, 1.0, 1.25, 1.5)),
            "squeeze_ratio": pick(rng, (0.125, 0.25)), "pct3x3": pick(rng, (0.25, 0.5, 0.75)),
            **common(rng, (64, 96, 128, 160, 192, 224))}


families.add("squeezenet", Family(
    "squeezenet", build_squeezenet, sample_squeezenet,
    {"version": "1_0", "width": 1.0, "squeeze_ratio": 0.125, "pct3x3": 0.5, "num_classes": 1000,
     "resolution": 224, "batch": 1},
    "SqueezeNet (Iandola et al. 2016): version, width, squeeze ratio, share of 3x3 expand"))


# ----------------------------------------------------------------------------------- GoogLeNet
#: Inception v1 modules (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj) of stages 3, 4, 5
INCEPTION = (
    ((64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64)),
    ((192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
     (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128)),
    ((256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128)),
)


class _Inception(nn.Module):
    """Four branches concatenated: 1x1; 1x1 -> 3x3; 1x1 -> kxk; 3x3 max pool -> 1x1."""

    def __init__(self, cin: int, spec, kernel: int):
        super().__init__()
        b1, r3, b3, r5, b5, bp = spec
        self.b1 = conv_bn(cin, b1, 1)
        self.b3 = nn.Sequential(conv_bn(cin, r3, 1), conv_bn(r3, b3, 3))
        self.b5 = nn.Sequential(conv_bn(cin, r5, 1), conv_bn(r5, b5, kernel))
        self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn(cin, bp, 1))
        self.cout = b1 + b3 + b5 + bp

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], 1)


def build_googlenet(c: dict) -> nn.Module:
    """Stem (7x7/2, pool, 1x1, 3x3, pool), the first ``blocks[i]`` Inception modules of stages
    3, 4, 5 with max pools between them, global pool, FC."""
    blocks = per_stage(c, "blocks", 3, "googlenet")
    w = c["width"]
    c1, c2, c3 = (scaled(ch, w) for ch in (64, 64, 192))
    layers: list[nn.Module] = [conv_bn(3, c1, 7, 2), nn.MaxPool2d(3, 2, ceil_mode=True),
                               conv_bn(c1, c2, 1), conv_bn(c2, c3, 3), nn.MaxPool2d(3, 2, ceil_mode=True)]
    cin = c3
    for stage, (n, table) in enumerate(zip(blocks, INCEPTION)):
        if not 1 <= n <= len(table):
            raise ArchrepError(f"googlenet 'blocks'[{stage}] must be in 1..{len(table)}, got {n}")
        for spec in table[:n]:
            module = _Inception(cin, [scaled(ch, w) for ch in spec], c["kernel5"])
            layers.append(module)
            cin = module.cout
        if stage < 2:
            layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
    layers.append(classifier_head(cin, c["num_classes"], dropout=0.2))
    return nn.Sequential(*layers)


def sample_googlenet(rng: random.Random) -> dict:
    return {"blocks": [rng.randint(1, 2), rng.randint(1, 5), rng.randint(1, 2)],
            "width": pick(rng, (0.5, 0.75, 1.0, 1.25)), "kernel5": pick(rng, (3, 5)),
            **common(rng, (64, 96, 128, 160, 192, 224))}


families.add("googlenet", Family(
    "googlenet", build_googlenet, sample_googlenet,
    {"blocks": [2, 5, 2], "width": 1.0, "kernel5": 5, "num_classes": 1000, "resolution": 224, "batch": 1},
    "GoogLeNet / Inception v1 (Szegedy et al. 2015, with BN): modules per stage, width, '5x5' kernel"))
