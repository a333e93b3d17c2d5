"""Tests of the loaders for official benchmark files (NB101 tfrecord and JSON, NB201 .pth,
HW-NAS-Bench pickle, NAS-Bench-Macro JSON) and of the downloader. Every file is written here in
the official layout, with encoders written independently of the readers."""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import pickle
import struct
import zlib

import numpy as np
import pytest

from archrep import data
from archrep.data import download, macro, official
from archrep.errors import DataError, UnknownNameError
from archrep.spaces.nb101 import NB101Space
from archrep.spaces.nb201 import NB201Space, string_to_arch

C1, C3, MP = "conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3"
A1 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
A2 = "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|none~1|skip_connect~2|"


# ============================================================================ independent encoders
def bitwise_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def tf_mask(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord_bytes(records: list[bytes]) -> bytes:
    out = b""
    for rec in records:
        head = struct.pack("<Q", len(rec))
        out += head + struct.pack("<I", tf_mask(bitwise_crc32c(head))) + rec
        out += struct.pack("<I", tf_mask(bitwise_crc32c(rec)))
    return out


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_double(field: int, x: float) -> bytes:
    return varint(field << 3 | 1) + struct.pack("<d", x)


def pb_bytes(field: int, b: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(b)) + b


def model_metrics(params: int, evals: list[tuple[float, float, float, float, float]], extra: bytes = b"") -> bytes:
    msg = b""
    for epoch, ttime, train, val, test in evals:
        ev = (pb_double(1, epoch) + pb_double(2, ttime) + pb_double(3, train) + pb_double(4, val)
              + pb_double(5, test) + pb_bytes(6, b"/ckpt/model.ckpt-1"))
        msg += pb_bytes(1, ev)
    return msg + varint(2 << 3 | 0) + varint(params) + pb_double(3, 1234.5) + extra


def nb101_record(h: str, epochs: int, matrix, ops, params, val, test, ttime, extra=b"") -> bytes:
    adj = "".join(str(x) for row in matrix for x in row)
    metrics = model_metrics(params, [(0, 0, 0.1, 0.1, 0.1), (epochs / 2, ttime / 2, 0.5, 0.5, 0.5),
                                     (epochs, ttime, 1.0, val, test)], extra)
    return json.dumps([h, epochs, adj, ",".join(ops), base64.b64encode(metrics).decode()]).encode()


# a 5-node cell and a 4-node cell whose node 2 feeds nothing (pruned away by the official rules)
M1 = [[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
O1 = ["input", C3, MP, C1, "output"]
M2 = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
O2 = ["input", C3, C1, "output"]


@pytest.fixture
def tfrecord(tmp_path):
    recs = []
    for rep, (v, t) in enumerate([(0.90, 0.89), (0.92, 0.91), (0.94, 0.93)]):
        recs.append(nb101_record("hash1", 108, M1, O1, 1_234_567, v, t, 1000 + rep))
        recs.append(nb101_record("hash2", 108, M2, O2, 222_222, v - 0.1, t - 0.1, 500 + rep,
                                 extra=pb_bytes(9, b"unknown field")))
    recs.append(nb101_record("hash1", 36, M1, O1, 1_234_567, 0.5, 0.5, 10))  # other budget: ignored
    path = tmp_path / "nasbench_only108.tfrecord"
    path.write_bytes(tfrecord_bytes(recs))
    return path


# ============================================================================ CRC + protobuf
def test_crc32c_matches_the_standard_check_value_and_a_bitwise_reference():
    assert official.crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    rng = np.random.default_rng(0)
    blobs = [rng.integers(0, 256, size=n, dtype=np.uint8).tobytes() for n in (0, 1, 7, 64, 301)]
    buf = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    lengths = np.array([len(b) for b in blobs])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    assert official.crc32c_many(buf, offsets, lengths).tolist() == [bitwise_crc32c(b) for b in blobs]
    assert zlib.crc32(b"123456789") != official.crc32c(b"123456789")  # not the zlib polynomial
    assert official.masked_crc(0x12345678) == tf_mask(0x12345678)


def test_model_metrics_are_decoded_and_unknown_fields_skipped():
    m = official.decode_model_metrics(model_metrics(777, [(108, 99.5, 1.0, 0.93, 0.92)], pb_bytes(15, b"x")))
    assert m["trainable_parameters"] == 777 and m["total_time"] == 1234.5
    assert m["evaluation_data"] == [{"current_epoch": 108, "training_time": 99.5, "train_accuracy": 1.0,
                                     "validation_accuracy": 0.93, "test_accuracy": 0.92,
                                     "checkpoint_path": "/ckpt/model.ckpt-1"}]
    with pytest.raises(ValueError, match="field 4 should be a double"):
        official.decode_model_metrics(pb_bytes(1, varint(4 << 3 | 0) + varint(5)))
    with pytest.raises(ValueError, match="past the end"):
        official.decode_model_metrics(pb_bytes(1, pb_double(4, 0.5))[:-3])


# ============================================================================ NAS-Bench-101
def test_nb101_tfrecord_is_parsed_pruned_and_averaged(tfrecord):
    ds = official.load_nb101(tfrecord)
    space = NB101Space()
    assert ds.name == "nb101" and ds.space == "nb101" and len(ds) == 2
    i = ds.index_of(space.key((M1, O1)))
    assert ds.target("validation_accuracy")[i] == pytest.approx(92.0)
    assert ds.target("test_accuracy")[i] == pytest.approx(91.0)
    assert ds.target("params")[i] == pytest.approx(1.234567)
    assert ds.target("training_time")[i] == pytest.approx(1001.0)
    assert ds.default_target == "validation_accuracy"
    j = ds.index_of(space.key((M2, O2)))
    g = ds.graph(j)
    assert g.ops == ["input", C3, "output"] and g.edges == [(0, 1), (1, 2)]  # conv1x1 node pruned
    assert ds.target("validation_accuracy")[j] == pytest.approx(82.0)


def test_nb101_tfrecord_corruption_is_detected(tfrecord, tmp_path):
    raw = bytearray(tfrecord.read_bytes())
    raw[40] ^= 0x01  # inside the first record's data
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"bad.tfrecord: CRC mismatch in the data of record 0"):
        official.load_nb101(bad)
    bad.write_bytes(tfrecord.read_bytes()[:-10])
    with pytest.raises(DataError, match="truncated"):
        official.load_nb101(bad)
    bad.write_bytes(tfrecord_bytes([b"not json"]))
    with pytest.raises(DataError, match="record 0 is not a nasbench record"):
        official.load_nb101(bad)
    bad.write_bytes(tfrecord_bytes([nb101_record("h", 36, M1, O1, 1, 0.5, 0.5, 1)]))
    with pytest.raises(DataError, match="no 108-epoch records"):
        official.load_nb101(bad)


def _onehot(ops):
    names = official.NB101_ONEHOT_OPS
    rows = [[int(names.index(o) == k) for k in range(5)] for o in ops]
    return rows + [[0] * 5] * (7 - len(ops))


def _pad(matrix):
    n = len(matrix)
    return [list(r) + [0] * (7 - n) for r in matrix] + [[0] * 7] * (7 - n)


def test_nb101_json_export_one_hot_and_names(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps({
        "0": {"module_adjacency": _pad(M1), "module_operations": _onehot(O1), "validation_accuracy": 0.925,
              "test_accuracy": 0.915, "training_time": 1500.0},
        "1": {"module_adjacency": M2, "module_operations": O2, "validation_accuracy": 0.8,
              "test_accuracy": 0.79, "training_time": 700.0},
    }))
    ds = official.load_nb101(path)
    space = NB101Space()
    i = ds.index_of(space.key((M1, O1)))
    assert ds.target("validation_accuracy")[i] == pytest.approx(92.5)
    assert ds.target("test_accuracy")[i] == pytest.approx(91.5)
    assert ds.graph(i).num_nodes == 5
    assert ds.graph(ds.index_of(space.key((M2, O2)))).num_nodes == 3
    assert "params" not in ds.targets and ds.meta["accuracy_unit_in_file"] == "fraction"


def test_nb101_json_malformed_entries_name_file_and_entry(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"7": {"module_adjacency": M2, "validation_accuracy": 0.8, "test_accuracy": 0.8}}))
    with pytest.raises(DataError, match=r"data.json: entry '7' has no 'module_operations'"):
        official.load_nb101(path)
    path.write_text(json.dumps({"3": {"module_adjacency": M2, "module_operations": ["input", "conv5x5", C1, "output"],
                                      "validation_accuracy": 0.8, "test_accuracy": 0.8}}))
    with pytest.raises(DataError, match=r"entry 3: .*unknown NB101 op 'conv5x5'"):
        official.load_nb101(path)
    path.write_text(json.dumps({"a": {"module_adjacency": M2, "module_operations": O2, "test_accuracy": 0.8,
                                      "validation_accuracy": 0.8},
                                "b": {"module_adjacency": [[0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
                                      "module_operations": ["input", C1, C3, "output"],
                                      "test_accuracy": 0.8, "validation_accuracy": 0.8}}))
    with pytest.raises(DataError, match="entries a and b are the same cell"):
        official.load_nb101(path)
    path.write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        official.load_nb101(path)
    with pytest.raises(DataError, match="does not exist"):
        official.load_nb101(tmp_path / "nope.tfrecord")


# ============================================================================ NAS-Bench-201 .pth
def _results_count(dataset, seed, accs: dict, params=0.5, flop=50.0, epochs=200):
    return {"name": dataset, "net_state_dict": None, "train_acc1es": {epochs - 1: 99.0},
            "train_acc5es": None, "train_losses": {epochs - 1: 0.01}, "train_times": None,
            "arch_config": {"channel": 16, "num_cells": 5, "class_num": 10}, "params": params,
            "flop": flop, "seed": seed, "epochs": epochs, "latency": [0.01],
            "eval_names": sorted({k.split("@")[0] for k in accs}),
            "eval_acc1es": {f"{k}@{epochs - 1}" if "@" not in k else k: v for k, v in accs.items()},
            "eval_times": {}, "eval_losses": {}}


def _arch_results(index, arch_str, runs):
    dataset_seed, all_results = {}, {}
    for (dataset, seed), rc in runs.items():
        dataset_seed.setdefault(dataset, []).append(seed)
        all_results[(dataset, seed)] = rc
    return {"arch_index": index, "arch_str": arch_str, "all_results": all_results,
            "dataset_seed": dataset_seed, "clear_net_done": True}


def test_nb201_pth_layout_is_read(tmp_path):
    import torch

    full0 = _arch_results(0, A1, {
        ("cifar10", 777): _results_count("cifar10", 777, {"ori-test": 94.0, "ori-test@100": 1.0}, 1.1, 150.0),
        ("cifar10", 888): _results_count("cifar10", 888, {"ori-test": 95.0}, 1.1, 150.0),
        ("cifar10-valid", 777): _results_count("cifar10-valid", 777, {"x-valid": 91.5, "ori-test": 93.0}),
        ("cifar100", 777): _results_count("cifar100", 777, {"x-valid": 72.0, "x-test": 73.0, "ori-test": 72.5}),
        ("ImageNet16-120", 777): _results_count("ImageNet16-120", 777, {"x-valid": 46.0, "x-test": 47.0}),
    })
    full1 = _arch_results(1, A2, {("cifar10", 777): _results_count("cifar10", 777, {"ori-test": 80.0}, 0.3, 40.0)})
    less1 = _arch_results(1, A2, {("cifar10", 777): _results_count("cifar10", 777, {"ori-test": 60.0}, epochs=12)})
    blob = {"meta_archs": [A1, A2], "total_archs": 2, "evaluated_indexes": [0, 1],
            "arch2infos": {0: {"full": full0, "less": full0}, 1: {"full": full1, "less": less1}}}
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save(blob, path)
    ds = official.load_nb201_pth(path)
    assert list(ds.keys) == [A1, A2] and ds.space == "nb201" and ds.default_target == "cifar10"
    assert ds.target("cifar10").tolist() == [94.5, 80.0]
    assert ds.target("cifar100")[0] == 73.0 and np.isnan(ds.target("cifar100")[1])
    assert ds.target("imagenet16")[0] == 47.0 and ds.target("cifar10_valid")[0] == 91.5
    assert ds.target("params").tolist() == [1.1, 0.3] and ds.target("flops").tolist() == [150.0, 40.0]
    assert ds.graph(1) == NB201Space().to_graph(string_to_arch(A2))
    assert official.load_nb201_pth(path, hp="12").target("cifar10")[1] == 60.0


def test_nb201_pth_malformed_and_malicious(tmp_path):
    import torch

    path = tmp_path / "x.pth"
    torch.save({"meta_archs": [A1]}, path)
    with pytest.raises(DataError, match="x.pth: expected a dict with 'meta_archs' and 'arch2infos'"):
        official.load_nb201_pth(path)
    torch.save({"meta_archs": ["|bad~0|"], "arch2infos": {0: {"full": {}, "less": {}}}}, path)
    with pytest.raises(DataError, match="arch index 0"):
        official.load_nb201_pth(path)
    marker = tmp_path / "pwned"
    torch.save({"meta_archs": [A1], "arch2infos": _Evil(marker)}, path)
    with pytest.raises(DataError, match="plain-data torch file"):
        official.load_nb201_pth(path)
    assert not marker.exists()


class _Evil:
    """Pickles as a call to os.system (creating a marker file) -- must never run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


# ============================================================================ HW-NAS-Bench
def _hw_blob(with_config=True):
    block = {m: [1.0 + k, 2.0 + k] for k, m in enumerate(official.HW_NB201_METRICS)}
    if with_config:
        block["config"] = [{"name": "infer.tiny", "C": 16, "N": 5, "arch_str": a, "num_classes": 10} for a in (A1, A2)]
    c100 = {"edgegpu_latency": np.array([5.5, 6.5]), "config": block.get("config", [])}
    return {"nasbench201": {"cifar10": block, "cifar100": c100}, "fbnet": {"edgegpu_latency": {"op": 1.0}}}


def test_hw_nas_bench_pickle_is_read(tmp_path):
    path = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    path.write_bytes(pickle.dumps(_hw_blob()))
    ds = official.load_hw_nas_bench(path)
    assert list(ds.keys) == [A1, A2] and ds.default_target == "cifar10_edgegpu_latency"
    assert ds.target("cifar10_edgegpu_latency").tolist() == [1.0, 2.0]
    assert ds.target("cifar10_fpga_energy").tolist() == [10.0, 11.0]
    assert ds.target("cifar100_edgegpu_latency").tolist() == [5.5, 6.5]
    assert "latency (ms)" in ds.target_info["cifar10_raspi4_latency"]


def test_hw_nas_bench_needs_arch_order_and_refuses_code(tmp_path):
    path = tmp_path / "hw.pickle"
    path.write_bytes(pickle.dumps(_hw_blob(with_config=False)))
    with pytest.raises(DataError, match="pass arch_strings="):
        official.load_hw_nas_bench(path)
    assert list(official.load_hw_nas_bench(path, arch_strings=[A2, A1]).keys) == [A2, A1]
    with pytest.raises(DataError, match="3 architecture strings"):
        official.load_hw_nas_bench(path, arch_strings=[A2, A1, A1])
    path.write_bytes(pickle.dumps({"fbnet": {}}))
    with pytest.raises(DataError, match="'nasbench201' entry"):
        official.load_hw_nas_bench(path)
    marker = tmp_path / "pwned"
    path.write_bytes(pickle.dumps({"nasbench201": _Evil(marker)}))
    with pytest.raises(DataError, match="refused to unpickle"):
        official.load_hw_nas_bench(path)
    assert not marker.exists()


# ============================================================================ NAS-Bench-Macro
def _macro_file(folder, drop=None, bad=None):
    recs = {}
    for digits in itertools.product("012", repeat=8):
        key = "".join(digits)
        n2 = key.count("2")
        acc = [80.0 + n2, 81.0 + n2, 82.0 + n2]
        recs[key] = {"test_acc": acc, "mean_acc": sum(acc) / 3, "std": 0.8165, "params": 100_000 * (1 + n2),
                     "flops": 2_000_000 * (1 + key.count("1"))}
    if drop:
        del recs[drop]
    if bad:
        recs.update(bad)
    path = folder / "nas_bench_macro" / "nas-bench-macro_cifar10.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recs))
    return path


def test_macro_dataset_from_a_written_file(tmp_path):
    _macro_file(tmp_path)
    ds = macro.build(tmp_path)
    assert len(ds) == 6561 and ds.space == "nas-bench-macro" and ds.default_target == "cifar10"
    i = ds.index_of("02012100")
    assert ds.target()[i] == pytest.approx(83.0) and ds.target("cifar10_std")[i] == pytest.approx(0.8165)
    assert ds.target("params")[i] == pytest.approx(0.3) and ds.target("flops")[i] == pytest.approx(6.0)
    assert ds.graph(i).ops == ["input", "identity", "mb6_k5", "identity", "mb3_k3", "mb6_k5", "mb3_k3",
                               "identity", "identity", "output"]


def test_macro_missing_and_malformed_files(tmp_path):
    with pytest.raises(DataError) as err:
        macro.build(tmp_path)
    msg = str(err.value)
    assert "nas-bench-macro_cifar10.json" in msg and "ARCHREP_DATA_DIR" in msg and "xiusu/NAS-Bench-Macro" in msg
    with pytest.raises(DataError, match="no data folder is set"):
        macro.build(None)
    _macro_file(tmp_path, drop="22222222")
    with pytest.raises(DataError, match="1 of the 6561 architectures are missing, e.g. '22222222'"):
        macro.build(tmp_path)
    _macro_file(tmp_path, bad={"0120": {"test_acc": [1], "mean_acc": 1, "std": 0, "params": 1, "flops": 1}})
    with pytest.raises(DataError, match="malformed NAS-Bench-Macro arch '0120'"):
        macro.build(tmp_path)
    _macro_file(tmp_path, bad={"00000000": {"test_acc": [1], "mean_acc": "high", "std": 0, "params": 1, "flops": 1}})
    with pytest.raises(DataError, match="'00000000' has no finite number 'mean_acc'"):
        macro.build(tmp_path)


def test_macro_real_file(shared_data_dir):
    ds = data.load("nas-bench-macro", data_dir=shared_data_dir)
    raw = json.loads((shared_data_dir / macro.MACRO_JSON).read_text())
    assert len(ds) == 6561
    for key in ("02012100", "11111221", "00000000"):
        i = ds.index_of(key)
        assert ds.target()[i] == pytest.approx(np.mean(raw[key]["test_acc"]), abs=1e-6)
        assert ds.target("params")[i] == pytest.approx(raw[key]["params"] / 1e6)


# ============================================================================ download
def test_fetch_file_url_with_hash(tmp_path):
    src = tmp_path / "src.bin"
    payload = os.urandom(3 * 1024 * 1024 + 17)  # spans several chunks
    src.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    dest = download.fetch(src.as_uri(), tmp_path / "out" / "file.bin", sha256=digest, progress=False)
    assert dest.read_bytes() == payload
    assert sorted(p.name for p in dest.parent.iterdir()) == ["file.bin"]  # no temporary left


def test_fetch_failures_are_clear_and_leave_nothing(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"hello")
    dest = tmp_path / "out" / "file.bin"
    with pytest.raises(DataError, match="SHA-256 .* expected 00") as err:
        download.fetch(src.as_uri(), dest, sha256="00" * 32, progress=False)
    assert "curl -L -o" in str(err.value)
    assert not dest.exists() and list(dest.parent.iterdir()) == []
    missing = (tmp_path / "nope.bin").as_uri()
    with pytest.raises(DataError, match=f"could not download {missing}") as err:
        download.fetch(missing, dest, progress=False)
    assert str(dest) in str(err.value) and list(dest.parent.iterdir()) == []


def test_fetch_known_checks_name_and_data_folder(monkeypatch):
    with pytest.raises(UnknownNameError, match="nas-bench-macro"):
        download.fetch_known("nas-bench-micro")
    monkeypatch.delenv("ARCHREP_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="ARCHREP_DATA_DIR"):
        download.fetch_known("nas-bench-macro")
    assert download.KNOWN_FILES["nas-bench-macro"].path == macro.MACRO_JSON.as_posix()
