"""Loaders for official benchmark files a user may have: NAS-Bench-101, NAS-Bench-201, HW-NAS-Bench.

None of these files ship with archrep; each function reads one from a path the user gives and
returns an :class:`ArchDataset`. A malformed file raises :class:`DataError` naming the file and
what is wrong. Nothing here executes code from a data file.

* :func:`load_nb101` -- the official ``nasbench_only108.tfrecord`` / ``nasbench_full.tfrecord``
  (TFRecord framing and the ``ModelMetrics`` protobuf are decoded here, without TensorFlow), or
  the common JSON export (arch2vec style: ``{index: {module_adjacency, module_operations,
  validation_accuracy, test_accuracy, training_time, ...}}``).
* :func:`load_nb201_pth` -- ``NAS-Bench-201-v1_0-e61699.pth`` / ``-v1_1-096897.pth`` through
  ``torch.load(weights_only=True)``.
* :func:`load_hw_nas_bench` -- ``HW-NAS-Bench-v1_0.pickle`` through the restricted unpickler.

Accuracies are reported in %, parameters and FLOPs in millions.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from archrep.data import safe_pickle
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError, DataError
from archrep.spaces.nb101 import NB101Space
from archrep.spaces.nb201 import NB201Space, arch_to_string, string_to_arch

# ============================================================================ TFRecord + CRC32C
_CRC32C_POLY = 0x82F63B78  # Castagnoli polynomial, bit-reversed
_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF


@lru_cache(maxsize=1)
def _crc_table() -> np.ndarray:
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> 1) ^ np.uint32(_CRC32C_POLY), t >> 1).astype(np.uint32)
    return t


def crc32c_many(buf: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC-32C of the byte ranges ``buf[o:o+l]``, all ranges at once (vectorised across ranges).

    Ranges are processed longest first so that step k only touches the ranges longer than k.
    """
    table = _crc_table()
    buf = np.asarray(buf, dtype=np.uint8)
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    off, ln = offsets[order], lengths[order]
    crc = np.full(len(ln), _U32, dtype=np.uint32)
    neg = -ln  # ascending
    for k in range(int(ln[0]) if len(ln) else 0):
        a = int(np.searchsorted(neg, -k, side="left"))  # number of ranges longer than k
        c = crc[:a]
        crc[:a] = table[(c ^ buf[off[:a] + k]) & 0xFF] ^ (c >> np.uint32(8))
    out = np.empty_like(crc)
    out[order] = crc ^ np.uint32(_U32)
    return out


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``."""
    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    return int(crc32c_many(buf, np.array([0]), np.array([len(buf)]))[0])


def masked_crc(crc: np.ndarray | int) -> np.ndarray | int:
    """TFRecord's masked CRC: rotate right by 15 bits, add 0xa282ead8 (mod 2**32)."""
    c = np.asarray(crc, dtype=np.uint64)
    m = (((c >> np.uint64(15)) | (c << np.uint64(17))) + np.uint64(_MASK_DELTA)) & np.uint64(_U32)
    return int(m) if m.ndim == 0 else m.astype(np.uint32)


