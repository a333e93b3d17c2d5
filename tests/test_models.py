"""One conformance test for every registered predictor (future ones included), plus the
registry's and the checkpoint format's error paths."""
import json

import numpy as np
import pytest
import torch

from archrep import models, spaces
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError, DataError, MissingDependencyError, UnknownNameError

# synthetic, learnable: conv3x3 and conv1x1 help, 'none' hurts
WEIGHTS = {"nor_conv_3x3": 2.0, "nor_conv_1x1": 1.0, "avg_pool_3x3": 0.3, "skip_connect": 0.1, "none": -1.5}


def nb201_dataset(n: int, style: str = "keep_none", seed: int = 0) -> ArchDataset:
    """n random NB201 cells with target 'y', and 'params'/'flops' columns, in one graph style."""
    space = spaces.get("nb201", graph_style=style)
    rng = np.random.default_rng(seed)
    archs = list(space.enumerate())
    picked = [archs[i] for i in rng.choice(len(archs), n, replace=False)]
    y = np.array([sum(WEIGHTS[op] for op in a) for a in picked]) + rng.normal(0, 0.3, n)
    params = np.array([sum(op == "nor_conv_3x3" for op in a) * 9 + sum(op == "nor_conv_1x1" for op in a)
                       for a in picked], dtype=float)
    return ArchDataset.from_graphs(f"nb201-{style}", [space.key(a) for a in picked],
                                   [space.to_graph(a) for a in picked],
                                   {"y": y, "params": params, "flops": params * 2.0 + 1.0},
                                   op_vocab=space.op_vocab, max_nodes=8, space="nb201")


def quick(name: str, **extra) -> models.Predictor:
    """A predictor with a few epochs if it trains at all (checked through its hyper-parameters)."""
    cfg = {"seed": 0, "progress": False, **extra}
    if "epochs" in models.hyperparameters(name):
        cfg["epochs"] = 3
    return models.create(name, **cfg)


@pytest.fixture(scope="module")
def data():
    return {"keep_none": nb201_dataset(80), "prune_none": nb201_dataset(80, "prune_none", seed=1)}


