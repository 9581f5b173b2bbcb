"""Face verification (1:1) metrics: pairs, ROC/AUC, DET, EER, TAR@FAR, thresholds, k-fold
accuracy, identity-level bootstrap CIs, the LFW protocol and all-pairs ROC of large sets.

Conventions
-----------
* A *score* is a similarity: higher means "more likely the same person". Facelab scores pairs
  with the cosine similarity of their embeddings.
* A pair is called "same person" when ``score >= threshold``.
* ``same`` is a boolean array: True for genuine (same-person) pairs, False for impostor pairs.
* Thresholds are reported on facelab's three scales: cosine similarity (higher = same), squared
  L2 distance of unit vectors ``d = 2 - 2 cos`` (lower = same) and the calibrated score
  ``sigmoid((mean - d) / std)`` of :class:`facelab.core.calibration.Calibration` (higher = same);
  the conversions live in :mod:`facelab.core.calibration`.

Everything here returns numpy arrays, floats, DataFrames or frozen dataclasses; drawing lives in
:mod:`facelab.plotting.verification`.

One module per job; this package re-exports what users and notebooks call. Everything else
(result dataclasses, building blocks such as :func:`~facelab.verification.pairs.impostor_pairs`,
:func:`~facelab.verification.curves.far_key` or
:func:`~facelab.verification.bootstrap.identity_resample`) is imported from its module:

=========================  =========================================================================
module                     job
=========================  =========================================================================
``pairs``                  PairSet, genuine/impostor pairs, make_pairs, pair scores and distances
``curves``                 ROC/AUC, DET, EER (``eer_from_curve``), TAR@FAR, ``far_key``
``thresholds``             best-accuracy / Youden thresholds, k-fold accuracy, confusion, sweep,
                           wrong-side pairs, the threshold view
``bootstrap``              identity-level bootstrap CIs
``streaming``              all-pairs ROC/AUC/EER of large sets from score histograms
``lfw``                    the LFW pairs protocol: pair scores (the images a pairs table needs:
                           ``facelab.data.datasets.pair_images``)
``evaluate``               ``evaluate_verification`` -> ``VerificationReport``
=========================  =========================================================================
"""

from facelab.verification.bootstrap import bootstrap_ci, bootstrap_cis
from facelab.verification.curves import DEFAULT_FARS, det, eer, roc, tar_at_far
from facelab.verification.evaluate import VerificationReport, evaluate_verification
from facelab.verification.lfw import lfw_pair_scores
from facelab.verification.pairs import PairSet, all_pair_scores, make_pairs, pair_scores, squared_distances
from facelab.verification.streaming import streaming_roc
from facelab.verification.thresholds import (
    best_accuracy_threshold,
    confusion_at,
    kfold_accuracy,
    threshold_sweep,
    threshold_view,
    wrong_side_pairs,
    youden_j,
)

__all__ = [
    # pairs
    "PairSet",
    "make_pairs",
    "pair_scores",
    "squared_distances",
    "all_pair_scores",
    # curves
    "DEFAULT_FARS",
    "roc",
    "det",
    "eer",
    "tar_at_far",
    # thresholds
    "best_accuracy_threshold",
    "youden_j",
    "kfold_accuracy",
    "confusion_at",
    "threshold_sweep",
    "wrong_side_pairs",
    "threshold_view",
    # bootstrap
    "bootstrap_ci",
    "bootstrap_cis",
    # streaming
    "streaming_roc",
    # lfw
    "lfw_pair_scores",
    # evaluate
    "evaluate_verification",
    "VerificationReport",
]
