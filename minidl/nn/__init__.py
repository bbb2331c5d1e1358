"""``minidl.nn``: modules, layers, losses, their functional forms, initialisation and utilities.

    import minidl.nn as nn
    import minidl.nn.functional as F

    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    loss = F.cross_entropy(model(images), labels)
"""

# ---- layers written in their own files by other engineers: conv, pooling, upsampling, RNNs, utils ----
from . import functional, init, utils
from .modules import *  # noqa: F403
from .modules.conv import Conv1d, Conv2d, ConvTranspose2d
from .modules.fold import Fold, Unfold
from .modules.module import Module, RemovableHandle
from .modules.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
    MaxUnpool2d,
)
from .modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .modules.shuffle import ChannelShuffle, PixelShuffle, PixelUnshuffle
from .modules.upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .parameter import Parameter
