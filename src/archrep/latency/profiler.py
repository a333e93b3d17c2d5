"""Measure the latency of one model on one platform: onnxruntime or torch eager, CPU or CUDA.

:func:`profile` takes an ONNX model (path, bytes or ``onnx.ModelProto``) or a ``torch.nn.Module``
with its example input, and a :class:`~archrep.latency.platform.Platform` (default: onnxruntime,
CPU, fp32, one thread). It returns a :class:`Measurement`.

**Timing.** Warm-up runs until ``warmup`` runs or ``warmup_s`` seconds have passed, whichever
comes first, but at least one run (the first run allocates and is always slow). Then one round
of ``repeats`` timed runs gives the median, the inter-quartile range (IQR) and the minimum. A
round whose relative spread IQR / median exceeds ``max_spread`` (a noisy machine) is measured
again, up to ``max_rounds`` rounds in all, and the round with the smallest relative spread is
kept. Setting up (session creation, int8 quantisation) cost 0.02-1.2 s for the zoo's models
here (most for large weights: VGG, AlexNet), so a quiet measurement costs about 1 s plus
``repeats + 1`` runs of the model; a noisy one up to ``max_rounds`` times the repeats.

**Runtimes and precisions** (which ones a machine supports: ``Platform.unsupported_reason``):

* onnxruntime, CPU execution provider: ``intra_op_num_threads = threads``, one inter-op thread,
  all graph optimisations. fp32 runs the model as is. **int8 uses static quantisation** (QDQ
  format, uint8 activations and int8 weights per tensor) of Conv, MatMul and Gemm, which run as
  integer kernels (VNNI where the CPU has it) while element-wise ops stay fp32, as in a typical
  int8 CNN deployment. Dynamic quantisation was not chosen because its ConvInteger path is slow
  on CPU and is not what int8 deployment measures. Latency does not depend on the quantisation
  scales, so instead of calibrating, every activation gets the fixed range +-:data:`INT8_RANGE`
  (calibration would cost seconds per model: ORT's calibrator is quadratic in the graph size);
  onnxruntime releases without ``calibration_cache_path`` calibrate on the one random input
  batch instead. The numbers the int8 model computes are meaningless; its speed is not. The
  quantisation time is not part of the latency.
* onnxruntime, CUDA execution provider (fp32), inputs and outputs bound on the GPU.
* torch eager on CPU (fp32; bf16 by converting a copy of the module and its input when the CPU
  has AVX512-BF16 / AMX / Arm BF16), ``torch.set_num_threads(threads)`` for the measurement.
* torch eager on CUDA (fp32, fp16, bf16), synchronised after every run.

Inputs are random normal values (seed 0) of the model's input shapes; the batch is the
leading dimension of the first input.
"""
from __future__ import annotations

import contextlib
import copy
import os
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from typing import Any, Callable

import numpy as np

from archrep.errors import ArchrepError, ModelImportError
from archrep.latency.platform import Platform, detect


class UnsupportedPlatformError(ArchrepError):
    """This machine cannot measure the requested runtime / device / precision."""


@dataclass(frozen=True)
class Measurement:
    """One latency measurement: statistics of the kept round of timed runs, in milliseconds."""

    median_ms: float
    iqr_ms: float
    min_ms: float
    repeats: int
    warmup: int
    rounds: int
    platform: str
    batch: int
    timestamp: str  # ISO 8601, UTC

    @property
    def rel_spread(self) -> float:
        """IQR / median: the noise of the measurement (0.05 = 5 %)."""
        return self.iqr_ms / self.median_ms if self.median_ms > 0 else 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Measurement":
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in d]
        if missing:
            raise ArchrepError(f"measurement record lacks field(s) {missing}")
        return cls(**{n: d[n] for n in names})


