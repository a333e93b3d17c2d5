"""What the generative models share: their folder format, ``config.json`` (format, model name,
config) and ``model.pt`` (a state dict of tensors, read with ``weights_only=True``), both written
atomically; and how a config dataclass is made from a dict or from keyword options."""
from __future__ import annotations

import io
import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch

from archrep.data.cache import atomic_write_bytes
from archrep.errors import ArchrepError

CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.pt"


def config_from_dict(cls: type, d: dict, model: str) -> Any:
    """``cls(**d)``, refusing unknown keys with the list of valid ones."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ArchrepError(f"{model}: unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(names))}")
    return cls(**d)


def resolve_config(cls: type, config: Any, options: dict, model: str) -> Any:
    """The ``cls`` config of ``config`` (None, a dict or a ``cls``) updated with ``options``."""
    if config is None:
        return config_from_dict(cls, options, model)
    if isinstance(config, dict):
        return config_from_dict(cls, {**config, **options}, model)
    return config_from_dict(cls, {**asdict(config), **options}, model) if options else config


def save_folder(path: str | Path, model: str, fmt: int, config: dict, state: dict[str, torch.Tensor]) -> Path:
    """Write ``config`` and ``state`` of a ``model`` of format ``fmt`` into the folder ``path``."""
    path = Path(path)
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path / WEIGHTS_FILE, buf.getvalue())
    atomic_write_bytes(path / CONFIG_FILE, json.dumps({"format": fmt, "model": model, "config": config},
                                                      indent=1).encode())
    return path


def read_config(path: str | Path, model: str, fmt: int, what: str) -> dict:
    """The config saved in ``path``, or ArchrepError when it is not a format-``fmt`` ``model`` folder."""
    path = Path(path)
    try:
        meta = json.loads((path / CONFIG_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArchrepError(f"{model}: cannot read {path / CONFIG_FILE}: {exc}") from None
    if meta.get("model") != model or meta.get("format") != fmt:
        raise ArchrepError(f"{model}: {path} is not a format-{fmt} {what} folder")
    return meta["config"]


def read_state(path: str | Path, device: torch.device | str) -> dict[str, torch.Tensor]:
    return torch.load(Path(path) / WEIGHTS_FILE, map_location=device, weights_only=True)


__all__ = ["CONFIG_FILE", "WEIGHTS_FILE", "config_from_dict", "resolve_config", "save_folder", "read_config",
           "read_state"]
