"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) in PyTorch.

The same weights, read straight from dlib's own file, run by PyTorch instead of dlib. dlib-bin's
build computes one 150x150 chip in about 100 ms on one core; PyTorch's batched convolutions do
it several times faster, and the descriptors agree with dlib's to float32 rounding (tested on
LFW faces in ``tests/models/test_dlib_resnet.py``).

The file is dlib's binary serialisation of the network type of dlib's
``dnn_face_recognition_ex.cpp``::

    loss_metric<fc_no_bias<128, avg_pool_everything<
        alevel0<alevel1<alevel2<alevel3<alevel4<
        max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>>>>>>>

with residual blocks ``conv -> affine -> relu -> conv -> affine (+ shortcut) -> relu``; the
down-sampling blocks use a stride-2 unpadded conv and a 2x2 average pool on the shortcut. When
the two branches differ in size (channels 32 -> 64, or 3x3 against 4x4 maps) dlib's ``add_prev``
zero-pads the smaller one at the end of each axis; :func:`_add_prev` does the same.

:func:`read_dlib_resnet` parses the file (dlib's integer / float / tensor encodings) and checks
that it holds exactly that layer sequence; anything else raises
:class:`~facelab.core.errors.CheckpointError`. :class:`DlibResNet` folds each ``affine`` into the
convolution before it (exact algebra, one op fewer per layer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facelab.core.errors import CheckpointError

__all__ = ["DlibResNet", "DlibNetFile", "read_dlib_resnet", "load_dlib_resnet"]

#: (channels, number of blocks, first block down-samples) per level, input side first.
_LEVELS = ((32, 3, False), (64, 4, True), (128, 3, True), (256, 3, True), (256, 1, True))


class _Reader:
    """dlib's serialisation primitives over a bytes object."""

    def __init__(self, data: bytes, path: Path):
        self.data = data
        self.pos = 0
        self.path = path

    def fail(self, what: str):
        raise CheckpointError(f"{self.path}: not dlib's face-recognition ResNet v1 ({what} at byte {self.pos})")

    def int(self) -> int:
        # dlib packs integers as one control byte (bit 7: sign, low nibble: length) + little-endian bytes.
        if self.pos >= len(self.data):
            self.fail("unexpected end of file")
        ctrl = self.data[self.pos]
        n = ctrl & 0x0F
        if n > 8:
            self.fail(f"bad integer control byte 0x{ctrl:02x}")
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + n], "little")
        self.pos += 1 + n
        return -value if ctrl & 0x80 else value

    def float(self) -> float:
        mantissa, exponent = self.int(), self.int()
        return float(mantissa) * 2.0**exponent

    def string(self) -> str:
        n = self.int()
        if not 0 <= n <= 64:
            self.fail(f"implausible string length {n}")
        raw = self.data[self.pos : self.pos + n]
        self.pos += n
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            self.fail("a non-ASCII layer name")

    def bools(self, n: int) -> None:
        raw = self.data[self.pos : self.pos + n]
        if len(raw) != n or any(c not in b"01" for c in raw):
            self.fail("bad flags")
        self.pos += n

    def tensor(self) -> np.ndarray:
        version = self.int()
        shape = tuple(self.int() for _ in range(4))
        size = int(np.prod(shape))
        if version == 2:  # little-endian float32 (dlib >= 19.3)
            end = self.pos + 4 * size
            if end > len(self.data):
                self.fail("a truncated tensor")
            arr = np.frombuffer(self.data, dtype="<f4", count=size, offset=self.pos).astype(np.float32)
            self.pos = end
        elif version == 1:  # dlib's portable float encoding, one value at a time
            arr = np.array([self.float() for _ in range(size)], dtype=np.float32)
        else:
            self.fail(f"unknown tensor version {version}")
        return arr.reshape(shape) if size else arr

    def alias(self) -> tuple:
        if self.int() != 1:
            self.fail("unknown alias_tensor version")
        return tuple(self.int() for _ in range(4))