def read_tfrecord(path: str | Path, verify: bool = True) -> list[bytes]:
    """The records of a TFRecord file, with both CRCs of every record checked (``verify``).

    Framing per record: uint64 length, uint32 masked CRC-32C of the length bytes, the data,
    uint32 masked CRC-32C of the data (all little-endian).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    starts, lengths, len_crcs, data_crcs = [], [], [], []
    pos, n = 0, len(raw)
    while pos < n:
        if pos + 12 > n:
            raise DataError(f"{path}: truncated TFRecord header at byte {pos} (file is not a complete TFRecord)")
        length, len_crc = struct.unpack_from("<QI", raw, pos)
        end = pos + 12 + length + 4
        if end > n:
            raise DataError(f"{path}: record at byte {pos} claims {length} bytes but the file ends "
                            f"after {n - pos - 12}; the file is truncated or not a TFRecord")
        starts.append(pos)
        lengths.append(length)
        len_crcs.append(len_crc)
        data_crcs.append(struct.unpack_from("<I", raw, end - 4)[0])
        pos = end
    if verify and starts:
        buf = np.frombuffer(raw, dtype=np.uint8)
        st = np.asarray(starts, dtype=np.int64)
        ln = np.asarray(lengths, dtype=np.int64)
        head_ok = masked_crc(crc32c_many(buf, st, np.full(len(st), 8))) == np.asarray(len_crcs, dtype=np.uint32)
        data_ok = masked_crc(crc32c_many(buf, st + 12, ln)) == np.asarray(data_crcs, dtype=np.uint32)
        bad = np.flatnonzero(~(head_ok & data_ok))
        if bad.size:
            i = int(bad[0])
            what = "length" if not head_ok[i] else "data"
            raise DataError(f"{path}: CRC mismatch in the {what} of record {i} (byte {starts[i]}); "
                            f"{bad.size} corrupt record(s) in all. Download the file again")
    return [raw[s + 12:s + 12 + l] for s, l in zip(starts, lengths)]


# ============================================================================ protobuf
_EVAL_FIELDS = {1: "current_epoch", 2: "training_time", 3: "train_accuracy",
                4: "validation_accuracy", 5: "test_accuracy"}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def parse_protobuf(buf: bytes) -> list[tuple[int, int, Any]]:
    """The ``(field number, wire type, value)`` triples of a serialized protobuf message.

    Varints come back as int, 64/32-bit fields as their 8/4 raw bytes, length-delimited
    fields as bytes; groups (wire types 3/4, deprecated) are rejected.
    """
    out, pos = [], 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        field, wire = tag >> 3, tag & 7
        if field == 0:
            raise ValueError("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire} (field {field})")
        if pos > len(buf):
            raise ValueError(f"field {field} runs past the end of the message")
        out.append((field, wire, value))
    return out


def _double(field: int, wire: int, value: Any) -> float:
    if wire != 1:
        raise ValueError(f"field {field} should be a double (wire type 1), found wire type {wire}")
    return struct.unpack("<d", value)[0]


def decode_model_metrics(buf: bytes) -> dict:
    """Decode nasbench's ``ModelMetrics`` message (nasbench/lib/model_metrics.proto, proto2)::

        ModelMetrics   { repeated EvaluationData evaluation_data = 1;
                         optional int32 trainable_parameters = 2; optional double total_time = 3; }
        EvaluationData { optional double current_epoch = 1; optional double training_time = 2;
                         optional double train_accuracy = 3; optional double validation_accuracy = 4;
                         optional double test_accuracy = 5; optional string checkpoint_path = 6; }

    Unknown fields are skipped, as protobuf readers do. Raises ValueError on malformed bytes.
    """
    out: dict = {"evaluation_data": []}
    for field, wire, value in parse_protobuf(buf):
        if field == 1:
            if wire != 2:
                raise ValueError(f"evaluation_data (field 1) should be a message, found wire type {wire}")
            ev: dict = {}
            for f2, w2, v2 in parse_protobuf(value):
                if f2 in _EVAL_FIELDS:
                    ev[_EVAL_FIELDS[f2]] = _double(f2, w2, v2)
                elif f2 == 6:
                    if w2 != 2:
                        raise ValueError(f"checkpoint_path (field 6) should be a string, found wire type {w2}")
                    ev["checkpoint_path"] = v2.decode("utf-8")
            out["evaluation_data"].append(ev)
        elif field == 2:
            if wire != 0:
                raise ValueError(f"trainable_parameters (field 2) should be a varint, found wire type {wire}")
            out["trainable_parameters"] = value - (1 << 64) if value >= 1 << 63 else value
        elif field == 3:
            out["total_time"] = _double(field, wire, value)
    return out


# ============================================================================ NAS-Bench-101
#: op order of the one-hot rows in the arch2vec JSON export
NB101_ONEHOT_OPS = ("input", "conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "output")
_NB101_INFO = {
    "validation_accuracy": "CIFAR-10 validation accuracy (%) after 108 epochs, mean over the repeats",
    "test_accuracy": "CIFAR-10 test accuracy (%) after 108 epochs, mean over the repeats",
    "training_time": "training time (s) of 108 epochs, mean over the repeats",
    "params": "trainable parameters (millions)",
}


def _nb101_dataset(path: Path, entries: list[tuple[str, Any, dict[str, float]]], source: str) -> ArchDataset:
    """Pack ``(label, (matrix, ops), targets)`` entries: pruned graphs, canonical keys, duplicates refused."""
    from tqdm import tqdm

    space = NB101Space()
    keys, graphs, rows, seen = [], [], [], {}
    for label, spec, vals in tqdm(entries, desc=f"NB101 {path.name}", disable=len(entries) < 20000):
        try:
            key = space.key(spec)
            graph = space.to_graph(spec)
        except ArchrepError as exc:
            raise DataError(f"{path}: entry {label}: {exc}") from None
        if key in seen:
            raise DataError(f"{path}: entries {seen[key]} and {label} are the same cell ({key})")
        seen[key] = label
        keys.append(key)
        graphs.append(graph)
        rows.append(vals)
    if not keys:
        raise DataError(f"{path}: no architectures found")
    names = [t for t in _NB101_INFO if all(t in r for r in rows)]
    targets = {t: [r[t] for r in rows] for t in names}
    return ArchDataset.from_graphs("nb101", keys, graphs, targets, op_vocab=NB101Space.op_vocab,
                                   max_nodes=7, space="nb101", default_target="validation_accuracy",
                                   target_info={t: _NB101_INFO[t] for t in names},
                                   meta={"sources": {"results": f"{source} {path.name}"}})


def _nb101_from_tfrecord(path: Path, epochs: int = 108) -> ArchDataset:
    by_hash: dict[str, dict] = {}
    for i, rec in enumerate(read_tfrecord(path)):
        try:
            item = json.loads(rec.decode("utf-8"))
            module_hash, rec_epochs, raw_adj, raw_ops, raw_metrics = item
            if int(rec_epochs) != epochs:
                continue
            n = math.isqrt(len(raw_adj))
            if n * n != len(raw_adj) or set(raw_adj) - {"0", "1"}:
                raise ValueError(f"raw_adjacency {raw_adj!r} is not n*n characters of 0/1")
            matrix = np.frombuffer(raw_adj.encode(), dtype=np.uint8).reshape(n, n) - ord("0")
            ops = raw_ops.split(",")
            metrics = decode_model_metrics(base64.b64decode(raw_metrics, validate=True))
            final = metrics["evaluation_data"][-1]
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError, TypeError,
                binascii.Error, IndexError, AttributeError) as exc:
            raise DataError(f"{path}: record {i} is not a nasbench record "
                            f"[module_hash, epochs, adjacency, operations, base64 ModelMetrics]: {exc}") from None
        entry = by_hash.setdefault(module_hash, {"spec": (matrix, ops), "val": [], "test": [], "time": [],
                                                 "params": metrics.get("trainable_parameters")})
        for k, field in (("val", "validation_accuracy"), ("test", "test_accuracy"), ("time", "training_time")):
            if field not in final:
                raise DataError(f"{path}: record {i} ({module_hash}) has no final {field}")
            entry[k].append(final[field])
    if not by_hash:
        raise DataError(f"{path}: no {epochs}-epoch records; is this a NAS-Bench-101 tfrecord?")
    entries = []
    for h, e in by_hash.items():
        vals = {"validation_accuracy": 100.0 * float(np.mean(e["val"])),
                "test_accuracy": 100.0 * float(np.mean(e["test"])),
                "training_time": float(np.mean(e["time"]))}
        if e["params"] is not None:
            vals["params"] = e["params"] / 1e6
        entries.append((h, e["spec"], vals))
    return _nb101_dataset(path, entries, "nasbench tfrecord")


def _nb101_ops(ops: Any) -> tuple[list[str], int]:
    """Op names and node count from names or arch2vec one-hot rows (all-zero rows = padding)."""
    if not isinstance(ops, list) or not ops:
        raise ValueError("module_operations must be a non-empty list")
    if all(isinstance(o, str) for o in ops):
        return list(ops), len(ops)
    names = []
    for row in ops:
        if not isinstance(row, list) or len(row) != len(NB101_ONEHOT_OPS) or set(row) - {0, 1}:
            raise ValueError(f"module_operations row {row!r} is neither an op name nor a one-hot row "
                             f"over {NB101_ONEHOT_OPS}")
        if sum(row) == 0:
            break
        if sum(row) != 1:
            raise ValueError(f"module_operations row {row!r} has more than one 1")
        names.append(NB101_ONEHOT_OPS[row.index(1)])
    if any(sum(r) for r in ops[len(names):]):
        raise ValueError("padding rows (all zero) must come after the real nodes in module_operations")
    return names, len(names)


def _nb101_from_json(path: Path) -> ArchDataset:
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not data:
        raise DataError(f"{path}: expected a non-empty JSON object {{index: {{module_adjacency, "
                        "module_operations, validation_accuracy, test_accuracy, ...}}}}")
    raw = []
    for label, rec in data.items():
        try:
            if not isinstance(rec, dict):
                raise ValueError("entry is not an object")
            ops, n = _nb101_ops(rec["module_operations"])
            adj = np.asarray(rec["module_adjacency"])
            if adj.ndim != 2 or adj.shape[0] != adj.shape[1] or adj.shape[0] < n:
                raise ValueError(f"module_adjacency of shape {adj.shape} does not fit {n} nodes")
            if adj[n:].any() or adj[:, n:].any():
                raise ValueError("module_adjacency has edges to or from padding nodes")
            vals = {}
            for t in ("validation_accuracy", "test_accuracy", "training_time", "trainable_parameters"):
                if t in rec:
                    v = rec[t]
                    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                        raise ValueError(f"{t} is {v!r}, not a finite number")
                    vals[t] = float(v)
            for t in ("validation_accuracy", "test_accuracy"):
                if t not in vals:
                    raise ValueError(f"missing {t}")
        except KeyError as exc:
            raise DataError(f"{path}: entry {label!r} has no {exc.args[0]!r}") from None
        except (ValueError, TypeError) as exc:
            raise DataError(f"{path}: entry {label!r}: {exc}") from None
        raw.append((str(label), (adj[:n, :n].astype(np.int64), ops), vals))
    accs = np.array([v[t] for _, _, v in raw for t in ("validation_accuracy", "test_accuracy")])
    # nasbench stores accuracies as fractions; some exports use %. A file is one or the other.
    scale = 100.0 if accs.max() <= 1.0 else 1.0
    entries = []
    for label, spec, v in raw:
        vals = {"validation_accuracy": scale * v["validation_accuracy"],
                "test_accuracy": scale * v["test_accuracy"]}
        if "training_time" in v:
            vals["training_time"] = v["training_time"]
        if "trainable_parameters" in v:
            vals["params"] = v["trainable_parameters"] / 1e6
        entries.append((label, spec, vals))
    ds = _nb101_dataset(path, entries, "NB101 JSON export")
    ds.meta["accuracy_unit_in_file"] = "fraction" if scale == 100.0 else "percent"
    return ds


def load_nb101(path: str | Path, epochs: int = 108) -> ArchDataset:
    """NAS-Bench-101 from the official tfrecord or a JSON export, as dataset "nb101".

    Keys are ``NB101Space().key`` (canonical, isomorphism-invariant) of the pruned cell; graphs
    are pruned by the official rules. Targets: ``validation_accuracy``, ``test_accuracy`` (%,
    mean over the repeats at ``epochs`` = 108, the final evaluation of each run),
    ``training_time`` (s) and ``params`` (millions) where the file has them. A ``.json`` suffix
    (or a file starting with ``{``) is read as the JSON export, anything else as a tfrecord.
    The full 423,624-cell file takes minutes (canonical keys); a progress bar shows.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"NAS-Bench-101 file {path} does not exist; get nasbench_only108.tfrecord from "
                        "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord (google-research/nasbench)")
    with open(path, "rb") as fh:
        head = fh.read(64).lstrip()
    if path.suffix.lower() == ".json" or head.startswith(b"{"):
        return _nb101_from_json(path)
    return _nb101_from_tfrecord(path, epochs)


