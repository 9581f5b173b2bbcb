"""The front door: ``import facelab`` costs only the standard library, and each name it lists is the
object of the module that defines it, imported on first use."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import facelab


def test_import_facelab_imports_only_the_standard_library():
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import facelab\n"
        "new = sorted({m.split('.')[0] for m in set(sys.modules) - before} - {'facelab'})\n"
        "print(','.join(new))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.strip()
    new = [m for m in out.split(",") if m]
    outside = [m for m in new if m not in sys.stdlib_module_names and not m.startswith("_")]
    assert not outside, f"import facelab imported {outside}"
    for heavy in ("torch", "numpy", "pandas", "matplotlib", "sklearn", "dlib"):
        assert heavy not in new


def test_every_front_door_name_resolves_to_its_home():
    assert facelab.__all__ == sorted(facelab.__all__) and len(set(facelab.__all__)) == len(facelab.__all__)
    for name in facelab.__all__:
        home = importlib.import_module(facelab._HOMES[name])
        assert getattr(facelab, name) is getattr(home, name), name
    listed = dir(facelab)
    assert set(facelab.__all__) <= set(listed)
    for name in ("embed_folder", "embed_images", "create_detector", "create_embedder", "evaluate_verification",
                 "evaluate_identification", "explore", "build_report", "lfw_or_none", "embed_models",
                 "compare_detectors", "default_detector"):
        assert name in facelab.__all__


def test_unknown_names_and_submodules():
    with pytest.raises(AttributeError, match="no attribute 'embed_everything'"):
        facelab.embed_everything  # noqa: B018
    # A submodule is still a submodule (the lazy names do not shadow the packages).
    from facelab import verification

    assert verification.__name__ == "facelab.verification"
    from facelab import embed_folder
    from facelab.engine.pipeline import embed_folder as home

    assert embed_folder is home
