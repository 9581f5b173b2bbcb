"""Faces detected once and held in memory, for experiments that re-align them cheaply:
:func:`detect_faces` -> :class:`FaceSet`; :func:`lfw_pairs_subset` picks the LFW pairs they judge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["FaceSet", "detect_faces", "lfw_pairs_subset"]


@dataclass
class FaceSet:
    """Images with their detected face, held in memory so experiments can re-align them cheaply.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per face kept: ``image_id``, ``path``, ``identity``, ``score`` (detector score).
    images : list of ndarray
        ``(H, W, 3)`` uint8 RGB, one per row of ``table``.
    faces : list of Face
        The chosen face of each image (image pixels).
    skipped : pandas.DataFrame
        ``image_id``, ``path``, ``reason`` for every input image without a face (never dropped
        silently).
    """

    table: pd.DataFrame
    images: list
    faces: list
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["image_id", "path", "reason"]))

    def __len__(self) -> int:
        return len(self.faces)

    @property
    def identities(self) -> np.ndarray:
        return self.table.identity.to_numpy(str)

    @property
    def ids(self) -> np.ndarray:
        return self.table.image_id.to_numpy(str)

    def rows(self, image_ids) -> np.ndarray:
        """Row of each image id (-1 where the image has no face)."""
        where = {k: r for r, k in enumerate(self.table.image_id)}
        return np.array([where.get(str(k), -1) for k in image_ids], dtype=np.int64)

    def subset(self, rows) -> FaceSet:
        """The faces at ``rows`` (positions or a boolean mask), without the skipped list."""
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, dtype=np.int64)
        return FaceSet(self.table.iloc[rows].reset_index(drop=True), [self.images[i] for i in rows],
                       [self.faces[i] for i in rows])

    def by_identity(self) -> dict:
        """identity -> the :meth:`subset` of that identity's faces, in order of first appearance."""
        ids = self.identities
        return {i: self.subset(ids == i) for i in dict.fromkeys(ids.tolist())}

    def summary(self) -> str:
        return f"{len(self)} faces of {self.table.identity.nunique()} identities; {len(self.skipped)} images skipped"


def detect_faces(images_df: pd.DataFrame, *, detector="dlib", policy: str = "central", progress: bool = False) -> FaceSet:
    """Load and detect every image once.

    Each image goes through :func:`facelab.stages.prepare.prepare_image` (without alignment: the
    experiments re-align the faces themselves). With ``detector="dlib"`` the pipeline's
    :class:`~facelab.stages.detection.LadderDetector` looks at the image's own scale first and upsamples
    (4x the cost) only when that does not find exactly one face.

    Parameters
    ----------
    images_df : pandas.DataFrame
        ``image_id``, ``path`` and ``identity`` (e.g. :attr:`facelab.data.datasets.FolderDataset.images`,
        :meth:`facelab.data.datasets.LFW.pair_images` or :func:`facelab.data.datasets.pair_images`).
    detector : str or Detector
        A registered name (``"dlib"``: the ladder, as in :func:`facelab.engine.pipeline.embed_images`) or
        a ready detector (:func:`facelab.stages.detection.create_detector`).
    policy : {"central", "largest"}
        Which face of a photo with several (LFW centres the labelled person: ``"central"``).
    """
    from facelab.engine.settings import make_detector
    from facelab.stages.detection import create_detector
    from facelab.stages.prepare import prepare_image

    # "dlib": the pipeline's ladder (own scale first, upsampled only when inconclusive).
    det = make_detector(detector) if isinstance(detector, str) else create_detector(detector)
    df = images_df.drop_duplicates("image_id").reset_index(drop=True)
    keep, images, faces, skipped = [], [], [], []
    it = df.itertuples(index=False)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, total=len(df), desc="detect")
    for rec in it:
        prep = prepare_image(rec.path, det, policy=policy, keep_image=True)  # no preset: detect only
        if not prep.ok:
            skipped.append((rec.image_id, rec.path, f"{prep.status.value}: {prep.reason}"))
            continue
        keep.append((rec.image_id, rec.path, getattr(rec, "identity", ""), float(prep.face.score)))
        images.append(prep.image)
        faces.append(prep.face)
    return FaceSet(
        table=pd.DataFrame(keep, columns=["image_id", "path", "identity", "score"]),
        images=images,
        faces=faces,
        skipped=pd.DataFrame(skipped, columns=["image_id", "path", "reason"]),
    )


def lfw_pairs_subset(lfw, *, n_pairs: int = 300, which: str = "pairs", folds: Sequence[int] | None = None) -> pd.DataFrame:
    """The first ``n_pairs`` of an LFW protocol, half matched, half mismatched (file order per fold).

    Returns the pairs table of :meth:`facelab.data.datasets.LFW.pairs`; its images are
    :func:`facelab.data.datasets.pair_images` of it.
    """
    p = lfw.pairs(which)
    if folds is not None:
        p = p[p.fold.isin(list(folds))]
    return p.groupby("same", sort=False).head(int(n_pairs) // 2).reset_index(drop=True)
