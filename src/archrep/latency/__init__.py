"""Latency on real hardware: platform descriptors, a profiler and the LatencyStore database.

``detect()`` reads this machine into a :class:`Platform`; ``profile(model, platform)`` measures
an ONNX model or torch module and returns a :class:`Measurement`, and ``profile_kernels`` splits
its onnxruntime run into kernels; :class:`LatencyStore` keeps
graphs, platforms and measurements in SQLite or any SQLAlchemy database; ``profile_jobs`` fills
a store from the model zoo, resumably. :mod:`archrep.latency.devices` describes the real devices
of the shared latency benchmarks (HELP, HW-NAS-Bench-360) from their public specifications.
The store needs SQLAlchemy (``archrep[latency]``), the onnxruntime profiler ``archrep[onnx]``;
this package imports without them.
"""
from archrep.latency.jobs import profile_jobs
from archrep.latency.kernels import KernelProfile, profile_kernels
from archrep.latency.platform import Platform, detect
from archrep.latency.profiler import Measurement, UnsupportedPlatformError, profile
from archrep.latency.store import SCHEMA_VERSION, LatencyStore

__all__ = ["Platform", "detect", "Measurement", "UnsupportedPlatformError", "profile", "LatencyStore",
           "SCHEMA_VERSION", "profile_jobs", "profile_kernels", "KernelProfile"]
