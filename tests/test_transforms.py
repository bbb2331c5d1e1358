"""minidl.transforms: exact geometric identities, agreement with PyTorch's sampling,
per-image randomness over a batch, seeding, dtypes and layouts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidl import transforms as T


def images(n=4, c=1, h=9, w=9, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(dtype)


def identity(n):
    return np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (n, 1, 1))


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_identity_map_is_exact(interpolation):
    x = images(3, 2, 7, 5)
    np.testing.assert_array_equal(T.warp_affine(x, identity(3), interpolation), x)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_right_angle_rotations_equal_rot90(k):
    x = images(2, 3, 8, 8)
    rotated = T.RandomRotation((90 * k, 90 * k), generator=np.random.default_rng())(x)
    np.testing.assert_array_equal(rotated, np.rot90(x, k, axes=(2, 3)))  # counter-clockwise


@settings(deadline=None, max_examples=30)
@given(dx=st.integers(-5, 5), dy=st.integers(-5, 5), interpolation=st.sampled_from(["nearest", "bilinear"]))
def test_integer_translation_moves_pixels_and_fills(dx, dy, interpolation):
    x = images(1, 1, 6, 7)
    inverse = T.affine_inverse(np.zeros(1), np.array([[dx, dy]]), np.ones(1), np.zeros((1, 2)))
    out = T.warp_affine(x, inverse, interpolation, fill=-1.0)
    expected = np.full_like(x, -1.0)
    h, w = x.shape[2:]
    expected[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = x[
        ..., max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    np.testing.assert_allclose(out, expected, atol=1e-6)


def torch_theta(inverse, h, w):
    """Our pixel-space inverse map as affine_grid's normalised theta."""
    scale = np.diag([w / 2, h / 2])
    linear = np.linalg.inv(scale) @ inverse[:, :, :2] @ scale
    offset = np.einsum("ij,njk->nik", np.linalg.inv(scale), inverse[:, :, 2:])
    return np.concatenate([linear, offset], axis=2)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_warp_affine_equals_torch_grid_sample(interpolation):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = images(5, 2, 11, 8, seed=2).astype(np.float64)
    inverse = T.affine_inverse(
        rng.uniform(-40, 40, 5), rng.uniform(-3, 3, (5, 2)), rng.uniform(0.7, 1.3, 5), rng.uniform(-20, 20, (5, 2))
    )
    theta = torch.from_numpy(torch_theta(inverse, 11, 8))
    grid = torch.nn.functional.affine_grid(theta, (5, 2, 11, 8), align_corners=False)
    expected = torch.nn.functional.grid_sample(
        torch.from_numpy(x), grid, mode=interpolation, padding_mode="zeros", align_corners=False
    ).numpy()
    out = T.warp_affine(x, inverse, interpolation)
    if interpolation == "bilinear":
        np.testing.assert_allclose(out, expected, atol=1e-10)
    else:  # a sample exactly half-way between pixels may round either way
        assert np.mean(out != expected) < 0.01


def test_affine_inverse_inverts_the_forward_map():
    rng = np.random.default_rng(0)
    angle, translate = rng.uniform(-90, 90, 6), rng.uniform(-5, 5, (6, 2))
    scale, shear = rng.uniform(0.5, 2, 6), rng.uniform(-30, 30, (6, 2))
    inverse = T.affine_inverse(angle, translate, scale, shear)
    forward = np.linalg.inv(np.concatenate([inverse, np.tile([[[0, 0, 1.0]]], (6, 1, 1))], 1))
    # Forward linear part: scale * rotation-shear with determinant scale**2.
    np.testing.assert_allclose(np.linalg.det(forward[:, :2, :2]), scale**2)
    np.testing.assert_allclose(forward[:, :2, 2], translate)
    pure_rotation = T.affine_inverse(np.array([30.0]), np.zeros((1, 2)), np.ones(1), np.zeros((1, 2)))
    c, s = np.cos(np.radians(30)), np.sin(np.radians(30))
    np.testing.assert_allclose(pure_rotation[0, :, :2], [[c, -s], [s, c]], atol=1e-12)


def test_random_affine_draws_per_image_parameters_from_its_generator():
    x = np.repeat(images(1, 1, 15, 15), 16, axis=0)
    augment = T.RandomAffine(30, translate=(0.2, 0.2), scale=(0.8, 1.2), shear=10, generator=np.random.default_rng(5))
    out = augment(x)
    assert out.shape == x.shape and out.dtype == np.float32
    assert len({image.tobytes() for image in out}) == 16  # independent draws per image
    again = T.RandomAffine(30, translate=(0.2, 0.2), scale=(0.8, 1.2), shear=10, generator=np.random.default_rng(5))
    np.testing.assert_array_equal(again(x), out)


def test_global_generator_seeding():
    pytest.importorskip("minidl.random")
    import minidl as md

    x = images(8)
    md.manual_seed(0)
    first = T.RandomRotation(45)(x)
    md.manual_seed(0)
    np.testing.assert_array_equal(T.RandomRotation(45)(x), first)


