"""Everything a report shows, computed once: :func:`compute_report` -> :class:`ReportData`.

No file is written and nothing is drawn here. The pipeline runs once (with the aligned chips
kept), and every later step -- files, figures, HTML, notebook 06 -- reads the typed results
below instead of loading, detecting or evaluating again.

One :class:`ModelReport` per model (``compute_report(models=[...])``: each model with its own
default detector unless one is given, on the same images), beside the shared
:class:`DatasetSummary`; with several models, one :class:`ModelComparison` per model against the
first (paired bootstrap, McNemar, the pairs where they disagree).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError

__all__ = ["DatasetSummary", "ReportSettings", "ModelReport", "ModelComparison", "ReportData", "compute_report",
           "compare_models", "model_licence", "MAX_MAP_PAIRS"]

#: Faces per identity shown with their landmarks and aligned.
SAMPLES_PER_IDENTITY = 3
#: Misjudged pairs drawn as lines on the embedding map: more lines than this hide the points.
MAX_MAP_PAIRS = 30


@dataclass
class DatasetSummary:
    """The folder-per-identity dataset, as read (independent of any model).

    Attributes
    ----------
    root : Path
    n_images : int
        Image files found (every one gets a row in each model's table).
    identities : list of str
        Identity folders with at least one image, in order.
    names : dict
        identity -> display name (:attr:`facelab.data.datasets.FolderDataset.names`).
    images_per_identity : dict
        identity -> number of images.
    empty_identities : list of str
        Identity folders without an image (each listed as skipped).
    """

    root: Path
    n_images: int
    identities: list
    names: dict
    images_per_identity: dict
    empty_identities: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def n_identities(self) -> int:
        return len(self.identities)

    def label(self, identity) -> str:
        """The display name of an identity (its folder name when it has none)."""
        return self.names.get(identity, identity)


@dataclass(frozen=True)
class ReportSettings:
    """The evaluation options of :func:`compute_report` (see there)."""

    max_impostors: Optional[int] = 200_000
    n_boot: int = 500
    gallery_size: int = 1
    repeats: int = 5
    thumbnails: bool = True


@dataclass
class ModelReport:
    """One model on the dataset: embeddings, verification, identification, map, failures.

    Attributes
    ----------
    spec : str
        The model as asked for (``"dlib"``, a registry name, an ``.onnx`` path).
    weights, detector :
        As passed to :func:`compute_report`.
    result : facelab.engine.result.EmbeddingResult
        With typed ``faces`` and the aligned ``chips`` (embedding order).
    skipped : pandas.DataFrame
        ``image``, ``reason``: every image this model could not embed, every non-image file and
        every empty identity folder.
    pairs : facelab.verification.PairSet
        Genuine pairs and (a seeded sample of at most ``max_impostors``) impostor pairs.
    scores : numpy.ndarray
        Cosine similarity of each pair.
    verification : facelab.verification.VerificationReport
    threshold : float
        The model's operating point: its calibrated score threshold, as a cosine.
    operating_point : facelab.verification.thresholds.Confusion
        The decisions at ``threshold``.
    identification : facelab.identification.evaluate.IdentificationResult
        Computed once; ``identification_table`` is built from it.
    identification_set : str
        The set's name in the reference format, ``<dataset>(1:<identities>)``.
    identification_table : pandas.DataFrame
    projection : facelab.analysis.projection.Projection
        UMAP (``random_state=0``) of the embeddings.
    map_pairs : pandas.DataFrame
        The :data:`MAX_MAP_PAIRS` hardest of all pairs misjudged at ``threshold``
        (:func:`facelab.analysis.projection.misjudged_pairs`); ``n_map_pairs`` is how many there are.
    misjudged : pandas.DataFrame
        :func:`facelab.verification.wrong_side_pairs` of ``pairs`` at ``threshold``, hardest first.
    samples : pandas.DataFrame
        Up to :data:`SAMPLES_PER_IDENTITY` embedded rows of ``result.table`` per identity (its
        index is the table's, ``row`` the embedding row).
    provenance : dict
        :func:`facelab.report.provenance.provenance` of this model's run.
    """

    spec: str
    weights: Optional[str]
    detector: str
    result: object
    skipped: pd.DataFrame
    pairs: object
    scores: np.ndarray
    verification: object
    threshold: float
    operating_point: object
    identification: object
    identification_set: str
    identification_table: pd.DataFrame
    projection: object
    map_pairs: pd.DataFrame
    n_map_pairs: int
    misjudged: pd.DataFrame
    samples: pd.DataFrame
    provenance: dict

    @property
    def name(self) -> str:
        """The embedder's name (``result.model``)."""
        return self.result.model

    @property
    def calibration(self):
        return self.result.calibration

    @property
    def embeddings(self) -> np.ndarray:
        return self.result.embeddings

    @property
    def identities(self) -> np.ndarray:
        """Identity of each embedding row."""
        return np.asarray(self.result.identities)

    @property
    def n_identities(self) -> int:
        """Identities with at least one embedded face."""
        return len(set(self.result.identities))

    @property
    def alignment(self) -> Optional[str]:
        return self.result.settings.get("alignment")

    def sample_faces(self) -> list:
        """The typed :class:`~facelab.stages.faces.Face` of each sample (from the pipeline: no re-detection)."""
        return [self.result.faces[i] for i in self.samples.index]

    def sample_chips(self) -> list:
        """The aligned chip of each sample (``result.chips``: no re-alignment)."""
        return [self.result.chips[int(r)] for r in self.samples.row]


def model_licence(name: str) -> str:
    """The licence line of a model's weights, as the report shows it."""
    from facelab.models.weights import KNOWN_WEIGHTS

    w = KNOWN_WEIGHTS.get(str(name).lower())
    if w is not None:
        return w.licence
    if str(name).lower().startswith("dlib"):
        return ("dlib's model files, shipped with the face_recognition_models package (pip): no research-only "
                "limit on their use")
    return "not known to facelab: see where the weights came from"


@dataclass
class ModelComparison:
    """Model ``a`` (the report's first) against model ``b`` on the same pairs.

    The pairs are built over the images both models embedded (same seeded sampling as each
    model's own pairs), so every statistic is paired.

    Attributes
    ----------
    a, b : str
        Model names.
    image_ids : numpy.ndarray
        The images both models embedded; ``pairs`` index into it.
    identities : numpy.ndarray
        Identity of each of ``image_ids``.
    rows_a, rows_b : numpy.ndarray
        The embedding (and chip) row of each image in each model's result.
    pairs : facelab.verification.PairSet
    scores_a, scores_b : numpy.ndarray
        Each model's cosine similarity of each pair.
    paired : dict
        :func:`facelab.verification.comparison.paired_bootstrap` of
        :data:`facelab.verification.comparison.PAIRED_METRICS` (a - b).
    mcnemar : facelab.verification.comparison.McNemarResult
        At each model's accuracy-best threshold on these pairs.
    threshold_a, threshold_b : float
        Each model's own operating threshold (its calibrated threshold, as a cosine).
    disagreements : pandas.DataFrame
        The pairs one model decides right and the other wrong at their own operating thresholds
        (``pair``, ``same``, ``score_a``, ``score_b``, ``right``: which model is right), the least
        certain first.
    """

    a: str
    b: str
    image_ids: np.ndarray
    identities: np.ndarray
    rows_a: np.ndarray
    rows_b: np.ndarray
    pairs: object
    scores_a: np.ndarray
    scores_b: np.ndarray
    paired: dict
    mcnemar: object
    threshold_a: float
    threshold_b: float
    disagreements: pd.DataFrame

    def to_dict(self) -> dict:
        from facelab.core.jsonsafe import json_safe

        return json_safe({
            "a": self.a, "b": self.b, "images": int(len(self.image_ids)), "pairs": int(len(self.scores_a)),
            "genuine_pairs": int(np.sum(self.pairs.same)), "impostor_pairs": int(np.sum(~self.pairs.same)),
            "paired_bootstrap": {k: v.to_dict() for k, v in self.paired.items()},
            "mcnemar": self.mcnemar.to_dict(),
            "disagreements": {"threshold_a": self.threshold_a, "threshold_b": self.threshold_b,
                              "pairs": int(len(self.disagreements)),
                              "a_right": int((self.disagreements.right == self.a).sum()),
                              "b_right": int((self.disagreements.right == self.b).sum())},
        })


def compare_models(a: ModelReport, b: ModelReport, settings: ReportSettings) -> ModelComparison:
    """Paired statistics of two models' results on the images both embedded."""
    from facelab import verification as V
    from facelab.verification.comparison import mcnemar, paired_bootstrap

    ea = a.result.embedded
    rows_b_of = b.result.rows_of()
    common = ea[ea.image_id.astype(str).isin(rows_b_of)]
    ids = common.image_id.astype(str).to_numpy()
    identities = common.identity.astype(str).to_numpy()
    rows_a = common.row.astype(int).to_numpy()
    rows_b = np.array([rows_b_of[i] for i in ids], dtype=int)
    if len(set(identities.tolist())) < 2:
        raise EvaluationError(f"{a.name} and {b.name} embedded faces of fewer than two common identities: "
                              "nothing to compare")
    pairs = V.make_pairs(identities, max_impostors=settings.max_impostors, seed=0)
    sa = V.pair_scores(a.embeddings[rows_a], pairs)
    sb = V.pair_scores(b.embeddings[rows_b], pairs)
    id1, id2 = pairs.identities(identities)
    paired = paired_bootstrap(sa, sb, pairs.same, id1, id2, n_boot=settings.n_boot, seed=0)
    mc = mcnemar(sa, sb, pairs.same)
    ta, tb = float(a.threshold), float(b.threshold)
    ra = (sa >= ta) == pairs.same
    rb = (sb >= tb) == pairs.same
    k = np.flatnonzero(ra != rb)
    # Least certain first: the smaller margin of the two models to their own thresholds.
    margin = np.minimum(np.abs(sa[k] - ta), np.abs(sb[k] - tb))
    dis = pd.DataFrame({"pair": k, "same": pairs.same[k], "score_a": sa[k], "score_b": sb[k],
                        "right": np.where(ra[k], a.name, b.name), "margin": margin}).sort_values("margin")
    return ModelComparison(a.name, b.name, ids, identities, rows_a, rows_b, pairs, sa, sb, paired, mc, ta, tb,
                           dis.reset_index(drop=True))


@dataclass
class ReportData:
    """Everything a report shows. ``models[0]`` gives the top-level numbers of ``metrics.json``.

    ``comparisons``: one :class:`ModelComparison` per model after the first (empty for one model).
    ``distractors``: the distractor curves (:class:`facelab.report.distractors.ReportDistractors`)
    when the report was given distractors, else None (and the page has no such section).
    ``health``: the dataset audit of the first model's embeddings
    (:class:`facelab.analysis.audit.DatasetAudit`, :func:`facelab.report.health.add_health`).
    """

    dataset: DatasetSummary
    models: list
    settings: ReportSettings
    comparisons: list = field(default_factory=list)
    distractors: Optional[object] = None
    health: Optional[object] = None

    @property
    def model(self) -> ModelReport:
        """The first model."""
        return self.models[0]

    @property
    def multi(self) -> bool:
        """Whether the report compares several models."""
        return len(self.models) > 1


def _model_report(root: Path, result, dataset: DatasetSummary, *, model, weights, detector, settings: ReportSettings,
                  argv) -> ModelReport:
    from facelab import verification as V
    from facelab.analysis.projection import misjudged_pairs, project
    from facelab.identification.evaluate import evaluate_identification, identification_table
    from facelab.report.provenance import provenance

    skipped = result.skipped.copy()
    for ident in dataset.empty_identities:
        skipped.loc[len(skipped)] = [str(root / ident), "empty identity folder (no image)"]

    identities = np.asarray(result.identities)
    n_ids = len(set(identities.tolist()))
    if n_ids < 2:
        raise EvaluationError(
            f"{root}: faces were found for {n_ids} identit{'y' if n_ids == 1 else 'ies'}; verification needs at "
            f"least two identities ({len(skipped)} images/files skipped — see their reasons with 'facelab embed')"
        )

    emb, cal = result.embeddings, result.calibration
    pairs = V.make_pairs(identities, max_impostors=settings.max_impostors, seed=0)
    scores = V.pair_scores(emb, pairs)
    id1, id2 = pairs.identities(identities)
    rep = V.evaluate_verification(scores, pairs.same, id1=id1, id2=id2, calibration=cal, n_boot=settings.n_boot,
                                  seed=0)
    threshold = cal.cosine_threshold
    op = V.confusion_at(scores, pairs.same, threshold)

    ident_name = f"{root.name}(1:{n_ids})"
    idr = evaluate_identification(emb, identities, threshold=threshold, k=settings.gallery_size,
                                  repeats=settings.repeats, seed=0)

    proj = project(emb, method="umap", random_state=0, n_neighbors=min(15, max(2, len(emb) - 1)))
    map_pairs = misjudged_pairs(emb, identities, threshold)

    samples = result.embedded.groupby("identity", sort=True).head(SAMPLES_PER_IDENTITY)
    prov = provenance(model=model, weights=weights, dataset_root=root, images=result.table,
                      settings={k: v for k, v in result.settings.items() if k != "cache"}, argv=argv)
    return ModelReport(
        spec=str(model), weights=str(weights) if weights else None, detector=str(detector), result=result,
        skipped=skipped, pairs=pairs, scores=scores, verification=rep, threshold=threshold, operating_point=op,
        identification=idr, identification_set=ident_name,
        identification_table=identification_table({ident_name: idr}),  # idr as computed, not a second run
        projection=proj, map_pairs=map_pairs.head(MAX_MAP_PAIRS), n_map_pairs=len(map_pairs),
        misjudged=V.wrong_side_pairs(scores, pairs.same, threshold), samples=samples, provenance=prov,
    )


def compute_report(
    dataset=None,
    *,
    model: str = "dlib",
    models: Optional[Sequence[str]] = None,
    weights=None,
    detector: Optional[str] = None,
    policy: str = "central",
    max_impostors: Optional[int] = 200_000,
    n_boot: int = 500,
    gallery_size: int = 1,
    repeats: int = 5,
    thumbnails: bool = True,
    progress: bool = True,
    argv: Optional[Sequence[str]] = None,
    device: str = "auto",
    scheduler=None,
    distractors=None,
) -> ReportData:
    """Run the pipeline once on a folder-per-identity dataset and compute everything a report shows.

    Parameters are those of :func:`facelab.report.build_report` (which is this, then
    :func:`facelab.report.write_report`). ``models``: several models side by side (``model`` is
    then ignored); ``detector=None``: each model's own (:func:`facelab.models.weights.default_detector`);
    ``policy``: which face of a photo with several is the photo's ("central", as ``facelab lfw``: with
    MTCNN, "largest" can pick a bystander of a portrait). ``distractors``: embeddings of people
    who are not enrolled (see :func:`facelab.report.distractors.compute_distractors`), read before
    any embedding so a bad file fails fast.

    Raises
    ------
    EvaluationError
        When the dataset cannot be evaluated (faces of fewer than two identities).
    facelab.report.distractors.DistractorMismatchError
        Distractors made by another model (dimension, a store's settings), or of the dataset's images.
    """
    from facelab.analysis.models import embed_models
    from facelab.data import datasets

    root = Path(dataset) if dataset is not None else datasets.ensure_two_id()
    folder = datasets.read_identity_folders(root)
    counts = folder.images.identity.value_counts()
    summary = DatasetSummary(
        root=root, n_images=int(len(folder.images)), identities=list(folder.identities), names=dict(folder.names),
        images_per_identity={k: int(counts.get(k, 0)) for k in folder.identities},
        empty_identities=list(folder.empty_identities),
    )
    settings = ReportSettings(max_impostors=max_impostors, n_boot=n_boot, gallery_size=gallery_size,
                              repeats=repeats, thumbnails=thumbnails)
    from facelab.models.weights import default_detector

    read = None
    if distractors is not None:  # a missing or unreadable file fails now, before any embedding
        from facelab.report.distractors import distractor_file

        read = distractor_file(distractors)
    names = list(models) if models else [model]
    # Each model on the folder read once (embed_folder's job), with the aligned chips kept.
    runs = embed_models(folder.images, names, detector=detector, weights=weights, policy=policy, progress=progress,
                        keep_chips=True, device=device, scheduler=scheduler)
    for result in runs.values():
        result.folder_skipped = folder.skipped.reset_index(drop=True)
    reports = [_model_report(root, runs[m], summary, model=m, weights=weights,
                             detector=detector or default_detector(m), settings=settings, argv=argv) for m in names]
    comparisons = [compare_models(reports[0], r, settings) for r in reports[1:]]
    data = ReportData(dataset=summary, models=reports, settings=settings, comparisons=comparisons)
    if distractors is not None:
        from facelab.report.distractors import add_distractors

        data = add_distractors(data, distractors, read=read)
    from facelab.report.health import add_health

    return add_health(data)
