"""facelab.report.stages: every stage timed, in order, with a progress line as it starts and ends."""

from __future__ import annotations

import io

import pytest

from facelab.report.stages import ReportClock


def test_clock_records_each_stage_in_order_and_says_so():
    out = io.StringIO()
    timings: dict = {"embed": 1.0}
    clock = ReportClock(progress=True, stream=out, timings=timings)
    with clock.stage("dlib: umap", "1,240 faces"):
        pass
    with clock.stage("figure: roc"):
        pass
    with pytest.raises(KeyError):
        with clock.stage("broken"):
            raise KeyError("x")
    clock.add("embed", 0.5)
    assert list(timings) == ["embed", "dlib: umap", "figure: roc", "broken"]  # the dict given, added to
    assert timings["embed"] == pytest.approx(1.5) and all(v >= 0 for v in timings.values())
    lines = out.getvalue().splitlines()
    assert "dlib: umap: 1,240 faces ..." in lines[0] and lines[1].split("] ")[1].startswith("dlib: umap: ")
    assert any(line.split("] ")[1].startswith("broken: ") for line in lines)  # a failed stage still reports
    quiet = io.StringIO()
    with ReportClock(progress=False, stream=quiet).stage("x"):
        pass
    assert quiet.getvalue() == ""


def test_report_timings_reach_metrics(two_id_build):
    import json

    from facelab.report.figures import report_figures

    m = json.loads((two_id_build.out / "metrics.json").read_text())
    t = m["provenance"]["timings"]
    computed = two_id_build.data.timings  # the computing stages; writing added its own to the file only
    assert list(t)[:len(computed)] == list(computed) and {k: t[k] for k in computed} == computed
    assert "page" in t and "tables" in t and "page" not in computed
    assert list(t)[0] == "embed" and list(t)[-1] == "total"
    figures = [f.name for f in report_figures(two_id_build.data)]
    assert [k for k in t if k.startswith("figure: ")] == [f"figure: {name}" for name in figures]
