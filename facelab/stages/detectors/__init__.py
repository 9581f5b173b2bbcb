"""Detectors beyond the built-in ones of :mod:`facelab.stages.detection`, one module each.

Each module registers its detector(s) with ``@register_detector`` (from
:mod:`facelab.stages.detection`); :func:`discover` imports them all the first time the detector
registry is asked for a name it does not hold or for its list, so a new detector is one file
here and nothing else. ``yunet``: libfacedetection's YuNet (``--detector yunet``).
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["discover"]


def discover() -> None:
    """Import every module of this package, so that their registration decorators run."""
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
