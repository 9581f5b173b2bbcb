"""The driver with each executor (this process, a process pool, a real Dask cluster) and each cache (none,
the file cache, the Parquet store): one result, on real LFW photos, computed or answered by the cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from facelab.engine.cache import EmbeddingCache
from facelab.engine.executors import SerialExecutor
from facelab.engine.pipeline import embed_images
from facelab.engine.pool import PoolExecutor
from facelab.engine.store import EmbeddingStore


@pytest.fixture(scope="module")
def images(lfw, tmp_path_factory):
    """Six LFW photos of three people, a blank picture (no face) and a broken file."""
    tmp = tmp_path_factory.mktemp("executors")
    rows = [(f"{n}_{k}", str(lfw.image_path(n, k)), n) for n in ("Colin_Powell", "Tony_Blair", "George_W_Bush")
            for k in (1, 2)]
    Image.fromarray(np.full((120, 100, 3), 200, np.uint8)).save(tmp / "blank.png")
    (tmp / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    rows += [("blank", str(tmp / "blank.png"), "nobody"), ("broken", str(tmp / "broken.jpg"), "nobody")]
    return pd.DataFrame(rows, columns=["image_id", "path", "identity"])


@pytest.fixture(scope="module")
def reference(images):
    return embed_images(images, cache=False, executor=SerialExecutor(), keep_chips=True, progress=False)


def _executor(name, request):
    if name == "serial":
        return SerialExecutor()
    if name == "pool":
        return PoolExecutor(2, min_images=1)  # a pool even for eight images
    from facelab.engine.dask import DaskExecutor

    return DaskExecutor(request.getfixturevalue("cluster").address)


def _cache(kind, root):
    return {"none": False, "file": EmbeddingCache(root / "cache"), "store": EmbeddingStore(root / "store")}[kind]


def _assert_same(res, ref):
    t, r = res.table, ref.table
    for col in ("image_id", "path", "identity", "status", "reason", "n_faces", "box", "landmarks", "row"):
        assert list(t[col]) == list(r[col]), col
    np.testing.assert_allclose(t.residual, r.residual, rtol=1e-9)
    assert res.stages == ref.stages
    for f, g in zip(res.faces, ref.faces):  # the typed faces: nothing downstream detects again
        assert (f is None) == (g is None)
        if f is not None:
            assert f.score == g.score
            np.testing.assert_array_equal(f.landmarks68, g.landmarks68)
    # Vectors to float32 rounding (batches differ), the chips they came from exactly.
    np.testing.assert_allclose(res.embeddings, ref.embeddings, atol=2e-6)
    np.testing.assert_array_equal(res.chips, ref.chips)


@pytest.mark.parametrize("cache", ["none", "file", "store"])
@pytest.mark.parametrize("executor", ["serial", "pool", "dask"])
def test_every_executor_and_cache_give_one_result(executor, cache, images, reference, tmp_path, request):
    ex = _executor(executor, request)
    kw = dict(executor=ex, partition_size=3, batch_size=2, keep_chips=True, progress=False)
    cold = embed_images(images, cache=_cache(cache, tmp_path), **kw)
    _assert_same(cold, reference)
    assert (cold.n_cached, cold.n_computed) == (0, 8)
    assert list(reference.table.status) == ["ok"] * 6 + ["no_face", "error"]
    assert (cold.settings.get("engine") == "dask") == (executor == "dask")
    if executor == "pool":
        assert cold.timings["pool_start"] > 0 and cold.timings["worker_init"] > 0  # the workers did run
    if executor == "dask":
        assert sum(cold.timings["workers"].values()) == 3  # three partitions of at most three images
    if cache == "none":
        assert cold.settings["cache"] is None
        return
    # Every outcome here is decided by the file's content (a face, no face, undecodable bytes): all kept.
    warm = embed_images(images, cache=_cache(cache, tmp_path), **kw)
    assert (warm.n_cached, warm.n_computed) == (8, 0)
    _assert_same(warm, reference)
    assert list(warm.table.sha256) == list(cold.table.sha256) and warm.table.sha256.notna().all()
    where = warm.settings["cache"] if cache == "file" else warm.settings["store"]
    assert where.startswith(str(tmp_path))
    if cache == "store":
        assert len(EmbeddingStore(tmp_path / "store").partitions()) == 3  # one per finished partition
