"""facelab.plotting.explorer: the explorer built from plain arrays and from an EmbeddingResult
(``.embedded``, and ``.chips`` / ``.faces`` when it has them), one offline page, large sets."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from facelab.core.calibration import REFERENCE_CALIBRATION
from facelab.core.errors import EvaluationError
from facelab.engine.result import TABLE_COLUMNS, EmbeddingResult
from facelab.plotting.explorer import explore, explore_embeddings
from facelab.plotting.thumbnails import BLANK_URI
from facelab.stages.faces import Face


def _data(n=150, nid=5, d=16, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, nid, n)
    emb = rng.normal(size=(nid, d))[codes] + rng.normal(size=(n, d))
    return emb, np.asarray([f"p{c}" for c in codes])


def test_explore_embeddings_checks_lengths():
    emb, ids = _data(20)
    with pytest.raises(EvaluationError, match="identity"):
        explore_embeddings(emb, ids[:-1], method="pca")
    with pytest.raises(EvaluationError, match="residuals"):
        explore_embeddings(emb, ids, residuals=[1.0], method="pca")
    with pytest.raises(EvaluationError, match="thumbnails"):
        explore_embeddings(emb, ids, thumbnails=np.zeros((3, 8, 8, 3), np.uint8), method="pca")


def test_explorer_saves_one_offline_page(tmp_path):
    emb, ids = _data(40)
    th = np.random.default_rng(0).integers(0, 255, (40, 24, 24, 3), dtype=np.uint8)
    ex = explore_embeddings(emb, ids, image_ids=[f"im{k}.jpg" for k in range(40)], thumbnails=th,
                            detection_scores=np.linspace(0.5, 1, 40), residuals=np.linspace(0, 2, 40),
                            method="pca", names={"p0": "Alice"})
    path = ex.save(tmp_path / "x" / "explorer.html")
    html = path.read_text()
    # no tag loads anything from a server (BokehJS mentions a MathJax CDN in its code, unused here:
    # the browser test checks that no request leaves the file)
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "Bokeh" in html and html.count("data:image/png;base64,") >= 40
    assert "Alice" in html and "im39.jpg" in html
    assert ex.data.n_thumbnails == 40 and ex.data.thumb_size == 64
    assert not list(path.parent.glob(".*tmp"))  # written atomically


def test_large_set_page(tmp_path):
    """10^4 faces: thumbnails for an evenly spread 2,000 at 32 px, the page a few MB (benchmarks/explorer_scale.py
    times it)."""
    rng = np.random.default_rng(0)
    n, nid = 10_000, 400
    codes = np.repeat(np.arange(nid), n // nid)
    emb = rng.normal(size=(nid, 64))[codes] + rng.normal(size=(n, 64))
    yy, xx = np.mgrid[0:32, 0:32]
    th = np.empty((n, 32, 32, 3), np.uint8)
    th[..., 0], th[..., 1] = (xx * 7 % 256)[None], (yy * 7 % 256)[None]
    th[..., 2] = (np.arange(n) % 256)[:, None, None]
    ex = explore_embeddings(emb, codes.astype(str), thumbnails=th, method="pca")
    path = ex.save(tmp_path / "big.html")
    assert ex.data.n_thumbnails == 2000 and ex.data.thumb_size == 32
    has = np.asarray([u != BLANK_URI for u in ex.data.thumbs])
    assert len(set(codes[has])) == nid  # every identity has faces with thumbnails
    assert path.stat().st_size < 15e6


def test_explore_from_an_embedding_result(tmp_path):
    emb, ids = _data(12, nid=2)
    paths = []
    for k in range(13):
        p = tmp_path / f"im{k}.png"
        Image.fromarray(np.full((40, 40, 3), 10 * k, np.uint8)).save(p)
        paths.append(str(p))
    # 13 images, one without a face; the embedding order differs from the table order
    rows = list(range(12))[::-1]
    table = pd.DataFrame({"image_id": [f"im{k}" for k in range(13)], "path": paths,
                          "identity": list(ids[rows]) + ["p0"], "status": ["ok"] * 12 + ["no_face"],
                          "reason": [None] * 12 + ["no face found"], "n_faces": [1] * 12 + [0],
                          "box": [(5, 5, 35, 35)] * 12 + [None], "landmarks": None,
                          "residual": np.linspace(0.5, 1.7, 13), "row": rows + [-1], "sha256": None},
                         columns=TABLE_COLUMNS)
    plain = EmbeddingResult(table, emb, model="m", calibration=REFERENCE_CALIBRATION)  # no faces, no chips
    ex = explore(plain, method="pca")
    d = ex.data
    assert list(d.image_ids) == [f"im{k}" for k in range(12)][::-1]  # embedding order
    assert list(d.identities) == list(ids)
    assert np.isnan(d.detection_scores).all() and d.residuals[0] == pytest.approx(table.residual[11])
    assert d.n_thumbnails == 12

    # with .chips (embedding order) and typed .faces (one per table row)
    chips = np.stack([np.full((20, 20, 3), k, np.uint8) for k in range(12)])
    faces = [Face(box=[5, 5, 35, 35], score=0.5 + 0.01 * k, landmarks=np.zeros((5, 2))) for k in range(12)] + [None]
    full = EmbeddingResult(table, emb, model="m", calibration=REFERENCE_CALIBRATION, chips=chips, faces=faces)
    ex2 = explore(full, method="pca")
    assert ex2.data.detection_scores[0] == pytest.approx(0.5 + 0.01 * 11)  # row 0 is table row 11
    assert ex2.data.n_thumbnails == 12
    assert "12 faces" in repr(ex2)
