"""Attention (minidl/nn/_functional/attention.py, minidl/nn/modules/attention.py): float64 numerical
gradients, and PyTorch as the oracle for outputs, attention weights and every gradient, with
PyTorch's weights copied in by name."""

import numpy as np
import pytest
from oracle import requires_torch, torch

import minidl as md
import minidl.nn.functional as F
from minidl.autograd import gradcheck, gradgradcheck

BATCH, HEADS, L, S, E, EV = 2, 3, 4, 5, 6, 7


def _pair_tensors(rng, *shapes):
    """The same float64 random arrays as minidl and PyTorch leaf tensors."""
    arrays = [rng.standard_normal(shape) for shape in shapes]
    mine = [md.tensor(a, dtype=md.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return mine, theirs


def _backward_and_compare(outputs_m, outputs_t, inputs_m, inputs_t, rng, rtol=1e-9):
    """Outputs equal; then a random projection of each output backwards, and every input's gradient equal."""
    loss_m, loss_t = 0, 0
    for m, t in zip(outputs_m, outputs_t, strict=True):
        assert tuple(m.shape) == tuple(t.shape)
        np.testing.assert_allclose(m.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=1e-12)
        weights = rng.standard_normal(tuple(t.shape))
        loss_m = loss_m + (m * md.tensor(weights, dtype=md.float64)).sum()
        loss_t = loss_t + (t * torch.tensor(weights)).sum()
    loss_m.backward()
    loss_t.backward()
    for m, t in zip(inputs_m, inputs_t, strict=True):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-12)


def _mask(array):
    """A NumPy mask as a minidl tensor: float64 stays float64 (``md.tensor`` would make it float32)."""
    return md.tensor(array, dtype=md.float64) if array.dtype.kind == "f" else md.tensor(array)


# ---- scaled_dot_product_attention ---------------------------------------------------------------

def _masks(rng):
    allowed = rng.random((L, S)) < 0.7
    allowed[:, 0] = True  # every query keeps a key (a fully masked row is NaN, in both)
    return {
        "none": {},
        "bool mask": {"attn_mask": allowed},
        "float mask (broadcast over batch)": {"attn_mask": rng.standard_normal((HEADS, L, S))},
        "causal": {"is_causal": True},
        "scale": {"scale": 0.3},
    }


@requires_torch
@pytest.mark.parametrize("case", list(_masks(np.random.default_rng(0))))
def test_sdpa_matches_torch(case, rng):
    options = _masks(np.random.default_rng(0))[case]
    (q, k, v), (tq, tk, tv) = _pair_tensors(rng, (BATCH, HEADS, L, E), (BATCH, HEADS, S, E), (BATCH, HEADS, S, EV))
    mask = options.get("attn_mask")
    mine_options = dict(options, attn_mask=None if mask is None else _mask(mask))
    theirs_options = dict(options, attn_mask=None if mask is None else torch.tensor(mask))
    out_m = F.scaled_dot_product_attention(q, k, v, **mine_options)
    out_t = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **theirs_options)
    _backward_and_compare([out_m], [out_t], [q, k, v], [tq, tk, tv], rng)


@requires_torch
def test_sdpa_grouped_query_attention_matches_torch(rng):
    (q, k, v), (tq, tk, tv) = _pair_tensors(rng, (BATCH, 6, L, E), (BATCH, 2, S, E), (BATCH, 2, S, EV))
    out_m = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    out_t = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, enable_gqa=True)
    _backward_and_compare([out_m], [out_t], [q, k, v], [tq, tk, tv], rng)


def test_sdpa_gradcheck_and_gradgradcheck(rng):
    q, k, v = (md.tensor(rng.standard_normal(shape), dtype=md.float64, requires_grad=True)
               for shape in ((2, L, E), (2, S, E), (2, S, EV)))
    mask = md.tensor(rng.standard_normal((L, S)), dtype=md.float64)
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask), (q, k, v))
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v))


def test_sdpa_causal_ignores_later_keys(rng):
    q, k, v = (md.tensor(rng.standard_normal((L, E)), dtype=md.float64) for _ in range(3))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy()
    changed = v.numpy().copy()
    changed[-1] += 100.0  # only the last query may see the last key
    out_changed = F.scaled_dot_product_attention(q, k, md.tensor(changed, dtype=md.float64), is_causal=True).numpy()
    np.testing.assert_array_equal(out[:-1], out_changed[:-1])
    assert not np.allclose(out[-1], out_changed[-1])
    np.testing.assert_allclose(out[0], v.numpy()[0])  # the first query sees only the first key


def test_sdpa_dropout_zeroes_weights_and_rescales(rng):
    q, k, v = (md.tensor(rng.standard_normal((1, 64, 8)), dtype=md.float64) for _ in range(3))
    ones = md.ones(1, 64, 8, dtype=md.float64)
    md.manual_seed(0)
    dropped = F.scaled_dot_product_attention(q, k, ones, dropout_p=0.5).numpy()
    assert np.allclose(F.scaled_dot_product_attention(q, k, ones).numpy(), 1.0)
    assert not np.allclose(dropped, 1.0) and abs(dropped.mean() - 1.0) < 0.1  # kept weights scaled by 2
    np.testing.assert_array_equal(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy(), 0.0)


