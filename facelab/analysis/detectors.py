"""Several detectors on the same photos (computing only; figures in :mod:`facelab.plotting.detectors`).

- :func:`compare_detectors`: every photo decoded once and given to each detector, its detection
  timed -> :class:`DetectorComparison` (results, seconds per photo, status counts, failures,
  photos with several faces and what each multi-face policy picks there);
- :func:`landmark_agreement`: how far apart two detectors put the five points of the same face,
  in pixels and as a fraction of the inter-ocular distance -> :class:`LandmarkAgreement`.

What notebook 01 shows for dlib, MTCNN and YuNet.

Examples
--------
>>> from facelab.analysis.detectors import compare_detectors
>>> cmp = compare_detectors(images, ["dlib", "mtcnn", "yunet"])      # doctest: +SKIP
>>> cmp.times()                                                     # doctest: +SKIP
>>> cmp.agreement("dlib", "yunet").summary()                        # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError, FacelabError
from facelab.stages.faces import DetectionResult, DetectionStatus, Keypoint

__all__ = ["DetectorComparison", "LandmarkAgreement", "compare_detectors", "landmark_agreement"]

#: Column names of the five keypoints, in ArcFace order.
POINTS = tuple(k.name.lower() for k in Keypoint)
#: Mean point distance (in inter-ocular distances) above which two detectors chose different faces.
SAME_FACE_IOD = 0.5


def inter_ocular(landmarks) -> float:
    """Distance between the two eye centres of five ArcFace-ordered points."""
    p = np.asarray(landmarks, dtype=np.float64)
    return float(np.linalg.norm(p[Keypoint.RIGHT_EYE] - p[Keypoint.LEFT_EYE]))


@dataclass
class LandmarkAgreement:
    """Two detectors' five points on the photos where both found a face.

    Attributes
    ----------
    a, b : str
        The detectors' names.
    table : pandas.DataFrame
        One row per photo where both found a face (index ``image_id``): ``iod`` (the inter-ocular
        distance, the mean of the two detectors'), the distance of each keypoint in pixels
        (``left_eye`` ... ``mouth_right``), ``mean`` (their mean) and ``same_face`` (False where the
        points are more than ``same_face_iod`` inter-ocular distances apart on average: the two
        chose different people of one photo, which is not a disagreement about landmarks).
    only_a, only_b : list of str
        Photos where only ``a`` (only ``b``) found a face.
    same_face_iod : float
    """

    a: str
    b: str
    table: pd.DataFrame
    only_a: list = field(default_factory=list)
    only_b: list = field(default_factory=list)
    same_face_iod: float = SAME_FACE_IOD

    @property
    def different_faces(self) -> list:
        """Photos where the two detectors chose different faces."""
        return list(self.table.index[~self.table.same_face])

    @property
    def n_photos(self) -> int:
        """Photos where both found the same face (those the fractions are over)."""
        return int(self.table.same_face.sum())

    @property
    def per_point(self) -> pd.Series:
        """Mean distance of each keypoint, as a fraction of the inter-ocular distance."""
        return self.fractions().mean()

    @property
    def overall(self) -> float:
        """Mean distance over the five keypoints and the photos, as a fraction of the inter-ocular distance."""
        frac = self.fractions().to_numpy()
        return float(frac.mean()) if frac.size else float("nan")

    def fractions(self) -> pd.DataFrame:
        """Each keypoint's distance divided by the photo's inter-ocular distance (same-face rows)."""
        same = self.table[self.table.same_face]
        return same[list(POINTS)].div(same.iod, axis=0)

    def summary(self) -> pd.DataFrame:
        """Per keypoint (and all five): photos, mean, median and 90th percentile of the distance
        as a fraction of the inter-ocular distance, and its median in pixels (same-face rows)."""
        same = self.table[self.table.same_face]
        frac = self.fractions()
        frac = frac.assign(all=same["mean"] / same.iod)
        px = same[list(POINTS)].assign(all=same["mean"])
        out = pd.DataFrame({
            "photos": frac.count(),
            "mean / IOD": frac.mean(),
            "median / IOD": frac.median(),
            "90% / IOD": frac.quantile(0.9),
            "median px": px.median(),
        })
        out.index.name = f"{self.a} vs {self.b}"
        return out


def landmark_agreement(results_a: Sequence[DetectionResult], results_b: Sequence[DetectionResult], *,
                       ids: Optional[Sequence[str]] = None, a: str = "a", b: str = "b",
                       same_face_iod: float = SAME_FACE_IOD) -> LandmarkAgreement:
    """How far apart two detectors put the five points of each photo's chosen face.

    Parameters
    ----------
    results_a, results_b : sequence of DetectionResult
        The two detectors' results on the same photos, in the same order.
    ids : sequence of str, optional
        A name per photo (default the results' ``image``).
    a, b : str
        The detectors' names.
    same_face_iod : float
        Mean distance, in inter-ocular distances, above which the two chose different faces.
    """
    if len(results_a) != len(results_b):
        raise EvaluationError(f"{a} has {len(results_a)} results and {b} {len(results_b)}: not the same photos")
    ids = [r.image for r in results_a] if ids is None else [str(i) for i in ids]
    if len(ids) != len(results_a):
        raise EvaluationError(f"{len(ids)} ids for {len(results_a)} photos")
    rows, only_a, only_b = [], [], []
    for name, ra, rb in zip(ids, results_a, results_b):
        if ra.ok and rb.ok:
            pa, pb = ra.face.landmarks, rb.face.landmarks
            d = np.linalg.norm(pa - pb, axis=1)
            iod = (inter_ocular(pa) + inter_ocular(pb)) / 2
            rows.append({"image_id": name, "iod": iod, **dict(zip(POINTS, d)), "mean": float(d.mean())})
        elif ra.ok:
            only_a.append(name)
        elif rb.ok:
            only_b.append(name)
    table = pd.DataFrame(rows, columns=["image_id", "iod", *POINTS, "mean"]).set_index("image_id")
    table["same_face"] = table["mean"] < same_face_iod * table.iod
    return LandmarkAgreement(a, b, table, only_a, only_b, same_face_iod)


@dataclass
class DetectorComparison:
    """What :func:`compare_detectors` found.

    Attributes
    ----------
    images : pandas.DataFrame
        ``image_id``, ``path`` (and ``identity`` when given), one row per photo, in order.
    results : dict of str to list of DetectionResult
        Each detector's result of every photo (never one dropped), in the order of ``images``.
    seconds : dict of str to numpy.ndarray
        Each detector's detection time of every photo (decoding excluded; NaN where the file could
        not be read).
    policy : str
        The multi-face policy the results' ``chosen`` faces follow.
    unavailable : dict of str to str
        Detectors asked for that cannot run here (e.g. their weight file is absent), with the reason.
    """

    images: pd.DataFrame
    results: dict
    seconds: dict
    policy: str = "largest"
    unavailable: dict = field(default_factory=dict)

    @property
    def names(self) -> list:
        return list(self.results)

    def summary(self) -> str:
        """One line: photos, detectors, policy, and the detectors that could not run, with why."""
        line = f"{len(self.images)} photos, detectors {', '.join(self.names)} (policy {self.policy!r})"
        for n, why in self.unavailable.items():
            line += f"; {n} not run: {why}"
        return line

    def positions(self, image_ids) -> list:
        """Row of each image id in :attr:`images`."""
        where = {k: i for i, k in enumerate(self.images.image_id)}
        return [where[str(k)] for k in image_ids]

    def result(self, detector: str, image_id: str) -> DetectionResult:
        """One detector's result of one photo."""
        return self.results[detector][self.positions([image_id])[0]]

    def status_counts(self) -> pd.DataFrame:
        """Photos per status (rows: ``ok``, ``no_face``, ``error``) and detector (columns)."""
        counts = {n: pd.Series([r.status.value for r in res]).value_counts() for n, res in self.results.items()}
        order = [s.value for s in DetectionStatus]
        return pd.DataFrame(counts).reindex(order).fillna(0).astype(int)

    def times(self) -> pd.DataFrame:
        """Per detector: photos timed, and the median, mean and 90th percentile of milliseconds per photo."""
        rows = []
        for n, s in self.seconds.items():
            ms = 1000 * s[np.isfinite(s)]
            rows.append({"detector": n, "photos": int(ms.size), "median ms": np.median(ms) if ms.size else np.nan,
                         "mean ms": ms.mean() if ms.size else np.nan,
                         "90% ms": np.quantile(ms, 0.9) if ms.size else np.nan})
        return pd.DataFrame(rows).set_index("detector")

    def agreement(self, a: str, b: str) -> LandmarkAgreement:
        """:func:`landmark_agreement` of detectors ``a`` and ``b``."""
        for n in (a, b):
            if n not in self.results:
                raise EvaluationError(f"no detector {n!r} in this comparison ({', '.join(self.names)})")
        return landmark_agreement(self.results[a], self.results[b], ids=self.images.image_id, a=a, b=b)

    def agreements(self) -> dict:
        """:meth:`agreement` of every two detectors, keyed ``"a vs b"`` (in the order they were given)."""
        return {f"{a} vs {b}": self.agreement(a, b) for a, b in combinations(self.names, 2)}

    def agreement_table(self) -> pd.DataFrame:
        """Every two detectors: photos both found the same face in, and the overall and per-keypoint
        mean distance as fractions of the inter-ocular distance."""
        return pd.DataFrame([{"a": g.a, "b": g.b, "photos": g.n_photos, "overall": g.overall, **g.per_point.to_dict()}
                             for g in self.agreements().values()], columns=["a", "b", "photos", "overall", *POINTS])

    def most_disagreed(self, n: int = 3) -> pd.Series:
        """The ``n`` photos where two detectors' points are furthest apart: image_id -> the largest,
        over every two detectors, mean keypoint distance as a fraction of the inter-ocular distance."""
        per_pair = [a.table["mean"] / a.table.iod for a in self.agreements().values()]
        if not per_pair:
            return pd.Series(dtype=float, name="mean distance / IOD")
        worst = pd.concat(per_pair, axis=1).max(axis=1)
        return worst.sort_values(ascending=False).head(n).rename("mean distance / IOD")

    def failures(self) -> pd.DataFrame:
        """Every photo a detector found no face in or could not read: detector, image_id, status, reason."""
        rows = [{"detector": n, "image_id": i, "status": r.status.value, "reason": r.reason}
                for n, res in self.results.items() for i, r in zip(self.images.image_id, res) if not r.ok]
        return pd.DataFrame(rows, columns=["detector", "image_id", "status", "reason"])

    def multi_face(self) -> pd.DataFrame:
        """Every photo where a detector found several faces: detector, image_id, faces, the face each
        policy picks (``largest``, ``central``) and whether they differ."""
        from facelab.stages.detection import POLICIES, choose_face

        rows = []
        for n, res in self.results.items():
            for i, r in zip(self.images.image_id, res):
                if len(r.faces) > 1:
                    picks = {p: choose_face(r.faces, r.image_size, p) for p in POLICIES}
                    rows.append({"detector": n, "image_id": i, "faces": len(r.faces), **picks,
                                 "differ": len(set(picks.values())) > 1})
        return pd.DataFrame(rows, columns=["detector", "image_id", "faces", *POLICIES, "differ"])


def _image_table(images) -> pd.DataFrame:
    if isinstance(images, pd.DataFrame):
        if "path" not in images.columns:
            raise EvaluationError("the image table needs a 'path' column")
        df = images.reset_index(drop=True)
        if "image_id" not in df.columns:
            df = df.assign(image_id=[str(p) for p in df.path])
        return df
    paths = [str(p) for p in images]
    stems = [Path(p).stem for p in paths]
    return pd.DataFrame({"image_id": stems if len(set(stems)) == len(stems) else paths, "path": paths})


def compare_detectors(images, detectors: Sequence = ("dlib", "mtcnn", "yunet"), *, policy: str = "largest",
                      threads: Optional[int] = 1, skip_unavailable: bool = False,
                      progress: bool = False) -> DetectorComparison:
    """Run several detectors on the same photos, each photo decoded once, each detection timed.

    Parameters
    ----------
    images : pandas.DataFrame or sequence of path-like
        ``image_id`` and ``path`` (e.g. :attr:`facelab.data.datasets.FolderDataset.images`), or paths
        (named by their file names without extension, or by their paths where two names clash).
    detectors : sequence of str or Detector
        Registered names (each built as the pipeline builds it:
        :func:`facelab.engine.settings.make_detector`; dlib is the HOG ladder) or ready detectors.
    policy : {"largest", "central"}
        Which face of a photo with several is each result's ``chosen``.
    threads : int or None
        PyTorch CPU threads while the detectors run (MTCNN; dlib and YuNet use one thread of their
        own), so that every detector's time is one core's; None leaves PyTorch's setting alone.
    skip_unavailable : bool
        Leave out a detector that cannot be built here (a :class:`~facelab.core.errors.FacelabError`,
        e.g. YuNet without its weight file), with the reason in ``unavailable``, instead of raising.
    progress : bool
        A progress bar over the photos.

    Returns
    -------
    DetectorComparison
        Unreadable files are ``error`` results with the reason, for every detector.

    Notes
    -----
    Each detector is run once on the first readable photo before the timed pass, so loading its
    model is not counted in any photo's time. Times are wall-clock seconds in this process: on a
    shared machine they vary with its load. One photo at a time on one thread is how the detectors
    compare; on a busy machine PyTorch's default of a thread per core is much slower for a network
    as small as MTCNN (its threads wait for each other: 2 s a photo instead of 0.17 s at a load of
    13 on 2 cores).
    """
    from contextlib import ExitStack

    from facelab.core.devices import torch_threads
    from facelab.data.imageio import ImageLoadError, load_image
    from facelab.engine.settings import make_detector
    from facelab.stages.detection import choose_face

    choose_face([], (1, 1), policy)  # an unknown policy fails before any work
    df = _image_table(images)
    dets, unavailable = {}, {}
    for d in detectors:
        name = d if isinstance(d, str) else getattr(d, "name", type(d).__name__)
        if name in dets or name in unavailable:
            raise EvaluationError(f"detector {name!r} is named twice")
        try:
            dets[name] = make_detector(d) if isinstance(d, str) else d
        except FacelabError as exc:
            if not skip_unavailable:
                raise
            unavailable[name] = str(exc).splitlines()[0]
    results = {n: [] for n in dets}
    seconds = {n: np.full(len(df), np.nan) for n in dets}
    warm = False
    rows = df.path
    if progress:
        from tqdm.auto import tqdm

        rows = tqdm(rows, total=len(df), desc="detect", unit="img")
    with ExitStack() as threads_set:
        for i, path in enumerate(rows):
            try:
                image = load_image(path)
            except ImageLoadError as exc:
                for n in dets:
                    results[n].append(DetectionResult(str(path), DetectionStatus.ERROR, exc.reason))
                continue
            if not warm:  # load every model (and PyTorch, where one uses it) before the first timed detection
                for det in dets.values():
                    try:
                        det.detect(image, policy=policy)
                    except Exception:  # noqa: S110 - its timed call below records the failure
                        pass
                threads_set.enter_context(torch_threads(threads))
                warm = True
            _detect_each(dets, image, path, policy, results, seconds, i)
    return DetectorComparison(df, results, seconds, policy, unavailable)


def _detect_each(dets, image, path, policy, results, seconds, i) -> None:
    """One photo through every detector, each detection timed."""
    for n, det in dets.items():
        t0 = time.perf_counter()
        try:
            results[n].append(det.detect(image, path=path, policy=policy))
        except Exception as exc:  # one photo that breaks a detector is a result, as in detect_paths
            results[n].append(DetectionResult(str(path), DetectionStatus.ERROR,
                                              f"detector failed ({type(exc).__name__}: {exc})",
                                              image_size=tuple(image.shape[:2])))
            continue
        seconds[n][i] = time.perf_counter() - t0
