"""The reference models W1-W6 that the examples, the benchmarks and the tests share.

Each is written exactly as it would be in PyTorch (swap ``minidl`` for ``torch`` and it runs there),
so parameter names and shapes are PyTorch's and a PyTorch state dict loads into it::

    model = md.models.qd_cnn(num_classes=8)
    model(md.randn(64, 1, 28, 28)).shape        # (64, 8)

The specifications are in ``WORKLOADS.md``; the sizes below are those of the seed projects.
"""

from __future__ import annotations

from . import nn
from .creation import randn_like
from .tensor import Tensor

__all__ = ["qd_cnn", "mnist_cnn", "ConvVAE", "Generator", "Discriminator", "RowRNN", "mnist_mlp"]


def qd_cnn(num_classes: int = 7) -> nn.Sequential:
    """W1: the Quick Draw CNN, ``(N, 1, 28, 28)`` -> logits ``(N, num_classes)``.

    Three conv3x3-ReLU-maxpool2 stages (16, 32, 64 channels; 28 -> 14 -> 7 -> 3), then
    576 -> 576 -> 128 -> ``num_classes``. 430,407 parameters for 7 classes.
    """
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(576, 576), nn.ReLU(),
        nn.Linear(576, 128), nn.ReLU(),
        nn.Linear(128, num_classes),
    )


def mnist_cnn(dropout: float = 0.25) -> nn.Sequential:
    """W2: the TensorFlow tutorial's "bigger convolutional network", ``(N, 1, 28, 28)`` -> ``(N, 10)``.

    TensorFlow's ``'same'`` padding with stride 2 puts the odd pixel at the bottom/right, which the
    explicit ``ZeroPad2d`` layers reproduce: 28 -> 28 -> 14 -> 7.
    """
    return nn.Sequential(
        nn.Conv2d(1, 6, 6, padding="same"), nn.ReLU(),
        nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(6, 12, 5, stride=2), nn.ReLU(),
        nn.ZeroPad2d(1), nn.Conv2d(12, 24, 4, stride=2), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(7 * 7 * 24, 200), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(200, 10),
    )


def mnist_mlp(dropout: float = 0.25) -> nn.Sequential:
    """W6: five ReLU layers with dropout, ``(N, 784)`` or ``(N, 1, 28, 28)`` -> ``(N, 10)``."""
    sizes = [784, 200, 100, 60, 30]
    layers: list[nn.Module] = [nn.Flatten()]
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU(), nn.Dropout(dropout)]
    layers.append(nn.Linear(sizes[-1], 10))
    return nn.Sequential(*layers)


class ConvVAE(nn.Module):
    """W3: the convolutional VAE of the Quick Draw seed, with a ``latent``-dimensional Gaussian code.

    ``forward(x)`` takes ``(N, 1, 28, 28)`` images in [0, 1] and returns ``(logits, mu, logvar)``:
    reconstruction logits ``(N, 1, 28, 28)`` and the posterior's mean and log-variance ``(N, latent)``.
    """

    def __init__(self, latent: int = 14) -> None:
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 64, 5, stride=2, padding=2), nn.ReLU(),       # 28 -> 14
            nn.Conv2d(64, 128, 5, stride=2, padding=2), nn.ReLU(),     # 14 -> 7
            nn.Flatten(),
        )
        self.mu = nn.Linear(128 * 7 * 7, latent)
        self.logvar = nn.Linear(128 * 7 * 7, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, 128 * 7 * 7), nn.ReLU(),
            nn.Unflatten(1, (128, 7, 7)),
            nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1), nn.ReLU(),  # 7 -> 14
            nn.ConvTranspose2d(64, 1, 5, stride=2, padding=2, output_padding=1),               # 14 -> 28
        )

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(N, 1, 28, 28)`` -> ``(mu, logvar)``, each ``(N, latent)``."""
        h = self.encoder(x)
        return self.mu(h), self.logvar(h)

    def decode(self, z: Tensor) -> Tensor:
        """``(N, latent)`` -> reconstruction logits ``(N, 1, 28, 28)`` (apply ``sigmoid`` for pixels)."""
        return self.decoder(z)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encode(x)
        z = mu + (0.5 * logvar).exp() * randn_like(mu) if self.training else mu
        return self.decode(z), mu, logvar


class Generator(nn.Module):
    """W4's DCGAN generator: noise ``(N, nz)`` -> images ``(N, 1, 28, 28)`` in [-1, 1]."""

    def __init__(self, nz: int = 100) -> None:
        super().__init__()
        self.nz = nz
        self.net = nn.Sequential(
            nn.Linear(nz, 128 * 7 * 7), nn.BatchNorm1d(128 * 7 * 7), nn.ReLU(),
            nn.Unflatten(1, (128, 7, 7)),
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU(),  # 7 -> 14
            nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1), nn.Tanh(),                         # 14 -> 28
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """W4's DCGAN discriminator: images ``(N, 1, 28, 28)`` in [-1, 1] -> real/fake logits ``(N, 1)``."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2),                       # 28 -> 14
            nn.Conv2d(64, 128, 4, stride=2, padding=1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),  # 14 -> 7
            nn.Flatten(),
            nn.Linear(128 * 7 * 7, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class RowRNN(nn.Module):
    """W5: reads a ``(N, 28, 28)`` image row by row as a 28-step sequence; logits ``(N, num_classes)``.

    ``cell`` is ``'lstm'`` (W5) or ``'gru'`` (W5g); the last step's hidden state feeds the classifier.
    """

    def __init__(self, cell: str = "lstm", hidden_size: int = 128, num_layers: int = 1,
                 num_classes: int = 10, input_size: int = 28) -> None:
        super().__init__()
        layers = {"lstm": nn.LSTM, "gru": nn.GRU}
        if cell not in layers:
            raise ValueError(f"RowRNN: cell must be 'lstm' or 'gru', got {cell!r}")
        self.rnn = layers[cell](input_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 4:          # (N, 1, 28, 28) images: drop the channel
            x = x.flatten(1, 2)
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])
