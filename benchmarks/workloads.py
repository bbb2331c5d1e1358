"""The reference workloads W1-W6 of ``WORKLOADS.md`` as runnable training steps, for minidl and PyTorch.

minidl mirrors PyTorch's API, so each workload is written once against a framework module ``lib``
(``minidl`` or ``torch``): the same code builds the model, the loss and the optimizer in both. The
models come from ``minidl.models`` and from their PyTorch twins compiled from the same source
(``torch_twins.py``); PyTorch's freshly initialised weights are copied into minidl by state dict, so
both frameworks start from the same weights and see the same batch::

    pair = build("W1")                         # Workload objects, one per framework
    pair["minidl"].step(); pair["torch"].step()
    pair["minidl"].infer()                     # forward only, batch 256, eval mode, no graph
    gpu = build("W1", device="cuda", batch=256)  # models and batches on the GPU (CuPy / CUDA)

A step is forward + loss + backward + optimizer update (W4: one discriminator update, real and fake
batches, then one generator update).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import minidl as md

try:
    import torch
except ImportError:  # minidl alone
    torch = None

INFERENCE_BATCH = 256


@dataclass(frozen=True)
class Spec:
    """One workload: the model constructor's name and arguments, batch size, input kind, optimizer."""

    name: str                 # 'qd-cnn'; ``title`` adds the batch size
    model: str
    args: tuple
    batch: int
    kind: str                 # 'classifier', 'vae', 'gan'
    input_shape: tuple        # one sample
    optimizer: str            # 'adam' or 'sgd'
    lr: float
    betas: tuple = (0.9, 0.999)
    classes: int = 10

    @property
    def title(self) -> str:
        return f"{self.name}, batch {self.batch}"


WORKLOADS: dict[str, Spec] = {
    "W1": Spec("qd-cnn", "qd_cnn", (7,), 64, "classifier", (1, 28, 28), "adam", 3e-3, classes=7),
    "W1b16": Spec("qd-cnn", "qd_cnn", (7,), 16, "classifier", (1, 28, 28), "adam", 3e-3, classes=7),
    "W2": Spec("mnist-cnn", "mnist_cnn", (), 100, "classifier", (1, 28, 28), "adam", 3e-3),
    "W3": Spec("conv-vae", "ConvVAE", (14,), 64, "vae", (1, 28, 28), "adam", 1e-3),
    "W4": Spec("dcgan", "Generator", (100,), 64, "gan", (1, 28, 28), "adam", 2e-4, betas=(0.5, 0.999)),
    "W5": Spec("row-lstm", "RowRNN", ("lstm",), 64, "classifier", (28, 28), "adam", 1e-3),
    "W5g": Spec("row-gru", "RowRNN", ("gru",), 64, "classifier", (28, 28), "adam", 1e-3),
    "W6": Spec("mlp", "mnist_mlp", (), 100, "classifier", (784,), "sgd", 1e-2),
}


@dataclass
class Workload:
    """A framework's side of one workload: ``step()`` trains on the fixed batch, ``infer()`` runs
    the forward pass at batch 256. ``optimizers`` and ``models`` are exposed for the profiler."""

    framework: str
    step: Callable[[], Any]
    infer: Callable[[], Any]
    models: list = field(default_factory=list)
    optimizers: list = field(default_factory=list)


def _models_module(framework: str) -> Any:
    if framework == "minidl":
        return md.models
    from torch_twins import torch_models  # noqa: PLC0415 (needs torch)

    return torch_models()


def _construct(spec: Spec, framework: str) -> list:
    models = _models_module(framework)
    if spec.kind == "gan":
        return [models.Generator(*spec.args), models.Discriminator()]
    return [getattr(models, spec.model)(*spec.args)]


def _optimizer(lib: Any, spec: Spec, parameters: Any) -> Any:
    if spec.optimizer == "sgd":
        return lib.optim.SGD(parameters, lr=spec.lr, momentum=0.9)
    return lib.optim.Adam(parameters, lr=spec.lr, betas=spec.betas)


