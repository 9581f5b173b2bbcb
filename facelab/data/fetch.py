"""Downloading LFW (deep-funneled images and protocol files), with every byte verified.

On a machine with internet, ``facelab data fetch-lfw`` lays out LFW exactly as
:func:`facelab.data.datasets.locate_lfw` expects it (``<dest>/lfw-deepfunneled/<Name>/<Name>_NNNN.jpg``
plus the protocol ``.txt`` files). Downloads go through :mod:`pooch`, which verifies each file's
SHA-256 before it is kept. The protocol files use the checksums scikit-learn publishes for them;
the images are checked after download against a hash of the whole tree (every file's path and
SHA-256), computed from the reference copy described in ``PROVENANCE.txt``.

Two ways to get the images:

* ``archive`` -- one ``lfw-deepfunneled.tgz`` at ``archive_url``;
* ``files`` (default) -- file by file from a mirror laid out like the LFW site's repository
  (``<images_url>/<Name>/<Name>_NNNN.jpg``), enumerated from ``lfw-names.txt``.

Everything is fetched into a staging folder beside ``dest`` and moved into place only when it
all verifies, so an interrupted or tampered download leaves nothing half-made.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from facelab.core.atomic import staged_directory
from facelab.core.errors import FacelabError
from facelab.core.hashing import file_sha256
from facelab.data.datasets import LFW_IMAGES_DIR

__all__ = ["LfwSource", "DEFAULT_SOURCE", "FetchError", "fetch_lfw"]

_LFW_SITE = "https://raw.githubusercontent.com/umass-vis-lfw/umass-vis-lfw.github.io/2a620cd8cceb10430f8c7012fe9fa5f0837759e9"


class FetchError(FacelabError):
    """A download failed or did not verify."""


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    sha256: str


@dataclass(frozen=True)
class LfwSource:
    """Where LFW comes from and what it must hash to.

    Attributes
    ----------
    files : tuple of RemoteFile
        Protocol files, each with its SHA-256.
    images_url : str or None
        Base URL of per-file images (``<images_url>/<Name>/<Name>_NNNN.jpg``).
    archive_url : str or None
        URL of a ``.tgz`` holding ``lfw-deepfunneled/``; used instead of ``images_url`` if set.
    archive_sha256 : str or None
        The archive's SHA-256 when known (the tree hash is checked either way).
    tree_sha256 : str
        :func:`tree_sha256` of the complete ``lfw-deepfunneled/`` folder.
    n_images : int
        Expected number of image files.
    """

    files: tuple
    images_url: Optional[str] = None
    archive_url: Optional[str] = None
    archive_sha256: Optional[str] = None
    tree_sha256: str = ""
    n_images: int = 0
    workers: int = 16

    def with_base_url(self, base_url: str) -> LfwSource:
        """The same files and checksums, fetched from a mirror at ``base_url``."""
        base_url = base_url.rstrip("/")
        return LfwSource(
            files=tuple(RemoteFile(f.name, f"{base_url}/{f.name}", f.sha256) for f in self.files),
            images_url=f"{base_url}/images_deepfunneled",
            archive_url=None,
            tree_sha256=self.tree_sha256,
            n_images=self.n_images,
            workers=self.workers,
        )


_FIGSHARE = "https://ndownloader.figshare.com/files"
#: LFW deep-funneled as published (see the module docstring for how each checksum was obtained).
DEFAULT_SOURCE = LfwSource(
    files=(
        # The three pairs files: URLs and checksums as scikit-learn's LFW fetcher publishes them.
        RemoteFile("pairs.txt", f"{_FIGSHARE}/5976006", "ea42330c62c92989f9d7c03237ed5d591365e89b3e649747777b70e692dc1592"),
        RemoteFile("pairsDevTrain.txt", f"{_FIGSHARE}/5976012", "1d454dada7dfeca0e7eab6f65dc4e97a6312d44cf142207be28d688be92aabfa"),
        RemoteFile("pairsDevTest.txt", f"{_FIGSHARE}/5976009", "7cb06600ea8b2814ac26e946201cdb304296262aad67d046a16a7ec85d0ff87c"),
        RemoteFile("lfw-names.txt", f"{_LFW_SITE}/lfw-names.txt", "403cd39411ee297f99f69241959bd8f0496b44377711913a76ccdd8562874164"),
        RemoteFile("people.txt", f"{_LFW_SITE}/people.txt", "bc8fa2b7f25c895cf7efb6de4f4fc27ca8b8d1cfa63350ad8b96eae2b198d365"),
        RemoteFile("peopleDevTrain.txt", f"{_LFW_SITE}/peopleDevTrain.txt", "2e58df13ba4cc143189336e001cc2c195f1dfa5b29a6475c02857be353c2a2fa"),
        RemoteFile("peopleDevTest.txt", f"{_LFW_SITE}/peopleDevTest.txt", "c3ed1f90499473401542101a56c14c1d82396bb8218c67a356d7460601047555"),
    ),
    images_url=f"{_LFW_SITE}/images_deepfunneled",
    tree_sha256="a9393faec4329f347e58e76565d5b711e48ae96a4cdd4ff2b276959dcde3ecfa",
    n_images=13233,
)


def tree_sha256(folder: os.PathLike | str) -> tuple[str, int]:
    """SHA-256 over ``"<relative path> <file sha256>\\n"`` of every file under ``folder``, sorted.

    Returns
    -------
    (str, int)
        The hex digest and the number of files.
    """
    folder = Path(folder)
    h = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for p in files:
        h.update(f"{p.relative_to(folder).as_posix()} {file_sha256(p)}\n".encode())
    return h.hexdigest(), len(files)


def _retrieve(url: str, sha256: Optional[str], dest: Path, *, progress: bool = False) -> Path:
    import pooch

    try:
        return Path(
            pooch.retrieve(
                url,
                known_hash=f"sha256:{sha256}" if sha256 else None,
                fname=dest.name,
                path=dest.parent,
                progressbar=progress,
            )
        )
    except ValueError as exc:  # pooch raises ValueError on a checksum mismatch
        raise FetchError(f"{url}: checksum mismatch ({exc})") from None
    except Exception as exc:  # network errors come in many types (requests, urllib3, OSError)
        raise FetchError(f"{url}: download failed ({type(exc).__name__}: {exc})") from None


def _names_and_counts(names_file: Path) -> list[tuple[str, int]]:
    out = []
    for line in names_file.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            out.append((parts[0], int(parts[1])))
    return out


def _fetch_images_per_file(source: LfwSource, staging: Path, *, progress: bool) -> None:
    from tqdm.auto import tqdm

    names = _names_and_counts(staging / "lfw-names.txt")
    jobs = []
    for name, count in names:
        for k in range(1, count + 1):
            fname = f"{name}_{k:04d}.jpg"
            jobs.append((f"{source.images_url}/{name}/{fname}", staging / LFW_IMAGES_DIR / name / fname))
    for _, dest in jobs:
        dest.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=source.workers) as pool:
        futures = [pool.submit(_retrieve, url, None, dest) for url, dest in jobs]
        for fut in tqdm(futures, desc="LFW images", unit="img", disable=not progress):
            fut.result()


def _fetch_images_archive(source: LfwSource, staging: Path, *, progress: bool) -> None:
    archive = _retrieve(source.archive_url, source.archive_sha256, staging / "lfw-deepfunneled.tgz", progress=progress)
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(staging, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise FetchError(f"{source.archive_url}: not a readable .tgz archive ({exc})") from None
    finally:
        archive.unlink(missing_ok=True)
    if not (staging / LFW_IMAGES_DIR).is_dir():
        raise FetchError(f"{source.archive_url}: archive has no '{LFW_IMAGES_DIR}/' folder")


def fetch_lfw(
    dest: os.PathLike | str,
    *,
    source: LfwSource = DEFAULT_SOURCE,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Download LFW into ``dest`` and verify every file.

    Parameters
    ----------
    dest : path-like
        The LFW root to create (``data/lfw`` by default in the CLI).
    source : LfwSource
        URLs and checksums; :data:`DEFAULT_SOURCE` is LFW as published.
    progress : bool
        Show progress bars.
    overwrite : bool
        Replace an existing ``dest``.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    FetchError
        A download failed or a checksum did not match; nothing is left at ``dest``.
    """
    dest = Path(dest)
    if (dest / LFW_IMAGES_DIR).is_dir() and not overwrite:
        raise FetchError(f"{dest} already holds LFW; pass --overwrite to download it again")
    with staged_directory(dest) as staging:
        for f in source.files:
            _retrieve(f.url, f.sha256, staging / f.name, progress=False)
        if source.archive_url:
            _fetch_images_archive(source, staging, progress=progress)
        elif source.images_url:
            _fetch_images_per_file(source, staging, progress=progress)
        else:
            raise FetchError("the LFW source names no images (archive_url or images_url)")
        digest, n = tree_sha256(staging / LFW_IMAGES_DIR)
        if source.n_images and n != source.n_images:
            raise FetchError(f"expected {source.n_images} images, got {n}")
        if source.tree_sha256 and digest != source.tree_sha256:
            raise FetchError(f"images do not match the published LFW (tree sha256 {digest} != {source.tree_sha256})")
    return dest
