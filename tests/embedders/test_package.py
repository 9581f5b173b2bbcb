"""facelab.embedders: create_embedder by name, and a package that imports without torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from facelab.core.errors import UnknownNameError
from facelab.embedders import create_embedder
from facelab.embedders.dlib import DlibEmbedder


def test_create_embedder_names():
    assert isinstance(create_embedder(), DlibEmbedder)
    with pytest.raises(UnknownNameError, match=r"unknown model 'facenet9000'; choose from dlib, edgeface_xs"):
        create_embedder("facenet9000")
    with pytest.raises(ValueError, match="own weights"):
        create_embedder("dlib", weights="x.pth")
    with pytest.raises(ValueError, match="own weights"):
        create_embedder("model.onnx", weights="x.pth")


def test_embedders_are_discovered_without_importing_torch():
    # The registry imports the embedder modules, not the networks: naming the embedders, and
    # building dlib's (what the pool's workers do), never pulls in torch or timm.
    code = (
        "import sys\n"
        "import facelab.embedders.base\n"
        "assert 'torch' not in sys.modules\n"
        "from facelab.embedders.base import EMBEDDERS\n"
        "names = EMBEDDERS.names()\n"
        "assert names[:3] == ['dlib', 'edgeface_xs', 'edgeface_xxs'], names\n"
        "from facelab.embedders import create_embedder\n"
        "create_embedder('dlib', engine='dlib')\n"
        "assert 'torch' not in sys.modules and 'timm' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
