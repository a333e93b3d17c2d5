"""The shared name registry and the results-record writer."""
import json
import os

import pytest

from archrep.errors import UnknownNameError
from archrep.registry import Registry
from archrep.results import make_record, mean_std, read_records, write_records


def test_registry_lookup_pattern_and_unknown_name():
    reg = Registry("widget")

    @reg.register("gin")
    def gin():
        return "gin"

    reg.add("gatedgcn", lambda: "gatedgcn")
    assert reg.get("gin")() == "gin"
    assert reg.names("*gcn") == ["gatedgcn"]
    assert "gin" in reg and len(reg) == 2
    with pytest.raises(UnknownNameError) as exc:
        reg.get("gni")
    msg = str(exc.value)
    assert "unknown widget 'gni'" in msg and "Did you mean 'gin'" in msg and "gatedgcn, gin" in msg
    with pytest.raises(ValueError):
        reg.add("gin", lambda: None)


def test_mean_std_and_record_fields():
    assert mean_std([1.0, 3.0], "kendall_tau") == {"kendall_tau_mean": 2.0, "kendall_tau_std": 1.0}
    rec = make_record("accuracy_prediction", dataset="nb201", method="gin")
    for key in ("task", "archrep_version", "git_commit", "machine"):
        assert rec[key]


def test_write_records_merges_cells_atomically(tmp_path):
    path = tmp_path / "r.json"
    a = {"task": "t", "dataset": "d", "method": "gin", "train_size": 10, "kendall_tau_mean": 0.1}
    b = {**a, "method": "mlp"}
    write_records(path, [a, b])
    write_records(path, [{**a, "kendall_tau_mean": 0.5}])
    recs = json.loads(path.read_text())
    assert len(recs) == 2
    assert {r["method"]: r["kendall_tau_mean"] for r in recs} == {"gin": 0.5, "mlp": 0.1}
    assert not list(tmp_path.glob(".*tmp"))


def test_write_records_drops_superseded_cells(tmp_path):
    path = tmp_path / "r.json"
    write_records(path, [{"task": "t", "method": "a", "target": "none"}, {"task": "t", "method": "b"}])
    out = write_records(path, [{"task": "t", "method": "a", "target": "real"}],
                        superseded=lambda r: r.get("target") == "none")
    assert sorted((r["method"], r.get("target")) for r in out) == [("a", "real"), ("b", None)]
    assert read_records(path) == out


def test_concurrent_writers_keep_every_record(tmp_path):
    """Several processes merging into one results file at once lose nothing (the file is locked)."""
    import multiprocessing

    path = tmp_path / "r.json"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(str(path), w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    recs = read_records(path)
    assert sorted((r["method"], r["train_size"]) for r in recs) == sorted((f"m{w}", i) for w in range(3) for i in range(15))


def _write_many(path: str, worker: int) -> None:
    for i in range(15):
        write_records(path, [{"task": "t", "method": f"m{worker}", "train_size": i}])


def test_append_json_line_writes_into_a_file_replaced_during_the_run(tmp_path):
    from archrep.results import append_json_line

    path = tmp_path / "sub" / "lines.jsonl"
    append_json_line(path, {"n": 1})
    replacement = tmp_path / "checked-out.jsonl"
    replacement.write_text('{"n": 0}\n')
    os.replace(replacement, path)  # what a git checkout or stash does to a tracked file
    append_json_line(path, {"n": 2})
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [0, 2]


def test_records_of_a_smaller_code_lm_are_their_own_cell(tmp_path):
    path = tmp_path / "generation.json"
    full = make_record("generation", space="nb201", train_size=100, method="arch-llm", variant="t5", temperature=1.0)
    write_records(path, [full])
    write_records(path, [{**full, "lm_train_size": 10}])
    assert sorted(str(r.get("lm_train_size")) for r in read_records(path)) == ["10", "None"]


def test_records_of_another_encoder_configuration_are_their_own_cell(tmp_path):
    path = tmp_path / "pretraining.json"
    rec = make_record("pretraining", dataset="nb201", train_size=390, method="gin", variant="none",
                      model_variant="default")
    write_records(path, [rec])
    write_records(path, [{**rec, "model_variant": "fgp"}])
    write_records(path, [{**rec, "model_variant": "fgp", "pretrain_epochs": 200}])  # pre-trained longer
    write_records(path, [{**rec, "kendall_tau_mean": 0.5}])  # the same cell again: replaced
    assert sorted((r["model_variant"], r.get("pretrain_epochs") or 0, r.get("kendall_tau_mean"))
                  for r in read_records(path)) == [("default", 0, 0.5), ("fgp", 0, None), ("fgp", 200, None)]


def test_zoo_records_at_another_cap_per_family_are_their_own_cell(tmp_path):
    # a leave-family-out record has no train_size of its own: its cap is what tells two runs apart
    path = tmp_path / "latency_prediction.json"
    rec = make_record("latency_prediction", dataset="zoo-latency", protocol="leave-family-out", method="gin",
                      variant="default", family="all", train_size=None, train_per_family=100)
    write_records(path, [rec])
    write_records(path, [{**rec, "train_per_family": 0}])
    assert sorted(r["train_per_family"] for r in read_records(path)) == [0, 100]
