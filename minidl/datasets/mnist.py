"""MNIST and Fashion-MNIST from their original gzip IDX files.

Cache layout (``root`` is the ``root`` argument, else ``$MINIDL_DATA``, else
``~/.cache/minidl``)::

    <root>/mnist/train-images-idx3-ubyte.gz   train-labels-idx1-ubyte.gz
                 t10k-images-idx3-ubyte.gz    t10k-labels-idx1-ubyte.gz
    <root>/fashion-mnist/<the same four names>

Downloads try each mirror in order and keep a file only if its SHA-256 is the published
file's (the files whose MD5s torchvision checks).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from minidl.datasets.bitmap_dataset import BitmapDataset, Transform
from minidl.datasets.download import (
    DatasetNotFoundError,
    DownloadError,
    data_root,
    download_file,
    missing_files_message,
)
from minidl.datasets.idx import IDXFormatError, read_idx


class MNIST(BitmapDataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 28 x 28.

    Args:
        root: cache folder holding ``mnist/``; default ``$MINIDL_DATA`` or
            ``~/.cache/minidl``.
        train: the training set if True, else the test set.
        download: fetch missing files from :attr:`mirrors` (only the two files needed).
        transform: applied to each image (1, 28, 28), or to a whole batch
            (B, 1, 28, 28) when a DataLoader gathers batches.

    Attributes:
        data: (N, 28, 28) uint8 images. targets: (N,) int64 labels 0-9.

    ``dataset[i]`` is ``(image, label)`` with image (1, 28, 28) float32 in [0, 1].

    Example (downloads the files on first use)::

        train = MNIST(train=True, download=True)
        image, label = train[0]              # (1, 28, 28) float32, 5
        train.data.shape, train.targets[:3]  # ((60000, 28, 28), array([5, 0, 4]))
    """

    folder = "mnist"
    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    # file name -> SHA-256 of the official file.
    resources = {
        "train-images-idx3-ubyte.gz": ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        "train-labels-idx1-ubyte.gz": ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        "t10k-images-idx3-ubyte.gz": ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        "t10k-labels-idx1-ubyte.gz": ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    }
    classes = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ]  # fmt: skip

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        train: bool = True,
        download: bool = False,
        transform: Transform | None = None,
    ) -> None:
        self.root = data_root(root)
        self.train = train
        prefix = "train" if train else "t10k"
        images_file = f"{prefix}-images-idx3-ubyte.gz"
        labels_file = f"{prefix}-labels-idx1-ubyte.gz"
        self._ensure_files([images_file, labels_file], download)
        images = read_idx(self.raw_folder / images_file)
        labels = read_idx(self.raw_folder / labels_file)
        self._check(images, labels, images_file, labels_file)
        super().__init__(images, labels, transform)

    @property
    def raw_folder(self) -> Path:
        """Where this dataset's files live: ``<root>/<folder>``."""
        return self.root / self.folder

    def _ensure_files(self, names: list[str], download: bool) -> None:
        missing = [name for name in names if not (self.raw_folder / name).is_file()]
        if not missing:
            return
        sources = {name: [mirror + name for mirror in self.mirrors] for name in missing}
        name = type(self).__name__
        if not download:
            raise DatasetNotFoundError(missing_files_message(name, self.raw_folder, sources))
        failures = {}
        for file_name, urls in sources.items():
            try:
                download_file(urls, self.raw_folder / file_name, self.resources[file_name])
            except DownloadError as error:
                failures[file_name] = error
        if failures:
            failed = {file_name: sources[file_name] for file_name in failures}
            raise DatasetNotFoundError(missing_files_message(name, self.raw_folder, failed, failures))

    def _check(self, images: np.ndarray, labels: np.ndarray, images_file: str, labels_file: str) -> None:
        folder = self.raw_folder
        if images.ndim != 3 or images.dtype != np.uint8:
            raise IDXFormatError(
                f"{folder / images_file}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}"
            )
        if labels.ndim != 1 or labels.dtype != np.uint8:
            raise IDXFormatError(
                f"{folder / labels_file}: expected uint8 labels (N,), got {labels.dtype} {labels.shape}"
            )
        if len(images) != len(labels):
            raise IDXFormatError(
                f"{folder}: {images_file} holds {len(images)} images but {labels_file} holds {len(labels)} labels"
            )
        if labels.size and labels.max() >= len(self.classes):
            raise IDXFormatError(
                f"{folder / labels_file}: label {labels.max()} is out of range 0-{len(self.classes) - 1}"
            )

    def _repr_fields(self) -> dict[str, object]:
        return {"split": "train" if self.train else "test", "folder": self.raw_folder}


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28 x 28 grayscale clothing images in 10 classes, in
    MNIST's file format and sizes (60,000 train, 10,000 test). Same arguments and
    attributes as :class:`MNIST`; files live in ``<root>/fashion-mnist/``.

    Example (with the files already in ``<root>/fashion-mnist/``)::

        test = FashionMNIST(train=False)
        test.classes[test.targets[0]]        # 'Ankle boot'
    """

    folder = "fashion-mnist"
    mirrors = [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ]
    resources = {
        "train-images-idx3-ubyte.gz": ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
        "train-labels-idx1-ubyte.gz": ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
        "t10k-images-idx3-ubyte.gz": ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
        "t10k-labels-idx1-ubyte.gz": ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    }
    classes = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]  # fmt: skip
