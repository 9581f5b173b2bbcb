"""The reference demo's preprocessing of ArcFace chips, as a transform and step by step (for pictures)."""

from __future__ import annotations

import numpy as np

__all__ = ["reference_transform", "preprocess_steps"]


def reference_transform(input_size: int):
    """The reference demo's torchvision preprocessing of a 112x112 ArcFace chip.

    ``Resize(int(128 * s / 112))``, ``CenterCrop(s)``, ``ToTensor()``,
    ``Normalize([0.5] * 3, [0.5] * 3)`` -- pixel values end up in [-1, 1].
    """
    from torchvision import transforms

    s = int(input_size)
    return transforms.Compose(
        [
            transforms.Resize(int(128 * s / 112)),
            transforms.CenterCrop(s),
            transforms.ToTensor(),
            transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
        ]
    )


def preprocess_steps(chip: np.ndarray, input_size: int) -> list:
    """The reference preprocessing of one chip, step by step, for pictures.

    Returns
    -------
    list of (str, numpy.ndarray)
        ``(step name, image)``: the chip, after ``Resize``, after ``CenterCrop`` (uint8 RGB), and
        the normalised network input as ``(s, s, 3)`` float32 in [-1, 1].
    """
    from PIL import Image
    from torchvision import transforms

    s = int(input_size)
    r = int(128 * s / 112)
    im = Image.fromarray(np.asarray(chip, dtype=np.uint8))
    resized = transforms.Resize(r)(im)
    cropped = transforms.CenterCrop(s)(resized)
    tensor = transforms.Normalize([0.5] * 3, [0.5] * 3)(transforms.ToTensor()(cropped))
    return [
        (f"aligned chip {im.width}x{im.height}", np.asarray(im)),
        (f"Resize({r})", np.asarray(resized)),
        (f"CenterCrop({s})", np.asarray(cropped)),
        ("ToTensor + Normalize(0.5, 0.5)", tensor.permute(1, 2, 0).numpy()),
    ]
