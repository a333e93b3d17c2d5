"""Datasets of latency measured on real devices: "nb201-latency", "fbnet-latency", "ofa-latency".

Read from the data folder (``ARCHREP_DATA_DIR``; ``../shared/data/README.md`` lists the files):

* ``nb201/latency_help.csv`` (HELP): all 15,625 NB201 cells, one column per device setting, ms;
  columns ``index`` (NB201's official index) and ``arch_str``;
* ``nb201/hw_nas_bench_360.parquet`` (HW-NAS-Bench-360; optional, needs pyarrow): the cells by
  official index ``arch_idx`` on Raspberry Pi 5 (LiteRT / ONNX Runtime / PyTorch Mobile) and
  Pixel 6a (LiteRT), for three input tasks: median latency (ms) and, on the Pi 5, energy (mJ);
* ``fbnet/latency_help.json``, ``ofa/latency_help.json`` (HELP): 5,000 subnets each with
  ``latency_ms`` per setting.

**Targets.** ``latency_<setting>`` in ms, one per device setting of
:data:`archrep.latency.devices.SETTINGS` (``latency_1080ti_b32``, ``latency_eyeriss_b1``);
HW-NAS-Bench-360's are ``latency_<setting>_<task>`` and ``energy_<setting>_<task>`` (mJ), task
``cifar100`` (3x32x32), ``ninapro`` (1x52x16) or ``darcy`` (1x88x88), e.g.
``latency_pi5_litert_b1_cifar100``. ``meta["settings"]`` maps each latency/energy target to its
setting id, whose platform text is ``archrep.latency.devices.setting_template(setting)``. Each
dataset also has ``flops`` (millions of multiply-accumulates) and ``params`` (millions), for
FLOPs baselines; "ofa-latency" has ``resolution``, the subnet's input side (a choice of the
architecture, not a measurement).

**Keys.** "nb201-latency" has the canonical NB201 arch strings in ``NB201Space().enumerate()``
order, exactly the keys and graphs of "nb201" (which stays small and fast to load);
"fbnet-latency" and "ofa-latency" have the keys of the "fbnet" and "ofa" spaces in file order.
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Callable

import numpy as np

from archrep.data import DatasetSpec, register_dataset
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError, DataError, MissingDependencyError, UnknownNameError
from archrep.latency.devices import DEVICES, SETTINGS, help_setting
from archrep.spaces.base import SearchSpace
from archrep.spaces.fbnet import FBNetSpace
from archrep.spaces.nb201 import NB201Space, arch_to_string, string_to_arch
from archrep.spaces.nb201_cost import nb201_cost_table
from archrep.spaces.ofa import OFASpace, from_lists

VERSION = "1"
#: raw files, relative to the data folder, and where each comes from (the data README's rows)
NB201_CSV = Path("nb201") / "latency_help.csv"
HW360_PARQUET = Path("nb201") / "hw_nas_bench_360.parquet"
FBNET_JSON = Path("fbnet") / "latency_help.json"
OFA_JSON = Path("ofa") / "latency_help.json"
SOURCES = {
    NB201_CSV: "HayeonLee/HELP: data/nasbench201/latency/*.pt with str_arch2idx.pt, reformatted as CSV "
               "(index, arch_str, one column per setting)",
    HW360_PARQUET: "roldebijvank/HW-NAS-Bench-360: results/dataset.parquet",
    FBNET_JSON: "HayeonLee/HELP: data/fbnet, reformatted as JSON {archs: [{index, op_idx_list, arch_str, "
                "latency_ms}]}",
    OFA_JSON: "HayeonLee/HELP: data/ofa, reformatted as JSON {archs: [{index, ks, e, d, r, latency_ms}]}",
}
#: HW-NAS-Bench-360: file device -> device id here; its settings; tasks (input shape)
HW360_DEVICES = {"pi5": "pi5", "pixel": "pixel6a"}
HW360_SETTINGS = ("pi5_litert_b1", "pi5_onnx_b1", "pi5_torchmobile_b1", "pixel6a_litert_b1")
HW360_TASKS = {"cifar100": "3x32x32", "ninapro": "1x52x16", "darcy": "1x88x88"}
_HW360_COLUMNS = ("arch_idx", "device", "framework", "task", "lat_ms_median", "energy_mj")
_COST_INFO = {
    "flops": "millions of multiply-accumulates of convolutions and linear layers (computed from the "
             "architecture, archrep.spaces.mobilenet conventions)",
    "params": "parameters (millions) of the network (computed from the architecture)",
}


def _require(data_dir: Path | None, rel: Path, dataset: str) -> Path:
    """The path of a raw file, or DataError naming it, the setting to fix and its source."""
    path = Path(data_dir) / rel if data_dir is not None else None
    if path is not None and path.is_file():
        return path
    where = f"{path} does not exist" if path is not None else "no data folder is set"
    raise DataError(f"the {dataset!r} dataset needs {rel.as_posix()} in the data folder, but {where}. Set "
                    f"ARCHREP_DATA_DIR=/path/to/data (or pass data_dir=...) with the file at "
                    f"$ARCHREP_DATA_DIR/{rel.as_posix()}; source: {SOURCES[rel]}")


def _positive(value, where: str, what: str = "latency", unit: str = "milliseconds") -> float:
    """A measurement as a positive finite float, else DataError naming ``where``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if isinstance(value, bool) or not math.isfinite(x) or x <= 0:
        shown = repr(value) if isinstance(value, str) or value is None else str(value)
        raise DataError(f"{where}: {what} {shown} is not a positive number of {unit}")
    return x