# ============================================================================ NAS-Bench-201 .pth
#: dataset -> (target name, evaluation set holding its test accuracy)
NB201_PTH_TEST_SETS = {
    "cifar10": ("cifar10", "ori-test"),
    "cifar100": ("cifar100", "x-test"),
    "ImageNet16-120": ("imagenet16", "x-test"),
}


def _torch_load(path: Path) -> Any:
    import pickle

    import torch

    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, AttributeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path} could not be read as a plain-data torch file (torch.load with "
                        f"weights_only=True): {first}") from None


def _mean_eval(path: Path, idx: Any, res: dict, dataset: str, setname: str) -> float:
    """Mean over seeds of ``setname`` accuracy at the last epoch, NaN where the file has none."""
    seeds = res.get("dataset_seed", {}).get(dataset)
    if not seeds:
        return math.nan
    accs = []
    for seed in seeds:
        rc = res.get("all_results", {}).get((dataset, seed))
        if not isinstance(rc, dict):
            raise DataError(f"{path}: arch {idx}: no result for ({dataset!r}, {seed!r}) listed in dataset_seed")
        try:
            key = f"{setname}@{int(rc['epochs']) - 1}"
            accs.append(float(rc["eval_acc1es"][key]))
        except KeyError:
            return math.nan
        except (TypeError, ValueError) as exc:
            raise DataError(f"{path}: arch {idx}, {dataset} seed {seed}: malformed result ({exc})") from None
    return float(np.mean(accs))


