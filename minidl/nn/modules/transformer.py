"""The Transformer (Vaswani et al., 2017), PyTorch's layers: ``TransformerEncoderLayer``,
``TransformerDecoderLayer``, their stacks ``TransformerEncoder``/``TransformerDecoder``, and ``Transformer``.

Built of ``MultiheadAttention``, ``Linear``, ``LayerNorm`` and ``Dropout`` under PyTorch's names
(``self_attn``, ``multihead_attn``, ``linear1``, ``linear2``, ``norm1``..``norm3``, ``layers.0.*``), so a
PyTorch state dict loads as is, and the gradients come from those layers. Shapes, with ``S`` the source
length, ``T`` the target length, ``N`` the batch and ``E = d_model``::

    src (S, N, E), tgt (T, N, E) -> (T, N, E)        # (N, S, E) etc. with batch_first; (S, E) unbatched

Masks, as in ``MultiheadAttention``: ``*_mask`` ``(T, S)`` or ``(N*nhead, T, S)`` and
``*_key_padding_mask`` ``(N, S)``, boolean (``True`` = ignored) or float (added to the scores).
``*_is_causal`` flags are hints that the mask is causal; the mask given is what is applied.

    model = nn.Transformer(d_model=64, nhead=4, batch_first=True)
    causal = nn.Transformer.generate_square_subsequent_mask(12)
    out = model(md.randn(8, 20, 64), md.randn(8, 12, 64), tgt_mask=causal)    # (8, 12, 64)
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from ... import creation
from ...tensor import Tensor
from .. import functional as F
from .. import init
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

Activation = Callable[[Tensor], Tensor]
_ACTIVATIONS: dict[str, Activation] = {"relu": F.relu, "gelu": F.gelu}


def _activation(activation: str | Activation, who: str) -> Activation:
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"{who}: activation should be 'relu', 'gelu' or a callable, not {activation!r}")
        return _ACTIVATIONS[activation]
    if not callable(activation):
        raise TypeError(f"{who}: activation should be 'relu', 'gelu' or a callable, got {type(activation).__name__}")
    return activation


class TransformerEncoderLayer(Module):
    """Self-attention, then a feed-forward network, each in a residual branch with layer norm.

    forward(src, src_mask, src_key_padding_mask, is_causal): src ``(S, N, E)`` (``(N, S, E)`` with
    ``batch_first``, ``(S, E)`` unbatched) -> the same shape. With ``ff(x) = linear2(dropout(activation(
    linear1(x))))``::

        norm_first=False:  x = norm1(x + dropout1(self_attn(x)));  x = norm2(x + dropout2(ff(x)))
        norm_first=True:   x = x + dropout1(self_attn(norm1(x)));  x = x + dropout2(ff(norm2(x)))

    ``activation``: ``'relu'`` (default), ``'gelu'`` or any callable on a tensor. ``bias=False`` drops the
    biases of the linear and layer-norm layers.

        >>> import minidl as md
        >>> layer = md.nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True)
        >>> layer(md.randn(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Activation = F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            **factory)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation, type(self).__name__)

    def forward(self, src: Tensor, src_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._feed_forward(self.norm2(x))
        x = self.norm1(x + self._self_attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._feed_forward(x))

    def _self_attention(self, x: Tensor, mask: Tensor | None, key_padding_mask: Tensor | None,
                        is_causal: bool) -> Tensor:
        out = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=key_padding_mask, need_weights=False,
                             is_causal=is_causal)[0]
        return self.dropout1(out)

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Self-attention over the target, attention to the encoder's output (``memory``), then a
    feed-forward network, each in a residual branch with layer norm.

    forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask,
    tgt_is_causal, memory_is_causal): tgt ``(T, N, E)``, memory ``(S, N, E)`` (``(N, T, E)``,
    ``(N, S, E)`` with ``batch_first``; ``(T, E)``, ``(S, E)`` unbatched) -> tgt's shape::

        norm_first=False:  x = norm1(x + dropout1(self_attn(x)))
                           x = norm2(x + dropout2(multihead_attn(x, memory)))
                           x = norm3(x + dropout3(ff(x)))
        norm_first=True:   the same with x + dropout_i(block(norm_i(x)))

    ``tgt_mask`` ``(T, T)`` masks the self-attention (the causal mask, typically); ``memory_mask``
    ``(T, S)`` the attention to memory. Arguments otherwise as ``TransformerEncoderLayer``'s.

        >>> import minidl as md
        >>> layer = md.nn.TransformerDecoderLayer(d_model=16, nhead=4, dim_feedforward=32)
        >>> tgt, memory = md.randn(7, 2, 16), md.randn(5, 2, 16)
        >>> layer(tgt, memory).shape
        (7, 2, 16)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Activation = F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            **factory)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, **factory)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation, type(self).__name__)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._memory_attention(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                           memory_is_causal)
            return x + self._feed_forward(self.norm3(x))
        x = self.norm1(x + self._self_attention(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._memory_attention(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._feed_forward(x))

    def _self_attention(self, x: Tensor, mask: Tensor | None, key_padding_mask: Tensor | None,
                        is_causal: bool) -> Tensor:
        out = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=key_padding_mask, need_weights=False,
                             is_causal=is_causal)[0]
        return self.dropout1(out)

    def _memory_attention(self, x: Tensor, memory: Tensor, mask: Tensor | None, key_padding_mask: Tensor | None,
                          is_causal: bool) -> Tensor:
        out = self.multihead_attn(x, memory, memory, attn_mask=mask, key_padding_mask=key_padding_mask,
                                  need_weights=False, is_causal=is_causal)[0]
        return self.dropout2(out)

    def _feed_forward(self, x: Tensor) -> Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def _clones(layer: Module, num_layers: int) -> ModuleList:
    """``num_layers`` deep copies of ``layer``: equal at first, trained apart (as PyTorch builds its stacks)."""
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` applied in turn, then ``norm`` when given.

    forward(src, mask, src_key_padding_mask, is_causal): as ``TransformerEncoderLayer``'s, the masks passed
    to every layer. The layers start as deep copies of ``encoder_layer``, so with equal parameters.
    ``enable_nested_tensor`` and ``mask_check`` are accepted for PyTorch's signature; they select PyTorch's
    sparse fast path and change nothing here. ``is_causal=None`` (PyTorch detects a causal ``mask``)
    counts as False: the hint changes no result.

        >>> import minidl as md
        >>> layer = md.nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32)
        >>> encoder = md.nn.TransformerEncoder(layer, num_layers=2, norm=md.nn.LayerNorm(16))
        >>> encoder(md.randn(5, 2, 16)).shape
        (5, 2, 16)
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(self, src: Tensor, mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                           is_causal=bool(is_causal))
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` applied in turn, then ``norm`` when given.

    forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask,
    tgt_is_causal, memory_is_causal): as ``TransformerDecoderLayer``'s; every layer attends to the same
    ``memory``. ``tgt_is_causal=None`` counts as False (a hint only).

        >>> import minidl as md
        >>> layer = md.nn.TransformerDecoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True)
        >>> decoder = md.nn.TransformerDecoder(layer, num_layers=2)
        >>> decoder(md.randn(2, 7, 16), md.randn(2, 5, 16)).shape
        (2, 7, 16)
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=bool(tgt_is_causal),
                           memory_is_causal=memory_is_causal)
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """An encoder-decoder Transformer: ``decoder(tgt, encoder(src))``.

    forward(src, tgt, src_mask, tgt_mask, memory_mask, src_key_padding_mask, tgt_key_padding_mask,
    memory_key_padding_mask, src_is_causal, tgt_is_causal, memory_is_causal): src ``(S, N, E)``, tgt
    ``(T, N, E)`` (``(N, S, E)``, ``(N, T, E)`` with ``batch_first``; ``(S, E)``, ``(T, E)`` unbatched) ->
    ``(T, N, E)``. ``src_mask (S, S)``, ``tgt_mask (T, T)``, ``memory_mask (T, S)``; key-padding masks
    ``(N, S)``, ``(N, T)``, ``(N, S)``.

    The encoder is ``num_encoder_layers`` ``TransformerEncoderLayer``s and a final ``LayerNorm``, the
    decoder likewise (or ``custom_encoder``/``custom_decoder``); every parameter of 2 or more dims is then
    re-drawn Xavier-uniform, as in PyTorch. ``generate_square_subsequent_mask(T)`` gives the causal
    ``tgt_mask``.

        >>> import minidl as md
        >>> model = md.nn.Transformer(d_model=16, nhead=4, num_encoder_layers=1, num_decoder_layers=1,
        ...                     dim_feedforward=32, batch_first=True)
        >>> src, tgt = md.randn(2, 5, 16), md.randn(2, 7, 16)
        >>> model(src, tgt, tgt_mask=md.nn.Transformer.generate_square_subsequent_mask(7)).shape
        (2, 7, 16)
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1, activation: str | Activation = F.relu,
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first,
                      bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*layer_args, **factory), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*layer_args, **factory), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def _reset_parameters(self) -> None:
        for parameter in self.parameters():
            if parameter.ndim > 1:
                init.xavier_uniform_(parameter)

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Tensor | None = None, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        self._check_inputs(src, tgt)
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    def _check_inputs(self, src: Tensor, tgt: Tensor) -> None:
        if src.ndim not in (2, 3) or tgt.ndim != src.ndim:
            raise ValueError(f"Transformer: src and tgt must both be batched 3-D or both unbatched 2-D, got shapes "
                             f"{tuple(src.shape)} and {tuple(tgt.shape)}")
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise ValueError(f"Transformer: the batch sizes of src and tgt (dim {batch_dim} with "
                             f"batch_first={self.batch_first}) must be equal, got shapes {tuple(src.shape)} and "
                             f"{tuple(tgt.shape)}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(f"Transformer: the feature number of src and tgt must be equal to d_model={self.d_model}, "
                             f"got shapes {tuple(src.shape)} and {tuple(tgt.shape)}")

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """The causal mask ``(sz, sz)``: ``-inf`` above the diagonal (a later position), 0 elsewhere.

            >>> import minidl as md
            >>> md.nn.Transformer.generate_square_subsequent_mask(3).numpy()
            array([[  0., -inf, -inf],
                   [  0.,   0., -inf],
                   [  0.,   0.,   0.]], dtype=float32)
        """
        return creation.full((sz, sz), float("-inf"), dtype=dtype, device=device).triu(1)
