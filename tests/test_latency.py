"""archrep.latency: platform descriptors, the profiler, the LatencyStore (SQLite and PostgreSQL)
and resumable profiling runs. Models are tiny and repeats few, so timings here only need to be
sane, not precise. The PostgreSQL cases run when ARCHREP_TEST_POSTGRES_URL names a server
(.ci/postgres.sh starts one) and skip otherwise."""
from __future__ import annotations

import dataclasses
import gzip
import json
import lzma
import os
import re
import sys
import time
import uuid
from datetime import datetime

import pytest

torch = pytest.importorskip("torch")

from archrep.errors import (ArchrepError, DataError, MissingDependencyError, ModelImportError,  # noqa: E402
                            UnknownNameError)
from archrep.latency import (LatencyStore, Measurement, Platform, UnsupportedPlatformError, detect,  # noqa: E402
                             profile, profile_jobs)
from archrep.latency import jobs as jobs_module  # noqa: E402
from archrep.latency import profiler as profiler_module  # noqa: E402
from archrep.latency import store as store_module  # noqa: E402
from archrep.latency.store import XZ_MAGIC  # noqa: E402

FAST = {"repeats": 5, "warmup": 2, "warmup_s": 0.05}
NB201_ARCH = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
JOBS = [("nb201", {"arch": NB201_ARCH, "cells": 1, "resolution": 16, "batch": 1}),
        ("nb201", {"arch": NB201_ARCH, "cells": 1, "resolution": 16, "batch": 2}),
        ("resnet", {"block": "basic", "depths": [1, 1, 1, 1], "base": 8, "resolution": 32, "batch": 1}),
        ("resnet", {"block": "basic", "depths": [1, 1, 1, 1], "base": 8, "resolution": 32, "batch": 2})]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none visible here)")


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


@pytest.fixture(scope="module")
def tiny():
    """(module, example input of batch 2, its ONNX export)."""
    pytest.importorskip("onnxruntime")
    from archrep.io import export_onnx

    module, x = Tiny().eval(), torch.zeros(2, 3, 16, 16)
    return module, x, export_onnx(module, x)


# ---------------------------------------------------------------------------- platform
def test_platform_descriptor_fields_and_json_round_trip():
    pytest.importorskip("onnxruntime")
    p = detect()
    assert (p.runtime, p.device, p.precision, p.threads) == ("onnxruntime", "cpu", "fp32", 1)
    assert p.runtime_version and p.cores >= 1 and isinstance(p.isa, tuple)
    if sys.platform == "linux":
        assert p.cpu_model and p.clock_mhz and p.isa
    assert re.fullmatch(r"ort-cpu-fp32-t1@[0-9a-f]{8}", p.id)
    assert Platform.from_json(p.to_json()) == p and Platform.from_json(p.to_json()).id == p.id
    assert detect().id == p.id  # stable between readings
    assert "CPU FP32" in p.template() and p.template(batch=4).endswith("Threads 1 Batch 4")


def test_platform_id_separates_settings_and_runtime_versions():
    base = Platform("onnxruntime", "1.17.0", "cpu", "fp32", 1, cpu_vendor="intel", cpu_model="Xeon")
    others = [dataclasses.replace(base, precision="int8"), dataclasses.replace(base, threads=2),
              dataclasses.replace(base, runtime_version="1.18.0"), dataclasses.replace(base, cpu_model="EPYC")]
    assert len({base.id, *(o.id for o in others)}) == 5
    assert dataclasses.replace(base, clock_mhz=3000.0, cores=64).id == base.id  # not hashed
    # one machine: the same machine_id for every setting, another processor or ISA another one
    assert {o.machine_id for o in others[:3]} == {base.machine_id} != {others[3].machine_id}
    assert dataclasses.replace(base, isa=("avx2",)).machine_id != base.machine_id