@pytest.mark.parametrize("call, message", [
    (lambda q: F.scaled_dot_product_attention(q, q, q, attn_mask=md.ones(L, L, dtype=md.bool), is_causal=True),
     "both is_causal=True and an attn_mask"),
    (lambda q: F.scaled_dot_product_attention(q, md.randn(2, L, E + 1), q), r"query \(\*, L, E\), key"),
    (lambda q: F.scaled_dot_product_attention(q, q, q, dropout_p=1.5), r"dropout_p must be in \[0, 1\]"),
    (lambda q: F.scaled_dot_product_attention(md.randn(E), q, q), "at least 2 dims"),
    (lambda q: F.scaled_dot_product_attention(md.randn(1, 3, L, E), md.randn(1, 2, L, E), md.randn(1, 2, L, E),
                                              enable_gqa=True), "multiple of the key/value heads"),
])
def test_sdpa_errors_say_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call(md.randn(2, L, E))


# ---- MultiheadAttention -------------------------------------------------------------------------

def _layer_pair(embed_dim=6, num_heads=2, **kwargs):
    """The same layer in PyTorch and minidl (float64), PyTorch's weights loaded by name."""
    torch.manual_seed(0)
    reference = torch.nn.MultiheadAttention(embed_dim, num_heads, **kwargs).double()
    mine = md.nn.MultiheadAttention(embed_dim, num_heads, dtype=md.float64, **kwargs)
    assert [(n, tuple(p.shape)) for n, p in mine.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in reference.named_parameters()]
    mine.load_state_dict({n: md.from_numpy(p.detach().numpy()) for n, p in reference.state_dict().items()})
    return reference, mine


def _run_pair(reference, mine, arrays, rng, self_attention=False, masks=None, **options):
    """Forward both on the same inputs (one tensor for query, key and value with ``self_attention``),
    then compare outputs, weights, input gradients and parameter gradients."""
    inputs_m, inputs_t = _pair_tensors(rng, *[a.shape for a in arrays])
    for m, t, a in zip(inputs_m, inputs_t, arrays):
        m._data[...] = a
        t.data[...] = torch.tensor(a)
    masks = masks or {}
    masks_m = {name: _mask(value) for name, value in masks.items()}
    masks_t = {name: torch.tensor(value) for name, value in masks.items()}
    qkv_m = inputs_m * 3 if self_attention else inputs_m
    qkv_t = inputs_t * 3 if self_attention else inputs_t
    out_m, weights_m = mine(*qkv_m, **masks_m, **options)
    out_t, weights_t = reference(*qkv_t, **masks_t, **options)
    assert (weights_m is None) == (weights_t is None)
    outputs_m = [out_m] + ([] if weights_m is None else [weights_m])
    outputs_t = [out_t] + ([] if weights_t is None else [weights_t])
    parameters_m = [p for _, p in mine.named_parameters()]
    parameters_t = [p for _, p in reference.named_parameters()]
    _backward_and_compare(outputs_m, outputs_t, inputs_m + parameters_m, inputs_t + parameters_t, rng, rtol=1e-8)


@requires_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
def test_self_attention_matches_torch(batch_first, need_weights, average, rng):
    reference, mine = _layer_pair(batch_first=batch_first)
    shape = (BATCH, L, 6) if batch_first else (L, BATCH, 6)
    _run_pair(reference, mine, [rng.standard_normal(shape)], rng, self_attention=True,
              need_weights=need_weights, average_attn_weights=average)


@requires_torch
@pytest.mark.parametrize("kwargs", [
    {},
    {"kdim": 5, "vdim": 3},
    {"bias": False},
    {"add_bias_kv": True, "add_zero_attn": True},
    {"add_bias_kv": True, "kdim": 4, "vdim": 4, "batch_first": True},
], ids=["packed", "kdim/vdim", "no bias", "bias_kv + zero_attn", "bias_kv + kdim, batch_first"])
@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask:UserWarning")  # PyTorch's own
def test_cross_attention_with_masks_matches_torch(kwargs, rng):
    reference, mine = _layer_pair(**kwargs)
    kdim, vdim = kwargs.get("kdim", 6), kwargs.get("vdim", 6)
    batch_first = kwargs.get("batch_first", False)

    def shape(length, features):
        return (BATCH, length, features) if batch_first else (length, BATCH, features)

    arrays = [rng.standard_normal(shape(length, features)) for length, features in ((L, 6), (S, kdim), (S, vdim))]
    padding = np.zeros((BATCH, S), dtype=bool)
    padding[0, -2:] = True  # the first sequence's last two keys are padding
    masks = {"key_padding_mask": padding, "attn_mask": rng.standard_normal((L, S))}
    with pytest.warns(UserWarning, match="different dtypes"):  # bool padding, float attn_mask, as PyTorch warns
        _run_pair(reference, mine, arrays, rng, masks=masks)


