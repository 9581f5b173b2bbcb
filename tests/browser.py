"""Headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by Selenium) for the
browser tests and the benchmarks' screenshot and scale scripts (test tooling: not part of the
package; tests import it as ``tests.browser``, benchmarks put the repository root on the path).
Nothing is downloaded: the system browser is used or :func:`find_chromium` says what is missing.
Waits are on conditions (Selenium's ``WebDriverWait``), never fixed sleeps.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["BOKEH_JS", "chromium", "console_errors", "find_chromium", "jupyter_lab", "lab_run_all", "requested_urls",
           "wait_for", "move_pointer", "open_explorer_page", "scroll_into_view", "map_ink", "map_point",
           "isolated_point", "hovered_thumbnail", "hovered_thumbnail_pixels", "explorer_readout", "drag_threshold", "readout_change"]

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def find_chromium() -> tuple[str | None, str | None, str]:
    """``(browser, driver, reason)``: paths of the system Chromium and chromedriver, and why not
    when either is missing (``apt-get install chromium chromium-driver``)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None, None, "selenium is not installed (pip install -r requirements.txt)"
    browser = next((p for p in CHROMIUM_CANDIDATES if Path(p).exists()), None) or shutil.which("chromium")
    driver = next((p for p in DRIVER_CANDIDATES if Path(p).exists()), None) or shutil.which("chromedriver")
    missing = [name for name, path in (("chromium", browser), ("chromium-driver", driver)) if not path]
    reason = f"{' and '.join(missing)} not installed (apt-get install -y chromium chromium-driver)" if missing else ""
    return browser, driver, reason


@contextmanager
def chromium(*, width: int = 1400, height: int = 1000) -> Iterator:
    """A headless Chromium WebDriver with browser-console and network (performance) logging, a
    fresh profile in a temporary folder, and no background traffic; quit and cleaned up on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path, reason = find_chromium()
    if reason:
        raise RuntimeError(reason)
    profile = tempfile.mkdtemp(prefix="facelab-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
                f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver) -> list[str]:
    """Browser-console messages of level SEVERE since the last call."""
    return [f"{e.get('source')}: {e.get('message')}" for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def requested_urls(driver) -> list[str]:
    """Every URL the page requested since the last call (DevTools ``Network.requestWillBeSent``)
    and every resource the page's Performance API lists."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    urls += driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return urls


#: JavaScript helpers for pages made with Bokeh: the view of a named model, its screen
#: position, and the text of every shadow root (Bokeh 3 draws inside shadow DOM).
BOKEH_JS = r"""
window.facelab_view = function (name) {
  for (const doc of Bokeh.documents) {
    const m = doc.get_model_by_name(name);
    if (m) return Bokeh.index.find_one(m);
  }
  return null;
};
window.facelab_deep = function (root, selector) {
  const out = [];
  const walk = (node) => {
    if (!node) return;
    if (node.querySelectorAll) out.push(...node.querySelectorAll(selector));
    const all = node.querySelectorAll ? node.querySelectorAll('*') : [];
    for (const el of all) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(root);
  return out;
};
window.facelab_text = function (view) {
  const parts = [];
  const walk = (node) => {
    if (!node) return;
    parts.push(node.textContent || '');
    for (const el of (node.querySelectorAll ? node.querySelectorAll('*') : [])) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(view.shadow_el || view.el);
  return parts.join(' ');
};
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str, timeout: float = 2.0):
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as r:  # 127.0.0.1 only
        return json.loads(r.read() or b"null")


def _poll_json(url: str, timeout: float = 5.0):
    """:func:`_get_json`, or None while the server cannot answer yet (a busy server can return a
    500 while a kernel starts); the callers' own deadlines decide when to give up."""
    import urllib.error

    try:
        return _get_json(url, timeout=timeout)
    except (urllib.error.URLError, OSError, ValueError):
        return None


