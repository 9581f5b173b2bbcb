"""Shared real-face fixtures of the analysis tests: 40 LFW pairs, their faces detected once,
dlib's embedder and the faces' anatomy (computed once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def lfw_pairs(lfw):
    from facelab.analysis.faces import lfw_pairs_subset

    return lfw_pairs_subset(lfw, n_pairs=40)  # 20 matched + 20 mismatched of pairs.txt fold 0


@pytest.fixture(scope="session")
def faces(lfw_pairs):
    from facelab.analysis.faces import detect_faces
    from facelab.data.datasets import pair_images

    return detect_faces(pair_images(lfw_pairs))


@pytest.fixture(scope="session")
def dlib_embedder():
    from facelab.embedders.dlib import DlibEmbedder

    return DlibEmbedder()


@pytest.fixture(scope="session")
def anatomy(faces, dlib_embedder):
    from facelab.analysis.anatomy import embedding_anatomy

    return embedding_anatomy(faces, dlib_embedder)
