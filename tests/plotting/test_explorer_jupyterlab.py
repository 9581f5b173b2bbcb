"""Notebook 05 in a real JupyterLab, in headless Chromium: the server is started here on
127.0.0.1 with a token, every cell is run from the "Run" menu, the explorer widget must render
(a Bokeh canvas in the output area, no "Error displaying widget", no traceback), and the server
and its kernel are shut down again."""

from __future__ import annotations

import os
import time

import nbformat
import psutil
import pytest

from facelab.course.notebooks import NOTEBOOK_DIR, inject_parameters
from tests.browser import (
    BOKEH_JS,
    chromium,
    console_errors,
    jupyter_lab,
    lab_run_all,
)

pytestmark = pytest.mark.browser  # skipped with the reason without Chromium (tests/conftest.py)


def test_notebook_05_explorer_renders_in_jupyterlab(tmp_path, copy_two_id):
    root = tmp_path / "root"
    root.mkdir()
    small = copy_two_id(tmp_path / "two_id", 8)
    nb = nbformat.read(NOTEBOOK_DIR / "05_umap.ipynb", as_version=4)
    # the notebook's own default set (ensure_two_id honours FACELAB_TWO_ID), fewer UMAP fits
    inject_parameters(nb, {"DATASET": str(small), "GRID_N_NEIGHBORS": [5], "GRID_MIN_DIST": [0.0], "REPEATS": 1})
    nbformat.write(nb, root / "05_umap.ipynb")
    env = dict(os.environ, FACELAB_TWO_ID=str(small), MPLBACKEND="Agg")
    with jupyter_lab(root, env=env) as (base, token, server):
        with chromium(width=1500, height=1100) as driver:
            lab_run_all(driver, base, token, "05_umap.ipynb", timeout=240)
            driver.execute_script(BOKEH_JS)
            # JupyterLab renders only what is in view: bring the explorer's cell there.
            driver.execute_script("""
                const cell = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
                  .find(c => c.textContent.includes('ex = explore(res'));
                cell.scrollIntoView({block: 'start'});""")
            end = time.monotonic() + 30
            while True:
                result = driver.execute_script("""
                    const cell = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')]
                      .find(c => c.textContent.includes('ex = explore(res'));
                    const canvases = facelab_deep(cell, 'canvas').filter(c => c.width > 0).length;
                    const stderr = [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                      .map(e => e.textContent).filter(t => t.includes('Traceback') || t.includes('Error'));
                    return {canvases, stderr, cell: cell.textContent, text: document.body.textContent,
                            broken: document.querySelectorAll('.jupyter-widgets-error-widget').length};""")
                if result["canvases"] or time.monotonic() > end:
                    break
                time.sleep(0.5)
            assert "Error displaying widget" not in result["text"]
            assert not result["broken"] and "Click to show javascript error" not in result["text"]
            assert not result["stderr"], result["stderr"]
            assert "Traceback" not in result["text"]
            assert "Explorer(16 faces, 2 identities" in result["cell"]
            assert result["canvases"] >= 1, "no Bokeh canvas in the explorer's output"
            severe = [e for e in console_errors(driver) if "favicon" not in e]
            assert not severe, severe
        kernel_procs = psutil.Process(server.pid).children(recursive=True)
        assert kernel_procs, "the notebook ran without a kernel process?"
    assert server.returncode is not None
    assert not [p for p in kernel_procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
