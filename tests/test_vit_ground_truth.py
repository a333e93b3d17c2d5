"""The ViT ground truth: the training recipe, the JSONL file and its dataset, the script that writes it."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from archrep import data, nets
from archrep.data import vit_ground_truth as gt
from archrep.errors import ArchrepError, DataError
from archrep.train.image_classification import ImageRecipe, recipe_data, train_and_test

TINY = dict(train_images=40, test_images=20, epochs=1, batch_size=16, warmup_steps=1)
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "vit_ground_truth.py"


def _script():
    spec = importlib.util.spec_from_file_location("vit_ground_truth_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_recipe_checks_and_digest():
    assert ImageRecipe().digest() == ImageRecipe().digest() != ImageRecipe(epochs=3).digest()
    assert ImageRecipe(train_images=100, batch_size=64, epochs=2).steps == 4
    for bad in ({"train_images": 45}, {"epochs": 0}, {"dataset": "cifar10"}):
        with pytest.raises(ArchrepError):
            ImageRecipe(**bad)


def test_training_is_seeded_and_balanced(fake_fashion):
    fake_fashion(60, "train")
    fake_fashion(30, "test")
    r = ImageRecipe(**TINY)
    d = recipe_data(r)
    assert d.x_train.shape == (40, 3, 32, 32) and np.bincount(d.y_train.numpy()).tolist() == [4] * 10
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        runs.append(train_and_test(nets.vit_network("e64|h2,2,2,2|r2,2,2,2", "vit-tiny"), r, d, seed=0))
    assert runs[0]["test_accuracy"] == runs[1]["test_accuracy"] and runs[0]["train_loss"] == runs[1]["train_loss"]
    assert 0 <= runs[0]["test_accuracy"] <= 100 and runs[0]["steps"] == 3
    with pytest.raises(ArchrepError, match="class"):
        recipe_data(ImageRecipe(**{**TINY, "train_images": 100}))


def test_script_appends_resumes_and_refuses_another_recipe(fake_fashion, tmp_path, monkeypatch, capsys):
    fake_fashion(60, "train")
    fake_fashion(30, "test")
    monkeypatch.setattr(gt, "FILES_DIR", tmp_path / "files")
    script = _script()
    args = ["--n", "2", "--train-images", "40", "--test-images", "20", "--epochs", "1", "--batch-size", "16"]
    assert script.main(args) == 0
    out = gt.ground_truth_path("vit-tiny-fashion")
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 2 and {"key", "seed", "recipe_digest", "test_accuracy", "params"} <= set(lines[0])
    assert script.main(args[:1] + ["3"] + args[2:]) == 0
    lines3 = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines3) == 3 and lines3[:2] == lines  # the first two were kept, one was added
    with pytest.raises(SystemExit, match="recipe"):
        script.main(["--n", "3", "--epochs", "2"])
    ds = data.load("vit-tiny-fashion", refresh=True)
    assert len(ds) == 3 and ds.space == "vit-tiny"
    assert np.allclose(ds.target("test_accuracy"), [x["test_accuracy"] for x in lines3])
    assert np.isnan(ds.target("test_accuracy_std")).all()  # one seed each
    assert ds.meta["recipe_digest"] == lines3[0]["recipe_digest"]


def test_bad_files_name_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(gt, "FILES_DIR", tmp_path)
    path = gt.ground_truth_path("vit-tiny-fashion")
    with pytest.raises(DataError, match="no trained networks yet.*vit_ground_truth.py"):
        gt.build_named("vit-tiny-fashion")
    good = {"space": "vit-tiny", "key": "e64|h2,2,2,2|r2,2,2,2", "seed": 0, "recipe_digest": "a",
            "test_accuracy": 50.0, "train_loss": 1.0, "params": 1}
    path.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(DataError, match="line 2"):
        gt.read_lines(path, "vit-tiny")
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "recipe_digest": "b"}) + "\n")
    with pytest.raises(DataError, match="mixes training recipes"):
        gt.read_lines(path, "vit-tiny")
    path.write_text(json.dumps({**good, "key": "e65|h2|r2"}) + "\n")
    with pytest.raises(DataError, match="line 1"):
        gt.read_lines(path, "vit-tiny")
    with pytest.raises(ArchrepError, match="valid: vit-tiny-fashion"):
        gt.ground_truth_path("vit-small")
