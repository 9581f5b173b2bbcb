"""One real two-ID report for the whole session: built by the CLI, with the ReportData it was written from."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture(scope="session")
def two_id_build(tmp_path_factory, two_id_dir):
    """``facelab report`` on the two-ID set, run while a non-Agg backend ("svg") is selected.

    Records, without changing what runs: the :class:`~facelab.report.ReportData` that
    ``compute_report`` returned, how many times 1:N was evaluated, the images read while the
    report was written (after the pipeline), and the backend after the run.
    """
    import matplotlib

    import facelab.data.imageio
    import facelab.identification.evaluate
    from facelab.cli import main
    from facelab.report import build as B

    out = tmp_path_factory.mktemp("reports") / "two_id"
    seen = SimpleNamespace(data=[], identification_runs=0, loads_while_writing=[], writing=False)
    real_compute, real_write = B.compute_report, B.write_report
    real_eval, real_load = facelab.identification.evaluate.evaluate_identification, facelab.data.imageio.load_image

    def compute(*a, **k):
        seen.data.append(real_compute(*a, **k))
        return seen.data[-1]

    def write(*a, **k):
        seen.writing = True
        try:
            return real_write(*a, **k)
        finally:
            seen.writing = False

    def evaluate(*a, **k):
        seen.identification_runs += 1
        return real_eval(*a, **k)

    def load(path, *a, **k):
        if seen.writing:
            seen.loads_while_writing.append(str(path))
        return real_load(path, *a, **k)

    before = matplotlib.get_backend()
    mp = pytest.MonkeyPatch()
    mp.setattr(B, "compute_report", compute)
    mp.setattr(B, "write_report", write)
    mp.setattr(facelab.identification.evaluate, "evaluate_identification", evaluate)
    mp.setattr(facelab.data.imageio, "load_image", load)
    matplotlib.use("svg")
    try:
        rc = main(["report", str(two_id_dir), "--out", str(out), "--quiet", "--bootstrap", "200"])
        backend_after = matplotlib.get_backend()
    finally:
        mp.undo()
        matplotlib.use(before)
    assert rc == 0 and len(seen.data) == 1
    return SimpleNamespace(out=out, data=seen.data[0], backend_after=backend_after,
                           identification_runs=seen.identification_runs, loads_while_writing=seen.loads_while_writing)


@pytest.fixture(scope="session")
def two_id_report(two_id_build):
    """The report folder."""
    return two_id_build.out


@pytest.fixture(scope="session")
def two_id_data(two_id_build):
    """The ReportData the report was written from."""
    return two_id_build.data
