"""Screenshots of the embedding explorer, in the system's headless Chromium.

    python benchmarks/screenshots.py --out ../plan/screens [--dataset DIR] [--shots page,lab,report]
    python benchmarks/screenshots.py --out ../plan/screens --shots report [--report REPORT_DIR]

Writes
  explorer_page.png        the standalone page (explorer.html, beside it) on the two-ID set:
                           a face clicked (its neighbours circled and listed), the threshold
                           slider moved (misjudged pairs as lines, FAR/FRR readout), the pointer
                           on a face (the hover tooltip with its thumbnail)
  explorer_jupyterlab.png  notebook 05 run in JupyterLab (a server started on 127.0.0.1 and shut
                           down after), scrolled to the explorer widget, a face hovered
  report_explorer.png      the report's index.html (``--report DIR``, else ``facelab report`` on the
                           dataset into a temporary folder) opened from disk, scrolled to its
                           "Embedding space" section: a face clicked, the slider moved, a face hovered
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# The browser helpers live with the tests (tests/browser.py): import them from the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _interact(driver, coords, *, hover_row: int, click_row: int, slider_dx: int = 0):
    from tests.browser import BOKEH_JS, drag_threshold, map_point, move_pointer

    driver.execute_script(BOKEH_JS)
    x, y, _ = map_point(driver, click_row)
    move_pointer(driver, x, y, down=True, up=True)
    time.sleep(0.5)
    if slider_dx:
        drag_threshold(driver, slider_dx, scroll=False)  # the shot keeps its framing
        time.sleep(0.5)
    x, y, _ = map_point(driver, hover_row)
    move_pointer(driver, x - 20, y - 20)
    move_pointer(driver, x, y)
    time.sleep(1.0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="screens")
    ap.add_argument("--dataset", default=None, help="folder per identity (default: the two-ID set)")
    ap.add_argument("--shots", default="page,lab,report", help="which screenshots (comma-separated)")
    ap.add_argument("--report", default=None, help="an existing report folder for report_explorer.png")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shots = set(args.shots.split(","))
    if "report" in shots:
        report_screenshot(out, dataset=args.dataset, report=args.report)
    if not shots & {"page", "lab"}:
        return

    import nbformat

    from facelab.course.notebooks import NOTEBOOK_DIR, inject_parameters
    from facelab.data.datasets import ensure_two_id, read_identity_folders
    from facelab.engine.pipeline import embed_folder
    from facelab.plotting.explorer import explore
    from tests.browser import chromium, jupyter_lab, lab_run_all

    dataset = Path(args.dataset) if args.dataset else ensure_two_id()
    names = read_identity_folders(dataset).names
    res = embed_folder(dataset, progress=False)
    ex = explore(res, names=names, method="umap")
    page = ex.save(out / "explorer.html")
    coords = ex.data.coords
    # hover the face farthest from the others' centre; click a face in the other cluster
    centre = coords.mean(axis=0)
    hover_row = int(np.argmax(np.linalg.norm(coords - centre, axis=1)))
    other = ex.data.identities != ex.data.identities[hover_row]
    click_row = int(np.flatnonzero(other)[0])
    with chromium(width=1400, height=1250) as driver:
        driver.get(page.resolve().as_uri())
        time.sleep(3)
        _interact(driver, coords, hover_row=hover_row, click_row=click_row, slider_dx=40)
        driver.save_screenshot(str(out / "explorer_page.png"))
    print("wrote", out / "explorer_page.png")

    root = Path(tempfile.mkdtemp(prefix="facelab-screens-"))
    try:
        nb = nbformat.read(NOTEBOOK_DIR / "05_umap.ipynb", as_version=4)
        inject_parameters(nb, {"DATASET": str(dataset), "GRID_N_NEIGHBORS": [5], "GRID_MIN_DIST": [0.0],
                               "REPEATS": 1})
        nbformat.write(nb, root / "05_umap.ipynb")
        with jupyter_lab(root, env=dict(os.environ, MPLBACKEND="Agg")) as (base, token, _):
            with chromium(width=1500, height=1200) as driver:
                lab_run_all(driver, base, token, "05_umap.ipynb", timeout=400)
                driver.execute_script("""
                    const cell = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
                      .find(c => c.textContent.includes('ex = explore(res'));
                    cell.scrollIntoView({block: 'start'});""")
                time.sleep(3)
                for b in driver.find_elements("css selector", ".jp-Notification-toast button"):
                    if b.text.strip() == "No":
                        b.click()
                _interact(driver, coords, hover_row=hover_row, click_row=click_row)
                driver.save_screenshot(str(out / "explorer_jupyterlab.png"))
        print("wrote", out / "explorer_jupyterlab.png")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def report_screenshot(out: Path, *, dataset=None, report=None) -> Path:
    """``report_explorer.png``: the report's explorer section in headless Chromium."""
    from tests.browser import chromium

    tmp = None
    if report is None:
        from facelab.report import build_report

        tmp = Path(tempfile.mkdtemp(prefix="facelab-report-shot-"))
        report = build_report(dataset, out=tmp / "report", progress=False, n_boot=50).out_dir
    try:
        with chromium(width=1300, height=1150) as driver:
            driver.get((Path(report) / "index.html").resolve().as_uri())
            time.sleep(3)
            from tests.browser import BOKEH_JS

            driver.execute_script(BOKEH_JS)
            coords = np.asarray(driver.execute_script(
                "const d = Bokeh.documents[0].get_model_by_name('facelab-points').data_source.data;"
                "return [Array.from(d.x), Array.from(d.y), Array.from(d.identity)];"), dtype=object)
            xy = np.c_[np.asarray(coords[0], float), np.asarray(coords[1], float)]
            ident = np.asarray(coords[2])
            driver.execute_script("document.getElementById('embedding-space').scrollIntoView({block: 'start'});"
                                  "window.scrollBy(0, -40);")
            time.sleep(0.5)
            hover_row = int(np.argmax(np.linalg.norm(xy - xy.mean(axis=0), axis=1)))
            click_row = int(np.flatnonzero(ident != ident[hover_row])[0])
            _interact(driver, xy, hover_row=hover_row, click_row=click_row, slider_dx=12)
            path = out / "report_explorer.png"
            driver.save_screenshot(str(path))
        print("wrote", path)
        return path
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
