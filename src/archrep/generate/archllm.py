"""Arch-LLM (arXiv 2503.22063, methods.md §4) for one cell space: VQ-VAE codes + a code LM.

:class:`ArchLLM` trains the two stages in order: the VQ-VAE (:mod:`archrep.generate.vqvae`)
on the space's cells, so that each cell becomes L codes; then the code language model
(:mod:`archrep.generate.codelm`) on the code sequences of the same cells. It then

* **generates** architectures: the LM writes code sequences, the VQ-VAE decodes them, and
  :func:`archrep.generate.cells.cell_keys` keeps the valid cells (every sample gets a key or None,
  which the generation metrics count; :class:`Generated` says why each invalid one failed);
* **mutates** one (:meth:`ArchLLM.fill_mutation`): mask ``masked`` random codes of its sequence,
  let the LM fill them, decode — the "fill" operator of the ``llm-fill`` search strategy.

A trained model is a folder: ``manifest.json`` (format, space, op vocabulary, the training cells'
count), ``vqvae/`` and ``codelm/`` (each a JSON config and a state dict).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from archrep.data.cache import atomic_write_bytes
from archrep.errors import ArchrepError
from archrep.generate.cells import SPACES, cell_arrays, cell_keys
from archrep.generate.codelm import CodeLM
from archrep.generate.vqvae import VQVAE

FORMAT = 1
MANIFEST = "manifest.json"
#: training cells and VQ-VAE epochs of :func:`cached` (and of benchmarks/generation.py), per space;
#: NB101's 20 epochs on 100,000 cells are what reach 98 % held-out reconstruction (10 on 50,000 underfit)
DEFAULT_TRAIN = {"nb201": 14_062, "nb101": 100_000}
DEFAULT_VQ_EPOCHS = {"nb201": 15, "nb101": 20}


@dataclass
class Generated:
    """``keys``: one per sample, None when invalid; ``invalid``: why, per reason — the LM's
    (``token``, ``length``, ``mismatch``: a malformed code string) or ``cell`` (well-formed codes
    that decode to no valid cell of the space)."""

    keys: list[str | None]
    invalid: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class ArchLLM:
    """A VQ-VAE and a code LM over the cells of ``space`` (module docstring)."""

    def __init__(self, space: str, op_vocab: Sequence[str], vqvae: VQVAE, lm: CodeLM, meta: dict | None = None):
        if space not in SPACES:
            raise ArchrepError(f"Arch-LLM works on the cell spaces {', '.join(SPACES)}, not {space!r}")
        if vqvae.config.bottleneck != "vq":
            raise ArchrepError("Arch-LLM needs a VQ-VAE (bottleneck='vq'), not the continuous baseline")
        if (lm.config.codebook_size, lm.config.seq_len) != (vqvae.config.codebook_size, vqvae.config.max_nodes):
            raise ArchrepError(f"the code LM is for K={lm.config.codebook_size}, L={lm.config.seq_len} but the VQ-VAE "
                               f"has K={vqvae.config.codebook_size}, L={vqvae.config.max_nodes}")
        self.space, self.op_vocab = space, tuple(op_vocab)
        self.vqvae, self.lm, self.meta = vqvae, lm, dict(meta or {})

    @classmethod
    def train(cls, space: str, cells: Any, op_vocab: Sequence[str], *, vqvae: dict | None = None,
              lm: dict | None = None, device: str = "cpu", verbose: bool = False,
              checkpoint: str | Path | None = None) -> "ArchLLM":
        """Fit the VQ-VAE on ``cells`` ((ops, adj) or a CellTable), then the LM on their codes.
        ``vqvae`` / ``lm`` are the two configs' options (sizes, epochs, seed); ``checkpoint``, a
        file the VQ-VAE's training saves its state to after every epoch, to resume from there."""
        ops, adj = (cells.ops, cells.adj) if hasattr(cells, "ops") else cells
        vq = VQVAE(vocab_size=len(op_vocab), max_nodes=np.asarray(ops).shape[1], device=device,
                   **(vqvae or {})).fit((ops, adj), verbose=verbose, checkpoint=checkpoint)
        t1 = time.perf_counter()
        codes = vq.encode((ops, adj))
        model = CodeLM(codebook_size=vq.config.codebook_size, seq_len=vq.config.max_nodes, device=device,
                       **(lm or {})).fit(codes, verbose=verbose)
        meta = {"train_cells": int(len(codes)), "vqvae_seconds": sum(h["seconds"] for h in vq.history), "lm_seconds": time.perf_counter() - t1,
                "distinct_code_sequences": int(len(np.unique(codes, axis=0)))}
        return cls(space, op_vocab, vq, model, meta)

    # ------------------------------------------------------------------ use
    def decode_keys(self, codes: np.ndarray) -> list[str | None]:
        """Code sequences (N, L) -> canonical keys, None where the decoded cell is invalid."""
        if len(codes) == 0:
            return []
        return cell_keys(self.space, *self.vqvae.decode(codes), self.op_vocab)

    def encode_keys(self, keys: Sequence[str]) -> np.ndarray:
        """Canonical keys -> their code sequences (N, L)."""
        return self.vqvae.encode(cell_arrays(self.space, keys, self.op_vocab))

    def generate(self, n: int, *, temperature: float = 1.0, seed: int = 0, batch_size: int = 512) -> Generated:
        """``n`` samples of the generate task, decoded; invalid ones are None (class docstring)."""
        t0 = time.perf_counter()
        out = self.lm.generate(n, temperature=temperature, seed=seed, batch_size=batch_size)
        keys: list[str | None] = [None] * out.n
        for i, k in zip(out.index, self.decode_keys(out.codes)):
            keys[int(i)] = k
        invalid = {**out.invalid, "cell": sum(k is None for k in keys) - out.n_invalid}
        return Generated(keys, invalid, time.perf_counter() - t0)

    def fill_mutation(self, key: str, *, masked: int = 2, temperature: float = 1.0, seed: int = 0) -> str | None:
        """Mask ``masked`` random codes of ``key``'s sequence, fill them with the LM, decode: the
        child's key, or None when the LM's answer is malformed or decodes to no valid cell."""
        L = self.vqvae.config.max_nodes
        if not isinstance(masked, int) or not 1 <= masked <= L:
            raise ArchrepError(f"fill_mutation: masked must be an int in [1, {L}], got {masked!r}")
        codes = self.encode_keys([key])
        mask = np.zeros((1, L), dtype=bool)
        mask[0, np.random.default_rng(seed).choice(L, masked, replace=False)] = True
        out = self.lm.fill(codes, mask, temperature=temperature, seed=seed)
        return self.decode_keys(out.codes)[0] if len(out.codes) else None

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.vqvae.save(path / "vqvae")
        self.lm.save(path / "codelm")
        manifest = {"format": FORMAT, "model": "arch-llm", "space": self.space, "op_vocab": list(self.op_vocab),
                    "meta": self.meta}
        atomic_write_bytes(path / MANIFEST, json.dumps(manifest, indent=1).encode())
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> "ArchLLM":
        path = Path(path)
        try:
            manifest = json.loads((path / MANIFEST).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ArchrepError(f"{path} is not an Arch-LLM folder ({MANIFEST}: {exc}); train one with "
                               "`archrep generate --space nb201 --save FOLDER`") from None
        if manifest.get("model") != "arch-llm" or manifest.get("format") != FORMAT:
            raise ArchrepError(f"{path / MANIFEST} is not a format-{FORMAT} Arch-LLM manifest")
        return cls(manifest["space"], manifest["op_vocab"], VQVAE.load(path / "vqvae", device=device),
                   CodeLM.load(path / "codelm", device=device), manifest.get("meta"))


def split(n_cells: int, n_train: int, n_held: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded training and held-out cell indices (``numpy.random.default_rng(seed)``); the
    held-out part shrinks to what is left when the space is small."""
    if not 1 <= n_train < n_cells:
        raise ArchrepError(f"the training split must hold 1 .. {n_cells - 1} of the {n_cells} cells, got {n_train}")
    perm = np.random.default_rng(seed).permutation(n_cells)
    return perm[:n_train], perm[n_train:n_train + min(n_held, n_cells - n_train)]


def cached(space: str, *, train: int | None = None, vq_epochs: int | None = None, vq_schedule: str = "cosine",
           lm_epochs: int = 10, backend: str = "t5", seed: int = 0, folder: str | Path | None = None,
           device: str = "cpu", verbose: bool = False) -> ArchLLM:
    """The Arch-LLM of ``space`` trained on ``train`` cells of :func:`split` (defaults
    :data:`DEFAULT_TRAIN`, :data:`DEFAULT_VQ_EPOCHS`; the VQ-VAE's learning rate decayed with
    ``vq_schedule``, by default our cosine schedule, which is what lifts NB201's held-out
    reconstruction above 98 %), read from ``folder`` (default
    ``$ARCHREP_HOME/generation/<space>-...``) when it holds it, else trained (minutes on NB201, an
    hour or more on NB101 on one CPU core) and saved there; a VQ-VAE training killed halfway
    resumes from its last epoch (``<folder>.vqvae.ckpt``) on the next call."""
    import hashlib

    from archrep import config
    from archrep.spaces.enumeration import enumerate_cells

    if space not in DEFAULT_TRAIN:
        raise ArchrepError(f"Arch-LLM works on the cell spaces {', '.join(SPACES)}, not {space!r}")
    settings = {"space": space, "train": train or DEFAULT_TRAIN[space], "vq_epochs": vq_epochs or DEFAULT_VQ_EPOCHS[space],
                "vq_schedule": vq_schedule, "lm_epochs": lm_epochs, "backend": backend, "seed": seed}
    tag = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    path = Path(folder) if folder else config.archrep_home() / "generation" / f"{space}-archllm-{tag}"
    if (path / MANIFEST).exists():
        return ArchLLM.load(path, device=device)
    t = enumerate_cells(space)
    tr, _ = split(len(t), settings["train"], 0, seed)
    model = ArchLLM.train(space, (t.ops[tr], t.adj[tr]), t.op_vocab, device=device, verbose=verbose,
                          vqvae={"epochs": settings["vq_epochs"], "schedule": vq_schedule, "seed": seed},
                          lm={"epochs": lm_epochs, "backend": backend, "seed": seed},
                          checkpoint=path.with_name(f"{path.name}.vqvae.ckpt"))
    model.meta["settings"] = settings
    model.save(path)
    return model


def training_keys(model: ArchLLM) -> set[str] | None:
    """The keys of the cells a :func:`cached` model was trained on (for novelty), None if unknown."""
    from archrep.spaces.enumeration import enumerate_cells

    settings = model.meta.get("settings")
    if not settings:
        return None
    t = enumerate_cells(model.space)
    tr, _ = split(len(t), settings["train"], 0, settings.get("split_seed", settings["seed"]))
    return set(cell_keys(model.space, t.ops[tr], t.adj[tr], t.op_vocab))


__all__ = ["ArchLLM", "Generated", "DEFAULT_TRAIN", "DEFAULT_VQ_EPOCHS", "split", "cached", "training_keys"]
