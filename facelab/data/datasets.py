"""Finding, fetching and reading face datasets.

Two layouts are supported:

* **LFW** (Labeled Faces in the Wild, deep-funneled): ``<root>/lfw-deepfunneled/<Name>/<Name>_NNNN.jpg``
  with the protocol files ``pairs.txt`` (10 folds x 300 matched + 300 mismatched pairs),
  ``pairsDevTrain.txt``, ``pairsDevTest.txt`` and ``people*.txt`` beside it.
* **Folder per identity** (the reference system's seed layout ``data/1``, ``data/2``, ...): every
  sub-folder of the root is one identity; images are found by content, hidden files are ignored,
  and any other file is reported as skipped with a reason.
* **A flat folder of photos** (a photo collection, no names): :func:`read_photo_folder`; the
  identities are empty. :func:`read_folder` takes either layout.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from facelab.core.atomic import staged_directory
from facelab.core.errors import DatasetNotFoundError, EvaluationError
from facelab.core.hashing import file_sha256
from facelab.data.imageio import find_images

__all__ = [
    "pair_images",
    "require_columns",
    "LFW_IMAGES_DIR",
    "locate_lfw",
    "LFW",
    "lfw_or_none",
    "read_pairs_file",
    "FolderDataset",
    "read_identity_folders",
    "read_photo_folder",
    "read_folder",
    "build_two_id",
    "ensure_two_id",
    "repo_root",
]

LFW_ENV_VAR = "FACELAB_LFW"
#: Set to hide ``../shared/datasets/lfw`` from :func:`lfw_search_paths` (tests without LFW).
NO_SHARED_ENV_VAR = "FACELAB_NO_SHARED"
LFW_IMAGES_DIR = "lfw-deepfunneled"
PAIRS_FILES = {"pairs": "pairs.txt", "devtrain": "pairsDevTrain.txt", "devtest": "pairsDevTest.txt"}
TWO_ID_DEFAULT = ("Colin_Powell", "Tony_Blair")


def repo_root() -> Path:
    """The folder holding the facelab checkout (parent of the ``facelab`` package)."""
    return Path(__file__).resolve().parents[2]


def _is_lfw_root(path: Path) -> bool:
    return (path / LFW_IMAGES_DIR).is_dir()


def lfw_search_paths(root: Optional[os.PathLike | str] = None) -> list[tuple[str, Path]]:
    """Where LFW is looked for, in order, as ``(what, path)`` pairs.

    An explicit ``root``, then ``$FACELAB_LFW``, then ``../shared/datasets/lfw`` beside the
    checkout (and beside the current directory), then ``data/lfw``. With ``$FACELAB_NO_SHARED``
    set (to anything but ``""`` / ``0``) the shared copy is not looked at: how the tests check
    that they skip, rather than fail, where LFW is absent.
    """
    places: list[tuple[str, Path]] = []
    if root is not None:
        places.append(("given path", Path(root).expanduser()))
    env = os.environ.get(LFW_ENV_VAR)
    if env:
        places.append((f"${LFW_ENV_VAR}", Path(env).expanduser()))
    if os.environ.get(NO_SHARED_ENV_VAR, "") in ("", "0"):
        for base in checkout_bases():
            places.append(("shared datasets", (base / ".." / "shared" / "datasets" / "lfw").resolve()))
    for base in checkout_bases():
        places.append(("data/lfw", (base / "data" / "lfw").resolve()))
    return unique_places(places)


def checkout_bases() -> list[Path]:
    """Where "beside the checkout" is looked for: the checkout's root, then the working directory."""
    return [repo_root(), Path.cwd()]


