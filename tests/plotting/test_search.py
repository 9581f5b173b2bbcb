"""The distractor-curve display."""

from __future__ import annotations

import numpy as np

from facelab.identification.distractors import distractor_curve_for_split
from facelab.identification.evaluate import gallery_probe_split
from facelab.plotting.search import DistractorCurveDisplay


def test_distractor_curve_display_draws_the_table(outdir):
    rng = np.random.default_rng(0)
    c = rng.standard_normal((30, 16))
    ids = np.repeat(np.arange(30), 3).astype(str)
    e = c[np.repeat(np.arange(30), 3)] + 0.8 * rng.standard_normal((90, 16))
    split = gallery_probe_split(ids, k=1, seed=0, distractor_fraction=0.2)
    curve = distractor_curve_for_split(e, ids, split, rng.standard_normal((500, 16)), threshold=0.5)
    disp = DistractorCurveDisplay.from_result(curve, name="synthetic")
    assert disp.ax_.get_xscale() == "symlog"
    lines = {ln.get_label(): ln for ln in disp.ax_.get_lines()}
    assert set(lines) == {"rank-1 (closed set)", "FNIR (open set)", "FPIR (open set)"}
    np.testing.assert_array_equal(lines["rank-1 (closed set)"].get_xdata(), curve.table.n_distractors)
    np.testing.assert_array_equal(lines["FNIR (open set)"].get_ydata(), curve.table.fnir)
    assert "t = 0.500" in disp.ax_.get_title()
    disp.figure_.savefig(outdir / "distractor_curve.png")
    assert DistractorCurveDisplay.from_result(curve).plot().figure_ is not None
