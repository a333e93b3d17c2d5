"""Pre-training of any architecture encoder on every architecture of a space, without labels.

``pretrain(ds, "gin", "fgp")`` trains a predictor's encoder (:class:`~archrep.models.EncoderNet`:
every torch predictor's network is one) on a pretext task of :mod:`archrep.pretrain.tasks`:

* ``"fgp"``: FGP (arXiv 2510.18360): reconstruct each architecture's flow surrogate
  (:mod:`archrep.features.flow`), optionally also rank a zero-cost proxy column;
* ``"autoencoder"``: arch2vec-style reconstruction of ops and adjacency (the baseline pretext);

and returns a :class:`PretrainedEncoder`: the encoder's learnt parameters (the score head is
left out: fine-tuning starts it fresh) and a manifest. Supervised training only ("none" in the
benchmarks) is a predictor fitted without ``init``.

Fine-tuning: a torch predictor created with ``init=DIR`` (``archrep train --init DIR``,
``experiment.run(..., init=DIR)``) copies the encoder's parameters into its network before
training with its own loss (the pairwise hinge by default, as FGP). The encoder name, its
architecture hyper-parameters and the dataset must match the pre-training's, else one error
says which differs and how to fix it.

Training settings (methods.md §5): AdamW, lr 1e-3, weight decay 1e-6, batch 256 (the GNN
setting), seeded shuffling, no schedule. The paper pre-trains 200 epochs; the default here is
:data:`DEFAULT_EPOCHS`, chosen for one CPU thread (see its comment).

A pre-trained encoder folder holds ``manifest.json`` (method, encoder, its architecture
config, the dataset with a fingerprint of its graphs, the flow configuration, task options,
training settings, per-epoch history, seconds, archrep version and the git commit and
:data:`REVISION` of the code that pre-trained it, so a cached encoder can be traced to its code) and ``encoder.pt`` (a state dict
of tensors, read with ``torch.load(weights_only=True)``); no pickled objects.
"""
from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from archrep import models
from archrep.data.cache import atomic_write_bytes
from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError, DataError
from archrep.models.base import TorchPredictor
from archrep.pretrain import tasks
from archrep.pretrain.tasks import TASKS
from archrep.results import git_commit
from archrep.train import fit as trainer

FORMAT = "archrep.pretrained_encoder"
FORMAT_VERSION = 1
MANIFEST, WEIGHTS = "manifest.json", "encoder.pt"
#: the paper pre-trains 200 epochs; 50 keeps a GNN on NB201 near 1.5 min (GIN) to 4 min
#: (GatedGCN, TART, LeDG) on one CPU thread, where the flow loss has mostly converged
DEFAULT_EPOCHS = 50
DEFAULT_BATCH_SIZE = 256
DEFAULT_LR, DEFAULT_WEIGHT_DECAY = 1e-3, 1e-6
#: what the pre-training code learns, in the manifest as ``revision``: bump it with any change to a
#: pretext task, an encoder or the training loop that changes the weights a run gives, so that a
#: cache of pre-trained encoders (benchmarks/pretraining.py) stops serving encoders of older code.
#: Manifests written before revisions existed read as 1.
REVISION = 1


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ArchrepError(f"pre-training: {what} must be a positive integer, got {value!r}")
    return value