def unique_places(places: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """``(what, path)`` search places in order, each path once (the first name it came with)."""
    seen, unique = set(), []
    for what, p in places:
        if p not in seen:
            seen.add(p)
            unique.append((what, p))
    return unique


def locate_lfw(root: Optional[os.PathLike | str] = None) -> Path:
    """Find the LFW root (the folder holding ``lfw-deepfunneled/`` and ``pairs.txt``).

    An explicit ``root`` that does not hold LFW is an error on its own: we do not fall back
    silently past a path the user named.

    Raises
    ------
    DatasetNotFoundError
        Naming every place looked at.
    """
    places = lfw_search_paths(root)
    if root is not None:
        places = places[:1]
    for _, p in places:
        if _is_lfw_root(p):
            return p
    looked = "\n".join(f"  - {p}  ({what})" for what, p in places)
    raise DatasetNotFoundError(
        f"LFW not found. Looked for '{LFW_IMAGES_DIR}/' in:\n{looked}\n"
        f"Pass --root, set {LFW_ENV_VAR}, or run 'facelab data fetch-lfw' (needs internet)."
    )


def read_pairs_file(path: os.PathLike | str) -> pd.DataFrame:
    """Parse an LFW pairs file (``pairs.txt`` or ``pairsDev*.txt``).

    Returns
    -------
    pandas.DataFrame
        Columns ``fold``, ``name1``, ``num1``, ``name2``, ``num2``, ``same``; one row per pair in
        file order. ``pairs.txt`` has 10 folds of ``n`` matched then ``n`` mismatched pairs; the dev
        files have one "fold" (0).
    """
    path = Path(path)
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    header = lines[0]
    if len(header) == 2:
        n_folds, n = int(header[0]), int(header[1])
    elif len(header) == 1:
        n_folds, n = 1, int(header[0])
    else:
        raise ValueError(f"{path}: unexpected header {header!r}")
    body = lines[1:]
    if len(body) != n_folds * 2 * n:
        raise ValueError(f"{path}: expected {n_folds * 2 * n} pairs from the header, found {len(body)}")
    rows = []
    for i, parts in enumerate(body):
        fold = i // (2 * n)
        if len(parts) == 3:
            rows.append((fold, parts[0], int(parts[1]), parts[0], int(parts[2]), True))
        elif len(parts) == 4:
            rows.append((fold, parts[0], int(parts[1]), parts[2], int(parts[3]), False))
        else:
            raise ValueError(f"{path}: line {i + 2} is not a pair: {' '.join(parts)!r}")
    return pd.DataFrame(rows, columns=["fold", "name1", "num1", "name2", "num2", "same"])


def lfw_image_id(name: str, num: int) -> str:
    """LFW's image id, e.g. ``Colin_Powell_0001``."""
    return f"{name}_{int(num):04d}"


class LFW:
    """Labeled Faces in the Wild (deep-funneled) on disk.

    Parameters
    ----------
    root : path-like, optional
        See :func:`locate_lfw` for where it is looked for when omitted.
    """

    def __init__(self, root: Optional[os.PathLike | str] = None):
        self.root = locate_lfw(root)
        self.images_dir = self.root / LFW_IMAGES_DIR

    def __repr__(self) -> str:
        return f"LFW(root={str(self.root)!r})"

    def image_path(self, name: str, num: int) -> Path:
        """Path of image ``num`` (1-based) of identity ``name``."""
        return self.images_dir / name / f"{lfw_image_id(name, num)}.jpg"

    def images(self) -> pd.DataFrame:
        """Every image: columns ``image_id``, ``path``, ``identity``, sorted."""
        rows = []
        for ident in sorted(p.name for p in self.images_dir.iterdir() if p.is_dir()):
            for f in sorted((self.images_dir / ident).iterdir()):
                if f.suffix.lower() == ".jpg" and not f.name.startswith("."):
                    rows.append((f.stem, str(f), ident))
        return pd.DataFrame(rows, columns=["image_id", "path", "identity"])

    def identities(self) -> pd.DataFrame:
        """Identities with their image counts: columns ``identity``, ``images``, largest first."""
        counts = self.images().groupby("identity").size().rename("images").reset_index()
        return counts.sort_values(["images", "identity"], ascending=[False, True], ignore_index=True)

    def pairs(self, which: str = "pairs") -> pd.DataFrame:
        """A pairs protocol as a table with image paths.

        Parameters
        ----------
        which : {"pairs", "devtrain", "devtest"}
            ``pairs.txt`` (the 10-fold benchmark), ``pairsDevTrain.txt`` or ``pairsDevTest.txt``.

        Returns
        -------
        pandas.DataFrame
            Columns of :func:`read_pairs_file` plus ``image_id1``, ``image_id2``, ``path1``, ``path2``.
        """
        if which not in PAIRS_FILES:
            raise ValueError(f"which must be one of {sorted(PAIRS_FILES)}, got {which!r}")
        df = read_pairs_file(self.root / PAIRS_FILES[which])
        df["image_id1"] = [lfw_image_id(n, k) for n, k in zip(df.name1, df.num1)]
        df["image_id2"] = [lfw_image_id(n, k) for n, k in zip(df.name2, df.num2)]
        df["path1"] = [str(self.image_path(n, k)) for n, k in zip(df.name1, df.num1)]
        df["path2"] = [str(self.image_path(n, k)) for n, k in zip(df.name2, df.num2)]
        return df

    def pair_images(self, which: str = "pairs") -> pd.DataFrame:
        """The distinct images used by a pairs protocol: ``image_id``, ``path``, ``identity``
        (:func:`pair_images` of :meth:`pairs`)."""
        return pair_images(self.pairs(which))


def lfw_or_none(root: Optional[os.PathLike | str] = None, *, without: str = "this part is skipped") -> Optional[LFW]:
    """LFW, or None with one printed line saying why and what happens without it.

    For notebooks and examples with a part that needs LFW and can go on without it::

        lfw = lfw_or_none(without="this section is skipped")
        if lfw is not None:
            ...

    Parameters
    ----------
    root : path-like, optional
        See :func:`locate_lfw`.
    without : str
        What the caller does without LFW, for the printed line.

    Returns
    -------
    LFW or None
        None when :func:`locate_lfw` finds no copy; any other error is raised.
    """
    try:
        return LFW(root)
    except DatasetNotFoundError:
        places = [str(p) for _, p in lfw_search_paths(root)][: 1 if root is not None else None]
        print(f"LFW not available, {without}: no {LFW_IMAGES_DIR}/ in {', '.join(places)} "
              f"(set {LFW_ENV_VAR}, or run 'facelab data fetch-lfw')")
        return None


@dataclass
class FolderDataset:
    """A folder-per-identity dataset as read from disk.

    Attributes
    ----------
    root : Path
    images : pandas.DataFrame
        ``image_id`` (``<identity>/<file stem>``), ``path``, ``identity``; sorted.
    skipped : pandas.DataFrame
        ``image``, ``reason`` for every non-hidden file that is not an image.
    empty_identities : list of str
        Identity folders holding no image.
    names : dict
        Optional display names from ``ids.json`` (identity folder -> person).
    labelled : bool
        False for a flat folder of photos (:func:`read_photo_folder`): ``identity`` is empty.
    """

    root: Path
    images: pd.DataFrame
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["image", "reason"]))
    empty_identities: list = field(default_factory=list)
    names: dict = field(default_factory=dict)
    labelled: bool = True

    @property
    def identities(self) -> list[str]:
        return sorted(self.images.identity.unique()) if self.labelled else []

    def __len__(self) -> int:
        return len(self.images)

    def summary(self) -> str:
        if not self.labelled:
            s = f"{len(self.images)} photos (no identity folders) in {self.root}"
            return s + (f"; {len(self.skipped)} files skipped" if len(self.skipped) else "")
        n_id = self.images.identity.nunique()
        s = f"{len(self.images)} images of {n_id} identities in {self.root}"
        if len(self.skipped):
            s += f"; {len(self.skipped)} files skipped"
        if self.empty_identities:
            s += f"; empty identity folders: {', '.join(self.empty_identities)}"
        return s


