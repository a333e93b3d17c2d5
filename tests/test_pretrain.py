"""Pre-training (FGP flow surrogate, autoencoder), the encoder interface every torch predictor
shares, fine-tuning from a pre-trained encoder, and their errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from archrep import cli, experiment, models, pretrain
from archrep.errors import ArchrepError, DataError, MissingDependencyError, UnknownNameError
from archrep.models.base import TorchPredictor
from archrep.results import git_commit

from test_models import nb201_dataset

TINY_GIN = {"hidden": 16, "layers": 2}
TORCH_MODELS = [m for m in models.list_models() if issubclass(models.MODELS.get(m), TorchPredictor)]


@pytest.fixture(scope="module")
def ds():
    return nb201_dataset(120, "prune_none")  # variable-size graphs: padding is exercised


@pytest.fixture(scope="module")
def fgp_dir(ds, tmp_path_factory):
    enc = pretrain.pretrain(ds, "gin", "fgp", encoder_cfg=TINY_GIN, epochs=3, batch_size=32, progress=False)
    return enc.save(tmp_path_factory.mktemp("fgp") / "enc")


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_every_torch_encoder_gives_a_graph_embedding(name, ds):
    model = models.create(name, seed=0, progress=False)
    try:
        net = model.new_network(ds)
    except MissingDependencyError as exc:  # ledg without the 'lm' extra
        pytest.skip(str(exc))
    assert isinstance(net, models.EncoderNet)
    inputs = model.network_inputs(ds.subset(np.arange(10)))
    net.eval()
    with torch.no_grad():
        z = net.graph_embedding(**inputs)
        assert z.shape == (10, net.embedding_dim) and torch.isfinite(z).all()
        torch.testing.assert_close(net.score(z), net(**inputs))
    head = [k for k, _ in net.named_parameters() if k.startswith(net.head_prefix)]
    assert head and set(net.encoder_state()) == {k for k, _ in net.named_parameters()} - set(head)


def test_fgp_lowers_the_flow_loss_and_is_reproducible(ds):
    kw = dict(encoder_cfg=TINY_GIN, epochs=8, batch_size=32, progress=False)
    enc = pretrain.pretrain(ds, "gin", "fgp", **kw)
    losses = [h["flow_loss"] for h in enc.manifest["history"]]
    assert losses[-1] < 0.5 * losses[0]
    again = pretrain.pretrain(ds, "gin", "fgp", **kw)
    for k, v in enc.state.items():
        torch.testing.assert_close(again.state[k], v, rtol=0, atol=0)
    m = enc.manifest
    assert m["git_commit"] == git_commit(Path(pretrain.__file__).parent)  # the code that pre-trained it
    assert m["method"] == "fgp" and m["encoder"] == "gin" and m["encoder_config"]["hidden"] == 16
    assert m["flow_config"]["k"] == 7 and m["dataset"]["fingerprint"] == ds.fingerprint()
    assert m["training"]["epochs"] == 8 and m["seconds"] > 0 and "archrep_version" in m


def test_fgp_proxy_head_ranks_the_proxy_column(ds):
    enc = pretrain.pretrain(ds, "gatedgcn", "fgp", encoder_cfg={"hidden": 16, "layers": 1}, epochs=4,
                            batch_size=32, progress=False, proxy="params", standardize=True)
    hist = enc.manifest["history"]
    assert hist[-1]["proxy_loss"] < hist[0]["proxy_loss"]
    assert enc.manifest["task_options"]["proxy"] == "params" and enc.manifest["task_options"]["standardize"]


def test_autoencoder_reconstructs_better_than_chance(ds):
    enc = pretrain.pretrain(ds, "gin", "autoencoder", encoder_cfg={"hidden": 32}, epochs=25, batch_size=32,
                            progress=False)
    final = enc.manifest["final"]
    real_ops = ds.ops[ds.ops >= 0]
    majority_op = np.bincount(real_ops).max() / real_ops.size
    iu, ju = np.triu_indices(ds.max_nodes, k=1)
    pairs = (ds.ops[:, iu] >= 0) & (ds.ops[:, ju] >= 0)
    edge_rate = (ds.adj[:, iu, ju] != 0)[pairs].mean()
    assert final["op_accuracy"] > majority_op + 0.1
    assert final["edge_accuracy"] > max(edge_rate, 1 - edge_rate)
    assert enc.manifest["flow_config"] is None


def test_saved_encoder_round_trips_and_init_loads_its_weights(ds, fgp_dir):
    enc = pretrain.load(fgp_dir)
    assert json.loads((fgp_dir / "manifest.json").read_text())["encoder"] == "gin"
    assert set(torch.load(fgp_dir / "encoder.pt", weights_only=True)) == set(enc.state)
    embeddings = []
    for seed in (1, 2):  # the fine-tuning seed does not matter to the loaded encoder
        model = models.create("gin", seed=seed, progress=False, init=str(fgp_dir), **TINY_GIN)
        model.net = model.new_network(ds)
        enc.initialise(model, ds)
        for k, v in model.net.encoder_state().items():
            torch.testing.assert_close(v, enc.state[k], rtol=0, atol=0)
        model.net.eval()
        embeddings.append(model.net.graph_embedding(**model.network_inputs(ds)).detach())
    torch.testing.assert_close(embeddings[0], embeddings[1], rtol=0, atol=0)

    # fit() loads it: with a vanishing learning rate the encoder stays the pre-trained one
    tuned = models.create("gin", seed=3, progress=False, init=str(fgp_dir), epochs=1, lr=1e-12, **TINY_GIN)
    tuned.fit(ds, "y")
    for k, v in tuned.net.encoder_state().items():
        torch.testing.assert_close(v, enc.state[k], rtol=0, atol=1e-6)
    scratch = models.create("gin", seed=3, progress=False, epochs=1, lr=1e-12, **TINY_GIN).fit(ds, "y")
    assert not torch.equal(scratch.net.encoder_state()["embed.weight"], enc.state["embed.weight"])


def test_experiment_takes_the_encoder_settings_and_crosses_seeds(ds, fgp_dir, tmp_path):
    exp = experiment.run(ds, "y", "gin", train_size=20, protocol="pool", seeds=[21, 2021], model_seeds=[0, 1],
                         model_cfg={"epochs": 2}, init=fgp_dir, progress=False, out_dir=tmp_path,
                         metrics=("kendall_tau", "precision_at_5pct"))
    assert [(r.seed, r.model_seed) for r in exp.runs] == [(21, 0), (21, 1), (2021, 0), (2021, 1)]
    rec = exp.record()
    assert rec["seeds"] == [21, 2021] and rec["model_seeds"] == [0, 1] and rec["runs"] == 4
    assert rec["init"] == str(fgp_dir) and "precision_at_5pct_mean" in rec
    assert rec["kendall_tau_runs"] == [r.metrics["kendall_tau"] for r in exp.runs]  # for paired comparisons
    cfg = json.loads((tmp_path / "seed_21_1" / "config.json").read_text())["hyperparameters"]
    assert cfg["hidden"] == 16 and cfg["layers"] == 2 and cfg["init"] == str(fgp_dir) and cfg["seed"] == 1


def test_init_errors_say_what_to_fix(ds, fgp_dir, tmp_path):
    with pytest.raises(DataError, match="does not exist.*archrep pretrain"):
        models.create("gin", init=str(tmp_path / "nowhere"), epochs=1, progress=False).fit(ds, "y")
    ckpt = models.create("gin", epochs=1, progress=False).fit(ds, "y").save(tmp_path / "ckpt")
    with pytest.raises(DataError, match="predictor checkpoint"):
        pretrain.load(ckpt)
    with pytest.raises(ArchrepError, match="'gin' encoder but the model is 'gatedgcn'"):
        models.create("gatedgcn", init=str(fgp_dir), epochs=1, progress=False).fit(ds, "y")
    with pytest.raises(ArchrepError, match="'gin' encoder but the model is 'mlp'"):
        experiment.run(ds, "y", "mlp", train_size=20, seeds=[0], init=fgp_dir, progress=False)
    other = nb201_dataset(60, "keep_none")
    with pytest.raises(ArchrepError, match="pre-trained on dataset 'nb201-prune_none'.*nb201-keep_none"):
        experiment.run(other, "y", "gin", train_size=20, seeds=[0], init=fgp_dir, progress=False)
    with pytest.raises(ArchrepError, match=r"hidden=16 \(model: 64\)"):
        models.create("gin", init=str(fgp_dir), epochs=1, progress=False, layers=2).fit(ds, "y")
    # an encoder saved before a hyper-parameter existed loads with that parameter's default only
    older = pretrain.load(fgp_dir)
    del older.manifest["encoder_config"]["node_features"]
    older.save(tmp_path / "older")
    small = {"hidden": 16, "layers": 2, "epochs": 1, "progress": False}
    models.create("gin", init=str(tmp_path / "older"), **small).fit(ds, "y")
    with pytest.raises(ArchrepError, match=r"node_features=True \(model: False\)"):
        models.create("gin", init=str(tmp_path / "older"), node_features=False, **small).fit(ds, "y")
    bad = tmp_path / "bad"
    pretrain.load(fgp_dir).save(bad)
    (bad / "encoder.pt").write_bytes(b"junk")
    with pytest.raises(DataError, match="encoder.pt cannot be read"):
        pretrain.load(bad)
    (bad / "manifest.json").write_text("{")
    with pytest.raises(DataError, match="not valid JSON"):
        pretrain.load(bad)


def test_pretraining_errors(ds):
    with pytest.raises(UnknownNameError, match="autoencoder.*fgp"):
        pretrain.pretrain(ds, "gin", "masking", progress=False)
    with pytest.raises(ArchrepError, match="no network to pre-train.*gin"):
        pretrain.pretrain(ds, "params", "fgp", progress=False)
    with pytest.raises(UnknownNameError, match="Valid targets"):
        pretrain.pretrain(ds, "gin", "fgp", proxy="synflow", progress=False)
    with pytest.raises(ArchrepError, match="takes no option 'proxy'"):
        pretrain.pretrain(ds, "gin", "autoencoder", proxy="params", progress=False)
    with pytest.raises(ArchrepError, match="epochs"):
        pretrain.pretrain(ds, "gin", "fgp", epochs=0, progress=False)


def test_cli_pretrain_then_fine_tune(tmp_path, capsys):
    out = tmp_path / "enc"
    code = cli.main(["pretrain", "--method", "fgp", "--data", "nb201", "--encoder", "gin", "--out", str(out),
                     "--epochs", "2", "--max-archs", "64", "--set", "hidden=8", "--proxy", "params", "--no-progress"])
    assert code == 0 and "wrote" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dataset"]["archs"] == 64 and manifest["task_options"]["proxy"] == "params"
    code = cli.main(["train", "--data", "nb201", "--model", "gin", "--train-size", "20", "--epochs", "1",
                     "--init", str(out), "--no-progress", "--out", str(tmp_path / "ft")])
    assert code == 0
    assert json.loads((tmp_path / "ft" / "results.json").read_text())[0]["init"] == str(out)
    capsys.readouterr()
    code = cli.main(["train", "--data", "nb201", "--model", "gin", "--train-size", "20", "--init", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "archrep pretrain --out" in err


def test_the_benchmark_cache_pretrains_again_for_a_newer_revision(ds, tmp_path, monkeypatch):
    """An encoder cached by older pre-training code (a lower manifest revision, or none) is not served."""
    import importlib.util

    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(benchmarks))  # the script imports plotting.py beside it
    spec = importlib.util.spec_from_file_location("pretraining_bench", benchmarks / "pretraining.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    settings = {"epochs": 1, "batch_size": 32, "seed": 0}
    calls = []
    real = pretrain.pretrain
    monkeypatch.setattr(pretrain, "pretrain", lambda *a, **k: calls.append(1) or real(*a, **k))
    folder, enc = bench.pretrained_encoder(ds, "gin", "fgp", {}, settings, tmp_path)
    assert enc.manifest["revision"] == pretrain.REVISION and len(calls) == 1
    assert bench.pretrained_encoder(ds, "gin", "fgp", {}, settings, tmp_path)[0] == folder and len(calls) == 1
    manifest = json.loads((folder / pretrain.MANIFEST).read_text())
    del manifest["revision"]  # written before revisions: revision 1
    (folder / pretrain.MANIFEST).write_text(json.dumps(manifest))
    bench.pretrained_encoder(ds, "gin", "fgp", {}, settings, tmp_path)
    assert len(calls) == 1
    monkeypatch.setattr(pretrain, "REVISION", pretrain.REVISION + 1)
    _, again = bench.pretrained_encoder(ds, "gin", "fgp", {}, settings, tmp_path)
    assert len(calls) == 2 and again.manifest["revision"] == pretrain.REVISION
    assert pretrain.load(folder).manifest["revision"] == pretrain.REVISION
