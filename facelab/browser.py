"""Headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by Selenium) for the
browser tests and the screenshot script. Nothing is downloaded: the system browser is used or
:func:`find_chromium` says what is missing.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

__all__ = ["find_chromium", "chromium", "console_errors", "requested_urls", "BOKEH_JS"]

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def find_chromium() -> tuple[Optional[str], Optional[str], str]:
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