def test_random_shift_is_a_whole_pixel_shift():
    x = images(50, 1, 6, 6, seed=3) + 1  # no zeros inside the images
    out = T.RandomShift(2, generator=np.random.default_rng(0))(x)
    for original, shifted in zip(x[:, 0], out[:, 0], strict=True):
        matches = [
            (dx, dy)
            for dx in range(-2, 3)
            for dy in range(-2, 3)
            if np.array_equal(np.where(shifted == 0, 0, np.roll(original, (dy, dx), (0, 1))), shifted)
            and np.count_nonzero(shifted) == (6 - abs(dx)) * (6 - abs(dy))
        ]
        assert len(matches) == 1
    assert len({image.tobytes() for image in out}) > 10


def test_horizontal_flip_probability():
    x = images(400, 1, 2, 3)
    flipped = T.RandomHorizontalFlip(0.25, generator=np.random.default_rng(0))(x)
    is_flipped = np.all(flipped == x[..., ::-1], axis=(1, 2, 3))
    assert np.all(is_flipped | np.all(flipped == x, axis=(1, 2, 3)))
    assert 60 < is_flipped.sum() < 140
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x[0]), x[0, :, :, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x), x)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("size", [(14, 14), (28, 28), (40, 17), (5, 56)])
def test_resize_equals_torch_interpolate(interpolation, size):
    torch = pytest.importorskip("torch")
    x = images(3, 2, 28, 28, seed=4)
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(x),
        size=size,
        mode=interpolation,
        **({"align_corners": False} if interpolation == "bilinear" else {}),
    ).numpy()
    np.testing.assert_allclose(T.Resize(size, interpolation)(x), expected, atol=1e-5)


def test_resize_int_matches_the_shorter_side():
    assert T.Resize(14)(np.zeros((1, 28, 56), np.float32)).shape == (1, 14, 28)
    assert T.Resize(14)(np.zeros((2, 3, 56, 28), np.float32)).shape == (2, 3, 28, 14)


def test_uint8_stays_uint8_and_layouts_are_kept():
    x = (images(2, 1, 8, 8) * 255).astype(np.uint8)
    assert T.RandomRotation(20, interpolation="bilinear")(x).dtype == np.uint8
    assert T.Resize((4, 4))(x).dtype == np.uint8
    assert T.RandomAffine(10)(x[0, 0]).shape == (8, 8)
    assert T.RandomAffine(10)(x[0]).shape == (1, 8, 8)
    with pytest.raises(ValueError, match="expected an image"):
        T.RandomAffine(10)(np.zeros(5))


def test_normalize():
    x = images(2, 3, 4, 4)
    out = T.Normalize((0.1, 0.2, 0.3), (0.5, 1.0, 2.0))(x)
    np.testing.assert_allclose(out[:, 1], x[:, 1] - 0.2, rtol=1e-6)
    np.testing.assert_allclose(out[:, 2], (x[:, 2] - 0.3) / 2, rtol=1e-6)
    assert out.dtype == np.float32
    np.testing.assert_allclose(T.Normalize((0.5,), (0.5,))(x[0]), (x[0] - 0.5) * 2, rtol=1e-6)
    with pytest.raises(ValueError, match="3 channels"):
        T.Normalize((0.1, 0.2), (1.0, 1.0))(x)
    with pytest.raises(ValueError, match="non-zero"):
        T.Normalize((0.1,), (0.0,))


def test_argument_checks():
    with pytest.raises(ValueError, match="interpolation"):
        T.RandomRotation(10, interpolation="bicubic")
    with pytest.raises(ValueError, match="translate"):
        T.RandomAffine(0, translate=(1.5, 0))
    with pytest.raises(ValueError, match="scale"):
        T.RandomAffine(0, scale=(0, 1))
    with pytest.raises(ValueError, match="degrees"):
        T.RandomAffine(-5)
    with pytest.raises(ValueError, match="max_shift"):
        T.RandomShift(1.5)


def test_tensors_in_tensors_out():
    pytest.importorskip("minidl.tensor")
    import minidl as md

    x = images(2, 1, 6, 6)
    tensor = T.ToTensor()(x)
    assert isinstance(tensor, md.Tensor) and tensor.shape == (2, 1, 6, 6)
    pipeline = T.Compose([T.ToTensor(), T.RandomHorizontalFlip(1.0), T.Normalize((0.5,), (0.25,))])
    out = pipeline(x)
    assert isinstance(out, md.Tensor) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), (x[..., ::-1] - 0.5) / 0.25, rtol=1e-6)
    digit = T.ToTensor()(np.full((28, 28), 255, np.uint8))
    assert digit.shape == (1, 28, 28) and digit.dtype == np.float32 and float(digit.numpy().max()) == 1.0
    assert "RandomHorizontalFlip" in repr(pipeline)


def test_a_loader_hands_the_transform_whole_batches():
    pytest.importorskip("minidl.tensor")
    from minidl.data import DataLoader
    from minidl.datasets.bitmap_dataset import BitmapDataset

    calls = []

    class Recording(T.RandomShift):
        def apply(self, batch):
            calls.append(batch.shape)
            return super().apply(batch)

    data = BitmapDataset(np.zeros((10, 28, 28), np.uint8), np.arange(10), transform=Recording(2))
    batches = list(DataLoader(data, batch_size=4, shuffle=True, seed=0))
    assert calls == [(4, 1, 28, 28), (4, 1, 28, 28), (2, 1, 28, 28)]
    assert batches[0][0].shape == (4, 1, 28, 28)
