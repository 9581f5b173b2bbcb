"""The course builds: executed notebooks as self-contained HTML, an index with goals and run times,
written atomically, failures rendered and reported; solutions load by notebook number."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from facelab.cli import main
from facelab.core.errors import FacelabError
from facelab.course.build import build_course, load_solution, notebook_info, select_notebooks
from facelab.course.notebooks import list_notebooks


def _notebook(path, body: str, title: str = "# 99 · A tiny lesson"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(title),
        nbformat.v4.new_markdown_cell("## Learning goals\n\n* draw a line\n* read a number\n\n## Assumes\n\nnothing"),
        nbformat.v4.new_code_cell("N = 3", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot(range(N))\nprint('N is', N)"),
        nbformat.v4.new_code_cell(body),
    ]
    nbformat.write(nb, str(path))
    return path


def test_course_pages_stand_alone_and_the_index_lists_goals_and_times(tmp_path):
    ok = _notebook(tmp_path / "98_ok.ipynb", "print('done')")
    bad = _notebook(tmp_path / "99_bad.ipynb", "raise ValueError('on purpose')", title="# 99 · Broken")
    out = tmp_path / "course"
    res = build_course(out, notebooks=[ok, bad], parameters={"N": 5}, progress=False)
    assert [e.status for e in res.notebooks] == ["ok", "failed"] and res.failed[0].name == "99_bad.ipynb"
    assert "ValueError" in res.failed[0].error
    page = (out / "98_ok.html").read_text()
    assert "N is 5" in page  # executed with the injected parameter
    assert re.search(r'<img[^>]+src="data:image/png;base64,', page)  # the figure is inside the page
    assert not re.search(r'<img[^>]+src="(?!data:)', page)  # and no image is fetched from elsewhere
    assert "on purpose" in (out / "99_bad.html").read_text()  # a failed notebook is rendered up to its error
    index = (out / "index.html").read_text()
    assert "draw a line" in index and "A tiny lesson" in index and 'href="98_ok.html"' in index
    assert "failed" in index
    meta = json.loads((out / "course.json").read_text())
    assert [n["goals"] for n in meta["notebooks"]][0] == ["draw a line", "read a number"]
    assert all(n["seconds"] > 0 for n in meta["notebooks"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".course")]  # no staging left behind
    assert out.stat().st_mode & 0o777 == 0o755  # readable by others, unlike a fresh mkdtemp


def test_an_interrupted_build_leaves_the_old_course(tmp_path, monkeypatch):
    import facelab.course.build as C

    out = tmp_path / "course"
    out.mkdir()
    (out / "index.html").write_text("old")
    monkeypatch.setattr(C, "render_html", lambda nb: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        build_course(out, notebooks=[_notebook(tmp_path / "98_ok.ipynb", "1")], progress=False)
    assert (out / "index.html").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["98_ok.ipynb", "course"]


def test_cli_course(tmp_path, capsys):
    nb = _notebook(tmp_path / "98_ok.ipynb", "print('fine')")
    assert main(["course", "--out", str(tmp_path / "c"), "--notebooks", str(nb)]) == 0
    assert "98_ok.ipynb" in capsys.readouterr().out and (tmp_path / "c" / "98_ok.html").is_file()
    bad = _notebook(tmp_path / "99_bad.ipynb", "1/0")
    assert main(["course", "--out", str(tmp_path / "c"), "--notebooks", str(bad)]) == 1
    assert main(["course", "--notebooks", "77"]) == 2


def test_every_notebook_has_goals_and_a_solution_module():
    for path in list_notebooks():
        info = notebook_info(path)
        assert len(info.goals) >= 3, f"{path.name}: needs learning goals"
        nb = nbformat.read(path, as_version=4)
        last = nb.cells[-1]
        assert last.cell_type == "markdown" and "Exercises" in last.source, f"{path.name}: end with exercises"
        assert 3 <= len(re.findall(r"^\d+\. ", last.source, re.MULTILINE)) <= 5, f"{path.name}: 3-5 exercises"
        sol = load_solution(path.name[:2])
        assert hasattr(sol, "exercise_1") and hasattr(sol, "exercise_3")
    assert [p.name for p in select_notebooks(["07", "08"])] == ["07_alignment_sensitivity.ipynb", "08_lfw_protocol.ipynb"]
    with pytest.raises(FacelabError, match="no solutions"):
        load_solution("77")
