"""The near-duplicate level of each model: how close a re-saved copy of a photo stays, against how
close two different photos of one person come.

For ``--per-identity`` photos of each identity of a folder-per-identity dataset (default: the
teaching set, 62 LFW people x 20), writes each edit of
:func:`facelab.data.planted.near_duplicate` (re-encoded at quality 40, rescaled to 60%, 6% cut
off, 20% brighter, and all four milder at once), embeds the originals (every photo of the set)
and the copies with each model (its own detector, policy ``central``, the embedding cache), and
prints per model:

* the cosine of each photo with each of its copies (quantiles per edit, and over all edits);
* the cosine of each photo with the nearest *other* photo of its person (a dataset's photos of a
  person are different photos, except where the dataset itself holds duplicates: LFW does);
* the level :mod:`facelab.analysis.audit` uses (``DUPLICATE_LEVELS``): the 1st percentile of the
  copies' cosines, rounded down to 0.001, and how many photos' nearest other photo of their person
  passes it (the false alarms, or the set's own duplicates: look at them).

::

    python benchmarks/duplicate_level.py --model dlib --model edgeface_xs [--dataset DIR] [--out result.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def main(argv=None) -> int:
    import numpy as np

    from facelab.data.datasets import read_identity_folders
    from facelab.data.imageio import load_image
    from facelab.data.planted import NEAR_DUPLICATE_EDITS, near_duplicate
    from facelab.data.teaching import build_teaching_set, default_teaching_dir
    from facelab.engine.pipeline import embed_images
    from facelab.models.weights import default_detector

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default=None, help="folder per identity (default: the teaching set, built if missing)")
    ap.add_argument("--model", action="append", default=None, help="model (repeatable; default dlib)")
    ap.add_argument("--per-identity", type=int, default=3, help="photos per identity that get copies (default 3)")
    ap.add_argument("--work", default=None, help="folder for the copies (default: a temporary one)")
    ap.add_argument("--out", default=None, help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    root = Path(args.dataset) if args.dataset else build_teaching_set(default_teaching_dir())
    ds = read_identity_folders(root)
    images = ds.images.reset_index(drop=True)
    sources = images.groupby("identity", sort=False).head(args.per_identity).reset_index(drop=True)
    tmp = None if args.work else tempfile.TemporaryDirectory(prefix="facelab-dups-")
    work = Path(args.work or tmp.name)
    rows = []
    for r in sources.itertuples():
        image = load_image(r.path)
        for edit in NEAR_DUPLICATE_EDITS:
            f = work / r.identity / f"{Path(r.path).stem}__{edit}.jpg"
            f.parent.mkdir(parents=True, exist_ok=True)
            if not f.is_file():
                f.write_bytes(near_duplicate(image, edit=edit))
            rows.append({"image_id": f"copy:{r.image_id}:{edit}", "path": str(f), "identity": r.identity,
                         "source": r.image_id, "edit": edit})
    import pandas as pd

    copies = pd.DataFrame(rows)
    report = {"dataset": str(root), "photos": len(images), "sources": len(sources), "edits": list(NEAR_DUPLICATE_EDITS),
              "models": {}}
    for model in args.model or ["dlib"]:
        res = embed_images(pd.concat([images, copies[["image_id", "path", "identity"]]], ignore_index=True),
                           model=model, detector=default_detector(model), policy="central", progress=False)
        row_of = res.rows_of()
        e = res.embeddings
        q = [0.0, 0.01, 0.05, 0.5]
        per_edit, all_cos = {}, []
        for edit, grp in copies.groupby("edit", sort=False):
            ok = [(row_of[s], row_of[c]) for s, c in zip(grp.source, grp.image_id) if s in row_of and c in row_of]
            cos = np.array([float(e[a] @ e[b]) for a, b in ok])
            all_cos.append(cos)
            per_edit[edit] = {"pairs": len(cos), **{f"q{x:g}": float(np.quantile(cos, x)) for x in q}}
        all_cos = np.concatenate(all_cos)
        level = float(np.floor(np.quantile(all_cos, 0.01) * 1000) / 1000)
        # Each photo against the nearest other photo of its person (the set's originals only).
        orig = images[images.image_id.isin(row_of)]
        rows_o = np.array([row_of[i] for i in orig.image_id])
        ids = orig.identity.to_numpy()
        sims = e[rows_o] @ e[rows_o].T
        np.fill_diagonal(sims, -np.inf)
        sims[ids[:, None] != ids[None, :]] = -np.inf
        nearest = sims.max(axis=1)
        nearest = nearest[np.isfinite(nearest)]
        above = orig.image_id.to_numpy()[np.isfinite(sims.max(axis=1)) & (sims.max(axis=1) >= level)]
        out = {"copies": {**per_edit, "all": {"pairs": len(all_cos), **{f"q{x:g}": float(np.quantile(all_cos, x))
                                                                         for x in q}}},
               "nearest_other_photo": {f"q{x:g}": float(np.quantile(nearest, x)) for x in (0.5, 0.9, 0.99, 1.0)},
               "level": level, "photos_at_or_above_level": int(above.size), "photos": int(nearest.size),
               "examples_at_or_above": sorted(above.tolist())[:20],
               "calibrated_threshold": float(res.calibration.cosine_threshold)}
        report["models"][str(model)] = out
        print(f"\n{model}: copies of {len(sources)} photos, 5 edits (cosine with the original)")
        for edit, v in out["copies"].items():
            print(f"  {edit:10s} n={v['pairs']:4d}  min {v['q0']:.4f}  1% {v['q0.01']:.4f}  5% {v['q0.05']:.4f}  "
                  f"median {v['q0.5']:.4f}")
        n = out["nearest_other_photo"]
        print(f"  nearest other photo of the person: median {n['q0.5']:.4f}  90% {n['q0.9']:.4f}  "
              f"99% {n['q0.99']:.4f}  max {n['q1']:.4f}")
        print(f"  level (1st percentile of the copies, rounded down): {level:.3f}; "
              f"{above.size} of {nearest.size} photos have another photo of their person at or above it "
              f"(model threshold {out['calibrated_threshold']:.4f})")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