def read_identity_folders(root: os.PathLike | str) -> FolderDataset:
    """Read a folder-per-identity dataset (``root/<identity>/<image>``).

    Images are found by content, not by suffix. Hidden files and folders (leading dot) are
    ignored; every other file that is not an image is listed in ``skipped`` with its reason.
    Files directly under ``root`` (such as ``ids.json``) are not images of anyone and are ignored.

    Raises
    ------
    DatasetNotFoundError
        If ``root`` is not a directory or has no identity folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"dataset folder not found: {root}")
    rows, skipped, empty = [], [], []
    id_dirs = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: (0, int(p.name)) if p.name.isdigit() else (1, p.name),
    )
    if not id_dirs:
        raise DatasetNotFoundError(f"{root} has no identity folders (expected {root}/<identity>/<images>)")
    for d in id_dirs:
        found, bad = find_images(d)
        rows.extend((f.relative_to(root).with_suffix("").as_posix(), str(f), d.name) for f in found)
        skipped.extend(bad)
        if not found:
            empty.append(d.name)
    names = {}
    ids_file = root / "ids.json"
    if ids_file.is_file():
        try:
            manifest = json.loads(ids_file.read_text())
            # Our own manifest nests the mapping; a hand-written ids.json may be flat.
            mapping = manifest.get("identities", manifest)
            names = {str(k): str(v) for k, v in mapping.items() if isinstance(v, str)}
        except (ValueError, AttributeError):
            names = {}
    return FolderDataset(
        root=root,
        images=pd.DataFrame(rows, columns=["image_id", "path", "identity"]),
        skipped=pd.DataFrame(skipped, columns=["image", "reason"]),
        empty_identities=empty,
        names=names,
    )


def read_photo_folder(root: os.PathLike | str) -> FolderDataset:
    """Read a flat folder of photos (no identity sub-folders): every image directly in ``root``.

    ``image_id`` is the file's name without its suffix (with it, for names that would otherwise
    repeat, such as ``a.jpg`` and ``a.png``); ``identity`` is empty. Hidden files are ignored and
    every other non-image file is listed in ``skipped`` with its reason, as are sub-folders (their
    photos are not read: give one layout or the other).

    Raises
    ------
    DatasetNotFoundError
        If ``root`` is not a directory.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"photo folder not found: {root}")
    found, bad = _top_level_images(root)
    bad += [(str(d), "a sub-folder of a flat photo folder (not read)")
            for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith(".")]
    stems = [f.stem for f in found]
    ids = [f.stem if stems.count(f.stem) == 1 else f.name for f in found]
    images = pd.DataFrame({"image_id": ids, "path": [str(f) for f in found], "identity": [""] * len(found)},
                          columns=["image_id", "path", "identity"])
    return FolderDataset(root=root, images=images.sort_values("image_id", ignore_index=True),
                         skipped=pd.DataFrame(bad, columns=["image", "reason"]), labelled=False)


