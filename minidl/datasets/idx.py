"""Reader for the IDX format of MNIST and Fashion-MNIST (gzip-compressed or plain).

Layout (all integers big-endian)::

    bytes 0-1   0x00 0x00
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    then        d uint32 sizes, then the elements in C order

So ``train-images-idx3-ubyte`` starts with magic 0x00000803 and sizes (60000, 28, 28),
``train-labels-idx1-ubyte`` with 0x00000801 and (60000,).
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IDXFormatError(ValueError):
    """A file is not a well-formed IDX file (bad magic, unknown type, wrong length)."""


def parse_idx(buffer: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode uncompressed IDX bytes into an array of the stored shape, native byte order.

    ``source`` names the file in error messages.

    Example:
        >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]))
        array([7, 9], dtype=uint8)
    """
    if len(buffer) < 4:
        raise IDXFormatError(f"{source}: {len(buffer)} bytes is too short for an IDX header")
    zero, type_code, ndim = int.from_bytes(buffer[:2], "big"), buffer[2], buffer[3]
    if zero != 0 or type_code not in IDX_DTYPES or ndim == 0:
        raise IDXFormatError(
            f"{source}: bad IDX magic number 0x{buffer[:4].hex()} "
            "(expected 0x0000TTDD with a known type TT and DD >= 1 dimensions)"
        )
    header_size = 4 + 4 * ndim
    if len(buffer) < header_size:
        raise IDXFormatError(f"{source}: header cut off ({len(buffer)} bytes)")
    shape = tuple(int.from_bytes(buffer[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_DTYPES[type_code]
    expected = header_size + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(buffer) != expected:
        raise IDXFormatError(
            f"{source}: header says shape {shape} of {dtype.name} ({expected} bytes "
            f"with the header) but the data is {len(buffer)} bytes"
        )
    array = np.frombuffer(buffer, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file; names ending in ``.gz`` are decompressed first.

    Raises:
        IDXFormatError: the file is malformed, truncated or not valid gzip.

    Example::

        labels = read_idx("mnist/t10k-labels-idx1-ubyte.gz")   # (10000,) uint8
    """
    path = Path(path)
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                buffer = handle.read()
        else:
            buffer = path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise IDXFormatError(f"{path}: not a valid gzip file ({error}); delete it and download it again") from None
    return parse_idx(buffer, str(path))
