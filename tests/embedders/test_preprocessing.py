"""facelab.embedders.preprocessing: the reference transform, step by step, and its equality with the seed64 preset."""

from __future__ import annotations

import numpy as np
import torch

from facelab.embedders.preprocessing import preprocess_steps, reference_transform


def test_reference_preprocessing():
    t = reference_transform(64)
    from PIL import Image

    chip = np.random.default_rng(1).integers(0, 255, (112, 112, 3), dtype=np.uint8)
    x = t(Image.fromarray(chip))
    assert x.shape == (3, 64, 64) and -1.0 <= float(x.min()) and float(x.max()) <= 1.0
    steps = preprocess_steps(chip, 64)
    assert [s[1].shape for s in steps] == [(112, 112, 3), (73, 73, 3), (64, 64, 3), (64, 64, 3)]
    np.testing.assert_allclose(steps[-1][1], x.permute(1, 2, 0).numpy())


def test_reference_preprocessing_equals_the_seed64_preset(lfw):
    """Resize(73) + CenterCrop(64) of the ArcFace chip is what alignment's "seed64" preset makes."""
    from PIL import Image

    from facelab.data.imageio import load_image
    from facelab.stages.alignment import get_preset
    from facelab.stages.detection import create_detector

    im = load_image(lfw.image_path("Colin_Powell", 1))
    face = create_detector("dlib").detect(im).face
    arc = get_preset("arcface112")(im, face).image
    seed = get_preset("seed64")(im, face).image
    x = reference_transform(64)(Image.fromarray(arc))
    y = (torch.from_numpy(seed).permute(2, 0, 1).float() / 255 - 0.5) / 0.5
    torch.testing.assert_close(x, y, atol=1e-6, rtol=0)
