"""Hardware platform descriptors: what a latency was measured on, read from the machine.

A :class:`Platform` names one measurement setting: the processor (CPU model, micro-architecture,
cores, ISA flags; the GPU when the device is CUDA), the runtime and its version, the precision
and the thread count. Its :attr:`Platform.id` is the key of the latency store, for example
``ort-cpu-fp32-t1@3f9a0c12``: runtime, device, precision, threads (CPU only), then 8 hex digits
of a hash of the hardware and the runtime version, so that a measurement made with another
processor or another runtime release never mixes with this one. The clock speed, the core
count and the time of reading are recorded but not hashed (they vary between readings of the
same machine, or between containers on it).

:meth:`Platform.template` renders LeDG-Former's hardware text (``archrep.features.templates``),
e.g. "AMD CPU FP32 3.6 Zen 5 AVX512 VNNI BF16 ONNXRuntime 1.31 Threads 1".

**Peak throughput** (the template's TFLOPS number) is an ISA-based upper bound, not a
measurement: ``threads x clock x vector lanes x 2 (FMA) x 2 (FMA units per core)``, with 16
fp32 lanes for AVX-512, 8 for AVX/AVX2, 4 for SSE or NEON, times 2 for bf16 with AVX512-BF16,
and times 4 for int8 with VNNI (2 without). The clock is the highest "cpu MHz" that
``/proc/cpuinfo`` reports (in a virtual machine usually the nominal clock). It is left out
(None) when the clock is unknown, and for GPUs (no table of GPU peaks here).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform as _pyplatform
from dataclasses import dataclass, field
from pathlib import Path

from archrep.errors import ArchrepError, UnknownNameError
from archrep.features.templates import platform_template

RUNTIMES = {"onnxruntime": "ort", "torch": "torch"}
DEVICES = ("cpu", "cuda")
PRECISIONS = ("fp32", "fp16", "bf16", "int8")
#: /proc/cpuinfo flags (x86 "flags", Arm "Features") that matter for inference speed
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni",
             "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8",
             "asimd", "asimddp", "sve", "sve2", "i8mm", "bf16")
JSON_VERSION = 1

# micro-architecture from vendor, cpu family and model number (the common server and desktop parts)
_AMD_ZEN4_MODELS = set(range(0x10, 0x20)) | set(range(0x60, 0x80)) | set(range(0xA0, 0xB0))
_INTEL_MODELS = {
    63: "Haswell", 79: "Broadwell", 85: "Skylake-SP", 106: "Ice Lake", 108: "Ice Lake",
    140: "Tiger Lake", 141: "Tiger Lake", 142: "Kaby Lake", 143: "Sapphire Rapids", 151: "Alder Lake",
    154: "Alder Lake", 158: "Coffee Lake", 173: "Granite Rapids", 183: "Raptor Lake",
    186: "Raptor Lake", 207: "Emerald Rapids",
}


@dataclass(frozen=True)
class Platform:
    """One measurement setting (see the module docstring). Build it with :func:`detect`."""

    runtime: str
    runtime_version: str
    device: str
    precision: str
    threads: int
    cpu_vendor: str | None = None
    cpu_model: str | None = None
    cpu_family: int | None = None
    cpu_model_number: int | None = None
    microarchitecture: str | None = None
    cores: int | None = None
    clock_mhz: float | None = None
    isa: tuple[str, ...] = field(default_factory=tuple)
    gpu_name: str | None = None
    gpu_compute_capability: str | None = None

    def __post_init__(self):
        if self.runtime not in RUNTIMES:
            raise UnknownNameError(f"unknown runtime {self.runtime!r}; use one of {sorted(RUNTIMES)}")
        if self.device not in DEVICES:
            raise UnknownNameError(f"unknown device {self.device!r}; use one of {list(DEVICES)}")
        if self.precision not in PRECISIONS:
            raise UnknownNameError(f"unknown precision {self.precision!r}; use one of {list(PRECISIONS)}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1:
            raise ArchrepError(f"threads must be a positive integer, got {self.threads!r}")
        object.__setattr__(self, "isa", tuple(self.isa))

    def _hardware(self) -> list:
        return [self.cpu_vendor, self.cpu_model, self.cpu_family, self.cpu_model_number, sorted(self.isa),
                self.gpu_name, self.gpu_compute_capability]

    @property
    def id(self) -> str:
        """The store key: ``<runtime>-<device>-<precision>[-t<threads>]@<hardware+runtime hash>``."""
        hw = [*self._hardware(), self.runtime, self.runtime_version]
        digest = hashlib.sha256(json.dumps(hw).encode()).hexdigest()[:8]
        threads = f"-t{self.threads}" if self.device == "cpu" else ""
        return f"{RUNTIMES[self.runtime]}-{self.device}-{self.precision}{threads}@{digest}"

    @property
    def machine_id(self) -> str:
        """8 hex digits of a hash of the hardware alone (processor, ISA flags, GPU): the settings
        measured on one machine share it whatever their runtime, precision or threads, so that a
        predictor can be tested on a machine none of whose settings it saw."""
        return hashlib.sha256(json.dumps(self._hardware()).encode()).hexdigest()[:8]

    def unsupported_reason(self) -> str | None:
        """Why this machine cannot measure this setting, or None when it can."""
        where = f"{self.runtime} on {self.device}"
        if self.device == "cuda" and self.gpu_name is None:
            return f"{where}: no CUDA device is visible here"
        if self.runtime == "onnxruntime":
            if self.device == "cuda":
                import onnxruntime

                if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
                    return f"{where}: this onnxruntime has no CUDAExecutionProvider (install onnxruntime-gpu)"
                return None if self.precision == "fp32" else (
                    f"{where}: precision {self.precision} is not supported; use fp32, or runtime torch for fp16/bf16")
            if self.precision in ("fp32", "int8"):
                return None
            return (f"{where}: precision {self.precision} is not supported: the onnxruntime CPU execution "
                    "provider has no fast kernels for it; use fp32 or int8, or runtime torch for bf16")
        if self.precision == "int8":
            return f"{where}: int8 is measured with onnxruntime quantisation; use runtime onnxruntime"
        if self.device == "cpu":
            if self.precision == "fp16":
                return f"{where}: fp16 is not supported on CPU; use fp32 or bf16"
            if self.precision == "bf16" and not ({"avx512_bf16", "amx_bf16", "bf16"} & set(self.isa)):
                return (f"{where}: bf16 is unsupported on this CPU ({self.cpu_model}): it lacks AVX512-BF16, "
                        "AMX-BF16 and Arm BF16, so bf16 would be emulated, not measured; use fp32")
            return None
        if self.precision == "bf16":
            import torch

            if not torch.cuda.is_bf16_supported():
                return f"{where}: bf16 is unsupported on {self.gpu_name}; use fp16 or fp32"
        return None

    def peak_tflops(self) -> float | None:
        """The ISA-based peak throughput estimate at this precision (module docstring), or None."""
        if self.device != "cpu" or not self.clock_mhz:
            return None
        isa = set(self.isa)
        lanes = 16 if "avx512f" in isa else 8 if isa & {"avx", "avx2"} else 4
        factor = {"fp32": 1, "fp16": 1, "bf16": 2 if isa & {"avx512_bf16", "amx_bf16", "bf16"} else 1,
                  "int8": 4 if isa & {"avx512_vnni", "avx_vnni", "asimddp"} else 2}[self.precision]
        cores = min(self.threads, self.cores or self.threads)
        return round(cores * self.clock_mhz * 1e6 * lanes * 2 * 2 * factor / 1e12, 2)

    def isa_words(self) -> str | None:
        """The ISA flags as template words: widest vector extension, then VNNI, BF16, AMX."""
        isa = set(self.isa)
        vector = next((word for flag, word in (("avx512f", "AVX512"), ("avx2", "AVX2"), ("avx", "AVX"),
                                                ("sse4_2", "SSE4.2"), ("sve2", "SVE2"), ("sve", "SVE"),
                                                ("asimd", "NEON")) if flag in isa), None)
        words = [vector] if vector else []
        if isa & {"avx512_vnni", "avx_vnni", "asimddp"}:
            words.append("VNNI" if isa & {"avx512_vnni", "avx_vnni"} else "DotProd")
        if isa & {"avx512_bf16", "amx_bf16", "bf16"}:
            words.append("BF16")
        if "amx_tile" in isa:
            words.append("AMX")
        return " ".join(words) or None

    def distance(self, other: "Platform") -> float:
        """A heuristic dissimilarity for picking the nearest measured platform (0 = the same setting):
        4 per differing device, 2 per differing runtime or precision, 1 per differing CPU or GPU
        model, plus |log2| of the thread-count ratio."""
        return (4.0 * (self.device != other.device) + 2.0 * (self.runtime != other.runtime)
                + 2.0 * (self.precision != other.precision)
                + 1.0 * ((self.cpu_model, self.gpu_name) != (other.cpu_model, other.gpu_name))
                + abs(math.log2(self.threads / other.threads)))

    def template_fields(self, batch: int | None = None) -> dict:
        """The fields of :func:`archrep.features.templates.platform_template` (None = left out)."""
        runtime = {"onnxruntime": "ONNXRuntime", "torch": "PyTorch"}[self.runtime]
        version = ".".join(self.runtime_version.split("+")[0].split(".")[:2])
        if self.device == "cuda":
            vendor, arch, cc, isa = "nvidia", None, self.gpu_compute_capability, None
        else:
            vendor, arch, cc, isa = self.cpu_vendor, self.microarchitecture, None, self.isa_words()
        return {"vendor": vendor, "device_type": "gpu" if self.device == "cuda" else "cpu",
                "precision": self.precision, "throughput": self.peak_tflops(), "architecture": arch,
                "compute_capability": cc, "isa": isa, "runtime": f"{runtime} {version}",
                "threads": self.threads if self.device == "cpu" else None, "batch": batch}

    def template(self, batch: int | None = None) -> str:
        """LeDG-Former's hardware text of this platform (and of ``batch`` when given)."""
        return platform_template(self.template_fields(batch))

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["isa"] = list(self.isa)
        return {"format": "archrep-platform", "version": JSON_VERSION, **d}

    @classmethod
    def from_dict(cls, d) -> "Platform":
        """Inverse of :meth:`to_dict`; unknown fields or a newer version raise ArchrepError."""
        if not isinstance(d, dict) or d.get("format") != "archrep-platform":
            raise ArchrepError("not a platform description: expected a JSON object with "
                               "format 'archrep-platform' (written by Platform.to_dict)")
        if not isinstance(d.get("version"), int) or d["version"] > JSON_VERSION:
            raise ArchrepError(f"platform description version {d.get('version')!r} is not one this archrep "
                               f"reads (up to {JSON_VERSION}): upgrade archrep")
        names = {f.name for f in dataclasses.fields(cls)}
        body = {k: v for k, v in d.items() if k not in ("format", "version")}
        unknown = sorted(set(body) - names)
        if unknown:
            raise ArchrepError(f"platform description has unknown field(s) {unknown}; known: {sorted(names)}")
        try:
            return cls(**body)
        except TypeError as exc:
            raise ArchrepError(f"platform description is incomplete: {exc}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Platform":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ArchrepError(f"platform description is not valid JSON: {exc.msg}") from None


def _cpuinfo(path: str = "/proc/cpuinfo") -> dict:
    """The first processor block of /proc/cpuinfo, plus the highest 'cpu MHz' of all of them."""
    try:
        text = Path(path).read_text()
    except OSError:
        return {}
    info: dict = {}
    mhz = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "cpu MHz":
            mhz.append(float(value))
        info.setdefault(key, value)
    if mhz:
        info["max_mhz"] = max(mhz)
    return info


def _microarchitecture(vendor: str | None, family: int | None, model: int | None) -> str | None:
    if vendor == "amd" and model is not None:
        if family == 23:
            return "Zen 2" if model >= 0x30 else "Zen"
        if family == 25:
            return "Zen 4" if model in _AMD_ZEN4_MODELS else "Zen 3"
        return "Zen 5" if family == 26 else None
    if vendor == "intel" and family == 6:
        return _INTEL_MODELS.get(model)
    return None


def _int(value) -> int | None:
    try:
        return int(value, 0) if isinstance(value, str) else None
    except ValueError:
        return None


def detect(runtime: str = "onnxruntime", precision: str = "fp32", threads: int = 1,
           device: str = "cpu") -> Platform:
    """The platform of this machine for a runtime, precision, thread count and device.

    CPU facts come from /proc/cpuinfo (Linux; elsewhere only the processor name from the
    ``platform`` module, without ISA flags); the GPU from torch when CUDA is available. The
    runtime must be importable (its version is part of the id). Whether the setting can be
    measured here is :meth:`Platform.unsupported_reason`.
    """
    if runtime not in RUNTIMES:
        raise UnknownNameError(f"unknown runtime {runtime!r}; use one of {sorted(RUNTIMES)}")
    try:
        module = __import__(runtime)
    except ImportError:
        extra = "onnx" if runtime == "onnxruntime" else "torch"
        raise ArchrepError(f"runtime {runtime!r} is not installed: pip install \"archrep[{extra}]\"") from None
    info = _cpuinfo()
    vendor_id = info.get("vendor_id", "")
    vendor = ({"GenuineIntel": "intel", "AuthenticAMD": "amd"}.get(vendor_id)
              or ("arm" if info.get("CPU implementer") == "0x41" else None))
    family, model = _int(info.get("cpu family")), _int(info.get("model"))
    flags = set((info.get("flags") or info.get("Features") or "").split())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu_name = gpu_cc = None
    if device == "cuda":
        import torch

        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(torch.cuda.current_device())
            gpu_name, gpu_cc = props.name, f"{props.major}.{props.minor}"
    return Platform(
        runtime=runtime, runtime_version=str(module.__version__), device=device, precision=precision,
        threads=threads, cpu_vendor=vendor,
        cpu_model=info.get("model name") or _pyplatform.processor() or None,
        cpu_family=family, cpu_model_number=model,
        microarchitecture=_microarchitecture(vendor, family, model), cores=cores,
        clock_mhz=info.get("max_mhz"), isa=tuple(f for f in ISA_FLAGS if f in flags),
        gpu_name=gpu_name, gpu_compute_capability=gpu_cc)
