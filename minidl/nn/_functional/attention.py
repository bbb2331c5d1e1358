"""Attention: ``F.scaled_dot_product_attention`` and ``F.multi_head_attention_forward`` (the math of
``nn.MultiheadAttention``), with PyTorch's arguments, mask conventions and results.

Both are compositions of differentiable ops (matmul, softmax, dropout), so their gradients, and
second derivatives, come from the ops they are built of. Masks, two conventions as in PyTorch:

* ``scaled_dot_product_attention``: a boolean ``attn_mask`` says where attention **may** go
  (``True`` = attend); a float mask is added to the scores.
* ``multi_head_attention_forward`` / ``nn.MultiheadAttention``: a boolean ``attn_mask`` or
  ``key_padding_mask`` says what is **masked out** (``True`` = ignore); a float mask is added.

A query row whose keys are all masked out gets NaN weights, as in PyTorch (a softmax over nothing).

    q = k = v = md.randn(2, 4, 10, 16)                       # (N, heads, L, E)
    F.scaled_dot_product_attention(q, k, v, is_causal=True).shape   # (2, 4, 10, 16)
"""

from __future__ import annotations

import math
import warnings

from ... import creation, dtypes
from ...ops.activation import Linear
from ...ops.elementwise import where
from ...ops.indexing import pad
from ...ops.linalg import matmul
from ...ops.reduction import softmax
from ...ops.shape import cat
from ...tensor import Tensor
from .dropout import dropout


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value``, PyTorch's definition.

    query: ``(*, L, E)``, key: ``(*, S, E)``, value: ``(*, S, Ev)`` -> ``(*, L, Ev)``; the leading
    dims broadcast. ``scale`` defaults to ``1 / sqrt(E)``. ``attn_mask`` broadcasts to ``(*, L, S)``:
    boolean (``True`` = may attend) or float (added to the scores). ``is_causal``: query ``i``
    attends to keys ``j <= i`` (the mask ``tril(ones(L, S))``; not together with ``attn_mask``).
    ``dropout_p``: dropout on the attention weights, always applied (pass 0 in evaluation).
    ``enable_gqa``: grouped-query attention, the key/value heads (dim -3) repeated to the query's.

        >>> import minidl as md
        >>> import minidl.nn.functional as F
        >>> q, k, v = md.randn(2, 3, 5, 8), md.randn(2, 3, 7, 8), md.randn(2, 3, 7, 4)
        >>> F.scaled_dot_product_attention(q, k, v).shape
        (2, 3, 5, 4)
    """
    who = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or t.ndim < 2:
            got = f"a {t.ndim}-D tensor" if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{who}: {name} must be a tensor of at least 2 dims (*, length, features), got {got}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"{who}: expected query (*, L, E), key (*, S, E) and value (*, S, Ev), got shapes "
            f"{tuple(query.shape)}, {tuple(key.shape)} and {tuple(value.shape)}"
        )
    if is_causal and attn_mask is not None:
        raise ValueError(f"{who}: got both is_causal=True and an attn_mask; pass one of them")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{who}: dropout_p must be in [0, 1], got {dropout_p}")
    if enable_gqa:
        key, value = (_repeat_heads(t, query, who) for t in (key, value))
    length, source = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query, key.transpose(-2, -1)) * scale
    if is_causal:
        attn_mask = creation.ones((length, source), dtype=dtypes.bool_, device=query.device).tril()
    if attn_mask is not None:
        if attn_mask.dtype == dtypes.bool_:
            scores = where(attn_mask, scores, float("-inf"))
        else:
            scores = scores + attn_mask
    weights = softmax(scores, -1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return matmul(weights, value)


def _repeat_heads(t: Tensor, query: Tensor, who: str) -> Tensor:
    """``t (..., Hkv, S, E)`` with each head repeated ``Hq / Hkv`` times (``repeat_interleave`` on dim -3)."""
    if t.ndim < 3 or query.ndim < 3 or query.shape[-3] % t.shape[-3]:
        raise ValueError(
            f"{who}: enable_gqa needs (*, heads, L, E) inputs whose query heads are a multiple of the key/value "
            f"heads, got query {tuple(query.shape)} and key/value {tuple(t.shape)}"
        )
    heads, groups = t.shape[-3], query.shape[-3] // t.shape[-3]
    grouped = t.unsqueeze(-3).expand(*t.shape[:-2], groups, *t.shape[-2:])
    return grouped.reshape(*t.shape[:-3], heads * groups, *t.shape[-2:])


def multi_head_attention_forward(
    query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
    in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None, bias_v: Tensor | None,
    add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
    training: bool = True, key_padding_mask: Tensor | None = None, need_weights: bool = True,
    attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
    static_v: Tensor | None = None, average_attn_weights: bool = True, is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention, sequence first, PyTorch's ``F.multi_head_attention_forward``.

    query ``(L, N, E)``, key ``(S, N, kdim)``, value ``(S, N, vdim)`` (or unbatched ``(L, E)``,
    ``(S, kdim)``, ``(S, vdim)``) -> ``(attn_output (L, N, E), attn_weights)``. Per head ``h`` of
    ``head_dim = E / num_heads`` features::

        q, k, v = query W_q^T + b_q, key W_k^T + b_k, value W_v^T + b_v     (split into heads)
        head_h = softmax(q_h k_h^T / sqrt(head_dim) + mask) v_h
        attn_output = concat(heads) W_out^T + b_out

    ``attn_mask``: ``(L, S)`` or ``(N*num_heads, L, S)``; ``key_padding_mask``: ``(N, S)``; boolean
    (``True`` = masked out) or float (added). ``attn_weights``: ``(N, L, S)`` averaged over heads
    (``(N, num_heads, L, S)`` with ``average_attn_weights=False``), None unless ``need_weights``.
    ``bias_k``/``bias_v`` ``(1, 1, E)`` append a learned key/value; ``add_zero_attn`` a zero one;
    ``static_k``/``static_v`` ``(N*num_heads, S, head_dim)`` replace the projected keys/values.
    ``is_causal`` is a hint that ``attn_mask`` is causal; the mask is what is applied.
    """
    who = "multi_head_attention_forward"
    batched = _check_shapes(query, key, value, key_padding_mask, attn_mask, num_heads, who)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    target_length, batch, embed_dim = query.shape
    if embed_dim != embed_dim_to_check:
        raise ValueError(f"{who}: expected a query with {embed_dim_to_check} features, got {embed_dim}")
    if embed_dim % num_heads:
        raise ValueError(f"{who}: embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
    head_dim = embed_dim // num_heads
    same_shape = key.shape[:2] == value.shape[:2] if use_separate_proj_weight else key.shape == value.shape
    if not same_shape:
        raise ValueError(f"{who}: key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
    if is_causal and attn_mask is None:
        raise ValueError(f"{who}: is_causal=True is a hint that attn_mask is causal; pass the causal attn_mask too")

    key_padding_mask = _additive_mask(key_padding_mask, "key_padding_mask", attn_mask, "attn_mask", query, who)
    attn_mask = _additive_mask(attn_mask, "attn_mask", None, "", query, who)
    q, k, v = _project(query, key, value, in_proj_weight, in_proj_bias, use_separate_proj_weight,
                       q_proj_weight, k_proj_weight, v_proj_weight, who)

    source_length = key.shape[0]
    if attn_mask is not None:
        expected = (target_length, source_length) if attn_mask.ndim == 2 else \
            (batch * num_heads, target_length, source_length)
        if tuple(attn_mask.shape) != expected:
            raise ValueError(f"{who}: attn_mask should be of shape {expected}, got {tuple(attn_mask.shape)}")
        if attn_mask.ndim == 2:
            attn_mask = attn_mask.unsqueeze(0)
    if (bias_k is None) != (bias_v is None):
        raise ValueError(f"{who}: bias_k and bias_v go together; got only one of them")
    if bias_k is not None:
        if static_k is not None or static_v is not None:
            raise ValueError(f"{who}: bias_k/bias_v cannot be added to static keys/values")
        k = cat([k, bias_k.expand(1, batch, embed_dim)])
        v = cat([v, bias_v.expand(1, batch, embed_dim)])
        attn_mask, key_padding_mask = _pad_masks(attn_mask, key_padding_mask)

    q = q.reshape(target_length, batch * num_heads, head_dim).transpose(0, 1)
    k = _heads(k, static_k, "static_k", batch * num_heads, head_dim, who)
    v = _heads(v, static_v, "static_v", batch * num_heads, head_dim, who)
    if add_zero_attn:
        zeros = creation.zeros((batch * num_heads, 1, head_dim), dtype=q.dtype, device=q.device)
        k, v = cat([k, zeros], 1), cat([v, zeros], 1)
        attn_mask, key_padding_mask = _pad_masks(attn_mask, key_padding_mask)

    source_length = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (batch, source_length):
            raise ValueError(f"{who}: key_padding_mask should be of shape {(batch, source_length)}, got "
                             f"{tuple(key_padding_mask.shape)}")
        per_head = key_padding_mask.reshape(batch, 1, 1, source_length).expand(batch, num_heads, 1, source_length)
        per_head = per_head.reshape(batch * num_heads, 1, source_length)
        attn_mask = per_head if attn_mask is None else attn_mask + per_head

    scores = matmul(q * math.sqrt(1.0 / head_dim), k.transpose(1, 2))  # (N*heads, L, S)
    if attn_mask is not None:
        scores = scores + attn_mask
    weights = softmax(scores, -1)
    if training and dropout_p > 0:
        weights = dropout(weights, dropout_p)
    out = matmul(weights, v).transpose(0, 1).reshape(target_length * batch, embed_dim)
    out = Linear.apply(out, out_proj_weight, out_proj_bias).reshape(target_length, batch, embed_dim)
    if not need_weights:
        return (out if batched else out.squeeze(1)), None
    weights = weights.reshape(batch, num_heads, target_length, source_length)
    if average_attn_weights:
        weights = weights.mean(1)
    return (out, weights) if batched else (out.squeeze(1), weights.squeeze(0))


def _check_shapes(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                  attn_mask: Tensor | None, num_heads: int, who: str) -> bool:
    """Whether the inputs are batched (3-D) or one unbatched sequence (2-D); raises on anything else."""
    if query.ndim not in (2, 3):
        raise ValueError(f"{who}: query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.ndim}-D query tensor")
    batched = query.ndim == 3
    kind = "batched (3D)" if batched else "unbatched (2D)"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"{who}: for {kind} query, expected key and value to be {query.ndim}-D, got "
                         f"{key.ndim}-D and {value.ndim}-D")
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise ValueError(f"{who}: for {kind} query, expected key_padding_mask to be {query.ndim - 1}-D, got "
                         f"{key_padding_mask.ndim}-D")
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise ValueError(f"{who}: attn_mask should be 2D or 3D, got {attn_mask.ndim}-D")
        if not batched and attn_mask.ndim == 3:
            expected = (num_heads, query.shape[0], key.shape[0])
            if tuple(attn_mask.shape) != expected:
                raise ValueError(f"{who}: for unbatched query, a 3D attn_mask should be of shape {expected}, "
                                 f"got {tuple(attn_mask.shape)}")
    return batched


def _additive_mask(mask: Tensor | None, name: str, other: Tensor | None, other_name: str, like: Tensor,
                   who: str) -> Tensor | None:
    """A boolean mask (``True`` = masked out) as ``-inf``/0 in ``like``'s dtype; a float mask as is."""
    if mask is None:
        return None
    if mask.dtype != dtypes.bool_ and not mask.is_floating_point():
        raise TypeError(f"{who}: only bool and floating types of {name} are supported, got {mask.dtype}")
    if other is not None and other.dtype != mask.dtype:
        warnings.warn(f"{who}: {name} and {other_name} have different dtypes ({mask.dtype}, {other.dtype}); "
                      "use the same type for both", stacklevel=3)
    if mask.dtype == dtypes.bool_:
        zeros = creation.zeros(tuple(mask.shape), dtype=like.dtype, device=like.device)
        return zeros.masked_fill(mask, float("-inf"))
    return mask


def _project(query: Tensor, key: Tensor, value: Tensor, in_proj_weight: Tensor | None, in_proj_bias: Tensor | None,
             separate: bool, q_proj_weight: Tensor | None, k_proj_weight: Tensor | None,
             v_proj_weight: Tensor | None, who: str) -> tuple[Tensor, Tensor, Tensor]:
    """The input projections: one product when query, key and value are the same tensor."""
    biases = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
    if separate:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ValueError(f"{who}: use_separate_proj_weight=True needs q_proj_weight, k_proj_weight and "
                             "v_proj_weight")
        weights = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        if in_proj_weight is None:
            raise ValueError(f"{who}: in_proj_weight is None; pass it, or use_separate_proj_weight=True")
        if query is key and key is value:
            q, k, v = Linear.apply(query, in_proj_weight, in_proj_bias).chunk(3, -1)
            return q, k, v
        weights = in_proj_weight.chunk(3)
    q, k, v = (Linear.apply(x, w, b) for x, w, b in zip((query, key, value), weights, biases))
    return q, k, v


def _pad_masks(attn_mask: Tensor | None, key_padding_mask: Tensor | None) -> tuple[Tensor | None, Tensor | None]:
    """One more key (a bias or zero key/value appended): one more column of 0 in each mask."""
    return (None if attn_mask is None else pad(attn_mask, (0, 1)),
            None if key_padding_mask is None else pad(key_padding_mask, (0, 1)))


def _heads(x: Tensor, static: Tensor | None, name: str, heads: int, head_dim: int, who: str) -> Tensor:
    """``(S, N, E)`` -> ``(N*num_heads, S, head_dim)``, or the given static one after checking it."""
    if static is None:
        return x.reshape(x.shape[0], heads, head_dim).transpose(0, 1)
    if static.ndim != 3 or static.shape[0] != heads or static.shape[2] != head_dim:
        raise ValueError(f"{who}: expected {name} of shape (N*num_heads={heads}, S, head_dim={head_dim}), got "
                         f"{tuple(static.shape)}")
    return static
