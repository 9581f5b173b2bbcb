"""facelab.plotting: every Display importable from the package, which itself imports no drawing library."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import facelab.plotting as P


def test_importing_the_package_imports_no_drawing_library():
    code = ("import sys\nimport facelab.plotting\n"
            "assert not {'matplotlib', 'bokeh', 'numpy'} & {m.split('.')[0] for m in sys.modules}, sorted(sys.modules)\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_display_is_on_the_package_and_is_its_modules_object():
    displays = {}
    for mod in pkgutil.iter_modules(P.__path__):
        module = importlib.import_module(f"facelab.plotting.{mod.name}")
        for name in getattr(module, "__all__", []):
            if name.endswith("Display"):
                displays[name] = module
    assert set(displays) <= set(P.__all__), sorted(set(displays) - set(P.__all__))
    for name in P.__all__:
        home = importlib.import_module(f"facelab.plotting.{P._HOMES[name]}")
        assert getattr(P, name) is getattr(home, name)
    assert set(P.__all__) <= set(dir(P))
