"""The names of a report's files, in one place: :mod:`facelab.report.files` writes them, the page
and the figures' captions cite them (the distractor curve's is
:data:`facelab.report.distractors.CSV_NAME`)."""

from __future__ import annotations

__all__ = ["IDENTITIES_CSV", "FACES_CSV", "MISJUDGED_CSV", "comparison_file"]

#: Every identity: photos, faces found, rank-1 and hardest pairs (each model).
IDENTITIES_CSV = "identities.csv"
#: Every image's face, each model: box, five landmarks, detection score.
FACES_CSV = "faces.csv"
#: Every evaluated pair on the wrong side of its model's threshold.
MISJUDGED_CSV = "misjudged_pairs.csv"


def comparison_file(c) -> str:
    """``comparison_<a>_vs_<b>.csv``: the paired pair scores of a comparison."""
    return f"comparison_{c.a}_vs_{c.b}.csv"
