"""The Parquet embedding store: append, read by pandas / pyarrow / Dask; as the driver's cache: resume,
damage quarantined; export."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from facelab.engine.cache import CacheError, EntryCache
from facelab.engine.pipeline import embed_images
from facelab.engine.store import EmbeddingStore, StoreError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lfw_images(lfw):
    """12 LFW photos of 4 people (3 each), or skip without LFW."""
    names = ["Colin_Powell", "Tony_Blair", "George_W_Bush", "Donald_Rumsfeld"]
    rows = [(f"{n}/{k}", str(lfw.image_path(n, k)), n) for n in names for k in (1, 2, 3)]
    return pd.DataFrame(rows, columns=["image_id", "path", "identity"])


@pytest.fixture(scope="module")
def reference(lfw_images):
    """The driver's result on the same photos without a cache."""
    return embed_images(lfw_images, cache=False, progress=False)


def _into_store(images, store, **kw):
    """The driver with the store as its cache (``facelab embed --store``)."""
    return embed_images(images, cache=store if isinstance(store, EmbeddingStore) else EmbeddingStore(store), **kw)


def _synthetic_table(n, start=0):
    rng = np.random.default_rng(start)
    t = pd.DataFrame({
        "image_id": [f"p{start + i}" for i in range(n)],
        "path": [f"/x/p{start + i}.jpg" for i in range(n)],
        "identity": [f"id{(start + i) % 3}" for i in range(n)],
        "sha256": [f"{start + i:064x}" for i in range(n)],
        "status": ["ok"] * (n - 1) + ["no_face"],
        "reason": [None] * (n - 1) + ["no face found"],
        "n_faces": [1] * (n - 1) + [0],
        "box": [[1.0, 2.0, 30.0, 40.0]] * (n - 1) + [None],
        "landmarks": [np.arange(10.0).reshape(5, 2).tolist()] * (n - 1) + [None],
        "residual": [0.5] * n,
    })
    vecs = [rng.standard_normal(8).astype(np.float32) for _ in range(n - 1)] + [None]
    return t, vecs


def test_append_is_read_by_pandas_pyarrow_and_dask(tmp_path):
    import dask.dataframe as dd
    import pyarrow as pa
    import pyarrow.dataset as ds

    store = EmbeddingStore(tmp_path / "s")
    t1, v1 = _synthetic_table(5, 0)
    t2, v2 = _synthetic_table(4, 100)
    store.append(t1, v1, settings_key="k1")
    store.append(t2, v2, settings_key="k1")
    assert len(store.partitions()) == 2
    assert not [p for p in (tmp_path / "s").iterdir() if p.name.startswith(".")]  # no temp file left

    df = pd.read_parquet(tmp_path / "s")  # plain pandas, no facelab
    assert list(df.image_id) == [f"p{i}" for i in range(5)] + [f"p{i}" for i in range(100, 104)]
    np.testing.assert_array_equal(np.stack(df.vector.iloc[:4]), np.stack(v1[:4]))
    assert df.vector.iloc[4] is None and df.status.iloc[4] == "no_face"
    assert ds.dataset(tmp_path / "s").schema.field("vector").type == pa.list_(pa.float32(), 8)
    ddf = dd.read_parquet(str(tmp_path / "s"))
    assert int(ddf.shape[0].compute()) == 9
    assert sorted(ddf.image_id.compute()) == sorted(df.image_id)

    ids, vecs, _ = store.embeddings()
    assert ids == ["p0", "p1", "p2", "p3", "p100", "p101", "p102"] and vecs.shape == (7, 8)
    got = store.lookup([f"{2:064x}", f"{4:064x}", "nope"], settings_key="k1")
    assert set(got) == {f"{2:064x}", f"{4:064x}"}
    np.testing.assert_array_equal(got[f"{2:064x}"].vector, v1[2])
    assert got[f"{4:064x}"].vector is None and got[f"{4:064x}"].reason == "no face found"
    assert got[f"{2:064x}"].face.landmarks.tolist() == np.arange(10.0).reshape(5, 2).tolist()
    assert store.lookup([f"{2:064x}"], settings_key="other") == {}


