"""facelab.models.weights: the table, lookup order, SHA-256 checks and the pooch fetch against a local HTTP server."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace

import pytest

from facelab.core.errors import CheckpointError, FacelabError
from facelab.models import weights as W


def _put(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_table_entries_are_complete():
    assert W.list_weights() == ["edgeface_xs", "edgeface_xxs", "yunet_n"]
    for w in W.KNOWN_WEIGHTS.values():
        assert len(w.sha256) == 64 and int(w.sha256, 16) >= 0
        assert w.urls and all(u.startswith("https://") and u.endswith(w.filename) for u in w.urls)
        assert w.kind in ("embedder", "detector")
        if w.kind == "embedder":
            assert w.size > 1_000_000 and w.embedding_size == 512 and w.alignment == "arcface112"
            assert "research and teaching use only" in w.licence and "CC BY-NC-SA 4.0" in w.licence
            assert "[-1, 1]" in w.input_spec and not w.companions
        else:
            assert w.size > 200_000 and w.embedding_size == 0 and w.filename.endswith(".onnx")
            assert w.licence.startswith("Apache-2.0") and "BGR" in w.input_spec
            (licence,) = w.companions
            assert licence.filename == "LICENSE-yunet.txt" and licence.urls[0].endswith("/LICENSE")
        assert w.files[0].filename == w.filename and w.files[0].sha256 == w.sha256
    assert W.get_weights_info("EdgeFace_XS").architecture == "edgenext_x_small"
    with pytest.raises(ValueError, match="known: edgeface_xs, edgeface_xxs, yunet_n"):
        W.get_weights_info("arcface_r100")


def test_yunet_files_verify_with_their_licence(yunet_weights):
    """The shared YuNet files are the published ones, and the licence text beside them is the
    one the table names (what `facelab weights fetch yunet_n` puts beside the file)."""
    for name, path in yunet_weights.items():
        assert W.verify_weights(name, path) == W.KNOWN_WEIGHTS[name].sha256
        (licence,) = W.KNOWN_WEIGHTS[name].companions
        text = path.parent / licence.filename
        assert W.cached_sha256(text) == licence.sha256 and text.stat().st_size == licence.size
        assert "Apache License" in text.read_text()


def test_lookup_order(no_weights_checkout, tmp_path, monkeypatch):
    name, fn = "edgeface_xs", "edgeface_xs_q.pt"
    local = _put(no_weights_checkout / "weights" / fn)
    assert W.find_weights(name) == local.resolve()
    shared = _put(no_weights_checkout.parent / "shared" / "weights" / fn)
    assert W.find_weights(name) == shared.resolve()  # ../shared/weights before weights/
    env = _put(tmp_path / "envdir" / fn)
    monkeypatch.setenv(W.WEIGHTS_ENV_VAR, str(env.parent))
    assert W.find_weights(name) == env  # $FACELAB_WEIGHTS before ../shared
    explicit = _put(tmp_path / "mine.pt")
    assert W.find_weights(name, explicit) == explicit  # an explicit file first
    assert W.find_weights(name, env.parent) == env  # an explicit folder holding the published name
    whats = [what for what, _ in W.weight_search_paths(name, explicit)]
    assert whats == ["given path", "$FACELAB_WEIGHTS", "shared weights", "weights/"]
    # $FACELAB_NO_SHARED hides ../shared/weights, as it hides LFW's shared copy (tests without weights).
    monkeypatch.delenv(W.WEIGHTS_ENV_VAR)
    monkeypatch.setenv("FACELAB_NO_SHARED", "1")
    assert W.find_weights(name) == local.resolve()


def test_explicit_path_is_not_passed_over(no_weights_checkout, tmp_path):
    _put(no_weights_checkout / "weights" / "edgeface_xs_q.pt")
    with pytest.raises(W.WeightsNotFoundError) as err:
        W.locate_weights("edgeface_xs", tmp_path / "nope.pt", verify=False)
    assert str(tmp_path / "nope.pt") in str(err.value)


def test_missing_lists_every_place_and_the_fetch_command(no_weights_checkout):
    with pytest.raises(W.WeightsNotFoundError) as err:
        W.locate_weights("edgeface_xxs")
    msg = str(err.value)
    assert isinstance(err.value, FacelabError)
    for _, p in W.weight_search_paths("edgeface_xxs"):
        assert str(p) in msg
    assert "$FACELAB_WEIGHTS: not set" in msg
    assert "facelab weights fetch edgeface_xxs" in msg and "research and teaching" in msg


def test_missing_through_create_embedder(no_weights_checkout):
    from facelab.embedders import create_embedder

    with pytest.raises(W.WeightsNotFoundError, match="facelab weights fetch edgeface_xs"):
        create_embedder("edgeface_xs")


def test_wrong_file_refused_before_loading(no_weights_checkout):
    p = _put(no_weights_checkout / "weights" / "edgeface_xs_q.pt", b"\0" * 100)
    with pytest.raises(CheckpointError, match="100 bytes instead of 2993451: truncated"):
        W.locate_weights("edgeface_xs")
    same_size = _put(no_weights_checkout / "weights" / "edgeface_xxs_q.pt", b"\0" * W.KNOWN_WEIGHTS["edgeface_xxs"].size)
    with pytest.raises(CheckpointError, match="right size, different content"):
        W.verify_weights("edgeface_xxs", same_size)
    assert W.locate_weights("edgeface_xs", verify=False) == p.resolve()


def test_sha256_cached_per_mtime(tmp_path):
    p = _put(tmp_path / "f.bin", b"abc")
    assert W.cached_sha256(p) == hashlib.sha256(b"abc").hexdigest()
    import os

    p.write_bytes(b"abcd")
    os.utime(p, ns=(1, 1))  # a new mtime: hashed again
    assert W.cached_sha256(p) == hashlib.sha256(b"abcd").hexdigest()


def test_shared_files_verify(edgeface_weights):
    for name, path in edgeface_weights.items():
        assert W.verify_weights(name, path) == W.KNOWN_WEIGHTS[name].sha256
        assert W.identify_weights_file(path).name == name
    with pytest.raises(CheckpointError, match=r"it is edgeface_xxs_q.pt \(edgeface_xxs, edgenext_xx_small\)"):
        W.verify_weights("edgeface_xs", edgeface_weights["edgeface_xxs"])


# ------------------------------------------------------------------------------------------
# fetch_weights against a local server
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory, serve_folder):
    """A local HTTP server on 127.0.0.1: ``(base_url, folder it serves)``."""
    root = tmp_path_factory.mktemp("weights-mirror")
    return serve_folder(root), root


def test_fetch_verified_and_atomic(tmp_path, server, edgeface_weights):
    base, root = server
    (root / "good").mkdir(exist_ok=True)
    shutil.copyfile(edgeface_weights["edgeface_xxs"], root / "good" / "edgeface_xxs_q.pt")
    dest = tmp_path / "w"
    # The first URL is dead: the next one is tried.
    got = W.fetch_weights("edgeface_xxs", dest, urls=[f"{base}/gone/edgeface_xxs_q.pt", f"{base}/good/edgeface_xxs_q.pt"])
    assert got == dest / "edgeface_xxs_q.pt"
    assert W.verify_weights("edgeface_xxs", got)
    assert sorted(p.name for p in dest.iterdir()) == ["edgeface_xxs_q.pt"]  # no staging left behind
    # Already there and verified: kept, nothing downloaded (the URL would fail).
    assert W.fetch_weights("edgeface_xxs", dest, urls=[f"{base}/gone/x"]) == got


def test_fetch_bad_hash_leaves_nothing(tmp_path, server):
    base, root = server
    (root / "bad").mkdir(exist_ok=True)
    (root / "bad" / "edgeface_xs_q.pt").write_bytes(b"not the weights")
    dest = tmp_path / "w"
    with pytest.raises(W.WeightsFetchError) as err:
        W.fetch_weights("edgeface_xs", dest, urls=[f"{base}/bad/edgeface_xs_q.pt", f"{base}/missing/edgeface_xs_q.pt"])
    msg = str(err.value)
    assert "checksum mismatch" in msg and "download failed" in msg and "missing" in msg
    assert not list(dest.iterdir())
    # A bad file already at the destination is an error, not silently kept or replaced.
    (dest / "edgeface_xs_q.pt").write_bytes(b"junk")
    with pytest.raises(W.WeightsFetchError, match="overwrite"):
        W.fetch_weights("edgeface_xs", dest, urls=[f"{base}/bad/edgeface_xs_q.pt"])


def test_fetch_brings_the_licence_text_first(tmp_path, server, yunet_weights, monkeypatch):
    """YuNet's licence text travels with the file: fetched and verified before it, into the same folder."""
    base, root = server
    (root / "yn").mkdir(exist_ok=True)
    shared = yunet_weights["yunet_n"].parent
    shutil.copyfile(yunet_weights["yunet_n"], root / "yn" / "yunet_n_dynamic.onnx")
    shutil.copyfile(shared / "LICENSE-yunet.txt", root / "yn" / "LICENSE")
    info = W.KNOWN_WEIGHTS["yunet_n"]
    (licence,) = info.companions
    monkeypatch.setitem(W.KNOWN_WEIGHTS, "yunet_n", replace(
        info, urls=(f"{base}/yn/yunet_n_dynamic.onnx",), companions=(replace(licence, urls=(f"{base}/yn/LICENSE",)),)))
    dest = tmp_path / "w"
    assert W.fetch_weights("yunet_n", dest) == dest / "yunet_n_dynamic.onnx"
    assert sorted(p.name for p in dest.iterdir()) == ["LICENSE-yunet.txt", "yunet_n_dynamic.onnx"]
    assert W.cached_sha256(dest / "LICENSE-yunet.txt") == licence.sha256
    # A licence text that does not verify: an error, and no weight file without its licence.
    (root / "yn" / "LICENSE").write_text("MIT, honest")
    with pytest.raises(W.WeightsFetchError, match=r"(?s)yunet_n: could not fetch LICENSE-yunet.txt.*checksum mismatch"):
        W.fetch_weights("yunet_n", tmp_path / "w2")
    assert not list((tmp_path / "w2").iterdir())


