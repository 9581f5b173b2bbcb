"""The two-ID report's index.html opened from disk (file://) in the system's headless Chromium, as a
user would: no console error, the explorer map drawn, a hover shows the face, the threshold slider
moves the FAR/FRR readout (to the report's numbers), and no request leaves the file."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from facelab import verification as V
from facelab.browser import BOKEH_JS, chromium, console_errors, move_pointer, requested_urls, wait_for

pytestmark = pytest.mark.browser  # skipped with the reason without Chromium (tests/conftest.py)

READOUT_JS = "return facelab_text(facelab_view('facelab-readout'))"
POINT_JS = """
const v = facelab_view('facelab-map');
const src = Bokeh.documents[0].get_model_by_name('facelab-points').data_source.data;
const i = arguments[0];
const r = v.el.getBoundingClientRect();
return [r.left + v.frame.x_scale.compute(src.x[i]), r.top + v.frame.y_scale.compute(src.y[i]), src.image_id[i]];
"""
INKED_JS = """
let best = 0;
for (const c of facelab_deep(facelab_view('facelab-map').shadow_el, 'canvas')) {
  if (!c.width || !c.height) continue;
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let k = 0; k < px.length; k += 4) if (px[k + 3] > 0 && (px[k] < 240 || px[k + 1] < 240 || px[k + 2] < 240)) n++;
  best = Math.max(best, n);
}
return best > 2000 ? best : 0;"""




def _isolated_point(coords):
    d = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return int(np.argmax(d.min(axis=1)))


def test_report_in_headless_chromium(two_id_report, two_id_data):
    m = two_id_data.model
    with chromium(width=1400, height=1100) as driver:
        driver.get("about:blank")
        driver.get_log("performance")  # the browser's own start-up traffic is not the page's
        driver.get_log("browser")
        driver.get((two_id_report / "index.html").resolve().as_uri())
        wait_for(driver, "return !!(window.Bokeh && Bokeh.documents.length)")
        driver.execute_script(BOKEH_JS)
        wait_for(driver, "const v = facelab_view('facelab-map'); return v != null && v.frame.bbox.width > 0")
        # Every view of the report was drawn (the explorer, ROC/DET, both tables).
        for name in ("facelab-map", "facelab-roc", "facelab-det", "facelab-thresholds", "facelab-skipped"):
            wait_for(driver, "return facelab_view(arguments[0]) != null", name)
        driver.execute_script("facelab_view('facelab-map').el.scrollIntoView({block: 'center'})")
        time.sleep(0.3)
        assert wait_for(driver, INKED_JS) > 2000  # the map's canvas has ink

        # Hovering a face shows its chip (a decoded PNG data: URI) and image id.
        i = _isolated_point(np.asarray(m.projection.coords)[:, :2])
        x, y, image_id = driver.execute_script(POINT_JS, i)
        assert image_id == m.result.embedded.image_id.iloc[i]
        move_pointer(driver, x - 30, y - 30)
        move_pointer(driver, x, y)
        src, width, text = wait_for(driver, """
            const imgs = facelab_deep(document, 'img.facelab-thumb').filter(im => im.getBoundingClientRect().width > 0);
            if (!imgs.length || !imgs[0].complete) return null;
            return [imgs[0].src.slice(0, 22), imgs[0].naturalWidth, imgs[0].parentElement.textContent];""")
        assert src == "data:image/png;base64," and width == 64 and image_id in text

        # Dragging the threshold slider changes the readout, to the report's own FAR/FRR there.
        before = driver.execute_script(READOUT_JS)
        assert f"cosine ≥ {m.threshold:.3f}" in before
        hx, hy = driver.execute_script("""
            const h = facelab_deep(facelab_view('facelab-threshold').shadow_el, '.noUi-handle')[0];
            h.scrollIntoView({block: 'center'});
            const r = h.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2];""")
        move_pointer(driver, hx, hy, down=True)
        move_pointer(driver, hx - 60, hy)
        move_pointer(driver, hx - 60, hy, up=True)
        end = time.monotonic() + 10
        while (after := driver.execute_script(READOUT_JS)) == before and time.monotonic() < end:
            time.sleep(0.1)
        assert after != before, before
        t = float(re.search(r"cosine ≥ ([0-9.\-]+)", after).group(1))
        assert t < m.threshold - 0.01
        c = V.confusion_at(m.scores, m.pairs.same, t)
        far = float(re.search(r"FAR ([0-9.]+)", after).group(1))
        frr = float(re.search(r"FRR ([0-9.]+)", after).group(1))
        assert far == pytest.approx(c.far, abs=6e-5) and frr == pytest.approx(c.frr, abs=6e-5)

        assert not console_errors(driver)
        urls = requested_urls(driver)
        assert urls and all(u.startswith(("file:", "data:")) for u in urls), [
            u[:80] for u in urls if not u.startswith(("file:", "data:"))]
