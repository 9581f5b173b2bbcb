"""EdgeFace-XS / -XXS on real LFW faces (MTCNN + arcface112), batch invariance, refusals.

Every test here needs the shared weights (``edgeface_weights`` fixture: skips when not found).
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import torch

from facelab.core.errors import CheckpointError

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
    from facelab.embedders.embedding import create_embedder

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
    from facelab.models.edgeface import EdgeFaceEmbedder

    chips, _ = faces
    batch = chips[np.random.default_rng(0).integers(0, len(chips), 64)]
    batch[17] = chips[3]
    e = EdgeFaceEmbedder("edgeface_xs", batch_size=64)
    np.testing.assert_allclose(e.embed(chips[3:4])[0], e.embed(batch)[17], atol=1e-5)
    flip = EdgeFaceEmbedder("edgeface_xs", flip=True, batch_size=16)
    np.testing.assert_allclose(flip.embed(chips[3:4])[0], flip.embed(batch[2:18])[15], atol=1e-5)  # batch[17]


def test_dequantised_matches_the_shipped_quantised_model(faces, embedders, edgeface_weights):
    """The float model is the shipped 8-bit one minus activation quantisation: close, not equal."""
    from facelab.models.edgeface import build_edgeface

    chips, _ = faces
    e = embedders["edgeface_xs"]

    class Wrapper(torch.nn.Module):  # the authors' wrapper: the timm network as self.model
        def __init__(self, m):
            super().__init__()
            self.model = m

    chips = chips[[0, 3, 6]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated (still there in 2.14)
        q = Wrapper(torch.ao.quantization.quantize_dynamic(build_edgeface("edgeface_xs"), {torch.nn.Linear},
                                                            dtype=torch.qint8))
        q.load_state_dict(torch.load(edgeface_weights["edgeface_xs"], map_location="cpu", weights_only=True))
        with torch.inference_mode():
            yq = torch.cat([q.model(e.preprocess(chips[i : i + 1])) for i in range(len(chips))]).numpy()
    yq /= np.linalg.norm(yq, axis=1, keepdims=True)
    cos = (yq * e.embed(chips)).sum(1)
    assert cos.min() > 0.93, cos


def test_preprocessing_is_minus_one_to_one(embedders):
    e = embedders["edgeface_xs"]
    x = e.preprocess(np.array([[[[0, 255, 127]]]], dtype=np.uint8).repeat(2, 1).repeat(2, 2))
    assert x.shape == (1, 3, 2, 2)
    np.testing.assert_allclose(x[0, :, 0, 0].numpy(), [-1.0, 1.0, 127 / 127.5 - 1], atol=1e-6)


def test_fingerprint_spec_describe(embedders, edgeface_weights):
    from facelab.embedders.embedding import create_embedder
    from facelab.models.weights import KNOWN_WEIGHTS

    e = embedders["edgeface_xxs"]
    assert KNOWN_WEIGHTS["edgeface_xxs"].sha256 in e.fingerprint()
    assert e.fingerprint().endswith("flip=0")
    spec = dict(e.spec())
    again = create_embedder(spec.pop("name"), **spec)
    assert again.fingerprint() == e.fingerprint() and again.model is e.model  # one copy per process
    flipped = create_embedder("edgeface_xxs", flip=True)
    assert flipped.fingerprint() != e.fingerprint()
    text = e.describe()
    assert "research and teaching use only" in text and "CC BY-NC-SA 4.0" in text and "512-d" in text
    assert "pairsDevTrain" in e.calibration.source
    assert e.alignment == "arcface112" and e.chip_size == 112


def test_refuses_wrong_sha_truncated_and_other_architecture(tmp_path, edgeface_weights):
    from facelab.models.dlib_files import dlib_model_path
    from facelab.models.edgeface import EdgeFaceEmbedder, load_edgeface

    xs, xxs = edgeface_weights["edgeface_xs"], edgeface_weights["edgeface_xxs"]
    data = xs.read_bytes()
    flipped = tmp_path / "flipped.pt"
    flipped.write_bytes(data[:1000] + bytes([data[1000] ^ 1]) + data[1001:])
    with pytest.raises(CheckpointError, match="right size, different content"):
        EdgeFaceEmbedder("edgeface_xs", weights=flipped)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or an incomplete download"):
        load_edgeface("edgeface_xs", truncated)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_edgeface("edgeface_xs", truncated, verify=False)  # and unverified, torch refuses it too
    with pytest.raises(CheckpointError, match=r"it is edgeface_xxs_q.pt \(edgeface_xxs"):
        load_edgeface("edgeface_xs", xxs)
    with pytest.raises(CheckpointError, match=r"does not fit edgeface_xs \(edgenext_x_small\): \d+ mis-shaped"):
        load_edgeface("edgeface_xs", xxs, verify=False)  # the architecture check, on its own
    dlib_dat = tmp_path / "edgeface_xs_q.pt"
    shutil.copyfile(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"), dlib_dat)
    with pytest.raises(CheckpointError, match="not the published file"):
        load_edgeface("edgeface_xs", dlib_dat)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_edgeface("edgeface_xs", dlib_dat, verify=False)
    other = tmp_path / "other.pt"
    torch.save({"conv.weight": torch.zeros(2)}, other)
    with pytest.raises(CheckpointError, match="not an EdgeFace"):
        load_edgeface("edgeface_xs", other, verify=False)


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
    from facelab.models.edgeface import EdgeFaceEmbedder

    assert resolve_device("auto").type == "cuda"
    chips, _ = faces
    gpu = EdgeFaceEmbedder("edgeface_xs", device="auto")
    np.testing.assert_allclose(gpu.embed(chips), embedders["edgeface_xs"].embed(chips), atol=1e-4)
