"""The package's short public surface: each name is its submodule's object."""

from __future__ import annotations

import importlib

import facelab.verification as V

SUBMODULES = ("pairs", "curves", "thresholds", "bootstrap", "streaming", "lfw", "evaluate")


def test_surface_names_come_from_their_submodules():
    homes = {}
    for m in SUBMODULES:
        mod = importlib.import_module(f"facelab.verification.{m}")
        for name in mod.__all__:
            assert name not in homes, f"{name} in {homes.get(name)} and {m}"
            homes[name] = mod
    assert set(V.__all__) <= set(homes)
    for name in V.__all__:
        assert getattr(V, name) is getattr(homes[name], name)
    # Building blocks other modules use stay in their modules' __all__, off the surface.
    for name in ("far_key", "identity_resample", "LfwScores", "RocResult"):
        assert name in homes and name not in V.__all__
    # Helpers only their own module calls are in no __all__ (still importable, e.g. by tests).
    for m, name in (("pairs", "impostor_pairs"), ("streaming", "score_histograms")):
        mod = importlib.import_module(f"facelab.verification.{m}")
        assert callable(getattr(mod, name)) and name not in homes
