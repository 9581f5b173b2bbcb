"""Several models on the same data (computing only).

- :func:`embed_models`: one dataset embedded by each of several models, each with its own default
  detector (:func:`facelab.models.weights.default_detector`: YuNet) unless one is given -- what
  notebooks 03-05 and the report compare;
- :func:`verify_models`: every pair of such a set scored by each model -> a
  :class:`~facelab.verification.VerificationReport` each; :func:`threshold_transfer`: each model's
  scores judged at each model's threshold (thresholds do not transfer: notebook 04).
- :func:`compare_on_lfw`: several models (and score fusions ``"A+B"``), or one model with several
  detectors, on the same LFW pairs -- a verification report per model (or detector), and for each
  two rows the paired difference of their fold
  accuracies and identity-resampled paired bootstrap intervals of their differences
  (:data:`facelab.verification.comparison.PAIRED_METRICS`). What ``facelab lfw --model A --model B``
  and ``facelab lfw --detector A --detector B`` print.

Examples
--------
>>> from facelab.analysis.models import compare_on_lfw, embed_models, lfw_protocol_pairs
>>> runs = embed_models("two_id/", ["dlib", "edgeface_xs"], keep_chips=True)        # doctest: +SKIP
>>> pairs, n_folds = lfw_protocol_pairs(lfw, "pairs", limit_folds=2)                 # doctest: +SKIP
>>> cmp = compare_on_lfw(lfw, ["dlib", "edgeface_xs", "dlib+edgeface_xs"], pairs=pairs)  # doctest: +SKIP
>>> cmp.to_dict()["comparison"][0]["accuracy_difference"]["mean"]                    # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError

__all__ = ["LfwComparison", "LfwModelRow", "ModelDifference", "compare_on_lfw", "embed_models", "lfw_protocol_pairs",
           "lfw_scores", "threshold_transfer", "verify_models"]

#: How a pair with an image without embedding is treated (see :func:`facelab.verification.lfw_pair_scores`).
MISSING = ("worst", "drop")


def embed_models(images, models: Sequence[str], *, detector: Optional[str] = None, weights=None,
                 **embed_options) -> dict:
    """Embed one dataset with each model.

    Parameters
    ----------
    images : pandas.DataFrame or path-like
        ``image_id``, ``path`` and ``identity`` (e.g. :func:`facelab.data.datasets.pair_images`), or
        a folder-per-identity dataset (read once; files that are not images are in each result's
        ``skipped``).
    models : sequence of str
        Model names (:func:`facelab.embedders.create_embedder`), each embedded once.
    detector : str, optional
        One detector for every model; default each model's own
        (:func:`facelab.models.weights.default_detector`).
    weights : path-like, optional
        One model's weight file: only with a single model.
    **embed_options
        For :func:`facelab.engine.pipeline.embed_images` (``policy``, ``flip``, ``keep_chips``,
        ``progress``, ``device``, ``scheduler``, ...).

    Returns
    -------
    dict of str to facelab.engine.result.EmbeddingResult
        In the order of ``models``.
    """
    from facelab.engine import pipeline
    from facelab.models.weights import default_detector

    models = list(models)
    if len(set(models)) != len(models):
        raise EvaluationError(f"a model is named twice: {', '.join(models)}")
    if len(models) > 1 and weights is not None:
        raise EvaluationError("weights name one model's file: give them with a single model")
    skipped = None
    if not isinstance(images, pd.DataFrame):
        from facelab.data.datasets import read_identity_folders

        folder = read_identity_folders(Path(images))
        images, skipped = folder.images, folder.skipped.reset_index(drop=True)
    runs = {}
    for m in models:
        kw = dict(embed_options, model=m, detector=detector or default_detector(m))
        if weights is not None:
            kw["weights"] = weights
        res = pipeline.embed_images(images, **kw)
        if skipped is not None:
            res.folder_skipped = skipped
        runs[m] = res
    return runs


def verify_models(runs: Mapping, *, n_boot: int = 0, seed: int = 0) -> dict:
    """Every pair of a folder set, scored by each model.

    Parameters
    ----------
    runs : mapping of str to EmbeddingResult
        E.g. :func:`embed_models` (each model's faces of the same set).
    n_boot, seed :
        Identity-level bootstrap replicates of each report's intervals, and their seed.

    Returns
    -------
    dict of str to facelab.verification.VerificationReport
        Cosine scores of every genuine and impostor pair of each model's embedded faces, with the
        model's calibration.
    """
    from facelab import verification as V

    reports = {}
    for m, r in runs.items():
        ids = np.asarray(r.identities)
        pairs = V.make_pairs(ids)
        id1, id2 = pairs.identities(ids)
        reports[m] = V.evaluate_verification(V.pair_scores(r.embeddings, pairs), pairs.same, id1=id1, id2=id2,
                                             calibration=r.calibration, n_boot=n_boot, seed=seed)
    return reports


def threshold_transfer(reports: Mapping) -> pd.DataFrame:
    """Each model's scores judged at each model's own operating threshold.

    Parameters
    ----------
    reports : mapping of str to VerificationReport
        With scores and calibrations (:func:`verify_models`).

    Returns
    -------
    pandas.DataFrame
        One row per (scores of, threshold of): the cosine threshold, the accuracy it gives those
        scores, and the mean calibrated score of their genuine and of their impostor pairs. A model's
        own threshold is right for it; another model's, usually not.
    """
    rows = []
    for m, rep in reports.items():
        s, same = np.asarray(rep.scores), np.asarray(rep.same, dtype=bool)
        for other, orep in reports.items():
            cal = orep.calibration
            if cal is None:
                raise EvaluationError(f"{other}'s report has no calibration: no threshold to transfer")
            rows.append({"scores of": m, "threshold of": other, "cosine threshold": cal.cosine_threshold,
                         "accuracy": float(((s >= cal.cosine_threshold) == same).mean()),
                         "mean calibrated score, genuine": float(np.mean(cal.score_for_cosine(s[same]))),
                         "mean calibrated score, impostor": float(np.mean(cal.score_for_cosine(s[~same])))})
    return pd.DataFrame(rows)


def lfw_protocol_pairs(lfw, which: str = "pairs", *, limit_folds: Optional[int] = None) -> tuple:
    """The pairs of an LFW protocol file, optionally its first ``limit_folds`` folds.

    Returns
    -------
    pairs : pandas.DataFrame
        :meth:`facelab.data.datasets.LFW.pairs` (``fold`` < ``limit_folds``).
    folds_in_file : int
    """
    pairs = lfw.pairs(which)
    n_folds = int(pairs["fold"].nunique())
    if limit_folds is not None:
        if limit_folds < 1:
            raise EvaluationError("--limit-folds must be at least 1")
        pairs = pairs[pairs["fold"] < limit_folds].reset_index(drop=True)
    return pairs, n_folds


def lfw_scores(result, pairs: pd.DataFrame, *, on_missing: str = "worst"):
    """One model's cosine scores of LFW ``pairs`` (:func:`facelab.verification.lfw_pair_scores`)."""
    from facelab import verification as V

    emb = result.embeddings if len(result.embeddings) else np.zeros((0, 1), np.float32)
    return V.lfw_pair_scores(pairs, emb, result.rows_of(), on_missing=on_missing)


@dataclass
class LfwModelRow:
    """One model (or fusion) of :func:`compare_on_lfw` on the shared pairs.

    Attributes
    ----------
    model : str
        The name as asked for (``"dlib"``, ``"dlib+edgeface_xs"``).
    report : facelab.verification.VerificationReport
    scores : numpy.ndarray
        Its score of each shared pair (cosine; a fusion's fused probability).
    no_face : dict, optional
        :meth:`facelab.verification.LfwScores.summary` of an embedded model (None for a fusion).
    settings : dict, optional
        The embedding settings of an embedded model (the result's, without the cache path).
    fusion : facelab.verification.comparison.ScoreFusion, optional
        A fusion's fitted model.
    """

    model: str
    report: object
    scores: np.ndarray
    no_face: Optional[dict] = None
    settings: Optional[dict] = None
    fusion: Optional[object] = None

    def to_dict(self) -> dict:
        d = self.report.to_dict()
        row = {"model": self.model, **{k: d.get(k) for k in ("accuracy", "accuracy_std", "auc", "eer")},
               "tar_at_far": d.get("tar_at_far"), "report": d}
        if self.fusion is not None:
            row["fusion"] = self.fusion.to_dict()
        else:
            row["no_face"] = self.no_face
            row["settings"] = self.settings
        return row


@dataclass
class ModelDifference:
    """Model ``a`` against model ``b`` on the same pairs.

    Attributes
    ----------
    a, b : str
    accuracy_difference : facelab.verification.comparison.FoldDifference, optional
        Of their k-fold accuracies (None with a single fold).
    paired : dict of str to facelab.verification.comparison.PairedDifference
        Identity-resampled paired bootstrap of :data:`~facelab.verification.comparison.PAIRED_METRICS`
        (empty without bootstrap replicates).
    """

    a: str
    b: str
    accuracy_difference: Optional[object] = None
    paired: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {"a": self.a, "b": self.b}
        if self.accuracy_difference is not None:
            out["accuracy_difference"] = self.accuracy_difference.to_dict()
        if self.paired:
            out["paired_bootstrap"] = {k: v.to_dict() for k, v in self.paired.items()}
        return out


@dataclass
class LfwComparison:
    """Several models on the same LFW pairs (:func:`compare_on_lfw`).

    Attributes
    ----------
    protocol : str
        The protocol file's name (``"pairs"``, ``"devtest"``, ``"devtrain"``).
    folds_in_file : int, optional
    folds_used : int
    n_pairs : int
        Pairs every model is judged on (with ``missing="drop"``, those where each model has both faces).
    missing : str
    root : str
    n_images : int
    models : list of LfwModelRow
    comparisons : list of ModelDifference
        For each two of ``models``, in order.
    results : dict
        Each embedded model's :class:`~facelab.engine.result.EmbeddingResult` on the pairs' images,
        and ``train_results`` those on the fusion's training pairs.
    """

    protocol: str
    folds_in_file: Optional[int]
    folds_used: int
    n_pairs: int
    missing: str
    root: str
    n_images: int
    models: list
    comparisons: list
    results: dict = field(default_factory=dict, repr=False)
    train_results: dict = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        """The JSON of ``facelab lfw`` with several models."""
        return {
            "benchmark": "LFW",
            "protocol": {"file": self.protocol, "folds_used": self.folds_used, "folds_in_file": self.folds_in_file,
                         "n_pairs": self.n_pairs, "missing": self.missing},
            "root": self.root,
            "models": [r.to_dict() for r in self.models],
            "comparison": [c.to_dict() for c in self.comparisons],
            "images": self.n_images,
        }


def _base_models(models: Sequence[str]) -> list:
    base = []
    for spec in models:
        for part in spec.split("+"):
            if not part:
                raise EvaluationError(f"--model {spec!r}: an empty model name in a fusion")
            if part not in base:
                base.append(part)
    return base


def compare_on_lfw(lfw, models: Sequence[str], *, pairs: pd.DataFrame, protocol: str = "pairs",
                   folds_in_file: Optional[int] = None, missing: str = "worst", detector: Optional[str] = None,
                   fusion_pairs: Optional[pd.DataFrame] = None, n_boot: int = 1000, seed: int = 0,
                   **embed_options) -> LfwComparison:
    """Several models, and score fusions of them, on the same LFW pairs.

    Each model embeds the pairs' images once (:func:`embed_models`: its own detector unless
    ``detector`` is given). Every model is judged on the same pairs: a pair with an image a model
    has no face for scores -1 there (``missing="worst"``), or, with ``missing="drop"``, the pairs
    where some model lacks a face are left out for all. A fusion ``"A+B"`` is a logistic regression
    on A's and B's calibrated scores fitted on ``fusion_pairs`` only (default LFW's
    ``pairsDevTrain.txt``, whose images are embedded too); where one model has no face in a pair it
    gives no evidence (calibrated score 0.5) and the other decides.

    Parameters
    ----------
    lfw : facelab.data.datasets.LFW
    models : sequence of str
        Model names and fusions (``"dlib"``, ``"edgeface_xs"``, ``"dlib+edgeface_xs"``).
    pairs : pandas.DataFrame
        The pairs to judge (:func:`lfw_protocol_pairs`).
    protocol, folds_in_file :
        Where the pairs come from (reported as given).
    missing : {"worst", "drop"}
    detector : str or sequence of str, optional
        One detector for every model (default each model's own); several: every model with each
        detector, a row each named ``"model/detector"`` (e.g. ``"edgeface_xs/yunet"``), compared
        pairwise like models (no fusions then).
    fusion_pairs : pandas.DataFrame, optional
        Training pairs of the fusions.
    n_boot, seed :
        Bootstrap replicates (of each model's confidence intervals and of each paired comparison) and seed.
    **embed_options
        For :func:`facelab.engine.pipeline.embed_images` (``policy``, ``flip``, ``progress``, ...).

    Returns
    -------
    LfwComparison
    """
    from facelab import verification as V
    from facelab.data.datasets import pair_images
    from facelab.verification.comparison import fit_fusion, fold_difference, paired_bootstrap

    if missing not in MISSING:
        raise EvaluationError(f"missing must be one of {', '.join(MISSING)}, got {missing!r}")
    models = list(models)
    if len(set(models)) != len(models):
        raise EvaluationError(f"a model is named twice: {', '.join(models)}")
    base = _base_models(models)
    fused = [s for s in models if "+" in s]
    detectors = [detector] if detector is None or isinstance(detector, str) else list(detector)
    if len(set(detectors)) != len(detectors):
        raise EvaluationError(f"a detector is named twice: {', '.join(detectors)}")

    images = pair_images(pairs)
    if len(detectors) > 1:
        # Detectors side by side: a row per (model, detector), named "model/detector".
        if fused:
            raise EvaluationError("a score fusion takes one detector: give several detectors without fusions")
        results = {}
        for d in detectors:
            for m, res in embed_models(images, base, detector=d, **embed_options).items():
                results[f"{m}/{d}"] = res
        models = base = list(results)
    else:
        results = embed_models(images, base, detector=detectors[0], **embed_options)
    scored = {m: lfw_scores(results[m], pairs, on_missing="worst") for m in base}
    # The same pairs for every model: with missing="drop", those where every model has both faces.
    keep = np.ones(len(pairs), bool)
    if missing == "drop":
        for ls in scored.values():
            keep[ls.incomplete_pairs["pair"].to_numpy(int)] = False
    first = scored[base[0]]
    same, folds = first.same[keep], first.folds[keep]
    id1, id2 = first.name1[keep], first.name2[keep]
    cos = {m: scored[m].scores[keep] for m in base}
    calibrated = {m: results[m].calibration.score_for_cosine(cos[m]) for m in base}
    no_face = {}
    for m in base:
        miss = np.zeros(len(pairs), bool)
        miss[scored[m].incomplete_pairs["pair"].to_numpy(int)] = True
        no_face[m] = miss[keep]

    fusions, train_results = {}, {}
    if fused:
        train = lfw.pairs("devtrain") if fusion_pairs is None else fusion_pairs
        parts = sorted({p for s in fused for p in s.split("+")}, key=base.index)
        train_results = embed_models(pair_images(train), parts, detector=detector, **embed_options)
        tcal, tok = {}, np.ones(len(train), bool)
        for m in parts:
            ls = lfw_scores(train_results[m], train, on_missing="worst")
            tok[ls.incomplete_pairs["pair"].to_numpy(int)] = False
            tcal[m] = train_results[m].calibration.score_for_cosine(ls.scores)
        ytrain = train["same"].to_numpy(bool)
        source = ("LFW pairsDevTrain.txt" if fusion_pairs is None else "the given training pairs")
        for spec in fused:
            fusions[spec] = fit_fusion({p: tcal[p][tok] for p in spec.split("+")}, ytrain[tok],
                                       source=f"{source} ({int(tok.sum())} pairs with both faces)")

    rows = []
    use_folds = folds if np.unique(folds).size >= 2 else None
    for spec in models:
        if spec in fusions:
            f = fusions[spec]
            # A model without a face in a pair gives no evidence there: calibrated score 0.5 (logit 0),
            # so the other model decides, instead of its worst score vetoing the pair.
            inputs = {p: np.where(no_face[p], 0.5, calibrated[p]) for p in f.models}
            sc, cal = f.predict_proba(inputs), None
        else:
            sc, cal = cos[spec], results[spec].calibration
        rep = V.evaluate_verification(sc, same, folds=use_folds, id1=id1, id2=id2, calibration=cal,
                                      n_boot=n_boot, seed=seed)
        if spec in fusions:
            rows.append(LfwModelRow(spec, rep, sc, fusion=fusions[spec]))
        else:
            settings = {k: v for k, v in results[spec].settings.items() if k != "cache"}
            rows.append(LfwModelRow(spec, rep, sc, no_face=scored[spec].summary(), settings=settings))

    comparisons = []
    for ia, a in enumerate(rows):
        for b in rows[ia + 1:]:
            ka, kb = a.report.kfold, b.report.kfold
            diff = fold_difference(ka.accuracies, kb.accuracies) if ka is not None and kb is not None else None
            paired = (paired_bootstrap(a.scores, b.scores, same, id1, id2, n_boot=n_boot, seed=seed)
                      if n_boot else {})
            comparisons.append(ModelDifference(a.model, b.model, diff, paired))

    return LfwComparison(protocol=protocol, folds_in_file=folds_in_file, folds_used=int(np.unique(folds).size),
                         n_pairs=int(keep.sum()), missing=missing, root=str(lfw.root), n_images=int(len(images)),
                         models=rows, comparisons=comparisons, results=results, train_results=train_results)
