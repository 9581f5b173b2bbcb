"""Known pretrained weights: what they are, where their files are, and that they are intact.

:data:`KNOWN_WEIGHTS` lists every pretrained model facelab can load by name, with the SHA-256
and size of its file, its upstream URLs, its licence and its input format. A weight file is looked
up (:func:`weight_search_paths`, :func:`locate_weights`) in this order:

1. an explicit path (``weights=PATH``, the CLI's ``--weights``);
2. the folder ``$FACELAB_WEIGHTS``;
3. ``../shared/weights`` beside the checkout (and beside the current directory);
4. ``weights/`` in the checkout (and in the current directory).

A file is checked against its SHA-256 (:func:`verify_weights`, hashed once per process for a
given path, size and modification time) before anything loads it. :func:`fetch_weights` downloads
a file with :mod:`pooch` on a machine with internet, verified, and moves it into place atomically.

>>> from facelab.models.weights import get_weights_info, locate_weights
>>> get_weights_info("edgeface_xs").licence  # doctest: +ELLIPSIS
'research and teaching use only...'
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from facelab.core.errors import CheckpointError, FacelabError

__all__ = [
    "CompanionFile",
    "PretrainedWeights",
    "KNOWN_WEIGHTS",
    "WeightsNotFoundError",
    "WeightsFetchError",
    "get_weights_info",
    "weight_search_paths",
    "locate_weights",
    "available_models",
    "find_weights",
    "verify_weights",
    "cached_sha256",
    "fetch_weights",
    "fetch_command",
    "default_detector",
]

#: Environment variable naming a folder of weight files.
WEIGHTS_ENV_VAR = "FACELAB_WEIGHTS"

_EDGEFACE_LICENCE = (
    "research and teaching use only: weights CC BY-NC-SA 4.0 (authors' model cards), trained on "
    "WebFace260M (non-commercial research only); code BSD-3-Clause (Idiap Research Institute)"
)
_EDGEFACE_INPUT = (
    "112x112 RGB face aligned on the 5-point ArcFace template (facelab preset arcface112), "
    "scaled to [-1, 1] (mean 0.5, std 0.5), NCHW; output 512-d, not normalised (compare by cosine)"
)
_EDGEFACE_PAPER = (
    "George, Ecabert, Otroshi Shahreza, Kotwal, Marcel: EdgeFace: Efficient Face Recognition Model "
    "for Edge Devices, IEEE T-BIOM 2024"
)
_YUNET_REPO = "https://github.com/ShiqiYu/libfacedetection.train/raw/0047ac24afb1a50a0c6105001c89d1b5b805dbf1"
_YUNET_LICENCE = (
    "Apache-2.0 (libfacedetection.train's LICENSE, fetched beside the file as LICENSE-yunet.txt); "
    "trained on WIDER FACE (non-commercial research terms)"
)
_YUNET_INPUT = (
    "[1, 3, H, W] float32 BGR 0-255, H and W padded to a multiple of 32; outputs cls/obj/bbox/kps "
    "at strides 8, 16, 32 (decoded as cv2.FaceDetectorYN does: score = sqrt(cls * obj), then NMS)"
)
_YUNET_PAPER = "Wu, Peng, Yu: YuNet: A Tiny Millisecond-level Face Detector, Machine Intelligence Research 2023"
_MIRROR = "https://github.com/yayoimizuha/face_recognition_train/raw/3e631e35bf207a09aa2af79239961cfb14248c0a/checkpoints"
_IDIAP = "https://gitlab.idiap.ch/bob/bob.paper.tbiom2023_edgeface/-/raw/master/checkpoints"


@dataclass(frozen=True)
class CompanionFile:
    """A file published with a model's weights (e.g. its licence text): name, SHA-256, size, URLs."""

    filename: str
    sha256: str
    size: int
    urls: tuple


