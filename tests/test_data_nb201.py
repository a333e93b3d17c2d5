"""Tests of the "nb201" dataset: the analog-nasbench code mapping (proved from data), its targets,
the official targets from the data folder, and the message when they are missing."""
from __future__ import annotations

import csv
import itertools
import subprocess
import sys

import numpy as np
import pytest

from archrep import data
from archrep.data import nb201
from archrep.errors import DataError, UnknownNameError
from archrep.spaces.nb201 import NB201Space, arch_to_graph, arch_to_string, string_to_arch
from archrep.spaces.nb201_cost import nb201_cost

NASLIB_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
#: the best cell on CIFAR-10 in the official data (NB201 index 6111, 94.373 %)
HEADER = ("CIFAR10TestAccuracy200Epochs,CIFAR100TestAccuracy200Epochs,ImageNetTestAccuracy200Epochs,"
          "ArchitectureString\n")
BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def analog():
    rec = nb201.read_analog()
    codes = np.array(list(rec), dtype=np.int64)
    base = np.array([r.baseline_accuracy for r in rec.values()])
    return rec, codes, base


@pytest.fixture(scope="module")
def official(shared_data_dir):
    """Official CIFAR-10 accuracy in NB201Space.enumerate() order, read independently of the loader."""
    by_arch = {}
    with open(shared_data_dir / "nb201" / "nats_bench_test_acc.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            by_arch[row["ArchitectureString"]] = row
    return by_arch, np.array([float(by_arch[arch_to_string(a)]["CIFAR10TestAccuracy200Epochs"])
                              for a in NB201Space().enumerate()])


@pytest.fixture(scope="module")
def ds_plain(tmp_path_factory):
    """The dataset built with a data folder that lacks the official CSV."""
    return data.load("nb201", data_dir=tmp_path_factory.mktemp("empty_data"))


@pytest.fixture(scope="module")
def ds_full(shared_data_dir):
    return data.load("nb201", data_dir=shared_data_dir)


# ----------------------------------------------------------------------------- the raw file
def test_data_file_is_found_without_importing_the_package():
    code = ("import sys; from archrep.data import nb201; p = nb201.analog_data_path(); "
            "assert p.name == 'data.anb' and p.is_file(); "
            "assert 'analognasbench' not in sys.modules and 'pandas' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_code_tuple_appears_exactly_once(analog):
    rec, codes, _ = analog
    assert len(rec) == 15625
    assert set(rec) == set(itertools.product(range(5), repeat=6))
    assert all(r.architecture == k for k, r in rec.items())


# ----------------------------------------------------------------------------- the mapping proof
def test_mapping_constants_are_the_established_ones():
    assert nb201.ANALOG_CODE_OPS == ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
    assert nb201.ANALOG_TUPLE_EDGES == NASLIB_EDGES


def test_chance_cells_are_exactly_the_disconnected_cells(analog):
    """With the mapping, the tuples at 10 % are the cells with no input->output path (computed
    here with the space's own graph pruning, independently of the loader's path check)."""
    rec, _, _ = analog
    at_chance = set()
    for codes, r in rec.items():
        arch = tuple(nb201.ANALOG_CODE_OPS[codes[NASLIB_EDGES.index(e)]]
                     for e in ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)))
        if abs(r.baseline_accuracy - 10.0) <= 0.5:
            at_chance.add(arch)
    disconnected = {a for a in NB201Space().enumerate()
                    if arch_to_graph(a, "prune_none").attrs.get("disconnected")}
    assert len(disconnected) == 341
    assert at_chance == disconnected
    # code 0 is not 'none': the all-zero tuple is the all-skip cell, well above chance
    assert rec[(0,) * 6].baseline_accuracy == pytest.approx(60.7836)
    assert rec[(1,) * 6].baseline_accuracy == pytest.approx(10.0)


