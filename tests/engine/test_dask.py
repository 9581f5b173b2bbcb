"""The Dask executor on a real cluster: a ``dask scheduler`` and two ``dask worker`` processes on
127.0.0.1 (the session's ``cluster`` fixture in ``tests/conftest.py``). The all-pairs ROC on the
cluster is tested with its module, in ``tests/verification/test_streaming.py``."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def client(cluster):
    from distributed import Client

    with Client(cluster.address, timeout=30, set_as_default=False) as c:
        yield c


@pytest.fixture(scope="module")
def local_result(small_lfw):
    from facelab.engine.executors import SerialExecutor
    from facelab.engine.pipeline import embed_folder

    return embed_folder(small_lfw, cache=False, progress=False, executor=SerialExecutor(), keep_chips=True)


def _assert_same(res, ref, *, faces=True):
    assert list(res.table.image_id) == list(ref.table.image_id)
    assert list(res.table.status) == list(ref.table.status)
    assert list(res.table.box) == list(ref.table.box)
    assert list(res.table.landmarks) == list(ref.table.landmarks)
    assert res.embeddings.shape == ref.embeddings.shape
    # Vector for vector, to float32 rounding (the batches of the network differ).
    np.testing.assert_allclose(res.embeddings, ref.embeddings, atol=2e-6)
    if not faces:  # a store's result: boxes and landmarks only (checked above)
        return
    # The same typed faces (score, five and 68 points), so nothing downstream detects again.
    assert len(res.faces) == len(ref.faces)
    for f, g in zip(res.faces, ref.faces):
        assert (f is None) == (g is None)
        if f is not None:
            assert f.score == g.score
            np.testing.assert_array_equal(f.landmarks, g.landmarks)
            np.testing.assert_array_equal(f.landmarks68, g.landmarks68)


def test_cluster_embedding_equals_local_run(client, small_lfw, local_result):
    from facelab.engine.pipeline import embed_folder

    res = embed_folder(small_lfw, scheduler=client, partition_size=3, progress=False, keep_chips=True)
    _assert_same(res, local_result)
    np.testing.assert_array_equal(res.chips, local_result.chips)  # chips[row] is what embeddings[row] came from
    assert res.settings["embedder"] == local_result.settings["embedder"] and res.settings["engine"] == "dask"
    assert res.settings["cache"] is None  # this machine's file cache is not the cluster's
    assert res.table.sha256.notna().all()  # hashed on the workers
    assert "on a Dask cluster" in res.summary()
    # Both workers took part.
    assert len([w for w in res.timings["workers"] if w]) == 2


def test_cli_embed_with_scheduler_writes_the_local_vectors(cluster, small_lfw, local_result, tmp_path, capsys):
    from facelab.cli import main
    from facelab.embedders.files import read_embeddings

    out = tmp_path / "e.json"
    assert main(["embed", str(small_lfw), "--out", str(out), "--scheduler", cluster.address, "--quiet",
                 "--detector", "dlib"]) == 0
    assert "20 embedded" in capsys.readouterr().out
    ids, vecs = read_embeddings(out)
    assert ids == local_result.ids
    np.testing.assert_allclose(vecs, local_result.embeddings, atol=2e-6)


def test_unreadable_images_are_rows_with_reasons(client, small_lfw, tmp_path):
    from facelab.engine.pipeline import embed_images

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(Path(small_lfw / "Tony_Blair" / "1.jpg").read_bytes()[:300])  # a cut-off JPEG
    images = pd.DataFrame({
        "image_id": ["good", "broken", "gone"],
        "path": [str(small_lfw / "Tony_Blair" / "2.jpg"), str(broken), str(tmp_path / "not-there.jpg")],
        "identity": ["Tony_Blair", "x", "y"],
    })
    res = embed_images(images, scheduler=client, partition_size=1, progress=False)
    assert list(res.table.status) == ["ok", "error", "error"]
    sk = dict(zip(res.skipped.image, res.skipped.reason))
    assert sk[str(tmp_path / "not-there.jpg")] == "error: file not found"
    assert sk[str(broken)].startswith("error: ") and len(sk[str(broken)]) > len("error: ")
    # The same reasons as on this machine.
    local = embed_images(images, cache=False, progress=False)
    assert list(res.table.reason) == list(local.table.reason)
    assert res.embeddings.shape == (1, 128)


def test_store_filled_by_the_cluster_resumes_locally(client, small_lfw, local_result, tmp_path):
    from facelab.data.datasets import read_identity_folders
    from facelab.engine.pipeline import embed_images
    from facelab.engine.store import EmbeddingStore

    images = read_identity_folders(small_lfw).images
    store = EmbeddingStore(tmp_path / "s")
    first = embed_images(images.iloc[:8], cache=store, scheduler=client, partition_size=3, progress=False)
    assert (first.n_cached, first.n_computed) == (0, 8)
    assert len(pd.read_parquet(tmp_path / "s")) == 8
    assert len(store.partitions()) == 3  # one per task, appended as each came back
    res = embed_images(images, cache=EmbeddingStore(tmp_path / "s"), partition_size=6, progress=False)  # this machine
    assert (res.n_cached, res.n_computed) == (8, 12)
    _assert_same(res, local_result)


def test_what_a_worker_cannot_rebuild_is_refused_before_any_task(client, small_lfw):
    import warnings

    from facelab.embedders.torch import TorchEmbedder
    from facelab.engine.dask import DistributedError
    from facelab.engine.pipeline import embed_folder
    from facelab.stages.detection import LadderDetector

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        random = TorchEmbedder("ir_18")
    with pytest.raises(DistributedError, match="cannot be rebuilt on a worker"):
        embed_folder(small_lfw, model=random, scheduler=client, progress=False)
    with pytest.raises(DistributedError, match="detector is given by name"):
        embed_folder(small_lfw, detector=LadderDetector(), scheduler=client, progress=False)


def test_every_face_on_the_cluster_equals_the_local_run(client, photo_folder):
    from facelab.data.datasets import read_photo_folder
    from facelab.engine.executors import SerialExecutor
    from facelab.engine.pipeline import embed_images

    images = read_photo_folder(photo_folder.photos).images
    local = embed_images(images, policy="all", cache=False, progress=False, executor=SerialExecutor(), keep_chips=True)
    res = embed_images(images, policy="all", scheduler=client, partition_size=3, progress=False, keep_chips=True)
    assert (res.table.n_faces > 1).any()  # group photos: several rows per photo
    assert list(res.table.face) == list(local.table.face) and res.ids == local.ids
    _assert_same(res, local)
    np.testing.assert_array_equal(res.chips, local.chips)


def test_worker_killed_mid_run_loses_and_doubles_nothing(cluster, client, small_lfw, local_result):
    """Last in this module: it kills one of the fixture's two workers (and starts another)."""
    from facelab.data.datasets import read_identity_folders
    from facelab.engine.dask import DaskExecutor
    from facelab.engine.pipeline import embed_images

    # Each photo three times under three ids: 60 images, 30 tasks -- long enough to kill a worker in.
    base = read_identity_folders(small_lfw).images
    images = pd.concat([base.assign(image_id=base.image_id + f"#{r}") for r in range(3)], ignore_index=True)
    pids = cluster.worker_pids(client)
    assert len(pids) == 2
    out = {}

    def run():
        try:
            out["res"] = embed_images(images, executor=DaskExecutor(cluster.address, retries=1), partition_size=2,
                                      progress=False)
        except BaseException as exc:  # reported below
            out["exc"] = exc

    t = threading.Thread(target=run)
    t.start()
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and time.monotonic() < deadline and t.is_alive():
        busy = [w for w, ks in client.processing().items() if any("facelab-embed" in str(k) for k in ks)]
        if busy:
            victim = busy[0]  # it holds an embedding task right now
        else:
            time.sleep(0.02)
    assert victim is not None and t.is_alive(), "the run ended before a worker could be killed"
    os.kill(pids[victim], signal.SIGKILL)
    t.join(timeout=180)
    assert not t.is_alive()
    assert "exc" not in out, out.get("exc")
    res = out["res"]
    assert victim not in client.scheduler_info()["workers"]
    cluster.add_worker()  # the session's cluster has two workers again for the modules after this one
    client.wait_for_workers(2, timeout=60)
    assert res.table.image_id.is_unique and list(res.table.image_id) == list(images.image_id)
    assert sum(res.timings["workers"].values()) == 30  # thirty partitions, each counted once
    # Every image exactly once, with the local run's vectors.
    for r in range(3):
        part = res.table.iloc[20 * r : 20 * (r + 1)]
        assert list(part.status) == list(local_result.table.status)
        np.testing.assert_allclose(res.embeddings[part.row[part.row >= 0]], local_result.embeddings, atol=2e-6)
