"""Google's Quick, Draw! drawings as 28 x 28 bitmaps (``numpy_bitmap/<category>.npy``).

Each category file is a plain ``.npy`` of an (N, 784) uint8 array (0 background, 255 ink),
N around 100,000-300,000, so a whole file is 100+ MB. With ``max_per_class`` set, only the
``.npy`` header and the first ``max_per_class`` rows are fetched with an HTTP Range
request, and cached as a valid ``.npy`` holding those rows::

    <root>/quickdraw/<category>.npy        e.g. <root>/quickdraw/The Eiffel Tower.npy

A cached file with fewer rows than asked for is topped up (re-fetched to the new length)
when ``download=True``; with ``download=False``, or if the fetch fails, the rows it holds
are used and a warning says so. With ``max_per_class=None`` a cached file is used as it
is (delete a cached subset to fetch the whole file).

Splits are stratified and deterministic: each class's rows are permuted by a generator
seeded from ``(seed, crc32(category))`` and cut 80 / 10 / 10 % into train / val / test
(``n // 10`` rows each for val and test, the rest for train).
"""

from __future__ import annotations

import difflib
import io
import os
import urllib.parse
import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from minidl.datasets.bitmap_dataset import BitmapDataset, Transform
from minidl.datasets.download import (
    DatasetNotFoundError,
    DownloadError,
    atomic_write,
    data_root,
    download_file,
    download_prefix,
    missing_files_message,
)

# The 345 categories, as in categories.txt of github.com/googlecreativelab/quickdraw-dataset.
QUICKDRAW_CATEGORIES = (
    "aircraft carrier", "airplane", "alarm clock", "ambulance", "angel",
    "animal migration", "ant", "anvil", "apple", "arm", "asparagus", "axe", "backpack",
    "banana", "bandage", "barn", "baseball", "baseball bat", "basket", "basketball",
    "bat", "bathtub", "beach", "bear", "beard", "bed", "bee", "belt", "bench",
    "bicycle", "binoculars", "bird", "birthday cake", "blackberry", "blueberry", "book",
    "boomerang", "bottlecap", "bowtie", "bracelet", "brain", "bread", "bridge",
    "broccoli", "broom", "bucket", "bulldozer", "bus", "bush", "butterfly", "cactus",
    "cake", "calculator", "calendar", "camel", "camera", "camouflage", "campfire",
    "candle", "cannon", "canoe", "car", "carrot", "castle", "cat", "ceiling fan",
    "cello", "cell phone", "chair", "chandelier", "church", "circle", "clarinet",
    "clock", "cloud", "coffee cup", "compass", "computer", "cookie", "cooler", "couch",
    "cow", "crab", "crayon", "crocodile", "crown", "cruise ship", "cup", "diamond",
    "dishwasher", "diving board", "dog", "dolphin", "donut", "door", "dragon",
    "dresser", "drill", "drums", "duck", "dumbbell", "ear", "elbow", "elephant",
    "envelope", "eraser", "eye", "eyeglasses", "face", "fan", "feather", "fence",
    "finger", "fire hydrant", "fireplace", "firetruck", "fish", "flamingo",
    "flashlight", "flip flops", "floor lamp", "flower", "flying saucer", "foot", "fork",
    "frog", "frying pan", "garden", "garden hose", "giraffe", "goatee", "golf club",
    "grapes", "grass", "guitar", "hamburger", "hammer", "hand", "harp", "hat",
    "headphones", "hedgehog", "helicopter", "helmet", "hexagon", "hockey puck",
    "hockey stick", "horse", "hospital", "hot air balloon", "hot dog", "hot tub",
    "hourglass", "house", "house plant", "hurricane", "ice cream", "jacket", "jail",
    "kangaroo", "key", "keyboard", "knee", "knife", "ladder", "lantern", "laptop",
    "leaf", "leg", "light bulb", "lighter", "lighthouse", "lightning", "line", "lion",
    "lipstick", "lobster", "lollipop", "mailbox", "map", "marker", "matches",
    "megaphone", "mermaid", "microphone", "microwave", "monkey", "moon", "mosquito",
    "motorbike", "mountain", "mouse", "moustache", "mouth", "mug", "mushroom", "nail",
    "necklace", "nose", "ocean", "octagon", "octopus", "onion", "oven", "owl",
    "paintbrush", "paint can", "palm tree", "panda", "pants", "paper clip", "parachute",
    "parrot", "passport", "peanut", "pear", "peas", "pencil", "penguin", "piano",
    "pickup truck", "picture frame", "pig", "pillow", "pineapple", "pizza", "pliers",
    "police car", "pond", "pool", "popsicle", "postcard", "potato", "power outlet",
    "purse", "rabbit", "raccoon", "radio", "rain", "rainbow", "rake", "remote control",
    "rhinoceros", "rifle", "river", "roller coaster", "rollerskates", "sailboat",
    "sandwich", "saw", "saxophone", "school bus", "scissors", "scorpion", "screwdriver",
    "sea turtle", "see saw", "shark", "sheep", "shoe", "shorts", "shovel", "sink",
    "skateboard", "skull", "skyscraper", "sleeping bag", "smiley face", "snail",
    "snake", "snorkel", "snowflake", "snowman", "soccer ball", "sock", "speedboat",
    "spider", "spoon", "spreadsheet", "square", "squiggle", "squirrel", "stairs",
    "star", "steak", "stereo", "stethoscope", "stitches", "stop sign", "stove",
    "strawberry", "streetlight", "string bean", "submarine", "suitcase", "sun", "swan",
    "sweater", "swing set", "sword", "syringe", "table", "teapot", "teddy-bear",
    "telephone", "television", "tennis racquet", "tent", "The Eiffel Tower",
    "The Great Wall of China", "The Mona Lisa", "tiger", "toaster", "toe", "toilet",
    "tooth", "toothbrush", "toothpaste", "tornado", "tractor", "traffic light", "train",
    "tree", "triangle", "trombone", "truck", "trumpet", "t-shirt", "umbrella",
    "underwear", "van", "vase", "violin", "washing machine", "watermelon", "waterslide",
    "whale", "wheel", "windmill", "wine bottle", "wine glass", "wristwatch", "yoga",
    "zebra", "zigzag",
)  # fmt: skip

