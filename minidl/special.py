"""``minidl.special``: the special functions under PyTorch's ``torch.special`` names.

    >>> import minidl as md
    >>> md.special.expit(md.tensor([0.0])), md.special.gammaln(md.tensor([4.0]))
    (tensor([0.5]), tensor([1.7918]))
"""

from __future__ import annotations

import math

from .ops import (
    digamma,
    erf,
    erfc,
    erfinv,
    expm1,
    i0,
    i1,
    lgamma,
    log1p,
    log_softmax,
    logit,
    logsumexp,
    polygamma,
    sigmoid,
    sinc,
    softmax,
    xlog1py,
    xlogy,
)
from .tensor import Tensor

gammaln = lgamma
psi = digamma
expit = sigmoid


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF, ``(1 + erf(x / sqrt(2))) / 2``."""
    return 0.5 * (1 + erf(input * (1 / math.sqrt(2))))


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p``:
    ``p(p-1)/4 log(pi) + sum_{j<p} lgamma(x - j/2)`` (every element must exceed ``(p-1)/2``)."""
    if p < 1:
        raise ValueError(f"multigammaln: p must be a positive integer, got {p}")
    total = lgamma(input)
    for j in range(1, p):
        total = total + lgamma(input - j / 2)
    return total + p * (p - 1) / 4 * math.log(math.pi)


__all__ = [
    "digamma", "erf", "erfc", "erfinv", "expit", "expm1", "gammaln", "i0", "i1", "log1p", "log_softmax", "logit",
    "logsumexp", "multigammaln", "ndtr", "polygamma", "psi", "sinc", "softmax", "xlog1py", "xlogy",
]