def test_platform_template_and_throughput_estimate():
    p = Platform("onnxruntime", "1.17.1", "cpu", "int8", 2, cpu_vendor="intel", microarchitecture="Ice Lake",
                 cores=8, clock_mhz=3000.0, isa=("avx2", "avx512f", "avx512_vnni"))
    # 2 threads x 3.0 GHz x 16 lanes x 2 (FMA) x 2 units x 4 (int8 VNNI) = 1.536 TOPS
    assert p.template(batch=8) == "Intel CPU INT8 1.54 Ice Lake AVX512 VNNI ONNXRuntime 1.17 Threads 2 Batch 8"
    assert dataclasses.replace(p, precision="fp32", clock_mhz=None).template() == \
        "Intel CPU FP32 Ice Lake AVX512 VNNI ONNXRuntime 1.17 Threads 2"


def test_platform_bad_input_and_unsupported_settings():
    with pytest.raises(UnknownNameError, match="onnxruntime"):
        detect("tensorrt")
    with pytest.raises(UnknownNameError, match="fp32"):
        Platform("torch", "2.0", "cpu", "fp64", 1)
    with pytest.raises(ArchrepError, match="threads"):
        Platform("torch", "2.0", "cpu", "fp32", 0)
    d = Platform("torch", "2.0", "cpu", "fp32", 1).to_dict()
    with pytest.raises(ArchrepError, match="unknown field"):
        Platform.from_dict({**d, "colour": "red"})
    with pytest.raises(ArchrepError, match="upgrade archrep"):
        Platform.from_dict({**d, "version": 99})
    old_cpu = Platform("torch", "2.0", "cpu", "bf16", 1, cpu_model="Old", isa=("avx2",))
    assert "unsupported on this CPU" in old_cpu.unsupported_reason()
    assert "onnxruntime" in Platform("torch", "2.0", "cpu", "int8", 1).unsupported_reason()
    assert "no CUDA device" in Platform("torch", "2.0", "cuda", "fp16", 1).unsupported_reason()


# ---------------------------------------------------------------------------- profiler
def _sane(m: Measurement, platform: Platform, batch: int):
    assert 0 < m.min_ms <= m.median_ms < 1000 and m.iqr_ms >= 0
    assert (m.repeats, m.platform, m.batch) == (FAST["repeats"], platform.id, batch)
    assert 1 <= m.warmup <= FAST["warmup"] and 1 <= m.rounds <= 3
    assert datetime.fromisoformat(m.timestamp).tzinfo is not None
    assert Measurement.from_dict(json.loads(json.dumps(m.to_dict()))) == m


def test_profile_onnxruntime_fp32_and_int8(tiny):
    module, x, onnx_bytes = tiny
    for precision in ("fp32", "int8"):
        platform = detect("onnxruntime", precision)
        _sane(profile(onnx_bytes, platform, **FAST), platform, 2)
    _sane(profile(module, detect(), example_input=x, **FAST), detect(), 2)  # exported on the fly


def test_int8_calibrates_on_onnxruntime_without_fixed_ranges(tiny, monkeypatch):
    """Older onnxruntime (no calibration_cache_path): one random batch calibrates instead."""
    quantization = pytest.importorskip("onnxruntime.quantization")
    real, seen = quantization.quantize_static, []

    def old_quantize_static(model_input, model_output, calibration_data_reader, **kw):
        seen.append(calibration_data_reader)
        return real(model_input, model_output, calibration_data_reader, **kw)

    monkeypatch.setattr(quantization, "quantize_static", old_quantize_static)
    platform = detect("onnxruntime", "int8")
    _sane(profile(tiny[2], platform, **FAST), platform, 2)
    assert seen and seen[0] is not None


def test_profile_torch_fp32_and_bf16(tiny):
    module, x, _ = tiny
    platform = detect("torch", "fp32", threads=1)
    _sane(profile(module, platform, example_input=x, **FAST), platform, 2)
    bf16 = detect("torch", "bf16")
    if bf16.unsupported_reason():
        with pytest.raises(UnsupportedPlatformError, match="bf16"):
            profile(module, bf16, example_input=x, **FAST)
    else:
        _sane(profile(module, bf16, example_input=x, **FAST), bf16, 2)
        assert next(module.parameters()).dtype == torch.float32  # the caller's module is untouched


