"""Shared fixtures: the real LFW copy and a two-ID set built from it.

Tests that need LFW take the ``lfw`` fixture (or one built on it, such as ``two_id_dir``): where
LFW is absent they SKIP with :func:`facelab.datasets.locate_lfw`'s message (the places looked
at), and every other test still runs. To check that on a machine that has LFW, hide it::

    FACELAB_LFW= FACELAB_NO_SHARED=1 python -m pytest tests/test_x.py -rs

(``$FACELAB_NO_SHARED`` makes ``locate_lfw`` skip ``../shared/datasets/lfw``; ``data/lfw`` in the
checkout must not exist either.) Tests never call ``LFW()`` themselves.
"""

from __future__ import annotations

import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def lfw():
    """The real LFW copy; skips (with where it was looked for) when there is none."""
    from facelab.datasets import LFW
    from facelab.errors import DatasetNotFoundError

    try:
        return LFW()
    except DatasetNotFoundError as exc:
        pytest.skip(f"needs LFW: {exc}")


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
