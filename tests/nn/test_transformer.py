"""Transformer layers (minidl/nn/modules/transformer.py): PyTorch as the oracle for outputs and every
gradient (float64, PyTorch's weights copied in by name), float64 numerical gradients, and the errors."""

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
import minidl.nn.functional as F
from minidl.autograd import gradcheck
from minidl.nn.modules.transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

N, S, T, E, HEADS, FF = 2, 5, 4, 8, 2, 12

# activation: (minidl's, PyTorch's). minidl's exact GELU computes erf to a relative 1.2e-7 (NumPy has no
# erf), so results with it agree with PyTorch's to about 1e-7 rather than to rounding.
GELU_RTOL = 1e-6
ACTIVATIONS = {
    "relu": ("relu", "relu"),
    "gelu": ("gelu", "gelu"),
    "tanh-gelu callable": (lambda x: F.gelu(x, approximate="tanh"),
                           lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
}


def _load_into(mine, reference):
    """PyTorch's parameters, perturbed so that the stacked layers and the layer norms differ, loaded into
    ``mine`` by name; the state-dict names and shapes must be PyTorch's, in PyTorch's order."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in reference.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=generator, dtype=p.dtype))
    assert [(n, tuple(v.shape)) for n, v in mine.state_dict().items()] == \
        [(n, tuple(v.shape)) for n, v in reference.state_dict().items()]
    mine.load_state_dict({n: md.from_numpy(v.detach().numpy()) for n, v in reference.state_dict().items()})
    return mine, reference


def _layer_pair(kind, activation="relu", **kwargs):
    """A minidl and a PyTorch encoder or decoder layer (float64), with the same weights."""
    mine_activation, torch_activation = ACTIVATIONS[activation]
    torch.manual_seed(0)
    mine_class = {"encoder": TransformerEncoderLayer, "decoder": TransformerDecoderLayer}[kind]
    torch_class = {"encoder": torch.nn.TransformerEncoderLayer, "decoder": torch.nn.TransformerDecoderLayer}[kind]
    options = {"dim_feedforward": FF, "dropout": 0.0, **kwargs}
    mine = mine_class(E, HEADS, activation=mine_activation, dtype=md.float64, **options)
    return _load_into(mine, torch_class(E, HEADS, activation=torch_activation, dtype=torch.float64, **options))


def _sequences(rng, batch_first, *lengths):
    shape = (lambda length: (N, length, E)) if batch_first else (lambda length: (length, N, E))
    return [rng.standard_normal(shape(length)) for length in lengths]


def _masks(rng, causal=True):
    """Boolean source masks, float target and memory ones (each mask of the same dtype as its key padding:
    both libraries warn otherwise); causal ones for the self-attention unless ``causal=False``."""
    source_padding = np.zeros((N, S), dtype=bool)
    source_padding[0, -2:] = True  # the first sequence's last two positions are padding
    target_padding = np.zeros((N, T))
    target_padding[1, -1] = -np.inf
    return {
        "src_key_padding_mask": source_padding,
        "src_mask": np.triu(np.ones((S, S), dtype=bool), 1) if causal else None,
        "tgt_key_padding_mask": target_padding,
        "tgt_mask": np.triu(np.full((T, T), -np.inf), 1) if causal else None,
        "memory_key_padding_mask": np.where(source_padding, -np.inf, 0.0),
        "memory_mask": rng.standard_normal((T, S)),
    }


def _as_minidl(value):
    if value is None or isinstance(value, (bool, md.Tensor)):
        return value
    return md.tensor(value, dtype=md.float64) if value.dtype.kind == "f" else md.tensor(value)


def _as_torch(value):
    return value if value is None or isinstance(value, bool) else torch.tensor(value)


def _compare(mine, reference, arrays, rng, train=True, rtol=1e-9, **kwargs):
    """Both modules on the same inputs and masks: outputs, input gradients and every parameter's gradient
    (by name) equal to rounding (to ``rtol``)."""
    mine.train(train)
    reference.train(train)
    inputs_m = [md.tensor(a, dtype=md.float64, requires_grad=True) for a in arrays]
    inputs_t = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_m = mine(*inputs_m, **{k: _as_minidl(v) for k, v in kwargs.items()})
    out_t = reference(*inputs_t, **{k: _as_torch(v) for k, v in kwargs.items()})
    assert tuple(out_m.shape) == tuple(out_t.shape)
    np.testing.assert_allclose(out_m.detach().numpy(), out_t.detach().numpy(), rtol=rtol, atol=rtol / 100)
    projection = rng.standard_normal(tuple(out_t.shape))
    (out_m * md.tensor(projection, dtype=md.float64)).sum().backward()
    (out_t * torch.tensor(projection)).sum().backward()
    pairs = list(zip(inputs_m, inputs_t)) + [
        (p, dict(reference.named_parameters())[name]) for name, p in mine.named_parameters()
    ]
    for m, t in pairs:
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=10 * rtol, atol=rtol / 10)


FLAGS = [pytest.param(norm_first, batch_first, id=f"norm_first={norm_first},batch_first={batch_first}")
         for norm_first in (False, True) for batch_first in (False, True)]


@requires_torch
@pytest.mark.parametrize("norm_first, batch_first", FLAGS)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_encoder_layer_matches_torch(norm_first, batch_first, activation, rng):
    mine, reference = _layer_pair("encoder", activation, norm_first=norm_first, batch_first=batch_first)
    masks, rtol = _masks(rng), 1e-9 if activation == "relu" else GELU_RTOL
    _compare(mine, reference, _sequences(rng, batch_first, S), rng, rtol=rtol, src_mask=masks["src_mask"],
             src_key_padding_mask=masks["src_key_padding_mask"], is_causal=True)
    _compare(mine, reference, _sequences(rng, batch_first, S), rng, rtol=rtol)


@requires_torch
@pytest.mark.parametrize("norm_first, batch_first", FLAGS)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_decoder_layer_matches_torch(norm_first, batch_first, activation, rng):
    mine, reference = _layer_pair("decoder", activation, norm_first=norm_first, batch_first=batch_first)
    masks, rtol = _masks(rng), 1e-9 if activation == "relu" else GELU_RTOL
    del masks["src_mask"], masks["src_key_padding_mask"]
    _compare(mine, reference, _sequences(rng, batch_first, T, S), rng, rtol=rtol, tgt_is_causal=True, **masks)
    _compare(mine, reference, _sequences(rng, batch_first, T, S), rng, rtol=rtol)


@requires_torch
def test_layers_without_bias_and_unbatched_match_torch(rng):
    mine, reference = _layer_pair("encoder", bias=False, layer_norm_eps=1e-3)
    assert not any(name.endswith("bias") for name, _ in mine.named_parameters())
    _compare(mine, reference, [rng.standard_normal((S, E))], rng,
             src_key_padding_mask=np.array([False, True, False, False, True]))
    mine, reference = _layer_pair("decoder", norm_first=True)
    _compare(mine, reference, [rng.standard_normal((T, E)), rng.standard_normal((S, E))], rng,
             tgt_mask=np.triu(np.ones((T, T), dtype=bool), 1), tgt_is_causal=True)  # PyTorch: SDPA's causal


@requires_torch
@pytest.mark.parametrize("norm_first, batch_first", FLAGS)
def test_stacks_of_two_layers_with_a_final_norm_match_torch(norm_first, batch_first, rng):
    options = {"dim_feedforward": FF, "dropout": 0.0, "norm_first": norm_first, "batch_first": batch_first}
    torch.manual_seed(0)
    mine_encoder, torch_encoder = _load_into(
        TransformerEncoder(TransformerEncoderLayer(E, HEADS, dtype=md.float64, **options), 2,
                           md.nn.LayerNorm(E, dtype=md.float64)),
        torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, HEADS, dtype=torch.float64, **options), 2,
                                    torch.nn.LayerNorm(E, dtype=torch.float64), enable_nested_tensor=False))
    mine_decoder, torch_decoder = _load_into(
        TransformerDecoder(TransformerDecoderLayer(E, HEADS, activation="gelu", dtype=md.float64, **options), 2,
                           md.nn.LayerNorm(E, dtype=md.float64)),
        torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(E, HEADS, activation="gelu",
                                                                     dtype=torch.float64, **options), 2,
                                    torch.nn.LayerNorm(E, dtype=torch.float64)))
    assert "layers.1.self_attn.in_proj_weight" in mine_encoder.state_dict()
    assert "layers.1.multihead_attn.out_proj.bias" in mine_decoder.state_dict()
    masks = _masks(rng)
    _compare(mine_encoder, torch_encoder, _sequences(rng, batch_first, S), rng, mask=masks.pop("src_mask"),
             src_key_padding_mask=masks.pop("src_key_padding_mask"))
    _compare(mine_decoder, torch_decoder, _sequences(rng, batch_first, T, S), rng, rtol=GELU_RTOL, **masks)


def test_stack_layers_are_independent_deep_copies():
    layer = TransformerEncoderLayer(E, HEADS, FF)
    encoder = TransformerEncoder(layer, 3)
    first, second = encoder.layers[0], encoder.layers[1]
    assert first is not layer and first.linear1.weight is not second.linear1.weight
    np.testing.assert_array_equal(first.linear1.weight.detach().numpy(), second.linear1.weight.detach().numpy())
    assert len(encoder.layers) == 3 and all(name.startswith("layers.") for name in encoder.state_dict())


@requires_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")  # PyTorch's, on its fast path
def test_transformer_end_to_end_matches_torch(batch_first, rng):
    options = {"d_model": E, "nhead": HEADS, "num_encoder_layers": 2, "num_decoder_layers": 2,
               "dim_feedforward": FF, "dropout": 0.0, "batch_first": batch_first}
    torch.manual_seed(0)
    mine, reference = _load_into(Transformer(dtype=md.float64, **options),
                                 torch.nn.Transformer(dtype=torch.float64, **options))
    masks = _masks(rng, causal=False)
    masks["tgt_mask"] = Transformer.generate_square_subsequent_mask(T, dtype=md.float64).numpy()
    _compare(mine, reference, _sequences(rng, batch_first, S, T), rng, **masks)


@requires_torch
def test_eval_mode_matches_torch_and_its_fast_path(rng):
    """Dropout (0.1 here) is off in evaluation. Without gradients PyTorch takes a fused "fast path" for the
    encoder (eval, batch_first, no grad): its results equal ours to rounding, except that with
    ``enable_nested_tensor`` and a key-padding mask it runs on nested tensors and returns **zeros** at the
    padded positions, where we (and PyTorch's own slow path) return the layers' values."""
    torch.manual_seed(0)
    layer_options = {"dim_feedforward": FF, "batch_first": True}
    mine, reference = _load_into(
        TransformerEncoder(TransformerEncoderLayer(E, HEADS, dtype=md.float64, **layer_options), 2),
        torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(E, HEADS, dtype=torch.float64,
                                                                     **layer_options), 2))
    padding = _masks(rng)["src_key_padding_mask"]
    (src,) = _sequences(rng, True, S)
    _compare(mine, reference, [src], rng, train=False, src_key_padding_mask=padding)  # PyTorch's slow path
    out = mine(md.tensor(src, dtype=md.float64), src_key_padding_mask=md.tensor(padding)).detach().numpy()
    with torch.no_grad(), pytest.warns(UserWarning, match="nested tensors"):
        fast = reference(torch.tensor(src), src_key_padding_mask=torch.tensor(padding)).numpy()
    np.testing.assert_allclose(out[~padding], fast[~padding], rtol=1e-9, atol=1e-11)
    np.testing.assert_array_equal(fast[padding], 0.0)
    assert np.abs(out[padding]).min() > 0
    with torch.no_grad():
        fast_layer = reference.layers[0](torch.tensor(src), src_key_padding_mask=torch.tensor(padding)).numpy()
    np.testing.assert_allclose(mine.layers[0](md.tensor(src, dtype=md.float64),
                                              src_key_padding_mask=md.tensor(padding)).detach().numpy(),
                               fast_layer, rtol=1e-9, atol=1e-11)


@requires_torch
def test_generate_square_subsequent_mask_matches_torch():
    mask = Transformer.generate_square_subsequent_mask(5)
    assert mask.dtype == md.float32
    np.testing.assert_array_equal(mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(5).numpy())
    assert Transformer.generate_square_subsequent_mask(3, dtype=md.float64).dtype == md.float64


def test_transformer_init_is_xavier_for_matrices():
    md.manual_seed(0)
    model = Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=64)
    weight = model.encoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6 / (16 + 64))
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    np.testing.assert_array_equal(model.decoder.norm.weight.detach().numpy(), 1.0)


def test_encoder_layer_gradcheck(rng):
    layer = TransformerEncoderLayer(4, 2, dim_feedforward=5, dropout=0.0, activation="gelu", norm_first=True,
                                    dtype=md.float64)
    src = md.tensor(rng.standard_normal((3, 2, 4)), dtype=md.float64, requires_grad=True)
    mask = Transformer.generate_square_subsequent_mask(3, dtype=md.float64)
    assert gradcheck(lambda x: layer(x, src_mask=mask, is_causal=True), (src,))


def test_decoder_layer_gradcheck(rng):
    layer = TransformerDecoderLayer(4, 2, dim_feedforward=5, dropout=0.0, dtype=md.float64)
    tgt, memory = (md.tensor(rng.standard_normal(shape), dtype=md.float64, requires_grad=True)
                   for shape in ((3, 2, 4), (2, 2, 4)))
    assert gradcheck(lambda t, m: layer(t, m), (tgt, memory))


def test_dropout_acts_in_training_only():
    md.manual_seed(0)
    layer = TransformerEncoderLayer(E, HEADS, FF, dropout=0.5, dtype=md.float64)
    src = md.randn(S, N, E, dtype=md.float64)
    assert not np.allclose(layer(src).detach().numpy(), layer(src).detach().numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(src).detach().numpy(), layer(src).detach().numpy())


@pytest.mark.parametrize("call, error, message", [
    (lambda: TransformerEncoderLayer(10, 3), ValueError, "divisible by num_heads"),
    (lambda: TransformerDecoderLayer(8, 2, activation="tanh"), ValueError,
     "TransformerDecoderLayer: activation should be 'relu', 'gelu' or a callable, not 'tanh'"),
    (lambda: TransformerEncoderLayer(8, 2, activation=3), TypeError, "got int"),
    (lambda: Transformer(8, 2, 1, 1, 16)(md.randn(5, 2, 8), md.randn(4, 3, 8)), ValueError,
     r"batch sizes of src and tgt \(dim 1 with batch_first=False\) must be equal"),
    (lambda: Transformer(8, 2, 1, 1, 16, batch_first=True)(md.randn(2, 5, 8), md.randn(3, 4, 8)), ValueError,
     r"batch sizes of src and tgt \(dim 0 with batch_first=True\)"),
    (lambda: Transformer(8, 2, 1, 1, 16)(md.randn(5, 2, 8), md.randn(4, 2, 6)), ValueError,
     "feature number of src and tgt must be equal to d_model=8"),
    (lambda: Transformer(8, 2, 1, 1, 16)(md.randn(5, 2, 8), md.randn(4, 8)), ValueError,
     "must both be batched 3-D or both unbatched 2-D"),
    (lambda: TransformerEncoderLayer(8, 2, 16)(md.randn(5, 2, 8), is_causal=True), ValueError,
     "pass the causal attn_mask too"),
])
def test_errors_say_what_was_expected(call, error, message):
    with pytest.raises(error, match=message):
        call()
