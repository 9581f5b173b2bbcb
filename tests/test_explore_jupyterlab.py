"""Notebook 05 in a real JupyterLab, in headless Chromium: the server is started here on
127.0.0.1 with a token, every cell is run from the "Run" menu, the explorer widget must render
(a Bokeh canvas in the output area, no "Error displaying widget", no traceback), and the server
and its kernel are shut down again."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from facelab.browser import BOKEH_JS, chromium, console_errors, find_chromium
from facelab.notebooks import NOTEBOOK_DIR, inject_parameters

_, _, MISSING = find_chromium()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(bool(MISSING), reason=MISSING or "ok")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:  # 127.0.0.1 only
        return json.loads(r.read() or b"null")


@pytest.fixture
def lab(tmp_path, copy_two_id):
    """A JupyterLab server on 127.0.0.1 serving a copy of notebook 05 on a small two-ID set."""
    import psutil

    root = tmp_path / "root"
    root.mkdir()
    small = copy_two_id(tmp_path / "two_id", 8)
    nb = nbformat.read(NOTEBOOK_DIR / "05_umap.ipynb", as_version=4)
    inject_parameters(nb, {"GRID_N_NEIGHBORS": [5], "GRID_MIN_DIST": [0.0], "REPEATS": 1})
    nbformat.write(nb, root / "05_umap.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, FACELAB_TWO_ID=str(small), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), MPLBACKEND="Agg")
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           f"--LabApp.user_settings_dir={tmp_path / 'settings'}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}"]
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 60
        while True:
            try:
                _get(f"{base}/api/status?token={token}")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > end:
                    raise RuntimeError("jupyter lab did not start:\n" + (tmp_path / "server.log").read_text()[-3000:])
                time.sleep(0.3)
        yield base, token, server
    finally:
        children = []
        try:
            children = psutil.Process(server.pid).children(recursive=True)
        except psutil.Error:
            pass
        try:  # clean shutdown: the server stops its kernels
            req = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST", data=b"")
            urllib.request.urlopen(req, timeout=5).close()
        except OSError:
            server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.terminate()
            server.wait(timeout=10)
        log.close()
        gone, alive = psutil.wait_procs(children, timeout=15)
        for p in alive:  # only processes this fixture started
            p.kill()
        assert not alive, f"left behind: {[p.pid for p in alive]}"
        assert server.returncode is not None


def test_notebook_05_explorer_renders_in_jupyterlab(lab):
    base, token, server = lab
    with chromium(width=1500, height=1100) as driver:
        driver.get(f"{base}/lab/tree/05_umap.ipynb?token={token}")
        end = time.monotonic() + 90
        # The notebook is open and its kernel is up.
        while not driver.execute_script(
                "return document.querySelectorAll('.jp-Notebook .jp-CodeCell').length > 5 && "
                "!!document.querySelector('.jp-Notebook')"):
            assert time.monotonic() < end, "the notebook did not open"
            time.sleep(0.5)
        while not _get(f"{base}/api/kernels?token={token}"):
            assert time.monotonic() < end, "no kernel started"
            time.sleep(0.5)
        # Run > Run All Cells, as a user would.
        driver.execute_script("""
            const run = [...document.querySelectorAll('.lm-MenuBar-item')].find(e => e.textContent.trim() == 'Run');
            run.dispatchEvent(new MouseEvent('mousedown', {bubbles: true, button: 0}));""")
        time.sleep(0.5)
        driver.execute_script("""
            const item = document.querySelector('.lm-Menu-item[data-command="notebook:run-all-cells"]');
            item.dispatchEvent(new MouseEvent('mousedown', {bubbles: true, button: 0}));
            item.dispatchEvent(new MouseEvent('mouseup', {bubbles: true, button: 0}));
            item.click();""")
        # Every code cell executed ([n] prompts, none pending) and the kernel idle.
        end = time.monotonic() + 240
        while True:
            state = driver.execute_script("""
                const p = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
                  .map(e => e.textContent.trim());
                return [p.length, p.filter(t => /^\\[\\d+\\]:$/.test(t)).length, p.filter(t => t == '[*]:').length];""")
            kernels = _get(f"{base}/api/kernels?token={token}")
            if state[0] and state[1] == state[0] and kernels and all(k["execution_state"] == "idle" for k in kernels):
                break
            assert time.monotonic() < end, f"cells did not finish: {state}"
            time.sleep(1)
        driver.execute_script(BOKEH_JS)
        result = driver.execute_script("""
            const outs = [...document.querySelectorAll('.jp-OutputArea-output')];
            let canvases = 0;
            for (const o of outs) canvases += facelab_deep(o, 'canvas').filter(c => c.width > 0).length;
            const errors = [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
              .map(e => e.textContent).filter(t => t.includes('Traceback') || t.includes('Error'));
            return {canvases, text: document.body.innerText, errors,
                    thumbs: facelab_deep(document, 'img').filter(i => (i.src || '').startsWith('data:image/png')).length};""")
        assert "Error displaying widget" not in result["text"]
        assert not result["errors"], result["errors"]
        assert result["canvases"] >= 1, "no Bokeh canvas in the output area"
        assert "Explorer(16 faces, 2 identities" in result["text"]
        severe = [e for e in console_errors(driver) if "favicon" not in e]
        assert not severe, severe