def profile(model: Any, platform: Platform | None = None, *, example_input: Any = None,
            batch: int | None = None, repeats: int = 20, warmup: int = 10, warmup_s: float = 0.3,
            max_spread: float = 0.1, max_rounds: int = 3) -> Measurement:
    """Measure ``model`` on ``platform`` (default ``detect()``: onnxruntime, CPU, fp32, 1 thread).

    ``model``: an ONNX model (path, bytes, ``onnx.ModelProto``) or a ``torch.nn.Module``, which
    needs ``example_input`` (a tensor or a tuple; onnxruntime then runs its ONNX export).
    ``batch`` fills a symbolic leading input dimension of an ONNX model. See the module
    docstring for the timing protocol. Raises UnsupportedPlatformError when this machine cannot
    run the platform's setting, ModelImportError for a model that cannot be read or run.
    """
    platform = checked_platform(platform)
    if repeats < 3 or warmup < 0 or max_rounds < 1 or warmup_s < 0 or max_spread <= 0:
        raise ArchrepError(f"need repeats >= 3, warmup >= 0, warmup_s >= 0, max_rounds >= 1 and max_spread > 0; "
                           f"got repeats={repeats}, warmup={warmup}, warmup_s={warmup_s}, "
                           f"max_rounds={max_rounds}, max_spread={max_spread}")
    if platform.runtime == "onnxruntime":
        run, n, _ = _ort_runner(model, platform, example_input, batch)
    else:
        run, n = _torch_runner(model, platform, example_input)
    with _torch_threads(platform):
        median, iqr, low, done_warmup, rounds = _time(run, repeats, warmup, warmup_s, max_spread, max_rounds)
    return Measurement(median_ms=median, iqr_ms=iqr, min_ms=low, repeats=repeats, warmup=done_warmup,
                       rounds=rounds, platform=platform.id, batch=n,
                       timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"))


def checked_platform(platform: Platform | None) -> Platform:
    """``platform`` (default ``detect()``) after checking that it is one this machine can run;
    UnsupportedPlatformError says why not."""
    platform = platform or detect()
    if not isinstance(platform, Platform):
        raise ArchrepError(f"platform must be an archrep.latency.Platform (from detect()), got "
                           f"{type(platform).__name__}")
    reason = platform.unsupported_reason()
    if reason:
        raise UnsupportedPlatformError(reason)
    return platform


def _time(run: Callable[[], None], repeats: int, warmup: int, warmup_s: float, max_spread: float,
          max_rounds: int) -> tuple[float, float, float, int, int]:
    """(median, IQR, min) in ms of the least noisy round, warm-up runs done, rounds measured."""
    start = time.perf_counter()
    done = 0
    while done < 1 or (done < warmup and time.perf_counter() - start < warmup_s):
        run()
        done += 1
    best = None
    for rounds in range(1, max_rounds + 1):
        times = np.empty(repeats)
        for i in range(repeats):
            t0 = time.perf_counter_ns()
            run()
            times[i] = (time.perf_counter_ns() - t0) / 1e6
        q1, median, q3 = np.percentile(times, [25, 50, 75])
        stats = (float(median), float(q3 - q1), float(times.min()))
        if best is None or stats[1] / stats[0] < best[1] / best[0]:
            best = stats
        if stats[1] / stats[0] <= max_spread:
            break
    return (*best, done, rounds)


@contextlib.contextmanager
def _torch_threads(platform: Platform):
    """torch's intra-op thread count set to the platform's for the measurement, then restored."""
    if platform.runtime != "torch" or platform.device != "cpu":
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(platform.threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _is_torch_module(model: Any) -> bool:
    try:
        import torch
    except ImportError:
        return False
    return isinstance(model, torch.nn.Module)


# ---------------------------------------------------------------------------- onnxruntime
def _ort_runner(model: Any, platform: Platform, example_input: Any, batch: int | None,
                profile_prefix: str | None = None):
    """(run, batch, session) of the model in an onnxruntime session for ``platform``, after one
    run; ``profile_prefix``: onnxruntime's profiler on, its trace written under that prefix."""
    from archrep.io.onnx import _load, _onnx
    from archrep.io.torch import export_onnx

    onnx = _onnx()
    import onnxruntime as ort

    if _is_torch_module(model):
        if example_input is None:
            raise ArchrepError("profiling a torch module needs example_input (a tensor or a tuple of them)")
        model = export_onnx(model, example_input)
    elif not isinstance(model, (bytes, bytearray, str, os.PathLike, onnx.ModelProto)):
        raise ArchrepError(f"profile takes an ONNX model (a path, bytes or an onnx.ModelProto) or a "
                           f"torch.nn.Module, got {type(model).__name__}")
    source, proto = _load(onnx, model)
    feeds = _ort_feeds(onnx, proto, source, batch)
    if platform.precision == "int8":
        proto = _quantize_static(proto, feeds, source)
    options = ort.SessionOptions()
    options.intra_op_num_threads = platform.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    provider = "CUDAExecutionProvider" if platform.device == "cuda" else "CPUExecutionProvider"
    try:
        session = ort.InferenceSession(proto.SerializeToString(), options, providers=[provider])
        session.run(None, feeds)
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelImportError(f"{source}: onnxruntime cannot run the model ({type(exc).__name__}: {first}); "
                               "check it with onnx.checker and re-export it") from None
    n = int(next(iter(feeds.values())).shape[0])
    if platform.device == "cuda":
        binding = session.io_binding()
        for name, value in feeds.items():
            binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(value, "cuda", 0))
        for out in session.get_outputs():
            binding.bind_output(out.name, "cuda")
        return (lambda: session.run_with_iobinding(binding)), n, session
    return (lambda: session.run(None, feeds)), n, session


#: ops that int8 runs as integer kernels, and the fixed activation range that replaces calibration
INT8_OPS = ("Conv", "MatMul", "Gemm")
INT8_RANGE = 8.0
_ONNX_NUMPY = {1: np.float32, 10: np.float16, 11: np.float64, 6: np.int32, 7: np.int64, 9: np.bool_,
               2: np.uint8, 3: np.int8}


def _ort_feeds(onnx, proto, source: str, batch: int | None) -> dict[str, np.ndarray]:
    """Random inputs (seed 0) for the model's data inputs; a symbolic leading dim takes ``batch``."""
    rng = np.random.default_rng(0)
    initializers = {t.name for t in proto.graph.initializer}
    feeds = {}
    for inp in proto.graph.input:
        if inp.name in initializers:
            continue
        tensor = inp.type.tensor_type
        dtype = _ONNX_NUMPY.get(tensor.elem_type)
        if dtype is None:
            raise ModelImportError(f"{source}: input {inp.name!r} has element type "
                                   f"{onnx.TensorProto.DataType.Name(tensor.elem_type)}, which the profiler "
                                   f"cannot generate; supported: float, double, float16, int, bool")
        shape = []
        for i, dim in enumerate(tensor.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                shape.append(dim.dim_value)
            elif i == 0 and batch is not None:
                shape.append(batch)
            else:
                hint = "pass batch=N" if i == 0 else "re-export the model with a fixed input shape"
                raise ModelImportError(f"{source}: input {inp.name!r} has a symbolic dimension {i} "
                                       f"({dim.dim_param or '?'}): {hint}")
        if np.issubdtype(dtype, np.floating):
            feeds[inp.name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[inp.name] = np.zeros(shape, dtype=dtype)
    if not feeds:
        raise ModelImportError(f"{source}: the model has no data inputs to feed")
    return feeds


def _quantize_static(proto, feeds: dict[str, np.ndarray], source: str):
    """The int8 version of ``proto``: static QDQ quantisation of Conv / MatMul / Gemm with fixed
    activation ranges (see the module docstring)."""
    import inspect
    import logging

    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    class _OneBatch(CalibrationDataReader):
        def __init__(self):
            self.items = iter([feeds])

        def get_next(self):
            return next(self.items, None)

    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)  # quantize_static advises pre-processing on every call
    try:
        with tempfile.TemporaryDirectory() as tmp:
            model_in, model_out = os.path.join(tmp, "fp32.onnx"), os.path.join(tmp, "int8.onnx")
            onnx.save(proto, model_in)  # a file: quantize_static modifies a ModelProto given to it
            kw = {"quant_format": QuantFormat.QDQ, "activation_type": QuantType.QUInt8,
                  "weight_type": QuantType.QInt8, "op_types_to_quantize": list(INT8_OPS)}
            reader = _OneBatch()
            if "calibration_cache_path" in inspect.signature(quantize_static).parameters:
                from onnxruntime.quantization.calibrate import TensorData, TensorsData, save_tensors_data

                low, high = np.float32(-INT8_RANGE), np.float32(INT8_RANGE)
                names = [i.name for i in proto.graph.input] + [o for n in proto.graph.node for o in n.output]
                ranges = TensorsData(CalibrationMethod.MinMax,
                                     {name: TensorData(lowest=low, highest=high) for name in names})
                kw["calibration_cache_path"] = os.path.join(tmp, "ranges.json")
                save_tensors_data(ranges, kw["calibration_cache_path"])
                reader = None
            quantize_static(model_in, model_out, reader, **kw)
            return onnx.load(model_out)
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelImportError(f"{source}: int8 quantisation failed ({type(exc).__name__}: {first}); "
                               "profile it in fp32") from None
    finally:
        logger.setLevel(level)


# ---------------------------------------------------------------------------- torch eager
def _torch_runner(model: Any, platform: Platform, example_input: Any):
    import torch

    if not _is_torch_module(model):
        raise ArchrepError(f"runtime 'torch' profiles a torch.nn.Module, got {type(model).__name__}; "
                           "profile ONNX models with runtime 'onnxruntime'")
    if example_input is None:
        raise ArchrepError("profiling a torch module needs example_input (a tensor or a tuple of them)")
    args = tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)
    if not args or not all(isinstance(a, torch.Tensor) for a in args):
        raise ArchrepError("example_input must be a tensor or a non-empty tuple of tensors")
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[platform.precision]
    device = torch.device("cuda" if platform.device == "cuda" else "cpu")
    module = copy.deepcopy(model).eval().to(device=device, dtype=dtype)
    gen = torch.Generator().manual_seed(0)
    args = tuple(torch.randn(a.shape, generator=gen).to(device=device, dtype=dtype) if a.is_floating_point()
                 else a.to(device) for a in args)
    sync = torch.cuda.synchronize if platform.device == "cuda" else (lambda: None)

    def run():
        with torch.inference_mode():
            module(*args)
        sync()

    try:
        with _torch_threads(platform):
            run()
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelImportError(f"{type(model).__name__} does not run on example_input at {platform.precision} "
                               f"({type(exc).__name__}: {first})") from None
    return run, int(args[0].shape[0]) if args[0].dim() else 1