@dataclass(frozen=True)
class PretrainedWeights:
    """One known pretrained model and its weight file.

    Attributes
    ----------
    name : str
        facelab's name for it (``--model NAME`` for an embedder, a detector's ``model``).
    title : str
        Human-readable name.
    architecture : str
        The network it is loaded into (a timm model name for EdgeFace).
    filename : str
        The file's name (as published).
    sha256 : str
        Hex SHA-256 of the published file.
    size : int
        Its size in bytes.
    urls : tuple of str
        Where it can be downloaded, tried in order: the authors' repository first, then a pinned
        mirror commit.
    licence : str
        Terms of use, as one line (shown wherever facelab offers the model).
    input_spec : str
        What the network expects.
    embedding_size : int
        Embedders: the vector's length (0 for detectors).
    alignment : str
        Embedders: the facelab alignment preset producing that input.
    detector : str
        Embedders: the detector its pipeline uses by default (chosen on all 6,000 LFW pairs: the
        fastest within 0.15 points of the best; :func:`default_detector`).
    fallback_detector : str
        Embedders: the default when ``detector``'s own weights are not found (YuNet's file is not
        installed by ``pip``): one that needs no weight file of its own.
    published_lfw : str
        What the authors publish on LFW for this model (or the closest published figure).
    measured_lfw : str
        What it scored on facelab's LFW copy, and how.
    reference : str
        The paper.
    kind : {"embedder", "detector"}
        What the network is: an embedder (``--model NAME``) or a face detector (``--detector``).
    companions : tuple of CompanionFile
        Files that travel with the weights (the licence text where the licence asks for it):
        fetched, verified and placed beside the weight file.
    """

    name: str
    title: str
    architecture: str
    filename: str
    sha256: str
    size: int
    urls: tuple
    licence: str
    input_spec: str
    published_lfw: str
    measured_lfw: str
    reference: str
    kind: str = "embedder"
    embedding_size: int = 0
    alignment: str = ""
    detector: str = ""
    fallback_detector: str = ""
    companions: tuple = ()

    @property
    def files(self) -> tuple:
        """The weight file and its companions, as :class:`CompanionFile` entries (the weight file first)."""
        return (CompanionFile(self.filename, self.sha256, self.size, self.urls), *self.companions)

    def to_dict(self) -> dict:
        from dataclasses import asdict

        d = asdict(self)
        d["urls"] = list(self.urls)
        d["companions"] = [c.filename for c in self.companions]
        return d


#: The licence text that travels with the YuNet files (the repository's LICENSE at the pinned commit).
_YUNET_LICENCE_FILE = CompanionFile(
    "LICENSE-yunet.txt", "d096f0e4f790316e1df89675682a51c68ca64745a611689ccd37bd246835440e", 11494,
    (f"{_YUNET_REPO}/LICENSE",),
)

#: Every pretrained model facelab loads by name (SHA-256 and sizes: ../shared/weights/PROVENANCE.txt).
KNOWN_WEIGHTS: dict[str, PretrainedWeights] = {
    w.name: w
    for w in (
        PretrainedWeights(
            name="edgeface_xs",
            title="EdgeFace-XS (8-bit release, dequantised to float32)",
            architecture="edgenext_x_small",
            filename="edgeface_xs_q.pt",
            sha256="a31314377876ab9fa2a75e5638bc528efe79fd17d5c9c0a228fb7f846d7581a6",
            size=2993451,
            urls=(f"{_IDIAP}/edgeface_xs_q.pt", f"{_MIRROR}/edgeface_xs_q.pt"),
            licence=_EDGEFACE_LICENCE,
            input_spec=_EDGEFACE_INPUT,
            embedding_size=512,
            alignment="arcface112",
            detector="yunet",
            fallback_detector="mtcnn",
            published_lfw="none for the 8-bit file; the authors' table gives 99.73 +- 0.35 for "
            "edgeface_xs_gamma_06 (low-rank XS, float)",
            measured_lfw="99.60 +- 0.23 (pairs.txt, 10 folds, MTCNN box + arcface112, one descriptor; PROVENANCE.txt)",
            reference=_EDGEFACE_PAPER,
        ),
        PretrainedWeights(
            name="edgeface_xxs",
            title="EdgeFace-XXS (8-bit release, dequantised to float32)",
            architecture="edgenext_xx_small",
            filename="edgeface_xxs_q.pt",
            sha256="46be7cc7e8d6e23501c0627fe5fbef101922ee9b85ccbef476987ab1a320b053",
            size=1734661,
            urls=(f"{_IDIAP}/edgeface_xxs_q.pt", f"{_MIRROR}/edgeface_xxs_q.pt"),
            licence=_EDGEFACE_LICENCE,
            input_spec=_EDGEFACE_INPUT,
            embedding_size=512,
            alignment="arcface112",
            detector="yunet",
            fallback_detector="mtcnn",
            published_lfw="none for the 8-bit file; the authors' table gives 99.57 +- 0.33 for edgeface_xxs (float)",
            measured_lfw="99.48 +- 0.29 (pairs.txt, 10 folds, MTCNN box + arcface112, one descriptor; PROVENANCE.txt)",
            reference=_EDGEFACE_PAPER,
        ),
        PretrainedWeights(
            name="yunet_n",
            title="YuNet-n face detector (libfacedetection, any input size; --detector yunet)",
            architecture="yunet_n (75,856 parameters)",
            filename="yunet_n_dynamic.onnx",
            sha256="104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12",
            size=322906,
            urls=(f"{_YUNET_REPO}/onnx/yunet_n_dynamic.onnx",),
            licence=_YUNET_LICENCE,
            input_spec=_YUNET_INPUT,
            published_lfw="WIDER FACE val AP 0.892 / 0.883 / 0.811 (easy / medium / hard; the authors' README)",
            measured_lfw="EdgeFace-XS on its five points: 99.50 +- 0.29 (pairs.txt, 10 folds, score >= 0.6; "
            "PROVENANCE.txt)",
            reference=_YUNET_PAPER,
            kind="detector",
            companions=(_YUNET_LICENCE_FILE,),
        ),
    )
}


