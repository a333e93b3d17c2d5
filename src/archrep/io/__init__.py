"""Real models in: ONNX files and PyTorch modules as ArchGraphs with shapes, FLOPs, memory
traffic and parameters per node.

``onnx`` is an optional dependency (``pip install "archrep[onnx]"``): this package imports
without it, and registers its op vocabulary (:mod:`archrep.io.vocab`) on import.
"""
from archrep.io import vocab  # noqa: F401  (registers the ONNX ops)
from archrep.io.onnx import ONNX_EXTRA_HINT, from_onnx
from archrep.io.torch import export_onnx, from_torch

__all__ = ["from_onnx", "from_torch", "export_onnx", "ONNX_EXTRA_HINT"]
