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
