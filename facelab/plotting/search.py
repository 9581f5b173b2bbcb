"""1:N at scale: the MegaFace-style distractor curve.

>>> from facelab.plotting.search import DistractorCurveDisplay
>>> DistractorCurveDisplay.from_result(curve, name="dlib").figure_.savefig("distractors.png")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

__all__ = ["DistractorCurveDisplay"]


class DistractorCurveDisplay:
    """Rank-1, FNIR and FPIR against the number of distractors in the gallery (log axis).

    Parameters
    ----------
    n_distractors, rank1, fnir, fpir : arrays
    threshold : float, optional
        Cosine threshold of FNIR / FPIR (in the title).
    name : str, optional
        Model or dataset name (in the title).
    """

    def __init__(self, n_distractors, rank1, fnir, fpir, *, threshold=None, name=None):
        self.n_distractors = np.asarray(n_distractors, dtype=float)
        self.rank1 = np.asarray(rank1, dtype=float)
        self.fnir = np.asarray(fnir, dtype=float)
        self.fpir = np.asarray(fpir, dtype=float)
        self.threshold = threshold
        self.name = name

    @classmethod
    def from_result(cls, curve, *, name=None, ax=None):
        """Build from a :class:`facelab.identification.distractors.DistractorCurve` and draw."""
        t = curve.table
        return cls(t.n_distractors, t.rank1, t.fnir, t.fpir, threshold=curve.threshold, name=name).plot(ax=ax)

    def plot(self, ax=None):
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 4.2), layout="constrained")
        x = self.n_distractors
        ax.plot(x, self.rank1, "o-", color="#1f77b4", label="rank-1 (closed set)")
        ax.plot(x, self.fnir, "s--", color="#d62728", label="FNIR (open set)")
        if np.isfinite(self.fpir).any():
            ax.plot(x, self.fpir, "^:", color="#7f7f7f", label="FPIR (open set)")
        ax.set_xscale("symlog", linthresh=10)  # 0 distractors (the baseline) stays on the axis
        ax.set_xlim(left=0)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("distractors in the gallery")
        ax.set_ylabel("rate")
        title = "identification vs distractors"
        if self.name:
            title = f"{self.name}: {title}"
        if self.threshold is not None:
            title += f" (t = {self.threshold:.3f})"
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        self.ax_, self.figure_ = ax, ax.figure
        return self