@contextmanager
def jupyter_lab(root, *, env: dict | None = None, startup_timeout: float = 60.0) -> Iterator:
    """A JupyterLab server on 127.0.0.1 (a free port, a random token, no browser, its own config,
    runtime, settings and workspace folders in a temporary folder, no update check, read-only
    extension manager) serving ``root``. Yields ``(base_url, token, process)``; on exit it is shut
    down through its API (which stops its kernels), waited for, and anything it started that is
    still alive is killed. Raises ``RuntimeError`` with the server log when it does not start or
    leaves a process behind."""
    import os
    import secrets
    import subprocess
    import sys
    import time
    import urllib.request

    import psutil

    tmp = Path(tempfile.mkdtemp(prefix="facelab-lab-"))
    port, token = _free_port(), secrets.token_hex(16)
    full_env = dict(os.environ if env is None else env, JUPYTER_CONFIG_DIR=str(tmp / "config"),
                    JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
           f"--LabApp.user_settings_dir={tmp / 'settings'}", f"--LabApp.workspaces_dir={tmp / 'workspaces'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI runs as root
    log_path = tmp / "server.log"
    log = open(log_path, "w")
    server = subprocess.Popen(cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT, cwd=str(root))
    base = f"http://127.0.0.1:{port}"
    children: list = []
    try:
        end = time.monotonic() + startup_timeout
        while True:
            try:
                _get_json(f"{base}/api/status?token={token}")
                break
            except OSError as exc:
                if server.poll() is not None or time.monotonic() > end:
                    raise RuntimeError("jupyter lab did not start:\n" + log_path.read_text()[-3000:]) from exc
                time.sleep(0.3)
        yield base, token, server
    finally:
        try:
            children = psutil.Process(server.pid).children(recursive=True)
        except psutil.Error:
            pass
        try:  # a clean shutdown stops the kernels too
            req = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST", data=b"")
            urllib.request.urlopen(req, timeout=5).close()
        except OSError:
            server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()
        _, alive = psutil.wait_procs(children, timeout=15)
        for p in alive:  # only processes this server started
            p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        if alive:
            raise RuntimeError(f"jupyter lab left processes behind: {[p.pid for p in alive]}")


def lab_run_all(driver, base: str, token: str, notebook: str, *, timeout: float = 300.0) -> None:
    """Open ``notebook`` in JupyterLab, run every cell from the "Run" menu, and wait until each code
    cell has its ``[n]`` prompt and the kernel is idle."""
    import time

    driver.get(f"{base}/lab/tree/{notebook}?token={token}")
    end = time.monotonic() + timeout
    while not driver.execute_script("return document.querySelectorAll('.jp-Notebook .jp-CodeCell').length > 0"):
        if time.monotonic() > end:
            raise TimeoutError("the notebook did not open")
        time.sleep(0.5)
    while not _poll_json(f"{base}/api/kernels?token={token}"):
        if time.monotonic() > end:
            raise TimeoutError("no kernel started")
        time.sleep(0.5)
    time.sleep(1.0)
    from selenium.webdriver.common.by import By

    def find(css, text=None):
        while True:
            for el in driver.find_elements(By.CSS_SELECTOR, css):
                if el.is_displayed() and (text is None or el.text.strip() == text):
                    return el
            if time.monotonic() > end:
                raise TimeoutError(f"no {css} {text or ''} on the page")
            time.sleep(0.3)

    find(".lm-MenuBar-item", "Run").click()  # real clicks, as a user would
    find('.lm-Menu-item[data-command="runmenu:run-all"]').click()  # Run > Run All Cells
    while True:
        done, total, busy = driver.execute_script("""
            const p = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
            return [p.filter(t => /^\\[\\d+\\]:$/.test(t)).length, p.length, p.filter(t => t == '[*]:').length];""")
        kernels = _poll_json(f"{base}/api/kernels?token={token}")
        if total and done == total and not busy and kernels and all(k["execution_state"] == "idle" for k in kernels):
            return
        if time.monotonic() > end:
            raise TimeoutError(f"cells did not finish: {done} of {total} done, {busy} running")
        time.sleep(1.0)


def _until(driver, condition, timeout: float, message: str):
    """``WebDriverWait(driver, timeout).until(condition)``: its truthy value, AssertionError(message) on timeout."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)
    except TimeoutException:
        raise AssertionError(message) from None


def wait_for(driver, script: str, *args, timeout: float = 20.0):
    """Run ``script`` in the page until it returns something truthy; that value (AssertionError on timeout)."""
    return _until(driver, lambda d: d.execute_script(script, *args), timeout, f"timed out waiting for: {script}")


def move_pointer(driver, x, y, *, down: bool = False, up: bool = False) -> None:
    """Move the mouse to page pixel ``(x, y)`` (optionally pressing / releasing), as a user would."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    ab = ActionBuilder(driver)
    ab.pointer_action.move_to_location(int(round(x)), int(round(y)))
    if down:
        ab.pointer_action.pointer_down()
    if up:
        ab.pointer_action.pointer_up()
    ab.perform()


# --------------------------------------------------------------------------------------------
# The explorer's views (facelab.plotting.interactive names them), on a page or in the report
# --------------------------------------------------------------------------------------------

_MAP_INK_JS = """
let best = 0;
for (const c of facelab_deep(facelab_view('facelab-map').shadow_el, 'canvas')) {
  if (!c.width || !c.height) continue;
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let k = 0; k < px.length; k += 4) if (px[k + 3] > 0 && (px[k] < 240 || px[k + 1] < 240 || px[k + 2] < 240)) n++;
  best = Math.max(best, n);
}
return best > 2000 ? best : 0;"""

_MAP_POINT_JS = """
const v = facelab_view('facelab-map');
const src = Bokeh.documents[0].get_model_by_name('facelab-points').data_source.data;
const i = arguments[0];
const r = v.el.getBoundingClientRect();
return [r.left + v.frame.x_scale.compute(src.x[i]), r.top + v.frame.y_scale.compute(src.y[i]), src.image_id[i]];"""

_THUMBNAIL_JS = """
// The tooltip's thumbnail: a box whose background is the face's place on a JPEG sheet (a CSS
// custom property of the page): its sheet's URI prefix, the box's width, the tooltip's text, once
// the sheet has been decoded (a probe image of the same URI says so).
const tips = facelab_deep(document, '.bk-tooltip-content').filter(t => t.getBoundingClientRect().width > 0);
if (!tips.length) return null;
const box = tips[0].querySelector('.facelab-thumb');
if (!box) return null;
const m = /url\\("?(data:[^")]+)"?\\)/.exec(getComputedStyle(box).backgroundImage);
if (!m) return null;
window.facelab_probe = window.facelab_probe || {};
let probe = window.facelab_probe[m[1].length];
if (!probe) { probe = new Image(); probe.src = m[1]; window.facelab_probe[m[1].length] = probe; }
if (!probe.complete || !probe.naturalWidth) return null;
return [m[1].slice(0, 23), Math.round(box.getBoundingClientRect().width), tips[0].textContent];"""

_THUMBNAIL_PIXELS_JS = """
// The hovered face as the page draws it: its box's region of the decoded sheet, as RGB rows.
const tips = facelab_deep(document, '.bk-tooltip-content').filter(t => t.getBoundingClientRect().width > 0);
const box = tips[0].querySelector('.facelab-thumb');
const cs = getComputedStyle(box);
const url = /url\\("?(data:[^")]+)"?\\)/.exec(cs.backgroundImage)[1];
const [x, y] = cs.backgroundPosition.split(' ').map(v => -parseFloat(v));
const size = Math.round(parseFloat(cs.width));
const img = new Image(); img.src = url;
const c = document.createElement('canvas'); c.width = size; c.height = size;
const g = c.getContext('2d'); g.drawImage(img, x, y, size, size, 0, 0, size, size);
const px = g.getImageData(0, 0, size, size).data;
const out = [];
for (let k = 0; k < px.length; k += 4) out.push(px[k], px[k + 1], px[k + 2]);
return [size, out];"""

_READOUT_JS = "return facelab_text(facelab_view('facelab-readout'))"


def open_explorer_page(driver, uri: str, *, timeout: float = 20.0) -> None:
    """Open a page holding the explorer (its own page or a report) and wait until the map is laid
    out; the logs of the browser's own start-up are dropped first, so that :func:`console_errors`
    and :func:`requested_urls` see only the page's. :data:`BOKEH_JS` is installed."""
    driver.get("about:blank")
    driver.get_log("performance")
    driver.get_log("browser")
    driver.get(uri)
    wait_for(driver, "return !!(window.Bokeh && Bokeh.documents.length)", timeout=timeout)
    driver.execute_script(BOKEH_JS)
    wait_for(driver, "const v = facelab_view('facelab-map'); return v != null && v.frame.bbox.width > 0",
             timeout=timeout)


def scroll_into_view(driver, name: str, *, timeout: float = 10.0) -> None:
    """Scroll the Bokeh view ``name`` to the middle of the window and wait until it is there and has
    stopped moving (its box the same on two looks in a row), so page positions read next are right."""
    driver.execute_script("facelab_view(arguments[0]).el.scrollIntoView({block: 'center'})", name)
    last: list = [None]

    def settled(d):
        top, bottom, height = d.execute_script(
            "const r = facelab_view(arguments[0]).el.getBoundingClientRect(); "
            "return [r.top, r.bottom, window.innerHeight]", name)
        still, last[0] = last[0] == (top, bottom), (top, bottom)
        return still and top < height and bottom > 0

    _until(driver, settled, timeout, f"{name} did not come into view")


def map_ink(driver, *, timeout: float = 20.0) -> int:
    """Non-white pixels of the map's fullest canvas, once over 2,000 (AssertionError before)."""
    return wait_for(driver, _MAP_INK_JS, timeout=timeout)


def map_point(driver, i: int) -> tuple[float, float, str]:
    """Page position of face ``i`` on the map, and its image id."""
    x, y, image_id = driver.execute_script(_MAP_POINT_JS, int(i))
    return x, y, image_id


def isolated_point(coords) -> int:
    """The row of ``coords`` farthest from its nearest neighbour: a pointer there hits it alone."""
    import numpy as np

    xy = np.asarray(coords, dtype=float)[:, :2]
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return int(np.argmax(d.min(axis=1)))


def hovered_thumbnail(driver) -> tuple[str, int, str]:
    """The visible tooltip's thumbnail, once its sheet is decoded: the sheet's URI prefix
    (``"data:image/jpeg;base64,"``), the thumbnail's width on the page and the tooltip's text."""
    src, width, text = wait_for(driver, _THUMBNAIL_JS)
    return src, width, text


def hovered_thumbnail_pixels(driver):
    """The visible tooltip's thumbnail as the page shows it: a ``(size, size, 3)`` uint8 array cut
    from its decoded sheet (call after :func:`hovered_thumbnail`)."""
    import numpy as np

    size, flat = driver.execute_script(_THUMBNAIL_PIXELS_JS)
    return np.asarray(flat, dtype=np.uint8).reshape(size, size, 3)


def explorer_readout(driver) -> str:
    """The text of the threshold readout (FAR / FRR and counts)."""
    return driver.execute_script(_READOUT_JS)


def drag_threshold(driver, dx: float, *, scroll: bool = True) -> None:
    """Drag the threshold slider's handle ``dx`` pixels sideways, as a user would (first scrolled
    to the middle of the window unless ``scroll`` is False, e.g. to keep a screenshot's framing)."""
    hx, hy = driver.execute_script("""
        const h = facelab_deep(facelab_view('facelab-threshold').shadow_el, '.noUi-handle')[0];
        if (arguments[0]) h.scrollIntoView({block: 'center'});
        const r = h.getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2];""", bool(scroll))
    move_pointer(driver, hx, hy, down=True)
    move_pointer(driver, hx + dx, hy)
    move_pointer(driver, hx + dx, hy, up=True)


def readout_change(driver, before: str, *, timeout: float = 10.0) -> str:
    """The readout once it differs from ``before`` (AssertionError after ``timeout`` seconds)."""
    return _until(driver, lambda d: (now := explorer_readout(d)) != before and now, timeout,
                  f"the readout did not change: {before!r}")
