"""Shared test fixtures.

Tests never touch the user's cache: ARCHREP_HOME points at a per-session temporary folder.
Torch runs on one thread: the test models are tiny, and on a busy 2-core machine two threads
make training steps up to a hundred times slower.
Tests that need the raw benchmark folder use the ``shared_data_dir`` fixture; it reads
``ARCHREP_DATA_DIR`` (CI points it at ../shared/data) and skips when the folder is absent.
"""
from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session", autouse=True)
def _isolated_archrep_home(tmp_path_factory):
    old = os.environ.get("ARCHREP_HOME")
    os.environ["ARCHREP_HOME"] = str(tmp_path_factory.mktemp("archrep_home"))
    yield
    if old is None:
        os.environ.pop("ARCHREP_HOME", None)
    else:
        os.environ["ARCHREP_HOME"] = old


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    value = os.environ.get("ARCHREP_DATA_DIR")
    if not value:
        default = Path(__file__).resolve().parents[2] / "shared" / "data"
        value = str(default) if default.is_dir() else ""
    if not value or not Path(value).is_dir():
        pytest.skip("set ARCHREP_DATA_DIR to the benchmark data folder (../shared/data) to run this test")
    return Path(value)


@pytest.fixture
def fake_fashion(tmp_path, monkeypatch):
    """``write(n, split="test")`` writes n random Fashion-MNIST-format images (labels cycling
    0..9) for ``split`` into a folder that ARCHREP_FASHION_MNIST_DIR points at; returns them."""
    folder = tmp_path / "fashion"
    folder.mkdir()
    monkeypatch.setenv("ARCHREP_FASHION_MNIST_DIR", str(folder))

    def write(n: int = 12, split: str = "test"):
        prefix = "train" if split == "train" else "t10k"
        images = np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", 0x803, n, 28, 28) + images.tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 0x801, n) + labels.tobytes())
        return images, labels

    return write