def _describe(setting: str, what: str = "latency (ms)") -> str:
    s = SETTINGS[setting]
    d = DEVICES[s.device]
    runtime = f", {s.runtime}" if s.runtime else ""
    return f"{what} on {d.model} ({d.kind}), batch {s.batch}{runtime}; setting {setting}"


# ---------------------------------------------------------------------------- NB201
def read_nb201_csv(path: str | Path) -> tuple[dict[int, str], dict[str, dict[str, float]]]:
    """HELP's NB201 latency file: (official index -> canonical arch string, {arch: {setting: ms}}).

    Raises DataError naming the file and the line of a malformed row, an unknown column, a
    duplicate arch or index.
    """
    path = Path(path)
    try:
        fh = open(path, newline="")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    index: dict[int, str] = {}
    out: dict[str, dict[str, float]] = {}
    with fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        if fields[:2] != ["index", "arch_str"] or len(fields) < 3:
            raise DataError(f"{path}: expected the columns index, arch_str, then one column per device "
                            f"setting; found {fields}")
        try:
            settings = {col: help_setting(col) for col in fields[2:]}
        except UnknownNameError as exc:
            raise DataError(f"{path}: {exc}") from None
        for line, row in enumerate(reader, start=2):
            where = f"{path}, line {line}"
            try:
                key = arch_to_string(string_to_arch(row["arch_str"]))
                idx = int(row["index"])
            except (ArchrepError, ValueError, TypeError) as exc:
                raise DataError(f"{where}: {exc}") from None
            if key in out or idx in index:
                raise DataError(f"{where}: architecture {key} (index {idx}) appears twice")
            index[idx] = key
            out[key] = {s: _positive(row[col], f"{where}, column {col}") for col, s in settings.items()}
    return index, out


