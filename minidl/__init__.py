"""minidl: a deep-learning framework written from scratch on NumPy, with CuPy for the GPU.

    import minidl as md
    x = md.randn(8, 3, requires_grad=True)
    loss = (x ** 2).mean()
    loss.backward()
"""

# isort: off
# The tensor core first: minidl.tensor and minidl.ops import each other, so Tensor is bound before
# anything that builds on it (nn, optim, data) is imported.
from .tensor import Tensor, is_floating_point, is_tensor, numel
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import Device, cuda
from .backend import Device as device
from .creation import (
    arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, linspace, ones, ones_like,
    rand, rand_like, randint, randn, randn_like, randperm, tensor, zeros, zeros_like,
)
from .dtypes import (
    bool_ as bool, double, float, float16, float32, float64, get_default_dtype, half, int, int8, int16,
    int32, int64, long, set_default_dtype, uint8,
)
from .ops import *  # every op: md.exp, md.cat, md.einsum, ...
from .ops import TENSOR_METHODS as _TENSOR_METHODS
from .random import get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .serialization import load, save
from .threads import get_num_threads, set_num_threads

from . import autograd, data, datasets, dtypes, models, nn, optim, random, special, transforms
# isort: on

__version__ = "0.1.0"
