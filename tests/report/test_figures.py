"""Figures are drawn without pyplot: no backend switch, nothing left in pyplot's figure list."""

from __future__ import annotations

import matplotlib
from matplotlib.figure import Figure

from facelab.report import figures as F


def test_figures_are_plain_figures_outside_pyplot(two_id_data):
    import matplotlib.pyplot as plt

    backend, open_before = matplotlib.get_backend(), plt.get_fignums()
    for spec in F.report_figures(two_id_data):
        if spec.name == "umap":
            continue  # thumbnails: the slowest to draw; drawn in the report fixture
        fig = spec.draw(two_id_data)
        assert isinstance(fig, Figure) and fig.axes, spec.name
    assert plt.get_fignums() == open_before and matplotlib.get_backend() == backend


def test_aligned_grid_shows_the_sample_chips(two_id_data):
    m = two_id_data.model
    fig = F.aligned(two_id_data)
    shown = [im.get_array() for ax in fig.axes for im in ax.get_images()]
    assert len(shown) == len(m.samples)
    for a, b in zip(shown, m.sample_chips()):
        assert (a == b).all()