@dataclass
class PretrainedEncoder:
    """A pre-trained encoder: its ``manifest`` (module docstring) and ``state``, the encoder's
    parameters by name; ``path`` is the folder it was read from, if any (for messages)."""

    manifest: dict
    state: dict[str, torch.Tensor]
    path: str | None = None

    @property
    def encoder(self) -> str:
        return self.manifest["encoder"]

    @property
    def encoder_config(self) -> dict:
        """The architecture hyper-parameters the encoder was built with."""
        return dict(self.manifest["encoder_config"])

    @property
    def revision(self) -> int:
        """The :data:`REVISION` of the code that pre-trained it (1 for manifests written before revisions)."""
        return int(self.manifest.get("revision", 1))

    def _where(self) -> str:
        return f"pre-trained encoder {self.path!r}" if self.path else "the pre-trained encoder"

    def save(self, path: str | Path) -> Path:
        """Write ``encoder.pt`` then ``manifest.json`` into folder ``path`` (created), atomically per file."""
        out = Path(path)
        if out.exists() and not out.is_dir():
            raise ArchrepError(f"{str(out)!r} is a file; give a folder for the pre-trained encoder")
        buf = io.BytesIO()
        torch.save({k: v.detach().cpu().contiguous() for k, v in self.state.items()}, buf)
        atomic_write_bytes(out / WEIGHTS, buf.getvalue())
        atomic_write_bytes(out / MANIFEST, (json.dumps(self.manifest, indent=1) + "\n").encode())
        return out

    def check_model(self, name: str) -> None:
        """Raise unless predictor ``name`` is the encoder that was pre-trained."""
        if name != self.encoder:
            raise ArchrepError(
                f"{self._where()} is a {self.encoder!r} encoder but the model is {name!r}; fine-tune it as "
                f"model {self.encoder!r}, or pre-train a {name!r} encoder (archrep pretrain --encoder {name})")

    def check_dataset(self, ds: ArchDataset) -> None:
        """Raise unless ``ds`` is (part of) the dataset the encoder was pre-trained on."""
        info = self.manifest["dataset"]
        if ds.name != info["name"] or list(ds.op_vocab) != info["op_vocab"]:
            raise ArchrepError(
                f"{self._where()} was pre-trained on dataset {info['name']!r} (ops {', '.join(info['op_vocab'])}) "
                f"but the training data is {ds.name!r} (ops {', '.join(ds.op_vocab)}); pre-train on it "
                f"(archrep pretrain --data {ds.name} ...) or fine-tune on {info['name']!r}")

    def initialise(self, predictor: TorchPredictor, ds: ArchDataset) -> None:
        """Copy the encoder's parameters into ``predictor.net`` (built for ``ds``), after checking
        the encoder name, its architecture hyper-parameters and the dataset."""
        self.check_model(predictor.name)
        self.check_dataset(ds)
        ours = predictor.architecture_config()
        # a hyper-parameter added after the encoder was saved has its default's (the old) behaviour
        theirs = {**{k: v for k, v in predictor.defaults.items() if k in ours}, **self.encoder_config}
        diff = [k for k in sorted(set(ours) | set(theirs)) if ours.get(k) != theirs.get(k)]
        if diff:
            pairs = ", ".join(f"{k}={theirs.get(k)!r} (model: {ours.get(k)!r})" for k in diff)
            raise ArchrepError(f"{self._where()} was built with {pairs}; create the model with the pre-trained "
                               "settings (experiment.run(init=...) and archrep train --init take them from "
                               "its manifest)")
        net = predictor.net
        params = dict(net.named_parameters())
        expected = {k for k in params if not net.is_head_parameter(k)}
        if set(self.state) != expected:
            missing, extra = sorted(expected - set(self.state)), sorted(set(self.state) - expected)
            raise DataError(f"{self._where()}: its tensors do not match the {predictor.name!r} network (missing "
                            f"{missing[:3]}, unexpected {extra[:3]}); it was written by another archrep version, "
                            "pre-train again")
        bad = [k for k in expected if params[k].shape != self.state[k].shape]
        if bad:
            raise DataError(f"{self._where()}: tensor {bad[0]!r} has shape {tuple(self.state[bad[0]].shape)}, the "
                            f"network expects {tuple(params[bad[0]].shape)}; pre-train again")
        with torch.no_grad():
            for k in expected:
                params[k].copy_(self.state[k])


def load(path: str | Path) -> PretrainedEncoder:
    """The pre-trained encoder saved in folder ``path``; a missing, incomplete or foreign folder
    raises an error naming it and the fix."""
    folder = Path(path)
    where = f"pre-trained encoder {str(folder)!r}"
    if not folder.is_dir():
        raise DataError(f"{where} does not exist or is not a folder; create it with "
                        f"archrep pretrain --data DATASET --encoder MODEL --out {folder}")
    if not (folder / MANIFEST).is_file():
        kind = ("a predictor checkpoint (archrep train --out), not a pre-trained encoder"
                if (folder / "config.json").is_file() else "not a pre-trained encoder (it has no manifest.json)")
        raise DataError(f"{where} is {kind}; pass the folder written by archrep pretrain --out DIR")
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{where}: manifest.json is not valid JSON ({exc}); pre-train again") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"{where}: manifest.json is not a pre-trained encoder manifest; pass the folder written "
                        "by archrep pretrain --out DIR")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise DataError(f"{where}: format version {manifest.get('format_version')!r}, this archrep reads "
                        f"{FORMAT_VERSION}; pre-train again")
    missing = [k for k in ("method", "encoder", "encoder_config", "dataset") if k not in manifest]
    if missing:
        raise DataError(f"{where}: manifest.json lacks {', '.join(missing)}; pre-train again")
    if not (folder / WEIGHTS).is_file():
        raise DataError(f"{where} has no {WEIGHTS}; it is incomplete, pre-train again")
    try:
        state = torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise DataError(f"{where}: {WEIGHTS} cannot be read ({type(exc).__name__}); pre-train again") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(f"{where}: {WEIGHTS} is not a state dict of tensors; pre-train again")
    return PretrainedEncoder(manifest, state, str(folder))