@dataclass
class DlibNetFile:
    """What :func:`read_dlib_resnet` found in the file.

    Attributes
    ----------
    mean_rgb : tuple of float
        Pixel means subtracted by dlib's input layer (inputs are ``(pixel - mean) / 256``).
    input_size : int
    convs : list of (weight, bias, stride, padding)
        The 29 convolutions in forward order, weights ``(out, in, kh, kw)``.
    affines : list of (gamma, beta)
        The per-channel scale and shift after each convolution.
    fc : numpy.ndarray
        ``(128, 256)`` final projection (no bias).
    margin, distance_threshold : float
        ``loss_metric`` settings the network was trained with (0.04 and 0.6).
    """

    mean_rgb: tuple
    input_size: int
    convs: list = field(default_factory=list)
    affines: list = field(default_factory=list)
    fc: np.ndarray = None
    margin: float = float("nan")
    distance_threshold: float = float("nan")


def read_dlib_resnet(path) -> DlibNetFile:
    """Parse ``dlib_face_recognition_resnet_model_v1.dat`` into plain arrays.

    Raises
    ------
    CheckpointError
        If the file is not that network (another dlib net, a truncated or foreign file).
    """
    path = Path(path)
    r = _Reader(path.read_bytes(), path)
    if r.int() != 1 or r.string() != "loss_metric_2":
        r.fail("no loss_metric_2 header")
    out = DlibNetFile(mean_rgb=(), input_size=0)
    out.margin, out.distance_threshold = r.float(), r.float()
    # The nesting prefix: one version per wrapper, outermost first; 3 marks the layer on the input.
    for _ in range(400):
        if r.int() == 3:
            break
    else:
        r.fail("no input layer")
    if r.string() != "input_rgb_image_sized":
        r.fail("no input_rgb_image_sized layer")
    out.mean_rgb = (r.float(), r.float(), r.float())
    nr, nc = r.int(), r.int()
    if nr != nc:
        r.fail(f"non-square input {nr}x{nc}")
    out.input_size = nr

    kinds = []
    first = True
    while r.pos < len(r.data):
        name = r.string()
        if name == "con_4":
            params = r.tensor().reshape(-1)
            n_out, _, _, sy, sx, py, px = (r.int() for _ in range(7))  # (kh, kw are in fshape)
            fshape, _ = r.alias(), r.alias()  # filters; biases are the n_out values after them
            for _ in range(4):  # learning-rate and weight-decay multipliers
                r.float()
            n_w = int(np.prod(fshape))
            if sy != sx or py != px or fshape[0] != n_out or params.size != n_w + n_out:
                r.fail(f"unexpected convolution {fshape}")
            w = params[:n_w].reshape(fshape)
            b = params[n_w:]
            out.convs.append((w, b, sy, py))
            kinds.append("con")
        elif name == "affine_":
            params = r.tensor().reshape(-1)
            r.alias(), r.alias()
            if r.int() != 0:
                r.fail("an fc-mode affine layer")
            k = params.size // 2
            out.affines.append((params[:k], params[k:]))
            kinds.append("affine")
        elif name in ("max_pool_2", "avg_pool_2"):
            pool = tuple(r.int() for _ in range(6))
            kinds.append(("max" if name.startswith("max") else "avg", pool))
        elif name == "relu_":
            kinds.append("relu")
        elif name == "add_prev_":
            kinds.append("add")
        elif name == "fc_2":
            n_out, n_in = r.int(), r.int()
            params = r.tensor().reshape(-1)
            r.alias(), r.alias()
            if r.int() != 1 or params.size != n_in * n_out:  # 1: FC_NO_BIAS
                r.fail("an fc layer with a bias")
            for _ in range(4):
                r.float()
            out.fc = params.reshape(n_in, n_out).T.copy()  # dlib computes x @ W with W (in, out)
            kinds.append("fc")
        else:
            r.fail(f"unexpected layer {name!r}")
        # What add_layer writes after each layer: 3 flags, 3 (empty) tensors; +1 on the input.
        r.bools(3)
        for _ in range(3):
            r.tensor()
        if first:
            r.int()  # sample expansion factor
            first = False
    if kinds != _expected_kinds():
        r.fail("a different layer sequence")
    return out


