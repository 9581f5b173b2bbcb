"""The two-ID report's index.html opened from disk (file://) in the system's headless Chromium, as a
user would: no console error, the explorer map drawn, a hover shows the face, the threshold slider
moves the FAR/FRR readout (to the report's numbers), and no request leaves the file."""

from __future__ import annotations

import re

import numpy as np
import pytest

from facelab import verification as V
from tests.browser import (
    chromium,
    console_errors,
    drag_threshold,
    explorer_readout,
    hovered_thumbnail,
    hovered_thumbnail_pixels,
    isolated_point,
    map_ink,
    map_point,
    move_pointer,
    open_explorer_page,
    readout_change,
    requested_urls,
    scroll_into_view,
    wait_for,
)

pytestmark = pytest.mark.browser  # skipped with the reason without Chromium (tests/conftest.py)

def test_report_in_headless_chromium(two_id_report, two_id_data):
    m = two_id_data.model
    with chromium(width=1400, height=1100) as driver:
        open_explorer_page(driver, (two_id_report / "index.html").resolve().as_uri())
        # Every view of the report was drawn (the explorer, ROC/DET, the thresholds table).
        for name in ("facelab-map", "facelab-roc", "facelab-det", "facelab-thresholds"):
            wait_for(driver, "return facelab_view(arguments[0]) != null", name)
        scroll_into_view(driver, "facelab-map")  # waits until the map is in view and still (no fixed sleep)
        assert map_ink(driver) > 2000  # the map's canvas has ink

        # Hovering a face shows its chip (its place on a decoded JPEG sheet) and image id.
        i = isolated_point(m.projection.coords)
        x, y, image_id = map_point(driver, i)
        assert image_id == m.result.embedded.image_id.iloc[i]
        move_pointer(driver, x - 30, y - 30)
        move_pointer(driver, x, y)
        src, width, text = hovered_thumbnail(driver)
        assert src == "data:image/jpeg;base64," and width == 64 and image_id in text
        # ... and it is this face's chip, not a neighbour's on the sheet.
        from facelab.plotting.thumbnails import _square

        shown = hovered_thumbnail_pixels(driver).astype(float)
        own = np.abs(shown - _square(m.result.chips[i], 64)).mean()
        others = [np.abs(shown - _square(m.result.chips[j], 64)).mean() for j in range(len(m.embeddings)) if j != i]
        assert own < 12 and own < min(others) / 2, (own, min(others))

        # The identity table sorts on a header click and filters on the search box.
        rows = driver.execute_script("return Array.from(document.querySelectorAll('#identity-table tbody tr'))"
                                     ".map(r => r.cells[1].textContent)")
        assert sorted(rows) == sorted(two_id_data.dataset.label(k) for k in two_id_data.dataset.identities)
        driver.execute_script("document.querySelector('#identity-table thead th:nth-child(2)').click();"
                              "document.querySelector('#identity-table thead th:nth-child(2)').click()")
        assert driver.execute_script("return Array.from(document.querySelectorAll('#identity-table tbody tr'))"
                                     ".map(r => r.cells[1].textContent)") == sorted(rows, reverse=True)
        box = driver.find_element("css selector", "input[data-table='identity-table']")
        box.send_keys(rows[0][:6])
        # A row shows when any of its cells holds the text (a name, a photo, its most alike identity).
        shown = driver.execute_script("return Array.from(document.querySelectorAll('#identity-table tbody tr'))"
                                      ".map(r => [r.cells[1].textContent, r.textContent, !r.hidden])")
        query = rows[0][:6].lower()
        assert [name for name, _, vis in shown if vis] == [name for name, text, _ in shown if query in text.lower()]
        assert any(vis for *_, vis in shown)

        # Dragging the threshold slider changes the readout, to the report's own FAR/FRR there.
        before = explorer_readout(driver)
        assert f"cosine ≥ {m.threshold:.3f}" in before
        drag_threshold(driver, -60)
        after = readout_change(driver, before)
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