def read_hw360(path: str | Path, num_archs: int) -> dict[tuple[str, str, str], np.ndarray]:
    """HW-NAS-Bench-360: ``{(setting, task, quantity): array over official NB201 index}`` with
    quantity ``latency`` (median, ms) or ``energy`` (mJ, absent for the Pixel).

    Raises MissingDependencyError without pyarrow, DataError naming the file and row of a
    malformed value, an unknown device / framework / task, or a setting that misses cells.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependencyError(f"reading {path} needs pyarrow: pip install \"archrep[parquet]\"") from None
    path = Path(path)
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise DataError(f"cannot read {path} as Parquet: {exc}") from None
    missing = [c for c in _HW360_COLUMNS if c not in table.column_names]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; expected {list(_HW360_COLUMNS)}")
    cols = {c: table.column(c).to_numpy(zero_copy_only=False) for c in _HW360_COLUMNS}
    out: dict[tuple[str, str, str], np.ndarray] = {}
    groups: dict[tuple[str, str, str], tuple[str, np.ndarray]] = {}  # -> (setting, cells seen)
    for row, (dev, fw, task, idx) in enumerate(zip(cols["device"], cols["framework"], cols["task"], cols["arch_idx"])):
        group = (dev, fw, task)
        if group not in groups:
            setting = f"{HW360_DEVICES.get(dev, dev)}_{fw}_b1"
            if setting not in HW360_SETTINGS or task not in HW360_TASKS:
                raise DataError(f"{path}, row {row}: device {dev!r} / framework {fw!r} / task {task!r} is not a "
                                f"known setting; known: {list(HW360_SETTINGS)} (file devices "
                                f"{list(HW360_DEVICES)}), tasks {list(HW360_TASKS)}")
            groups[group] = (setting, np.zeros(num_archs, dtype=bool))
            out[(setting, task, "latency")] = np.full(num_archs, np.nan)
            out[(setting, task, "energy")] = np.full(num_archs, np.nan)
        setting, seen = groups[group]
        if not 0 <= idx < num_archs or seen[idx]:
            raise DataError(f"{path}, row {row}: arch_idx {idx} is out of 0..{num_archs - 1} or repeats in {group}")
        seen[idx] = True
        out[(setting, task, "latency")][idx] = _positive(cols["lat_ms_median"][row], f"{path}, row {row}")
        energy = cols["energy_mj"][row]
        if energy is not None and not math.isnan(energy):
            out[(setting, task, "energy")][idx] = _positive(energy, f"{path}, row {row}", "energy_mj", "millijoules")
    for group, (_, seen) in groups.items():
        if not seen.all():
            raise DataError(f"{path}: {group} lacks {int((~seen).sum())} of the {num_archs} cells")
    return {k: v for k, v in out.items() if not np.isnan(v).all()}


def nb201_inputs(data_dir: Path | None) -> list[Path]:
    return [Path(data_dir) / p for p in (NB201_CSV, HW360_PARQUET)] if data_dir is not None else []


def build_nb201(data_dir: Path | None) -> ArchDataset:
    """Build "nb201-latency" (module docstring); without the Parquet file its targets are
    listed in ``meta["missing_targets"]``."""
    csv_path = _require(data_dir, NB201_CSV, "nb201-latency")
    official, records = read_nb201_csv(csv_path)
    space = NB201Space("keep_none")
    archs = list(space.enumerate())
    keys = [arch_to_string(a) for a in archs]
    absent = [k for k in keys if k not in records]
    if absent:
        raise DataError(f"{csv_path}: {len(absent)} of the {len(keys)} NB201 cells are missing, e.g. {absent[0]}")
    settings = list(next(iter(records.values())))
    targets = {f"latency_{s}": np.array([records[k][s] for k in keys]) for s in settings}
    info = {f"latency_{s}": _describe(s) + " (HELP)" for s in settings}
    meta: dict = {"sources": {"help": NB201_CSV.as_posix()}, "graph_style": "keep_none",
                  "settings": {f"latency_{s}": s for s in settings}}

    parquet = Path(data_dir) / HW360_PARQUET
    if parquet.is_file():
        row = {k: i for i, k in enumerate(keys)}
        order = np.array([row[official[i]] for i in range(len(keys))])  # official index -> row here
        for (setting, task, quantity), values in read_hw360(parquet, len(keys)).items():
            name = f"{quantity}_{setting}_{task}"
            targets[name] = np.empty(len(keys))
            targets[name][order] = values
            unit = "median latency (ms)" if quantity == "latency" else "energy per inference (mJ)"
            info[name] = _describe(setting, unit) + f", task {task} ({HW360_TASKS[task]} input) (HW-NAS-Bench-360)"
            meta["settings"][name] = setting
        meta["sources"]["hw_nas_bench_360"] = HW360_PARQUET.as_posix()
    else:
        note = (f"needs {HW360_PARQUET.as_posix()} in the data folder (source: {SOURCES[HW360_PARQUET]}), "
                "read with pyarrow (pip install \"archrep[parquet]\")")
        meta["missing_targets"] = {f"latency_{s}_{t}": note for s in HW360_SETTINGS for t in HW360_TASKS}

    cost = nb201_cost_table(num_classes=10, input_size=32)
    targets.update(flops=cost["flops"], params=cost["params"])
    info.update(flops="FLOPs (millions) of the CIFAR-10 network on 32x32 inputs, NB201's counter "
                      "(computed, archrep.spaces.nb201_cost)",
                params="parameters (millions) of the CIFAR-10 network (computed, archrep.spaces.nb201_cost)")
    graphs = [space.to_graph(a) for a in archs]
    return ArchDataset.from_graphs("nb201-latency", keys, graphs, targets, op_vocab=NB201Space.op_vocab,
                                   space="nb201", default_target="latency_1080ti_b1", target_info=info,
                                   meta=meta)


# ---------------------------------------------------------------------------- FBNet / OFA
def read_help_json(path: str | Path, space: SearchSpace, arch_of: Callable[[dict], object]
                   ) -> tuple[list[str], list, dict[str, np.ndarray]]:
    """HELP's FBNet / OFA file: (keys, archs, {setting: ms per arch}) in file order.

    ``arch_of(record)`` reads a record's architecture (raising ArchrepError, KeyError or
    TypeError when malformed). Raises DataError naming the file and ``archs[i]`` of a malformed
    record, an unknown setting, a missing latency or a repeated architecture.
    """
    path = Path(path)
    try:
        records = json.loads(path.read_text())["archs"]
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"{path} is not a JSON object with a list 'archs' ({exc})") from None
    if not isinstance(records, list) or not records:
        raise DataError(f"{path}: 'archs' must be a non-empty list of architecture records")
    keys, archs, seen = [], [], set()
    columns: dict[str, str] = {}
    values: dict[str, list[float]] = {}
    for i, rec in enumerate(records):
        where = f"{path}, archs[{i}]"
        try:
            arch = arch_of(rec)
            lat = rec["latency_ms"]
            if not columns:
                columns = {col: help_setting(col) for col in lat}
                values = {s: [] for s in columns.values()}
            if set(lat) != set(columns):
                raise ArchrepError(f"its settings {sorted(lat)} differ from archs[0]'s {sorted(columns)}")
        except (ArchrepError, KeyError, TypeError, AttributeError) as exc:
            raise DataError(f"{where}: {exc if not isinstance(exc, KeyError) else f'missing field {exc}'}") from None
        key = space.key(arch)
        if key in seen:
            raise DataError(f"{where}: architecture {key} appears twice")
        seen.add(key)
        keys.append(key)
        archs.append(arch)
        for col, setting in columns.items():
            values[setting].append(_positive(lat[col], f"{where}, setting {col}"))
    return keys, archs, {s: np.array(v) for s, v in values.items()}


def _build_subnets(name: str, rel: Path, space: SearchSpace, arch_of: Callable[[dict], object],
                   data_dir: Path | None) -> ArchDataset:
    """A HELP subnet dataset: latency per setting plus computed flops and params."""
    path = _require(data_dir, rel, name)
    keys, archs, latency = read_help_json(path, space, arch_of)
    graphs = [space.to_graph(a) for a in archs]
    targets = {f"latency_{s}": v for s, v in latency.items()}
    info = {f"latency_{s}": _describe(s) + " (HELP)" for s in latency}
    targets["flops"] = np.array([g.attrs["macs"] / 1e6 for g in graphs])
    targets["params"] = np.array([g.attrs["params"] / 1e6 for g in graphs])
    info.update(_COST_INFO)
    if name == "ofa-latency":
        targets["resolution"] = np.array([float(a.r) for a in archs])
        info["resolution"] = "input resolution (pixels per side) chosen by the subnet; not a measurement"
    meta = {"sources": {"help": rel.as_posix()}, "settings": {f"latency_{s}": s for s in latency}}
    return ArchDataset.from_graphs(name, keys, graphs, targets, op_vocab=space.op_vocab, space=space.name,
                                   default_target=next(iter(targets)), target_info=info, meta=meta)


def _fbnet_arch(rec: dict):
    arch = FBNetSpace().parse("".join(str(i) for i in rec["op_idx_list"]))
    if list(arch) != rec.get("arch_str", list(arch)):
        raise ArchrepError(f"op_idx_list {rec['op_idx_list']} disagrees with arch_str {rec['arch_str']}")
    return arch


def _ofa_arch(rec: dict):
    return from_lists(rec["ks"], rec["e"], rec["d"], rec["r"])


def build_fbnet(data_dir: Path | None) -> ArchDataset:
    """Build "fbnet-latency" (module docstring)."""
    return _build_subnets("fbnet-latency", FBNET_JSON, FBNetSpace(), _fbnet_arch, data_dir)


def build_ofa(data_dir: Path | None) -> ArchDataset:
    """Build "ofa-latency" (module docstring)."""
    return _build_subnets("ofa-latency", OFA_JSON, OFASpace(), _ofa_arch, data_dir)


def _inputs(rel: Path) -> Callable[[Path | None], list[Path]]:
    return lambda data_dir: [Path(data_dir) / rel] if data_dir is not None else []


NB201_SPEC = register_dataset(DatasetSpec(
    name="nb201-latency", build=build_nb201, version=VERSION, inputs=nb201_inputs,
    description="NAS-Bench-201: latency of all 15,625 cells on 27 HELP device settings (GPUs at 3 "
                "batch sizes, Xeon CPUs, Eyeriss, FPGA, phones, Raspberry Pi 4) and HW-NAS-Bench-360's "
                "Pi 5 / Pixel 6a runtimes x 3 tasks (latency, Pi 5 energy); needs the data folder",
))
FBNET_SPEC = register_dataset(DatasetSpec(
    name="fbnet-latency", build=build_fbnet, version=VERSION, inputs=_inputs(FBNET_JSON),
    description="FBNet (CIFAR-100 setting): 5,000 subnets with HELP's latency on 27 device settings; "
                "needs the data folder",
))
OFA_SPEC = register_dataset(DatasetSpec(
    name="ofa-latency", build=build_ofa, version=VERSION, inputs=_inputs(OFA_JSON),
    description="Once-for-All MobileNetV3: 5,000 subnets with HELP's latency on 12 GPU settings "
                "(2080 Ti, TITAN RTX, TITAN Xp, V100 at batch 1/32/64); needs the data folder",
))

__all__ = ["NB201_CSV", "HW360_PARQUET", "FBNET_JSON", "OFA_JSON", "SOURCES", "HW360_DEVICES", "HW360_SETTINGS",
           "HW360_TASKS",
           "read_nb201_csv", "read_hw360", "read_help_json", "build_nb201", "build_fbnet", "build_ofa",
           "NB201_SPEC", "FBNET_SPEC", "OFA_SPEC"]
