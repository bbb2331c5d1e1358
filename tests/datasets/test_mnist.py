"""MNIST / FashionMNIST: the real files, downloads from a local server, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from fixture_files import fake_mnist, gzipped, idx_bytes, sha256

from minidl.datasets import MNIST, DatasetNotFoundError, FashionMNIST, IDXFormatError


@pytest.mark.parametrize("dataset", [MNIST, FashionMNIST])
@pytest.mark.parametrize(("train", "count"), [(True, 60000), (False, 10000)])
def test_real_files(shared_data, dataset, train, count):
    data = dataset(shared_data, train=train)
    assert data.data.shape == (count, 28, 28) and data.data.dtype == np.uint8
    assert data.targets.shape == (count,) and data.targets.dtype == np.int64
    assert set(np.unique(data.targets)) == set(range(10))
    image, label = data[0]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32
    assert 0 <= image.min() and image.max() <= 1 and isinstance(label, int)
    np.testing.assert_array_equal(image[0] * 255, data.data[0])
    if dataset is FashionMNIST:
        assert np.all(np.bincount(data.targets) == count // 10)


def test_known_first_labels(shared_data):
    assert MNIST(shared_data).targets[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]
    assert MNIST(shared_data, train=False).targets[:5].tolist() == [7, 2, 1, 0, 4]
    test = FashionMNIST(shared_data, train=False)
    assert test.classes[test.targets[0]] == "Ankle boot"


def test_root_defaults_to_minidl_data(shared_data, monkeypatch):
    monkeypatch.setenv("MINIDL_DATA", str(shared_data))
    assert len(MNIST(train=False)) == 10000


def test_get_batch_matches_items_and_applies_the_transform_once(shared_data):
    calls = []

    def transform(images):
        calls.append(images.shape)
        return images * 2

    data = MNIST(shared_data, train=False, transform=transform)
    indices = np.array([3, 0, 9999, 3])
    images, labels = data.get_batch(indices)
    assert images.shape == (4, 1, 28, 28) and images.dtype == np.float32
    assert calls == [(4, 1, 28, 28)]
    for row, index in enumerate(indices):
        image, label = data[int(index)]
        np.testing.assert_array_equal(images[row], image)
        assert labels[row] == label


@pytest.fixture
def served_mnist(http_server, monkeypatch):
    images, labels, files = fake_mnist(20)
    for name, content in files.items():
        http_server.files[f"mnist/{name}"] = content
    monkeypatch.setattr(MNIST, "resources", {name: sha256(c) for name, c in files.items()})
    monkeypatch.setattr(MNIST, "mirrors", [http_server.url("mnist/")])
    return images, labels


def test_download_from_a_mirror(served_mnist, http_server, tmp_path):
    images, labels = served_mnist
    train = MNIST(tmp_path, train=True, download=True)
    np.testing.assert_array_equal(train.data, images)
    np.testing.assert_array_equal(train.targets, labels)
    assert sorted(path.name for path in (tmp_path / "mnist").iterdir()) == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]
    # A second construction reads the cache and contacts nobody.
    requests = len(http_server.requests)
    MNIST(tmp_path, train=True, download=True)
    assert len(http_server.requests) == requests
    assert len(MNIST(tmp_path, train=False, download=True)) == 10


def test_falls_back_to_the_next_mirror(served_mnist, http_server, dead_url, monkeypatch, tmp_path):
    monkeypatch.setattr(MNIST, "mirrors", [dead_url, http_server.url("nowhere/"), http_server.url("mnist/")])
    assert len(MNIST(tmp_path, train=False, download=True)) == 10


def test_checksum_mismatch_is_rejected(served_mnist, monkeypatch, tmp_path):
    monkeypatch.setitem(MNIST.resources, "t10k-labels-idx1-ubyte.gz", "0" * 64)
    with pytest.raises(DatasetNotFoundError, match="checksum mismatch") as error:
        MNIST(tmp_path, train=False, download=True)
    assert "t10k-labels-idx1-ubyte.gz" in str(error.value)
    assert not (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()
    assert [p.name for p in (tmp_path / "mnist").iterdir()] == ["t10k-images-idx3-ubyte.gz"]


def test_server_dying_mid_transfer_leaves_no_file(served_mnist, http_server, tmp_path):
    http_server.cut_after["mnist/t10k-images-idx3-ubyte.gz"] = 100
    with pytest.raises(DatasetNotFoundError, match="cut off after 100 of"):
        MNIST(tmp_path, train=False, download=True)
    assert [p.name for p in (tmp_path / "mnist").iterdir()] == ["t10k-labels-idx1-ubyte.gz"]


def test_offline_error_names_files_urls_and_folder(dead_url, monkeypatch, tmp_path):
    monkeypatch.setattr(FashionMNIST, "mirrors", [dead_url, dead_url + "mirror2/"])
    with pytest.raises(DatasetNotFoundError) as error:
        FashionMNIST(tmp_path, train=True, download=True)
    message = str(error.value)
    folder = str(tmp_path / "fashion-mnist")
    assert message.startswith(f"FashionMNIST: 2 files missing from {folder}")
    for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]:
        assert f"  {name}\n" in message
        assert f"from {dead_url}{name}" in message
        assert f"or   {dead_url}mirror2/{name}" in message
    assert "cannot connect" in message
    assert f"by hand from one of the URLs into {folder}" in message
    assert error.value.__cause__ is None and error.value.__context__ is None  # no chained traceback


def test_missing_without_download_says_how_to_get_them(tmp_path):
    with pytest.raises(DatasetNotFoundError) as error:
        MNIST(tmp_path, train=False)
    message = str(error.value)
    assert "t10k-images-idx3-ubyte.gz" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert MNIST.mirrors[0] + "t10k-images-idx3-ubyte.gz" in message
    assert "download=True" in message and str(tmp_path / "mnist") in message


def test_inconsistent_files_are_rejected(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    images = np.zeros((3, 28, 28), np.uint8)
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzipped(idx_bytes(images)))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzipped(idx_bytes(np.zeros(2, np.uint8))))
    with pytest.raises(IDXFormatError, match="3 images but .* 2 labels"):
        MNIST(tmp_path, train=False)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzipped(idx_bytes(np.array([0, 1, 10], np.uint8))))
    with pytest.raises(IDXFormatError, match="label 10 is out of range"):
        MNIST(tmp_path, train=False)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzipped(idx_bytes(images)))
    with pytest.raises(IDXFormatError, match="expected uint8 labels"):
        MNIST(tmp_path, train=False)
