"""Real-device latency: the device table and its platform texts, the readers of HELP's and
HW-NAS-Bench-360's files (small files written here), and the three datasets on the shared data."""
from __future__ import annotations

import csv
import hashlib
import json
import math

import numpy as np
import pytest

from archrep import data
from archrep.data import latency as lat
from archrep.errors import DataError, UnknownNameError
from archrep.features.templates import platform_template
from archrep.latency import devices
from archrep.spaces import fbnet, ofa
from archrep.spaces.nb201 import NB201Space, arch_to_string

CELLS = ["|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|",
         "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|"]


# ---------------------------------------------------------------------------- devices
def test_every_device_is_described_with_a_source():
    for name, d in devices.DEVICES.items():
        assert d.kind in devices.KINDS, name
        assert len(d.source) > 40 and d.model and d.architecture, name
        for value in (d.peak_tflops, d.memory_gbs, d.tdp_w):
            assert value is None or (math.isfinite(value) and value > 0), name


def test_settings_render_distinct_texts():
    texts = {s: devices.setting_template(s) for s in devices.SETTINGS}
    assert len(set(texts.values())) == len(texts)
    assert texts["1080ti_b32"] == "Nv GPU FP32 11.34 Pascal 250W 484GB/s CC 6.1 Batch 32"
    assert texts["pi5_onnx_b1"].endswith("ONNXRuntime Threads 1 Batch 1")
    assert platform_template(devices.platform_description("eyeriss_b1")).startswith("MIT ASIC INT16")


def test_help_columns_map_to_settings():
    assert devices.help_setting("1080ti_32") == "1080ti_b32"
    assert devices.help_setting("titan_xp_64") == "titanxp_b64"
    assert devices.help_setting("essential_ph_1") == "essential_ph_1_b1"
    assert devices.help_setting("eyeriss") == "eyeriss_b1"
    with pytest.raises(UnknownNameError, match="'a100_8'.*archrep.latency.devices"):
        devices.help_setting("a100_8")
    with pytest.raises(UnknownNameError, match="known settings"):
        devices.platform_description("1080ti")


# ---------------------------------------------------------------------------- small files
def _write_csv(path, rows, columns=("1080ti_1", "eyeriss")):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["index", "arch_str", *columns])
        w.writerows(rows)
    return path


def test_nb201_csv_reader_and_its_errors(tmp_path):
    path = _write_csv(tmp_path / "lat.csv", [[0, CELLS[0], 1.5, 2], [1, CELLS[1], 0.5, 1]])
    index, recs = lat.read_nb201_csv(path)
    assert index == {0: CELLS[0], 1: CELLS[1]}
    assert recs[CELLS[1]] == {"1080ti_b1": 0.5, "eyeriss_b1": 1.0}
    bad = _write_csv(tmp_path / "bad.csv", [[0, CELLS[0], 1.5, 2], [1, CELLS[1], "n/a", 1]])
    with pytest.raises(DataError, match=r"bad\.csv, line 3, column 1080ti_1: latency 'n/a'"):
        lat.read_nb201_csv(bad)
    bad = _write_csv(tmp_path / "arch.csv", [[0, "|conv~0|+|", 1, 1]])
    with pytest.raises(DataError, match=r"arch\.csv, line 2: malformed NB201"):
        lat.read_nb201_csv(bad)
    bad = _write_csv(tmp_path / "dup.csv", [[0, CELLS[0], 1, 1], [1, CELLS[0], 1, 1]])
    with pytest.raises(DataError, match="appears twice"):
        lat.read_nb201_csv(bad)
    bad = _write_csv(tmp_path / "col.csv", [[0, CELLS[0], 1]], columns=("tpu_1",))
    with pytest.raises(DataError, match=r"col\.csv: latency column 'tpu_1'"):
        lat.read_nb201_csv(bad)