def test_chance_evidence_alone_fixes_none_and_the_edge_order(analog):
    _, codes, base = analog
    rows = nb201.score_analog_mappings(codes, base)
    assert len(rows) == 2 * 120 and all(r["bijective"] for r in rows)
    consistent = [r for r in rows if r["chance_mismatch"] == 0]
    # exactly the 4! orders of the other codes, all with code 1 = 'none' and NASLib's edge order
    assert len(consistent) == 24
    assert {r["code_ops"][1] for r in consistent} == {"none"}
    assert {r["edge_order"] for r in consistent} == {"naslib"}
    assert min(r["chance_mismatch"] for r in rows if r["edge_order"] == "arch-string") > 100


def test_mapping_is_the_one_that_agrees_with_the_official_accuracies(analog, official):
    _, codes, base = analog
    rows = nb201.score_analog_mappings(codes, base, official[1])
    best, runner_up = rows[0], rows[1]
    assert best["code_ops"] == nb201.ANALOG_CODE_OPS and best["edges"] == NASLIB_EDGES
    assert best["chance_mismatch"] == 0 and best["bijective"]
    assert best["spearman"] > 0.99 and best["mean_abs_diff"] < 0.5
    assert max(r["spearman"] for r in rows[1:]) < 0.9 and runner_up["mean_abs_diff"] > 2.0


@pytest.mark.slow
def test_full_search_over_all_edge_orders_and_op_orders(analog, official):
    """All 720 edge orders x 120 op orders: the chance check leaves NASLib's order and its mirror
    image (node i <-> 3 - i); the official accuracies then pick NASLib's with the mapping."""
    _, codes, base = analog
    rows = nb201.score_analog_mappings(codes, base, edge_orders=nb201.all_edge_orders())
    survivors = {r["edge_order"]: r["edges"] for r in rows if r["chance_mismatch"] == 0}
    mirror = tuple((3 - v, 3 - u) for u, v in NASLIB_EDGES)
    assert set(survivors.values()) == {NASLIB_EDGES, mirror}
    scored = nb201.score_analog_mappings(codes, base, official[1], edge_orders=survivors)
    assert scored[0]["edges"] == NASLIB_EDGES and scored[0]["code_ops"] == nb201.ANALOG_CODE_OPS
    assert scored[0]["spearman"] - scored[1]["spearman"] > 0.01


# ----------------------------------------------------------------------------- the dataset
def test_dataset_layout_and_default_target(ds_plain):
    ds = ds_plain
    space = NB201Space()
    assert len(ds) == 15625 and ds.space == "nb201" and ds.max_nodes == 8
    assert list(ds.keys[:2]) == [arch_to_string(a) for a in itertools.islice(space.enumerate(), 2)]
    assert ds.op_vocab == NB201Space.op_vocab
    assert ds.default_target == "baseline_accuracy"
    i = ds.index_of(ALL_SKIP)
    assert ds.graph(i) == space.to_graph(string_to_arch(ALL_SKIP))
    # hand-checked values from analog-nasbench's records (code tuple in NASLib order)
    assert ds.target()[i] == pytest.approx(60.7836)                         # (0,0,0,0,0,0)
    assert ds.target("ptq_accuracy")[i] == pytest.approx(59.2256)
    assert ds.target("qat_accuracy")[i] == pytest.approx(37.5616)
    assert ds.target("analog_accuracy")[i] == pytest.approx(57.49)
    assert ds.target("analog_drift_60s")[i] == pytest.approx(87.4944)
    assert ds.target("analog_drift_30d")[i] == pytest.approx(46.86)
    # (0,0,0,0,0,1): the last tuple position is edge 2->3, code 1 is 'none'
    j = ds.index_of("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|none~2|")
    assert ds.target()[j] == pytest.approx(84.0836)
    # (0,0,0,0,0,2): code 2 is 'nor_conv_3x3'
    k = ds.index_of("|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_3x3~2|")
    assert ds.target()[k] == pytest.approx(88.6748)
    assert ds.target()[ds.index_of(ALL_NONE)] == pytest.approx(10.0)
    for t in ("baseline_accuracy", "ptq_accuracy", "qat_accuracy", "noisy_accuracy", "analog_accuracy",
              "analog_drift_60s", "analog_drift_1h", "analog_drift_1d", "analog_drift_30d", "params", "flops"):
        assert not np.isnan(ds.target(t)).any() and ds.target_info[t]