def pretrain(ds: ArchDataset, encoder: str = "gin", method: str = "fgp", *, encoder_cfg: dict | None = None,
             variant: str = "default", epochs: int = DEFAULT_EPOCHS, batch_size: int = DEFAULT_BATCH_SIZE,
             lr: float = DEFAULT_LR, weight_decay: float = DEFAULT_WEIGHT_DECAY, seed: int = 0,
             progress: bool = True, device: str = "cpu", **options) -> PretrainedEncoder:
    """Pre-train predictor ``encoder``'s network on every architecture of ``ds`` with pretext
    task ``method`` (module docstring) and return it.

    ``variant`` and ``encoder_cfg`` set the encoder's hyper-parameters as for
    :func:`archrep.models.create`; ``options`` go to the task (fgp: ``proxy``, ``proxy_weight``,
    ``flow``). ``seed`` seeds the encoder's and heads' initialisation, the shuffling and any pair
    sampling: the same seed gives the same weights (on CPU).
    """
    epochs, batch_size = _positive_int(epochs, "epochs"), _positive_int(batch_size, "batch_size")
    number = (int, float)
    if not (isinstance(lr, number) and lr > 0) or not (isinstance(weight_decay, number) and weight_decay >= 0):
        raise ArchrepError(f"pre-training: lr must be > 0 and weight_decay >= 0, got {lr!r} and {weight_decay!r}")
    if not isinstance(ds, ArchDataset) or len(ds) < 2:
        raise ArchrepError("pre-training needs an ArchDataset of at least 2 architectures")
    TASKS.get(method)  # an unknown method lists the valid ones before any work
    cfg = {**models.variant_config(encoder, variant), **(encoder_cfg or {})}
    predictor = models.create(encoder, seed=seed, progress=False, device=device, **cfg)
    if not isinstance(predictor, TorchPredictor):
        torch_models = [m for m in models.list_models() if issubclass(models.MODELS.get(m), TorchPredictor)]
        raise ArchrepError(f"model {encoder!r} has no network to pre-train; choose one of {', '.join(torch_models)}")
    t0 = time.perf_counter()
    dev = trainer.resolve_device(device)
    net = predictor.new_network(ds)
    task = tasks.create(method, ds, seed=seed, **options)
    heads = task.heads(net.embedding_dim)
    net.to(dev)
    heads.to(dev)
    inputs, targets = predictor.network_inputs(ds), task.targets
    inputs.pop("graph_features", None)  # they feed the score head (EncoderNet), not the encoder
    opt = torch.optim.AdamW([*net.parameters(), *heads.parameters()], lr=lr, weight_decay=weight_decay)
    shuffle = torch.Generator().manual_seed(seed)
    history: list[dict] = []
    bar = tqdm(range(1, epochs + 1), desc=f"{method} pre-training {encoder} on {ds.name}", disable=not progress,
               unit="epoch", leave=False)
    for epoch in bar:
        net.train()
        heads.train()
        sums: dict[str, float] = {}
        order = torch.randperm(len(ds), generator=shuffle)
        for start in range(0, len(ds), batch_size):
            idx = order[start:start + batch_size]
            z = net.graph_embedding(**{k: v[idx].to(dev) for k, v in inputs.items()})
            value, parts = task.loss(heads, z, {k: v[idx].to(dev) for k, v in targets.items()})
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            for name, v in {"loss": float(value.detach()), **parts}.items():
                sums[name] = sums.get(name, 0.0) + v * len(idx)
        record = {"epoch": epoch, **{k: v / len(ds) for k, v in sums.items()}, "seconds": time.perf_counter() - t0}
        history.append(record)
        bar.set_postfix({k: f"{v:.4f}" for k, v in record.items() if k not in ("epoch", "seconds")})
    bar.close()
    net.cpu()
    from archrep import __version__

    task_info = task.describe()
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "method": method, "encoder": encoder,
        "variant": variant, "encoder_config": predictor.architecture_config(), "seed": int(seed),
        "dataset": {"name": ds.name, "space": ds.space, "op_vocab": list(ds.op_vocab),
                    "max_nodes": int(ds.max_nodes), "archs": len(ds), "fingerprint": ds.fingerprint()},
        "flow_config": task_info.pop("flow_config", None), "task_options": task_info,
        "training": {"epochs": epochs, "batch_size": batch_size, "optimizer": "adamw", "lr": lr,
                     "weight_decay": weight_decay},
        "seconds": time.perf_counter() - t0, "final": history[-1], "history": history,
        "archrep_version": __version__, "git_commit": git_commit(Path(__file__).parent), "revision": REVISION,
    }
    return PretrainedEncoder(manifest, net.encoder_state())


def list_methods(pattern: str = "*") -> list[str]:
    """Registered pre-training methods (pretext tasks) matching a shell pattern."""
    return TASKS.names(pattern)


__all__ = ["DEFAULT_EPOCHS", "PretrainedEncoder", "pretrain", "load", "list_methods", "TASKS"]
