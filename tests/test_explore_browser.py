"""The explorer page in a real headless Chromium (Debian's chromium + chromium-driver, Selenium),
opened from disk as a user would: drawn, hoverable, clickable, the slider moves the readout, and
nothing is requested from the network."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from facelab.browser import (
    BOKEH_JS,
    chromium,
    console_errors,
    move_pointer,
    requested_urls,
    wait_for,
)

pytestmark = pytest.mark.browser  # skipped with the reason without Chromium (tests/conftest.py)


def _faces(n, size=48, seed=0):
    """Distinct little pictures (a coloured disc on a gradient), one per face."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    out = np.empty((n, size, size, 3), np.uint8)
    for k in range(n):
        c = rng.integers(40, 220, 3)
        img = np.stack([xx * 4, yy * 4, np.full_like(xx, 128)], -1).clip(0, 255)
        disc = (xx - size / 2) ** 2 + (yy - size / 2) ** 2 < (size / 3) ** 2
        img[disc] = c
        out[k] = img
    return out


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from facelab.explore import explore_embeddings

    rng = np.random.default_rng(1)
    n, nid = 120, 6
    ids = np.repeat([f"person_{k}" for k in range(nid)], n // nid)
    centers = rng.normal(size=(nid, 32))
    emb = centers[np.repeat(np.arange(nid), n // nid)] + 0.8 * rng.normal(size=(n, 32))
    ex = explore_embeddings(emb, ids, image_ids=[f"img_{k:03d}.jpg" for k in range(n)], thumbnails=_faces(n),
                            detection_scores=rng.uniform(0.6, 1.0, n), residuals=rng.uniform(0.2, 3.0, n),
                            method="pca")
    path = ex.save(tmp_path_factory.mktemp("explorer") / "index.html")
    return path, ex, emb, ids




POINT_JS = """
const v = facelab_view('facelab-map');
const src = Bokeh.documents[0].get_model_by_name('facelab-points').data_source.data;
const i = arguments[0];
const r = v.el.getBoundingClientRect();
return [r.left + v.frame.x_scale.compute(src.x[i]), r.top + v.frame.y_scale.compute(src.y[i]), src.image_id[i]];
"""

READOUT_JS = "return facelab_text(facelab_view('facelab-readout'))"


def _isolated_point(ex):
    """A face far from every other on the map, so the pointer lands on it alone."""
    xy = ex.data.coords
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return int(np.argmax(d.min(axis=1)))


def test_explorer_page_in_headless_chromium(page):
    path, ex, emb, ids = page
    with chromium() as driver:
        driver.get("about:blank")
        driver.get_log("performance")  # drop the browser's own start-up traffic
        driver.get_log("browser")
        driver.get(path.as_uri())
        wait_for(driver, "return !!(window.Bokeh && Bokeh.documents.length)")
        driver.execute_script(BOKEH_JS)
        wait_for(driver, "const v = facelab_view('facelab-map'); return v != null && v.frame.bbox.width > 0")

        # The map is drawn: the plot canvas has many non-white pixels.
        inked = wait_for(driver, """
            let best = 0;
            for (const c of facelab_deep(document, 'canvas')) {
              if (!c.width || !c.height) continue;
              const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let n = 0;
              for (let k = 0; k < px.length; k += 4) if (px[k + 3] > 0 && (px[k] < 240 || px[k + 1] < 240 || px[k + 2] < 240)) n++;
              best = Math.max(best, n);
            }
            return best > 2000 ? best : 0;""")
        assert inked > 2000

        # Hovering a face shows a tooltip with its thumbnail and image id.
        i = _isolated_point(ex)
        x, y, image_id = driver.execute_script(POINT_JS, i)
        move_pointer(driver, x - 30, y - 30)
        move_pointer(driver, x, y)
        tip = wait_for(driver, """
            const imgs = facelab_deep(document, 'img.facelab-thumb').filter(im => im.getBoundingClientRect().width > 0);
            if (!imgs.length) return null;
            const box = imgs[0].parentElement;
            return [imgs[0].src.slice(0, 22), imgs[0].naturalWidth, box.textContent];""")
        assert tip[0] == "data:image/png;base64,"
        assert tip[1] > 0  # the image decoded
        assert image_id in tip[2] and f"img_{i:03d}.jpg" == image_id

        # Clicking it lists its nearest neighbours (the precomputed ones) in the table.
        move_pointer(driver, x, y, down=True, up=True)
        text = wait_for(driver, """
            const t = facelab_text(Bokeh.index.find_one(Bokeh.documents[0].roots()[0]));
            return t.includes('nearest neighbours of') ? t : null;""")
        assert f"nearest neighbours of {image_id}" in text
        first = ex.data.image_ids[ex.data.neighbours.index[i, 0]]
        assert first in text

        # Dragging the threshold slider changes the FAR/FRR readout, to the right numbers.
        before = driver.execute_script(READOUT_JS)
        hx, hy = driver.execute_script("""
            const h = facelab_deep(facelab_view('facelab-threshold').shadow_el, '.noUi-handle')[0];
            const r = h.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2];""")
        move_pointer(driver, hx, hy, down=True)
        move_pointer(driver, hx + 70, hy)
        move_pointer(driver, hx + 70, hy, up=True)
        after = _changed(driver, before)
        t = float(re.search(r"cosine ≥ ([0-9.\-]+)", after).group(1))
        t_before = float(re.search(r"cosine ≥ ([0-9.\-]+)", before).group(1))
        assert t > t_before
        far = float(re.search(r"FAR ([0-9.]+)", after).group(1))
        frr = float(re.search(r"FRR ([0-9.]+)", after).group(1))
        from facelab import verification as V

        s, y_, _, _ = V.all_pair_scores(emb, ids)
        c = V.confusion_at(s, y_, t)
        assert far == pytest.approx(c.far, abs=6e-5) and frr == pytest.approx(c.frr, abs=6e-5)

        assert not console_errors(driver)
        urls = requested_urls(driver)
        assert urls and all(u.startswith(("file:", "data:")) for u in urls), [u[:80] for u in urls
                                                                               if not u.startswith(("file:", "data:"))]


def _changed(driver, before, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        now = driver.execute_script(READOUT_JS)
        if now != before:
            return now
        time.sleep(0.1)
    raise AssertionError(f"the readout did not change: {before!r}")
