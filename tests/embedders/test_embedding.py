"""Embedders on real LFW faces, the Torch/ONNX embedders, and embedding files."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from facelab.core.calibration import REFERENCE_CALIBRATION, squared_distance
from facelab.core.errors import EmbeddingsFileError
from facelab.embedders.embedding import (
    DLIB_CALIBRATION,
    DlibEmbedder,
    OnnxEmbedder,
    RandomWeightsWarning,
    TorchEmbedder,
    create_embedder,
    preprocess_steps,
    read_embeddings,
    reference_transform,
    write_embeddings,
)
from facelab.models import create_model, save_checkpoint

torch.set_num_threads(1)


def _chips(paths, preset_name):
    from facelab.data.imageio import load_image
    from facelab.stages.alignment import get_preset
    from facelab.stages.detection import create_detector

    det, preset = create_detector("dlib"), get_preset(preset_name)
    out = []
    for p in paths:
        im = load_image(p)
        r = det.detect(im, path=p)
        assert r.ok, f"no face in {p}"
        out.append(preset(im, r.face).image)
    return np.stack(out)


@pytest.fixture(scope="module")
def lfw_pairs(lfw):
    """Three genuine and three impostor pairs of pairs.txt fold 1."""
    p = lfw.pairs("pairs")
    return p[p.fold == 0].groupby("same").head(3).reset_index(drop=True)


@pytest.fixture(scope="module")
def dlib_chips(lfw_pairs):
    paths = list(lfw_pairs.path1) + list(lfw_pairs.path2)
    return _chips(paths, "dlib150")


def test_dlib_same_person_pairs_are_closer(lfw_pairs, dlib_chips):
    emb = DlibEmbedder()
    e = emb.embed(dlib_chips)
    assert e.shape == (12, 128) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    n = len(lfw_pairs)
    d = squared_distance(e[:n], e[n:])
    same = lfw_pairs.same.to_numpy(bool)
    assert d[same].max() < d[~same].min(), (d, same)
    # The fitted calibration calls these textbook pairs right.
    assert list(emb.calibration.same_person(d)) == list(same)
    assert emb.calibration is DLIB_CALIBRATION and "LFW" in emb.calibration.source


def test_dlib_batch_and_single_agree_and_flip(dlib_chips):
    emb = DlibEmbedder()
    batch = emb.embed(dlib_chips[:3])
    one = emb.embed(dlib_chips[1])  # a single (H, W, 3) chip
    np.testing.assert_allclose(one[0], batch[1], atol=1e-5)
    flipped = DlibEmbedder(flip=True).embed(dlib_chips[:3])
    np.testing.assert_allclose(np.linalg.norm(flipped, axis=1), 1.0, atol=1e-5)
    cos = np.sum(flipped * batch, axis=1)
    assert np.all(cos > 0.95) and np.all(cos < 1.0 - 1e-6)


def test_embedders_reject_wrong_chips():
    emb = DlibEmbedder()
    with pytest.raises(ValueError, match="150x150"):
        emb.embed(np.zeros((1, 112, 112, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        emb.embed(np.zeros((1, 150, 150, 3), np.float32))
    assert emb.embed(np.zeros((0, 150, 150, 3), np.uint8)).shape == (0, 128)


def test_torch_embedder_random_weights_warns_and_is_not_cached():
    with pytest.warns(RandomWeightsWarning, match="RANDOM"):
        emb = TorchEmbedder("ir_18")
    assert (emb.input_size, emb.embedding_size, emb.alignment, emb.chip_size) == (64, 256, "arcface112", 112)
    assert emb.calibration == REFERENCE_CALIBRATION
    assert emb.fingerprint() is None and emb.spec() is None
    e = emb.embed(np.random.default_rng(0).integers(0, 255, (2, 112, 112, 3), dtype=np.uint8))
    assert e.shape == (2, 256)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)


def test_reference_preprocessing():
    t = reference_transform(64)
    from PIL import Image

    chip = np.random.default_rng(1).integers(0, 255, (112, 112, 3), dtype=np.uint8)
    x = t(Image.fromarray(chip))
    assert x.shape == (3, 64, 64) and -1.0 <= float(x.min()) and float(x.max()) <= 1.0
    steps = preprocess_steps(chip, 64)
    assert [s[1].shape for s in steps] == [(112, 112, 3), (73, 73, 3), (64, 64, 3), (64, 64, 3)]
    np.testing.assert_allclose(steps[-1][1], x.permute(1, 2, 0).numpy())


def test_torch_embedder_with_checkpoint_infers_layout(tmp_path):
    model = create_model("ir_se_18", input_size=112, embedding_size=128)
    ck = save_checkpoint(model, tmp_path / "m.pth")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RandomWeightsWarning)
        emb = create_embedder("ir_se_18", weights=ck)
    assert (emb.input_size, emb.embedding_size) == (112, 128)
    assert emb.fingerprint() is not None and emb.spec()["weights"] == str(ck)
    assert "not fitted" in emb.calibration.source


def test_onnx_embedder_matches_torch(tmp_path):
    from facelab.models import export_onnx

    torch.manual_seed(0)
    model = create_model("ir_18", input_size=112, embedding_size=64)
    ck = save_checkpoint(model, tmp_path / "m.pth")
    onnx_path = export_onnx(model, tmp_path / "m.onnx")
    chips = np.random.default_rng(2).integers(0, 255, (3, 112, 112, 3), dtype=np.uint8)
    ref = TorchEmbedder("ir_18", weights=ck, preprocessing="plain").embed(chips)
    onnx = create_embedder(str(onnx_path))
    assert isinstance(onnx, OnnxEmbedder)
    assert (onnx.input_size, onnx.embedding_size, onnx.alignment) == (112, 64, "arcface112")
    np.testing.assert_allclose(onnx.embed(chips), ref, atol=1e-4)
    # BGR swaps the channels before the network.
    bgr = OnnxEmbedder(onnx_path, bgr=True).embed(chips[..., ::-1].copy())
    np.testing.assert_allclose(bgr, ref, atol=1e-4)
    flip_t = TorchEmbedder("ir_18", weights=ck, preprocessing="plain", flip=True).embed(chips)
    np.testing.assert_allclose(OnnxEmbedder(onnx_path, flip=True).embed(chips), flip_t, atol=1e-4)


def test_create_embedder_names():
    assert isinstance(create_embedder(), DlibEmbedder)
    with pytest.raises(ValueError, match="unknown model"):
        create_embedder("facenet9000")
    with pytest.raises(ValueError, match="own weights"):
        create_embedder("dlib", weights="x.pth")


# -- embedding files ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_embeddings_file_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(4, 7)).astype(np.float32)
    ids = ["a/1", "a/2", "Colin_Powell_0001", 'quote"d']
    path = write_embeddings(tmp_path / f"e{suffix}", ids, vecs)
    got_ids, got = read_embeddings(path)
    assert got_ids == ids
    np.testing.assert_array_equal(got, vecs)  # float32 exactly
    assert not list(tmp_path.glob(".*tmp"))


def test_json_is_the_reference_layout(tmp_path):
    path = write_embeddings(tmp_path / "e.json", ["x", "y"], np.eye(2, 3, dtype=np.float32))
    assert json.loads(path.read_text()) == {"x": [1.0, 0.0, 0.0], "y": [0.0, 1.0, 0.0]}


@pytest.mark.parametrize(
    "text,match",
    [
        ("not json", "not a JSON file"),
        ("[[1, 2]]", "expected a JSON object"),
        ("{}", "no embeddings"),
        ('{"a": [1, 2], "b": [1, 2, 3]}', "'b' has 3 values but 'a' has 2"),
        ('{"a": [1, "2"]}', r"'a': element 1 is not a number"),
        ('{"a": [1, true]}', r"'a': element 1 is not a number"),
        ('{"a": [1, 2], "b": [NaN, 1]}', r"'b': element 0 is nan"),
        ('{"a": 3}', r"'a': expected a list"),
        ('{"a": []}', "empty vector"),
    ],
)
def test_malformed_json_raises(tmp_path, text, match):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(EmbeddingsFileError, match=match):
        read_embeddings(path)


def test_malformed_npz_and_missing(tmp_path):
    np.savez(tmp_path / "a.npz", vectors=np.zeros((2, 3)))
    with pytest.raises(EmbeddingsFileError, match="'ids' and 'embeddings'"):
        read_embeddings(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", ids=np.array(["x", "y"]), embeddings=np.array([[0.0, 1.0], [np.nan, 0.0]]))
    with pytest.raises(EmbeddingsFileError, match="'y'.*not finite"):
        read_embeddings(tmp_path / "b.npz")
    (tmp_path / "c.npz").write_bytes(b"garbage")
    with pytest.raises(EmbeddingsFileError, match="not a readable"):
        read_embeddings(tmp_path / "c.npz")
    with pytest.raises(EmbeddingsFileError, match="not found"):
        read_embeddings(tmp_path / "none.json")


def test_write_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError, match="2 ids but 1 vectors"):
        write_embeddings(tmp_path / "e.json", ["a", "b"], np.zeros((1, 3)))
    with pytest.raises(ValueError, match="repeated"):
        write_embeddings(tmp_path / "e.json", ["a", "a"], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        write_embeddings(tmp_path / "e.json", ["a"], np.full((1, 3), np.nan))
    with pytest.raises(ValueError, match=".json or .npz"):
        write_embeddings(tmp_path / "e.txt", ["a"], np.zeros((1, 3)))


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
