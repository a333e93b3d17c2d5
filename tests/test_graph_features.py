"""Per-architecture ("graph") features: a torch predictor reads the dataset columns it is told
to, standardised with the training statistics saved in the checkpoint; without them nothing
changes; bad columns are one clear error; pre-training leaves them to fine-tuning; and on a task
where only a per-graph count sets the target, they are what makes it learnable."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from archrep import models, pretrain
from archrep.errors import ArchrepError
from archrep.train.metrics import mape
from test_models import nb201_dataset

TORCH_MODELS = ["gin", "gatedgcn", "ledg", "tart"]
SMALL = {"gin": {"hidden": 16}, "gatedgcn": {"hidden": 16},
         "ledg": {"node_embedding": "onehot", "platform_token": False, "d_model": 16, "layers": 1},
         "tart": {"d_model": 16, "heads": 2, "ff": 16, "layers": 1, "op_features": "onehot"}}


@pytest.fixture(scope="module")
def counted():
    """NB201 cells whose target is a power of a per-cell count the graph does not show: a
    cell's ops say nothing about it, its ``work`` column says everything."""
    ds = nb201_dataset(120, seed=3)
    work = np.random.default_rng(0).uniform(1e6, 1e9, len(ds))
    return replace(ds, targets={"y": (work / 1e6) ** 0.8, "work": work})


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_graph_features_are_read_saved_and_restored(name, counted, tmp_path):
    kw = {**SMALL[name], "epochs": 2, "loss": "mse", "progress": False}
    m = models.create(name, graph_features=["work"], **kw).fit(counted, "y")
    assert m.net.graph_feature_proj.in_features == 1
    assert m.data_info["graph_features"]["names"] == ["work"]
    back = models.load(m.save(tmp_path / name))
    np.testing.assert_allclose(back.predict(counted), m.predict(counted), rtol=1e-5)
    plain = models.create(name, **kw).fit(counted, "y")
    assert plain.net.graph_feature_proj is None and "graph_features" not in plain.data_info
    other = models.create(name, graph_features=[], **kw).fit(counted, "y")  # the default: nothing changes
    np.testing.assert_array_equal(other.predict(counted), plain.predict(counted))


def test_graph_features_make_a_hidden_count_learnable(counted):
    train, test = counted.subset(np.arange(90)), counted.subset(np.arange(90, 120))
    kw = {"hidden": 16, "epochs": 150, "loss": "mse", "log_target": True, "lr": 3e-3, "progress": False}
    without = mape(test.targets["y"], models.create("gin", **kw).fit(train, "y").predict(test))
    with_ = mape(test.targets["y"], models.create("gin", graph_features=["work"], **kw).fit(train, "y").predict(test))
    assert with_ < 0.1 < without


def test_bad_graph_feature_columns_are_one_clear_error(counted):
    with pytest.raises(ArchrepError, match="graph feature 'watts' is not a column.*work"):
        models.create("gin", graph_features=["watts"], epochs=1, progress=False).fit(counted, "y")
    bad = replace(counted, targets={"y": counted.targets["y"], "work": -counted.targets["work"]})
    with pytest.raises(ArchrepError, match="graph feature 'work'.*negative"):
        models.create("gin", graph_features=["work"], epochs=1, progress=False).fit(bad, "y")
    m = models.create("gin", graph_features=["work"], epochs=1, progress=False).fit(counted, "y")
    lacking = replace(counted, targets={"y": counted.targets["y"]})
    with pytest.raises(ArchrepError, match="graph feature 'work' is not a column"):
        m.predict(lacking)


def test_pretraining_leaves_graph_features_to_the_head(counted):
    cfg = {"hidden": 16, "graph_features": ["work"]}
    enc = pretrain.pretrain(counted, "gin", "fgp", encoder_cfg=cfg, epochs=1, batch_size=32, progress=False)
    assert not any(k.startswith("graph_feature_proj.") for k in enc.state)
    m = models.create("gin", epochs=1, progress=False, **cfg)
    m.net = m.new_network(counted, "y")
    before = m.net.graph_feature_proj.weight.detach().clone()
    enc.initialise(m, counted)
    assert torch.equal(m.net.graph_feature_proj.weight, before)  # trained fresh, like the head
