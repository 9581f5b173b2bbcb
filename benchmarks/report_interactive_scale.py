"""The report's interactive views on a large synthetic set: build time, page size, and a check in
headless Chromium that the explorer map draws and hovers.

    python benchmarks/report_interactive_scale.py [--n 10000] [--identities 200] [--out /tmp/x.html]

It runs :func:`facelab.report.interactive.interactive_views` -- the report's own code path -- on a
stand-in for one model of a report (clustered random embeddings, 48 px synthetic faces as chips,
a seeded sample of 200,000 impostor pairs as the report uses, PCA-like 2-D coordinates), and
writes the views with BokehJS inlined into one page (the rest of a report page is static HTML).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

# The browser helpers live with the tests (tests/browser.py): import them from the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def stand_in(n: int, n_ids: int, seed: int = 0):
    from facelab import verification as V
    from facelab.report.compute import MAX_MAP_PAIRS  # noqa: F401  (the report's module must import)

    rng = np.random.default_rng(seed)
    ids = np.asarray([f"person_{k:04d}" for k in rng.integers(0, n_ids, n)])
    codes = np.unique(ids, return_inverse=True)[1]
    centres = rng.normal(size=(n_ids, 128))
    emb = centres[codes] + 0.9 * rng.normal(size=(n, 128))
    emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
    c2 = rng.normal(scale=10, size=(n_ids, 2))
    xy = c2[codes] + rng.normal(size=(n, 2))
    yy, xx = np.mgrid[0:48, 0:48]
    chips = np.empty((n, 48, 48, 3), np.uint8)
    for k in range(n):
        img = np.stack([xx * 5, yy * 5, np.full_like(xx, 90 + codes[k] % 120)], -1).clip(0, 255)
        img[(xx - 24) ** 2 + (yy - 24) ** 2 < 200] = rng.integers(30, 230, 3)
        chips[k] = img
    pairs = V.make_pairs(ids, max_impostors=200_000, seed=0)
    scores = V.pair_scores(emb, pairs)
    rep = V.evaluate_verification(scores, pairs.same, n_boot=0)
    table = pd.DataFrame({"image_id": [f"img_{k:05d}.jpg" for k in range(n)], "identity": ids,
                          "residual": rng.uniform(0.3, 3, n)})
    result = SimpleNamespace(embedded=table, embeddings=emb, embedded_faces=[None] * n, chips=chips, model="synthetic")
    model = SimpleNamespace(result=result, embeddings=emb, projection=SimpleNamespace(coords=xy, describe=lambda: "synthetic 2-D"),
                            pairs=pairs, scores=scores, threshold=float(rep.threshold), verification=rep,
                            skipped=pd.DataFrame({"image": [f"bad_{k}.jpg" for k in range(50)],
                                                  "reason": ["no face found"] * 50}), name="synthetic")
    return SimpleNamespace(model=model, dataset=SimpleNamespace(names={}))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--identities", type=int, default=200)
    ap.add_argument("--out", default="/tmp/facelab-report-interactive-scale.html")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args(argv)
    from facelab.report.interactive import bokeh_head, interactive_views, render_views

    t0 = time.perf_counter()
    data = stand_in(args.n, args.identities)
    t1 = time.perf_counter()
    views = interactive_views(data)
    divs, script = render_views(views)
    page = f"<!DOCTYPE html><html><head><meta charset='utf-8'>{bokeh_head()}</head><body>{''.join(divs.values())}{script}</body></html>"
    t2 = time.perf_counter()
    out = Path(args.out)
    out.write_text(page, encoding="utf-8")
    ex_n = views[0].model
    print(f"{args.n} faces, {args.identities} identities, {len(data.model.scores)} pairs: stand-in {t1 - t0:.1f} s, "
          f"views built and rendered {t2 - t1:.1f} s; page {out.stat().st_size / 1e6:.1f} MB ({out})")
    del ex_n
    if args.no_browser:
        return
    from tests.browser import chromium, console_errors, map_ink, open_explorer_page

    with chromium() as driver:
        t3 = time.perf_counter()
        open_explorer_page(driver, out.resolve().as_uri(), timeout=120)
        inked = map_ink(driver, timeout=120)
        t4 = time.perf_counter()
        print(f"chromium: map drawn ({inked} inked pixels) {t4 - t3:.1f} s after opening; console errors: "
              f"{console_errors(driver) or 'none'}")


if __name__ == "__main__":
    main()
