"""facelab.embedders.edgeface: EdgeFace-XS / -XXS as embedders on real LFW faces (MTCNN + arcface112):
same person above different people, batch invariance, preprocessing, fingerprints, the pipeline's cache.

Every test here needs the shared weights (``edgeface_weights`` fixture: skips when not found).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

PHOTOS = [("Colin_Powell", 1), ("Colin_Powell", 2), ("Colin_Powell", 3), ("Tony_Blair", 1), ("Tony_Blair", 2),
          ("Tony_Blair", 3), ("George_W_Bush", 1), ("George_W_Bush", 2)]
NAMES = ("edgeface_xs", "edgeface_xxs")


@pytest.fixture(scope="module")
def faces(edgeface_weights, lfw):
    """``(chips (8, 112, 112, 3) uint8, identities)``: LFW photos, MTCNN box (central face) + arcface112."""
    from facelab.data.imageio import load_image
    from facelab.stages.alignment import get_preset
    from facelab.stages.detection import create_detector

    det, preset = create_detector("mtcnn"), get_preset("arcface112")
    chips = []
    for name, k in PHOTOS:
        image = load_image(lfw.image_path(name, k))
        res = det.detect(image, policy="central")
        assert res.chosen is not None, (name, k, res.reason)
        chips.append(preset(image, res.faces[res.chosen]).image)
    return np.stack(chips), np.array([n for n, _ in PHOTOS])


@pytest.fixture(scope="module")
def embedders(edgeface_weights):
    from facelab.embedders import create_embedder

    return {n: create_embedder(n) for n in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_same_person_scores_above_different(faces, embedders, name):
    chips, ids = faces
    e = embedders[name]
    emb = e.embed(chips)
    assert emb.shape == (8, 512) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    sim = emb @ emb.T
    same = ids[:, None] == ids[None, :]
    off = ~np.eye(len(ids), dtype=bool)
    genuine, impostor = sim[same & off], sim[~same]
    assert genuine.min() > impostor.max() + 0.15, (genuine.min(), impostor.max())
    # The model's calibration (fitted on pairsDevTrain) decides every one of these pairs right.
    d = 2 - 2 * sim
    verdict = e.calibration.same_person(d[off])
    assert (verdict == same[off]).all()


def test_embedding_does_not_depend_on_the_batch(faces, edgeface_weights):
    """One face alone and inside a batch of 64 (and, with flip averaging, of 16) give the same vector."""
    from facelab.embedders.edgeface import EdgeFaceEmbedder

    chips, _ = faces
    batch = chips[np.random.default_rng(0).integers(0, len(chips), 64)]
    batch[17] = chips[3]
    e = EdgeFaceEmbedder("edgeface_xs", batch_size=64)
    np.testing.assert_allclose(e.embed(chips[3:4])[0], e.embed(batch)[17], atol=1e-5)
    flip = EdgeFaceEmbedder("edgeface_xs", flip=True, batch_size=16)
    np.testing.assert_allclose(flip.embed(chips[3:4])[0], flip.embed(batch[2:18])[15], atol=1e-5)  # batch[17]


def test_preprocessing_is_minus_one_to_one(embedders):
    e = embedders["edgeface_xs"]
    x = e.preprocess(np.array([[[[0, 255, 127]]]], dtype=np.uint8).repeat(2, 1).repeat(2, 2))
    assert x.shape == (1, 3, 2, 2)
    np.testing.assert_allclose(x[0, :, 0, 0].numpy(), [-1.0, 1.0, 127 / 127.5 - 1], atol=1e-6)


def test_fingerprint_spec_describe(embedders, edgeface_weights):
    from facelab.embedders import create_embedder
    from facelab.models.weights import KNOWN_WEIGHTS

    e = embedders["edgeface_xxs"]
    assert KNOWN_WEIGHTS["edgeface_xxs"].sha256 in e.fingerprint()
    assert e.fingerprint().endswith("flip=0")
    spec = dict(e.spec())
    again = create_embedder(spec.pop("name"), **spec)
    assert again.fingerprint() == e.fingerprint() and again.network.path == e.network.path  # one export
    torch_e = create_embedder("edgeface_xxs", engine="torch")
    assert again.engine == "onnx" and torch_e.engine == "torch" and torch_e.fingerprint() == e.fingerprint()
    assert torch_e.model is create_embedder("edgeface_xxs", engine="torch").model  # one copy per process
    flipped = create_embedder("edgeface_xxs", flip=True)
    assert flipped.fingerprint() != e.fingerprint()
    text = e.describe()
    assert "research and teaching use only" in text and "CC BY-NC-SA 4.0" in text and "512-d" in text
    assert "pairsDevTrain" in e.calibration.source
    assert e.alignment == "arcface112" and e.chip_size == 112


def test_pipeline_caches_edgeface(tmp_path, faces, edgeface_weights, lfw):
    import pandas as pd

    from facelab.engine.pipeline import embed_images

    images = pd.DataFrame({"image_id": [f"{n}_{k}" for n, k in PHOTOS[:4]],
                           "path": [str(lfw.image_path(n, k)) for n, k in PHOTOS[:4]],
                           "identity": [n for n, _ in PHOTOS[:4]]})
    kw = {"model": "edgeface_xs", "detector": "mtcnn", "policy": "central", "progress": False, "workers": 1}
    first = embed_images(images, **kw)
    second = embed_images(images, **kw)
    assert first.n_computed == 4 and second.n_cached == 4
    np.testing.assert_allclose(first.embeddings, second.embeddings, atol=1e-6)
    assert first.calibration.source.startswith("fitted on LFW pairsDevTrain")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the GPU path is not exercised here")
def test_gpu_matches_cpu(faces, embedders, edgeface_weights):
    from facelab.core.devices import resolve_device
    from facelab.embedders.edgeface import EdgeFaceEmbedder

    assert resolve_device("auto").type == "cuda"
    chips, _ = faces
    gpu = EdgeFaceEmbedder("edgeface_xs", device="auto")
    np.testing.assert_allclose(gpu.embed(chips), embedders["edgeface_xs"].embed(chips), atol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_onnx_engine_is_pytorchs_network_without_importing_torch(faces, embedders, name, tmp_path):
    """The CPU default runs the network's export in onnxruntime: PyTorch's embeddings to float32 rounding;
    a fresh process with the export in its cache folder embeds without importing torch."""
    import subprocess
    import sys

    from facelab.embedders import create_embedder

    chips, _ = faces
    onnx, ref = embedders[name], create_embedder(name, engine="torch")
    assert onnx.engine == "onnx" and onnx.network.path.is_file()
    np.testing.assert_allclose(onnx.embed(chips), ref.embed(chips), rtol=0, atol=1e-5)
    np.save(tmp_path / "chips.npy", chips[:2])
    code = ("import sys, numpy as np; from facelab.embedders import create_embedder; "
            f"e = create_embedder({name!r}); v = e.embed(np.load({str(tmp_path / 'chips.npy')!r})); "
            "print(v.shape, 'torch' in sys.modules, 'timm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(2, 512) False False", out