def _top_level_images(root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The images directly in ``root`` and its other (non-hidden) files with their reason."""
    from facelab.data.imageio import is_image_file

    images, other = [], []
    for f in sorted(root.iterdir()):
        if f.name.startswith(".") or not f.is_file():
            continue
        if is_image_file(f):
            images.append(f)
        else:
            other.append((str(f), "not an image (unrecognised content)"))
    return images, other


def read_folder(root: os.PathLike | str) -> FolderDataset:
    """A folder of either layout: one sub-folder of images per identity
    (:func:`read_identity_folders`) when ``root`` has sub-folders, else a flat folder of photos
    (:func:`read_photo_folder`).

    With identity folders, images lying directly in ``root`` belong to no identity: they are
    listed in ``skipped`` (not read), never dropped silently.

    Raises
    ------
    DatasetNotFoundError
        If ``root`` is not a directory, or holds neither identity folders nor photos.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"dataset folder not found: {root}")
    if not any(p.is_dir() and not p.name.startswith(".") for p in root.iterdir()):
        ds = read_photo_folder(root)
        if not len(ds.images):
            extra = f" ({len(ds.skipped)} other files)" if len(ds.skipped) else ""
            raise DatasetNotFoundError(f"{root} holds no images{extra}: expected photos, or one folder of "
                                       "images per identity")
        return ds
    ds = read_identity_folders(root)
    loose = [(str(f), "an image outside the identity folders (not read)") for f in _top_level_images(root)[0]]
    if loose:
        ds.skipped = pd.concat([ds.skipped, pd.DataFrame(loose, columns=["image", "reason"])], ignore_index=True)
    return ds


TWO_ID_ENV_VAR = "FACELAB_TWO_ID"


def default_two_id_dir() -> Path:
    """Where the default two-ID set lives: ``$FACELAB_TWO_ID``, else ``data/two_id`` in the checkout."""
    env = os.environ.get(TWO_ID_ENV_VAR)
    return Path(env).expanduser() if env else repo_root() / "data" / "two_id"


