"""Stubbed embeddings for the command tests: the commands' own logic, without detection or a network."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

from facelab.core.calibration import REFERENCE_CALIBRATION
from facelab.engine import pipeline
from facelab.engine.result import TABLE_COLUMNS, EmbeddingResult


def _fake_embed_images(no_face=(), dim=16, noise=0.5):
    """An ``embed_images`` stand-in: one random centre per identity plus per-image noise (seeded by name)."""

    def embed_images(images_df, **kwargs):
        rows, vecs = [], []
        for r in images_df.reset_index(drop=True).itertuples():
            ok = r.image_id not in no_face
            if ok:
                c = np.random.default_rng(zlib.crc32(str(r.identity).encode())).normal(size=dim)
                n = np.random.default_rng(zlib.crc32(str(r.image_id).encode())).normal(size=dim)
                v = c + noise * n
                vecs.append(v / np.linalg.norm(v))
            rows.append(dict(image_id=r.image_id, path=r.path, identity=r.identity,
                             status="ok" if ok else "no_face", reason="" if ok else "no face found",
                             n_faces=int(ok), box=None, landmarks=None, residual=None,
                             row=len(vecs) - 1 if ok else -1, sha256=None))
        return EmbeddingResult(table=pd.DataFrame(rows, columns=TABLE_COLUMNS),
                               embeddings=np.asarray(vecs, np.float32).reshape(len(vecs), dim),
                               model="fake", calibration=REFERENCE_CALIBRATION)

    return embed_images


@pytest.fixture
def stub_embeddings(monkeypatch):
    """``install(no_face=(), dim=16, noise=0.5)`` puts fakes in place of ``pipeline.embed_images``
    and ``pipeline.embed_folder`` and returns the fake ``embed_images`` (to compute expected values)."""

    def install(no_face=(), dim=16, noise=0.5):
        fake = _fake_embed_images(no_face=no_face, dim=dim, noise=noise)

        def embed_folder(root, **kw):
            from facelab.data.datasets import read_identity_folders

            ds = read_identity_folders(root)
            res = fake(ds.images, **kw)
            res.folder_skipped = ds.skipped.reset_index(drop=True)
            return res

        monkeypatch.setattr(pipeline, "embed_images", fake)
        monkeypatch.setattr(pipeline, "embed_folder", embed_folder)
        return fake

    return install


@pytest.fixture
def make_folder():
    """``make(root, {identity: n_images})``: a folder-per-identity set of placeholder JPEGs (never decoded)."""

    def make(root, counts):
        for ident, n in counts.items():
            d = root / ident
            d.mkdir(parents=True)
            for k in range(n):
                (d / f"{k}.jpg").write_bytes(b"\xff\xd8\xff")
        return root

    return make
