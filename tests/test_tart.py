"""TART and its pure-Transformer baseline (archrep.models.tart) and ``archrep tokenize``."""
import json

import numpy as np
import pytest
import torch

from archrep import cli, models
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError
from archrep.features.lap import LAYOUTS, OP_FEATURES, tart_token_columns, tart_token_dim, tart_tokens
from test_models import nb201_dataset

SMALL = {"d_model": 16, "heads": 2, "ff": 16, "layers": 2, "epochs": 2, "progress": False}


@pytest.fixture(scope="module")
def ds():
    return nb201_dataset(40, "prune_none")  # variable-size graphs, so padding is exercised


@pytest.fixture(scope="module")
def fitted(ds):
    return {name: models.create(name, **SMALL).fit(ds, "y") for name in ("tart", "transformer")}


def padded(ds: ArchDataset, extra: int) -> ArchDataset:
    """``ds`` with ``extra`` more empty node slots."""
    return ArchDataset(ds.name, ds.keys, ds.op_vocab, np.pad(ds.ops, ((0, 0), (0, extra)), constant_values=-1),
                       np.pad(ds.adj, ((0, 0), (0, extra), (0, extra))), ds.targets)


@pytest.mark.parametrize("op_features", OP_FEATURES)
def test_forward_tokens_equal_tart_tokens_in_eval(ds, op_features):
    model = models.create("tart", op_features=op_features, **SMALL).fit(ds, "y")
    inputs = model.network_inputs(ds)
    model.net.eval()
    tokens, mask = model.net.tokens(**inputs)
    ref, ref_mask = tart_tokens(ds.ops, ds.adj, 3, op_features, len(ds.op_vocab))
    torch.testing.assert_close(tokens, ref)
    assert torch.equal(mask, ref_mask)
    assert tokens.shape[-1] == tart_token_dim(3, op_features, len(ds.op_vocab))


def test_sign_flip_in_training_only(ds, fitted):
    net = fitted["tart"].net
    inputs = fitted["tart"].network_inputs(ds)
    width = len(ds.op_vocab) if fitted["tart"].config["op_features"] == "onehot" else 1
    p = slice(width, width + 3)
    net.eval()
    plain, _ = net.tokens(**inputs)
    assert torch.equal(net.tokens(**inputs)[0], plain)
    net.train()
    flipped, _ = net.tokens(**inputs)
    net.eval()
    ratio = flipped[..., p] / plain[..., p]
    signs = ratio[plain[..., p].abs() > 1e-6]
    torch.testing.assert_close(signs.abs(), torch.ones_like(signs))
    assert (signs < 0).any() and (signs > 0).any()
    # one sign per graph and eigenvector: constant over the graph's tokens
    for g in range(len(ds)):
        for k in range(3):
            col = ratio[g, :, k][plain[g, :, p][:, k].abs() > 1e-6]
            assert col.numel() == 0 or torch.all(col.sign() == col[0].sign())
    torch.testing.assert_close(flipped[..., :p.start], plain[..., :p.start])


def test_sign_flip_is_seeded(ds):
    draws = []
    for _ in range(2):
        model = models.create("tart", **SMALL)
        model.data_info = {"op_vocab": list(ds.op_vocab), "max_nodes": ds.max_nodes}
        net = model.build_network().train()
        draws.append(net.tokens(**model.network_inputs(ds))[0])
    torch.testing.assert_close(draws[0], draws[1])


def test_transformer_ignores_adjacency_tart_does_not(ds, fitted):
    rewired = ds.adj.copy()
    for i in range(len(ds)):
        n = int(ds.num_nodes[i])
        rewired[i, :n, :n] = np.triu(np.ones((n, n), np.uint8), 1)  # every forward edge
    other = ArchDataset(ds.name, ds.keys, ds.op_vocab, ds.ops, rewired, ds.targets)
    np.testing.assert_array_equal(fitted["transformer"].predict(other), fitted["transformer"].predict(ds))
    assert not np.allclose(fitted["tart"].predict(other), fitted["tart"].predict(ds))


