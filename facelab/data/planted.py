"""Label errors planted on purpose: the ground truth a dataset audit is measured against.

:func:`plant_errors` copies a folder-per-identity dataset and, with a fixed seed, moves a share
of its photos into a wrong identity and puts near-duplicates of others into other identities
(the photo stays where it was as well). Every photo of the copy gets a neutral file name
(``img_<n>.jpg``): the names of a copy must not give the answer away, to the audit or to a
student. ``planted.json`` beside the identity folders says what was done to which photo, and
:class:`PlantedErrors` reads it back; ``ids.json`` keeps the identities' display names.

:func:`near_duplicate` makes the copies: the edits a photo goes through when it is saved again
by someone else (re-encoded, rescaled, cropped a little, brighter). ``benchmarks/duplicate_level.py``
uses the same edits to calibrate :mod:`facelab.analysis.audit`'s near-duplicate level.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError

__all__ = ["NEAR_DUPLICATE_EDITS", "PlantedErrors", "near_duplicate", "plant_errors", "read_planted"]

#: The edits of :func:`near_duplicate`: each alone, and ``mixed`` (all four at once, milder).
NEAR_DUPLICATE_EDITS = ("jpeg", "rescale", "crop", "brightness", "mixed")
MANIFEST = "planted.json"


def near_duplicate(image: np.ndarray, *, edit: str = "mixed") -> bytes:
    """A near-duplicate of ``image`` (``(H, W, 3)`` uint8 RGB) as JPEG bytes.

    ``edit``: ``jpeg`` (saved at quality 40), ``rescale`` (to 60% of its size), ``crop`` (6% cut
    from the left and top), ``brightness`` (x1.2), ``mixed`` (80% size, 3% cut from the left and
    top, x1.1 brighter, quality 70). Every one ends as a JPEG (quality 90 where not said).
    """
    from PIL import Image, ImageEnhance

    if edit not in NEAR_DUPLICATE_EDITS:
        raise EvaluationError(f"unknown near-duplicate edit {edit!r}; choose from {', '.join(NEAR_DUPLICATE_EDITS)}")
    im = Image.fromarray(np.ascontiguousarray(np.asarray(image, dtype=np.uint8)[..., :3]))
    quality = 90

    def crop(img, share):
        dx, dy = round(img.width * share), round(img.height * share)
        return img.crop((dx, dy, img.width, img.height))

    def rescale(img, share):
        return img.resize((max(1, round(img.width * share)), max(1, round(img.height * share))),
                          Image.Resampling.LANCZOS)

    if edit == "jpeg":
        quality = 40
    elif edit == "rescale":
        im = rescale(im, 0.6)
    elif edit == "crop":
        im = crop(im, 0.06)
    elif edit == "brightness":
        im = ImageEnhance.Brightness(im).enhance(1.2)
    else:
        im = ImageEnhance.Brightness(rescale(crop(im, 0.03), 0.8)).enhance(1.1)
        quality = 70
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


@dataclass
class PlantedErrors:
    """What :func:`plant_errors` did (read back from ``planted.json`` by :func:`read_planted`).

    Attributes
    ----------
    root : Path
        The copy.
    photos : pandas.DataFrame
        One row per photo of the copy: ``image_id`` (as :func:`facelab.data.datasets.read_identity_folders`
        names it), ``identity`` (its folder in the copy), ``true_identity``, ``source`` (the source
        image id it was made from), ``planted`` (``""``, ``"moved"`` or ``"duplicate"``) and ``edit``
        (the near-duplicate edit, ``""`` for a plain copy).
    settings : dict
        ``move``, ``duplicate``, ``seed``, ``edit`` and the source folder.
    """

    root: Path
    photos: pd.DataFrame
    settings: dict

    @property
    def moved(self) -> pd.DataFrame:
        """Photos moved into a wrong identity."""
        return self.photos[self.photos.planted == "moved"]

    @property
    def duplicates(self) -> pd.DataFrame:
        """Near-duplicates put into another identity (the original stays in its own)."""
        return self.photos[self.photos.planted == "duplicate"]

    @property
    def planted_ids(self) -> list[str]:
        """Image ids of every planted error (moved photos and the duplicates' copies)."""
        return list(self.photos.image_id[self.photos.planted != ""])

    def found(self, candidate_ids) -> pd.DataFrame:
        """The planted errors, with ``rank``: where each one's image id first appears in
        ``candidate_ids`` (1-based; NaN where it does not)."""
        first: dict = {}
        for n, i in enumerate(candidate_ids, start=1):
            first.setdefault(str(i), n)
        out = self.photos[self.photos.planted != ""].copy()
        out["rank"] = [first.get(i, np.nan) for i in out.image_id]
        return out.reset_index(drop=True)


def plant_errors(src, out, *, move: float = 0.02, duplicate: float = 0.01, seed: int = 0,
                 edit: str = "mixed", overwrite: bool = False) -> PlantedErrors:
    """Copy the dataset ``src`` to ``out`` with label errors planted (see the module docstring).

    Parameters
    ----------
    src : path-like
        A folder-per-identity dataset (at least two identities).
    out : path-like
        The copy (written atomically; it must not exist unless ``overwrite``).
    move : float
        Share of the photos moved into another identity (rounded; at least one when > 0).
    duplicate : float
        Share of the photos of which a near-duplicate goes into another identity.
    seed : int
        Seed of every choice: which photos, which wrong identities, the file names.
    edit : str
        The :func:`near_duplicate` edit of the duplicates, or ``"copy"`` for byte-identical copies.
    """
    from facelab.core.atomic import staged_directory
    from facelab.data.datasets import read_identity_folders
    from facelab.data.imageio import load_image

    if not (0 <= move < 1 and 0 <= duplicate < 1 and move + duplicate < 1):
        raise EvaluationError(f"move and duplicate are shares of the photos in [0, 1) (got {move}, {duplicate})")
    if edit != "copy" and edit not in NEAR_DUPLICATE_EDITS:
        raise EvaluationError(f"unknown edit {edit!r}; choose from copy, {', '.join(NEAR_DUPLICATE_EDITS)}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise EvaluationError(f"{out} already exists; pass overwrite=True to replace it")
    ds = read_identity_folders(src)
    images = ds.images.reset_index(drop=True)
    idents = sorted(set(images.identity))
    if len(idents) < 2:
        raise EvaluationError(f"{src}: planting label errors needs at least two identities, found {len(idents)}")
    n = len(images)
    n_move = max(1, round(move * n)) if move > 0 else 0
    n_dup = max(1, round(duplicate * n)) if duplicate > 0 else 0
    rng = np.random.default_rng(seed)
    picked = rng.permutation(n)[:n_move + n_dup]
    role = np.full(n, "", dtype=object)
    role[picked[:n_move]] = "moved"
    role[picked[n_move:]] = "duplicate"
    target = {}
    for i in picked:
        own = images.identity[i]
        target[i] = str(rng.choice([x for x in idents if x != own]))
    rows = []
    for i in range(n):
        rows.append({"identity": target[i] if role[i] == "moved" else images.identity[i], "true_identity":
                     images.identity[i], "source": images.image_id[i], "planted": role[i] if role[i] == "moved" else "",
                     "edit": "", "row": i})
    for i in picked[n_move:]:
        rows.append({"identity": target[i], "true_identity": images.identity[i], "source": images.image_id[i],
                     "planted": "duplicate", "edit": edit if edit != "copy" else "", "row": int(i)})
    photos = pd.DataFrame(rows)
    # Neutral names, shuffled so a name says nothing about where a photo came from.
    photos["name"] = [f"img_{k:05d}" for k in rng.permutation(len(photos))]
    photos["image_id"] = photos.identity + "/" + photos.name
    with staged_directory(out) as tmp:
        for r in photos.itertuples():
            d = tmp / r.identity
            d.mkdir(exist_ok=True)
            path = images.path[r.row]
            if r.edit:
                (d / f"{r.name}.jpg").write_bytes(near_duplicate(load_image(path), edit=r.edit))
            else:
                (d / f"{r.name}.jpg").write_bytes(Path(path).read_bytes())
        table = photos.drop(columns=["row", "name"])
        settings = {"src": str(Path(src)), "move": move, "duplicate": duplicate, "seed": seed, "edit": edit}
        (tmp / MANIFEST).write_text(json.dumps({"settings": settings, "photos": table.to_dict("records")}, indent=1)
                                    + "\n")
        if ds.names:
            (tmp / "ids.json").write_text(json.dumps({"identities": ds.names}, indent=1) + "\n")
    return read_planted(out)


def read_planted(root: os.PathLike | str) -> PlantedErrors:
    """The :class:`PlantedErrors` of a copy made by :func:`plant_errors`."""
    root = Path(root)
    f = root / MANIFEST
    if not f.is_file():
        raise EvaluationError(f"{root} has no {MANIFEST}: it was not made by plant_errors")
    blob = json.loads(f.read_text())
    return PlantedErrors(root, pd.DataFrame(blob["photos"]), blob["settings"])