def test_profile_unsupported_precision_is_one_clear_error(tiny):
    with pytest.raises(UnsupportedPlatformError, match="onnxruntime CPU execution provider"):
        profile(tiny[2], detect("onnxruntime", "bf16"))


def test_profile_bad_model_input(tiny, tmp_path):
    onnx = pytest.importorskip("onnx")
    with pytest.raises(ModelImportError, match="not a valid ONNX model"):
        profile(b"certainly not onnx")
    with pytest.raises(ModelImportError, match="does not exist"):
        profile(tmp_path / "missing.onnx")
    with pytest.raises(ArchrepError, match="profile takes an ONNX model"):
        profile(42)
    with pytest.raises(ArchrepError, match="example_input"):
        profile(tiny[0], detect("torch"))
    with pytest.raises(ArchrepError, match="runtime 'torch' profiles a torch.nn.Module"):
        profile(tiny[2], detect("torch"))
    h = onnx.helper
    kw = {"ir_version": 8, "opset_imports": [h.make_opsetid("", 17)]}
    bad = h.make_model(h.make_graph([h.make_node("NoSuchOp", ["x"], ["y"], name="weird")], "g",
                                     [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3])],
                                     [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 3])]), **kw)
    with pytest.raises(ModelImportError, match="onnxruntime cannot run the model"):
        profile(bad)
    symbolic = h.make_model(h.make_graph([h.make_node("Relu", ["x"], ["y"])], "g",
                                         [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 3])],
                                         [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 3])]), **kw)
    with pytest.raises(ModelImportError, match="pass batch=N"):
        profile(symbolic)
    assert profile(symbolic, batch=3, **FAST).batch == 3
    with pytest.raises(ArchrepError, match="repeats >= 3"):
        profile(tiny[2], repeats=1)


def test_noisy_rounds_are_measured_again():
    """A run whose times alternate 1 ms / 4 ms has IQR / median far above 10 %: all rounds are used;
    with a lax threshold one round is enough."""
    calls = []

    def run():
        calls.append(1)
        time.sleep(0.001 if len(calls) % 2 else 0.004)

    median, iqr, low, warm, rounds = profiler_module._time(run, 6, 1, 0.0, 0.1, 3)
    assert rounds == 3 and iqr / median > 0.1 and low <= median and warm == 1
    assert profiler_module._time(run, 6, 1, 0.0, 10.0, 3)[4] == 1


@needs_cuda
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_profile_torch_cuda(tiny, precision):
    platform = detect("torch", precision, device="cuda")
    _sane(profile(tiny[0], platform, example_input=tiny[1], **FAST), platform, 2)


@needs_cuda
def test_profile_onnxruntime_cuda(tiny):
    platform = detect("onnxruntime", "fp32", device="cuda")
    if platform.unsupported_reason():
        pytest.skip(platform.unsupported_reason())
    _sane(profile(tiny[2], platform, **FAST), platform, 2)


