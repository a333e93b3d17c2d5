"""Chains of MobileNet inverted-residual blocks: the graph builder shared by the FBNet and OFA spaces.

:class:`Chain` follows the tensor through a chain network layer by layer (channels and spatial
side) and records one node per layer with what is known of it: ``kernel``, ``stride``,
``expansion``, ``groups``, ``channels`` (out), ``in_channels``, ``side`` (input height = width),
``act``, ``se``, and its cost ``macs`` and ``params``. :meth:`Chain.graph` then gives the
``input -> layers -> output`` ArchGraph with the totals as graph attributes.

Cost conventions (those of NB201's counter, ``archrep.spaces.nb201_cost``): ``macs`` counts the
multiply-accumulates of convolutions and linear layers only (batch norm folds into the
convolution at inference; activations, pooling and additions are not counted); ``params``
counts convolution weights, batch-norm scale and shift (2 per channel) and linear (and
squeeze-excite) weights with biases.
"""
from __future__ import annotations

from archrep.graph import ArchGraph
from archrep.ops import INPUT, MBCONV_BLOCKS, OUTPUT


def make_divisible(value: float, divisor: int = 8) -> int:
    """``value`` rounded to the nearest multiple of ``divisor``, never more than 10 % below it
    (MobileNet's channel rounding)."""
    out = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * value else out


def _out_side(side: int, stride: int) -> int:
    """Spatial side after a 'same'-padded layer of this stride."""
    return -(-side // stride)


class Chain:
    """A chain network under construction, starting from ``channels`` x ``side`` x ``side`` inputs."""

    def __init__(self, channels: int, side: int):
        self.channels = channels
        self.side = side
        self.ops: list[str] = []
        self.attrs: list[dict] = []

    def _add(self, op: str, cout: int, stride: int, macs: int, params: int, **attrs) -> None:
        self.ops.append(op)
        self.attrs.append({**attrs, "stride": stride, "channels": cout, "in_channels": self.channels,
                           "side": self.side, "macs": int(macs), "params": int(params)})
        self.channels = cout
        self.side = _out_side(self.side, stride)

    def conv(self, op: str, cout: int, kernel: int, stride: int = 1, act: str = "relu") -> None:
        """A Conv-BN-activation layer."""
        out = _out_side(self.side, stride)
        self._add(op, cout, stride, out * out * self.channels * cout * kernel * kernel,
                  self.channels * cout * kernel * kernel + 2 * cout, kernel=kernel, act=act)

    def mbconv(self, op: str, cout: int, stride: int = 1, act: str = "relu",
               expand_conv: bool = True) -> None:
        """The inverted-residual block ``op`` (a key of ``archrep.ops.MBCONV_BLOCKS``): 1x1 expansion
        (left out when ``expand_conv`` is False), k x k depthwise, squeeze-excite when the op has
        it (reduction 4, rounded to 8), 1x1 projection; the two 1x1 convolutions use the op's groups."""
        kernel, expansion, groups, se = MBCONV_BLOCKS[op]
        cin, side, out = self.channels, self.side, _out_side(self.side, stride)
        mid = cin * expansion
        macs = out * out * mid * kernel * kernel + out * out * mid * cout // groups
        params = mid * kernel * kernel + mid * cout // groups + 2 * (mid + cout)
        if expand_conv:
            macs += side * side * cin * mid // groups
            params += cin * mid // groups + 2 * mid
        if se:
            squeeze = make_divisible(mid / 4)
            macs += 2 * mid * squeeze
            params += 2 * mid * squeeze + mid + squeeze
        self._add(op, cout, stride, macs, params, kernel=kernel, expansion=expansion,
                  **({"groups": groups} if groups > 1 else {}), act=act, se=se)

    def skip(self, cout: int, stride: int = 1) -> None:
        """FBNet's 'skip' choice: the identity, or a Conv1x1-BN-ReLU projection where the stride or
        the channel count changes."""
        if stride == 1 and cout == self.channels:
            self._add("skip", cout, 1, 0, 0)
        else:
            self.conv("conv1x1-bn-relu", cout, 1, stride)

    def pool(self) -> None:
        """Global average pooling."""
        self._add("global_avg_pool", self.channels, 1, 0, 0)
        self.side = 1

    def linear(self, cout: int) -> None:
        """The classifier (fully connected, with bias)."""
        self._add("fc", cout, 1, self.channels * cout, (self.channels + 1) * cout)

    def graph(self, space: str, input_shape: list[int]) -> ArchGraph:
        """The ``input -> layers -> output`` chain with graph attributes ``space``, ``input_shape``,
        ``macs`` and ``params`` (totals)."""
        ops = [INPUT, *self.ops, OUTPUT]
        totals = {k: sum(a[k] for a in self.attrs) for k in ("macs", "params")}
        return ArchGraph(ops, [(i, i + 1) for i in range(len(ops) - 1)], [{}, *self.attrs, {}],
                         {"space": space, "input_shape": list(input_shape), **totals})
