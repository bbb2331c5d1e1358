"""default_collate and default_convert (they need minidl's Tensor)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("minidl.tensor")

import minidl as md  # noqa: E402
from minidl.data import default_collate, default_convert  # noqa: E402


def test_arrays_and_labels():
    samples = [(np.full((1, 2, 2), i, np.float32), i) for i in range(5)]
    images, labels = default_collate(samples)
    assert isinstance(images, md.Tensor) and images.shape == (5, 1, 2, 2)
    assert images.dtype == np.float32 and labels.dtype == np.int64
    np.testing.assert_array_equal(labels.numpy(), np.arange(5))
    np.testing.assert_array_equal(images.numpy()[:, 0, 0, 0], np.arange(5))


def test_python_scalars_strings_and_dicts():
    batch = default_collate([{"x": 1.5, "flag": True, "name": "a"}, {"x": 2.5, "flag": False, "name": "b"}])
    assert batch["x"].dtype == np.float64 and batch["flag"].dtype == np.bool_
    assert batch["name"] == ["a", "b"]
    assert default_collate([np.float32(1), np.float32(2)]).dtype == np.float32


def test_tensors_are_stacked():
    batch = default_collate([md.from_numpy(np.ones(3, np.float32)) for _ in range(4)])
    assert batch.shape == (4, 3)


def test_errors():
    with pytest.raises(ValueError, match="different lengths"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="collate_fn"):
        default_collate([object()])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])


def test_convert_shares_memory_and_keeps_structure():
    images = np.zeros((4, 1, 2, 2), np.float32)
    converted = default_convert((images, np.arange(4), {"k": np.ones(2)}, "text"))
    assert isinstance(converted, list) and converted[3] == "text"
    converted[0].numpy()[0, 0, 0, 0] = 7
    assert images[0, 0, 0, 0] == 7
    assert converted[1].dtype == np.int64 and isinstance(converted[2]["k"], md.Tensor)
