"""archrep: what a neural network will do, before you train or run it.

One architecture representation (:class:`archrep.graph.ArchGraph`) shared by search spaces,
benchmark datasets, feature encoders, predictors and the command line.
"""
from archrep.errors import ArchrepError, GraphError
from archrep.graph import ArchGraph

__version__ = "0.1.0"

__all__ = ["ArchGraph", "ArchrepError", "GraphError", "__version__"]
