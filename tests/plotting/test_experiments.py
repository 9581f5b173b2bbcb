"""The course-experiment displays draw real results (a dozen LFW pairs) and return themselves.

Set ``FACELAB_PLOT_DIR`` to keep the PNGs for a look.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from facelab.analysis.anatomy import embedding_anatomy
from facelab.analysis.faces import detect_faces, lfw_pairs_subset
from facelab.plotting.experiments import (
    AlignmentSensitivityDisplay,
    BiasCurveDisplay,
    DimensionStatsDisplay,
    FlipDisplay,
    NeighboursDisplay,
    NormQualityDisplay,
    PerturbationGalleryDisplay,
    ProtocolBiasDisplay,
)


@pytest.fixture(scope="module")
def small(lfw):
    from facelab.data.datasets import pair_images
    from facelab.embedders.dlib import DlibEmbedder

    pairs = lfw_pairs_subset(lfw, n_pairs=12)
    faces = detect_faces(pair_images(pairs))
    emb = DlibEmbedder()
    return pairs, faces, emb, embedding_anatomy(faces, emb)


def _save(disp, outdir, name):
    disp.figure_.savefig(outdir / f"{name}.png", dpi=60)
    assert (outdir / f"{name}.png").stat().st_size > 1000


def test_alignment_sensitivity_display(small, outdir):
    pairs, faces, emb, _ = small
    d = AlignmentSensitivityDisplay.from_faces(faces, emb, kind="rotation", levels=[0, 30], pairs=pairs,
                                               metric="genuine_mean")
    assert d.plot() is d
    (line,) = d.ax_.get_lines()
    y = line.get_ydata()
    assert len(y) == 2 and y[0] > y[1]  # turning the probe by 30 degrees lowers genuine similarity
    assert "rotation" in d.ax_.get_xlabel()
    with pytest.raises(ValueError, match="unknown metric"):
        AlignmentSensitivityDisplay(d.results, metric="nope")
    _save(d, outdir, "alignment_sensitivity")


def test_perturbation_gallery_display(small, outdir):
    _, faces, emb, _ = small
    d = PerturbationGalleryDisplay.from_face(faces.images[0], faces.faces[0], emb.alignment, kind="shift",
                                             levels=[0, 0.2, 0.4])
    assert d.ax_.get_images()[0].get_array().shape[:2] == (150, 450)
    assert not np.array_equal(d.chips[0], d.chips[2])
    _save(d, outdir, "perturbation_gallery")


def test_protocol_bias_and_bias_curve_displays(outdir):
    rng = np.random.default_rng(0)
    folds = np.repeat(np.arange(10), 40)
    same = np.tile(np.repeat([True, False], 20), 10)
    scores = np.where(same, rng.normal(0.6, 0.15, same.size), rng.normal(0.2, 0.15, same.size))
    d = ProtocolBiasDisplay.from_predictions(scores, same, folds)
    assert len(d.ax_.collections) == 3 and "optimistic bias" in d.ax_.get_title()
    _save(d, outdir, "protocol_bias")
    c = BiasCurveDisplay.from_predictions(scores, same, folds, pairs_per_fold=[4, 40], repeats=3)
    assert list(c.table.pairs_per_fold) == [4, 40] and c.ax_.get_xscale() == "log"
    _save(c, outdir, "bias_curve")


def test_neighbours_display(small, outdir):
    _, faces, _, anatomy = small
    d = NeighboursDisplay.from_embeddings(anatomy.normalised, faces.identities, list(faces.table.path), 0, k=4)
    assert len(d.table) == 4 and len(d.ax_.patches) == 4
    assert d.ax_.get_images()[0].get_array().shape[:2] == (112, 5 * 112)
    _save(d, outdir, "neighbours")


def test_anatomy_displays(small, outdir):
    _, _, _, anatomy = small
    n = NormQualityDisplay.from_anatomy(anatomy)
    assert len(n.axes_) == 3 and n.axes_[0].get_ylabel().startswith("raw norm")
    _save(n, outdir, "norm_quality")
    s = DimensionStatsDisplay.from_embeddings(anatomy.normalised)
    assert "components hold 90%" in s.axes_[1].get_title()
    _save(s, outdir, "dimension_stats")
    f = FlipDisplay.from_anatomy(anatomy)
    assert len(f.ax_.patches) > 0
    _save(f, outdir, "flip")
