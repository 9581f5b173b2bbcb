"""The driver: every image accounted for, the file cache, the process pool, folders."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import facelab.engine.executors as executors
import facelab.engine.settings as settings_mod
from facelab.engine.executors import SerialExecutor
from facelab.engine.pipeline import embed_folder, embed_images
from facelab.engine.pool import PoolExecutor
from facelab.stages.prepare import STAGES


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

    monkeypatch.setattr(settings_mod, "make_detector", no_detector)
    monkeypatch.setattr(executors, "prepare_image", no_detector)
    again = embed_images(images, progress=False)
    assert again.n_cached == 6 and again.n_computed == 0
    np.testing.assert_array_equal(again.embeddings, res.embeddings)
    pd.testing.assert_frame_equal(again.table, res.table)


def test_cache_follows_content_not_path(images, tmp_path, monkeypatch):
    embed_images(images.head(1), progress=False)
    copy = tmp_path / "renamed.jpg"
    shutil.copy(images.path[0], copy)
    monkeypatch.setattr(settings_mod, "make_detector", lambda *a, **k: 1 / 0)
    res = embed_images(pd.DataFrame({"image_id": ["x"], "path": [str(copy)], "identity": ["?"]}), progress=False)
    assert res.n_cached == 1 and res.table.status[0] == "ok"


def test_no_cache_recomputes_and_random_models_never_cache(images):
    res = embed_images(images.head(2), cache=False, progress=False)
    assert res.n_computed == 2 and res.settings["cache"] is None
    from facelab.embedders.torch import TorchEmbedder

    with pytest.warns(UserWarning, match="RANDOM"):
        emb = TorchEmbedder("ir_18")
    r = embed_images(images.head(2), model=emb, progress=False)
    assert r.embeddings.shape == (2, 256) and r.settings["cache"] is None
    assert r.table.residual.notna().all()


def test_process_pool_gives_the_same_embeddings(images):
    pooled = embed_images(images, cache=False, progress=False, executor=PoolExecutor(2, min_images=2), batch_size=2)
    single = embed_images(images, cache=False, progress=False, executor=SerialExecutor())
    assert list(pooled.table.status) == list(single.table.status)
    np.testing.assert_allclose(pooled.embeddings, single.embeddings, atol=1e-6)


def test_pool_embeds_in_the_parent_and_a_failed_batch_marks_its_faces(images, monkeypatch):
    import threading

    from facelab.embedders.dlib import DlibEmbedder

    class Failing(DlibEmbedder):
        guard = threading.Lock()  # cannot be pickled: workers never get the embedder

        def _forward(self, chips):
            raise RuntimeError("out of memory")

    # PyTorch's engine: the parent embeds (onnxruntime would embed in the workers, from the spec).
    res = embed_images(images, model=Failing(engine="torch"), cache=False, progress=False,
                       executor=PoolExecutor(2, min_images=2), batch_size=2)
    assert list(res.table.status) == ["error"] * 4 + ["no_face", "error"]
    assert res.table.reason[:4].str.contains(r"embedding failed \(RuntimeError: out of memory\)").all()
    assert res.embeddings.shape == (0, 128) and res.timings["embed"] > 0


def test_pool_workers_embed_with_onnxruntime(images):
    """On the CPU the networks run in onnxruntime inside each pool worker, one thread each: the vectors
    are the serial run's exactly, and this process never builds a batch."""
    from facelab.embedders.dlib import DlibEmbedder

    emb = DlibEmbedder()
    assert emb.engine == "onnx" and not emb.multithreaded and emb.spec() == {"name": "dlib", "flip": False,
                                                                             "num_jitters": 0}
    pooled = embed_images(images, model="dlib", cache=False, progress=False, executor=PoolExecutor(2, min_images=2))
    serial = embed_images(images, model="dlib", cache=False, progress=False, executor=SerialExecutor())
    np.testing.assert_array_equal(pooled.embeddings, serial.embeddings)
    assert list(pooled.table.status) == list(serial.table.status)
    assert pooled.timings["embed"] > 0 and pooled.timings["worker_init"] > 0  # embedded in the workers


