"""Where archrep keeps its cache and finds benchmark data.

* ``ARCHREP_HOME`` (default ``~/.cache/archrep``): processed datasets, checked by hash.
* ``ARCHREP_DATA_DIR`` (no default): a folder of raw benchmark files laid out like
  ``shared/data`` (``nb201/nats_bench_test_acc.csv``, ``nas_bench_macro/...``). Datasets that
  need such a file say which one and where it comes from when it is absent.
"""
from __future__ import annotations

import os
from pathlib import Path


def archrep_home() -> Path:
    return Path(os.environ.get("ARCHREP_HOME") or Path.home() / ".cache" / "archrep").expanduser()


def data_dir(override: str | os.PathLike | None = None) -> Path | None:
    """The raw data folder: ``override``, else ``$ARCHREP_DATA_DIR``, else None."""
    value = override if override is not None else os.environ.get("ARCHREP_DATA_DIR")
    return Path(value).expanduser() if value else None