def test_vector_length_is_fixed_and_checked(tmp_path):
    store = EmbeddingStore(tmp_path / "s")
    t, v = _synthetic_table(3)
    store.append(t, v, settings_key="k")
    with pytest.raises(StoreError, match="different lengths"):
        store.append(t, [np.zeros(16, np.float32)] * 2 + [None], settings_key="k")
    with pytest.raises(StoreError, match="3 rows but 2 vectors"):
        store.append(t, v[:2], settings_key="k")


def test_export_seed_formats(tmp_path):
    from facelab.embedders.files import read_embeddings

    store = EmbeddingStore(tmp_path / "s")
    t, v = _synthetic_table(4)
    store.append(t, v, settings_key="k")
    for name in ("e.json", "e.npz"):
        ids, vecs = read_embeddings(store.export(tmp_path / name))
        assert ids == ["p0", "p1", "p2"]
        np.testing.assert_array_equal(vecs, np.stack(v[:3]))


def test_store_as_cache_equals_pipeline_and_recomputes_nothing(tmp_path, lfw_images, reference):
    store = EmbeddingStore(tmp_path / "s")
    assert isinstance(store, EntryCache) and store.required
    first = _into_store(lfw_images.iloc[:6], store, partition_size=4, progress=False)
    assert (first.n_cached, first.n_computed) == (0, 6)
    assert len(store.partitions()) == 2
    second = _into_store(lfw_images, store, partition_size=4, progress=False)
    assert (second.n_cached, second.n_computed) == (6, 6)
    assert list(second.table.image_id) == list(lfw_images.image_id)
    assert list(second.table.status) == list(reference.table.status)
    # Vectors equal to float32 rounding (batches differ); boxes and landmarks exactly.
    np.testing.assert_allclose(second.embeddings, reference.embeddings, atol=2e-6)
    assert list(second.table.box) == list(reference.table.box)
    assert list(second.table.landmarks) == list(reference.table.landmarks)
    third = _into_store(lfw_images, store, progress=False)
    assert (third.n_cached, third.n_computed) == (12, 0)
    np.testing.assert_array_equal(third.embeddings, second.embeddings)
    ok = third.table.status == "ok"  # dlib's chips have a residual, and the store gives it back
    assert third.table.residual[ok].notna().all()
    np.testing.assert_allclose(third.table.residual, reference.table.residual, rtol=1e-9)
    assert len(pd.read_parquet(tmp_path / "s")) == 12
    # Other settings are another key: nothing is reused across them.
    assert _into_store(lfw_images.iloc[:2], store, flip=True, progress=False).n_cached == 0
    assert third.settings["settings_key"] == third.settings_key == reference.settings_key
    assert third.settings["store"] == str(tmp_path / "s") and third.settings["quarantined"] == []


def test_store_refuses_what_it_cannot_key(tmp_path, lfw_images):
    # Random weights: the same settings would not give the same vectors, so nothing can be stored.
    import warnings

    from facelab.embedders.torch import TorchEmbedder
    from facelab.stages.detection import LadderDetector

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        emb = TorchEmbedder("ir_18")
    with pytest.raises(CacheError, match="not reproducible"):
        _into_store(lfw_images.iloc[:1], tmp_path / "s", model=emb, progress=False)
    with pytest.raises(CacheError, match="detector by name"):
        _into_store(lfw_images.iloc[:1], tmp_path / "s", detector=LadderDetector(), progress=False)
    assert not (tmp_path / "s").exists()