def test_pool_leaves_the_cores_to_its_workers(images, monkeypatch):
    # The parent's network runs while the workers detect: with as many workers as cores it gets
    # one thread, and the caller's setting is back afterwards.
    import threading

    import torch

    from facelab.embedders.dlib import DlibEmbedder

    seen = []

    class Recording(DlibEmbedder):
        guard = threading.Lock()  # cannot be pickled: the parent embeds

        def _forward(self, chips):
            seen.append(torch.get_num_threads())
            return super()._forward(chips)

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    before = torch.get_num_threads()
    res = embed_images(images, model=Recording(engine="torch"), cache=False, progress=False,
                       executor=PoolExecutor(2, min_images=2), batch_size=2)
    assert res.embeddings.shape == (4, 128)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before


def test_dlib_faces_have_a_residual_cached_or_not(images, monkeypatch, tmp_path):
    # dlib's chip reports the five points' ArcFace fit; entries cached before it had one get it
    # from their landmarks when read.
    from dataclasses import replace

    from facelab.embedders import create_embedder
    from facelab.engine.cache import EmbeddingCache
    from facelab.engine.settings import EmbedSettings
    from facelab.stages.alignment import get_preset

    monkeypatch.setenv("FACELAB_CACHE", str(tmp_path))
    first = embed_images(images.head(2), progress=False, workers=1)
    ok = first.table[first.table.status == "ok"]
    assert len(ok) == 2 and ok.residual.between(0, 10).all()
    for face, r in zip(first.faces, ok.residual):
        assert r == get_preset("arcface112").residual(face)
    cache, key = EmbeddingCache(), EmbedSettings().key(create_embedder("dlib"))
    assert str(cache.folder(key)) == first.settings["cache"]
    for digest in ok.sha256:
        older = replace(cache.get(digest, settings_key=key), residual=float("nan"))  # written before dlib had one
        cache.put_entry(digest, older, settings_key=key)
    again = embed_images(images.head(2), progress=False, workers=1)
    assert again.n_cached == 2
    np.testing.assert_allclose(again.table.residual, ok.residual, rtol=1e-12)


def test_torch_threads_restores_the_setting():
    import torch

    from facelab.core.devices import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    with torch_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


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
    from facelab.stages.detection import DLIB_UPSAMPLE_LADDER, Detector, LadderDetector
    from facelab.stages.faces import Face

    calls = []

    class Stub:
        def __init__(self, upsample, faces):
            self.upsample, self.faces = upsample, faces

        def find_faces(self, image):
            calls.append(self.upsample)
            return list(self.faces)

    face = Face(box=[1, 1, 5, 5], score=1.0, landmarks=np.zeros((5, 2)))
    ladder = LadderDetector()
    assert isinstance(ladder, Detector) and ladder.ladder == DLIB_UPSAMPLE_LADDER == (0, 1)
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


def test_a_ready_ladder_detector_is_accepted(images):
    # Bug: LadderDetector was not a Detector, so embed_images(detector=LadderDetector()) raised ValueError.
    from facelab.stages.detection import LadderDetector

    res = embed_images(images.head(3), detector=LadderDetector(), progress=False)
    ref = embed_images(images.head(3), cache=False, progress=False)  # "dlib" by name: the same ladder
    assert list(res.table.status) == ["ok"] * 3 and res.settings["cache"] is None
    np.testing.assert_allclose(res.embeddings, ref.embeddings, atol=1e-6)


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
    assert set(STAGES) <= set(t) and {"wall", "pool_start", "worker_init"} <= set(t)
    assert all(t[k] > 0 for k in STAGES) and t["wall"] >= t["embed"]
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
        "from facelab.embedders import create_embedder\n"
        "from facelab.stages.detection import LadderDetector\n"
        "from facelab.engine.pool import _worker_init, _WORKER_STATE\n"
        "create_embedder('dlib')\n"
        "_worker_init('dlib', 'dlib150')\n"
        "assert isinstance(_WORKER_STATE['detector'], LadderDetector), _WORKER_STATE\n"
        "assert _WORKER_STATE['preset'].name == 'dlib150' and _WORKER_STATE['embedder'] is None\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_single_threaded_embedder_runs_in_the_workers(images, monkeypatch):
    from facelab.embedders.dlib import DlibEmbedder

    emb = DlibEmbedder(engine="dlib")
    assert not emb.multithreaded and DlibEmbedder(engine="torch").multithreaded
    calls = []
    monkeypatch.setattr(DlibEmbedder, "_forward", lambda self, chips: calls.append(len(chips)))  # parent only
    res = embed_images(images, model=emb, cache=False, progress=False, executor=PoolExecutor(2, min_images=2),
                       batch_size=2)
    assert calls == [] and list(res.table.status) == ["ok"] * 4 + ["no_face", "error"]
    monkeypatch.undo()
    ref = embed_images(images, model=DlibEmbedder(engine="torch"), cache=False, progress=False)  # in-process
    np.testing.assert_allclose(res.embeddings, ref.embeddings, atol=2e-5)


