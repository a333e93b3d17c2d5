"""archrep: what a neural network will do, before you train or run it.

One architecture representation (:class:`archrep.graph.ArchGraph`) shared by search spaces,
benchmark datasets, feature encoders, predictors and the command line.
"""
from archrep.errors import ArchrepError, GraphError
from archrep.graph import ArchGraph
from archrep.io import vocab as _onnx_vocab  # registers the ONNX ops, so saved real-model graphs load

del _onnx_vocab

__version__ = "0.1.0"

__all__ = ["ArchGraph", "ArchrepError", "GraphError", "__version__"]
