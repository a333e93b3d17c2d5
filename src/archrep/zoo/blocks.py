"""Building blocks shared by the model families: conv-BN-activation, squeeze-excite, the
inverted residual (MobileNetV2/V3, MnasNet, EfficientNet), and the channel rounding they use."""
from __future__ import annotations

from torch import nn

from archrep.errors import ArchrepError

ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6, "hswish": nn.Hardswish, "swish": nn.SiLU}


def make_divisible(value: float, divisor: int = 8) -> int:
    """``value`` rounded to a multiple of ``divisor``, never more than 10% below it (MobileNet rule)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def activation(name: str | None) -> nn.Module:
    if name is None:
        return nn.Identity()
    if name not in ACTIVATIONS:
        raise ArchrepError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name](inplace=True)


def conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
            act: str | None = "relu", bn: bool = True) -> nn.Sequential:
    """Conv (same padding, no bias when followed by BN) -> BatchNorm -> activation."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=not bn)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    if act is not None:
        layers.append(activation(act))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Global pool -> 1x1 reduce -> act -> 1x1 expand -> gate, multiplied onto the input."""

    def __init__(self, channels: int, squeeze: int, act: str = "relu", gate: str = "sigmoid"):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.act = activation(act)
        self.expand = nn.Conv2d(squeeze, channels, 1)
        self.gate = nn.Hardsigmoid() if gate == "hsigmoid" else nn.Sigmoid()

    def forward(self, x):
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


class InvertedResidual(nn.Module):
    """1x1 expand to ``mid`` channels (skipped when ``mid == cin``) -> depthwise kxk -> [SE
    with ``se`` channels] -> 1x1 project (linear), with an identity shortcut when the stride is 1
    and the channels match."""

    def __init__(self, cin: int, mid: int, cout: int, kernel: int, stride: int,
                 act: str = "relu6", se: int = 0, se_act: str = "relu", se_gate: str = "sigmoid"):
        super().__init__()
        layers: list[nn.Module] = []
        if mid != cin:
            layers.append(conv_bn(cin, mid, 1, act=act))
        layers.append(conv_bn(mid, mid, kernel, stride, groups=mid, act=act))
        if se:
            layers.append(SqueezeExcite(mid, se, se_act, se_gate))
        layers.append(conv_bn(mid, cout, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


def classifier_head(cin: int, num_classes: int, hidden: int = 0, act: str = "relu",
                    dropout: float = 0.2) -> nn.Sequential:
    """Global average pool -> flatten -> [Linear hidden -> act] -> dropout -> Linear."""
    layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if hidden:
        layers += [nn.Linear(cin, hidden), activation(act)]
        cin = hidden
    layers += [nn.Dropout(dropout), nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers)