# --------------------------------------------------------------------------------------------
# Typed faces and chips: nothing downstream detects or aligns again
# --------------------------------------------------------------------------------------------


def test_faces_and_chips_come_with_the_result_and_survive_the_cache(images, monkeypatch, tmp_path):
    from facelab.embedders import create_embedder
    from facelab.stages.faces import Face

    monkeypatch.setenv("FACELAB_CACHE", str(tmp_path / "cache"))
    res = embed_images(images, progress=False, keep_chips=True)
    assert len(res.faces) == len(res.table) == 6
    assert all(isinstance(f, Face) for f in res.faces[:4]) and res.faces[4] is None and res.faces[5] is None
    assert res.faces[0].landmarks68.shape == (68, 2) and res.faces[0].score > 0
    np.testing.assert_allclose(res.faces[0].box, res.table.box[0])
    assert res.chips.shape == (4, 150, 150, 3) and res.chips.dtype == np.uint8
    # The chips are what was embedded, in embedding order.
    np.testing.assert_allclose(create_embedder("dlib").embed(res.chips), res.embeddings, atol=1e-5)
    assert [id(f) for f in res.embedded_faces] == [id(f) for f in res.faces[:4]]
    assert embed_images(images.head(1), progress=False).chips is None  # only on request

    # From the cache: the same faces (68 points included) and, re-aligned without detection, the same chips.
    monkeypatch.setattr(settings_mod, "make_detector", lambda *a, **k: 1 / 0)
    again = embed_images(images, progress=False, keep_chips=True)
    assert again.n_cached == 6 and again.timings["realign"] > 0
    for a, b in zip(again.faces, res.faces):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.box, b.box)
            np.testing.assert_array_equal(a.landmarks, b.landmarks)
            np.testing.assert_array_equal(a.landmarks68, b.landmarks68)
            assert a.score == b.score
    np.testing.assert_array_equal(again.chips, res.chips)


def test_cache_keeps_what_the_content_decides_and_not_our_failures(images, monkeypatch, tmp_path):
    # Decided by the status, not by the wording of a reason: a detector that fails on one photo
    # leaves it out of the cache, so the next run (detector fixed) computes it again.
    from facelab.engine.settings import make_detector

    monkeypatch.setenv("FACELAB_CACHE", str(tmp_path / "cache"))
    real = make_detector("dlib")

    class Flaky(type(real)):
        calls = 0

        def find_faces(self, image):
            Flaky.calls += 1
            if Flaky.calls == 1:  # images are prepared in order without a pool: the first photo
                raise RuntimeError("flaky")
            return super().find_faces(image)

    monkeypatch.setattr(settings_mod, "make_detector", lambda *a, **k: Flaky())
    first = embed_images(images, progress=False)
    assert first.table.status[0] == "error" and "detector failed (RuntimeError: flaky)" in first.table.reason[0]
    assert list(first.table.status[4:]) == ["no_face", "error"]  # no face, undecodable bytes: cached
    monkeypatch.undo()
    monkeypatch.setenv("FACELAB_CACHE", str(tmp_path / "cache"))
    second = embed_images(images, progress=False)
    assert second.n_computed == 1 and second.n_cached == 5 and second.table.status[0] == "ok"


# ------------------------------------------------------------------------------------------
# Every face of a photo (policy="all")
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def group_images(photo_folder, tmp_path_factory):
    """The photo folder's photos (group photos of 2-3 people, single LFW photos) and a blank one."""
    from facelab.data.datasets import read_photo_folder

    blank = tmp_path_factory.mktemp("every") / "blank.png"
    Image.fromarray(np.full((120, 100, 3), 200, np.uint8)).save(blank)
    images = read_photo_folder(photo_folder.photos).images
    return pd.concat([images, pd.DataFrame([("blank", str(blank), "")], columns=images.columns)], ignore_index=True)