@pytest.mark.parametrize("name", ["tart", "transformer"])
def test_prediction_does_not_depend_on_padding(ds, fitted, name):
    model = fitted[name]
    full = model.predict(ds)
    np.testing.assert_allclose(model.predict(padded(ds, 5)), full, rtol=1e-5, atol=1e-6)
    # alone in its batch (fewest tokens) vs among the whole dataset
    alone = np.array([model.predict(ds.subset([i]))[0] for i in range(3)])
    np.testing.assert_allclose(alone, full[:3], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling", ["sum", "graph_token"])
def test_other_poolings_train(ds, pooling):
    pred = models.create("tart", pooling=pooling, **SMALL).fit(ds, "y").predict(ds)
    assert np.isfinite(pred).all()


@pytest.mark.parametrize("cfg, match", [
    ({"d_model": 30, "heads": 4}, "d_model=30 is not divisible by heads=4"),
    ({"heads": 0}, "heads must be >= 1"),
    ({"dropout": 1.0}, "dropout"),
    ({"pooling": "max"}, "pooling"),
    ({"layout": "mine"}, "layout"),
])
def test_bad_config(cfg, match):
    with pytest.raises(ArchrepError, match=match):
        models.create("tart", **cfg)


def test_transformer_has_no_lap_settings():
    assert not {"dp", "layout", "sign_flip"} & set(models.hyperparameters("transformer"))
    with pytest.raises(ArchrepError, match="d_model=10 is not divisible by heads=4"):
        models.create("transformer", d_model=10, heads=4)


@pytest.mark.parametrize("op_features", OP_FEATURES)
def test_tokenize_cli(tmp_path, op_features, capsys):
    out = tmp_path / "sub" / "tokens.npz"
    assert cli.main(["tokenize", "--data", "nb201", "--out", str(out), "--dp", "2",
                     "--op-features", op_features]) == 0
    assert "wrote" in capsys.readouterr().out
    z = np.load(out)  # no pickles needed
    layout = json.loads(str(z["layout"]))
    n_ops = len(layout["op_vocab"])
    width = tart_token_dim(2, op_features, n_ops)
    assert z["tokens"].dtype == np.float32 and z["tokens"].shape == (len(z["keys"]), 18, width)
    assert z["token_mask"].dtype == bool and z["token_mask"].shape == z["tokens"].shape[:2]
    assert len(z["keys"]) == 15625 and z["token_mask"].all()  # NB201 (keep none): 8 nodes + 10 edges
    assert layout["columns"] == tart_token_columns(2, op_features, layout["op_vocab"])
    assert len(layout["columns"]) == width and layout["dp"] == 2
    assert [p.name for p in out.parent.iterdir()] == ["tokens.npz"]  # no temporary file left


def test_tokenize_cli_bad_output(tmp_path, capsys):
    assert cli.main(["tokenize", "--data", "nb201", "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert cli.main(["tokenize", "--data", "nb201", "--out", str(tmp_path / "tokens.txt")]) == 2
    assert ".npz" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli.main(["tokenize", "--data", "nb201", "--out", str(blocker / "tokens.npz")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_tokenize_cli_choices_match_the_library():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["tokenize"]
    choices = {a.dest: tuple(a.choices) for a in sub._actions if a.choices}
    assert choices == {"op_features": OP_FEATURES, "layout": tuple(LAYOUTS)}


@pytest.mark.parametrize("name", ["tart", "transformer"])
def test_variants_are_valid_configs(name):
    for variant, cfg in models.variants(name).items():
        assert models.create(name, **cfg).config["seed"] == 0, variant
    # the default is the paper's compressed op feature (df = 1); ours is a named variant
    assert models.create("tart").config["op_features"] == "index"
    assert models.variant_config("tart", "archrep")["op_features"] == "onehot"
