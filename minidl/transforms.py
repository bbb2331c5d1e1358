"""Image transforms on NumPy images and batches (NCHW), vectorised over the batch.

Every transform takes an image (H, W) or (C, H, W), a batch (N, C, H, W), or a CPU
minidl Tensor of one of those shapes, and returns the same kind and layout. Random
transforms draw independent parameters for each image of a batch from ``generator``
(default: minidl's global generator, seeded by ``md.manual_seed``). A dataset that serves
whole batches (MNIST, QuickDraw, through a DataLoader) hands its transform the batch, so
augmenting costs a few array operations per batch, not a Python loop over images.

Geometric transforms use torchvision's convention: coordinates centred on the image with
pixel centres at integer offsets (x right, y down), positive angles counter-clockwise on
screen, translations rounded to whole pixels. Each output pixel is mapped back into its
input image by one batched inverse affine map (:func:`warp_affine`) and sampled there,
nearest or bilinear; points outside the image read ``fill``.

Example:
    >>> from minidl import transforms as T
    >>> augment = T.Compose([T.RandomAffine(10, translate=(0.1, 0.1)),
    ...                      T.Normalize((0.1307,), (0.3081,))])
    >>> batch = augment(np.random.rand(64, 1, 28, 28).astype(np.float32))
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minidl.data.seeding import global_generator

INTERPOLATIONS = ("nearest", "bilinear")


def _check_interpolation(interpolation: str) -> str:
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    return interpolation


def _is_tensor(images: Any) -> bool:
    return not isinstance(images, np.ndarray) and hasattr(images, "numpy")


def _as_nchw(images: Any) -> tuple[np.ndarray, Callable[[np.ndarray], Any]]:
    """View ``images`` as (N, C, H, W) and return a function that puts a result back
    into the caller's form (rank and ndarray/Tensor)."""
    tensor = _is_tensor(images)
    array = images.numpy() if tensor else np.asarray(images)
    if array.ndim not in (2, 3, 4):
        raise ValueError(f"expected an image (H, W) or (C, H, W) or a batch (N, C, H, W), got shape {array.shape}")
    added = 4 - array.ndim

    def restore(result: np.ndarray) -> Any:
        result = result.reshape(result.shape[added:])
        if tensor:
            import minidl

            return minidl.from_numpy(np.ascontiguousarray(result))
        return result

    return array.reshape((1,) * added + array.shape), restore


def _cast_like(result: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(result), info.min, info.max).astype(dtype)
    return result.astype(dtype, copy=False)


def _working_dtype(dtype: np.dtype) -> np.dtype:
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float32)


