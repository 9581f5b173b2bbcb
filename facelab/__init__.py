"""facelab: a face-recognition research workbench.

The front door
--------------
The names most work starts from, importable from ``facelab`` itself; each is imported on first use
(PEP 562), so ``import facelab`` costs nothing beyond the standard library, and a move inside the
package never reaches code that imports from here. Figures (the ``...Display`` classes) come from
:mod:`facelab.plotting` in the same way.

>>> import facelab
>>> res = facelab.embed_folder("data/two_id", model="edgeface_xs")          # doctest: +SKIP
>>> facelab.create_detector(facelab.default_detector("dlib")).detect(image)  # doctest: +SKIP

=============================  ==============================================================
name                           what
=============================  ==============================================================
``embed_folder``               a folder-per-identity set -> ``EmbeddingResult`` (the engine)
``embed_images``               an image table -> ``EmbeddingResult``; ``EmbedSettings``
``embed_models``               one set, several models, each with its own default detector
``create_detector``            a face detector by name (``"dlib"``, ``"mtcnn"``, ``"yunet"``)
``create_embedder``            an embedder by name (``"dlib"``, ``"edgeface_xs"``, ...)
``default_detector``           a model's default detector; ``available_models``
``compare_detectors``          several detectors on the same photos: results, per-photo times,
                               landmark agreement
``evaluate_verification``      1:1 scores -> ``VerificationReport``
``evaluate_identification``    1:N gallery / probes -> ``IdentificationResult``
``explore``                    the interactive embedding explorer (Bokeh)
``build_report``               the evaluation report folder
``LFW``, ``lfw_or_none``       LFW, or None with the reason printed (sections that need it)
``read_identity_folders``      a folder-per-identity set; ``ensure_two_id`` (the default set)
=============================  ==============================================================

The map of the package
----------------------
Layers, lowest first; a module imports only from its own layer and those below it
(``DEVELOPING.md`` says how that is checked):

- :mod:`facelab.core`           -- errors, atomic writes, hashing, registries, devices, vectors, calibration
- :mod:`facelab.data`           -- image files, LFW and folder-per-identity sets, the two-ID and teaching sets
- :mod:`facelab.models`         -- networks (IR-ResNet, dlib's ResNet, EdgeFace), checkpoints, the weights table
- :mod:`facelab.stages`         -- per photo: typed faces, detectors, alignment presets, ``prepare_image``
- :mod:`facelab.embedders`      -- chips -> unit vectors, one module per embedder; embedding files
- :mod:`facelab.engine`         -- running a set of images: one driver, its cache and executor seams
- :mod:`facelab.verification`   -- 1:1 metrics: pairs, ROC/DET/EER/TAR@FAR, thresholds, LFW protocol
- :mod:`facelab.identification` -- 1:N: gallery/probe splits, rank-1/CMC, open set, distractors, FAISS
- :mod:`facelab.analysis`       -- experiments and comparisons, computing only (models, detectors, projections)
- :mod:`facelab.plotting`       -- every figure, scikit-learn Display style, and the Bokeh explorer
- :mod:`facelab.report`         -- the evaluation report: compute, figures, files, page
- :mod:`facelab.course`         -- the notebook series executed and rendered; reference solutions
- :mod:`facelab.commands`       -- one CLI subcommand per module (``facelab.cli`` dispatches)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: The front door: name -> the module that defines it (imported on first use).
_HOMES = {
    "embed_folder": "facelab.engine.pipeline",
    "embed_images": "facelab.engine.pipeline",
    "EmbedSettings": "facelab.engine.settings",
    "embed_models": "facelab.analysis.models",
    "create_detector": "facelab.stages.detection",
    "create_embedder": "facelab.embedders",
    "default_detector": "facelab.models.weights",
    "available_models": "facelab.models.weights",
    "compare_detectors": "facelab.analysis.detectors",
    "evaluate_verification": "facelab.verification.evaluate",
    "evaluate_identification": "facelab.identification.evaluate",
    "explore": "facelab.plotting.explorer",
    "build_report": "facelab.report.build",
    "LFW": "facelab.data.datasets",
    "lfw_or_none": "facelab.data.datasets",
    "read_identity_folders": "facelab.data.datasets",
    "ensure_two_id": "facelab.data.datasets",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