IMAGE_SIZE = 28
ROW_BYTES = IMAGE_SIZE * IMAGE_SIZE
# Bytes requested beyond the rows for the .npy header (numpy writes 128 or fewer).
HEADER_ALLOWANCE = 4096
SPLITS = ("train", "val", "test")


class QuickDrawFormatError(ValueError):
    """A file is not a Quick, Draw! bitmap ``.npy`` ((N, 784) uint8, C order)."""


def _category_key(name: str) -> str:
    return " ".join(name.replace("_", " ").lower().split())


_CATEGORY_BY_KEY = {_category_key(name): name for name in QUICKDRAW_CATEGORIES}


def canonical_category(name: str) -> str:
    """The official spelling of a category, matched ignoring case and ``_`` vs space.

    Raises:
        ValueError: no such category; the message lists the closest names.

    Example:
        >>> canonical_category("the_eiffel_tower")
        'The Eiffel Tower'
    """
    key = _category_key(name)
    if key in _CATEGORY_BY_KEY:
        return _CATEGORY_BY_KEY[key]
    close = difflib.get_close_matches(key, list(_CATEGORY_BY_KEY), n=5, cutoff=0.6)
    hint = "closest: " + ", ".join(repr(_CATEGORY_BY_KEY[k]) for k in close) if close else "no close match"
    raise ValueError(f"QuickDraw has no category {name!r} ({hint}); minidl.datasets.QUICKDRAW_CATEGORIES lists all 345")