class ImageTransform:
    """Base of the array transforms: ``__call__`` reshapes its input to (N, C, H, W),
    calls :meth:`apply` and restores the caller's form."""

    def __call__(self, images: Any) -> Any:
        batch, restore = _as_nchw(images)
        return restore(self.apply(batch))

    def apply(self, batch: np.ndarray) -> np.ndarray:
        """Transform a batch (N, C, H, W)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in vars(self).items() if key != "generator")
        return f"{type(self).__name__}({fields})"


class Compose:
    """Apply ``transforms`` one after another.

    Example:
        >>> Compose([RandomHorizontalFlip(p=1.0), ToTensor()])(np.arange(3, dtype=np.float32).reshape(1, 1, 3))
        tensor([[[2., 1., 0.]]])
    """

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, images: Any) -> Any:
        for transform in self.transforms:
            images = transform(images)
        return images

    def __repr__(self) -> str:
        inner = "".join(f"\n    {transform!r}," for transform in self.transforms)
        return f"Compose([{inner}\n])"


class ToTensor:
    """NumPy image (H, W) / (C, H, W) or batch (N, C, H, W) -> minidl Tensor, sharing
    memory where it can. uint8 is scaled to float32 in [0, 1]; float arrays keep their
    values and dtype; (H, W) gets a channel axis. A Tensor passes through unchanged.

    Example:
        >>> ToTensor()(np.full((28, 28), 255, np.uint8)).shape
        (1, 28, 28)
    """

    def __call__(self, images: Any) -> Any:
        import minidl

        if _is_tensor(images):
            return images
        array = np.asarray(images)
        if array.ndim == 2:
            array = array[None]
        if array.dtype == np.uint8:
            array = array.astype(np.float32) / np.float32(255)
        return minidl.from_numpy(np.ascontiguousarray(array))

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel c, on arrays or Tensors (C, H, W) /
    (N, C, H, W). ``mean`` and ``std`` have one value per channel, or one for all.

    Example:
        >>> Normalize((0.5,), (0.25,))(np.array([[[0.0, 0.5], [0.75, 1.0]]], np.float32))    # (1, 2, 2)
        array([[[-2.,  0.],
                [ 1.,  2.]]], dtype=float32)
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.shape != self.std.shape or self.mean.ndim != 1:
            raise ValueError(f"mean and std must be equally long sequences, got {mean}, {std}")
        if np.any(self.std == 0):
            raise ValueError(f"std must be non-zero, got {std}")

    def __call__(self, images: Any) -> Any:
        shape = images.shape
        channels = shape[-3] if len(shape) >= 3 else 1
        if len(self.mean) not in (1, channels):
            raise ValueError(
                f"Normalize has {len(self.mean)} channel statistics, images have {channels} "
                f"channels (shape {tuple(shape)})"
            )
        dtype = _working_dtype(np.dtype(images.dtype))
        mean = self.mean.astype(dtype).reshape(-1, 1, 1)
        std = self.std.astype(dtype).reshape(-1, 1, 1)
        if len(shape) < 3:
            mean, std = mean[0], std[0]
        if _is_tensor(images):
            import minidl

            device = getattr(images, "device", None)
            mean = minidl.tensor(mean, dtype=dtype, device=device)
            std = minidl.tensor(std, dtype=dtype, device=device)
            return (images - mean) / std
        return ((np.asarray(images, dtype=dtype) - mean) / std).astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


def _gather(flat: np.ndarray, rows: np.ndarray, cols: np.ndarray, height: int, width: int, fill: float) -> np.ndarray:
    """Pixels of ``flat`` (N, C, H*W) at integer (rows, cols) (N, h, w), ``fill`` where
    they fall outside the image: (N, C, h*w)."""
    n = flat.shape[0]
    inside = ((rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)).reshape(n, 1, -1)
    index = np.where(inside, (rows * width + cols).reshape(n, 1, -1), 0)
    return np.where(inside, np.take_along_axis(flat, index, axis=2), fill)


def warp_affine(
    batch: np.ndarray,
    inverse: np.ndarray,
    interpolation: str = "bilinear",
    fill: float = 0.0,
) -> np.ndarray:
    """Resample each image of ``batch`` through its own affine map.

    Args:
        batch: (N, C, H, W).
        inverse: (N, 2, 3): for output pixel p = (x, y) in centred coordinates (origin at
            the image centre, pixel centres at x = j - (W - 1) / 2, y = i - (H - 1) / 2)
            the input point ``inverse[n] @ (x, y, 1)`` it reads from.
        interpolation: ``'nearest'`` (round half to even) or ``'bilinear'``.
        fill: value of points outside the input image; a bilinear sample near the border
            blends image and fill.

    Returns:
        (N, C, H, W), the dtype of ``batch`` (integers rounded and clipped).

    With ``fill=0`` this equals ``torch.nn.functional.grid_sample(batch,
    affine_grid(theta, size, align_corners=False), padding_mode='zeros',
    align_corners=False)`` for the normalised ``theta`` of the same map.

    Example:
        >>> images = np.arange(8, dtype=np.float32).reshape(1, 1, 2, 4)
        >>> shift_right = np.array([[[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]]])  # each pixel reads 1 px to its left
        >>> warp_affine(images, shift_right, "nearest")
        array([[[[0., 0., 1., 2.],
                 [0., 4., 5., 6.]]]], dtype=float32)
    """
    n, channels, height, width = batch.shape
    inverse = np.asarray(inverse, dtype=np.float64)
    if inverse.shape != (n, 2, 3):
        raise ValueError(f"inverse must have shape ({n}, 2, 3), got {inverse.shape}")
    _check_interpolation(interpolation)
    xs = np.arange(width) - (width - 1) / 2
    ys = (np.arange(height) - (height - 1) / 2)[:, None]
    m = inverse[:, :, :, None, None]
    source_x = m[:, 0, 0] * xs + m[:, 0, 1] * ys + m[:, 0, 2] + (width - 1) / 2
    source_y = m[:, 1, 0] * xs + m[:, 1, 1] * ys + m[:, 1, 2] + (height - 1) / 2
    dtype = _working_dtype(batch.dtype)
    flat = batch.reshape(n, channels, height * width).astype(dtype, copy=False)
    if interpolation == "nearest":
        cols = np.rint(source_x).astype(np.int64)
        rows = np.rint(source_y).astype(np.int64)
        out = _gather(flat, rows, cols, height, width, fill)
    else:
        col0 = np.floor(source_x)
        row0 = np.floor(source_y)
        fx = (source_x - col0).reshape(n, 1, -1).astype(dtype)
        fy = (source_y - row0).reshape(n, 1, -1).astype(dtype)
        col0 = col0.astype(np.int64)
        row0 = row0.astype(np.int64)

        def corner(dr: int, dc: int) -> np.ndarray:
            return _gather(flat, row0 + dr, col0 + dc, height, width, fill)

        out = (corner(0, 0) * (1 - fx) + corner(0, 1) * fx) * (1 - fy) + (
            corner(1, 0) * (1 - fx) + corner(1, 1) * fx
        ) * fy
    return _cast_like(out.reshape(n, channels, height, width), batch.dtype)


def affine_inverse(
    angle: np.ndarray,
    translate: np.ndarray,
    scale: np.ndarray,
    shear: np.ndarray,
) -> np.ndarray:
    """The (N, 2, 3) inverse maps for :func:`warp_affine` of N forward maps
    ``p' = scale * R(angle) Shear(shear) p + translate`` (torchvision's parametrisation).

    Args:
        angle: (N,) degrees, counter-clockwise on screen. translate: (N, 2) pixels (x, y).
        scale: (N,). shear: (N, 2) degrees along x and y.
    """
    rotation = np.radians(-np.asarray(angle, dtype=np.float64))
    shear_x, shear_y = np.radians(np.asarray(shear, dtype=np.float64)).T
    # Forward rotation-shear [[a, b], [c, d]], determinant 1 (torchvision's formulas).
    a = np.cos(rotation - shear_y) / np.cos(shear_y)
    b = -np.cos(rotation - shear_y) * np.tan(shear_x) / np.cos(shear_y) - np.sin(rotation)
    c = np.sin(rotation - shear_y) / np.cos(shear_y)
    d = -np.sin(rotation - shear_y) * np.tan(shear_x) / np.cos(shear_y) + np.cos(rotation)
    linear = np.stack([np.stack([d, -b], -1), np.stack([-c, a], -1)], -2)
    linear /= np.asarray(scale, dtype=np.float64)[:, None, None]
    offset = -linear @ np.asarray(translate, dtype=np.float64)[:, :, None]
    return np.concatenate([linear, offset], axis=2)


def _range(value: float | Sequence[float], name: str) -> tuple[float, float]:
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"{name} must be non-negative when a single number, got {value}")
        return (-float(value), float(value))
    if len(value) != 2:
        raise ValueError(f"{name} must be a number or a (min, max) pair, got {value}")
    return (float(value[0]), float(value[1]))


class RandomAffine(ImageTransform):
    """Random rotation, translation, scaling and shear, drawn per image.

    Args:
        degrees: angle range: ``d`` means uniform in (-d, d); or ``(min, max)``.
        translate: ``(a, b)``: horizontal shift uniform in (-a W, a W) pixels, vertical in
            (-b H, b H), rounded to whole pixels. None for no shift.
        scale: ``(min, max)`` scale factor range; None keeps the size.
        shear: ``s``, ``(min, max)`` (x shear, degrees) or ``(xmin, xmax, ymin, ymax)``.
        interpolation: ``'nearest'`` (PyTorch's default) or ``'bilinear'``.
        fill: value for pixels mapped from outside the image.
        generator: ``np.random.Generator``; default minidl's global generator.

    Example:
        >>> batch = np.random.default_rng(0).random((8, 1, 28, 28), dtype=np.float32)    # (N, C, H, W)
        >>> augment = RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1))
        >>> augment(batch).shape      # each image gets its own random rotation, shift and scale
        (8, 1, 28, 28)
    """

    def __init__(
        self,
        degrees: float | Sequence[float],
        translate: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        shear: float | Sequence[float] | None = None,
        interpolation: str = "nearest",
        fill: float = 0.0,
        generator: np.random.Generator | None = None,
    ) -> None:
        self.degrees = _range(degrees, "degrees")
        if translate is not None and (len(translate) != 2 or not all(0 <= t <= 1 for t in translate)):
            raise ValueError(f"translate must be two fractions in [0, 1], got {translate}")
        if scale is not None and (len(scale) != 2 or not 0 < scale[0] <= scale[1]):
            raise ValueError(f"scale must be a (min, max) pair with 0 < min <= max, got {scale}")
        self.translate = None if translate is None else tuple(float(t) for t in translate)
        self.scale = None if scale is None else tuple(float(s) for s in scale)
        if shear is None:
            self.shear = None
        elif isinstance(shear, numbers.Number) or len(shear) == 2:
            self.shear = (*_range(shear, "shear"), 0.0, 0.0)
        elif len(shear) == 4:
            self.shear = tuple(float(s) for s in shear)
        else:
            raise ValueError(f"shear must be a number or have 2 or 4 values, got {shear}")
        self.interpolation = _check_interpolation(interpolation)
        self.fill = fill
        self.generator = generator

    def sample_inverse(self, n: int, height: int, width: int) -> np.ndarray:
        """Draw ``n`` random maps; return their (n, 2, 3) inverses for warp_affine."""
        rng = self.generator if self.generator is not None else global_generator()
        angle = rng.uniform(*self.degrees, size=n)
        translate = np.zeros((n, 2))
        if self.translate is not None:
            limits = np.array([self.translate[0] * width, self.translate[1] * height])
            translate = np.rint(rng.uniform(-limits, limits, size=(n, 2)))
        scale = np.ones(n) if self.scale is None else rng.uniform(*self.scale, size=n)
        shear = np.zeros((n, 2))
        if self.shear is not None:
            low, high = np.array(self.shear[0::2]), np.array(self.shear[1::2])
            shear = rng.uniform(low, high, size=(n, 2))
        return affine_inverse(angle, translate, scale, shear)

    def apply(self, batch: np.ndarray) -> np.ndarray:
        n, _, height, width = batch.shape
        inverse = self.sample_inverse(n, height, width)
        return warp_affine(batch, inverse, self.interpolation, self.fill)


class RandomRotation(RandomAffine):
    """Rotate each image by a random angle about its centre (same size, corners cut).

    Args:
        degrees: ``d`` for uniform in (-d, d), or ``(min, max)``; counter-clockwise.
        interpolation, fill, generator: as in :class:`RandomAffine`.

    Example (``(90, 90)`` always turns by 90 degrees; ``RandomRotation(10)`` by up to 10 either way):
        >>> RandomRotation((90, 90))(np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2))
        array([[[[1., 3.],
                 [0., 2.]]]], dtype=float32)
    """

    def __init__(
        self,
        degrees: float | Sequence[float],
        interpolation: str = "nearest",
        fill: float = 0.0,
        generator: np.random.Generator | None = None,
    ) -> None:
        super().__init__(degrees, interpolation=interpolation, fill=fill, generator=generator)


class RandomShift(RandomAffine):
    """Shift each image by a random whole number of pixels, independently along x and y,
    uniform in ``[-max_shift, max_shift]``; uncovered pixels read ``fill``.

    Example (this draw moves the image 1 px right):
        >>> shift = RandomShift(1, generator=np.random.default_rng(0))    # up to 1 px each way
        >>> shift(np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3))
        array([[[[0., 0., 1.],
                 [0., 3., 4.],
                 [0., 6., 7.]]]], dtype=float32)
    """

    def __init__(self, max_shift: int, fill: float = 0.0, generator: np.random.Generator | None = None) -> None:
        if max_shift < 0 or int(max_shift) != max_shift:
            raise ValueError(f"max_shift must be a non-negative integer, got {max_shift}")
        super().__init__(0, interpolation="nearest", fill=fill, generator=generator)
        self.max_shift = int(max_shift)

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift}, fill={self.fill!r})"

    def sample_inverse(self, n: int, height: int, width: int) -> np.ndarray:
        rng = self.generator if self.generator is not None else global_generator()
        shifts = rng.integers(-self.max_shift, self.max_shift + 1, size=(n, 2))
        return affine_inverse(np.zeros(n), shifts, np.ones(n), np.zeros((n, 2)))


class RandomHorizontalFlip(ImageTransform):
    """Mirror each image left-right with probability ``p``.

    Example:
        >>> RandomHorizontalFlip(p=1.0)(np.arange(3.0).reshape(1, 1, 3))
        array([[[2., 1., 0.]]])
    """

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"p must be a probability, got {p}")
        self.p = p
        self.generator = generator

    def apply(self, batch: np.ndarray) -> np.ndarray:
        rng = self.generator if self.generator is not None else global_generator()
        flip = rng.random(batch.shape[0]) < self.p
        return np.where(flip[:, None, None, None], batch[..., ::-1], batch)


def _resize_axis(batch: np.ndarray, size: int, axis: int, interpolation: str) -> np.ndarray:
    """Resample ``batch`` along ``axis`` to ``size`` samples (PyTorch's
    ``interpolate(..., align_corners=False)`` source positions)."""
    length = batch.shape[axis]
    ratio = length / size
    if interpolation == "nearest":
        source = np.minimum(np.floor(np.arange(size) * ratio).astype(np.int64), length - 1)
        return np.take(batch, source, axis=axis)
    position = np.maximum((np.arange(size) + 0.5) * ratio - 0.5, 0.0)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, length - 1)
    weight = (position - low).astype(batch.dtype)
    weight = weight.reshape((-1,) + (1,) * (batch.ndim - 1 - axis))
    return np.take(batch, low, axis=axis) * (1 - weight) + np.take(batch, high, axis=axis) * weight


class Resize(ImageTransform):
    """Resize images to ``size``: ``(h, w)``, or an int for the shorter side (the other
    keeps the aspect ratio, as in PyTorch). Bilinear or nearest, sampling as
    ``F.interpolate(..., align_corners=False)``; no antialiasing, so shrinking by large
    factors aliases.

    Example:
        >>> Resize((14, 14))(np.zeros((8, 1, 28, 28), np.float32)).shape
        (8, 1, 14, 14)
    """

    def __init__(self, size: int | Sequence[int], interpolation: str = "bilinear") -> None:
        if isinstance(size, numbers.Integral):
            size = int(size)
        elif len(size) == 2:
            size = (int(size[0]), int(size[1]))
        else:
            raise ValueError(f"size must be an int or an (h, w) pair, got {size}")
        if min(np.atleast_1d(size)) < 1:
            raise ValueError(f"size must be positive, got {size}")
        self.size = size
        self.interpolation = _check_interpolation(interpolation)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """The (h, w) an image of (height, width) is resized to."""
        if isinstance(self.size, tuple):
            return self.size
        if height <= width:
            return self.size, int(self.size * width / height)
        return int(self.size * height / width), self.size

    def apply(self, batch: np.ndarray) -> np.ndarray:
        height, width = self.output_size(*batch.shape[2:])
        work = batch.astype(_working_dtype(batch.dtype), copy=False)
        resized = _resize_axis(_resize_axis(work, height, 2, self.interpolation), width, 3, self.interpolation)
        return _cast_like(resized, batch.dtype)


__all__ = [
    "Compose",
    "ImageTransform",
    "Normalize",
    "RandomAffine",
    "RandomHorizontalFlip",
    "RandomRotation",
    "RandomShift",
    "Resize",
    "ToTensor",
    "affine_inverse",
    "warp_affine",
]