@pytest.mark.parametrize("style", ["keep_none", "prune_none"])
@pytest.mark.parametrize("name", models.list_models())
def test_predictor_conformance(name, style, data, tmp_path):
    ds = data[style]
    if style == "prune_none":
        assert ds.num_nodes.min() < ds.max_nodes  # padding is exercised
    train, val, test = ds.subset(np.arange(50)), ds.subset(np.arange(50, 60)), ds.subset(np.arange(60, 80))
    why = models.MODELS.get(name).unsupported(ds)
    if why:  # e.g. flops-macs-linear without a memory column (tested on its own data elsewhere)
        pytest.skip(why)
    model = quick(name)
    try:
        assert model.fit(train, "y", val) is model
    except MissingDependencyError as exc:  # e.g. ledg without the 'lm' extra
        pytest.skip(str(exc))
    pred = model.predict(test)
    assert pred.dtype == np.float64 and pred.shape == (len(test),) and np.isfinite(pred).all()
    assert model.target == "y"

    model.save(tmp_path / "ckpt")
    cfg = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert cfg["name"] == name and cfg["target"] == "y" and cfg["data"]["op_vocab"] == list(ds.op_vocab)
    assert {"hyperparameters", "archrep_version", "normalisation", "history"} <= set(cfg)
    state = torch.load(tmp_path / "ckpt" / "weights.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    loaded = models.load(tmp_path / "ckpt")
    assert type(loaded) is type(model) and loaded.config == model.config
    np.testing.assert_array_equal(loaded.predict(test), pred)

    again = quick(name).fit(train, "y", val)
    np.testing.assert_array_equal(again.predict(test), pred)  # same seed, same predictions


@pytest.mark.parametrize("name", models.list_models())
def test_unknown_hyperparameter_lists_valid_ones(name):
    with pytest.raises(UnknownNameError, match="Valid hyper-parameters: .*seed"):
        models.create(name, no_such_setting=1)


@pytest.mark.parametrize("name", models.list_models())
def test_predict_before_fit_is_an_error(name, data):
    with pytest.raises(ArchrepError, match="not fitted"):
        models.create(name).predict(data["keep_none"])


def test_unknown_model_name_lists_valid_ones():
    with pytest.raises(UnknownNameError, match="Did you mean 'gin'.*Valid models: .*mlp"):
        models.create("gim")
    assert set(models.list_models()) >= {"params", "flops", "mlp", "gin"}
    assert models.list_models("g*") == ["gatedgcn", "gin"]


def test_bad_hyperparameter_values():
    with pytest.raises(ArchrepError, match="integer"):
        models.create("gin", hidden="wide")
    with pytest.raises(ArchrepError, match="direction"):
        models.create("gin", direction="sideways")
    with pytest.raises(ArchrepError, match="loss"):
        models.create("mlp", loss="l1")
    with pytest.raises(ArchrepError, match="hidden"):
        models.create("mlp", hidden=[64, 0])
    with pytest.raises(ArchrepError, match="lr"):
        models.create("gin", lr=0)
    assert models.create("gin", patience=None).config["patience"] is None


def test_baseline_missing_column_names_dataset_and_column(data):
    ds = data["keep_none"]
    bare = ArchDataset(ds.name, ds.keys, ds.op_vocab, ds.ops, ds.adj, {"y": ds.targets["y"]})
    with pytest.raises(ArchrepError, match=r"'params'.*nb201-keep_none|nb201-keep_none.*'params'"):
        models.create("params").fit(bare, "y")
    model = models.create("flops").fit(ds, "y")
    np.testing.assert_array_equal(model.predict(ds), ds.targets["flops"])
    with pytest.raises(ArchrepError, match="'flops'"):
        model.predict(bare)


def test_unknown_target_lists_valid_ones(data):
    with pytest.raises(UnknownNameError, match="Valid targets"):
        quick("gin").fit(data["keep_none"], "accuracy")


def test_op_vocabulary_is_aligned_by_name(data):
    ds = data["keep_none"]
    model = quick("gin").fit(ds, "y")
    order = list(reversed(ds.op_vocab))
    lut = np.array([order.index(op) for op in ds.op_vocab])
    shuffled = ArchDataset(ds.name, ds.keys, tuple(order), np.where(ds.ops >= 0, lut[ds.ops], -1).astype(np.int16),
                           ds.adj, ds.targets)
    np.testing.assert_allclose(model.predict(shuffled), model.predict(ds), rtol=1e-6)
    alien = ArchDataset(ds.name, ds.keys, tuple(["conv7x7", *ds.op_vocab[1:]]), ds.ops, ds.adj, ds.targets)
    with pytest.raises(ArchrepError, match="conv7x7"):
        model.predict(alien)


def test_mlp_pads_smaller_and_refuses_larger_graphs(data):
    small = data["prune_none"]
    model = quick("mlp").fit(small, "y")
    few = small.subset(np.flatnonzero(small.num_nodes <= 6))
    assert len(few) > 0
    narrow = ArchDataset(few.name, few.keys, few.op_vocab, few.ops[:, :6], few.adj[:, :6, :6], few.targets)
    np.testing.assert_allclose(model.predict(narrow), model.predict(few), rtol=1e-6)
    big = ArchDataset(small.name, small.keys, small.op_vocab, np.pad(small.ops, ((0, 0), (0, 2)), constant_values=-1),
                      np.pad(small.adj, ((0, 0), (0, 2), (0, 2))), small.targets)
    np.testing.assert_allclose(model.predict(big), model.predict(small), rtol=1e-6)
    big.ops[0, 8] = 0  # a ninth node
    with pytest.raises(ArchrepError, match="at most 8 nodes"):
        model.predict(big)


def test_load_errors(data, tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        models.load(tmp_path / "nowhere")
    model = quick("gin").fit(data["keep_none"], "y")
    ckpt = model.save(tmp_path / "ckpt")
    (ckpt / "weights.pt").write_bytes(b"not a torch file")
    with pytest.raises(DataError, match="weights.pt"):
        models.load(ckpt)
    model.save(ckpt)
    (ckpt / "config.json").write_text("{broken")
    with pytest.raises(DataError, match="not valid JSON"):
        models.load(ckpt)
    model.save(ckpt)
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg["hyperparameters"]["hidden"] = 32  # weights no longer fit
    (ckpt / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(DataError, match="do not fit"):
        models.load(ckpt)
    (ckpt / "weights.pt").unlink()
    with pytest.raises(DataError, match="no weights.pt"):
        models.load(ckpt)
    with pytest.raises(ArchrepError, match="not fitted"):
        models.create("mlp").save(tmp_path / "unfitted")


def test_too_few_labelled_training_rows(data):
    ds = data["keep_none"].subset(np.arange(3))
    ds.targets["y"][:2] = np.nan  # one labelled row left
    with pytest.raises(ArchrepError, match="at least 2"):
        quick("gin").fit(ds, "y")


def test_gin_jumping_knowledge_pools_every_layer(data):
    """FGP's GIN (variant ``fgp``) reads out every layer's states concatenated: its embedding is
    the mean-pooled states of all layers side by side, the last block being the plain readout."""
    cfg = {**models.variant_config("gin", "fgp"), "hidden": 8, "layers": 3, "epochs": 1}
    ds = data["prune_none"]  # padded graphs: the mean is over real nodes only
    m = models.create("gin", progress=False, **cfg).fit(ds, "y")
    net = m.net.eval()
    inputs = m.network_inputs(ds.subset(range(5)))
    with torch.no_grad():
        emb = net.graph_embedding(**inputs)
        states = net.layer_states(inputs["x"], inputs["agg"], inputs["mask"])
    count = inputs["mask"].sum(dim=1, keepdim=True)
    expected = torch.cat([s.sum(dim=1) / count for s in states], dim=-1)
    assert net.embedding_dim == 24 and emb.shape == (5, 24)
    assert torch.allclose(emb, expected, atol=1e-6)
    assert not torch.allclose(emb[:, :8], emb[:, 16:])  # the layers' blocks differ
    assert m.predict(ds).shape == (len(ds),)


@pytest.mark.parametrize("name, cfg", [("gin", {"hidden": 8, "readout": "logsumexp"}),
                                       ("ledg", {"d_model": 16, "layers": 1, "node_embedding": "onehot",
                                                 "platform_token": False, "readout": "logsumexp"}),
                                       ("tart", {"d_model": 16, "heads": 2, "layers": 1, "ff": 16,
                                                 "pooling": "logsumexp"}),
                                       ("transformer", {"d_model": 16, "heads": 2, "layers": 1, "ff": 16,
                                                        "pooling": "logsumexp"})])
def test_logsumexp_readout_adds_per_node_latencies(name, cfg, data, tmp_path):
    """``readout="logsumexp"`` with ``log_target`` and no standardisation predicts the sum of the
    head's per-node latencies exp(head(node)) over the real nodes: padding adds nothing, the
    graph embedding that pre-training reads is the mean of the node embeddings, and a saved
    checkpoint predicts the same."""
    ds = data["prune_none"]  # pruned 'none' nodes: graphs of several sizes, so padding
    m = models.create(name, seed=0, progress=False, epochs=2, log_target=True, standardize=False,
                      **cfg).fit(ds, "flops")
    net = m.net.eval()
    inputs = m.network_inputs(ds.subset(range(6)))
    with torch.no_grad():
        h, real = net.node_embeddings(**inputs)
        per_node = torch.exp(net.score(h)) * real
        pooled = net.graph_embedding(**inputs)
    assert real.sum(dim=1).unique().numel() > 1
    np.testing.assert_allclose(m.predict(ds.subset(range(6))), per_node.sum(dim=1).numpy(), rtol=1e-5)
    expected = (h * real[..., None]).sum(dim=1) / real.sum(dim=1, keepdim=True)
    assert torch.allclose(pooled, expected, atol=1e-6)
    np.testing.assert_allclose(models.load(m.save(tmp_path / "ckpt")).predict(ds), m.predict(ds), rtol=1e-6)


def test_logsumexp_readout_needs_per_node_embeddings():
    """An encoder without per-node embeddings says so instead of pooling something else."""
    class Pooled(models.base.EncoderNet):
        readout = "logsumexp"

    with pytest.raises(ArchrepError, match="no per-node embeddings.*'sum' or 'mean'"):
        Pooled()(x=torch.zeros(1, 2))
