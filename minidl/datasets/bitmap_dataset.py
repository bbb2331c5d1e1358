"""The in-memory base shared by MNIST, Fashion-MNIST and Quick, Draw!: one uint8 array of
bitmaps and one int64 array of labels, served one sample or one whole batch at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from minidl.data.dataset import Dataset

Transform = Callable[[np.ndarray], object]


class BitmapDataset(Dataset):
    """Grayscale bitmaps ``data`` (N, H, W) uint8 with labels ``targets`` (N,) int64.

    ``dataset[i]`` is ``(image, label)``: image (1, H, W) float32 in [0, 1] after
    ``transform``, label an int. ``dataset.get_batch(indices)`` gathers a batch with one
    fancy index: images (B, 1, H, W) float32 (the transform sees the whole batch) and
    labels (B,) int64; the DataLoader uses it instead of stacking samples one by one.
    """

    classes: Sequence[str] = ()

    def __init__(self, data: np.ndarray, targets: np.ndarray, transform: Transform | None = None) -> None:
        if data.ndim != 3 or data.dtype != np.uint8 or len(data) != len(targets):
            raise ValueError(
                f"expected uint8 data (N, H, W) and N targets, got data {data.dtype} "
                f"{data.shape} and {len(targets)} targets"
            )
        self.data = data
        self.targets = np.asarray(targets, dtype=np.int64)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[object, int]:
        image = self.data[index][None].astype(np.float32) / np.float32(255)
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])

    def get_batch(self, indices: np.ndarray) -> tuple[object, np.ndarray]:
        """Images (B, 1, H, W) float32 in [0, 1] (transformed) and labels (B,) int64."""
        images = self.data[indices][:, None].astype(np.float32) / np.float32(255)
        if self.transform is not None:
            images = self.transform(images)
        return images, self.targets[indices]

    def __repr__(self) -> str:
        lines = [
            f"{type(self).__name__}(",
            f"  samples: {len(self)}, image size: {self.data.shape[1:]}, classes: {len(self.classes)}",
        ]
        lines += [f"  {key}: {value}" for key, value in self._repr_fields().items()]
        lines.append(f"  transform: {self.transform!r}")
        return "\n".join(lines) + "\n)"

    def _repr_fields(self) -> dict[str, object]:
        return {}