def test_params_and_flops_follow_the_keys(ds_plain):
    ds = ds_plain
    for key in (ALL_NONE, ALL_SKIP, BEST_C10):
        cost = nb201_cost(key)
        i = ds.index_of(key)
        assert ds.target("params")[i] == pytest.approx(cost["params"])
        assert ds.target("flops")[i] == pytest.approx(cost["flops"])
    assert ds.target("params")[ds.index_of(BEST_C10)] > ds.target("params")[ds.index_of(ALL_SKIP)]


def test_missing_official_targets_say_which_file_to_get(ds_plain):
    assert "cifar10" not in ds_plain.targets
    with pytest.raises(UnknownNameError) as err:
        ds_plain.target("cifar10")
    msg = str(err.value)
    assert "nb201/nats_bench_test_acc.csv" in msg and "ARCHREP_DATA_DIR" in msg and "hp=200" in msg
    assert set(ds_plain.meta["missing_targets"]) == {"cifar10", "cifar100", "imagenet16"}


def test_official_targets_join_by_arch_string(ds_full, official):
    by_arch, acc = official
    ds = ds_full
    assert "missing_targets" not in ds.meta
    i = ds.index_of(BEST_C10)
    assert ds.target("cifar10")[i] == pytest.approx(94.37333, abs=1e-4)
    assert ds.target("cifar10").max() == pytest.approx(ds.target("cifar10")[i])  # the maximum (shared)
    row = by_arch[BEST_C10]
    assert ds.target("cifar100")[i] == pytest.approx(float(row["CIFAR100TestAccuracy200Epochs"]))
    assert ds.target("imagenet16")[i] == pytest.approx(float(row["ImageNetTestAccuracy200Epochs"]))
    np.testing.assert_allclose(ds.target("cifar10"), acc)
    # the analog baseline and the official accuracy agree closely on every cell
    assert np.mean(np.abs(ds.target() - ds.target("cifar10"))) < 0.5


def test_official_csv_errors_name_the_file(tmp_path):
    bad = tmp_path / "nb201.csv"
    bad.write_text(f"CIFAR10TestAccuracy200Epochs,ArchitectureString\n90,{ALL_NONE}\n")
    with pytest.raises(DataError, match="missing column.*CIFAR100TestAccuracy200Epochs"):
        nb201.read_official_csv(bad)
    bad.write_text(HEADER + f"90,70,x,{ALL_NONE}\n")
    with pytest.raises(DataError, match="line 2"):
        nb201.read_official_csv(bad)
    bad.write_text(HEADER + f"90,70,40,{ALL_NONE}\n91,71,41,{ALL_NONE}\n")
    with pytest.raises(DataError, match="appears twice"):
        nb201.read_official_csv(bad)
    bad.write_text(HEADER + "90,70,40,|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
    with pytest.raises(DataError, match=str(bad.name)):
        nb201.read_official_csv(bad)


def test_incomplete_official_csv_is_refused(tmp_path):
    (tmp_path / "nb201").mkdir()
    (tmp_path / "nb201" / "nats_bench_test_acc.csv").write_text(HEADER + f"90,70,40,{ALL_NONE}\n")
    with pytest.raises(DataError, match="15624 of the 15625 NB201 cells are missing"):
        nb201.build(tmp_path)


def test_official_index_order_reads_the_row_order(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(HEADER + f"90,70,40,{BEST_C10}\n10,1,1,{ALL_NONE}\n")
    assert nb201.official_index_order(path) == [BEST_C10, ALL_NONE]
