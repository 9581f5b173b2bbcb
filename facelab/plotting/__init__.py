"""Every figure of facelab, in scikit-learn's Display style.

Each submodule draws one stage: :mod:`facelab.plotting.faces` (landmarks, aligned faces),
:mod:`facelab.plotting.verification`, :mod:`facelab.plotting.embedding_space`. Displays are built
with ``XDisplay.from_...(...)`` and drawn with ``.plot(ax=None)``, which returns the display
(with ``ax_`` and ``figure_`` set). Import the submodule you need; this package imports none.
"""
