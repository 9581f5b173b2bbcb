"""A photo folder composed from LFW, whose truth is known: single photos and group photos.

A researcher's own photo collection has no names and several people per photo. To measure what
every-face mode (``--policy all``) and ``facelab cluster`` do with such a folder, this builds one
whose answer is known:

* ``photos/`` -- a flat folder: LFW photos of a few people, renamed (``photo_0001.jpg`` ...) so
  their names give nothing away, and **group photos** (``group_0001.jpg`` ...): the faces of other
  LFW photos of the same people, cut out and pasted side by side on a plain background;
* ``truth.csv`` -- where each person is: ``image_id``, ``identity`` and a box ``x0, y0, x1, y1``
  (the pasted cut-out in a group photo; the centre of a single photo, where LFW puts its subject).

:func:`label_faces` names detected faces from it: the person whose box holds the face's centre,
``""`` for a face nobody was put at (a bystander at the edge of a single LFW photo).

``build_photo_folder(out, n_identities=8)`` takes a few seconds; nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

__all__ = ["PhotoFolder", "build_photo_folder", "read_photo_truth", "label_faces", "CUTOUT"]

#: The part of a 250-px deep-funneled LFW photo cut out for a group photo (``x0, y0, x1, y1``):
#: the centred subject's face with hair, chin and some background (a tight cut hides the face's outline
#: from HOG).
CUTOUT = (35, 30, 215, 220)
#: Gap between faces and around them in a group photo, pixels.
GAP = 36
TRUTH_COLUMNS = ["image_id", "identity", "x0", "y0", "x1", "y1"]


@dataclass(frozen=True)
class PhotoFolder:
    """A built photo folder: ``photos`` (the flat folder to embed or cluster) and its ``truth``
    (:data:`TRUTH_COLUMNS`: one row per person per photo)."""

    root: Path
    photos: Path
    truth: pd.DataFrame

    @property
    def identities(self) -> list[str]:
        return sorted(self.truth.identity.unique())

    def summary(self) -> str:
        t = self.truth
        groups = t[t.image_id.str.startswith("group_")]
        return (f"{t.image_id.nunique()} photos of {t.identity.nunique()} people in {self.photos}: "
                f"{t.image_id.nunique() - groups.image_id.nunique()} single photos and "
                f"{groups.image_id.nunique()} group photos holding {len(groups)} faces")


def _group_image(cutouts: list[np.ndarray], rng) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Cut-outs side by side on a plain, slightly noisy background; their boxes."""
    h = max(c.shape[0] for c in cutouts)
    w = sum(c.shape[1] for c in cutouts) + GAP * (len(cutouts) + 1)
    colour = rng.integers(150, 230, 3)
    canvas = np.clip(colour + rng.normal(0, 6, (h + 2 * GAP, w, 3)), 0, 255).astype(np.uint8)
    boxes, x = [], GAP
    for c in cutouts:
        y = GAP + int(rng.integers(-GAP // 3, GAP // 3 + 1))
        canvas[y : y + c.shape[0], x : x + c.shape[1]] = c
        boxes.append((x, y, x + c.shape[1], y + c.shape[0]))
        x += c.shape[1] + GAP
    return canvas, boxes


def build_photo_folder(
    out: os.PathLike | str,
    *,
    lfw_root: os.PathLike | str | None = None,
    identities: Optional[list[str]] = None,
    n_identities: int = 8,
    min_images: int = 20,
    singles_per_identity: int = 5,
    n_groups: int = 10,
    group_sizes: tuple[int, int] = (2, 4),
    seed: int = 0,
) -> PhotoFolder:
    """Build ``out/photos/`` and ``out/truth.csv`` (see the module docstring), atomically.

    Parameters
    ----------
    identities : list of str, optional
        LFW people to use; default ``n_identities`` drawn (with ``seed``) from those with at least
        ``min_images`` photos.
    singles_per_identity : int
        Single photos of each person.
    n_groups : int
        Group photos; each holds ``group_sizes[0]`` to ``group_sizes[1]`` different people, each
        face cut from a photo not used as a single photo.
    seed : int
        Everything drawn (people, photos, group make-up, backgrounds) follows it.

    Returns
    -------
    PhotoFolder
    """
    from PIL import Image

    from facelab.core.atomic import staged_directory
    from facelab.core.errors import EvaluationError
    from facelab.data.datasets import LFW
    from facelab.data.imageio import load_image

    lfw = LFW(lfw_root)
    rng = np.random.default_rng(seed)
    if identities is None:
        counts = lfw.identities()
        pool = sorted(counts.identity[counts.images >= int(min_images)])
        if len(pool) < n_identities:
            raise EvaluationError(f"only {len(pool)} LFW people have {min_images} photos; asked for {n_identities}")
        identities = sorted(rng.choice(pool, size=int(n_identities), replace=False).tolist())
    lo, hi = (int(v) for v in group_sizes)
    if not 1 <= lo <= hi <= len(identities):
        raise EvaluationError(f"group sizes {group_sizes} need 1 <= low <= high <= {len(identities)} people")
    photos = {}
    for name in identities:
        files = sorted((lfw.images_dir / name).glob("*.jpg"))
        photos[name] = [files[k] for k in rng.permutation(len(files))]
    for name, files in photos.items():
        if len(files) < singles_per_identity + 1:
            raise EvaluationError(f"LFW has {len(files)} photos of {name}, too few for {singles_per_identity} "
                                  "single photos and group photos")
    singles = [(name, f) for name in identities for f in photos[name][:singles_per_identity]]
    spare = {name: photos[name][singles_per_identity:] for name in identities}
    order = rng.permutation(len(singles))
    rows = []
    with staged_directory(out) as tmp:
        (tmp / "photos").mkdir()
        for n, k in enumerate(order, start=1):
            name, f = singles[k]
            image_id = f"photo_{n:04d}"
            shutil.copyfile(f, tmp / "photos" / f"{image_id}.jpg")
            rows.append((image_id, name, *CUTOUT))
        for g in range(1, n_groups + 1):
            people = rng.choice(identities, size=int(rng.integers(lo, hi + 1)), replace=False)
            cut = []
            for name in people:
                f = spare[name][(g - 1) % len(spare[name])]
                x0, y0, x1, y1 = CUTOUT
                cut.append(load_image(f)[y0:y1, x0:x1])
            canvas, boxes = _group_image(cut, rng)
            image_id = f"group_{g:04d}"
            Image.fromarray(canvas).save(tmp / "photos" / f"{image_id}.jpg", quality=92)
            rows.extend((image_id, name, *box) for name, box in zip(people, boxes))
        truth = pd.DataFrame(rows, columns=TRUTH_COLUMNS)
        truth.to_csv(tmp / "truth.csv", index=False)
        (tmp / "settings.json").write_text(json.dumps({
            "identities": list(identities), "singles_per_identity": singles_per_identity, "n_groups": n_groups,
            "group_sizes": [lo, hi], "seed": seed, "lfw_root": str(lfw.root)}, indent=2) + "\n")
    root = Path(out)
    return PhotoFolder(root, root / "photos", truth)


def read_photo_truth(root: os.PathLike | str) -> PhotoFolder:
    """A folder :func:`build_photo_folder` made (``root/photos``, ``root/truth.csv``)."""
    from facelab.core.errors import DatasetNotFoundError

    root = Path(root)
    if not (root / "truth.csv").is_file() or not (root / "photos").is_dir():
        raise DatasetNotFoundError(f"{root} is not a photo folder made by build_photo_folder "
                                   "(expected photos/ and truth.csv)")
    return PhotoFolder(root, root / "photos", pd.read_csv(root / "truth.csv", dtype={"image_id": str}))


def label_faces(table: pd.DataFrame, truth: pd.DataFrame) -> list[str]:
    """The person at each face of a result table, ``""`` for a face nobody was put at.

    A ``truth`` box names the largest face, in the same photo, whose box centre it holds; any
    other face there is a bystander that came with the cut-out or the photo (``""``).

    Parameters
    ----------
    table : pandas.DataFrame
        With ``image_id`` and ``box`` (``[x0, y0, x1, y1]`` or None), e.g. an
        :class:`~facelab.engine.result.EmbeddingResult`'s ``table`` or ``embedded``.
    truth : pandas.DataFrame
        :data:`TRUTH_COLUMNS`.
    """
    out = [""] * len(table)
    by_image = {k: g for k, g in truth.groupby("image_id")}
    claims: dict = {}  # truth row -> (area, position in table) of the largest face in it
    for pos, (image_id, box) in enumerate(zip(table.image_id.astype(str), table.box)):
        g = by_image.get(image_id)
        if g is None or box is None or (isinstance(box, float) and np.isnan(box)):
            continue
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        hit = g[(g.x0 <= cx) & (cx < g.x1) & (g.y0 <= cy) & (cy < g.y1)]
        if len(hit):
            area = (box[2] - box[0]) * (box[3] - box[1])
            key = hit.index[0]
            if key not in claims or area > claims[key][0]:
                claims[key] = (area, pos)
    for key, (_, pos) in claims.items():
        out[pos] = str(truth.loc[key, "identity"])
    return out