def test_resume_after_killed_run_computes_only_missing(tmp_path, lfw_images):
    lfw_images.to_csv(tmp_path / "images.csv", index=False)
    code = (
        "import pandas as pd; from facelab.engine.pipeline import embed_images;"
        "from facelab.engine.store import EmbeddingStore;"
        f"embed_images(pd.read_csv({str(tmp_path / 'images.csv')!r}), cache=EmbeddingStore({str(tmp_path / 's')!r}),"
        " partition_size=2, progress=False)"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)
    store = EmbeddingStore(tmp_path / "s")
    try:
        deadline = time.monotonic() + 90
        while len(store.partitions()) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # interrupted between (or in the middle of) partitions
    finally:
        proc.wait(timeout=30)
    done = len(pd.read_parquet(tmp_path / "s"))  # what survived is readable, temp files are hidden
    assert 4 <= done < 12
    resumed = _into_store(lfw_images, store, partition_size=4, progress=False)
    assert (resumed.n_cached, resumed.n_computed) == (done, 12 - done)
    assert len(pd.read_parquet(tmp_path / "s")) == 12
    assert (resumed.table.status == "ok").all()


def test_damaged_partition_is_detected_quarantined_and_redone(tmp_path, lfw_images):
    store = EmbeddingStore(tmp_path / "s")
    _into_store(lfw_images.iloc[:8], store, partition_size=4, progress=False)
    victim = store.partitions()[1]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # a truncated copy, a full disk, a killed rsync
    bad = store.check(full=False)
    assert [d.path for d in bad] == [victim]
    assert "ArrowInvalid" in bad[0].reason or "OSError" in bad[0].reason
    import pyarrow as pa

    with pytest.raises((pa.ArrowInvalid, OSError)):  # plain pandas trips over it ...
        pd.read_parquet(tmp_path / "s")
    again = _into_store(lfw_images.iloc[:8], store, partition_size=4, progress=False)
    assert (again.n_cached, again.n_computed) == (4, 4)  # the damaged partition's images, and only those
    assert again.settings["quarantined"] == [str(victim)]
    assert store.check() == []  # ... until it is moved aside
    assert sorted(pd.read_parquet(tmp_path / "s").image_id) == sorted(lfw_images.image_id[:8])
    assert any(p.name.startswith("_damaged-") for p in (tmp_path / "s").iterdir())


def test_flipped_page_byte_is_found_by_the_full_check(tmp_path):
    store = EmbeddingStore(tmp_path / "s")
    t, v = _synthetic_table(50)
    p = store.append(t, v, settings_key="k")
    data = bytearray(p.read_bytes())
    data[200] ^= 0xFF  # inside the first data pages, footer intact
    p.write_bytes(bytes(data))
    assert store.check(full=False) == []  # the footer still reads
    assert [d.path for d in store.check(full=True)] == [p]


def test_store_keeps_what_the_content_decides_with_the_cache_entry(tmp_path):
    # Decided by the status contract (PreparedImage.cacheable), not by the wording of a reason: a
    # detector failure is retried, an undecodable file is kept; stage, score and 68 points are stored.
    from facelab.core.calibration import REFERENCE_CALIBRATION
    from facelab.engine.result import TABLE_COLUMNS, EmbeddingResult
    from facelab.stages.faces import Face

    p68 = np.arange(136.0).reshape(68, 2)
    face = Face(box=[1.0, 2.0, 30.0, 40.0], score=0.75, landmarks=np.arange(10.0).reshape(5, 2), landmarks68=p68)
    rows = [
        dict(image_id="ok", path="ok.jpg", identity="a", status="ok", reason=None, n_faces=1, box=list(face.box),
             landmarks=face.landmarks.tolist(), residual=0.5, row=0, sha256=f"{1:064x}"),
        dict(image_id="det", path="det.jpg", identity="a", status="error", reason="the detector said no",
             n_faces=0, box=None, landmarks=None, residual=np.nan, row=-1, sha256=f"{2:064x}"),
        dict(image_id="bytes", path="bytes.jpg", identity="a", status="error", reason="not an image",
             n_faces=0, box=None, landmarks=None, residual=np.nan, row=-1, sha256=f"{3:064x}"),
    ]
    res = EmbeddingResult(table=pd.DataFrame(rows, columns=TABLE_COLUMNS), embeddings=np.ones((1, 8), np.float32),
                          model="m", calibration=REFERENCE_CALIBRATION, faces=[face, None, None],
                          stages=[None, "detect", "load"], cacheable=[True, False, True])
    store = EmbeddingStore(tmp_path / "s")
    store.append_result(res, settings_key="k")
    assert sorted(store.read().image_id) == ["bytes", "ok"]
    got = store.lookup([f"{1:064x}", f"{2:064x}", f"{3:064x}"], settings_key="k")
    assert set(got) == {f"{1:064x}", f"{3:064x}"}
    ok, bad = got[f"{1:064x}"], got[f"{3:064x}"]
    assert (ok.status, ok.stage, ok.face.score, ok.n_faces) == ("ok", None, 0.75, 1)
    np.testing.assert_array_equal(ok.face.landmarks68, p68)
    assert (bad.status, bad.stage, bad.reason, bad.face) == ("error", "load", "not an image", None)


