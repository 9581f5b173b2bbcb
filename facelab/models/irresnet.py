"""IR-ResNet and IR-SE-ResNet face embedders (ArcFace-style backbones).

The module names follow face.evoLVe's ``model_irse`` layout (``input_layer``, ``body``,
``output_layer``; units with ``shortcut_layer`` and ``res_layer``; SE units with ``fc1``/``fc2``)
so that state_dicts trained with that code load directly, without key renaming.

Shapes: the stem keeps the resolution, each of the four stages halves it, so the body ends at
``input_size / 16`` pixels square with 512 channels (4 for 64, 7 for 112, 14 for 224). The head
flattens that map into one ``Linear`` to ``embedding_size``, followed by ``BatchNorm1d``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["IRResNet", "STAGE_UNITS", "SUPPORTED_INPUT_SIZES"]

#: Units per stage for each depth (stage widths are 64, 128, 256, 512).
STAGE_UNITS = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 14, 3),
    100: (3, 13, 30, 3),
    152: (3, 8, 36, 3),
}
STAGE_WIDTHS = (64, 128, 256, 512)
SUPPORTED_INPUT_SIZES = (64, 112, 224)


class Flatten(nn.Module):
    """``(N, C, H, W) -> (N, C*H*W)`` (kept as a module so the head indices match face.evoLVe)."""

    def forward(self, x):
        return x.reshape(x.size(0), -1)


class SEModule(nn.Module):
    """Squeeze-and-excitation channel gate (1x1 convolutions, no bias)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1, padding=0, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1, padding=0, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        w = self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))
        return x * w


class BottleneckIR(nn.Module):
    """Improved residual unit: BN-Conv3x3-PReLU-Conv3x3(stride)-BN plus a shortcut.

    The shortcut is an identity-with-stride (``MaxPool2d(1, stride)``, parameter-free) when the
    width does not change, else a strided 1x1 convolution with BN.
    """

    def __init__(self, in_channel: int, depth: int, stride: int):
        super().__init__()
        if in_channel == depth:
            self.shortcut_layer = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(
                nn.Conv2d(in_channel, depth, (1, 1), stride, bias=False), nn.BatchNorm2d(depth)
            )
        self.res_layer = nn.Sequential(*self._res_modules(in_channel, depth, stride))

    @staticmethod
    def _res_modules(in_channel, depth, stride):
        return [
            nn.BatchNorm2d(in_channel),
            nn.Conv2d(in_channel, depth, (3, 3), (1, 1), 1, bias=False),
            nn.PReLU(depth),
            nn.Conv2d(depth, depth, (3, 3), stride, 1, bias=False),
            nn.BatchNorm2d(depth),
        ]

    def forward(self, x):
        return self.res_layer(x) + self.shortcut_layer(x)


class BottleneckIRSE(BottleneckIR):
    """:class:`BottleneckIR` with a squeeze-and-excitation gate at the end of ``res_layer``."""

    @staticmethod
    def _res_modules(in_channel, depth, stride):
        return BottleneckIR._res_modules(in_channel, depth, stride) + [SEModule(depth, 16)]


@dataclass(frozen=True)
class ArchSpec:
    """What :func:`facelab.models.create_model` needs to rebuild a model (saved in checkpoints)."""

    arch: str
    input_size: int
    embedding_size: int


class IRResNet(nn.Module):
    """IR-ResNet / IR-SE-ResNet backbone producing an (un-normalised) embedding.

    Parameters
    ----------
    depth : {18, 34, 50, 100, 152}
    input_size : {64, 112, 224}
        Side of the square RGB input.
    embedding_size : int
        Output dimension.
    mode : {"ir", "ir_se"}
        Plain IR units or IR units with squeeze-and-excitation.
    dropout : float
        Dropout before the head's ``Linear`` (face.evoLVe uses ``Dropout()``, p = 0.5; inactive
        in ``eval()``).
    """

    def __init__(self, depth: int, *, input_size: int = 112, embedding_size: int = 512, mode: str = "ir", dropout: float = 0.5):
        super().__init__()
        if depth not in STAGE_UNITS:
            raise ValueError(f"depth must be one of {sorted(STAGE_UNITS)}, got {depth}")
        if input_size not in SUPPORTED_INPUT_SIZES:
            raise ValueError(f"input_size must be one of {SUPPORTED_INPUT_SIZES}, got {input_size}")
        if mode not in ("ir", "ir_se"):
            raise ValueError(f"mode must be 'ir' or 'ir_se', got {mode!r}")
        if int(embedding_size) < 1:
            raise ValueError(f"embedding_size must be >= 1, got {embedding_size}")
        self.depth = depth
        self.mode = mode
        self.input_size = int(input_size)
        self.embedding_size = int(embedding_size)
        unit = BottleneckIRSE if mode == "ir_se" else BottleneckIR

        self.input_layer = nn.Sequential(
            nn.Conv2d(3, 64, (3, 3), 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64)
        )
        units = []
        in_ch = 64
        for width, n in zip(STAGE_WIDTHS, STAGE_UNITS[depth]):
            # The first unit of each stage downsamples (and widens, except in stage 1).
            units.append(unit(in_ch, width, 2))
            units.extend(unit(width, width, 1) for _ in range(n - 1))
            in_ch = width
        self.body = nn.Sequential(*units)
        r = self.input_size // 16
        self.output_layer = nn.Sequential(
            nn.BatchNorm2d(512),
            nn.Dropout(dropout),
            Flatten(),
            nn.Linear(512 * r * r, self.embedding_size),
            nn.BatchNorm1d(self.embedding_size),
        )
        self._init_weights()

    @property
    def arch(self) -> str:
        return f"{self.mode}_{self.depth}"

    @property
    def spec(self) -> ArchSpec:
        return ArchSpec(self.arch, self.input_size, self.embedding_size)

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3 or x.shape[2] != self.input_size or x.shape[3] != self.input_size:
            raise ValueError(
                f"{self.arch} expects (N, 3, {self.input_size}, {self.input_size}) input, got {tuple(x.shape)}"
            )
        return self.output_layer(self.body(self.input_layer(x)))

    def extra_repr(self) -> str:
        return f"arch={self.arch}, input_size={self.input_size}, embedding_size={self.embedding_size}"
