"""The reference models W1-W6 (``minidl.models``) against their PyTorch twins.

The twins are compiled from the same source (``benchmarks/torch_twins.py``): PyTorch's weights are
copied in by name through NumPy, and the outputs, the loss and every parameter gradient must agree.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

import minidl as md
from tests.oracle import requires_torch, torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

W1_PARAMETERS = 430_407  # the seed report's count for 7 classes


def test_w1_has_the_seed_parameter_count():
    assert sum(p.numel() for p in md.models.qd_cnn(7).parameters()) == W1_PARAMETERS


@pytest.mark.parametrize("shape", [(4, 1, 28, 28), (4, 1, 32, 32)])
def test_w1_names_the_layer_that_gets_a_wrong_input(shape):
    model = md.models.qd_cnn()
    if shape[-1] == 28:
        with pytest.raises(ValueError, match="Conv2d.*1 channels.*got tensor of shape \\(4, 3, 28, 28\\)"):
            model(md.zeros(4, 3, 28, 28))
    else:
        with pytest.raises(ValueError, match="Linear.*576"):
            model(md.zeros(*shape))


def test_rowrnn_rejects_an_unknown_cell():
    with pytest.raises(ValueError, match="RowRNN: cell must be 'lstm' or 'gru', got 'rnn'"):
        md.models.RowRNN("rnn")


CASES = {
    # name: (constructor args, input shape, input kind, output -> scalar loss in framework-neutral ops)
    "qd_cnn": ((8,), (5, 1, 28, 28), "image", "ce"),
    "mnist_cnn": ((), (5, 1, 28, 28), "image", "ce"),
    "mnist_mlp": ((), (5, 784), "image", "ce"),
    "ConvVAE": ((6,), (5, 1, 28, 28), "image", "vae"),
    "Generator": ((16,), (5, 16), "noise", "sum"),
    "Discriminator": ((), (5, 1, 28, 28), "image", "sum"),
    "RowRNN.lstm": (("lstm", 16), (5, 28, 28), "image", "ce"),
    "RowRNN.gru": (("gru", 16), (5, 28, 28), "image", "ce"),
}


def _loss(framework, kind, out):
    if kind == "ce":
        labels = framework.tensor(np.arange(out.shape[0]) % out.shape[1], device=out.device)
        return framework.nn.functional.cross_entropy(out, labels)
    if kind == "vae":
        logits, mu, logvar = out
        return (logits.sigmoid() ** 2).sum() + (mu * logvar).sum() + logvar.exp().sum()
    return (out * out).sum()


@requires_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name, device):
    import torch_twins

    args, shape, input_kind, loss_kind = CASES[name]
    attr = name.split(".")[0]
    torch.manual_seed(0)
    theirs = getattr(torch_twins.torch_models(), attr)(*args).double()
    ours = getattr(md.models, attr)(*args).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.to(device)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for model in (ours, theirs):   # dropout off and the VAE on its mean; BN keeps batch statistics
        model.eval() if attr in ("mnist_cnn", "mnist_mlp", "ConvVAE") else model.train()

    rng = np.random.default_rng(0)
    x = rng.random(shape) if input_kind == "image" else rng.standard_normal(shape)
    out_ours = ours(md.tensor(x, dtype=md.float64, device=device))
    out_theirs = theirs(torch.tensor(x))
    loss_ours, loss_theirs = _loss(md, loss_kind, out_ours), _loss(torch, loss_kind, out_theirs)
    np.testing.assert_allclose(loss_ours.item(), loss_theirs.item(), rtol=1e-9)
    loss_ours.backward()
    loss_theirs.backward()
    grads_theirs = dict(theirs.named_parameters())
    for key, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.cpu().numpy(), grads_theirs[key].grad.numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=f"{name}: gradient of {key}")
    if attr == "Discriminator" or attr == "Generator":   # running statistics updated alike
        buffers_theirs = dict(theirs.named_buffers())
        for key, b in ours.named_buffers():
            np.testing.assert_allclose(b.cpu().numpy(), buffers_theirs[key].numpy(), rtol=1e-9, err_msg=key)