# ---------------------------------------------------------------------------- store
@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh, empty store URL: a SQLite file, or a new database on the test PostgreSQL server."""
    sa = pytest.importorskip("sqlalchemy")
    if request.param == "sqlite":
        yield str(tmp_path / "latency.db")
        return
    url = os.environ.get("ARCHREP_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("set ARCHREP_TEST_POSTGRES_URL to a PostgreSQL server (eval \"$(.ci/postgres.sh)\") "
                    "to run the PostgreSQL store tests")
    pytest.importorskip("psycopg")
    name = f"archrep_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(scope="module")
def graphs(tiny):
    """Two distinct tiny ArchGraphs."""
    from archrep.io import from_onnx, from_torch

    return [from_onnx(tiny[2]), from_torch(tiny[0], torch.zeros(1, 3, 8, 8))]


def _measurement(platform: Platform, batch: int = 1, median: float = 1.0) -> Measurement:
    return Measurement(median_ms=median, iqr_ms=0.1, min_ms=0.9 * median, repeats=20, warmup=5, rounds=1,
                       platform=platform.id, batch=batch, timestamp="2025-01-01T00:00:00+00:00")


PLATFORM = Platform("onnxruntime", "1.17.0", "cpu", "fp32", 1, cpu_vendor="intel", cpu_model="Xeon",
                    isa=("avx2",))


@pytest.mark.parametrize("upsert", [True, False], ids=["upsert", "lookup"])
def test_store_writes_are_idempotent_keep_first(store_url, graphs, upsert, monkeypatch):
    if not upsert:  # the path for dialects without ON CONFLICT
        monkeypatch.setattr(store_module, "_UPSERT_DIALECTS", ())
    with LatencyStore(store_url) as store:
        assert store.add(graphs[0], _measurement(PLATFORM), PLATFORM, family="tiny", config={"b": 1, "a": 2})
        assert not store.add(graphs[0], _measurement(PLATFORM, median=5.0), PLATFORM)
        assert store.counts() == {"graphs": 1, "platforms": 1, "measurements": 1}
        row, = store.measurements()
        assert row["median_ms"] == 1.0 and row["family"] == "tiny" and row["config"] == {"a": 2, "b": 1}
        assert store.add(graphs[0], _measurement(PLATFORM, median=5.0), PLATFORM, replace=True)
        assert store.measurements()[0]["median_ms"] == 5.0 and store.counts()["measurements"] == 1
        assert store.has(graphs[0].hash(), PLATFORM.id, 1) and not store.has(graphs[0].hash(), PLATFORM.id, 2)
        assert store.graph(graphs[0].hash()) == graphs[0]
        assert store.platforms() == {PLATFORM.id: PLATFORM}
    with LatencyStore(store_url) as store:  # reopened: same rows
        assert store.counts() == {"graphs": 1, "platforms": 1, "measurements": 1}


def test_store_transaction_rollback_leaves_no_partial_rows(store_url, graphs):
    with LatencyStore(store_url) as store:
        for exc in (RuntimeError, KeyboardInterrupt):
            with pytest.raises(exc):
                with store.transaction():
                    store.add(graphs[0], _measurement(PLATFORM), PLATFORM)
                    store.add_graph(graphs[1])
                    raise exc("killed")
            assert store.counts() == {"graphs": 0, "platforms": 0, "measurements": 0}
        with pytest.raises(ArchrepError, match="add the graph and the platform first"):
            store.add_measurement("no-such-graph", _measurement(PLATFORM))
        assert store.counts()["measurements"] == 0


def test_store_schema_version_is_checked(store_url):
    sa = pytest.importorskip("sqlalchemy")
    LatencyStore(store_url).close()
    engine = sa.create_engine(store_url if "://" in store_url else f"sqlite:///{store_url}")
    for value, message in (("99", "newer than this archrep reads"), ("abc", "unknown latency-store schema")):
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE archrep_meta SET value = :v WHERE key = 'schema_version'"), {"v": value})
        with pytest.raises(DataError, match=message):
            LatencyStore(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE archrep_meta"))
    with pytest.raises(DataError, match="not an archrep latency store"):
        LatencyStore(store_url)
    engine.dispose()


def test_store_export_import_round_trip(store_url, graphs, tmp_path):
    other = dataclasses.replace(PLATFORM, threads=2)
    with LatencyStore(store_url) as store:
        for i, g in enumerate(graphs):
            for p in (PLATFORM, other):
                store.add(g, _measurement(p, median=1.0 + i), p, family="tiny", config={"i": i})
        counts = store.export(tmp_path / "a.jsonl.gz")
        rows, platforms = store.measurements(), store.platforms()
    assert counts == {"graphs": 2, "platforms": 2, "measurements": 4}
    with LatencyStore(tmp_path / "copy.db") as copy:
        assert copy.import_(tmp_path / "a.jsonl.gz") == counts
        assert copy.import_(tmp_path / "a.jsonl.gz") == {"graphs": 0, "platforms": 0, "measurements": 0}
        assert copy.measurements() == rows and copy.platforms() == platforms
        assert copy.graph(graphs[1].hash()) == graphs[1]
        copy.export(tmp_path / "b.jsonl.gz")
        copy.export(tmp_path / "c.jsonl.xz")
        (tmp_path / "c.jsonl.xz").rename(tmp_path / "c-named-gz.jsonl.gz")  # read by its bytes, not its name
    assert (tmp_path / "c-named-gz.jsonl.gz").read_bytes().startswith(XZ_MAGIC)
    with LatencyStore(tmp_path / "from-xz.db") as from_xz:
        assert from_xz.import_(tmp_path / "c-named-gz.jsonl.gz") == counts

    def body(name):
        raw = (tmp_path / name).read_bytes()
        return (lzma.decompress(raw) if raw.startswith(XZ_MAGIC) else gzip.decompress(raw)).splitlines()[1:]
    assert body("a.jsonl.gz") == body("b.jsonl.gz") == body("c-named-gz.jsonl.gz")  # same store, same lines


def test_store_keeps_passes_of_one_key(store_url, graphs):
    with LatencyStore(store_url) as store:
        key = (graphs[0].hash(), PLATFORM.id, 1)
        assert store.passes(*key) == 0
        for median in (1.0, 3.0, 2.0):
            assert store.add(graphs[0], _measurement(PLATFORM, median=median), PLATFORM, family="tiny", new_pass=True)
        assert not store.add(graphs[0], _measurement(PLATFORM, median=9.0), PLATFORM)  # pass 0 is kept
        assert store.passes(*key) == 3 and store.counts()["measurements"] == 3
        assert [(r["pass_index"], r["median_ms"]) for r in store.measurements()] == [(0, 1.0), (1, 3.0), (2, 2.0)]
        assert store.measured_configs(PLATFORM.id, passes=3) == {("tiny", None)}
        assert store.measured_configs(PLATFORM.id, passes=4) == set()
        assert store.add(graphs[0], _measurement(PLATFORM, median=5.0), PLATFORM, replace=True)  # the only pass now
        assert [(r["pass_index"], r["median_ms"]) for r in store.measurements()] == [(0, 5.0)]
        with pytest.raises(ArchrepError, match="exclude each other"):
            store.add(graphs[0], _measurement(PLATFORM), PLATFORM, replace=True, new_pass=True)


def _v1_store(url: str, graph) -> None:
    """A store as archrep wrote it before passes (schema 1): one measurement per key."""
    sa = pytest.importorskip("sqlalchemy")
    engine = sa.create_engine(url if "://" in url else f"sqlite:///{url}")
    with engine.begin() as conn:
        for sql in ("CREATE TABLE archrep_meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)",
                    "CREATE TABLE graphs (graph_hash VARCHAR(64) PRIMARY KEY, family VARCHAR(64), config TEXT, "
                    "graph TEXT NOT NULL)",
                    "CREATE TABLE platforms (platform_id VARCHAR(128) PRIMARY KEY, descriptor TEXT NOT NULL)",
                    "CREATE TABLE measurements (graph_hash VARCHAR(64) REFERENCES graphs(graph_hash), "
                    "platform_id VARCHAR(128) REFERENCES platforms(platform_id), batch INTEGER, median_ms FLOAT "
                    "NOT NULL, iqr_ms FLOAT NOT NULL, min_ms FLOAT NOT NULL, repeats INTEGER NOT NULL, warmup "
                    "INTEGER NOT NULL, rounds INTEGER NOT NULL, measured_at VARCHAR(40) NOT NULL, archrep_version "
                    "VARCHAR(40) NOT NULL, PRIMARY KEY (graph_hash, platform_id, batch))"):
            conn.execute(sa.text(sql))
        conn.execute(sa.text("INSERT INTO archrep_meta VALUES ('schema_version', '1')"))
        conn.execute(sa.text("INSERT INTO graphs VALUES (:h, 'tiny', NULL, :g)"),
                     {"h": graph.hash(), "g": graph.to_json(sort_keys=True)})
        conn.execute(sa.text("INSERT INTO platforms VALUES (:p, :d)"), {"p": PLATFORM.id, "d": PLATFORM.to_json()})
        conn.execute(sa.text("INSERT INTO measurements VALUES (:h, :p, 1, 2.0, 0.1, 1.8, 20, 5, 1, 't', '0.1')"),
                     {"h": graph.hash(), "p": PLATFORM.id})
    engine.dispose()


def test_store_upgrades_a_version_1_store_in_place(store_url, graphs):
    _v1_store(store_url, graphs[0])
    with LatencyStore(store_url) as store:
        row, = store.measurements()
        assert row["pass_index"] == 0 and row["median_ms"] == 2.0 and row["family"] == "tiny"
        assert store.add(graphs[0], _measurement(PLATFORM, median=4.0), PLATFORM, new_pass=True)
        assert store.passes(graphs[0].hash(), PLATFORM.id, 1) == 2
    with LatencyStore(store_url) as store:  # reopened: upgraded once, nothing lost
        assert store.counts() == {"graphs": 1, "platforms": 1, "measurements": 2}


def test_version_1_export_files_read_as_one_pass(tmp_path, graphs):
    pytest.importorskip("sqlalchemy")
    with LatencyStore(tmp_path / "s.db") as store:
        store.add(graphs[0], _measurement(PLATFORM), PLATFORM, family="tiny")
        store.export(tmp_path / "v2.jsonl.gz")
    lines = [json.loads(line) for line in gzip.decompress((tmp_path / "v2.jsonl.gz").read_bytes()).splitlines()]
    lines[0]["version"] = 1
    for line in lines[1:]:
        line.pop("pass_index", None)
    (tmp_path / "v1.jsonl.gz").write_bytes(gzip.compress("".join(json.dumps(x) + "\n" for x in lines).encode()))
    with LatencyStore(tmp_path / "copy.db") as copy:
        assert copy.import_(tmp_path / "v1.jsonl.gz") == {"graphs": 1, "platforms": 1, "measurements": 1}
        assert copy.measurements()[0]["pass_index"] == 0


def test_store_import_refuses_bad_files(tmp_path):
    pytest.importorskip("sqlalchemy")
    (tmp_path / "bad.gz").write_bytes(gzip.compress(b'{"format": "something-else"}\n'))
    (tmp_path / "trunc.gz").write_bytes(gzip.compress(b"x" * 100)[:20])
    (tmp_path / "trunc.xz").write_bytes(lzma.compress(b"x" * 100)[:30])
    with LatencyStore(tmp_path / "s.db") as store:
        with pytest.raises(DataError, match="not an archrep latency export"):
            store.import_(tmp_path / "bad.gz")
        for name in ("trunc.gz", "trunc.xz"):
            with pytest.raises(DataError, match="truncated"):
                store.import_(tmp_path / name)


def test_store_bad_locations_and_missing_sqlalchemy(tmp_path, monkeypatch):
    pytest.importorskip("sqlalchemy")
    with pytest.raises(ArchrepError, match="does not exist"):
        LatencyStore(tmp_path / "no" / "such" / "dir.db")
    with pytest.raises(ArchrepError, match="cannot open latency store"):
        LatencyStore("nosuchdialect://host/db")
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    with pytest.raises(MissingDependencyError, match=r"archrep\[latency\]"):
        LatencyStore(tmp_path / "s.db")


# ---------------------------------------------------------------------------- resumable runs
def test_profile_jobs_resume_after_kill_without_duplicates(store_url, monkeypatch):
    pytest.importorskip("onnxruntime")
    platform = detect()
    real_profile = jobs_module.profile
    calls = []

    def killed_on_third(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed halfway")
        return real_profile(*args, **kw)

    with LatencyStore(store_url) as store:
        monkeypatch.setattr(jobs_module, "profile", killed_on_third)
        with pytest.raises(KeyboardInterrupt):
            profile_jobs(store, JOBS, platform, progress=False, **FAST)
        assert store.counts()["measurements"] == 2 and store.counts()["graphs"] == 2
        monkeypatch.setattr(jobs_module, "profile", real_profile)
        assert profile_jobs(store, JOBS, platform, progress=False, **FAST) == {platform.id: {"measured": 2, "skipped": 2}}
        assert profile_jobs(store, JOBS, platform, progress=False, **FAST) == {platform.id: {"measured": 0, "skipped": 4}}
        rows = store.measurements(platform_id=platform.id)
        assert len(rows) == 4 and {(r["family"], r["batch"]) for r in rows} == {
            ("nb201", 1), ("nb201", 2), ("resnet", 1), ("resnet", 2)}
        assert store.counts() == {"graphs": 4, "platforms": 1, "measurements": 4}


def test_profile_jobs_takes_passes_in_rounds_over_the_jobs(tmp_path, monkeypatch):
    """passes=2 measures every job once, then every job again; passes already stored count."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("sqlalchemy")
    platform, order = detect(), []
    real_profile = jobs_module.profile

    def logged(model, platform, example_input=None, **kw):
        order.append(tuple(example_input.shape))
        return real_profile(model, platform, example_input=example_input, **kw)

    monkeypatch.setattr(jobs_module, "profile", logged)
    with LatencyStore(tmp_path / "s.db") as store:
        profile_jobs(store, JOBS[:2], platform, progress=False, **FAST)
        assert profile_jobs(store, JOBS[:2], platform, passes=3, progress=False, **FAST) == {
            platform.id: {"measured": 4, "skipped": 2}}
        assert order[2:] == [(1, 3, 16, 16), (2, 3, 16, 16)] * 2  # round by round, not model by model
        assert [store.passes(r["graph_hash"], platform.id, r["batch"]) for r in store.measurements()][::3] == [3, 3]
        with pytest.raises(ArchrepError, match="passes >= 1"):
            profile_jobs(store, JOBS, platform, passes=0, progress=False)