def _fbnet_records(n=3):
    recs = []
    for i in range(n):
        idx = [(i + j) % 9 for j in range(22)]
        recs.append({"index": i, "op_idx_list": idx, "arch_str": [fbnet.BLOCKS[k] for k in idx],
                     "latency_ms": {"1080ti_1": 1.0 + i, "fpga": 2.0 + i}})
    return recs


def _write_json(folder, rel, records):
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"source": "test", "archs": records}))
    return path


def test_fbnet_file_builds_a_dataset_with_a_deterministic_cache(tmp_path):
    _write_json(tmp_path, lat.FBNET_JSON, _fbnet_records())
    ds = data.load("fbnet-latency", data_dir=tmp_path)
    assert len(ds) == 3 and ds.space == "fbnet" and ds.max_nodes == 28
    np.testing.assert_array_equal(ds.target("latency_fpga_b1"), [2.0, 3.0, 4.0])
    assert ds.meta["settings"] == {"latency_1080ti_b1": "1080ti_b1", "latency_fpga_b1": "fpga_b1"}
    assert (ds.target("flops") > 0).all()
    path = data.cache_path("fbnet-latency", tmp_path)
    first = hashlib.sha256(path.read_bytes()).hexdigest()
    data.load("fbnet-latency", data_dir=tmp_path, refresh=True)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == first


@pytest.mark.parametrize("change, match", [
    (lambda r: r[1]["latency_ms"].update(fpga=-1), r"archs\[1\], setting fpga: latency -1"),
    (lambda r: r[1]["latency_ms"].pop("fpga"), r"archs\[1\]: its settings"),
    (lambda r: r[2].update(op_idx_list=[9] * 22), r"archs\[2\]: malformed FBNet key"),
    (lambda r: r[2].update(arch_str=["skip"] * 22), r"archs\[2\]: op_idx_list .* disagrees"),
    (lambda r: r[0].pop("latency_ms"), r"archs\[0\]: missing field 'latency_ms'"),
    (lambda r: r.append(dict(r[0])), r"archs\[3\]: architecture .* appears twice"),
])
def test_malformed_fbnet_records_name_file_and_record(tmp_path, change, match):
    recs = _fbnet_records()
    change(recs)
    path = _write_json(tmp_path, lat.FBNET_JSON, recs)
    with pytest.raises(DataError, match=match) as info:
        lat.read_help_json(path, fbnet.FBNetSpace(), lat._fbnet_arch)
    assert str(path) in str(info.value)


def test_ofa_records_and_a_bad_depth(tmp_path):
    rec = {"index": 0, "ks": [3] * 20, "e": [4] * 20, "d": [2, 3, 4, 2, 2], "r": 160,
           "latency_ms": {"titan_xp_1": 3.0, "v100_64": 9.0}}
    path = _write_json(tmp_path, lat.OFA_JSON, [rec, {**rec, "r": 128}])
    ds = data.load("ofa-latency", data_dir=tmp_path)
    assert list(ds.keys)[1].startswith("r128/") and list(ds.target("resolution")) == [160.0, 128.0]
    assert set(ds.meta["settings"].values()) == {"titanxp_b1", "v100_b64"}
    _write_json(tmp_path, lat.OFA_JSON, [rec, {**rec, "d": [2, 3, 5, 2, 2]}])
    with pytest.raises(DataError, match=r"archs\[1\]: OFA depths"):
        lat.read_help_json(path, ofa.OFASpace(), lat._ofa_arch)


@pytest.mark.parametrize("name, rel", [("ofa-latency", lat.OFA_JSON), ("fbnet-latency", lat.FBNET_JSON),
                                       ("nb201-latency", lat.NB201_CSV)])
def test_missing_file_names_file_and_source(tmp_path, name, rel):
    with pytest.raises(DataError, match="ARCHREP_DATA_DIR") as info:
        data.load(name, data_dir=tmp_path)
    assert rel.as_posix() in str(info.value) and lat.SOURCES[rel].split(":")[0] in str(info.value)


