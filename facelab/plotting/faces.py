"""Pictures of faces: detections drawn over photos, aligned-face grids, the mean aligned face.

Examples
--------
>>> from facelab.plotting.faces import LandmarksDisplay, AlignedGridDisplay, MeanFaceDisplay
>>> LandmarksDisplay.from_result(result, image).plot()                 # doctest: +SKIP
>>> AlignedGridDisplay.from_images({"Colin": chips1, "Tony": chips2}).plot()  # doctest: +SKIP
>>> MeanFaceDisplay.from_images(chips, template=template(112)).plot()  # doctest: +SKIP
>>> AlignmentDisplay.from_faces(images, faces, "arcface112")          # doctest: +SKIP
>>> ChipsDisplay.from_faces(images, faces, "seed64")                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

import numpy as np

from facelab.stages.faces import DetectionResult, Face, Keypoint

__all__ = [
    "LandmarksDisplay",
    "AlignedGridDisplay",
    "AlignmentDisplay",
    "ChipsDisplay",
    "MeanFaceDisplay",
    "PreprocessingDisplay",
    "plot_residuals",
]

#: Short labels of the five keypoints, in ArcFace order.
KEYPOINT_LABELS = {
    Keypoint.LEFT_EYE: "left eye",
    Keypoint.RIGHT_EYE: "right eye",
    Keypoint.NOSE: "nose",
    Keypoint.MOUTH_LEFT: "mouth left",
    Keypoint.MOUTH_RIGHT: "mouth right",
}
_KEYPOINT_MARKERS = ("o", "s", "^", "v", "D")


def _new_ax(ax, figsize=(4, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


class LandmarksDisplay:
    """Boxes and landmarks drawn over a photo.

    Parameters
    ----------
    image : numpy.ndarray or None
        ``(H, W, 3)`` uint8 photo (None draws the points only, e.g. over another display).
    faces : sequence of Face
    chosen : int, optional
        The face the multi-face policy picked (drawn solid; others dashed).
    title : str, optional
    label : str, optional
        Legend label (e.g. the backend name), useful when overlaying two backends.
    """

    def __init__(self, image, faces: Sequence[Face], *, chosen: Optional[int] = None, title=None, label=None):
        self.image = None if image is None else np.asarray(image)
        self.faces = list(faces)
        self.chosen = chosen
        self.title = title
        self.label = label

    @classmethod
    def from_result(cls, result: DetectionResult, image=None, *, title=None, label=None,
                    policy: Optional[str] = None) -> LandmarksDisplay:
        """From a :class:`~facelab.stages.faces.DetectionResult`; loads ``result.image`` if no image is given.

        ``policy`` (``"largest"`` / ``"central"``) marks the face that multi-face policy picks
        instead of the result's own ``chosen``.
        """
        if image is None and result.image and result.image != "<array>":
            from facelab.data.imageio import ImageLoadError, load_image

            try:
                image = load_image(result.image)
            except ImageLoadError:
                image = None
        if title is None:
            from pathlib import Path

            title = Path(result.image).name if result.ok else f"{Path(result.image).name}: {result.status.value}"
        chosen = result.chosen
        if policy is not None:
            from facelab.stages.detection import choose_face

            chosen = choose_face(result.faces, result.image_size, policy)
        return cls(image, result.faces, chosen=chosen, title=title, label=label)

    def plot(
        self,
        ax=None,
        *,
        color: str = "C1",
        show_68: bool = True,
        show_box: bool = True,
        show_image: bool = True,
        legend: bool = False,
        marker_size: float = 30,
    ) -> LandmarksDisplay:
        """Draw; returns self with ``ax_`` and ``figure_`` set.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        color : str
            Colour of boxes and points.
        show_68 : bool
            Also draw the 68 iBUG points where the backend has them (small dots).
        show_box, show_image : bool
        legend : bool
            Add a legend naming the five keypoints' markers.
        """
        from matplotlib.patches import Rectangle

        ax = _new_ax(ax)
        if show_image and self.image is not None:
            ax.imshow(self.image)
        for k, face in enumerate(self.faces):
            main = self.chosen is None or k == self.chosen
            if show_box:
                x1, y1, x2, y2 = face.box
                ax.add_patch(
                    Rectangle(
                        (x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color,
                        linewidth=1.5 if main else 1.0, linestyle="-" if main else "--",
                    )
                )
            if show_68 and face.landmarks68 is not None:
                ax.scatter(face.landmarks68[:, 0], face.landmarks68[:, 1], s=marker_size / 8, c=color, alpha=0.6, linewidths=0)
            for kp in Keypoint:
                x, y = face.landmarks[int(kp)]
                lbl = None
                if k == 0 and legend:
                    lbl = f"{self.label + ': ' if self.label else ''}{KEYPOINT_LABELS[kp]}"
                elif k == 0 and kp == Keypoint.LEFT_EYE and self.label:
                    lbl = self.label
                ax.scatter([x], [y], s=marker_size, c=color, marker=_KEYPOINT_MARKERS[int(kp)],
                           edgecolors="white", linewidths=0.6, label=lbl, zorder=3)
        if self.title:
            ax.set_title(self.title, fontsize=9)
        if self.image is not None and show_image:
            h, w = self.image.shape[:2]
            ax.set_xlim(-0.5, w - 0.5)
            ax.set_ylim(h - 0.5, -0.5)
        ax.set_xticks([])
        ax.set_yticks([])
        if (legend or self.label) and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


class AlignedGridDisplay:
    """A grid of aligned faces, one row (or block of rows) per identity.

    Parameters
    ----------
    images : dict
        identity -> sequence of ``(S, S, 3)`` uint8 chips.
    names : dict, optional
        identity -> display name.
    """

    def __init__(self, images: Mapping[str, Sequence[np.ndarray]], *, names: Optional[Mapping[str, str]] = None):
        self.images = {str(k): list(v) for k, v in images.items()}
        self.names = dict(names or {})

    @classmethod
    def from_images(cls, images, *, names=None) -> AlignedGridDisplay:
        return cls(images, names=names)

    @classmethod
    def from_table(cls, table, *, per_identity: int = 8, names=None) -> AlignedGridDisplay:
        """From :func:`~facelab.stages.alignment.align_dataset`'s table (reads the ``output`` files of ok rows)."""
        from facelab.data.imageio import load_image

        ok = table[table.status == "ok"]
        images = {
            ident: [load_image(p) for p in grp.output.head(per_identity)] for ident, grp in ok.groupby("identity", sort=False)
        }
        return cls(images, names=names)

    def plot(self, fig=None, *, per_row: int = 8, max_per_identity: Optional[int] = None, scale: float = 1.1) -> AlignedGridDisplay:
        """Draw; returns self with ``figure_`` and ``axes_`` (2-D array) set."""
        import matplotlib.pyplot as plt

        blocks = []
        for ident, ims in self.images.items():
            ims = ims[:max_per_identity] if max_per_identity else ims
            rows = max(1, int(np.ceil(len(ims) / per_row)))
            blocks.append((ident, ims, rows))
        n_rows = sum(b[2] for b in blocks) or 1
        if fig is None:
            fig = plt.figure(figsize=(per_row * scale, n_rows * scale + 0.3))
        axes = fig.subplots(n_rows, per_row, squeeze=False)
        r0 = 0
        for ident, ims, rows in blocks:
            for j in range(rows * per_row):
                ax = axes[r0 + j // per_row, j % per_row]
                if j < len(ims):
                    ax.imshow(ims[j])
                if j == 0:
                    ax.set_ylabel(self.names.get(ident, ident), fontsize=8)
            r0 += rows
        for ax in axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
        fig.subplots_adjust(wspace=0.03, hspace=0.03, left=0.06, right=0.99, top=0.99, bottom=0.01)
        self.figure_ = fig
        self.axes_ = axes
        return self


class ChipsDisplay:
    """A row of aligned chips, each with the template's points (crosses) and where the face's own
    landmarks landed (dots).

    Parameters
    ----------
    chips : sequence of AlignedFace or ndarray
        :class:`~facelab.stages.alignment.AlignedFace` (its mapped ``landmarks`` drawn) or plain images.
    template : ndarray, optional
        ``(5, 2)`` points in the chip's pixels.
    titles : sequence of str, optional
    """

    def __init__(self, chips: Sequence, *, template=None, titles: Optional[Sequence[str]] = None):
        self.chips = list(chips)
        self.template = None if template is None else np.asarray(template, dtype=float).reshape(5, 2)
        self.titles = list(titles) if titles is not None else None

    @classmethod
    def from_faces(cls, images: Sequence, faces: Sequence[Face], preset="arcface112", *, titles=None,
                   axes=None, **plot_kwargs) -> ChipsDisplay:
        """Cut each face's chip with ``preset`` (a name or :class:`~facelab.stages.alignment.Preset`)
        and draw them; titles default to the preset, its size and each chip's residual."""
        from facelab.stages.alignment import get_preset

        preset = get_preset(preset)
        chips = [preset(im, f) for im, f in zip(images, faces)]
        if titles is None:
            titles = [f"{preset.name} {c.image.shape[1]}x{c.image.shape[0]}, residual {c.residual:.1f} px"
                      for c in chips]
        return cls(chips, template=preset.template(), titles=titles).plot(axes, **plot_kwargs)

    @classmethod
    def from_files(cls, paths: Sequence, *, titles=None, axes=None, **plot_kwargs) -> ChipsDisplay:
        """Chips written to disk (e.g. the ``output`` column of
        :func:`~facelab.stages.alignment.align_dataset`'s table)."""
        from facelab.data.imageio import load_image

        return cls([load_image(p) for p in paths], titles=titles).plot(axes, **plot_kwargs)

    def plot(self, axes=None, *, size: float = 2.4, fontsize: float = 8) -> ChipsDisplay:
        """Draw one chip per axis; returns self with ``axes_`` and ``figure_`` set.

        Parameters
        ----------
        axes : sequence of Axes, optional
            One per chip (default a new one-row figure).
        size : float
            Inches per chip of a new figure.
        """
        import matplotlib.pyplot as plt

        if axes is None:
            fig = plt.figure(figsize=(size * max(len(self.chips), 1), size + 0.35), layout="constrained")
            axes = fig.subplots(1, max(len(self.chips), 1), squeeze=False)[0]
        axes = list(np.ravel(axes))
        for k, ax in enumerate(axes):
            ax.set_axis_off()
            if k >= len(self.chips):
                continue
            chip = self.chips[k]
            image = getattr(chip, "image", chip)
            ax.imshow(image)
            if self.template is not None:
                ax.scatter(*self.template.T, marker="+", s=80, c="C3", linewidths=1.5)
            mapped = getattr(chip, "landmarks", None)
            if mapped is not None:
                ax.scatter(*np.asarray(mapped).T, s=15, c="C1")
            if self.titles:
                ax.set_title(self.titles[k], fontsize=fontsize)
        self.axes_ = np.asarray(axes)
        self.figure_ = axes[0].figure
        return self


class AlignmentDisplay:
    """Before and after alignment: each photo with its landmarks (top) and its chip with the
    template's points and where the landmarks landed (bottom).

    Parameters
    ----------
    images : sequence of ndarray
        ``(H, W, 3)`` uint8 photos.
    faces : sequence of Face
    preset : str or Preset
    titles : sequence of str, optional
    """

    def __init__(self, images: Sequence, faces: Sequence[Face], preset="arcface112", *, titles=None):
        from facelab.stages.alignment import get_preset

        self.images = list(images)
        self.faces = list(faces)
        self.preset = get_preset(preset)
        self.titles = list(titles) if titles is not None else None

    @classmethod
    def from_faces(cls, images, faces, preset="arcface112", *, titles=None, figure=None) -> AlignmentDisplay:
        return cls(images, faces, preset, titles=titles).plot(figure)

    def plot(self, figure=None, *, size: float = 3.2) -> AlignmentDisplay:
        """Draw; returns self with ``axes_`` (2 x n) and ``figure_`` set."""
        import matplotlib.pyplot as plt

        n = max(len(self.faces), 1)
        if figure is None:
            figure = plt.figure(figsize=(size * n, 2 * size + 0.4), layout="constrained")
        axes = figure.subplots(2, n, squeeze=False)
        for k, (image, face) in enumerate(zip(self.images, self.faces)):
            title = self.titles[k] if self.titles else None
            LandmarksDisplay(image, [face], title=title).plot(ax=axes[0, k], show_68=False)
        chips = [self.preset(im, f) for im, f in zip(self.images, self.faces)]
        ChipsDisplay(chips, template=self.preset.template(),
                     titles=[f"residual {c.residual:.1f} px" for c in chips]).plot(axes[1], fontsize=9)
        self.axes_ = axes
        self.figure_ = figure
        return self


class PreprocessingDisplay:
    """One face from photo to network input: the photo with its detection, dlib's 150 px chip,
    then the reference preprocessing of the 112 px ArcFace chip step by step
    (:func:`facelab.embedders.preprocessing.preprocess_steps`: ``Resize``, ``CenterCrop``,
    ``Normalize``).

    Parameters
    ----------
    image : ndarray
        ``(H, W, 3)`` uint8 photo.
    face : Face
    input_size : int
        The network's input side (the reference ``ir_18``: 64).
    n_faces : int, optional
        Faces found in the photo (for the first panel's title).

    Attributes
    ----------
    steps : list of (str, ndarray)
        The preprocessing steps; the last is the network input, float32 in [-1, 1].
    """

    def __init__(self, image, face: Face, *, input_size: int = 64, n_faces: Optional[int] = None):
        from facelab.embedders.preprocessing import preprocess_steps
        from facelab.stages.alignment import get_preset

        self.image = np.asarray(image)
        self.face = face
        self.n_faces = n_faces
        self.dlib_chip = get_preset("dlib150")(self.image, face).image
        self.steps = preprocess_steps(get_preset("arcface112")(self.image, face).image, input_size)

    @classmethod
    def from_result(cls, result: DetectionResult, image=None, *, input_size: int = 64, figure=None):
        """From a detection (the photo read from ``result.image`` unless given)."""
        if image is None:
            from facelab.data.imageio import load_image

            image = load_image(result.image)
        if not result.ok:
            raise ValueError(f"no face to show in {result.image}: {result.reason}")
        return cls(image, result.face, input_size=input_size, n_faces=len(result.faces)).plot(figure)

    def plot(self, figure=None, *, size: float = 2.7) -> PreprocessingDisplay:
        """Draw one panel per step; returns self with ``axes_`` and ``figure_`` set."""
        import matplotlib.pyplot as plt

        panels = 2 + len(self.steps)
        if figure is None:
            figure = plt.figure(figsize=(size * panels, size + 0.5), layout="constrained")
        axes = figure.subplots(1, panels, squeeze=False)[0]
        found = f"{self.n_faces} face{'s' if self.n_faces != 1 else ''}" if self.n_faces is not None else "detection"
        LandmarksDisplay(self.image, [self.face], title=f"photo + detection ({found})").plot(
            ax=axes[0], show_68=False, color="lime")
        axes[1].imshow(self.dlib_chip)
        axes[1].set_title("dlib150 chip (dlib model)", fontsize=9)
        for ax, (title, im) in zip(axes[2:], self.steps):
            ax.imshow(np.clip((im + 1) / 2, 0, 1) if im.dtype != np.uint8 else im)
            ax.set_title(title, fontsize=9)
        for ax in axes:
            ax.set_axis_off()
        self.axes_ = axes
        self.figure_ = figure
        return self


def mean_face(images: Sequence[np.ndarray]) -> np.ndarray:
    """Pixel-wise mean of equal-size aligned chips, as ``uint8``."""
    stack = np.stack([np.asarray(im, dtype=np.float64) for im in images])
    return np.clip(stack.mean(axis=0) + 0.5, 0, 255).astype(np.uint8)


class MeanFaceDisplay:
    """The mean aligned face, with the template points it was aligned to.

    A sharp mean face (eyes, nose and mouth crisp) shows that alignment put the features where
    the template says; blur around a feature shows spread.

    Parameters
    ----------
    mean : numpy.ndarray
        ``(S, S, 3)`` uint8 mean face.
    template : numpy.ndarray, optional
        ``(5, 2)`` template points in the chip's pixels.
    landmarks : numpy.ndarray, optional
        ``(N, 5, 2)`` per-face landmarks mapped into the chip (drawn as a faint cloud).
    n : int, optional
        How many faces were averaged (for the title).
    """

    def __init__(self, mean, *, template=None, landmarks=None, n=None, title=None):
        self.mean = np.asarray(mean)
        self.template = None if template is None else np.asarray(template, dtype=float).reshape(5, 2)
        self.landmarks = None if landmarks is None else np.asarray(landmarks, dtype=float).reshape(-1, 5, 2)
        self.n = n
        self.title = title

    @classmethod
    def from_images(cls, images, *, template=None, landmarks=None, title=None) -> MeanFaceDisplay:
        images = list(images)
        return cls(mean_face(images), template=template, landmarks=landmarks, n=len(images), title=title)

    @classmethod
    def from_faces(cls, images: Sequence, faces: Sequence[Face], preset="arcface112", *, title=None,
                   ax=None) -> MeanFaceDisplay:
        """The mean of the faces' chips cut by ``preset``, with its template and every face's mapped
        landmarks, drawn."""
        from facelab.stages.alignment import get_preset

        preset = get_preset(preset)
        chips = [preset(im, f) for im, f in zip(images, faces)]
        landmarks = [c.landmarks for c in chips if c.landmarks is not None]
        return cls.from_images([c.image for c in chips], template=preset.template(),
                               landmarks=landmarks or None, title=title).plot(ax)

    def plot(self, ax=None, *, color: str = "C3") -> MeanFaceDisplay:
        """Draw; returns self with ``ax_`` and ``figure_`` set."""
        ax = _new_ax(ax)
        ax.imshow(self.mean)
        if self.landmarks is not None and len(self.landmarks):
            pts = self.landmarks.reshape(-1, 2)
            ax.scatter(pts[:, 0], pts[:, 1], s=4, c="C0", alpha=0.35, linewidths=0, label="each face")
        if self.template is not None:
            ax.scatter(self.template[:, 0], self.template[:, 1], s=60, marker="+", c=color, linewidths=1.5, label="template")
            ax.legend(fontsize=7, loc="lower right")
        size = self.mean.shape[0]
        title = self.title or (f"mean of {self.n} aligned faces ({size}x{size})" if self.n else f"mean face ({size}x{size})")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


def plot_residuals(residuals, ax=None, *, bins: int = 30, label=None, threshold: Optional[float] = None):
    """Histogram of alignment residuals (RMS px to the template); returns the Axes.

    Parameters
    ----------
    residuals : array-like or dict
        Values (NaN ignored), or a dict label -> values for overlaid histograms.
    threshold : float, optional
        Draw a vertical line (e.g. a cut-off for "bad fit").
    """
    ax = _new_ax(ax, figsize=(5, 3))
    groups = residuals if isinstance(residuals, Mapping) else {label: residuals}
    all_vals = np.concatenate([np.asarray(v, dtype=float).ravel() for v in groups.values()])
    all_vals = all_vals[np.isfinite(all_vals)]
    edges = np.histogram_bin_edges(all_vals if len(all_vals) else [0, 1], bins=bins)
    for name, vals in groups.items():
        v = np.asarray(vals, dtype=float)
        v = v[np.isfinite(v)]
        ax.hist(v, bins=edges, alpha=0.6, label=None if name is None else f"{name} (n={len(v)})")
    if threshold is not None:
        ax.axvline(threshold, color="k", linestyle="--", linewidth=1)
    ax.set_xlabel("alignment residual (RMS px to template)")
    ax.set_ylabel("images")
    if any(k is not None for k in groups):
        ax.legend(fontsize=8)
    return ax