def _batch(spec: Spec, batch: int, seed: int) -> dict[str, np.ndarray]:
    """The fixed random batch, as float32/int64 NumPy arrays shared by both frameworks."""
    rng = np.random.default_rng(seed)
    images = rng.random((batch,) + spec.input_shape, dtype=np.float32)
    if spec.kind == "gan":
        return {"x": images * 2 - 1, "z": rng.standard_normal((batch, spec.args[0]), dtype=np.float32)}
    return {"x": images, "y": rng.integers(0, spec.classes, batch).astype(np.int64)}


def _to(lib: Any, arrays: dict[str, np.ndarray], device: str) -> dict[str, Any]:
    return {key: lib.tensor(value, device=device) for key, value in arrays.items()}


def _step_function(lib: Any, spec: Spec, models: list, optimizers: list, data: dict[str, Any]) -> Callable[[], Any]:
    F = lib.nn.functional
    if spec.kind == "classifier":
        (model,), (optimizer,) = models, optimizers
        x, y = data["x"], data["y"]

        def step() -> Any:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            return loss
        return step

    if spec.kind == "vae":
        (model,), (optimizer,) = models, optimizers
        x = data["x"]

        def step() -> Any:
            optimizer.zero_grad()
            logits, mu, logvar = model(x)
            reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
            kl = -0.5 * (1 + logvar - mu * mu - logvar.exp()).sum()
            loss = (reconstruction + kl) / x.shape[0]
            loss.backward()
            optimizer.step()
            return loss
        return step

    generator, discriminator = models
    opt_g, opt_d = optimizers
    x, z = data["x"], data["z"]
    real = lib.ones(x.shape[0], 1, device=x.device)
    fake_label = lib.zeros(x.shape[0], 1, device=x.device)

    def step() -> Any:
        opt_d.zero_grad()
        fake = generator(z)
        loss_d = (F.binary_cross_entropy_with_logits(discriminator(x), real)
                  + F.binary_cross_entropy_with_logits(discriminator(fake.detach()), fake_label))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = F.binary_cross_entropy_with_logits(discriminator(fake), real)
        loss_g.backward()
        opt_g.step()
        return loss_g
    return step


def _infer_function(lib: Any, spec: Spec, models: list, data: dict[str, Any]) -> Callable[[], Any]:
    def infer() -> Any:
        with lib.no_grad():
            if spec.kind == "gan":
                generator, discriminator = models
                return discriminator(generator(data["z"]))
            return models[0](data["x"])
    return infer


def _workload(lib: Any, framework: str, spec: Spec, models: list, seed: int, device: str, batch: int) -> Workload:
    for model in models:
        if device != "cpu":
            model.to(device)
        model.train()
    optimizers = [_optimizer(lib, spec, model.parameters()) for model in models]
    step = _step_function(lib, spec, models, optimizers, _to(lib, _batch(spec, batch, seed), device))
    inference_data = _to(lib, _batch(spec, INFERENCE_BATCH, seed + 1), device)

    def infer() -> Any:
        for model in models:
            model.eval()
        try:
            return _infer_function(lib, spec, models, inference_data)()
        finally:
            for model in models:
                model.train()
    return Workload(framework, step, infer, models, optimizers)


def build(name: str, frameworks: tuple[str, ...] = ("minidl", "torch"), seed: int = 0, device: str = "cpu",
          batch: int | None = None) -> dict[str, Workload]:
    """The workload ``name`` for each framework, minidl with PyTorch's initial weights when both are built.

    ``device``: where the models and batches live (``'cuda'``: CuPy arrays for minidl, CUDA tensors for
    PyTorch; the weights are copied on the host first). ``batch``: the training batch size (default:
    the workload's own).
    """
    spec = WORKLOADS[name]
    batch = spec.batch if batch is None else batch
    out: dict[str, Workload] = {}
    mine = _construct(spec, "minidl")
    if "torch" in frameworks:
        torch.manual_seed(seed)
        theirs = _construct(spec, "torch")
        for ours, reference in zip(mine, theirs):
            ours.load_state_dict({k: v.detach().numpy().copy() for k, v in reference.state_dict().items()})
        out["torch"] = _workload(torch, "torch", spec, theirs, seed, device, batch)
    if "minidl" in frameworks:
        md.manual_seed(seed)
        out["minidl"] = _workload(md, "minidl", spec, mine, seed, device, batch)
    return {framework: out[framework] for framework in frameworks}
