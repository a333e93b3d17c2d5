"""benchmarks/profiling_cost.py on one small zoo model: the record splits the wall clock into the
model's own runs and the overhead, per family and for all."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_script", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_profiling_cost_records(tmp_path, monkeypatch):
    bench = _script("profiling_cost")
    assert bench.main(["--per-family", "1", "--families", "nb201", "--platforms", "onnxruntime:fp32:1",
                       "--results", str(tmp_path)]) == 0
    recs = json.loads((tmp_path / "profiling_cost.json").read_text())
    assert {r["family"] for r in recs} == {"nb201", "all"}
    for r in recs:
        assert r["task"] == "profiling_cost" and r["n_models"] == 1 and r["seeds"] == [1]
        assert r["wall_seconds_mean"] > 0 and r["median_ms_mean"] > 0 and 1 <= r["rounds_mean"] <= 3
        assert r["overhead_seconds_mean"] < r["wall_seconds_mean"]
        assert 0.0 <= r["within_goal_fraction"] <= 1.0
    render = _script("render_readme")
    monkeypatch.setattr(render, "RESULTS", tmp_path)
    assert render.profiling_cost_table().count("| `ort-cpu-fp32-t1@") == 1
    with pytest.raises(Exception, match="RUNTIME:PRECISION:THREADS"):
        bench.main(["--platforms", "onnxruntime", "--results", str(tmp_path)])