@pytest.fixture(scope="module")
def every_face(group_images):
    return embed_images(group_images, policy="all", cache=False, progress=False, executor=SerialExecutor(),
                        keep_chips=True)


def test_every_face_gets_a_row_and_a_key_of_its_own(every_face, group_images, photo_folder):
    from facelab.data.photo_folder import label_faces

    t = every_face.table
    truth = photo_folder.truth
    groups = truth[truth.image_id.str.startswith("group_")]
    ok = t[t.status == "ok"]
    # Every pasted face of every group photo is found, each once, and named right by its box.
    found = ok[ok.image_id.str.startswith("group_")]
    assert sorted(zip(found.image_id, label_faces(found, truth))) == sorted(zip(groups.image_id, groups.identity))
    for _, grp in ok.groupby("image_id"):
        assert list(grp.face) == list(range(len(grp))) and (grp.n_faces == len(grp)).all()
        areas = [(b[2] - b[0]) * (b[3] - b[1]) for b in grp.box]
        assert areas == sorted(areas, reverse=True)  # face 0 is the largest
    # A photo without a face keeps one row, with its reason and no face number.
    blank = t[t.image_id == "blank"]
    assert len(blank) == 1 and blank.status.iloc[0] == "no_face" and blank.face.isna().all()
    assert set(t.image_id) == set(group_images.image_id)
    # Keys: image_id#k, unique, agreeing with rows_of, vector(), the chips and the written file.
    assert every_face.ids == [f"{i}#{k}" for i, k in zip(every_face.embedded.image_id, every_face.embedded.face)]
    assert len(set(every_face.ids)) == len(every_face.ids) == len(every_face.embeddings) == len(every_face.chips)
    assert every_face.rows_of() == {k: r for r, k in enumerate(every_face.ids)}
    np.testing.assert_array_equal(every_face.vector("group_0001#1"), every_face.embeddings[every_face.rows_of()["group_0001#1"]])
    assert len(every_face.embedded_faces) == len(every_face.ids)
    assert "faces embedded from" in every_face.summary()


def test_every_face_mode_embeds_the_same_faces_as_one_face_mode(every_face, group_images):
    # Face 0 of every photo is the face "largest" keeps, with the same vector, at the same detection scale
    # (every-face mode detects at 2x on every photo: the ladder's "one face at the photo's own scale" would
    # miss the smaller faces beside it).
    largest = embed_images(group_images, policy="largest", upsample=1, cache=False, progress=False,
                           executor=SerialExecutor())
    assert largest.table.face.isna().all() and largest.ids == list(largest.embedded.image_id)
    first = every_face.embedded[every_face.embedded.face == 0]
    rows = largest.rows_of()
    assert list(first.image_id) == list(rows)
    np.testing.assert_allclose(every_face.embeddings[first.row.to_numpy()], largest.embeddings[list(rows.values())],
                               atol=1e-6)
    # Same people: a pasted face is closer to its own single photos than to the others'.
    assert every_face.settings["policy"] == "all" and largest.settings["policy"] == "largest"
    assert every_face.settings_key != largest.settings_key


def test_every_face_through_the_pool_and_the_file_cache(every_face, group_images, monkeypatch, tmp_path):
    monkeypatch.setenv("FACELAB_CACHE", str(tmp_path / "cache"))
    pooled = embed_images(group_images, policy="all", progress=False, executor=PoolExecutor(2, min_images=1))
    pd.testing.assert_frame_equal(pooled.table.drop(columns="sha256"), every_face.table.drop(columns="sha256"))
    np.testing.assert_allclose(pooled.embeddings, every_face.embeddings, atol=2e-6)

    def no_detector(*a, **k):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(settings_mod, "make_detector", no_detector)
    monkeypatch.setattr(executors, "prepare_image", no_detector)
    again = embed_images(group_images, policy="all", progress=False, keep_chips=True)
    assert again.n_cached == len(group_images) and again.n_computed == 0
    pd.testing.assert_frame_equal(again.table, pooled.table)
    np.testing.assert_array_equal(again.embeddings, pooled.embeddings)
    np.testing.assert_array_equal(again.chips, every_face.chips)  # re-aligned from the cached faces
    for f, g in zip(again.faces, every_face.faces):
        assert (f is None) == (g is None) and (f is None or np.array_equal(f.landmarks68, g.landmarks68))
