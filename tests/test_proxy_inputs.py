"""Real input images for the proxies (archrep.proxies.inputs)."""
from __future__ import annotations

import struct
import sys
import zlib

import numpy as np
import pytest
import torch

from archrep.errors import ArchrepError, MissingDependencyError
from archrep.proxies import inputs

#: labels of the first 20 CIFAR-10 test images
CIFAR10_FIRST_20 = [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6]


def _write_png(path, img: np.ndarray) -> None:
    """A PNG whose row r uses filter type r % 5 (so the decoder meets all five)."""
    h, w, c = img.shape
    a = img.astype(np.int32).reshape(h, w * c)
    rows, prev = [], np.zeros(w * c, np.int32)
    for r in range(h):
        kind, line = r % 5, a[r]
        left = np.concatenate([np.zeros(c, np.int32), line[:-c]])
        up_left = np.concatenate([np.zeros(c, np.int32), prev[:-c]])
        if kind == 4:
            p = left + prev - up_left
            pa, pb, pc = abs(p - left), abs(p - prev), abs(p - up_left)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, up_left))
        else:
            pred = [np.zeros_like(line), left, prev, (left + prev) // 2][kind]
        rows.append(bytes([kind]) + ((line - pred) & 255).astype(np.uint8).tobytes())
        prev = line

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    color = {1: 0, 3: 2, 4: 6}[c]
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png_decoder_handles_every_filter(tmp_path, channels):
    img = np.random.default_rng(0).integers(0, 256, (11, 7, channels), dtype=np.uint8)
    _write_png(tmp_path / "x.png", img)
    assert np.array_equal(inputs.read_png(tmp_path / "x.png"), img)
    (tmp_path / "bad.png").write_bytes(b"GIF89a")
    with pytest.raises(ArchrepError, match="not a PNG"):
        inputs.read_png(tmp_path / "bad.png")


def test_fashion_mnist_padded_to_32x32x3(fake_fashion):
    images, labels = fake_fashion()
    batch = inputs.load_images("fashion-mnist", 5, seed=1)
    assert batch.x.shape == (5, 3, 32, 32) and batch.source == "fashion-mnist"
    assert torch.equal(batch.x[:, 0], batch.x[:, 2])
    background = (0 - inputs.FASHION_MEAN) / inputs.FASHION_STD
    assert torch.allclose(batch.x[:, :, :2], torch.full_like(batch.x[:, :, :2], background))
    idx = [int(np.flatnonzero(labels == int(lab))[0]) for lab in batch.y]  # labels are 0..9, then 0, 1
    restored = batch.x[:, 0, 2:30, 2:30] * inputs.FASHION_STD + inputs.FASHION_MEAN
    for k, i in enumerate(idx):
        if int(batch.y[k]) >= 2:  # unique label -> unique image
            assert torch.allclose(restored[k] * 255, torch.from_numpy(images[i]).float(), atol=1e-3)
    assert torch.equal(inputs.load_images("fashion-mnist", 5, seed=1).x, batch.x)
    with pytest.raises(ArchrepError, match="has 12 images, 50 were asked"):
        inputs.load_images("fashion-mnist", 50)


def test_no_real_images_names_the_packages(tmp_path, monkeypatch):
    monkeypatch.setattr(inputs, "_foolbox_data_dir", lambda: None)
    monkeypatch.setenv("ARCHREP_FASHION_MNIST_DIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(MissingDependencyError, match="foolbox.*dataset-fashion-mnist.*scikit-learn"):
        inputs.load_images("auto", 8)
    with pytest.raises(MissingDependencyError, match="pip install --no-deps foolbox"):
        inputs.load_images("cifar10")
    gauss = inputs.load_images("gaussian", 4, seed=2)  # synthetic only when asked for
    assert gauss.x.shape == (4, 3, 32, 32) and torch.equal(gauss.x, inputs.load_images("gaussian", 4, seed=2).x)
    with pytest.raises(ArchrepError, match="unknown image source"):
        inputs.load_images("imagenet")


def test_cifar10_images_from_foolbox():
    if inputs._foolbox_data_dir() is None:
        pytest.skip("needs PyPI foolbox (its 20 CIFAR-10 images): pip install --no-deps foolbox")
    batch = inputs.load_images("cifar10")
    assert batch.x.shape == (20, 3, 32, 32) and batch.y.tolist() == CIFAR10_FIRST_20
    assert abs(float(batch.x.mean())) < 0.3 and 0.7 < float(batch.x.std()) < 1.3
    assert inputs.load_images("cifar10", 8, seed=0).x.shape[0] == 8
    with pytest.raises(ArchrepError, match="fashion-mnist"):
        inputs.load_images("cifar10", 64)


def test_real_fashion_mnist_when_installed():
    if not (inputs.FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("needs the Debian package dataset-fashion-mnist: apt-get install dataset-fashion-mnist")
    images, labels = inputs.fashion_mnist("test", inputs.FASHION_MNIST_DIR)
    assert images.shape == (10000, 28, 28) and labels[:5].tolist() == [9, 2, 1, 1, 6]
