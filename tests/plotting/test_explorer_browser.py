"""The explorer page in a real headless Chromium (Debian's chromium + chromium-driver, Selenium),
opened from disk as a user would: drawn, hoverable, clickable, the slider moves the readout, and
nothing is requested from the network."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.browser import (
    chromium,
    console_errors,
    drag_threshold,
    explorer_readout,
    hovered_thumbnail,
    isolated_point,
    map_ink,
    map_point,
    move_pointer,
    open_explorer_page,
    readout_change,
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
    from facelab.plotting.explorer import explore_embeddings

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




def test_explorer_page_in_headless_chromium(page):
    path, ex, emb, ids = page
    with chromium() as driver:
        open_explorer_page(driver, path.as_uri())

        # The map is drawn: the plot canvas has many non-white pixels.
        assert map_ink(driver) > 2000

        # Hovering a face shows a tooltip with its thumbnail and image id.
        i = isolated_point(ex.data.coords)
        x, y, image_id = map_point(driver, i)
        move_pointer(driver, x - 30, y - 30)
        move_pointer(driver, x, y)
        tip = hovered_thumbnail(driver)
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
        before = explorer_readout(driver)
        drag_threshold(driver, 70)
        after = readout_change(driver, before)
        t = float(re.search(r"cosine ≥ ([0-9.\-]+)", after).group(1))
        t_before = float(re.search(r"cosine ≥ ([0-9.\-]+)", before).group(1))
        assert t > t_before
        far = float(re.search(r"FAR ([0-9.]+)", after).group(1))
        frr = float(re.search(r"FRR ([0-9.]+)", after).group(1))
        from facelab import verification as V

        s, y_, _, _ = V.all_pair_scores(emb, ids)
        c = V.confusion_at(s, y_, t)
        assert far == pytest.approx(c.far, abs=6e-5) and frr == pytest.approx(c.frr, abs=6e-5)
        # The lines are counted and drawn at that same threshold: the hardest few of the misjudged.
        drawn, counted = map(int, re.search(r"lines: (\d+) of (\d+) misjudged", after).groups())
        assert counted == c.fp + c.fn and drawn == min(10, counted)

        # Asking for more lines in the page draws more (never more than are misjudged).
        driver.execute_script("Bokeh.documents[0].get_model_by_name('facelab-lines-drawn').value = 1000")
        more = readout_change(driver, after)
        drawn, counted_again = map(int, re.search(r"lines: (\d+) of (\d+) misjudged", more).groups())
        assert counted_again == counted and counted >= drawn > 10

        assert not console_errors(driver)
        urls = requested_urls(driver)
        assert urls and all(u.startswith(("file:", "data:")) for u in urls), [u[:80] for u in urls
                                                                               if not u.startswith(("file:", "data:"))]