def test_hw360_reader_on_a_small_file(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    def write(rows):
        cols = {c: [r[i] for r in rows] for i, c in enumerate(("arch_idx", "device", "framework", "task",
                                                               "lat_ms_median", "energy_mj"))}
        pq.write_table(pa.table(cols), tmp_path / "t.parquet")
        return tmp_path / "t.parquet"

    ok = [(1, "pi5", "onnx", "darcy", 2.0, 5.0), (0, "pi5", "onnx", "darcy", 1.0, 4.0),
          (0, "pixel", "litert", "darcy", 3.0, None), (1, "pixel", "litert", "darcy", 3.5, None)]
    out = lat.read_hw360(write(ok), 2)
    assert sorted(out) == [("pi5_onnx_b1", "darcy", "energy"), ("pi5_onnx_b1", "darcy", "latency"),
                           ("pixel6a_litert_b1", "darcy", "latency")]
    np.testing.assert_array_equal(out[("pi5_onnx_b1", "darcy", "latency")], [1.0, 2.0])
    with pytest.raises(DataError, match="lacks 1 of the 2 cells"):
        lat.read_hw360(write(ok[:3]), 2)
    with pytest.raises(DataError, match=r"row 0: device 'jetson'"):
        lat.read_hw360(write([(0, "jetson", "onnx", "darcy", 1.0, 1.0)]), 2)
    with pytest.raises(DataError, match=r"row 1: latency 0"):
        lat.read_hw360(write([ok[0], (0, "pi5", "onnx", "darcy", 0.0, 1.0)]), 2)


# ---------------------------------------------------------------------------- the shared data
@pytest.fixture(scope="module")
def real(shared_data_dir):
    pytest.importorskip("pyarrow")  # nb201-latency reads HW-NAS-Bench-360's parquet file
    return {name: data.load(name, data_dir=shared_data_dir)
            for name in ("nb201-latency", "fbnet-latency", "ofa-latency")}


def test_real_counts_targets_and_settings(real):
    # NB201: 27 HELP settings, 4 HW-NAS-Bench-360 settings x 3 tasks, Pi 5 energy for 3 x 3
    expected = {"nb201-latency": (15625, 27 + 12 + 9), "fbnet-latency": (5000, 27), "ofa-latency": (5000, 12)}
    for name, ds in real.items():
        n, targets = expected[name]
        assert len(ds) == n and len(set(ds.keys)) == n, name
        assert len(ds.meta["settings"]) == targets, name
        for target, setting in ds.meta["settings"].items():
            values = ds.target(target)
            assert np.isfinite(values).all() and (values > 0).all(), target
            assert devices.setting_template(setting), target  # every setting is described


def test_real_nb201_keys_are_the_nb201_keys_in_official_index_order(real, shared_data_dir):
    keys = [arch_to_string(a) for a in NB201Space().enumerate()]
    assert list(real["nb201-latency"].keys) == keys == list(data.load("nb201", data_dir=shared_data_dir).keys)
    index, _ = lat.read_nb201_csv(shared_data_dir / lat.NB201_CSV)
    with open(shared_data_dir / "nb201" / "nats_bench_test_acc.csv", newline="") as fh:
        official = [row["ArchitectureString"] for row in csv.DictReader(fh)]
    assert [index[i] for i in range(len(official))] == official


def test_real_graphs_are_valid_and_match_their_keys(real):
    for name, space in (("fbnet-latency", fbnet.FBNetSpace()), ("ofa-latency", ofa.OFASpace())):
        ds = real[name]
        for i in range(0, len(ds), 500):
            g = space.to_graph(space.parse(str(ds.keys[i])))
            assert ds.graph(i).ops == g.ops and ds.graph(i).edges == g.edges
            assert ds.target("flops")[i] == pytest.approx(g.attrs["macs"] / 1e6)
