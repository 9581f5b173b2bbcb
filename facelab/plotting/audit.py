"""Pictures of a dataset audit (:mod:`facelab.analysis.audit`): contact sheets that put each
candidate beside the identities it is judged against.

One row per candidate: the whole photo (the face used boxed in red), the face, then faces of its
labelled identity and faces of the identity it resembles (each block starts with the faces the
evidence rests on -- a near-duplicate, then the nearest faces -- and is filled with a sample; see
:meth:`~facelab.analysis.audit.DatasetAudit.evidence`). Looking at these is how a candidate is
confirmed or dismissed: the audit ranks, a person decides.

Examples
--------
>>> from facelab.plotting import AuditSheetDisplay
>>> AuditSheetDisplay.from_audit(audit, ranks=range(1, 11)).plot()     # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["AuditSheetDisplay", "SheetRow", "face_thumbnails", "photo_thumbnail"]


def photo_thumbnail(path, box=None, *, size: int = 128) -> np.ndarray:
    """The whole photo as a square ``(size, size, 3)`` uint8 thumbnail, ``box`` drawn in red."""
    from PIL import Image, ImageDraw

    from facelab.data.imageio import load_image_reduced

    image, full, scale = load_image_reduced(path, 4 * size)
    im = Image.fromarray(image)
    s = size / max(im.width, im.height)
    im = im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.Resampling.LANCZOS)
    if box is not None and np.size(box) == 4 and np.all(np.isfinite(np.asarray(box, float))):
        x0, y0, x1, y1 = (float(v) * scale * s for v in box)  # drawn at the thumbnail's scale: a crisp line
        ImageDraw.Draw(im).rectangle((x0, y0, x1, y1), outline=(220, 30, 30), width=2)
    canvas = Image.new("RGB", (size, size), (255, 255, 255))
    canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    return np.asarray(canvas)


def face_thumbnails(faces, rows, *, size: int = 96) -> dict:
    """``{row: (size, size, 3) uint8}``: the face of each audit row, cut around its box from its photo."""
    from facelab.plotting.thumbnails import make_thumbnails

    rows = sorted({int(r) for r in rows})
    if not rows:
        return {}
    sub = faces.iloc[rows]
    thumbs = make_thumbnails(list(sub.path), boxes=list(sub.box), size=size)
    return dict(zip(rows, thumbs))


@dataclass
class SheetRow:
    """One candidate of a contact sheet: its photo and face, and the faces it is compared with."""

    title: str
    photo: np.ndarray
    face: np.ndarray
    own: list
    own_label: str
    other: list
    other_label: str


class AuditSheetDisplay:
    """A contact sheet of audit candidates (see the module docstring).

    Parameters
    ----------
    rows : sequence of SheetRow
    per_identity : int
        Faces shown per identity (blocks are padded to this width).
    """

    def __init__(self, rows: Sequence[SheetRow], *, per_identity: int = 4):
        self.rows = list(rows)
        self.per_identity = int(per_identity)

    @classmethod
    def from_audit(cls, audit, *, ranks: Optional[Sequence[int]] = None, top: int = 10, per_identity: int = 4,
                   size: int = 96, seed: int = 0) -> AuditSheetDisplay:
        """The candidates ``ranks`` (1-based; default the first ``top``) of a
        :class:`~facelab.analysis.audit.DatasetAudit`; photos are read from their paths."""
        ranks = list(ranks) if ranks is not None else list(range(1, min(top, len(audit.candidates)) + 1))
        picked = {rank: audit.evidence(rank, per_identity=per_identity, seed=seed) for rank in ranks}
        need = [int(audit.candidates.row.iloc[rank - 1]) for rank in ranks]
        for own, other in picked.values():
            need.extend(own.tolist() + other.tolist())
        thumbs = face_thumbnails(audit.faces, need, size=size)
        rows = []
        for rank in ranks:
            c = audit.candidates.iloc[rank - 1]
            face = audit.faces.iloc[int(c.row)]
            own, other = picked[rank]
            title = f"#{rank} {c.kind} ({c.score:.3f})\n{c.image_id}"
            rows.append(SheetRow(
                title=title, photo=photo_thumbnail(face.path, face.box, size=size), face=thumbs[int(c.row)],
                own=[thumbs[int(r)] for r in own], own_label=f"labelled: {audit.label(c.identity)}",
                other=[thumbs[int(r)] for r in other],
                other_label=f"resembles: {audit.label(c.other_identity)}" if len(other) else ""))
        return cls(rows, per_identity=per_identity)

    def plot(self, fig=None, *, scale: float = 1.15) -> AuditSheetDisplay:
        """Draw; returns self with ``figure_`` and ``axes_`` (2-D array) set."""
        import matplotlib.pyplot as plt

        per = self.per_identity
        n_cols = 2 + 2 * per
        n_rows = max(1, len(self.rows))
        if fig is None:
            fig = plt.figure(figsize=(n_cols * scale + 0.4, n_rows * (scale + 0.45)))
        axes = fig.subplots(n_rows, n_cols, squeeze=False)
        for ax in axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
        for i, row in enumerate(self.rows):
            axes[i, 0].imshow(row.photo)
            axes[i, 0].set_title(row.title, fontsize=6.5, loc="left")
            axes[i, 1].imshow(row.face)
            for j, im in enumerate(row.own[:per]):
                axes[i, 2 + j].imshow(im)
            for j, im in enumerate(row.other[:per]):
                axes[i, 2 + per + j].imshow(im)
                for s in axes[i, 2 + per + j].spines.values():  # the other identity's faces framed
                    s.set_visible(True)
                    s.set_color("#1f77b4")
            axes[i, 2].set_title(row.own_label, fontsize=7, loc="left")
            if row.other_label:
                axes[i, 2 + per].set_title(row.other_label, fontsize=7, loc="left", color="#1f77b4")
        fig.subplots_adjust(wspace=0.04, hspace=0.55, left=0.01, right=0.99, top=0.97, bottom=0.01)
        self.figure_ = fig
        self.axes_ = axes
        return self