@requires_torch
def test_per_head_bool_mask_and_causal_hint_match_torch(rng):
    reference, mine = _layer_pair()
    heads_mask = rng.random((BATCH * 2, L, L)) < 0.3
    heads_mask[..., 0] = False  # every query keeps a key
    _run_pair(reference, mine, [rng.standard_normal((L, BATCH, 6))], rng, self_attention=True,
              masks={"attn_mask": heads_mask})
    causal = np.triu(np.ones((L, L), dtype=bool), 1)  # True = masked out: the keys after each query
    _run_pair(reference, mine, [rng.standard_normal((L, BATCH, 6))], rng, self_attention=True,
              masks={"attn_mask": causal}, is_causal=True)


@requires_torch
def test_unbatched_input_matches_torch(rng):
    reference, mine = _layer_pair(kdim=4, vdim=5)
    arrays = [rng.standard_normal((L, 6)), rng.standard_normal((S, 4)), rng.standard_normal((S, 5))]
    padding = np.array([False, False, True, False, True])
    _run_pair(reference, mine, arrays, rng, masks={"key_padding_mask": padding}, average_attn_weights=False)


def test_layer_gradcheck(rng):
    layer = md.nn.MultiheadAttention(4, 2, kdim=3, vdim=3, add_bias_kv=True, dtype=md.float64)
    query, key = (md.tensor(rng.standard_normal(shape), dtype=md.float64, requires_grad=True)
                  for shape in ((3, 2, 4), (5, 2, 3)))
    assert gradcheck(lambda q, k: layer(q, k, k)[0], (query, key))


def test_dropout_acts_in_training_only():
    md.manual_seed(0)
    layer = md.nn.MultiheadAttention(8, 2, dropout=0.5, dtype=md.float64)
    x = md.randn(5, 3, 8, dtype=md.float64)
    training = [layer(x, x, x)[1].detach().numpy() for _ in range(2)]
    assert not np.allclose(training[0], training[1])
    layer.eval()
    weights = layer(x, x, x)[1].detach().numpy()
    np.testing.assert_array_equal(weights, layer(x, x, x)[1].detach().numpy())
    np.testing.assert_allclose(weights.sum(-1), 1.0)


def test_init_is_pytorchs():
    md.manual_seed(0)
    layer = md.nn.MultiheadAttention(64, 4, add_bias_kv=True)
    bound = np.sqrt(6 / (64 + 3 * 64))  # Xavier uniform on (3E, E)
    weight = layer.in_proj_weight.detach().numpy()
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    assert not layer.in_proj_bias.detach().numpy().any() and not layer.out_proj.bias.detach().numpy().any()
    assert layer.bias_k.shape == (1, 1, 64) and layer.bias_k.detach().numpy().std() > 0


@pytest.mark.parametrize("call, error, message", [
    (lambda: md.nn.MultiheadAttention(10, 3), ValueError, "divisible by num_heads"),
    (lambda: md.nn.MultiheadAttention(8, 2)(md.randn(2, 3, 4, 8), md.randn(2, 3, 4, 8), md.randn(2, 3, 4, 8)),
     ValueError, "unbatched 2D or batched 3D"),
    (lambda: md.nn.MultiheadAttention(8, 2)(md.randn(4, 2, 8), md.randn(3, 8), md.randn(3, 8)),
     ValueError, "expected key and value to be 3-D"),
    (lambda: md.nn.MultiheadAttention(8, 2)(md.randn(4, 2, 6), md.randn(4, 2, 6), md.randn(4, 2, 6)),
     ValueError, "expected a query with 8 features"),
    (lambda: md.nn.MultiheadAttention(8, 2)(md.randn(4, 2, 8), md.randn(4, 2, 8), md.randn(4, 2, 8),
                                            attn_mask=md.zeros(4, 5)),
     ValueError, r"attn_mask should be of shape \(4, 4\)"),
    (lambda: md.nn.MultiheadAttention(8, 2)(md.randn(4, 2, 8), md.randn(4, 2, 8), md.randn(4, 2, 8),
                                            key_padding_mask=md.zeros(2, 3, dtype=md.bool)),
     ValueError, r"key_padding_mask should be of shape \(2, 4\)"),
    (lambda: md.nn.MultiheadAttention(8, 2)(md.randn(4, 2, 8), md.randn(4, 2, 8), md.randn(4, 2, 8),
                                            is_causal=True), ValueError, "pass the causal attn_mask too"),
    (lambda: md.nn.MultiheadAttention(8, 2)(md.randn(4, 2, 8), md.randn(4, 2, 8), md.randn(4, 2, 8),
                                            attn_mask=md.zeros(4, 4, dtype=md.int64)), TypeError, "bool and floating"),
])
def test_layer_errors_say_what_was_expected(call, error, message):
    with pytest.raises(error, match=message):
        call()
