"""Arch-LLM end to end on a small NB201 sample: train, generate, fill-mutate, save/load, llm-fill search."""
import numpy as np
import pytest

from archrep import search, spaces
from archrep.errors import ArchrepError
from archrep.generate.archllm import ArchLLM
from archrep.generate.vqvae import VQVAE
from archrep.spaces.enumeration import enumerate_cells

VQ = dict(hidden=32, layers=2, decoder_dim=32, decoder_layers=1, codebook_size=64, lr=3e-3, epochs=30, ema=True)
LM = dict(d_model=32, num_layers=1, num_decoder_layers=1, num_heads=2, d_ff=64, epochs=30, lr=1e-2)


@pytest.fixture(scope="module")
def model():
    t = enumerate_cells("nb201")
    idx = np.random.default_rng(0).choice(len(t), 300, replace=False)
    return ArchLLM.train("nb201", (t.ops[idx], t.adj[idx]), t.op_vocab, vqvae=VQ, lm=LM)


def test_generate_counts_every_sample(model):
    g = model.generate(60, temperature=1.0, seed=3)
    assert len(g.keys) == 60
    assert sum(g.invalid.values()) == sum(k is None for k in g.keys)
    valid = [k for k in g.keys if k is not None]
    assert valid, "a trained model writes some valid cells"
    sp = spaces.get("nb201")
    assert all(sp.key(sp.parse(k)) == k for k in valid)
    assert model.generate(60, temperature=1.0, seed=3).keys == g.keys


def test_fill_mutation_and_round_trip(model, tmp_path):
    key = spaces.get("nb201").key(("nor_conv_3x3",) * 6)
    kids = [model.fill_mutation(key, masked=2, seed=s) for s in range(8)]
    assert any(k is not None for k in kids)
    assert kids == [model.fill_mutation(key, masked=2, seed=s) for s in range(8)]
    model.save(tmp_path / "m")
    again = ArchLLM.load(tmp_path / "m")
    assert again.generate(30, seed=1).keys == model.generate(30, seed=1).keys
    assert [again.fill_mutation(key, seed=s) for s in range(4)] == kids[:4]
    with pytest.raises(ArchrepError, match="masked"):
        model.fill_mutation(key, masked=0)
    with pytest.raises(ArchrepError, match="not an Arch-LLM folder"):
        ArchLLM.load(tmp_path / "nothing")


def test_llm_fill_search_runs_and_counts_fallbacks(model):
    space = spaces.get("nb201")
    obj = search.FunctionObjective(lambda a: sum(op == "nor_conv_3x3" for op in a), "convs")
    r = search.run_search("llm-fill", space, obj, queries=40, seed=0, model=model, population=10, sample_size=3)
    assert r.n_queries == 40
    assert r.options["fallbacks"] <= r.options["invalid_fills"]
    assert r.best_score >= max(h["score"] for h in r.history[:10])
    with pytest.raises(ArchrepError, match="needs a trained Arch-LLM"):
        search.run_search("llm-fill", space, obj, queries=5)
    with pytest.raises(ArchrepError, match="space"):
        search.run_search("llm-fill", spaces.get("nb101"), obj, queries=5, model=model)


def test_continuous_vae_is_refused(model):
    vae = VQVAE(vocab_size=7, max_nodes=8, bottleneck="gaussian", hidden=8, decoder_dim=8, decoder_heads=2)
    with pytest.raises(ArchrepError, match="VQ-VAE"):
        ArchLLM("nb201", model.op_vocab, vae, model.lm)


def test_cli_generate_and_llm_fill_search(model, tmp_path, capsys):
    from archrep.cli import main

    model.save(tmp_path / "m")
    out = tmp_path / "samples.json"
    assert main(["generate", "--space", "nb201", "--n", "25", "--model", str(tmp_path / "m"), "--out", str(out),
                 "--seed", "2"]) == 0
    import json
    res = json.loads(out.read_text())
    assert len(res["keys"]) == 25 and set(res["metrics"]) >= {"validity", "uniqueness", "abs_uniqueness"}
    assert res["metrics"]["validity"] == sum(k is not None for k in res["keys"]) / 25
    assert "validity" in capsys.readouterr().out
    assert main(["generate", "--space", "nb101", "--n", "5", "--model", str(tmp_path / "m"), "--out", str(out)]) == 2
    assert "not of --space 'nb101'" in capsys.readouterr().err
    run = tmp_path / "run.json"
    assert main(["search", "--space", "nb201", "--strategy", "llm-fill", "--model", str(tmp_path / "m"),
                 "--oracle", "baseline_accuracy", "--queries", "25", "--population", "8", "--sample-size", "3",
                 "--no-progress", "--out", str(run)]) == 0
    hist = json.loads(run.read_text())
    assert hist["strategy"] == "llm-fill" and hist["n_queries"] == 25