def _expected_kinds() -> list:
    kinds = ["con", "affine", "relu", ("max", (3, 3, 2, 2, 0, 0))]
    for _, blocks, down in _LEVELS:
        for i in range(blocks):
            kinds += ["con", "affine", "relu", "con", "affine"]
            if down and i == 0:
                kinds.append(("avg", (2, 2, 2, 2, 0, 0)))
            kinds += ["add", "relu"]
    return kinds + [("avg", (0, 0, 1, 1, 0, 0)), "fc"]


def _add_prev(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's add_prev: the sum over the larger shape, the smaller tensor zero-padded at the end."""
    if a.shape == b.shape:
        return a + b
    c, h, w = (max(x, y) for x, y in zip(a.shape[1:], b.shape[1:]))

    def grow(t):
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return grow(a) + grow(b)


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, down: bool):
        super().__init__()
        self.down = down
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=2 if down else 1, padding=0 if down else 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1)

    def forward(self, x):
        y = self.conv2(F.relu(self.conv1(x)))
        shortcut = F.avg_pool2d(x, 2, 2) if self.down else x
        return F.relu(_add_prev(y, shortcut))


class DlibResNet(nn.Module):
    """dlib's 29-conv face ResNet; ``forward`` takes ``(N, 3, 150, 150)`` float RGB in dlib's scaling.

    Use :meth:`preprocess` for uint8 chips. Each convolution carries its following ``affine``
    folded in (``w * gamma``, ``b * gamma + beta``).
    """

    def __init__(self, mean_rgb=(122.782, 117.001, 104.298), input_size: int = 150):
        super().__init__()
        self.input_size = int(input_size)
        self.register_buffer("mean", torch.tensor(mean_rgb, dtype=torch.float32).view(1, 3, 1, 1))
        self.stem = nn.Conv2d(3, 32, 7, stride=2, padding=0)
        blocks, c_in = [], 32
        for c, n, down in _LEVELS:
            for i in range(n):
                blocks.append(_Block(c_in, c, down and i == 0))
                c_in = c
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(256, 128, bias=False)

    def convs(self) -> list:
        return [self.stem] + [conv for b in self.blocks for conv in (b.conv1, b.conv2)]

    def preprocess(self, chips: np.ndarray) -> torch.Tensor:
        """``(N, H, W, 3)`` uint8 RGB -> network input, exactly as dlib's ``input_rgb_image``."""
        x = torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2).float()
        return (x - self.mean) / 256.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.stem(x)), 3, 2)
        x = self.blocks(x)
        return self.fc(x.mean(dim=(2, 3)))

    @classmethod
    def from_file(cls, net: DlibNetFile) -> DlibResNet:
        model = cls(net.mean_rgb, net.input_size)
        with torch.no_grad():
            for conv, (w, b, stride, pad), (g, beta) in zip(model.convs(), net.convs, net.affines):
                if conv.weight.shape != w.shape or conv.stride[0] != stride or conv.padding[0] != pad:
                    raise CheckpointError(f"dlib convolution {w.shape} (stride {stride}) does not fit {conv}")
                conv.weight.copy_(torch.from_numpy(w * g[:, None, None, None]))
                conv.bias.copy_(torch.from_numpy(b * g + beta))
            model.fc.weight.copy_(torch.from_numpy(net.fc))
        return model.eval()


def load_dlib_resnet(path) -> DlibResNet:
    """:class:`DlibResNet` with the weights of dlib's ``.dat`` file, in eval mode."""
    return DlibResNet.from_file(read_dlib_resnet(path))
