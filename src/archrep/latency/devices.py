"""The real devices of the shared latency benchmarks, described from their public specifications.

HELP's NB201 / FBNet / OFA files and HW-NAS-Bench-360 report latency on hardware this project
does not have. :data:`DEVICES` describes each device (kind, vendor, model, micro-architecture,
peak throughput, memory bandwidth, power, precision, with a ``source`` note per device) and
:data:`SETTINGS` each measurement setting (device, batch, runtime, threads) that the files use.
:func:`platform_description` turns a setting into the fields of
:func:`archrep.features.templates.platform_template` (the field names of
:meth:`archrep.latency.Platform.template_fields`, plus ``tdp_w`` and ``memory_gbs``), so that
LeDG-Former reads a device measured elsewhere and a platform measured here the same way, e.g.
"Nv GPU FP32 11.34 Pascal 250W 484GB/s CC 6.1 Batch 32".

**Setting ids** are ``<device>_b<batch>`` for HELP's files (its column ``1080ti_32`` is
``1080ti_b32``; its batch-less devices are single-image, ``gold_6226_b1``) and
``<device>_<runtime>_b1`` for HW-NAS-Bench-360 (``pi5_litert_b1``). Dataset targets are
``latency_<setting>`` (and ``_<task>`` where one file holds several input tasks).

**Numbers.** GPU throughput is CUDA cores x boost clock x 2 (FMA) at FP32; CPU throughput is
nominal: cores x base clock x FP32 FLOP per cycle per core (AVX-512 with two FMA units 64, one
unit 32; Arm Cortex-A53/A55 4, A72/A73/A75/Mongoose M1 8, A76 16, X1 32), summed over a
phone's core clusters; it is the whole device's peak, where :class:`~archrep.latency.Platform`
counts only the threads used (the template shows ``Threads`` beside it when known). Memory
bandwidth is the DRAM interface's peak (bus width x transfer rate). Power is the vendor's TDP
or board power; phones publish none (left out); Raspberry Pi boards give their official power
supply's rating. Where a file does not record which variant was measured, the note says which
one is assumed and why.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from archrep.errors import UnknownNameError
from archrep.features.templates import platform_template

KINDS = ("gpu", "cpu", "asic", "fpga", "mobile", "sbc")
#: the template's device-type words of each kind (phones and boards ran their CPU)
_KIND_TYPES = {"gpu": "gpu", "cpu": "cpu", "asic": "asic", "fpga": "fpga", "mobile": "mobile cpu",
               "sbc": "sbc cpu"}
#: runtime ids of the settings -> template words
RUNTIMES = {"tflite": "TFLite", "litert": "LiteRT", "onnx": "ONNXRuntime", "torchmobile": "PyTorch Mobile"}


@dataclass(frozen=True)
class Device:
    """One device from its public specifications (see the module docstring for the conventions).

    ``peak_tflops`` is at ``precision`` (TOPS for integer precisions); None where unknown.
    """

    model: str
    kind: str
    vendor: str
    architecture: str
    peak_tflops: float
    memory_gbs: float | None
    tdp_w: float | None
    source: str
    precision: str = "fp32"
    compute_capability: str | None = None
    isa: str | None = None


@dataclass(frozen=True)
class Setting:
    """One measurement setting: a device, the batch size and, where known, runtime and threads."""

    device: str
    batch: int
    runtime: str | None = None
    threads: int | None = None


_CASCADE = "Cascade Lake"
DEVICES: dict[str, Device] = {
    # ---- NVIDIA GPUs (HELP measured them at several batch sizes)
    "1080ti": Device(
        "GeForce GTX 1080 Ti", "gpu", "nvidia", "Pascal", 11.34, 484.0, 250, compute_capability="6.1",
        source="NVIDIA GTX 1080 Ti specifications: 3584 CUDA cores at 1582 MHz boost; 11 GB GDDR5X, "
               "352-bit at 11 Gbps; 250 W graphics card power"),
    "2080ti": Device(
        "GeForce RTX 2080 Ti", "gpu", "nvidia", "Turing", 13.45, 616.0, 250, compute_capability="7.5",
        source="NVIDIA RTX 2080 Ti specifications: 4352 CUDA cores at 1545 MHz reference boost; 11 GB "
               "GDDR6, 352-bit at 14 Gbps; 250 W reference board power (Founders Edition 260 W)"),
    "titanx": Device(
        "TITAN X (Pascal)", "gpu", "nvidia", "Pascal", 10.97, 480.0, 250, compute_capability="6.1",
        source="NVIDIA TITAN X (Pascal) specifications: 3584 CUDA cores at 1531 MHz boost; 12 GB "
               "GDDR5X, 384-bit at 10 Gbps; 250 W. HELP's name 'titanx' does not say which TITAN X: "
               "the Pascal one is assumed because its NB201 latencies at batch 256 are within 10 % of "
               "the GTX 1080 Ti's (the Maxwell GTX TITAN X, 6.6 TFLOPS and 336 GB/s, would be far slower)"),
    "titanxp": Device(
        "TITAN Xp", "gpu", "nvidia", "Pascal", 12.15, 547.7, 250, compute_capability="6.1",
        source="NVIDIA TITAN Xp specifications: 3840 CUDA cores at 1582 MHz boost; 12 GB GDDR5X, "
               "384-bit at 11.4 Gbps; 250 W (HELP's OFA file spells it 'titan_xp')"),
    "titan_rtx": Device(
        "TITAN RTX", "gpu", "nvidia", "Turing", 16.31, 672.0, 280, compute_capability="7.5",
        source="NVIDIA TITAN RTX specifications: 4608 CUDA cores at 1770 MHz boost; 24 GB GDDR6, "
               "384-bit at 14 Gbps; 280 W"),
    "v100": Device(
        "Tesla V100 (PCIe)", "gpu", "nvidia", "Volta", 14.0, 900.0, 250, compute_capability="7.0",
        source="NVIDIA Tesla V100 datasheet, PCIe: 5120 CUDA cores, 14 TFLOPS FP32, 900 GB/s HBM2, "
               "250 W. HELP does not record the form factor: PCIe assumed (SXM2: 15.7 TFLOPS, 300 W)"),
    # ---- Intel Xeon server CPUs (HELP; single socket assumed)
    "gold_6226": Device(
        "Xeon Gold 6226", "cpu", "intel", _CASCADE, 2.07, 140.8, 125, isa="AVX512 VNNI",
        source="Intel ARK: 12 cores, 2.7 GHz base, 2 AVX-512 FMA units (12 x 2.7 GHz x 64); 6 channels "
               "of DDR4-2933; 125 W TDP"),
    "gold_6240": Device(
        "Xeon Gold 6240", "cpu", "intel", _CASCADE, 3.0, 140.8, 150, isa="AVX512 VNNI",
        source="Intel ARK: 18 cores, 2.6 GHz base, 2 AVX-512 FMA units (18 x 2.6 GHz x 64); 6 channels "
               "of DDR4-2933; 150 W TDP"),
    "silver_4114": Device(
        "Xeon Silver 4114", "cpu", "intel", "Skylake-SP", 0.70, 115.2, 85, isa="AVX512",
        source="Intel ARK: 10 cores, 2.2 GHz base, 1 AVX-512 FMA unit (10 x 2.2 GHz x 32); 6 channels "
               "of DDR4-2400; 85 W TDP"),
    "silver_4210r": Device(
        "Xeon Silver 4210R", "cpu", "intel", _CASCADE, 0.77, 115.2, 100, isa="AVX512 VNNI",
        source="Intel ARK: 10 cores, 2.4 GHz base, 1 AVX-512 FMA unit (10 x 2.4 GHz x 32); 6 channels "
               "of DDR4-2400; 100 W TDP"),
    # ---- accelerators (HW-NAS-Bench's estimates, through HELP)
    "eyeriss": Device(
        "Eyeriss", "asic", "MIT", "Eyeriss row-stationary 168 PE", 0.0672, None, 0.278, precision="int16",
        source="Chen et al., Eyeriss, IEEE JSSC 2017: 168 processing elements, 16-bit fixed point, one "
               "MAC per PE per cycle at 200 MHz (168 x 200 MHz x 2 = 67.2 GOPS); 278 mW running "
               "AlexNet's convolutions at 200 MHz. The latencies are HW-NAS-Bench's simulated "
               "estimates (Accelergy/Timeloop), not chip measurements; DRAM bandwidth not modelled here"),
    "fpga": Device(
        "ZC706 (Zynq-7000 XC7Z045)", "fpga", "xilinx", "Zynq-7000", 0.36, 12.8, 7.0, precision="int16",
        source="Xilinx ZC706 board: XC7Z045 with 900 DSP48E1 slices (900 x 2 ops x 200 MHz assumed "
               "accelerator clock = 0.36 TOPS); PL DDR3 SODIMM, 64-bit at 1600 MT/s. Power: no TDP; "
               "7 W is HW-NAS-Bench's own energy / latency of NB201 cell 0 (18.01 mJ / 2.573 ms). "
               "16-bit fixed point assumed (HW-NAS-Bench's accelerator design; not in the data)"),
    # ---- phones (HELP; NB201 pixel3 and raspi4 come from HW-NAS-Bench)
    "pixel2": Device(
        "Google Pixel 2", "mobile", "Google", "Snapdragon 835 Kryo 280", 0.109, 29.9, None,
        source="Qualcomm Snapdragon 835: 4 x 2.45 GHz (Cortex-A73 class, 8 FLOP/cycle) + 4 x 1.9 GHz "
               "(A53 class, 4); LPDDR4X-1866 dual channel (29.9 GB/s); no published TDP"),
    "essential_ph_1": Device(
        "Essential Phone PH-1", "mobile", "Essential", "Snapdragon 835 Kryo 280", 0.109, 29.9, None,
        source="Qualcomm Snapdragon 835 (as the Pixel 2): 4 x 2.45 GHz + 4 x 1.9 GHz Kryo 280; "
               "LPDDR4X-1866 dual channel; no published TDP"),
    "pixel3": Device(
        "Google Pixel 3", "mobile", "Google", "Snapdragon 845 Kryo 385", 0.108, 29.9, None,
        source="Qualcomm Snapdragon 845: 4 x 2.5 GHz (Cortex-A75 class, 8 FLOP/cycle) + 4 x 1.77 GHz "
               "(A55 class, 4); LPDDR4X-1866, 4 x 16-bit (29.9 GB/s); no published TDP. Run with "
               "TFLite (HW-NAS-Bench)"),
    "samsung_a50": Device(
        "Samsung Galaxy A50", "mobile", "Samsung", "Exynos 9610 Cortex-A73", 0.101, None, None,
        source="Samsung Exynos 9610: 4 x 2.3 GHz Cortex-A73 (8 FLOP/cycle) + 4 x 1.7 GHz Cortex-A53 (4); "
               "LPDDR4X, bandwidth not published; no published TDP"),
    "samsung_s7": Device(
        "Samsung Galaxy S7", "mobile", "Samsung", "Exynos 8890 Mongoose M1", 0.099, 28.7, None,
        source="Samsung Exynos 8890: 4 x 2.3 GHz Mongoose M1 (8 FLOP/cycle) + 4 x 1.6 GHz Cortex-A53 "
               "(4); LPDDR4-1794, 2 x 32-bit (28.7 GB/s); no published TDP. The Exynos (international) "
               "model is assumed; the US S7 has a Snapdragon 820"),
    "pixel6a": Device(
        "Google Pixel 6a", "mobile", "Google", "Tensor G1 Cortex-X1", 0.28, 51.2, None,
        source="Google Tensor (GS101): 2 x 2.8 GHz Cortex-X1 (32 FLOP/cycle) + 2 x 2.25 GHz Cortex-A76 "
               "(16) + 4 x 1.8 GHz Cortex-A55 (4); LPDDR5-6400, 64-bit (51.2 GB/s); no published TDP. "
               "HW-NAS-Bench-360 ran one thread pinned to the big cores, CPU only"),
    # ---- single-board computers
    "raspi4": Device(
        "Raspberry Pi 4 Model B", "sbc", "Raspberry Pi", "BCM2711 Cortex-A72", 0.048, 12.8, 15,
        source="Raspberry Pi 4 Model B: Broadcom BCM2711, 4 x 1.5 GHz Cortex-A72 (8 FLOP/cycle); "
               "LPDDR4-3200, 32-bit (12.8 GB/s); 15 W = the official 5 V / 3 A supply. Run with TFLite "
               "(HW-NAS-Bench)"),
    "pi5": Device(
        "Raspberry Pi 5", "sbc", "Raspberry Pi", "BCM2712 Cortex-A76", 0.154, 17.1, 27,
        source="Raspberry Pi 5: Broadcom BCM2712, 4 x 2.4 GHz Cortex-A76 (16 FLOP/cycle); "
               "LPDDR4X-4267, 32-bit (17.1 GB/s); 27 W = the official 5 V / 5 A supply. "
               "HW-NAS-Bench-360 ran one thread pinned to one core"),
}

_HELP_GPUS = ("1080ti", "2080ti", "titanx", "titanxp", "titan_rtx")
_HELP_SINGLE = ("gold_6226", "gold_6240", "silver_4114", "silver_4210r", "eyeriss", "fpga", "pixel2",
                "essential_ph_1", "samsung_a50", "samsung_s7")
SETTINGS: dict[str, Setting] = {
    # HELP: NB201 at batch 1/32/256, FBNet at 1/32/64; OFA (with the V100) at 1/32/64
    **{f"{d}_b{b}": Setting(d, b) for d in _HELP_GPUS for b in (1, 32, 64, 256)},
    **{f"v100_b{b}": Setting("v100", b) for b in (1, 32, 64)},
    **{f"{d}_b1": Setting(d, 1) for d in _HELP_SINGLE},
    "pixel3_b1": Setting("pixel3", 1, "tflite"),
    "raspi4_b1": Setting("raspi4", 1, "tflite"),
    # HW-NAS-Bench-360: one thread, batch 1
    **{f"pi5_{rt}_b1": Setting("pi5", 1, rt, 1) for rt in ("litert", "onnx", "torchmobile")},
    "pixel6a_litert_b1": Setting("pixel6a", 1, "litert", 1),
}

#: HELP's spellings of device names that differ from the ids here
HELP_ALIASES = {"titan_xp": "titanxp"}


def get_setting(setting: str) -> Setting:
    """The setting ``setting``; an unknown id lists the valid ones."""
    try:
        return SETTINGS[setting]
    except KeyError:
        raise UnknownNameError(f"unknown device setting {setting!r}; known settings: {', '.join(SETTINGS)}") from None


def help_setting(column: str) -> str:
    """The setting id of a HELP latency column: ``'1080ti_32'`` -> ``'1080ti_b32'``,
    ``'titan_xp_1'`` -> ``'titanxp_b1'``, ``'eyeriss'`` -> ``'eyeriss_b1'``. Raises
    UnknownNameError for a column that names no known setting."""
    if column in DEVICES and DEVICES[column].kind != "gpu":  # batch-less: single-image
        return f"{column}_b1"
    device, _, batch = column.rpartition("_")
    setting = f"{HELP_ALIASES.get(device, device)}_b{batch}"
    if setting not in SETTINGS:
        raise UnknownNameError(f"latency column {column!r} names no known device setting; add the device to "
                               f"archrep.latency.devices (known: {', '.join(SETTINGS)})")
    return setting


def platform_description(setting: str) -> dict:
    """The :func:`~archrep.features.templates.platform_template` fields of a setting (None = unknown)."""
    s = get_setting(setting)
    d = DEVICES[s.device]
    return {"vendor": d.vendor, "device_type": _KIND_TYPES[d.kind], "precision": d.precision,
            "throughput": d.peak_tflops, "architecture": d.architecture, "tdp_w": d.tdp_w,
            "memory_gbs": d.memory_gbs, "compute_capability": d.compute_capability, "isa": d.isa,
            "runtime": RUNTIMES[s.runtime] if s.runtime else None, "threads": s.threads, "batch": s.batch}


def setting_template(setting: str) -> str:
    """LeDG-Former's hardware text of a setting, e.g. 'Nv GPU FP32 11.34 Pascal 250W 484GB/s CC 6.1 Batch 32'."""
    return platform_template(platform_description(setting))