@pytest.fixture(scope="module")
def group_photos(photo_folder):
    from facelab.data.datasets import read_photo_folder

    return read_photo_folder(photo_folder.photos).images


def test_every_face_rows_in_the_store_agree_with_the_result(tmp_path, group_photos):
    from facelab.embedders.files import read_embeddings

    ref = embed_images(group_photos, policy="all", cache=False, progress=False)
    store = EmbeddingStore(tmp_path / "s")
    first = _into_store(group_photos, store, policy="all", partition_size=4, progress=False)
    assert first.n_computed == len(group_photos)
    rows = pd.read_parquet(tmp_path / "s")  # a row per face, numbered as in the result's table
    assert len(rows) == len(ref.table) and rows.face.notna().all()
    assert sorted(zip(rows.image_id, rows.face)) == sorted(zip(ref.table.image_id, ref.table.face))
    again = _into_store(group_photos, store, policy="all", progress=False)
    assert (again.n_cached, again.n_computed) == (len(group_photos), 0)
    pd.testing.assert_frame_equal(again.table.drop(columns=["sha256"]), ref.table.drop(columns=["sha256"]),
                                  check_exact=False, atol=1e-9)
    np.testing.assert_allclose(again.embeddings, ref.embeddings, atol=2e-6)
    # The export's keys are the result's face ids (image_id#k), so the two files agree.
    ids, vecs = read_embeddings(store.export(tmp_path / "faces.json"))
    ref.write(tmp_path / "ref.json")
    ref_ids, ref_vecs = read_embeddings(tmp_path / "ref.json")
    assert sorted(ids) == sorted(ref_ids) == sorted(ref.ids) and all("#" in i for i in ids)
    order = [ids.index(i) for i in ref_ids]
    np.testing.assert_allclose(vecs[order], ref_vecs, atol=2e-6)
    # The one-face run of the same photos is another key: nothing shared, nothing mixed up.
    one = _into_store(group_photos, store, progress=False)
    assert one.n_cached == 0 and one.table.face.isna().all()


def test_a_format_2_partition_is_still_read(tmp_path):
    # Stores written before the face column: read as one face per photo, not quarantined.
    import pyarrow.parquet as pq

    store = EmbeddingStore(tmp_path / "s")
    t, v = _synthetic_table(3)
    new = store.append(t, v, settings_key="k")
    old = pq.read_table(new).drop(["face"])
    meta = dict(old.schema.metadata)
    meta[b"facelab.engine.store"] = b'{"format": 2, "dim": 8}'
    pq.write_table(old.replace_schema_metadata(meta), tmp_path / "s" / "part-00000000-00000000.parquet")
    new.unlink()
    assert store.check() == []
    got = store.read()
    assert list(got.image_id) == ["p0", "p1", "p2"] and got.face.isna().all()
    assert set(store.lookup([f"{i:064x}" for i in range(3)], settings_key="k")) == {f"{i:064x}" for i in range(3)}
    assert store.embeddings()[0] == ["p0", "p1"]
