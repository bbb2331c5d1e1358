"""QuickDraw: category names, Range-subset downloads from a local server, the cache,
deterministic stratified splits, the real files and corrupted copies."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from fixture_files import fake_bitmaps, npy_bytes

from minidl.datasets import QUICKDRAW_CATEGORIES, DatasetNotFoundError, QuickDraw
from minidl.datasets.quickdraw import QuickDrawFormatError, canonical_category, split_indices

REAL_CATEGORIES = ["apple", "bicycle", "cat", "diamond", "eye", "eyeglasses", "fish", "penguin"]


def test_the_category_list():
    assert len(QUICKDRAW_CATEGORIES) == 345 == len(set(QUICKDRAW_CATEGORIES))
    assert QUICKDRAW_CATEGORIES[:3] == ("aircraft carrier", "airplane", "alarm clock")
    assert QUICKDRAW_CATEGORIES[-1] == "zigzag"
    assert {"The Eiffel Tower", "teddy-bear", "t-shirt", *REAL_CATEGORIES} <= set(QUICKDRAW_CATEGORIES)


def test_names_match_ignoring_case_and_underscores():
    assert canonical_category("the_eiffel_tower") == "The Eiffel Tower"
    assert canonical_category("Hot  Air Balloon") == "hot air balloon"


def test_misspelt_category_suggests_the_closest_names():
    with pytest.raises(ValueError, match=r"no category 'penguinn' \(closest: 'penguin'"):
        canonical_category("penguinn")
    with pytest.raises(ValueError, match="'eyeglasses'"):
        QuickDraw(None, ["eyeglases"])
    with pytest.raises(ValueError, match="no close match"):
        canonical_category("qqqqqqqqqqqqq")


def test_argument_checks(tmp_path):
    with pytest.raises(ValueError, match="distinct"):
        QuickDraw(tmp_path, ["cat", "Cat"])
    with pytest.raises(ValueError, match="split must be one of"):
        QuickDraw(tmp_path, ["cat"], split="validation")
    with pytest.raises(ValueError, match="max_per_class"):
        QuickDraw(tmp_path, ["cat"], max_per_class=0)


@pytest.mark.parametrize("n", [0, 1, 9, 10, 11, 3000, 5001])
def test_splits_partition_the_rows(n):
    parts = [split_indices(n, split, 0, "cat") for split in ("train", "val", "test")]
    assert sorted(np.concatenate(parts).tolist()) == list(range(n))
    assert len(parts[1]) == len(parts[2]) == n // 10
    np.testing.assert_array_equal(parts[0], split_indices(n, "train", 0, "cat"))
    if n >= 100:
        assert not np.array_equal(parts[1], split_indices(n, "val", 1, "cat"))
        assert not np.array_equal(parts[1], split_indices(n, "val", 0, "dog"))


def test_real_files(shared_data):
    for category in REAL_CATEGORIES:
        rows = np.load(shared_data / "quickdraw" / f"{category}.npy", allow_pickle=False)
        assert rows.dtype == np.uint8 and rows.ndim == 2 and rows.shape[1] == 784
    train = QuickDraw(shared_data, ["cat", "fish", "penguin"], max_per_class=3000)
    assert train.classes == ["cat", "fish", "penguin"]
    assert train.data.shape == (3 * 2400, 28, 28) and train.data.dtype == np.uint8
    assert np.bincount(train.targets).tolist() == [2400, 2400, 2400]
    image, label = train[0]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32 and label == 0
    assert image.min() == 0 and image.max() == 1
    cat = np.load(shared_data / "quickdraw" / "cat.npy", allow_pickle=False)[:3000]
    expected = cat[split_indices(3000, "train", 0, "cat")].reshape(-1, 28, 28)
    np.testing.assert_array_equal(train.data[:2400], expected)


def test_real_splits_are_disjoint_and_stratified(shared_data):
    splits = {
        s: QuickDraw(shared_data, ["apple", "eye"], max_per_class=1000, split=s) for s in ("train", "val", "test")
    }
    assert {s: np.bincount(d.targets).tolist() for s, d in splits.items()} == {
        "train": [800, 800],
        "val": [100, 100],
        "test": [100, 100],
    }
    apple = np.load(shared_data / "quickdraw" / "apple.npy", allow_pickle=False)[:1000]
    seen = np.concatenate([d.data[d.targets == 0].reshape(-1, 784) for d in splits.values()])
    assert sorted(map(bytes, seen)) == sorted(map(bytes, apple))
    again = QuickDraw(shared_data, ["apple", "eye"], max_per_class=1000, split="val")
    np.testing.assert_array_equal(again.data, splits["val"].data)


def test_cached_file_shorter_than_asked_warns_and_uses_its_rows(shared_data):
    with pytest.warns(UserWarning, match="holds 3000 rows, fewer than max_per_class=4000"):
        data = QuickDraw(shared_data, ["diamond"], max_per_class=4000, split="test")
    assert len(data) == 300


@pytest.fixture
def served_quickdraw(http_server, monkeypatch):
    """Two category files of 500 rows on the server, as Google lays them out."""
    rows = {"cat": fake_bitmaps(500, seed=1), "The Eiffel Tower": fake_bitmaps(500, seed=2)}
    for name, array in rows.items():
        http_server.files[f"numpy_bitmap/{name}.npy"] = npy_bytes(array)
    monkeypatch.setattr(QuickDraw, "mirrors", [http_server.url("numpy_bitmap/")])
    return rows


def test_range_download_caches_a_valid_subset(served_quickdraw, http_server, tmp_path):
    data = QuickDraw(tmp_path, ["cat", "the eiffel tower"], max_per_class=100, download=True)
    assert sorted(ranges for _, ranges in http_server.requests) == [f"bytes=0-{4096 + 100 * 784 - 1}"] * 2
    whole_files = sum(len(content) for content in http_server.files.values())
    assert http_server.bytes_sent == 2 * (4096 + 100 * 784) < whole_files
    for name in ["cat", "The Eiffel Tower"]:
        cached = np.load(tmp_path / "quickdraw" / f"{name}.npy", allow_pickle=False)
        np.testing.assert_array_equal(cached, served_quickdraw[name][:100])
    assert len(data) == 2 * 80
    assert sorted(path.name for path in (tmp_path / "quickdraw").iterdir()) == ["The Eiffel Tower.npy", "cat.npy"]


def test_asking_for_more_rows_fetches_them(served_quickdraw, http_server, tmp_path):
    QuickDraw(tmp_path, ["cat"], max_per_class=50, download=True)
    QuickDraw(tmp_path, ["cat"], max_per_class=40, download=True)  # served from the cache
    assert len(http_server.requests) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = QuickDraw(tmp_path, ["cat"], max_per_class=200, download=True, split="val")
    assert len(http_server.requests) == 2 and len(data) == 20
    cached = np.load(tmp_path / "quickdraw" / "cat.npy", allow_pickle=False)
    np.testing.assert_array_equal(cached, served_quickdraw["cat"][:200])


def test_more_rows_than_the_remote_file_holds(served_quickdraw, tmp_path):
    data = QuickDraw(tmp_path, ["cat"], max_per_class=10_000, download=True, split="test")
    assert len(data) == 50
    assert np.load(tmp_path / "quickdraw" / "cat.npy", allow_pickle=False).shape == (500, 784)


def test_whole_file_download(served_quickdraw, http_server, tmp_path):
    data = QuickDraw(tmp_path, ["cat"], download=True)
    assert http_server.requests == [("numpy_bitmap/cat.npy", None)]
    assert len(data) == 400
    cached = np.load(tmp_path / "quickdraw" / "cat.npy", allow_pickle=False)
    np.testing.assert_array_equal(cached, served_quickdraw["cat"])


def test_server_ignoring_range(served_quickdraw, http_server, tmp_path):
    http_server.ignore_range = True
    QuickDraw(tmp_path, ["cat"], max_per_class=30, download=True)
    cached = np.load(tmp_path / "quickdraw" / "cat.npy", allow_pickle=False)
    np.testing.assert_array_equal(cached, served_quickdraw["cat"][:30])


def test_transfer_cut_off_leaves_no_file(served_quickdraw, http_server, tmp_path):
    http_server.cut_after["numpy_bitmap/cat.npy"] = 5000
    with pytest.raises(DatasetNotFoundError, match="cut off after 5000 of"):
        QuickDraw(tmp_path, ["cat"], max_per_class=100, download=True)
    assert not (tmp_path / "quickdraw").exists() or not any((tmp_path / "quickdraw").iterdir())
    http_server.cut_after["numpy_bitmap/cat.npy"] = 200_000
    with pytest.raises(DatasetNotFoundError, match="cut off after 200000 of"):
        QuickDraw(tmp_path, ["cat"], download=True)
    assert not any((tmp_path / "quickdraw").iterdir())


def test_a_foreign_file_on_the_server_is_rejected(http_server, monkeypatch, tmp_path):
    http_server.files["cat.npy"] = npy_bytes(np.zeros((10, 28, 28), np.uint8))
    http_server.files["fish.npy"] = b"<html>not found</html>" * 100
    monkeypatch.setattr(QuickDraw, "mirrors", [http_server.url()])
    with pytest.raises(DatasetNotFoundError, match=r"expected a C-ordered uint8 array \(N, 784\)"):
        QuickDraw(tmp_path, ["cat"], max_per_class=5, download=True)
    with pytest.raises(DatasetNotFoundError, match="not a valid .npy file"):
        QuickDraw(tmp_path, ["fish"], download=True)
    assert not any((tmp_path / "quickdraw").iterdir())


def test_offline_error_names_files_urls_and_folder(dead_url, monkeypatch, tmp_path):
    monkeypatch.setattr(QuickDraw, "mirrors", [dead_url])
    with pytest.raises(DatasetNotFoundError) as error:
        QuickDraw(tmp_path, ["cat", "The Eiffel Tower"], max_per_class=10, download=True)
    message = str(error.value)
    assert message.startswith(f"QuickDraw: 2 files missing from {tmp_path / 'quickdraw'}")
    assert f"from {dead_url}cat.npy" in message
    assert f"from {dead_url}The%20Eiffel%20Tower.npy" in message
    assert "cannot connect" in message


def test_offline_with_a_short_cache_warns_and_uses_it(dead_url, monkeypatch, tmp_path):
    (tmp_path / "quickdraw").mkdir()
    np.save(tmp_path / "quickdraw" / "cat.npy", fake_bitmaps(20))
    monkeypatch.setattr(QuickDraw, "mirrors", [dead_url])
    with pytest.warns(UserWarning, match="holds 20 rows.*the download failed"):
        data = QuickDraw(tmp_path, ["cat"], max_per_class=100, download=True)
    assert len(data) == 16


def test_missing_without_download(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="download=True") as error:
        QuickDraw(tmp_path, ["cat"])
    assert QuickDraw.mirrors[0] + "cat.npy" in str(error.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (npy_bytes(np.zeros((4, 784), np.float32)), "expected a C-ordered uint8"),
        (npy_bytes(np.zeros((4, 784), np.uint8))[:-100], "unreadable .npy file"),
        (b"\x93NUMPY garbage", "not a valid .npy file"),
        (npy_bytes(np.asfortranarray(np.zeros((4, 784), np.uint8))), "Fortran order"),
    ],
)
def test_corrupted_cache_files(tmp_path, content, message):
    (tmp_path / "quickdraw").mkdir()
    (tmp_path / "quickdraw" / "cat.npy").write_bytes(content)
    with pytest.raises(QuickDrawFormatError, match=message):
        QuickDraw(tmp_path, ["cat"])


def test_corrupted_copy_of_a_real_file(shared_data, tmp_path):
    (tmp_path / "quickdraw").mkdir()
    original = (shared_data / "quickdraw" / "fish.npy").read_bytes()
    (tmp_path / "quickdraw" / "fish.npy").write_bytes(original[: len(original) // 2])
    with pytest.raises(QuickDrawFormatError, match="delete it and download it again"):
        QuickDraw(tmp_path, ["fish"])
