"""The course: the notebook series executed and rendered as static HTML a student opens from disk.

:func:`build_course` executes every notebook (:func:`facelab.course.notebooks.execute_notebook`), renders
each executed copy with nbconvert's :class:`~nbconvert.HTMLExporter` (figures are embedded as
``data:`` URIs, so a page needs no Python, no server and no network), and writes an ``index.html``
listing every notebook with its learning goals and measured run time, plus ``course.json``. The
folder is written atomically (:func:`facelab.core.atomic.staged_directory`): it appears complete or not
at all. A notebook that fails is still rendered (up to the failing cell, with the error) and
marked failed in the index; the others go on.

``facelab course [--out reports/course] [--dataset DIR] [--notebooks 01 07]`` or ``make course``.

Reference solutions of each notebook's exercises live in ``solutions/NN_*.py``
(:func:`load_solution`).
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from facelab.core.errors import FacelabError

__all__ = [
    "CourseResult",
    "NotebookEntry",
    "build_course",
    "load_solution",
    "select_notebooks",
]

SOLUTIONS_DIR = Path(__file__).resolve().parents[2] / "solutions"
GOALS_HEADING = re.compile(r"^#+\s*learning goals", re.IGNORECASE | re.MULTILINE)


@dataclass
class NotebookEntry:
    """One notebook of the course: what it teaches and how its run went."""

    name: str
    title: str
    goals: list = field(default_factory=list)
    html: str | None = None
    seconds: float | None = None
    status: str = "not run"
    error: str | None = None


@dataclass
class CourseResult:
    out_dir: Path
    index: Path
    notebooks: list

    @property
    def failed(self) -> list:
        return [n for n in self.notebooks if n.status != "ok"]


def notebook_info(path: os.PathLike | str) -> NotebookEntry:
    """Title (first heading) and learning goals (bullets of the ``Learning goals`` section)."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    title, goals = Path(path).stem, []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        m = re.search(r"^#\s+(.+)$", cell.source, re.MULTILINE)
        if m and title == Path(path).stem:
            title = m.group(1).strip()
        g = GOALS_HEADING.search(cell.source)
        if g and not goals:
            section = cell.source[g.end():]
            section = re.split(r"^#+\s", section, maxsplit=1, flags=re.MULTILINE)[0]
            goals = [ln.strip()[2:].strip() for ln in section.splitlines() if ln.strip().startswith(("* ", "- "))]
    return NotebookEntry(name=Path(path).name, title=title, goals=goals)


def select_notebooks(selectors: Sequence[str] | None = None, folder=None) -> list[Path]:
    """The series (``facelab.course.notebooks.list_notebooks``), or the notebooks whose name starts with a selector."""
    from facelab.course.notebooks import NOTEBOOK_DIR, list_notebooks

    every = list_notebooks(folder or NOTEBOOK_DIR)
    if not selectors:
        return every
    chosen = []
    for s in selectors:
        p = Path(s)
        if p.suffix == ".ipynb" and p.is_file():
            chosen.append(p)
            continue
        hits = [n for n in every if n.name.startswith(str(s))]
        if not hits:
            raise FacelabError(f"no notebook matches {s!r}; the series is {', '.join(n.name for n in every)}")
        chosen.extend(hits)
    return chosen