def test_profile_jobs_measures_model_by_model_on_several_platforms(tmp_path, monkeypatch):
    """Each model is measured on every platform before the next one, so a run stopped halfway
    leaves the platforms with the same models; the rerun completes both."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("sqlalchemy")
    platforms = [detect(), detect("torch")]
    real_profile, calls = jobs_module.profile, []

    def killed_on_third(model, platform, **kw):
        calls.append(platform.id)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed halfway")
        return real_profile(model, platform, **kw)

    with LatencyStore(tmp_path / "s.db") as store:
        monkeypatch.setattr(jobs_module, "profile", killed_on_third)
        with pytest.raises(KeyboardInterrupt):
            profile_jobs(store, JOBS, platforms, progress=False, **FAST)
        assert calls == [platforms[0].id, platforms[1].id, platforms[0].id]
        assert [len(store.measurements(platform_id=p.id)) for p in platforms] == [1, 1]
        monkeypatch.setattr(jobs_module, "profile", real_profile)
        assert profile_jobs(store, JOBS, platforms, progress=False, **FAST) == {
            p.id: {"measured": 3, "skipped": 1} for p in platforms}
        assert store.counts() == {"graphs": 4, "platforms": 2, "measurements": 8}
        with pytest.raises(ArchrepError, match="at least one platform"):
            profile_jobs(store, JOBS, [], progress=False)


def test_profile_jobs_rejects_bad_jobs_and_unsupported_platforms(tmp_path):
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("onnxruntime")
    with LatencyStore(tmp_path / "s.db") as store:
        with pytest.raises(ArchrepError, match="a job is a"):
            profile_jobs(store, [("nb201",)], detect(), progress=False)
        with pytest.raises(UnsupportedPlatformError):
            profile_jobs(store, JOBS, detect("onnxruntime", "bf16"), progress=False)
        assert store.counts()["measurements"] == 0
