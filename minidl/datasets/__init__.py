"""Datasets with checksummed downloads into one cache folder (``root`` argument, else
``$MINIDL_DATA``, else ``~/.cache/minidl``)::

    <root>/mnist/          the four MNIST IDX .gz files
    <root>/fashion-mnist/  the four Fashion-MNIST IDX .gz files
    <root>/quickdraw/      <category>.npy, whole or the first rows (a valid .npy)

Example (downloads into the cache folder on first use)::

    from minidl.datasets import MNIST, QuickDraw
    train = MNIST(train=True, download=True)
    doodles = QuickDraw(None, ["cat", "fish"], max_per_class=5000, download=True)
"""

from minidl.datasets.download import DatasetNotFoundError, DownloadError, data_root
from minidl.datasets.idx import IDXFormatError, read_idx
from minidl.datasets.mnist import MNIST, FashionMNIST
from minidl.datasets.quickdraw import QUICKDRAW_CATEGORIES, QuickDraw, QuickDrawFormatError

__all__ = [
    "MNIST",
    "QUICKDRAW_CATEGORIES",
    "DatasetNotFoundError",
    "DownloadError",
    "FashionMNIST",
    "IDXFormatError",
    "QuickDraw",
    "QuickDrawFormatError",
    "data_root",
    "read_idx",
]