def render_html(nb) -> str:
    """A self-contained HTML page of an executed notebook (figures embedded)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def _inline_code(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def _index_html(entries: list, *, parameters: Mapping, total: float) -> str:
    rows = []
    for e in entries:
        goals = "".join(f"<li>{_inline_code(html.escape(g))}</li>" for g in e.goals) or "<li><em>no learning goals listed</em></li>"
        when = f"{e.seconds:.0f} s" if e.seconds is not None else "–"
        state = "" if e.status == "ok" else f' <span class="bad">{html.escape(e.status)}: {html.escape(e.error or "")}</span>'
        link = f'<a href="{html.escape(e.html)}">{html.escape(e.title)}</a>' if e.html else html.escape(e.title)
        rows.append(f"<section><h2>{link}</h2><p class=meta>{html.escape(e.name)} · ran in {when}{state}</p>"
                    f"<ul>{goals}</ul></section>")
    params = ", ".join(f"{k} = {v!r}" for k, v in parameters.items()) or "the notebooks' defaults"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>facelab — the course</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }}
h1 {{ margin-bottom: .2rem; }} h2 {{ margin: 1.4rem 0 .2rem; font-size: 1.2rem; }}
.meta {{ color: #666; margin: 0; font-size: .9rem; }} .bad {{ color: #b00; font-weight: bold; }}
section {{ border-top: 1px solid #ddd; }} a {{ color: #0b5cad; }}
</style></head><body>
<h1>facelab — the course</h1>
<p>From a photo to a defensible "same person?" decision: landmarks, alignment, embeddings, thresholds,
the embedding space, the report, clustering faces without names and auditing labels, and the experiments
that show why each stage exists. Each page is a notebook executed on {html.escape(params)}, with every
output; open it from disk, no Python needed.
Exercises close every notebook; reference solutions are in <code>solutions/</code> of the repository.</p>
<p class=meta>{len(entries)} notebooks, {total:.0f} s in all, built {time.strftime("%Y-%m-%d %H:%M")}.</p>
{"".join(rows)}
</body></html>
"""


def build_course(
    out: os.PathLike | str = "reports/course",
    *,
    notebooks: Sequence[os.PathLike | str] | None = None,
    parameters: Mapping[str, object] | None = None,
    timeout: int = 1800,
    progress: bool = True,
) -> CourseResult:
    """Execute the notebooks and write their HTML copies and an index into ``out``, atomically.

    Parameters
    ----------
    out : path-like
        The course folder (replaced as a whole when the build ends).
    notebooks : sequence of path-like, optional
        Default: the whole series (:func:`select_notebooks`).
    parameters : mapping, optional
        Injected after every notebook's ``parameters`` cell (e.g. ``{"DATASET": "data/teaching"}``).
    timeout : int
        Seconds allowed per cell.

    Returns
    -------
    CourseResult
        Every notebook with its status; failed ones are listed in ``failed`` (and in the index).
    """
    import sys

    import nbformat

    from facelab.core.atomic import staged_directory
    from facelab.course.notebooks import NotebookError, execute_notebook

    paths = [Path(p) for p in (notebooks if notebooks is not None else select_notebooks())]
    if not paths:
        raise FacelabError("no notebooks to build")
    parameters = dict(parameters or {})
    out = Path(out)
    entries = []
    with staged_directory(out) as tmp:
        tmp.chmod(0o755)  # mkdtemp makes it private; the course is meant to be read
        (tmp / "executed").mkdir()
        for path in paths:
            entry = notebook_info(path)
            executed = tmp / "executed" / path.name
            if progress:
                print(f"course: running {path.name} ...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            try:
                execute_notebook(path, parameters=parameters, output=executed, timeout=timeout)
                entry.status = "ok"
            except NotebookError as exc:  # keep going: the page shows where it stopped
                lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
                entry.status, entry.error = "failed", (lines[-1] if lines else type(exc).__name__)[:300]
            entry.seconds = time.perf_counter() - t0
            if executed.is_file():
                page = path.with_suffix(".html").name
                (tmp / page).write_text(render_html(nbformat.read(str(executed), as_version=4)), encoding="utf-8")
                entry.html = page
            entries.append(entry)
            if progress:
                print(f"course: {path.name} {entry.status} in {entry.seconds:.0f} s", file=sys.stderr, flush=True)
        total = sum(e.seconds or 0 for e in entries)
        (tmp / "index.html").write_text(_index_html(entries, parameters=parameters, total=total), encoding="utf-8")
        (tmp / "course.json").write_text(json.dumps({"parameters": {k: repr(v) for k, v in parameters.items()},
                                                     "notebooks": [asdict(e) for e in entries]}, indent=2) + "\n")
    return CourseResult(out_dir=out, index=out / "index.html", notebooks=entries)


def load_solution(notebook: str, *, folder: os.PathLike | str = SOLUTIONS_DIR):
    """The reference-solution module of a notebook (``"01"``, ``"07_alignment_sensitivity"``...)."""
    folder = Path(folder)
    hits = sorted(folder.glob(f"{notebook}*.py"))
    if not hits:
        raise FacelabError(f"no solutions for {notebook!r} in {folder}")
    path = hits[0]
    spec = importlib.util.spec_from_file_location(f"facelab_solutions_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