def spec_distance(a: str, b: str) -> float:
    """How far apart two settings' hardware is by the published numbers: the Euclidean distance
    of (log10 peak throughput, log10 memory bandwidth, log10 batch) over the coordinates both
    know, plus 1 when the device kinds differ (a GPU is never "near" a phone of equal FLOPS).
    Used to pick the nearest seen device for an unseen one (:func:`nearest_setting`)."""
    sa, sb = get_setting(a), get_setting(b)
    da, db = DEVICES[sa.device], DEVICES[sb.device]
    pairs = [(da.peak_tflops, db.peak_tflops), (da.memory_gbs, db.memory_gbs), (sa.batch, sb.batch)]
    sq = sum((math.log10(x) - math.log10(y)) ** 2 for x, y in pairs if x and y)
    return math.sqrt(sq) + (da.kind != db.kind)


def nearest_setting(setting: str, candidates) -> str:
    """The candidate setting with the smallest :func:`spec_distance` to ``setting`` (ties: first)."""
    candidates = list(candidates)
    if not candidates:
        raise UnknownNameError(f"nearest_setting({setting!r}): no candidate settings to choose from")
    return min(candidates, key=lambda c: spec_distance(setting, c))


__all__ = ["KINDS", "RUNTIMES", "Device", "Setting", "DEVICES", "SETTINGS", "HELP_ALIASES", "get_setting",
           "help_setting", "platform_description", "setting_template", "spec_distance", "nearest_setting"]
