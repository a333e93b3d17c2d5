"""benchmarks/latency_retest.py on one tiny zoo model measured on this machine: the re-measurement
is compared with the stored value (between sessions) and with itself (within the session), for the
median and for the fastest run; an export from another machine is one clear error."""
from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("sqlalchemy")
pytest.importorskip("torch")

from archrep.errors import ArchrepError  # noqa: E402
from archrep.io import export_onnx, from_onnx  # noqa: E402
from archrep.latency import LatencyStore, detect, profile  # noqa: E402
from archrep.zoo import families  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"arch": "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|",
          "cells": 1, "resolution": 16}


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_script", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """An export with one nb201 model measured here (stored 10x slower than it runs, as if measured
    on a loaded machine) and the same graph on a platform of another machine."""
    folder = tmp_path_factory.mktemp("retest")
    fam = families.get("nb201")
    full = fam.config(CONFIG)
    onnx_bytes = export_onnx(fam.build(full), fam.example_input(full))
    graph, here = from_onnx(onnx_bytes), detect()
    m = profile(onnx_bytes, here, repeats=5)
    slow = dataclasses.replace(m, median_ms=10 * m.median_ms, min_ms=10 * m.min_ms)
    other = dataclasses.replace(here, cpu_model="Other CPU", cpu_family=1)
    with LatencyStore(folder / "zoo.db") as store:
        store.add(graph, slow, here, family="nb201", config=full)
        store.add(graph, dataclasses.replace(m, platform=other.id), other, family="nb201", config=full)
        store.export(folder / "zoo.jsonl.xz")
    return folder / "zoo.jsonl.xz", here, other


def test_retest_compares_with_the_store_and_within_the_session(export, tmp_path):
    bench = _script("latency_retest")
    path, here, _ = export
    assert bench.main(["--export", str(path), "--platforms", "onnxruntime:fp32:1", "--families", "nb201",
                       "--per-family", "3", "--rounds", "2", "--results", str(tmp_path)]) == 0
    recs = json.loads((tmp_path / "latency_retest.json").read_text())
    cells = {(r["protocol"], r["variant"], r["family"]): r for r in recs}
    assert set(cells) == {(p, v, f) for p in ("between-session", "within-session") for v in ("median", "min")
                          for f in ("nb201", "all")}
    for r in recs:
        assert r["task"] == "latency_retest" and r["setting"] == here.id and r["n_models"] == 1
        assert r["runs"] == (2 if r["protocol"] == "between-session" else 1)
    # stored 10x slower: every round is about 90 % below it, which a noisy machine cannot undo
    stored = cells["between-session", "median", "all"]
    assert stored["drift_mean"] < 0.3 and stored["mape_mean"] > 0.7 and stored["acc10_mean"] == 0.0
    assert stored["hours_since_stored"] >= 0
    assert cells["within-session", "median", "all"]["mape_mean"] < 0.7
    render = _script("render_readme")
    render.RESULTS = tmp_path
    table = render.latency_retest_table()
    assert table.count(f"| `{here.id}` |") == 2 and "| median |" in table and "| min |" in table


def test_retest_needs_this_machines_measurements(export, tmp_path):
    path, _, other = export
    bench = _script("latency_retest")
    with pytest.raises(ArchrepError, match="holds no measurement on .*runs on the machine that measured"):
        bench.main(["--export", str(path), "--platforms", "onnxruntime:fp32:2", "--results", str(tmp_path)])
    assert not (tmp_path / "latency_retest.json").exists()
