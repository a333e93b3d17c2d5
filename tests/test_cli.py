"""The ``archrep`` command line end to end on NB201's packaged data: data list/info, train,
eval, predict, and the one-line errors (exit status 2) for bad input."""
from __future__ import annotations

import json

import pytest
import torch

from archrep import cli
from archrep.spaces.nb201 import NB201Space

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_explains_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for command in ("demo", "data", "train", "pretrain", "eval", "predict"):
        assert command in text


def test_data_list_and_pattern(capsys):
    code, out, _ = run(capsys, "data", "list")
    assert code == 0 and "nb201" in out and "nbgraph-cora" in out
    code, out, _ = run(capsys, "data", "list", "nbgraph-*")
    assert code == 0 and "nbgraph-cora" in out and "nb201 " not in out


def test_models_list_and_info(capsys):
    code, out, _ = run(capsys, "models", "list", "kernel-*")
    assert code == 0 and "kernel-additive" in out and "kernel-gbdt" in out and "gin " not in out
    code, out, _ = run(capsys, "models", "info", "ledg")
    assert code == 0 and "random_lm" in out and '{"lm_init": "random"}' in out and "seed" in out
    code, out, _ = run(capsys, "models", "info", "gin", "--json")
    info = json.loads(out)
    assert code == 0 and info["hyperparameters"]["seed"] == 0 and "fgp" in info["variants"]
    code, _, err = run(capsys, "models", "info", "gim")
    assert code == 2 and "Did you mean 'gin'" in err
    code, _, err = run(capsys, "models", "list", "zz*")
    assert code == 2 and "no predictor matches" in err


def test_data_info_json(capsys):
    code, out, _ = run(capsys, "data", "info", "nb201", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["archs"] == 15625 and "baseline_accuracy" in info["targets"]


def test_unknown_dataset_lists_valid_names(capsys):
    code, _, err = run(capsys, "data", "info", "nb202")
    assert code == 2
    assert "nb202" in err and "nb201" in err and err.count("\n") == 1


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny GIN trained through the CLI: its output folder."""
    out = tmp_path_factory.mktemp("train")
    code = cli.main(["train", "--data", "nb201", "--target", "baseline_accuracy", "--model", "gin",
                     "--train-size", "60", "--epochs", "2", "--seeds", "2", "--out", str(out),
                     "--set", "hidden=8", "--no-progress"])
    assert code == 0
    return out


def test_train_writes_records_and_checkpoints(trained):
    records = json.loads((trained / "results.json").read_text())
    assert len(records) == 1
    rec = records[0]
    assert rec["task"] == "accuracy_prediction" and rec["method"] == "gin" and rec["seeds"] == [0, 1]
    assert rec["train_size"] == 60 and -1 <= rec["kendall_tau_mean"] <= 1
    assert (trained / "seed_0" / "config.json").exists() and (trained / "seed_1").is_dir()


def test_eval_scores_a_checkpoint(trained, tmp_path, capsys):
    out = tmp_path / "scores.json"
    code, text, _ = run(capsys, "eval", "--checkpoint", str(trained / "seed_0"), "--data", "nb201", "--out", str(out))
    assert code == 0 and "kendall_tau" in text
    scores = json.loads(out.read_text())
    assert scores["archs"] == 15625 and scores["target"] == "baseline_accuracy"


def test_predict_arch_strings_and_json_graphs(trained, tmp_path, capsys):
    graph = NB201Space().to_graph(NB201Space().parse(ARCH))
    path = tmp_path / "g.json"
    path.write_text(json.dumps(graph.to_dict()))
    code, out, _ = run(capsys, "predict", "--checkpoint", str(trained / "seed_0"), "--json", ARCH, str(path))
    assert code == 0
    rows = json.loads(out)
    assert [r["architecture"] for r in rows] == [ARCH, str(path)]
    # the same cell given as an arch string and as its graph gets the same prediction
    assert rows[0]["prediction"] == pytest.approx(rows[1]["prediction"], rel=1e-5)


@pytest.mark.parametrize("bad, fragment", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|", "found 2"),
    ("|conv_9x9~0|+|nor_conv_3x3~0|skip_connect~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_3x3~2|", "conv_9x9"),
    ('{"nodes": [', "JSON"),
])
def test_predict_malformed_input_is_one_clear_error(trained, capsys, bad, fragment):
    code, _, err = run(capsys, "predict", "--checkpoint", str(trained / "seed_0"), bad)
    assert code == 2
    assert err.startswith("archrep: error:") and err.count("\n") == 1 and fragment in err


def test_train_errors_name_the_fix(capsys):
    code, _, err = run(capsys, "train", "--data", "nb201", "--model", "gin2", "--train-size", "10")
    assert code == 2 and "gin" in err and "mlp" in err
    code, _, err = run(capsys, "train", "--data", "nb201", "--model", "params", "--train-size", "10", "--epochs", "3")
    assert code == 2 and "--epochs" in err
    code, _, err = run(capsys, "train", "--data", "nb201", "--model", "gin", "--train-size", "10", "--target", "cifar11")
    assert code == 2 and "baseline_accuracy" in err
    code, _, err = run(capsys, "train", "--data", "nb201", "--model", "gin", "--train-size", "10", "--seeds", "x")
    assert code == 2 and "--seeds" in err
    if not torch.cuda.is_available():
        code, _, err = run(capsys, "train", "--data", "nb201", "--model", "gin", "--train-size", "10", "--device", "cuda")
        assert code == 2 and "no CUDA GPU" in err


def test_unknown_variant_lists_the_valid_ones(capsys):
    code, _, err = run(capsys, "train", "--data", "nb201", "--model", "gin", "--train-size", "10", "--variant", "nope")
    assert code == 2 and "nope" in err and "default" in err
