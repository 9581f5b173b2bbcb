"""The experiments a face-recognition course needs, on real faces (computing only; figures in
:mod:`facelab.plotting.experiments`).

* **Alignment sensitivity** (:func:`alignment_sensitivity`): shift, rotate or scale the five
  landmarks by a controlled amount before alignment, re-embed, and measure how verification
  degrades. Faces are detected once (:func:`detect_faces`); each perturbation level only re-aligns
  the same detected landmarks and re-embeds, so a curve costs one embedding per face and level.
* **The LFW protocol** (:func:`protocol_bias`, :func:`bias_vs_pairs`): the threshold chosen on nine
  folds and tested on the tenth, against the threshold chosen on all pairs (or on the test fold
  itself): the optimistic bias of testing on the data the threshold was fitted to, measured.
* **Nearest neighbours** (:func:`nearest_neighbours`): the k faces closest to a query in embedding
  space (cosine), and whether they are the same person.
* **The embedding itself** (:func:`embedding_anatomy`, :func:`dimension_stats`): raw norms before
  L2 normalisation against face quality (detection score, alignment residual, blur), per-dimension
  statistics, and what flip averaging does to a vector.

Every function works with any :class:`facelab.embedders.embedding.Embedder` and its alignment preset.

Examples
--------
>>> from facelab.analysis import experiments as X
>>> from facelab.embedders.embedding import create_embedder
>>> faces = X.detect_faces(images_df)                                              # doctest: +SKIP
>>> r = X.alignment_sensitivity(faces, create_embedder("dlib"), kind="rotation",
...                             levels=[0, 5, 10, 20])                             # doctest: +SKIP
>>> r.table[["level", "accuracy", "eer", "genuine_mean"]]                          # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from facelab import verification as V
from facelab.core.errors import EvaluationError
from facelab.core.vectors import unit_rows
from facelab.stages.faces import Face, Keypoint

__all__ = [
    "PERTURBATIONS",
    "EmbeddingAnatomy",
    "FaceSet",
    "ProtocolBias",
    "SensitivityResult",
    "alignment_sensitivity",
    "bias_vs_pairs",
    "blur_score",
    "detect_faces",
    "dimension_stats",
    "embedding_anatomy",
    "landmark_residual",
    "lfw_pairs_subset",
    "nearest_neighbours",
    "perturb_landmarks",
    "perturbation_matrix",
    "perturbed_chip",
    "protocol_bias",
    "raw_embeddings",
]

#: Perturbation kinds and their units.
PERTURBATIONS = {"shift": "fraction of the inter-ocular distance", "shift_px": "pixels",
                 "rotation": "degrees", "scale": "scale factor"}
#: The level meaning "no perturbation", per kind.
_IDENTITY = {"shift": 0.0, "shift_px": 0.0, "rotation": 0.0, "scale": 1.0}


# --------------------------------------------------------------------------------------------
# Faces detected once
# --------------------------------------------------------------------------------------------


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
    from facelab.engine.pool import make_detector
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


# --------------------------------------------------------------------------------------------
# Alignment sensitivity
# --------------------------------------------------------------------------------------------


def _eye_centre_iod(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    le, re = landmarks[Keypoint.LEFT_EYE], landmarks[Keypoint.RIGHT_EYE]
    return (le + re) / 2.0, float(np.linalg.norm(re - le))


def perturbation_matrix(landmarks, *, kind: str, level: float, direction: float = 0.0) -> np.ndarray:
    """The 3x3 similarity that perturbs a face's landmarks, in image pixels.

    Parameters
    ----------
    landmarks : (5, 2) array
        The face's five points (ArcFace order).
    kind : {"shift", "shift_px", "rotation", "scale"}
        ``shift``: move all points by ``level`` inter-ocular distances; ``shift_px``: by ``level``
        pixels; ``rotation``: turn them ``level`` degrees about the eye centre; ``scale``: scale
        them by ``level`` about the eye centre.
    level : float
    direction : float
        For shifts, the direction in radians (0 = +x, to the right of the image).
    """
    if kind not in PERTURBATIONS:
        raise ValueError(f"kind must be one of {sorted(PERTURBATIONS)}, got {kind!r}")
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    c, iod = _eye_centre_iod(pts)
    m = np.eye(3)
    if kind in ("shift", "shift_px"):
        d = float(level) * (iod if kind == "shift" else 1.0)
        m[:2, 2] = d * np.cos(direction), d * np.sin(direction)
        return m
    if kind == "rotation":
        a = math.radians(float(level))
        lin = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    else:
        if not level > 0:
            raise ValueError(f"a scale factor must be positive, got {level}")
        lin = np.eye(2) * float(level)
    m[:2, :2] = lin
    m[:2, 2] = c - lin @ c  # about the eye centre
    return m


def perturb_landmarks(landmarks, *, kind: str, level: float, direction: float = 0.0) -> np.ndarray:
    """The five points moved by :func:`perturbation_matrix`."""
    from facelab.stages.alignment import apply_transform

    return apply_transform(perturbation_matrix(landmarks, kind=kind, level=level, direction=direction), landmarks)


def perturbed_chip(image, face: Face, preset, *, kind: str, level: float, direction: float = 0.0, base_matrix=None):
    """The preset's chip of ``face`` aligned from perturbed landmarks (uint8 ``(S, S, 3)``).

    Presets with a template (ArcFace, ``seed64``) align the perturbed five points. Presets that locate their own points
    (``dlib150`` runs dlib's 5-point predictor inside the box) get the same similarity composed
    into their transform: a least-squares similarity fit moves with its points, so aligning points
    moved by ``P`` gives the transform ``M @ inv(P)`` exactly.

    Parameters
    ----------
    base_matrix : (3, 3) array, optional
        The preset's unperturbed image-to-chip matrix (saves recomputing it for every level).
    """
    from facelab.stages.alignment import get_preset, warp_affine

    preset = get_preset(preset)
    if preset.template() is not None:
        moved = perturb_landmarks(face.landmarks, kind=kind, level=level, direction=direction)
        return preset(image, replace(face, landmarks=moved)).image
    m = np.asarray(base_matrix if base_matrix is not None else preset(image, face).matrix, dtype=np.float64)
    p = perturbation_matrix(face.landmarks, kind=kind, level=level, direction=direction)
    return warp_affine(image, m @ np.linalg.inv(p), preset.size)


@dataclass
class SensitivityResult:
    """Verification against the size of a landmark perturbation.

    Attributes
    ----------
    kind : str
        ``shift``, ``shift_px``, ``rotation`` or ``scale``.
    unit : str
    model : str
    mode : str
        ``"one"``: each pair compares an unperturbed face with a perturbed one (a well-aligned
        gallery, a misaligned probe); ``"both"``: every face is perturbed (random shift direction,
        rotation sign and scale up/down per face, seeded).
    table : pandas.DataFrame
        One row per level: ``level``, ``accuracy`` (at ``threshold``, the accuracy-best threshold
        of the unperturbed faces: a deployed system keeps its threshold), ``best_accuracy``
        (threshold re-chosen on this level: how separable the scores still are), ``eer``, ``auc``,
        ``genuine_mean`` and ``impostor_mean`` (mean cosine), ``n_pairs``.
    threshold : float
        Cosine threshold chosen at the unperturbed level.
    n_pairs_dropped : int
        Pairs with an image without a face (left out, counted here).
    """

    kind: str
    unit: str
    model: str
    mode: str
    table: pd.DataFrame
    threshold: float
    n_pairs_dropped: int = 0

    def metric(self, name: str) -> np.ndarray:
        return self.table[name].to_numpy(float)


def _pair_rows(faces: FaceSet, pairs) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    if pairs is None:
        ps = V.make_pairs(faces.identities)
        return ps.i, ps.j, ps.same, 0
    if isinstance(pairs, pd.DataFrame):
        i, j = faces.rows(pairs.image_id1), faces.rows(pairs.image_id2)
        same = pairs["same"].to_numpy(bool)
    else:
        i, j, same = np.asarray(pairs.i), np.asarray(pairs.j), np.asarray(pairs.same, bool)
    ok = (i >= 0) & (j >= 0)
    return i[ok], j[ok], same[ok], int((~ok).sum())


def alignment_sensitivity(
    faces: FaceSet,
    embedder,
    *,
    kind: str = "rotation",
    levels: Sequence[float] = (0, 5, 10, 15, 20, 30),
    pairs=None,
    mode: str = "one",
    preset=None,
    seed: int = 0,
    batch_size: int = 64,
) -> SensitivityResult:
    """Verification of ``pairs`` while the landmarks are perturbed by growing amounts.

    Parameters
    ----------
    faces : FaceSet
        From :func:`detect_faces` (detected once; every level re-aligns the same landmarks).
    embedder : Embedder or str
        Any facelab embedder (``create_embedder(name)``); its ``alignment`` preset is used.
    kind : {"shift", "shift_px", "rotation", "scale"}
        See :func:`perturbation_matrix`. Shift directions are random per face (seeded).
    levels : sequence of float
        Perturbation sizes; the unperturbed level (0, or 1 for ``scale``) is added if missing.
    pairs : pandas.DataFrame or PairSet, optional
        An LFW pairs table (``image_id1``, ``image_id2``, ``same``), or index pairs into
        ``faces``; default every pair of ``faces`` (:func:`facelab.verification.make_pairs`).
    mode : {"one", "both"}
        See :class:`SensitivityResult`.
    preset : str or Preset, optional
        The alignment recipe; default the embedder's own (``embedder.alignment``).
    seed : int

    Returns
    -------
    SensitivityResult
    """
    from facelab.embedders import create_embedder
    from facelab.stages.alignment import get_preset

    if mode not in ("one", "both"):
        raise ValueError(f"mode must be 'one' or 'both', got {mode!r}")
    if kind not in PERTURBATIONS:
        raise ValueError(f"kind must be one of {sorted(PERTURBATIONS)}, got {kind!r}")
    if len(faces) == 0:
        raise EvaluationError("no faces to perturb")
    emb = create_embedder(embedder) if isinstance(embedder, str) else embedder
    preset = get_preset(preset or emb.alignment)
    zero = _IDENTITY[kind]
    levels = sorted({float(x) for x in levels} | {zero}, key=lambda v: abs(math.log(v)) if kind == "scale" else abs(v))
    i, j, same, dropped = _pair_rows(faces, pairs)
    if same.all() or not same.any():
        raise EvaluationError("need genuine and impostor pairs")
    rng = np.random.default_rng(seed)
    n = len(faces)
    directions = rng.uniform(0, 2 * np.pi, size=n)
    signs = rng.choice([-1.0, 1.0], size=n)
    base = [None] * n
    if preset.template() is None:  # e.g. dlib150: compose with its matrix
        base = [preset(im, f).matrix for im, f in zip(faces.images, faces.faces)]

    def embed_level(level: float, rows: np.ndarray) -> np.ndarray:
        out = np.zeros((n, emb.embedding_size), np.float32)
        for s in range(0, rows.size, batch_size):
            chunk = rows[s : s + batch_size]
            chips = []
            for r in chunk:
                lv = level
                if mode == "both" and kind == "rotation":
                    lv = level * signs[r]
                elif mode == "both" and kind == "scale":
                    lv = level if signs[r] > 0 else 1.0 / level
                chips.append(perturbed_chip(faces.images[r], faces.faces[r], preset, kind=kind, level=lv,
                                            direction=directions[r], base_matrix=base[r]))
            out[chunk] = emb.embed(np.stack(chips))
        return out

    used = np.unique(np.concatenate([i, j]))
    clean = embed_level(zero, used)
    s0 = np.sum(clean[i] * clean[j], axis=1)
    thr, _ = V.best_accuracy_threshold(s0, same)
    rows = []
    for level in levels:
        if level == zero:
            s = s0
        elif mode == "one":
            pert = embed_level(level, np.unique(j))
            s = np.sum(clean[i] * pert[j], axis=1)
        else:
            pert = embed_level(level, used)
            s = np.sum(pert[i] * pert[j], axis=1)
        e, _ = V.eer(s, same)
        _, best = V.best_accuracy_threshold(s, same)
        rows.append({"level": level, "accuracy": V.confusion_at(s, same, thr).accuracy, "best_accuracy": best, "eer": e,
                     "auc": V.roc(s, same).auc, "genuine_mean": float(s[same].mean()),
                     "impostor_mean": float(s[~same].mean()), "n_pairs": int(s.size)})
    table = pd.DataFrame(rows).sort_values("level", ignore_index=True)
    return SensitivityResult(kind=kind, unit=PERTURBATIONS[kind], model=emb.name, mode=mode, table=table,
                             threshold=float(thr), n_pairs_dropped=dropped)


# --------------------------------------------------------------------------------------------
# The LFW protocol: optimistic bias of choosing the threshold on the test pairs
# --------------------------------------------------------------------------------------------


@dataclass
class ProtocolBias:
    """Accuracy per fold under three ways of choosing the threshold.

    Attributes
    ----------
    folds : ndarray
    kfold, all_pairs, oracle : ndarray
        Accuracy of each fold with the threshold chosen on the *other* folds (the LFW protocol),
        on *all* pairs (the test fold included), and on the test fold *itself*.
    thresholds : pandas.DataFrame
        The three thresholds per fold.
    """

    folds: np.ndarray
    kfold: np.ndarray
    all_pairs: np.ndarray
    oracle: np.ndarray
    thresholds: pd.DataFrame

    @property
    def bias(self) -> float:
        """Mean all-pairs accuracy minus mean protocol accuracy (percentage points / 100)."""
        return float(self.all_pairs.mean() - self.kfold.mean())

    @property
    def oracle_bias(self) -> float:
        return float(self.oracle.mean() - self.kfold.mean())

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"fold": self.folds, "kfold": self.kfold, "all_pairs": self.all_pairs, "oracle": self.oracle})

    def summary(self) -> dict:
        return {"kfold_mean": float(self.kfold.mean()), "kfold_std": float(self.kfold.std()),
                "all_pairs_mean": float(self.all_pairs.mean()), "oracle_mean": float(self.oracle.mean()),
                "bias": self.bias, "oracle_bias": self.oracle_bias, "n_pairs": int(self.thresholds.n_pairs.sum())}


def protocol_bias(scores, same, folds) -> ProtocolBias:
    """The LFW protocol against choosing the threshold on the pairs it is tested on.

    Parameters
    ----------
    scores, same, folds : arrays
        One per pair (e.g. :attr:`facelab.verification.LfwScores.scores` / ``same`` / ``folds``).
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(same, dtype=bool).ravel()
    f = np.asarray(folds).ravel()
    kf = V.kfold_accuracy(s, y, f)
    t_all, _ = V.best_accuracy_threshold(s, y)
    all_acc, orc_acc, orc_thr, sizes = [], [], [], []
    for lab in kf.folds:
        m = f == lab
        all_acc.append(V.confusion_at(s[m], y[m], t_all).accuracy)
        t_o, a_o = V.best_accuracy_threshold(s[m], y[m])
        orc_thr.append(t_o)
        orc_acc.append(a_o)
        sizes.append(int(m.sum()))
    thr = pd.DataFrame({"fold": kf.folds, "kfold": kf.thresholds, "all_pairs": t_all, "oracle": orc_thr, "n_pairs": sizes})
    return ProtocolBias(folds=kf.folds, kfold=kf.accuracies, all_pairs=np.asarray(all_acc), oracle=np.asarray(orc_acc),
                        thresholds=thr)


def bias_vs_pairs(scores, same, folds, *, pairs_per_fold: Sequence[int] = (10, 20, 50, 100, 300, 600),
                  repeats: int = 20, seed: int = 0) -> pd.DataFrame:
    """How the optimistic bias shrinks as the folds grow.

    For each size, ``repeats`` times: draw that many pairs per fold (half genuine, half impostor,
    without replacement; capped at what the fold has), then :func:`protocol_bias`.

    Returns
    -------
    pandas.DataFrame
        ``pairs_per_fold``, ``n_pairs``, ``kfold``, ``all_pairs``, ``oracle`` (mean accuracies over
        repeats), ``bias`` and ``bias_std`` (all-pairs minus protocol), ``oracle_bias``.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(same, dtype=bool).ravel()
    f = np.asarray(folds).ravel()
    rng = np.random.default_rng(seed)
    rows = []
    for n in pairs_per_fold:
        res = []
        for _ in range(int(repeats)):
            pick = []
            for lab in np.unique(f):
                for cls in (True, False):
                    idx = np.flatnonzero((f == lab) & (y == cls))
                    pick.append(rng.choice(idx, size=min(idx.size, max(1, int(n) // 2)), replace=False))
            k = np.concatenate(pick)
            res.append(protocol_bias(s[k], y[k], f[k]))
        rows.append({
            "pairs_per_fold": int(n), "n_pairs": int(res[0].thresholds.n_pairs.sum()),
            "kfold": float(np.mean([r.kfold.mean() for r in res])),
            "all_pairs": float(np.mean([r.all_pairs.mean() for r in res])),
            "oracle": float(np.mean([r.oracle.mean() for r in res])),
            "bias": float(np.mean([r.bias for r in res])), "bias_std": float(np.std([r.bias for r in res])),
            "oracle_bias": float(np.mean([r.oracle_bias for r in res])),
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Nearest neighbours
# --------------------------------------------------------------------------------------------


def nearest_neighbours(embeddings, identities, query: int, *, k: int = 5) -> pd.DataFrame:
    """The ``k`` rows closest to row ``query`` by cosine similarity (the query itself left out).

    The course's one-query view of :func:`facelab.core.vectors.nearest_neighbours` (which the
    explorer uses for every row).

    Returns
    -------
    pandas.DataFrame
        ``rank`` (1 = closest), ``row``, ``identity``, ``cosine``, ``same`` (same identity as the
        query); sorted by decreasing cosine (ties by row).
    """
    from facelab.core.vectors import nearest_neighbours as neighbours

    n = len(embeddings)
    if not 0 <= int(query) < n:
        raise IndexError(f"query row {query} outside 0..{n - 1}")
    return neighbours(embeddings, k=k, rows=[int(query)]).table(identities, int(query))


# --------------------------------------------------------------------------------------------
# The embedding itself
# --------------------------------------------------------------------------------------------


def raw_embeddings(embedder, chips, *, batch_size: int = 64) -> np.ndarray:
    """Un-normalised embeddings (the network's output before L2 normalisation, no flip).

    Uses the embedder's ``_forward`` hook (every facelab embedder has it: :meth:`Embedder.embed`
    is ``l2_normalize(_forward(chips))``).
    """
    chips = np.asarray(chips)
    if chips.ndim == 3:
        chips = chips[None]
    if chips.ndim != 4 or chips.dtype != np.uint8 or chips.shape[1:] != (embedder.chip_size, embedder.chip_size, 3):
        raise ValueError(f"expects (N, {embedder.chip_size}, {embedder.chip_size}, 3) uint8 chips, got "
                         f"{chips.shape} {chips.dtype}")
    out = [np.asarray(embedder._forward(np.ascontiguousarray(chips[s : s + batch_size])), dtype=np.float32)
           for s in range(0, len(chips), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, embedder.embedding_size), np.float32)


def blur_score(image) -> float:
    """Variance of the Laplacian of the grey image (low = blurred), on a 0..1 intensity scale."""
    from skimage.color import rgb2gray
    from skimage.filters import laplace

    g = rgb2gray(np.asarray(image)) if np.asarray(image).ndim == 3 else np.asarray(image, float) / 255.0
    return float(laplace(g).var())


def landmark_residual(landmarks) -> float:
    """RMS distance (112-pixel chip units) of the five points from the ArcFace template after the
    best similarity: how much of the face a similarity cannot explain (turned head, bad points)."""
    from facelab.stages.alignment import fit_template

    return fit_template(landmarks)[2]


@dataclass
class EmbeddingAnatomy:
    """Raw vectors, their norms, face quality and flip averaging, per face.

    Attributes
    ----------
    table : pandas.DataFrame
        Per face: ``image_id``, ``identity``, ``raw_norm`` (before normalisation), ``det_score``,
        ``residual`` (:func:`landmark_residual`), ``blur`` (:func:`blur_score` of the chip),
        ``cos_flip`` (cosine of the chip's and the mirrored chip's vectors), ``cos_mean``
        (cosine of the chip's vector and the flip average).
    raw, raw_flipped : ndarray
        ``(N, D)`` un-normalised vectors of the chips and of their mirror images.
    model : str
    """

    table: pd.DataFrame
    raw: np.ndarray
    raw_flipped: np.ndarray
    model: str

    @property
    def normalised(self) -> np.ndarray:
        return unit_rows(self.raw).astype(np.float32)

    @property
    def flip_averaged(self) -> np.ndarray:
        """What ``flip=True`` embeds: the normalised mean of both normalised vectors."""
        return unit_rows(unit_rows(self.raw) + unit_rows(self.raw_flipped)).astype(np.float32)

    def correlations(self) -> pd.Series:
        """Spearman rank correlation of the raw norm with each quality measure."""
        t = self.table
        return pd.Series({q: float(t.raw_norm.corr(t[q], method="spearman")) for q in ("det_score", "residual", "blur")},
                         name="spearman vs raw norm")


def embedding_anatomy(faces: FaceSet, embedder) -> EmbeddingAnatomy:
    """Raw norms against face quality, and flip averaging, for every face of ``faces``."""
    from facelab.embedders import create_embedder
    from facelab.stages.alignment import get_preset

    emb = create_embedder(embedder) if isinstance(embedder, str) else embedder
    preset = get_preset(emb.alignment)
    chips = np.stack([preset(im, f).image for im, f in zip(faces.images, faces.faces)])
    raw = raw_embeddings(emb, chips)
    raw_f = raw_embeddings(emb, np.ascontiguousarray(chips[:, :, ::-1]))
    u, uf = unit_rows(raw), unit_rows(raw_f)
    mean = unit_rows(u + uf)
    table = pd.DataFrame({
        "image_id": faces.ids, "identity": faces.identities,
        "raw_norm": np.linalg.norm(raw, axis=1),
        "det_score": faces.table.score.to_numpy(float),
        "residual": [landmark_residual(f.landmarks) for f in faces.faces],
        "blur": [blur_score(c) for c in chips],
        "cos_flip": np.sum(u * uf, axis=1),
        "cos_mean": np.sum(u * mean, axis=1),
    })
    return EmbeddingAnatomy(table=table, raw=raw, raw_flipped=raw_f, model=emb.name)


def dimension_stats(embeddings) -> pd.DataFrame:
    """Per-dimension statistics of a set of (normalised) embeddings.

    Returns
    -------
    pandas.DataFrame
        One row per dimension: ``dim``, ``mean``, ``std``, ``min``, ``max``, and ``pca_cumvar``:
        the cumulative fraction of the total variance explained by the first ``dim + 1`` principal
        components (how many directions the faces really use).
    """
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2 or len(e) < 2:
        raise EvaluationError("need at least two embeddings")
    centred = e - e.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    var = sv**2
    cum = np.cumsum(var) / var.sum()
    cum = np.concatenate([cum, np.ones(e.shape[1] - cum.size)]) if cum.size < e.shape[1] else cum[: e.shape[1]]
    return pd.DataFrame({"dim": np.arange(e.shape[1]), "mean": e.mean(axis=0), "std": e.std(axis=0),
                         "min": e.min(axis=0), "max": e.max(axis=0), "pca_cumvar": cum})
