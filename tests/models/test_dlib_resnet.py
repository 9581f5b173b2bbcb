"""dlib's face ResNet read from its own file and run in PyTorch: same numbers as dlib, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facelab.core.errors import CheckpointError
from facelab.embedders.dlib import DlibEmbedder
from facelab.models.dlib_files import dlib_model_path, dlib_object
from facelab.models.dlib_resnet import DlibResNet, _add_prev, load_dlib_resnet, read_dlib_resnet

RESNET = "dlib_face_recognition_resnet_model_v1.dat"


@pytest.fixture(scope="module")
def net_file():
    return read_dlib_resnet(dlib_model_path(RESNET))


@pytest.fixture(scope="module")
def chips(lfw):
    """dlib150 chips of 8 LFW photos of 4 people (2 each), cut by dlib itself."""
    import dlib

    det, sp = dlib_object("hog"), dlib_object("shape5")
    out, who = [], []
    for name in ("Colin_Powell", "Tony_Blair", "Serena_Williams", "Hugo_Chavez"):
        for k in (1, 2):
            img = dlib.load_rgb_image(str(lfw.image_path(name, k)))
            faces = det(img, 1)
            assert len(faces) >= 1, (name, k)
            out.append(dlib.get_face_chip(img, sp(img, faces[0]), size=150, padding=0.25))
            who.append(name)
    return np.stack(out), np.array(who)


def test_file_holds_dlibs_network(net_file):
    assert len(net_file.convs) == len(net_file.affines) == 29
    assert net_file.input_size == 150 and net_file.fc.shape == (128, 256)
    np.testing.assert_allclose(net_file.mean_rgb, (122.782, 117.001, 104.298), atol=1e-3)
    # loss_metric's training settings, as dnn_face_recognition_ex.cpp documents them.
    assert net_file.margin == pytest.approx(0.04) and net_file.distance_threshold == pytest.approx(0.6)
    first_w, _, stride, pad = net_file.convs[0]
    assert first_w.shape == (32, 3, 7, 7) and (stride, pad) == (2, 0)
    assert all(np.isfinite(w).all() and np.abs(w).max() > 0 for w, *_ in net_file.convs)


def test_torch_port_matches_dlib_on_lfw_faces(chips):
    faces, who = chips
    ref = np.array([np.asarray(v) for v in dlib_object("resnet").compute_face_descriptor(list(faces))])
    net = load_dlib_resnet(dlib_model_path(RESNET))
    with torch.inference_mode():
        got = net(net.preprocess(faces)).numpy()
    assert got.shape == (8, 128)
    # Same raw descriptors (not only the same direction): float32 rounding apart.
    np.testing.assert_allclose(got, ref, atol=2e-5, rtol=0)
    # And they mean something: each photo's nearest other photo is the same person.
    d = ((got[:, None] - got[None]) ** 2).sum(-1) + np.eye(len(got)) * 1e9
    assert (who[d.argmin(1)] == who).all()


def test_embedder_engines_agree_and_batching_does_not_matter(chips):
    faces, _ = chips
    t = DlibEmbedder().embed(faces)
    d = DlibEmbedder(engine="dlib").embed(faces)
    np.testing.assert_allclose(t, d, atol=2e-5)
    np.testing.assert_allclose(DlibEmbedder().embed(faces[3]), t[3:4], atol=1e-6)
    tf, df = DlibEmbedder(flip=True).embed(faces), DlibEmbedder(flip=True, engine="dlib").embed(faces)
    np.testing.assert_allclose(tf, df, atol=2e-5)
    # The CPU default is onnxruntime (the PyTorch network exported once); all three engines agree.
    assert DlibEmbedder().engine == "onnx" and "onnx engine" in DlibEmbedder().describe()
    np.testing.assert_allclose(DlibEmbedder(engine="torch").embed(faces), t, atol=1e-5)
    # Same descriptors, so the engines share cache entries.
    assert DlibEmbedder().fingerprint() == DlibEmbedder(engine="dlib").fingerprint() == DlibEmbedder(engine="torch").fingerprint()


def test_engine_choices():
    assert DlibEmbedder(num_jitters=2).engine == "dlib"  # dlib's random jitter has no port
    with pytest.raises(ValueError, match="num_jitters"):
        DlibEmbedder(num_jitters=2, engine="torch")
    with pytest.raises(ValueError, match="unknown engine"):
        DlibEmbedder(engine="cuda")


def test_add_prev_zero_pads_the_smaller_branch():
    a = torch.ones(1, 2, 3, 3)
    b = torch.full((1, 1, 4, 4), 10.0)
    out = _add_prev(a, b)
    assert out.shape == (1, 2, 4, 4)
    assert out[0, 0, :3, :3].eq(11).all() and out[0, 0, 3, :].eq(10).all() and out[0, 0, :, 3].eq(10).all()
    assert out[0, 1, :3, :3].eq(1).all() and out[0, 1, 3, :].eq(0).all()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda raw: raw[: len(raw) // 2], "truncated|unexpected end"),
        (lambda raw: b"\x00" * 64, "loss_metric"),
        (lambda raw: raw.replace(b"relu_", b"relu6", 1), "unexpected layer 'relu6'"),
    ],
    ids=["truncated", "not-dlib", "foreign-layer"],
)
def test_bad_files_are_refused(tmp_path, make, message):
    raw = dlib_model_path(RESNET).read_bytes()
    bad = tmp_path / "bad.dat"
    bad.write_bytes(make(raw))
    with pytest.raises(CheckpointError, match=message):
        read_dlib_resnet(bad)


def test_another_dlib_network_is_refused():
    # dlib's MMOD face detector is also a dlib DNN file, but not this network.
    with pytest.raises(CheckpointError, match="bad.dat|mmod|not dlib's face-recognition ResNet"):
        read_dlib_resnet(dlib_model_path("mmod_human_face_detector.dat"))


def test_conv_shapes_are_checked(net_file):
    import copy

    broken = copy.copy(net_file)
    broken.convs = list(net_file.convs)
    w, b, s, p = broken.convs[5]
    broken.convs[5] = (w[:, :-1], b, s, p)
    with pytest.raises(CheckpointError, match="does not fit"):
        DlibResNet.from_file(broken)
