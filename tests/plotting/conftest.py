"""Fixtures shared by the plotting tests."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import pytest


@pytest.fixture
def outdir(tmp_path):
    """Where a test saves its PNGs: ``$FACELAB_PLOT_DIR`` (to keep them for a look) or a tmp dir."""
    d = Path(os.environ.get("FACELAB_PLOT_DIR", tmp_path))
    d.mkdir(parents=True, exist_ok=True)
    yield d
    plt.close("all")
