"""Where a model's time goes: per-kernel latency from onnxruntime's own profiler.

:func:`profile_kernels` runs an ONNX model (or a torch module, through its export) in an
onnxruntime session with profiling on and reads the trace: one entry per **kernel** that the
session executed, which is not one per ONNX node. onnxruntime rewrites the graph first (all
optimisations, as :func:`~archrep.latency.profiler.profile` measures): it fuses nodes (a Conv
and the Relu after it become one ``Conv`` kernel named after the Relu's output), drops some
(Flatten, Identity) and inserts layout changes (``ReorderInput`` / ``ReorderOutput`` around
NCHWc convolutions). These kernels are what nn-Meter calls kernels: the units whose latencies
add up to the model's.

Each kernel's time is the median over the timed runs; ``share`` is that over the median model
run. The profiler costs a little per kernel, so the sum of the kernels is below the profiled run
and the profiled run is slightly slower than :func:`profile` measures: use this for the split,
and :func:`profile` for the latency. onnxruntime only (CPU or CUDA execution provider): torch
eager has no comparable per-kernel trace here.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archrep.errors import ArchrepError
from archrep.latency.platform import Platform
from archrep.latency.profiler import _ort_runner, checked_platform

#: the suffix onnxruntime gives a kernel's execution event in its trace
_KERNEL_EVENT = "_kernel_time"


@dataclass(frozen=True)
class Kernel:
    """One executed kernel: its name in the optimised graph, its op, and its median time."""

    name: str
    op_type: str
    median_ms: float
    share: float  # of the median profiled model run


@dataclass(frozen=True)
class KernelProfile:
    """The kernels of one model in execution order, with the median profiled run they share."""

    platform: str
    batch: int
    runs: int
    run_ms: float
    kernels: tuple[Kernel, ...]

    @property
    def kernel_ms(self) -> float:
        """Sum of the kernels' median times (below ``run_ms``: the executor's own work is not a kernel)."""
        return float(sum(k.median_ms for k in self.kernels))

    def by_op(self) -> dict[str, float]:
        """Milliseconds per op type, largest first."""
        out: dict[str, float] = {}
        for k in self.kernels:
            out[k.op_type] = out.get(k.op_type, 0.0) + k.median_ms
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def to_dict(self) -> dict:
        return asdict(self)


def profile_kernels(model: Any, platform: Platform | None = None, *, example_input: Any = None,
                    batch: int | None = None, repeats: int = 20, warmup: int = 5) -> KernelProfile:
    """Per-kernel latency of ``model`` on an onnxruntime ``platform`` (default ``detect()``).

    ``model``, ``example_input`` and ``batch`` as for :func:`~archrep.latency.profiler.profile`;
    ``warmup`` untimed runs, then ``repeats`` profiled ones (module docstring).
    """
    platform = checked_platform(platform)
    if platform.runtime != "onnxruntime":
        raise ArchrepError(f"per-kernel profiling reads onnxruntime's trace; platform {platform.id!r} runs "
                           f"{platform.runtime}: use an onnxruntime platform (archrep profile --runtime onnxruntime)")
    if repeats < 1 or warmup < 0:
        raise ArchrepError(f"need repeats >= 1 and warmup >= 0; got repeats={repeats}, warmup={warmup}")
    with tempfile.TemporaryDirectory(prefix="archrep-kernels-") as tmp:
        run, n, session = _ort_runner(model, platform, example_input, batch, profile_prefix=str(Path(tmp) / "ort"))
        for _ in range(warmup + repeats):
            run()
        events = json.loads(Path(session.end_profiling()).read_text())
    return _read_trace(events, skip=1 + warmup, platform=platform.id, batch=n)


def _read_trace(events: list[dict], *, skip: int, platform: str, batch: int) -> KernelProfile:
    """The kernel profile of an onnxruntime trace, without its first ``skip`` model runs."""
    runs: list[tuple[float, dict[str, float]]] = []  # (model run us, {kernel: us})
    ops: dict[str, str] = {}  # kernel -> op, in execution order
    current: dict[str, float] = {}
    for event in events:
        name = event.get("name", "")
        if event.get("cat") == "Node" and name.endswith(_KERNEL_EVENT):
            kernel = name[: -len(_KERNEL_EVENT)]
            current[kernel] = current.get(kernel, 0.0) + float(event["dur"])
            ops.setdefault(kernel, event.get("args", {}).get("op_name", "?"))
        elif event.get("cat") == "Session" and name == "model_run":
            runs.append((float(event["dur"]), current))
            current = {}
    timed = runs[skip:]
    if not timed:
        raise ArchrepError(f"onnxruntime's trace holds {len(runs)} model run(s), none after the {skip} untimed "
                           "ones; this onnxruntime may not write kernel events")
    run_ms = float(np.median([us for us, _ in timed])) / 1e3
    kernels = []
    for kernel in ops:
        ms = float(np.median([k.get(kernel, 0.0) for _, k in timed])) / 1e3
        kernels.append(Kernel(kernel, ops[kernel], ms, ms / run_ms if run_ms > 0 else 0.0))
    return KernelProfile(platform, batch, len(timed), run_ms, tuple(kernels))