class WeightsNotFoundError(FacelabError):
    """A known model's weight file is in none of the places looked (the message lists them)."""


class WeightsFetchError(FacelabError):
    """Downloading a weight file failed or the download did not verify."""


def list_weights() -> list[str]:
    """Names of the known pretrained models."""
    return list(KNOWN_WEIGHTS)


def get_weights_info(name: str) -> PretrainedWeights:
    """The :class:`PretrainedWeights` entry of a model name (case-insensitive)."""
    key = str(name).lower()
    if key not in KNOWN_WEIGHTS:
        raise ValueError(f"no known pretrained weights {name!r}; known: {', '.join(KNOWN_WEIGHTS)}")
    return KNOWN_WEIGHTS[key]


#: The detector of every other model's pipeline (dlib's ResNet, registry and ONNX models), and the one
#: used when YuNet's file is not found: on LFW (all 6,000 pairs, flip, central face) dlib's ResNet gave
#: 99.20% with YuNet's five points on dlib's chip, 99.05% with MTCNN and 98.70% with HOG, in a
#: fifth of HOG's detection time.
DEFAULT_DETECTOR, FALLBACK_DETECTOR = "yunet", "dlib"


def default_detector(model, *, verbose: bool = True) -> str:
    """The detector a model's pipeline uses by default.

    The table's (:attr:`PretrainedWeights.detector`) for a known pretrained model,
    :data:`DEFAULT_DETECTOR` for any other: YuNet, chosen on LFW for every model as the fastest
    detector within 0.15 points of the most accurate (see the README). Where YuNet's weights are
    not found (``pip`` does not install them), the model's fallback -- MTCNN for EdgeFace, dlib's
    HOG otherwise, neither needing a file of its own -- with a note on stderr (``verbose``).
    """
    import sys

    w = KNOWN_WEIGHTS.get(str(model).lower())
    preferred, fallback = ((w.detector, w.fallback_detector) if w is not None and w.kind == "embedder"
                           else (DEFAULT_DETECTOR, FALLBACK_DETECTOR))
    if preferred in ("yunet",) and fallback:
        try:
            locate_weights("yunet_n")
        except (FacelabError, ValueError):
            if verbose:
                print(f"note: {model}'s default detector YuNet is not installed ({fetch_command('yunet_n')} on a "
                      f"machine with internet); using {fallback}", file=sys.stderr)
            return fallback
    return preferred


def available_models(models, *, verbose: bool = True) -> list:
    """The models of ``models`` that can run here: those with known pretrained weights only when
    their file is found (and its SHA-256 checks out); the others (dlib, registry names) as given.

    A skipped model is announced with the reason (``verbose``), so a notebook still runs, and says
    why it shows one model, where the EdgeFace weights are absent.
    """
    out = []
    for m in models:
        if str(m).lower() in KNOWN_WEIGHTS:
            try:
                locate_weights(str(m))
            except (FacelabError, ValueError) as exc:
                if verbose:
                    print(f"note: skipping {m}: {str(exc).splitlines()[0]} ({fetch_command(str(m))} on a machine "
                          "with internet)")
                continue
        out.append(m)
    return out


