"""Every figure of facelab, in scikit-learn's Display style.

Displays are built with ``XDisplay.from_...(...)`` (which draws right away) or from computed
values and drawn with ``.plot(ax=None)``; both return the display, with ``ax_`` (or ``axes_``) and
``figure_`` set. The numbers come from the layers below (verification, identification, analysis):
nothing here computes a metric of its own.

Import them from here (``from facelab.plotting import RocDisplay``): each name is imported from its
module on first use (PEP 562), so importing this package imports neither matplotlib nor Bokeh, and
a move between the modules below never reaches a notebook.

===================  ==============================================================================
module               figures
===================  ==============================================================================
``faces``            detections over photos (``LandmarksDisplay``), aligned chips (``ChipsDisplay``,
                     ``AlignedGridDisplay``), before/after alignment (``AlignmentDisplay``), the mean
                     face, residuals, one face from photo to network input (``PreprocessingDisplay``)
``detectors``        several detectors on the same photos: overlays, landmark agreement, times
``verification``     ROC, DET, score distributions, threshold sweep, a calibration, reliability,
                     failure gallery, the threshold slider (ipywidgets)
``embedding_space``  2-D maps (UMAP / PCA / t-SNE), the distance matrix, projection grids, CMC
``experiments``      alignment sensitivity, protocol bias, embedding anatomy, nearest neighbours
``search``           the distractor curve (1:N at scale)
``clusters``         faces grouped into clusters: a gallery per cluster, scores against the threshold,
                     a photo's faces numbered as every-face mode numbers them
``audit``            contact sheets of a dataset audit's candidates (``AuditSheetDisplay``)
``explorer``         ``explore``: the interactive embedding explorer (Bokeh; drawing in
                     ``interactive``, thumbnails in ``thumbnails``)
===================  ==============================================================================
"""

from __future__ import annotations

import importlib

#: Name -> the module of this package that defines it (imported on first use).
_HOMES = {
    **dict.fromkeys(["LandmarksDisplay", "ChipsDisplay", "AlignedGridDisplay", "AlignmentDisplay", "MeanFaceDisplay",
                     "PreprocessingDisplay", "plot_residuals"], "faces"),
    **dict.fromkeys(["DetectorOverlayDisplay", "LandmarkAgreementDisplay", "DetectionTimesDisplay"], "detectors"),
    **dict.fromkeys(["RocDisplay", "DetDisplay", "ScoreDistributionDisplay", "ThresholdSweepDisplay",
                     "CalibrationDisplay", "ReliabilityDisplay", "FailureGalleryDisplay", "threshold_explorer"],
                    "verification"),
    **dict.fromkeys(["EmbeddingMapDisplay", "DistanceMatrixDisplay", "ProjectionGridDisplay", "CmcDisplay"],
                    "embedding_space"),
    **dict.fromkeys(["AlignmentSensitivityDisplay", "PerturbationGalleryDisplay", "ProtocolBiasDisplay",
                     "BiasCurveDisplay", "NeighboursDisplay", "NormQualityDisplay", "DimensionStatsDisplay",
                     "FlipDisplay"], "experiments"),
    "DistractorCurveDisplay": "search",
    **dict.fromkeys(["ClusterGalleryDisplay", "ClusterSweepDisplay", "PhotoFacesDisplay"], "clusters"),
    "AuditSheetDisplay": "audit",
    **dict.fromkeys(["explore", "Explorer"], "explorer"),
    **dict.fromkeys(["roc_figure", "det_figure", "notebook_widget"], "interactive"),
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