def build_two_id(
    out: Optional[os.PathLike | str] = None,
    *,
    lfw_root: Optional[os.PathLike | str] = None,
    identities: Sequence[str] = TWO_ID_DEFAULT,
    per_identity: int = 50,
    seed: int = 0,
    overwrite: bool = False,
) -> Path:
    """Materialise a seed-style two-identity (or N-identity) set from LFW.

    Writes ``out/1``, ``out/2``, ... with ``per_identity`` images each, chosen deterministically
    (a seeded sample of the identity's images, kept in file order), and ``out/ids.json`` naming
    who is who and which LFW images were used, with their SHA-256.

    Parameters
    ----------
    out : path-like, optional
        Destination; default ``data/two_id`` in the checkout.
    lfw_root : path-like, optional
        Where LFW is (see :func:`locate_lfw`).
    identities : sequence of str
        LFW identity names; default Colin_Powell and Tony_Blair.
    per_identity : int
        Images per identity (each identity must have at least this many).
    seed : int
        Seed of the sample.
    overwrite : bool
        Replace an existing set built with other settings.

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out) if out is not None else default_two_id_dir()
    lfw = LFW(lfw_root)
    settings = {"identities": list(identities), "per_identity": per_identity, "seed": seed}
    ids_file = out / "ids.json"
    if ids_file.is_file() and not overwrite:
        existing = json.loads(ids_file.read_text())
        if existing.get("settings") == settings:
            return out
        raise EvaluationError(
            f"{out} already holds a set built with {existing.get('settings')}; pass overwrite=True "
            "(CLI: --overwrite) to rebuild it"
        )
    rng = np.random.default_rng(seed)
    chosen = {}
    for name in identities:
        files = sorted((lfw.images_dir / name).glob("*.jpg"))
        if len(files) < per_identity:
            raise EvaluationError(f"LFW identity {name!r} has {len(files)} images, fewer than {per_identity}")
        idx = np.sort(rng.choice(len(files), size=per_identity, replace=False))
        chosen[name] = [files[i] for i in idx]
    # Build beside the destination, then swap in, so an interrupted build leaves nothing half-made.
    with staged_directory(out) as tmp:
        manifest = {"settings": settings, "lfw_root": str(lfw.root), "identities": {}, "images": {}}
        for k, name in enumerate(identities, start=1):
            d = tmp / str(k)
            d.mkdir()
            manifest["identities"][str(k)] = name
            for f in chosen[name]:
                shutil.copyfile(f, d / f.name)
                manifest["images"][f"{k}/{f.stem}"] = {"lfw": f.stem, "sha256": file_sha256(f)}
        (tmp / "ids.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def ensure_two_id(out: Optional[os.PathLike | str] = None, *, lfw_root=None) -> Path:
    """The default two-ID set, built from LFW if it is not there yet."""
    out = Path(out) if out is not None else default_two_id_dir()
    if (out / "ids.json").is_file():
        return out
    return build_two_id(out, lfw_root=lfw_root)


def require_columns(pairs: pd.DataFrame, columns) -> None:
    """EvaluationError naming the columns a pairs table lacks."""
    lacking = sorted(set(columns) - set(pairs.columns))
    if lacking:
        raise EvaluationError(f"pairs table lacks columns {lacking}")


def pair_images(pairs: pd.DataFrame) -> pd.DataFrame:
    """The distinct images of a pairs table, to embed once each.

    Parameters
    ----------
    pairs : pandas.DataFrame
        From :meth:`facelab.data.datasets.LFW.pairs` (or a slice of it): columns ``image_id1``,
        ``path1``, ``name1``, ``image_id2``, ``path2``, ``name2``.

    Returns
    -------
    pandas.DataFrame
        Columns ``image_id``, ``path``, ``identity`` (the input of
        :func:`facelab.engine.pipeline.embed_images`), one row per image, sorted by ``image_id``.
    """
    cols = ["image_id", "path", "identity"]
    require_columns(pairs, ["image_id1", "path1", "name1", "image_id2", "path2", "name2"])
    a = pairs[["image_id1", "path1", "name1"]].set_axis(cols, axis=1)
    b = pairs[["image_id2", "path2", "name2"]].set_axis(cols, axis=1)
    return pd.concat([a, b]).drop_duplicates("image_id").sort_values("image_id", ignore_index=True)