def fetch_command(name: str) -> str:
    return f"facelab weights fetch {name}"


def weight_search_paths(name: str, weights=None) -> list[tuple[str, Path]]:
    """Where a model's weight file is looked for, in order, as ``(what, path)`` pairs.

    An explicit ``weights`` path, then ``$FACELAB_WEIGHTS/<file>``, then
    ``../shared/weights/<file>`` beside the checkout (and beside the current directory; not with
    ``$FACELAB_NO_SHARED`` set, as for LFW), then ``weights/<file>`` in the checkout (and in the
    current directory).
    """
    from facelab.data.datasets import NO_SHARED_ENV_VAR, checkout_bases, unique_places

    info = get_weights_info(name)
    places: list[tuple[str, Path]] = []
    if weights is not None:
        p = Path(weights).expanduser()
        places.append(("given path", p / info.filename if p.is_dir() else p))
    env = os.environ.get(WEIGHTS_ENV_VAR)
    if env:
        places.append((f"${WEIGHTS_ENV_VAR}", Path(env).expanduser() / info.filename))
    if os.environ.get(NO_SHARED_ENV_VAR, "") in ("", "0"):  # hidden as LFW's shared copy is (tests without weights)
        for base in checkout_bases():
            places.append(("shared weights", (base / ".." / "shared" / "weights" / info.filename).resolve()))
    for base in checkout_bases():
        places.append(("weights/", (base / "weights" / info.filename).resolve()))
    return unique_places(places)


def find_weights(name: str, weights=None) -> Optional[Path]:
    """The first existing weight file of :func:`weight_search_paths`, or None (nothing is verified)."""
    places = weight_search_paths(name, weights)
    if weights is not None:
        places = places[:1]  # a path the user named is never silently passed over
    for _, p in places:
        if p.is_file():
            return p
    return None


def locate_weights(name: str, weights=None, *, verify: bool = True) -> Path:
    """Find a known model's weight file and (by default) check its SHA-256.

    Parameters
    ----------
    name : str
        A :data:`KNOWN_WEIGHTS` name.
    weights : path-like, optional
        An explicit file (or a folder holding the published file name). When given, only it is
        looked at.
    verify : bool
        Check size and SHA-256 against the table (:func:`verify_weights`).

    Raises
    ------
    WeightsNotFoundError
        Listing every place looked and the fetch command.
    CheckpointError
        The file found is not the published one.
    """
    info = get_weights_info(name)
    found = find_weights(name, weights)
    if found is None:
        places = weight_search_paths(name, weights)
        if weights is not None:
            places = places[:1]
        listed = "\n".join(f"  {what}: {p}" for what, p in places)
        if weights is None and not os.environ.get(WEIGHTS_ENV_VAR):
            listed += f"\n  ${WEIGHTS_ENV_VAR}: not set"
        raise WeightsNotFoundError(
            f"weights for {name} ({info.filename}) not found. Looked in:\n{listed}\n"
            f"Fetch them on a machine with internet with `{fetch_command(name)}` "
            f"(into weights/, or --dest DIR and set ${WEIGHTS_ENV_VAR}=DIR), or pass --weights PATH. "
            f"Licence: {info.licence}."
        )
    if verify:
        verify_weights(name, found)
    return found


# ------------------------------------------------------------------------------------------
# Verification
# ------------------------------------------------------------------------------------------

_HASHES: dict[tuple, str] = {}
_HASH_LOCK = threading.Lock()


def cached_sha256(path) -> str:
    """SHA-256 of a file, computed once per process for a given (path, size, mtime)."""
    from facelab.core.hashing import file_sha256

    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    with _HASH_LOCK:
        if key not in _HASHES:
            _HASHES[key] = file_sha256(p)
        return _HASHES[key]


def identify_weights_file(path) -> Optional[PretrainedWeights]:
    """The known entry whose SHA-256 a file has, or None."""
    digest = cached_sha256(path)
    return next((w for w in KNOWN_WEIGHTS.values() if w.sha256 == digest), None)


