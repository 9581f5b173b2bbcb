"""The report's stages, timed: each says when it starts and how long it took, and the times go
into ``metrics.json`` (``provenance.timings``).

A report runs as a list of stages -- embedding each model, its pairs and verification (with the
bootstrap), identification, the UMAP, the misjudged pairs, the identity table, the comparison, then
each file, figure and the page -- and :class:`ReportClock` times each one. With ``progress`` a
line goes to stderr as a stage starts and another when it ends, so a long run (all of LFW) shows
where it is; the seconds are kept in order, per stage, for ``metrics.json`` and
``benchmarks/report_scale.py``.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

__all__ = ["ReportClock"]


class ReportClock:
    """Seconds per stage of a report, in the order they ran.

    Parameters
    ----------
    progress : bool
        Print a line to stderr when each stage starts and ends.
    timings : dict, optional
        Where to add the stages (e.g. a report's ``ReportData.timings``, which writing extends).

    Attributes
    ----------
    timings : dict
        stage -> seconds (a stage run twice adds up).
    """

    def __init__(self, *, progress: bool = True, stream=None, timings: dict | None = None):
        self.progress = bool(progress)
        self.stream = stream
        self.timings: dict = {} if timings is None else timings
        self._t0 = time.perf_counter()

    def _say(self, text: str) -> None:
        if self.progress:
            print(f"report [{time.perf_counter() - self._t0:7.1f} s] {text}", file=self.stream or sys.stderr,
                  flush=True)

    @contextmanager
    def stage(self, name: str, detail: str = ""):
        """Time the block as stage ``name`` (``detail``: shown in the progress line only)."""
        self._say(f"{name}{': ' + detail if detail else ''} ...")
        t = time.perf_counter()
        try:
            yield
        finally:
            sec = time.perf_counter() - t
            self.timings[name] = round(self.timings.get(name, 0.0) + sec, 3)
            self._say(f"{name}: {sec:.1f} s")

    def add(self, name: str, seconds: float) -> None:
        """Record a stage timed elsewhere (the embedding's own clock)."""
        self.timings[name] = round(self.timings.get(name, 0.0) + float(seconds), 3)
        self._say(f"{name}: {seconds:.1f} s")

    @property
    def total(self) -> float:
        """Seconds since the clock started."""
        return time.perf_counter() - self._t0