def load_nb201_pth(path: str | Path, hp: str = "200") -> ArchDataset:
    """NAS-Bench-201 from the official ``.pth`` file, as dataset "nb201-pth".

    Layout read (``torch.load(weights_only=True)``): ``{'meta_archs': [arch str],
    'arch2infos': {index: {'full': ArchResults, 'less': ArchResults}}, 'evaluated_indexes',
    'total_archs'}`` with each ArchResults a dict ``{'arch_str', 'dataset_seed': {dataset:
    [seed]}, 'all_results': {(dataset, seed): ResultsCount}}`` and each ResultsCount a dict with
    ``epochs``, ``eval_acc1es`` (``'<set>@<epoch>' -> %``), ``params`` (MB) and ``flop`` (M).
    ``hp='200'`` reads ``'full'`` (200 epochs), ``'12'`` reads ``'less'``.

    Targets (mean over seeds, last epoch): ``cifar10`` ('ori-test' of 'cifar10'),
    ``cifar100`` and ``imagenet16`` ('x-test', the benchmark's test split), ``cifar10_valid``
    ('x-valid' of 'cifar10-valid'), ``params``/``flops`` of the CIFAR-10 network. Keys are
    canonical arch strings in the file's index order.
    """
    path = Path(path)
    if hp not in ("200", "12"):
        raise ArchrepError(f"hp must be '200' (full training) or '12', got {hp!r}")
    which = "full" if hp == "200" else "less"
    if not path.is_file():
        raise DataError(f"NAS-Bench-201 file {path} does not exist (NAS-Bench-201-v1_1-096897.pth, "
                        "see github.com/D-X-Y/NAS-Bench-201)")
    obj = _torch_load(path)
    if not isinstance(obj, dict) or not {"meta_archs", "arch2infos"} <= set(obj):
        got = sorted(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
        raise DataError(f"{path}: expected a dict with 'meta_archs' and 'arch2infos' (NAS-Bench-201 "
                        f"layout), found {got}")
    meta_archs, infos = obj["meta_archs"], obj["arch2infos"]
    if not isinstance(meta_archs, list) or not isinstance(infos, dict):
        raise DataError(f"{path}: 'meta_archs' must be a list and 'arch2infos' a dict")
    space = NB201Space("keep_none")
    keys, graphs = [], []
    targets: dict[str, list[float]] = {t: [] for t in ("cifar10", "cifar100", "imagenet16",
                                                         "cifar10_valid", "params", "flops")}
    for idx in sorted(infos):
        try:
            arch = string_to_arch(meta_archs[int(idx)])
            res = infos[idx][which]
        except (IndexError, KeyError, TypeError, ValueError, ArchrepError) as exc:
            raise DataError(f"{path}: arch index {idx!r}: {type(exc).__name__}: {exc}") from None
        if not isinstance(res, dict):
            raise DataError(f"{path}: arch {idx}: '{which}' results are a {type(res).__name__}, not a dict")
        keys.append(arch_to_string(arch))
        graphs.append(space.to_graph(arch))
        for dataset, (target, setname) in NB201_PTH_TEST_SETS.items():
            targets[target].append(_mean_eval(path, idx, res, dataset, setname))
        targets["cifar10_valid"].append(_mean_eval(path, idx, res, "cifar10-valid", "x-valid"))
        seeds = res.get("dataset_seed", {}).get("cifar10") or []
        rc = res.get("all_results", {}).get(("cifar10", seeds[0])) if seeds else None
        targets["params"].append(float(rc["params"]) if rc and "params" in rc else math.nan)
        targets["flops"].append(float(rc["flop"]) if rc and "flop" in rc else math.nan)
    if not keys:
        raise DataError(f"{path}: 'arch2infos' is empty")
    info = {
        "cifar10": f"CIFAR-10 test accuracy (%), 'ori-test' after {hp} epochs, mean over seeds",
        "cifar100": f"CIFAR-100 test accuracy (%), 'x-test' after {hp} epochs, mean over seeds",
        "imagenet16": f"ImageNet16-120 test accuracy (%), 'x-test' after {hp} epochs, mean over seeds",
        "cifar10_valid": f"CIFAR-10 validation accuracy (%) of 'cifar10-valid' ('x-valid') after {hp} epochs",
        "params": "parameters (millions) of the CIFAR-10 network",
        "flops": "FLOPs (millions) of the CIFAR-10 network",
    }
    kept = {t: v for t, v in targets.items() if not np.all(np.isnan(np.asarray(v, dtype=float)))}
    return ArchDataset.from_graphs("nb201-pth", keys, graphs, kept, op_vocab=NB201Space.op_vocab,
                                   space="nb201", default_target="cifar10" if "cifar10" in kept else None,
                                   target_info={t: info[t] for t in kept},
                                   meta={"sources": {"results": path.name}, "hp": hp,
                                         "order": "NB201 index order"})


# ============================================================================ HW-NAS-Bench
#: HW-NAS-Bench NB201 metrics and their units (from the HW-NAS-Bench paper and API)
HW_NB201_METRICS = {
    "edgegpu_latency": "latency (ms) on an NVIDIA Edge GPU (Jetson TX2)",
    "edgegpu_energy": "energy (mJ) on an NVIDIA Edge GPU (Jetson TX2)",
    "raspi4_latency": "latency (ms) on a Raspberry Pi 4",
    "edgetpu_latency": "latency (ms) on a Google Edge TPU",
    "pixel3_latency": "latency (ms) on a Google Pixel 3",
    "eyeriss_latency": "latency (ms) on the Eyeriss ASIC (estimated)",
    "eyeriss_energy": "energy (mJ) on the Eyeriss ASIC (estimated)",
    "eyeriss_arithmetic_intensity": "arithmetic intensity (OPs/byte) on the Eyeriss ASIC",
    "fpga_latency": "latency (ms) on an FPGA (Xilinx ZC706, estimated)",
    "fpga_energy": "energy (mJ) on an FPGA (Xilinx ZC706, estimated)",
}
HW_DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16"}


def load_hw_nas_bench(path: str | Path, arch_strings: Sequence[str] | None = None) -> ArchDataset:
    """HW-NAS-Bench's NB201 hardware metrics as dataset "hw-nas-bench-nb201".

    Layout read (restricted unpickler): ``{'nasbench201': {dataset: {metric: [15,625 values in
    NB201 index order], 'config': [{'arch_str': ..., ...}]}}, 'fbnet': ...}`` with datasets
    ``cifar10``, ``cifar100``, ``ImageNet16-120`` and the metrics of :data:`HW_NB201_METRICS`.
    Targets are ``<dataset>_<metric>`` (e.g. ``cifar10_edgegpu_latency``); units as stored.
    Arch strings come from the file's ``config`` entries; for a file without them pass
    ``arch_strings`` in NB201 index order (e.g. ``nb201.official_index_order(csv)``).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"HW-NAS-Bench file {path} does not exist (HW-NAS-Bench-v1_0.pickle from "
                        "github.com/GATECH-EIC/HW-NAS-Bench)")
    data = safe_pickle.load(path)
    nb = data.get("nasbench201") if isinstance(data, dict) else None
    if not isinstance(nb, dict) or not nb:
        raise DataError(f"{path}: expected a dict with a 'nasbench201' entry (HW-NAS-Bench layout), "
                        f"found {sorted(data)[:8] if isinstance(data, dict) else type(data).__name__}")
    targets: dict[str, np.ndarray] = {}
    info: dict[str, str] = {}
    names: list[str] | None = None
    n = None
    for dataset, short in HW_DATASETS.items():
        block = nb.get(dataset)
        if block is None:
            continue
        if not isinstance(block, dict):
            raise DataError(f"{path}: nasbench201/{dataset} is a {type(block).__name__}, not a dict of metrics")
        for metric, what in HW_NB201_METRICS.items():
            if metric not in block:
                continue
            try:
                values = np.asarray(block[metric], dtype=np.float64)
            except (TypeError, ValueError):
                raise DataError(f"{path}: nasbench201/{dataset}/{metric} is not a list of numbers") from None
            if values.ndim != 1 or (n is not None and len(values) != n):
                raise DataError(f"{path}: nasbench201/{dataset}/{metric} has shape {values.shape}; "
                                f"expected one value per architecture ({n or 'N'})")
            n = len(values)
            targets[f"{short}_{metric}"] = values
            info[f"{short}_{metric}"] = f"{dataset}-sized NB201 network: {what} (HW-NAS-Bench)"
        configs = block.get("config")
        if names is None and isinstance(configs, list) and configs:
            try:
                names = [arch_to_string(string_to_arch(c["arch_str"])) for c in configs]
            except (KeyError, TypeError, ArchrepError) as exc:
                raise DataError(f"{path}: nasbench201/{dataset}/config: bad entry ({exc})") from None
    if not targets:
        raise DataError(f"{path}: no NB201 metric found; expected some of {', '.join(HW_NB201_METRICS)} "
                        f"under nasbench201/<{'|'.join(HW_DATASETS)}>")
    if arch_strings is not None:
        names = [arch_to_string(string_to_arch(s)) for s in arch_strings]
    if names is None:
        raise DataError(f"{path} has no 'config' entries with arch strings: pass arch_strings= in NB201 "
                        "index order (e.g. archrep.data.nb201.official_index_order(<nats_bench_test_acc.csv>))")
    if len(names) != n:
        raise DataError(f"{path}: {n} values per metric but {len(names)} architecture strings")
    if len(set(names)) != len(names):
        raise DataError(f"{path}: the architecture strings are not unique")
    space = NB201Space("keep_none")
    graphs = [space.to_graph(string_to_arch(s)) for s in names]
    default = "cifar10_edgegpu_latency" if "cifar10_edgegpu_latency" in targets else sorted(targets)[0]
    return ArchDataset.from_graphs("hw-nas-bench-nb201", names, graphs, targets, op_vocab=NB201Space.op_vocab,
                                   space="nb201", default_target=default, target_info=info,
                                   meta={"sources": {"results": path.name}, "order": "NB201 index order"})


__all__ = ["crc32c", "crc32c_many", "masked_crc", "read_tfrecord", "parse_protobuf",
           "decode_model_metrics", "load_nb101", "load_nb201_pth", "load_hw_nas_bench",
           "NB201_PTH_TEST_SETS", "HW_NB201_METRICS", "NB101_ONEHOT_OPS"]