def verify_weights(name: str, path) -> str:
    """Check that ``path`` is byte for byte the published file of ``name``; return its SHA-256.

    Raises
    ------
    CheckpointError
        Missing file, wrong size (a truncated or partial download) or wrong SHA-256 -- naming the
        model the file belongs to when it is another known one.
    """
    info = get_weights_info(name)
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"weights file not found: {p}")
    size = p.stat().st_size
    digest = cached_sha256(p)
    if digest == info.sha256:
        return digest
    other = next((w for w in KNOWN_WEIGHTS.values() if w.sha256 == digest), None)
    if other is not None:
        why = f"it is {other.filename} ({other.name}, {other.architecture}), not {info.filename} ({info.architecture})"
    elif size < info.size:
        why = f"{size} bytes instead of {info.size}: truncated or an incomplete download"
    elif size != info.size:
        why = f"{size} bytes instead of {info.size}: not the published file"
    else:
        why = "right size, different content: corrupted or modified"
    raise CheckpointError(
        f"{p}: SHA-256 {digest[:16]}... does not match the published {info.filename} "
        f"({info.sha256[:16]}...): {why}. Fetch it again with `{fetch_command(info.name)}`."
    )


# ------------------------------------------------------------------------------------------
# Download
# ------------------------------------------------------------------------------------------


def _default_dest() -> Path:
    env = os.environ.get(WEIGHTS_ENV_VAR)
    if env:
        return Path(env).expanduser()
    from facelab.data.datasets import repo_root

    return repo_root() / "weights"


def _fetch_one(file: CompanionFile, folder: Path, urls, progress: bool) -> Path:
    """Download one file into ``folder`` from the first of ``urls`` that verifies; atomic."""
    import shutil

    import pooch

    errors = []
    for url in urls:
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=f".{file.filename}.partial-"))
        try:
            got = pooch.retrieve(url, known_hash=f"sha256:{file.sha256}", fname=file.filename,
                                 path=staging, progressbar=progress)
            target = folder / file.filename
            os.replace(got, target)
            return target
        except ValueError as exc:  # pooch's checksum mismatch
            errors.append(f"{url}: checksum mismatch ({str(exc).splitlines()[0][:200]})")
        except Exception as exc:  # network errors come in many types
            errors.append(f"{url}: download failed ({type(exc).__name__}: {str(exc)[:200]})")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    raise WeightsFetchError(f"could not fetch {file.filename}:\n  " + "\n  ".join(errors))


def fetch_weights(name: str, dest=None, *, urls=None, overwrite: bool = False, progress: bool = False) -> Path:
    """Download a known model's weight file, verified against its SHA-256, atomically.

    Its companion files (the licence text where the licence asks for it to travel with the
    weights, e.g. ``LICENSE-yunet.txt``) are fetched and verified first, into the same folder, so
    a weight file is never there without them.

    Parameters
    ----------
    name : str
        A :data:`KNOWN_WEIGHTS` name.
    dest : path-like, optional
        Folder to put the file in (default ``$FACELAB_WEIGHTS``, else ``weights/`` in the checkout).
    urls : sequence of str, optional
        Override the table's URLs of the weight file (tried in order until one verifies).
    overwrite : bool
        Replace a file already there. Without it a verified file is kept and returned, and a file
        that does not verify is an error.
    progress : bool

    Returns
    -------
    pathlib.Path
        The verified file.

    Raises
    ------
    WeightsFetchError
        Every URL failed (each one's reason is listed); nothing is left behind.
    """
    info = get_weights_info(name)
    folder = Path(dest).expanduser() if dest is not None else _default_dest()
    target = folder / info.filename
    if target.exists() and not overwrite:
        try:
            verify_weights(name, target)
        except CheckpointError as exc:
            raise WeightsFetchError(f"{exc} (pass overwrite to replace it)") from None
    folder.mkdir(parents=True, exist_ok=True)
    for comp in info.companions:
        there = folder / comp.filename
        if overwrite or not there.is_file() or cached_sha256(there) != comp.sha256:
            try:
                _fetch_one(comp, folder, comp.urls, progress)
            except WeightsFetchError as exc:
                raise WeightsFetchError(f"{name}: {exc}") from None
    if target.exists() and not overwrite:
        return target
    main = info.files[0]
    try:
        return _fetch_one(main, folder, urls if urls is not None else main.urls, progress)
    except WeightsFetchError as exc:
        raise WeightsFetchError(f"could not fetch {info.filename} for {name}:{str(exc).split(':', 1)[1]}") from None
