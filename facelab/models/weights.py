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
_MIRROR = "https://github.com/yayoimizuha/face_recognition_train/raw/3e631e35bf207a09aa2af79239961cfb14248c0a/checkpoints"
_IDIAP = "https://gitlab.idiap.ch/bob/bob.paper.tbiom2023_edgeface/-/raw/master/checkpoints"


@dataclass(frozen=True)
class PretrainedWeights:
    """One known pretrained model and its weight file.

    Attributes
    ----------
    name : str
        facelab's model name (``--model NAME``).
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
    alignment : str
        facelab alignment preset producing that input.
    detector : str
        The detector its pipeline uses by default (its boxes and five points were measured with it).
    published_lfw : str
        What the authors publish on LFW for this model (or the closest published figure).
    measured_lfw : str
        What it scored on facelab's LFW copy, and how.
    reference : str
        The paper.
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
    embedding_size: int
    alignment: str
    detector: str
    published_lfw: str
    measured_lfw: str
    reference: str

    def to_dict(self) -> dict:
        from dataclasses import asdict

        d = asdict(self)
        d["urls"] = list(self.urls)
        return d


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
            detector="mtcnn",
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
            detector="mtcnn",
            published_lfw="none for the 8-bit file; the authors' table gives 99.57 +- 0.33 for edgeface_xxs (float)",
            measured_lfw="99.48 +- 0.29 (pairs.txt, 10 folds, MTCNN box + arcface112, one descriptor; PROVENANCE.txt)",
            reference=_EDGEFACE_PAPER,
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


def default_detector(model) -> str:
    """The detector a model's pipeline uses by default: the table's for known pretrained models, else dlib."""
    w = KNOWN_WEIGHTS.get(str(model).lower())
    return w.detector if w is not None else "dlib"


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
    ``../shared/weights/<file>`` beside the checkout (and beside the current directory), then
    ``weights/<file>`` in the checkout (and in the current directory).
    """
    from facelab.data.datasets import checkout_bases, unique_places

    info = get_weights_info(name)
    places: list[tuple[str, Path]] = []
    if weights is not None:
        p = Path(weights).expanduser()
        places.append(("given path", p / info.filename if p.is_dir() else p))
    env = os.environ.get(WEIGHTS_ENV_VAR)
    if env:
        places.append((f"${WEIGHTS_ENV_VAR}", Path(env).expanduser() / info.filename))
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


def fetch_weights(name: str, dest=None, *, urls=None, overwrite: bool = False, progress: bool = False) -> Path:
    """Download a known model's weight file, verified against its SHA-256, atomically.

    Parameters
    ----------
    name : str
        A :data:`KNOWN_WEIGHTS` name.
    dest : path-like, optional
        Folder to put the file in (default ``$FACELAB_WEIGHTS``, else ``weights/`` in the checkout).
    urls : sequence of str, optional
        Override the table's URLs (tried in order until one verifies).
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
    import pooch

    info = get_weights_info(name)
    folder = Path(dest).expanduser() if dest is not None else _default_dest()
    target = folder / info.filename
    if target.exists() and not overwrite:
        try:
            verify_weights(name, target)
            return target
        except CheckpointError as exc:
            raise WeightsFetchError(f"{exc} (pass overwrite to replace it)") from None
    folder.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls if urls is not None else info.urls:
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=f".{info.filename}.partial-"))
        try:
            got = pooch.retrieve(url, known_hash=f"sha256:{info.sha256}", fname=info.filename,
                                 path=staging, progressbar=progress)
            os.replace(got, target)
            return target
        except ValueError as exc:  # pooch's checksum mismatch
            errors.append(f"{url}: checksum mismatch ({str(exc).splitlines()[0][:200]})")
        except Exception as exc:  # network errors come in many types
            errors.append(f"{url}: download failed ({type(exc).__name__}: {str(exc)[:200]})")
        finally:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
    raise WeightsFetchError(f"could not fetch {info.filename} for {name}:\n  " + "\n  ".join(errors))