def split_indices(n: int, split: str, seed: int, category: str) -> np.ndarray:
    """Sorted row indices of ``split`` among a category's first ``n`` rows: a permutation
    seeded by ``(seed, crc32(category))`` cut into 80 % train, 10 % val, 10 % test.

    Example:
        >>> len(split_indices(3000, "val", 0, "cat"))
        300
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    order = np.random.default_rng([seed, zlib.crc32(category.encode())]).permutation(n)
    n_val = n_test = n // 10
    n_train = n - n_val - n_test
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, n)}
    start, stop = bounds[split]
    return np.sort(order[start:stop])


def _parse_npy_header(handle: io.IOBase, source: str) -> tuple[int, int]:
    """Read a bitmap ``.npy`` header from ``handle``: (header length in bytes, rows)."""
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(handle)
    except ValueError as error:
        raise QuickDrawFormatError(f"{source}: not a valid .npy file ({error})") from None
    if dtype != np.uint8 or fortran_order or len(shape) != 2 or shape[1] != ROW_BYTES:
        raise QuickDrawFormatError(
            f"{source}: expected a C-ordered uint8 array (N, {ROW_BYTES}), got "
            f"{dtype} {shape}{' in Fortran order' if fortran_order else ''}"
        )
    return handle.tell(), shape[0]


def _rows_in(path: Path) -> int:
    with open(path, "rb") as handle:
        return _parse_npy_header(handle, str(path))[1]


def _check_bitmap_file(path: Path) -> None:
    with open(path, "rb") as handle:
        header_length, rows = _parse_npy_header(handle, str(path))
    if path.stat().st_size != header_length + rows * ROW_BYTES:
        raise QuickDrawFormatError(f"{path}: {path.stat().st_size} bytes, but its header announces {rows} rows")


def download_rows(urls: Sequence[str], destination: Path, rows: int) -> int:
    """Fetch the header and first ``rows`` rows of a remote bitmap ``.npy`` with a Range
    request and save them at ``destination`` as a valid ``.npy`` (N, 784) uint8.

    Returns the number of rows saved: ``rows``, or fewer if the remote file is shorter.

    Example (needs the network)::

        download_rows([QuickDraw.mirrors[0] + "cat.npy"], Path("cat.npy"), 1000)   # 1000
    """
    wanted = HEADER_ALLOWANCE + rows * ROW_BYTES
    data = download_prefix(urls, wanted)
    try:
        header_length, remote_rows = _parse_npy_header(io.BytesIO(data), urls[0])
    except QuickDrawFormatError as error:
        raise DownloadError(destination.name, [(urls[0], str(error))]) from None
    count = min(rows, remote_rows)
    needed = header_length + count * ROW_BYTES
    if len(data) < needed and len(data) == wanted:
        data = download_prefix(urls, needed)
    if len(data) < needed:
        reason = f"file ends after {len(data)} bytes, its header announces {remote_rows} rows"
        raise DownloadError(destination.name, [(urls[0], reason)])
    array = np.frombuffer(data, np.uint8, count=count * ROW_BYTES, offset=header_length)
    with atomic_write(destination) as handle:
        np.save(handle, array.reshape(count, ROW_BYTES), allow_pickle=False)
    return count


class QuickDraw(BitmapDataset):
    """Quick, Draw! 28 x 28 doodles of the chosen categories, one class per category.

    Args:
        root: cache folder holding ``quickdraw/``; None means ``$MINIDL_DATA`` or
            ``~/.cache/minidl``.
        categories: category names (see ``QUICKDRAW_CATEGORIES``); class ``k`` is
            ``categories[k]``. Case and ``_`` for space do not matter.
        max_per_class: use (and download) only each category's first rows; None for all.
        split: ``'train'``, ``'val'`` or ``'test'`` (80 / 10 / 10 % of each class).
        download: fetch missing (or too short) category files from :attr:`mirrors`.
        transform: applied to each image (1, 28, 28), or to whole batches
            (B, 1, 28, 28) when a DataLoader gathers batches.
        seed: seed of the split permutations.

    Attributes:
        data: (N, 28, 28) uint8, grouped by class. targets: (N,) int64 in 0..K-1.
        classes: the canonical category names.

    Example (downloads the first 3000 rows of each category on first use)::

        train = QuickDraw(None, ["cat", "fish"], max_per_class=3000, download=True)
        len(train), train.classes        # (4800, ['cat', 'fish'])
        image, label = train[0]          # (1, 28, 28) float32 in [0, 1], 0
    """

    folder = "quickdraw"
    mirrors = ["https://storage.googleapis.com/quickdraw_dataset/full/numpy_bitmap/"]

    def __init__(
        self,
        root: str | os.PathLike[str] | None,
        categories: Sequence[str],
        max_per_class: int | None = None,
        split: str = "train",
        download: bool = False,
        transform: Transform | None = None,
        seed: int = 0,
    ) -> None:
        if isinstance(categories, str):
            categories = [categories]
        names = [canonical_category(name) for name in categories]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"categories must be non-empty and distinct, got {categories}")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if max_per_class is not None and max_per_class < 1:
            raise ValueError(f"max_per_class must be positive or None, got {max_per_class}")
        self.root = data_root(root)
        self.classes = names
        self.max_per_class = max_per_class
        self.split = split
        self.seed = seed
        self._ensure_files(download)
        images, labels = [], []
        for label, name in enumerate(names):
            rows = self._load(name)
            chosen = split_indices(len(rows), split, seed, name)
            images.append(rows[chosen].reshape(-1, IMAGE_SIZE, IMAGE_SIZE))
            labels.append(np.full(len(chosen), label, dtype=np.int64))
        super().__init__(np.concatenate(images), np.concatenate(labels), transform)

    @property
    def raw_folder(self) -> Path:
        """Where the category files live: ``<root>/quickdraw``."""
        return self.root / self.folder

    def path_of(self, category: str) -> Path:
        """The cache path of a category's ``.npy`` file."""
        return self.raw_folder / f"{canonical_category(category)}.npy"

    def urls_of(self, category: str) -> list[str]:
        """The URLs a category's file is fetched from, one per mirror."""
        quoted = urllib.parse.quote(f"{canonical_category(category)}.npy")
        return [mirror + quoted for mirror in self.mirrors]

    def _ensure_files(self, download: bool) -> None:
        missing = [name for name in self.classes if not self.path_of(name).is_file()]
        short = {}
        if self.max_per_class is not None:
            for name in self.classes:
                if name not in missing:
                    rows = _rows_in(self.path_of(name))
                    if rows < self.max_per_class:
                        short[name] = rows
        sources = {self.path_of(name).name: self.urls_of(name) for name in missing}
        if missing and not download:
            raise DatasetNotFoundError(missing_files_message("QuickDraw", self.raw_folder, sources))
        failures = {}
        if download:
            for name in [*missing, *short]:
                try:
                    self._download(name)
                    short.pop(name, None)
                except DownloadError as error:
                    failures[name] = error
        lost = {self.path_of(name).name: failures[name] for name in missing if name in failures}
        if lost:
            raise DatasetNotFoundError(
                missing_files_message("QuickDraw", self.raw_folder, {f: sources[f] for f in lost}, lost)
            )
        for name, rows in short.items():
            reason = (
                f"the download failed: {failures[name]}" if name in failures else ("pass download=True to fetch more")
            )
            warnings.warn(
                f"QuickDraw: {self.path_of(name)} holds {rows} rows, fewer than "
                f"max_per_class={self.max_per_class}; using those ({reason})",
                stacklevel=3,
            )

    def _download(self, name: str) -> None:
        if self.max_per_class is None:
            download_file(self.urls_of(name), self.path_of(name), validate=_check_bitmap_file)
        else:
            download_rows(self.urls_of(name), self.path_of(name), self.max_per_class)

    def _load(self, name: str) -> np.ndarray:
        path = self.path_of(name)
        _rows_in(path)  # clear error for a foreign header before np.load
        try:
            rows = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as error:
            raise QuickDrawFormatError(
                f"{path}: unreadable .npy file ({error}); delete it and download it again"
            ) from None
        return np.array(rows[: self.max_per_class])

    def _repr_fields(self) -> dict[str, object]:
        return {
            "split": self.split,
            "max_per_class": self.max_per_class,
            "categories": ", ".join(self.classes),
            "folder": self.raw_folder,
        }
