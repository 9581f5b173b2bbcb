"""The embedding pipeline: every image accounted for, the cache, the process pool, folders."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import facelab.detection
import facelab.pipeline as pipeline
from facelab.pipeline import embed_folder, embed_images


@pytest.fixture(scope="module")
def images(lfw, tmp_path_factory):
    """Four LFW photos of two people, a blank picture (no face) and a broken file."""
    tmp = tmp_path_factory.mktemp("pipe")
    rows = [
        (f"{name}_{k:04d}", str(lfw.image_path(name, k)), name)
        for name in ("Colin_Powell", "Tony_Blair")
        for k in (1, 2)
    ]
    blank = tmp / "blank.png"
    Image.fromarray(np.full((120, 100, 3), 200, np.uint8)).save(blank)
    broken = tmp / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    rows += [("blank", str(blank), "nobody"), ("broken", str(broken), "nobody")]
    return pd.DataFrame(rows, columns=["image_id", "path", "identity"])


def test_every_image_gets_a_row_and_second_run_is_cached(images, monkeypatch, tmp_path):
    # A cache of its own: other tests may already have embedded these photos in the session's cache.
    monkeypatch.setenv("FACELAB_CACHE", str(tmp_path / "cache"))
    res = embed_images(images, progress=False)
    t = res.table
    assert list(t.image_id) == list(images.image_id)
    assert list(t.status) == ["ok"] * 4 + ["no_face", "error"]
    assert t.set_index("image_id").loc["broken", "reason"]
    assert "no face" in t.set_index("image_id").loc["blank", "reason"]
    assert res.embeddings.shape == (4, 128)
    assert res.ids == list(images.image_id[:4])
    assert res.identities == ["Colin_Powell"] * 2 + ["Tony_Blair"] * 2
    np.testing.assert_array_equal(res.vector("Tony_Blair_0002"), res.embeddings[3])
    with pytest.raises(KeyError, match="no_face"):
        res.vector("blank")
    assert set(res.skipped.image) == {images.path[4], images.path[5]}
    ok = t[t.status == "ok"]
    assert all(len(b) == 4 for b in ok.box) and all(np.shape(lm) == (5, 2) for lm in ok.landmarks)
    assert (ok.n_faces >= 1).all()
    assert res.n_computed == 6 and res.n_cached == 0
    assert res.calibration.mean > 0

    # Same photos again: nothing is detected (creating a detector would fail) and nothing changes.
    def no_detector(*a, **k):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(facelab.detection, "create_detector", no_detector)
    again = embed_images(images, progress=False)
    assert again.n_cached == 6 and again.n_computed == 0
    np.testing.assert_array_equal(again.embeddings, res.embeddings)
    pd.testing.assert_frame_equal(again.table, res.table)


def test_cache_follows_content_not_path(images, tmp_path, monkeypatch):
    embed_images(images.head(1), progress=False)
    copy = tmp_path / "renamed.jpg"
    shutil.copy(images.path[0], copy)
    monkeypatch.setattr(facelab.detection, "create_detector", lambda *a, **k: 1 / 0)
    res = embed_images(pd.DataFrame({"image_id": ["x"], "path": [str(copy)], "identity": ["?"]}), progress=False)
    assert res.n_cached == 1 and res.table.status[0] == "ok"


def test_no_cache_recomputes_and_random_models_never_cache(images):
    res = embed_images(images.head(2), cache=False, progress=False)
    assert res.n_computed == 2 and res.settings["cache"] is None
    from facelab.embedding import TorchEmbedder

    with pytest.warns(UserWarning, match="RANDOM"):
        emb = TorchEmbedder("ir_18")
    r = embed_images(images.head(2), model=emb, progress=False)
    assert r.embeddings.shape == (2, 256) and r.settings["cache"] is None
    assert r.table.residual.notna().all()  # ArcFace alignment has a residual; dlib150 has none


def test_process_pool_gives_the_same_embeddings(images, monkeypatch):
    monkeypatch.setattr(pipeline, "MIN_POOL_IMAGES", 2)
    pooled = embed_images(images, cache=False, progress=False, workers=2, chunk_size=2)
    monkeypatch.setattr(pipeline, "MIN_POOL_IMAGES", 10_000)
    single = embed_images(images, cache=False, progress=False)
    assert list(pooled.table.status) == list(single.table.status)
    np.testing.assert_allclose(pooled.embeddings, single.embeddings, atol=1e-6)


def test_pool_embeds_in_the_parent_and_a_failed_batch_marks_its_faces(images, monkeypatch):
    import threading

    from facelab.embedding import DlibEmbedder

    class Failing(DlibEmbedder):
        guard = threading.Lock()  # cannot be pickled: workers never get the embedder

        def _forward(self, chips):
            raise RuntimeError("out of memory")

    monkeypatch.setattr(pipeline, "MIN_POOL_IMAGES", 2)
    res = embed_images(images, model=Failing(), cache=False, progress=False, workers=2, chunk_size=2)
    assert list(res.table.status) == ["error"] * 4 + ["no_face", "error"]
    assert res.table.reason[:4].str.contains(r"embedding failed \(RuntimeError: out of memory\)").all()
    assert res.embeddings.shape == (0, 128) and res.timings["embed"] > 0


def test_embed_folder_carries_skipped_files(lfw, tmp_path):
    for name in ("Colin_Powell", "Tony_Blair"):
        d = tmp_path / name
        d.mkdir()
        shutil.copy(lfw.image_path(name, 1), d / "a.jpg")
    (tmp_path / "Tony_Blair" / "notes.txt").write_text("not a photo")
    res = embed_folder(tmp_path, progress=False)
    assert res.embeddings.shape == (2, 128)
    assert res.ids == ["Colin_Powell/a", "Tony_Blair/a"]
    assert list(res.skipped.image) == [str(tmp_path / "Tony_Blair" / "notes.txt")]
    assert "not an image" in res.skipped.reason[0]
    assert "1 non-image files skipped" in res.summary()


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match="image_id and path"):
        embed_images(pd.DataFrame({"path": ["a.jpg"]}))
    with pytest.raises(ValueError, match="repeated"):
        embed_images(pd.DataFrame({"image_id": ["a", "a"], "path": ["x", "y"]}))


def test_mtcnn_detector(images):
    res = embed_images(images.head(2), detector="mtcnn", cache=False, progress=False)
    assert list(res.table.status) == ["ok", "ok"]
    assert res.settings["detector"] == "mtcnn"
    assert res.embeddings.shape == (2, 128)


# --------------------------------------------------------------------------------------------
# Speed: detection scale ladder, stage timings, no torch for the all-dlib pipeline
# --------------------------------------------------------------------------------------------


def test_ladder_detector_climbs_unless_exactly_one_face(monkeypatch):
    from facelab.faces import DetectionResult, DetectionStatus, Face

    calls = []

    class Stub:
        def __init__(self, upsample, faces):
            self.upsample, self.faces = upsample, faces

        def detect(self, image, *, path=None, policy="largest"):
            calls.append(self.upsample)
            if not self.faces:
                return DetectionResult("x", DetectionStatus.NO_FACE, "no face found by dlib", [], None, (10, 10))
            return DetectionResult("x", DetectionStatus.OK, None, self.faces, 0, (10, 10))

    face = Face(box=[1, 1, 5, 5], score=1.0, landmarks=np.zeros((5, 2)))
    ladder = pipeline.LadderDetector()
    assert ladder.ladder == pipeline.DLIB_UPSAMPLE_LADDER == (0, 1)
    ladder.rungs = [Stub(0, [face]), Stub(1, [face])]
    assert ladder.detect(np.zeros((10, 10, 3), np.uint8)).ok and calls == [0]
    calls.clear()
    ladder.rungs = [Stub(0, []), Stub(1, [face])]
    assert ladder.detect(np.zeros((10, 10, 3), np.uint8)).ok and calls == [0, 1]
    calls.clear()
    # Several faces at the image's scale: the upsampled pass decides which one is embedded.
    ladder.rungs = [Stub(0, [face, face]), Stub(1, [face])]
    res = ladder.detect(np.zeros((10, 10, 3), np.uint8))
    assert len(res.faces) == 1 and calls == [0, 1]
    calls.clear()
    ladder.rungs = [Stub(0, []), Stub(1, [])]
    res = ladder.detect(np.zeros((10, 10, 3), np.uint8))
    assert not res.ok and "no face" in res.reason and calls == [0, 1]


def test_small_face_is_found_by_the_upsampled_rung(lfw, tmp_path):
    # Half-size LFW photo: the face (~50 px) is under HOG's 80 px window at the image's own scale.
    small = tmp_path / "small.png"
    Image.open(lfw.image_path("Colin_Powell", 1)).resize((125, 125)).save(small)
    df = pd.DataFrame({"image_id": ["small"], "path": [str(small)], "identity": ["Colin_Powell"]})
    fixed0 = embed_images(df, cache=False, progress=False, upsample=0)
    ladder = embed_images(df, cache=False, progress=False)
    fixed1 = embed_images(df, cache=False, progress=False, upsample=1)
    assert list(fixed0.table.status) == ["no_face"]
    assert list(ladder.table.status) == list(fixed1.table.status) == ["ok"]
    np.testing.assert_allclose(ladder.embeddings, fixed1.embeddings, atol=1e-6)
    assert ladder.settings["upsample"] == [0, 1] and fixed1.settings["upsample"] == 1


def test_timings_and_cache_key_follow_the_detection_scale(images, tmp_path, monkeypatch):
    monkeypatch.setenv("FACELAB_CACHE", str(tmp_path / "cache"))
    res = embed_images(images.head(2), progress=False)
    t = res.timings
    assert set(pipeline.STAGES) <= set(t) and {"wall", "pool_start", "worker_init"} <= set(t)
    assert all(t[k] > 0 for k in pipeline.STAGES) and t["wall"] >= t["embed"]
    # A fixed upsample is another cache entry (its box, hence its chip, may differ).
    other = embed_images(images.head(2), progress=False, upsample=1)
    assert other.n_computed == 2 and other.settings["cache"] != res.settings["cache"]
    assert embed_images(images.head(2), progress=False).n_cached == 2


def test_dlib_workers_do_not_import_torch():
    # Workers only load, detect and align; torch (seconds to import) stays in the parent.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from facelab.embedding import create_embedder\n"
        "from facelab.pipeline import _worker_init, _WORKER_STATE\n"
        "create_embedder('dlib')\n"
        "_worker_init('dlib', 'dlib150')\n"
        "assert _WORKER_STATE['init_s'] >= 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_single_threaded_embedder_runs_in_the_workers(images, monkeypatch):
    from facelab.embedding import DlibEmbedder

    monkeypatch.setattr(pipeline, "MIN_POOL_IMAGES", 2)
    emb = DlibEmbedder(engine="dlib")
    assert not emb.multithreaded and DlibEmbedder().multithreaded
    calls = []
    monkeypatch.setattr(DlibEmbedder, "_forward", lambda self, chips: calls.append(len(chips)))  # parent only
    res = embed_images(images, model=emb, cache=False, progress=False, workers=2, chunk_size=2)
    assert calls == [] and list(res.table.status) == ["ok"] * 4 + ["no_face", "error"]
    monkeypatch.undo()
    ref = embed_images(images, cache=False, progress=False)  # torch engine, in-process
    np.testing.assert_allclose(res.embeddings, ref.embeddings, atol=2e-5)
