"""Shared fixtures: the real LFW copy and a two-ID set built from it."""

from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def lfw():
    from facelab.datasets import LFW

    return LFW()


@pytest.fixture(scope="session")
def two_id_dir(tmp_path_factory, lfw):
    """The default two-ID set (Colin_Powell vs Tony_Blair, 50 + 50), built once per session."""
    from facelab.datasets import build_two_id

    return build_two_id(tmp_path_factory.mktemp("data") / "two_id", lfw_root=lfw.root)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Keep embedding caches of tests out of the user's cache folder.

    Session-scoped, so that module- and session-scoped fixtures (which are set up before any
    function-scoped fixture) embed into the test cache too.
    """
    mp = pytest.MonkeyPatch()
    mp.setenv("FACELAB_CACHE", str(tmp_path_factory.getbasetemp() / "facelab-cache"))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def copy_two_id(two_id_dir):
    """``copy(dest, per_identity)``: the first photos of each two-ID identity, copied to ``dest/<identity>/``."""
    import shutil
    from pathlib import Path

    from facelab.datasets import read_identity_folders

    def copy(dest, per_identity):
        for ident, grp in read_identity_folders(two_id_dir).images.groupby("identity"):
            (dest / ident).mkdir(parents=True)
            for p in grp.path.head(per_identity):
                shutil.copyfile(p, dest / ident / Path(p).name)
        return dest

    return copy


@pytest.fixture(scope="session")
def edgeface_weights():
    """``{name: path}`` of the EdgeFace weight files (SHA-256 verified); skips when they are not found."""
    from facelab.weights import WeightsNotFoundError, locate_weights

    try:
        return {n: locate_weights(n) for n in ("edgeface_xs", "edgeface_xxs")}
    except WeightsNotFoundError as exc:
        pytest.skip(f"EdgeFace weights not found ({str(exc).splitlines()[0].removesuffix(' Looked in:')}; "
                    "set FACELAB_WEIGHTS or put ../shared/weights beside the checkout)")