def test_default_urls_point_at_the_published_files():
    info = W.KNOWN_WEIGHTS["edgeface_xs"]
    assert any("gitlab.idiap.ch/bob/bob.paper.tbiom2023_edgeface" in u for u in info.urls)
    assert any("3e631e35bf207a09aa2af79239961cfb14248c0a" in u for u in info.urls)
    assert replace(info, size=1).size == 1  # frozen dataclass, replace works


def test_default_detector(yunet_weights):
    # YuNet for every model (the fastest within 0.15 LFW points of the best, README) ...
    assert W.default_detector("edgeface_xs") == W.default_detector("EDGEFACE_XXS") == "yunet"
    assert W.default_detector("dlib") == W.default_detector("model.onnx") == "yunet"
    assert W.default_detector("yunet_n") == "yunet"  # a detector's entry names no detector: the general default


def test_default_detector_without_yunets_file(no_weights_checkout, capsys):
    # ... and, where YuNet's file is not installed, one that needs no file of its own, said on stderr.
    assert W.default_detector("dlib") == "dlib"
    assert "note: dlib's default detector YuNet is not installed (facelab weights fetch yunet_n" in capsys.readouterr().err
    assert W.default_detector("edgeface_xs", verbose=False) == "mtcnn"
    assert capsys.readouterr().err == ""


def test_available_models_skips_a_model_without_weights_with_a_note(monkeypatch, capsys):
    import facelab.models.weights as W

    def nowhere(name, weights=None, *, verify=True):
        raise W.WeightsNotFoundError(f"{name}: weights not found. Looked in: (nowhere)")

    monkeypatch.setattr(W, "locate_weights", nowhere)
    assert W.available_models(["dlib", "edgeface_xs", "ir_18"]) == ["dlib", "ir_18"]
    out = capsys.readouterr().out
    assert "skipping edgeface_xs" in out and "facelab weights fetch edgeface_xs" in out
