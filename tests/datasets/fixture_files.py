"""Fixture files the tests write themselves: IDX (gzip), .npy, and fake datasets."""

from __future__ import annotations

import gzip
import hashlib
import io

import numpy as np


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def fake_mnist(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict[str, bytes]]:
    """Random images (n, 28, 28), labels (n,) and the four gzip IDX files holding them
    (the test files hold the first n // 2 samples)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    half = n // 2
    files = {
        "train-images-idx3-ubyte.gz": gzipped(idx_bytes(images)),
        "train-labels-idx1-ubyte.gz": gzipped(idx_bytes(labels)),
        "t10k-images-idx3-ubyte.gz": gzipped(idx_bytes(images[:half])),
        "t10k-labels-idx1-ubyte.gz": gzipped(idx_bytes(labels[:half])),
    }
    return images, labels, files


def fake_bitmaps(n: int, seed: int = 0) -> np.ndarray:
    """Random Quick, Draw!-like rows (n, 784) uint8."""
    return np.random.default_rng(seed).integers(0, 256, size=(n, 784), dtype=np.uint8)
