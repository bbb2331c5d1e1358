"""The IDX parser on hand-made bytes, on the real MNIST files and on corrupted copies."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from fixture_files import gzipped, idx_bytes
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minidl.datasets.idx import IDXFormatError, parse_idx, read_idx


@given(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5)))
def test_round_trip_of_any_uint8_array(array):
    parsed = parse_idx(idx_bytes(array))
    assert parsed.shape == array.shape and parsed.dtype == np.uint8
    np.testing.assert_array_equal(parsed, array)


@pytest.mark.parametrize(("type_code", "dtype"), [(0x0B, ">i2"), (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8")])
def test_wider_types_are_big_endian(type_code, dtype):
    values = np.array([[1, -2], [300, 4]], dtype=dtype)
    parsed = parse_idx(bytes([0, 0, type_code, 2, 0, 0, 0, 2, 0, 0, 0, 2]) + values.tobytes())
    np.testing.assert_array_equal(parsed, values.astype(dtype.replace(">", "=")))
    assert parsed.dtype.isnative


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x00", "bad IDX magic"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x00", "bad IDX magic"),
        (b"\x00\x00\x08\x00", "bad IDX magic"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x02", "header cut off"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", "data is 10 bytes"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "data is 10 bytes"),
    ],
)
def test_malformed_bytes_are_rejected(data, message):
    with pytest.raises(IDXFormatError, match=message):
        parse_idx(data, "bad.idx")


def test_plain_and_gzip_files(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a-idx3-ubyte").write_bytes(idx_bytes(array))
    (tmp_path / "a-idx3-ubyte.gz").write_bytes(gzipped(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(tmp_path / "a-idx3-ubyte"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "a-idx3-ubyte.gz"), array)


@pytest.mark.parametrize(
    ("folder", "name", "shape"),
    [
        ("mnist", "train-images-idx3-ubyte.gz", (60000, 28, 28)),
        ("mnist", "train-labels-idx1-ubyte.gz", (60000,)),
        ("mnist", "t10k-images-idx3-ubyte.gz", (10000, 28, 28)),
        ("mnist", "t10k-labels-idx1-ubyte.gz", (10000,)),
        ("fashion-mnist", "t10k-images-idx3-ubyte.gz", (10000, 28, 28)),
        ("fashion-mnist", "t10k-labels-idx1-ubyte.gz", (10000,)),
    ],
)
def test_real_files(shared_data, folder, name, shape):
    array = read_idx(shared_data / folder / name)
    assert array.shape == shape and array.dtype == np.uint8
    if len(shape) == 1:
        assert set(np.unique(array)) == set(range(10))
    else:
        assert array.max() == 255 and array.min() == 0


def test_corrupted_copies_of_a_real_file(shared_data, tmp_path):
    original = (shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    raw = gzip.decompress(original)

    truncated_gzip = tmp_path / "truncated-idx1-ubyte.gz"
    truncated_gzip.write_bytes(original[: len(original) // 2])
    with pytest.raises(IDXFormatError, match="not a valid gzip file"):
        read_idx(truncated_gzip)

    not_gzip = tmp_path / "plain-bytes-idx1-ubyte.gz"
    not_gzip.write_bytes(raw)
    with pytest.raises(IDXFormatError, match="not a valid gzip file"):
        read_idx(not_gzip)

    short_data = tmp_path / "short-idx1-ubyte.gz"
    short_data.write_bytes(gzipped(raw[:-1]))
    with pytest.raises(IDXFormatError, match=r"short-idx1-ubyte\.gz.*shape \(10000,\)"):
        read_idx(short_data)

    bad_magic = tmp_path / "magic-idx1-ubyte.gz"
    bad_magic.write_bytes(gzipped(b"\x08\x01\x00\x00" + raw[4:]))
    with pytest.raises(IDXFormatError, match="bad IDX magic number 0x08010000"):
        read_idx(bad_magic)


@given(st.binary(max_size=64))
def test_arbitrary_bytes_parse_or_raise_idx_error(data):
    try:
        parse_idx(data)
    except IDXFormatError:
        pass
