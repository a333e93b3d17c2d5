"""Tests of the processed-dataset cache behind ``archrep.data.load``: round trip, corruption,
speed of a warm load, unknown names, and the fingerprint of the raw inputs."""
from __future__ import annotations

import dataclasses
import itertools
import json
import time

import numpy as np
import pytest

from archrep import data
from archrep.data import DATASETS, macro
from archrep.errors import UnknownNameError


def _write_macro(folder, shift: float = 0.0, pad: str = ""):
    """A complete NAS-Bench-Macro file whose accuracies depend on ``shift``."""
    recs = {}
    for digits in itertools.product("012", repeat=8):
        key = "".join(digits)
        acc = 70.0 + key.count("2") + shift
        recs[key] = {"test_acc": [acc] * 3, "mean_acc": acc, "std": 0.0, "params": 1000, "flops": 2000}
    path = folder / macro.MACRO_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recs) + pad)
    return path


@pytest.fixture
def counted(monkeypatch):
    """The "nas-bench-macro" spec with a builder that counts its calls."""
    calls = []
    spec = DATASETS.get("nas-bench-macro")

    def build(data_dir):
        calls.append(data_dir)
        return spec.build(data_dir)

    monkeypatch.setitem(DATASETS._items, "nas-bench-macro", dataclasses.replace(spec, build=build))
    return calls


def _same(a, b):
    assert a.name == b.name and a.space == b.space and a.default_target == b.default_target
    assert list(a.keys) == list(b.keys) and a.op_vocab == b.op_vocab
    np.testing.assert_array_equal(a.ops, b.ops)
    np.testing.assert_array_equal(a.adj, b.adj)
    assert a.target_names == b.target_names and a.target_info == b.target_info and a.meta == b.meta
    for t in a.target_names:
        np.testing.assert_array_equal(a.targets[t], b.targets[t])


def test_round_trip_builds_once(tmp_path, counted):
    _write_macro(tmp_path)
    first = data.load("nas-bench-macro", data_dir=tmp_path)
    second = data.load("nas-bench-macro", data_dir=tmp_path)
    assert len(counted) == 1
    _same(first, second)
    assert second.target()[second.index_of("22222222")] == 78.0
    data.load("nas-bench-macro", data_dir=tmp_path, refresh=True)
    assert len(counted) == 2


def test_corrupt_cache_is_rebuilt(tmp_path, counted):
    _write_macro(tmp_path)
    good = data.load("nas-bench-macro", data_dir=tmp_path)
    path = data.cache_path("nas-bench-macro", tmp_path)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    again = data.load("nas-bench-macro", data_dir=tmp_path)
    assert len(counted) == 2  # the corrupt copy was not used
    _same(good, again)
    data.load("nas-bench-macro", data_dir=tmp_path)
    assert len(counted) == 2  # and the rewritten copy is valid


def test_fingerprint_follows_the_raw_file(tmp_path, counted):
    raw = _write_macro(tmp_path)
    before = data.cache_path("nas-bench-macro", tmp_path)
    assert data.load("nas-bench-macro", data_dir=tmp_path).target()[0] == 70.0
    _write_macro(tmp_path, shift=5.0, pad=" ")  # new content (and size)
    after = data.cache_path("nas-bench-macro", tmp_path)
    assert after != before and raw.exists()
    assert data.load("nas-bench-macro", data_dir=tmp_path).target()[0] == 75.0
    assert len(counted) == 2


def test_nb201_fingerprint_names_the_analog_file(tmp_path):
    spec = DATASETS.get("nb201")
    files = spec.inputs(tmp_path)
    assert files[0].name == "data.anb" and files[0].is_file()
    assert files[1] == tmp_path / "nb201" / "nats_bench_test_acc.csv"
    assert spec.inputs(None) == files[:1]


def test_warm_load_is_fast(tmp_path):
    t0 = time.perf_counter()
    cold = data.load("nb201", data_dir=tmp_path, refresh=True)
    t1 = time.perf_counter()
    warm = data.load("nb201", data_dir=tmp_path)
    t2 = time.perf_counter()
    _same(cold, warm)
    assert t2 - t1 < 1.0 and t2 - t1 < (t1 - t0)


def test_unknown_dataset_lists_valid_ones():
    with pytest.raises(UnknownNameError) as err:
        data.load("nb2O1")
    msg = str(err.value)
    assert "nb201" in msg and "nas-bench-macro" in msg and "Did you mean 'nb201'" in msg
