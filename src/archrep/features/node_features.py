"""Per-node numeric features from ArchGraph node attributes (NNLQP-style node configuration).

Graph predictors see op types and topology; for real models that is not enough (a 3x3 conv of
16 channels and one of 512 look the same), so NNLQP and LeDG-Former also feed each node's
configuration and costs. :data:`NODE_FEATURES` is the fixed list of features, in column order,
read from the attributes :mod:`archrep.io.onnx` writes:

* ``log_flops``, ``log_params``, ``log_mem_bytes``: log1p of the node's ``flops``, ``params``
  and ``mem_bytes`` (memory traffic, bytes);
* ``log_channels``, ``log_in_channels``, ``log_groups``: log1p of ``channels`` (output channels
  / features), ``in_channels`` and ``groups`` (depthwise convs have groups = channels);
* ``kernel_0``, ``kernel_1``, ``stride_0``, ``stride_1``: the first two entries of ``kernel`` and
  ``stride``, raw (a scalar counts for both entries, a 1-D kernel leaves entry 1 at 0);
* ``log_out_0`` .. ``log_out_3``: log1p of the first four dimensions of ``output_shape``
  (NCHW for convs, so resolution shows here; missing dimensions 0), and ``log_out_elements``:
  log1p of its number of elements, whatever its rank;
* ``log_batch``: log1p of the graph attribute ``batch``, repeated on every node, so the batch a
  model was measured at is visible to every node (it is also ``log_out_0`` of most nodes).

Raw counts span orders of magnitude, hence the logs; kernel and stride are small integers and
stay raw. A missing or non-numeric attribute gives 0. Predictors standardise the columns with
their training set's statistics (:class:`archrep.models.base.TorchPredictor`).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from archrep.errors import ArchrepError
from archrep.graph import ArchGraph

#: the features, in column order (module docstring)
NODE_FEATURES: tuple[str, ...] = (
    "log_flops", "log_params", "log_mem_bytes", "log_channels", "log_in_channels", "log_groups",
    "kernel_0", "kernel_1", "stride_0", "stride_1", "log_out_0", "log_out_1", "log_out_2", "log_out_3",
    "log_out_elements", "log_batch",
)
#: node attributes of the log1p columns, in column order
_LOG_ATTRS = ("flops", "params", "mem_bytes", "channels", "in_channels", "groups")
_OUT_DIMS = 4


def _number(value: Any) -> float:
    """``value`` as a finite float, or 0 when it is absent, not a number, or not finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return 0.0
    value = float(value)
    return value if math.isfinite(value) else 0.0


def _log(value: Any) -> float:
    return math.log1p(max(_number(value), 0.0))


def _pair(value: Any) -> list[float]:
    """The first two entries of a list attribute (a scalar fills both; missing entries are 0)."""
    if isinstance(value, (list, tuple)):
        return [_number(v) for v in value[:2]] + [0.0] * (2 - min(len(value), 2))
    return [_number(value)] * 2


def node_values(attrs: dict, graph_attrs: dict) -> list[float]:
    """All :data:`NODE_FEATURES` of one node (its attributes, its graph's attributes), in order."""
    shape = attrs.get("output_shape")
    shape = [_number(d) for d in shape] if isinstance(shape, (list, tuple)) else []
    out = [_log(attrs.get(key)) for key in _LOG_ATTRS]
    out += _pair(attrs.get("kernel")) + _pair(attrs.get("stride"))
    out += [math.log1p(max(d, 0.0)) for d in shape[:_OUT_DIMS]] + [0.0] * (_OUT_DIMS - min(len(shape), _OUT_DIMS))
    out.append(math.log1p(max(math.prod(shape), 0.0)) if shape else 0.0)
    out.append(_log(graph_attrs.get("batch")))
    return out


def check_names(names: Sequence[str], where: str) -> tuple[str, ...]:
    """``names`` as a tuple after checking each is a known feature (unknown ones list the valid ones)."""
    names = tuple(names)
    unknown = [n for n in names if n not in NODE_FEATURES]
    if unknown or len(set(names)) != len(names) or not names:
        why = f"unknown {', '.join(map(repr, unknown))}" if unknown else "empty or repeated names"
        raise ArchrepError(f"{where}: node features {list(names)} are not usable ({why}); choose from "
                           f"{', '.join(NODE_FEATURES)}, or pass node_features=True for all of them")
    return names


def node_feature_array(graphs: Sequence[ArchGraph], max_nodes: int,
                       names: Sequence[str] = NODE_FEATURES) -> np.ndarray:
    """float32 (N, max_nodes, F): feature ``names`` of node j of graph i at [i, j]; 0 on padding."""
    cols = [NODE_FEATURES.index(n) for n in check_names(names, "node_feature_array")]
    out = np.zeros((len(graphs), max_nodes, len(cols)), dtype=np.float32)
    for i, g in enumerate(graphs):
        if g.num_nodes:
            rows = np.array([node_values(a, g.attrs) for a in g.node_attrs], dtype=np.float64)
            out[i, :g.num_nodes] = rows[:, cols]
    return out


__all__ = ["NODE_FEATURES", "node_values", "check_names", "node_feature_array"]
