"""The report's time per stage and its page size at 2, 62 and 5,749 identities.

    python benchmarks/report_scale.py --two-id /tmp/two_id --teaching /tmp/teaching \
        --lfw ../shared/datasets/lfw/lfw-deepfunneled --out /tmp/report_scale [--model dlib] [--cold]
    python benchmarks/report_scale.py --tabulate /tmp/report_scale/two_id /tmp/report_scale/teaching ...

Each dataset given is reported by ``facelab report`` (a subprocess, as a user runs it: the numba
and embedding caches of ``$FACELAB_CACHE`` apply; ``--cold`` gives each run an empty cache
folder of its own, so the embedding and UMAP's compilation are timed too). The table is read
back from each report's ``metrics.json`` (``provenance.timings``: every stage the report timed)
and the size of its ``index.html``; ``--tabulate`` reads reports already written. Stages are
grouped: embed, per-model work (pairs + verification bootstrap, identification, UMAP, misjudged
pairs, identities), comparison, dataset health, tables, figures, page; and the total.

Run it under the machine's CPU lock (``flock -x /tmp/facelab-cpu.lock``) and give the load beside
the figures: on two shared cores the walls move with the load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GROUPS = (
    ("embed", lambda k: k == "embed"),
    ("verification", lambda k: k.endswith((": pairs", ": verification"))),
    ("identification", lambda k: k.endswith(": identification")),
    ("umap", lambda k: k.endswith(": umap")),
    ("pairs, identities", lambda k: k.endswith((": misjudged pairs", ": identities"))),
    ("comparison", lambda k: k.startswith("comparison")),
    ("health", lambda k: k == "dataset health"),
    ("tables", lambda k: k == "tables"),
    ("figures", lambda k: k.startswith("figure: ")),
    ("page", lambda k: k == "page"),
)


def summarise(folder: Path) -> dict:
    """One report's row: identities, photos, stage groups (seconds), total and page size (MB)."""
    m = json.loads((folder / "metrics.json").read_text())
    t = m["provenance"].get("timings", {})
    row = {"report": folder.name, "identities": m["dataset"]["identities"], "photos": m["dataset"]["images"]}
    for name, match in GROUPS:
        row[name] = sum(v for k, v in t.items() if match(k))
    row["total"] = t.get("total", float("nan"))
    row["index.html MB"] = (folder / "index.html").stat().st_size / 1e6
    return row


def table(rows) -> str:
    """The rows as a Markdown table."""
    cols = list(rows[0])
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [f"{v:,.1f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v) for v in r.values()]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def run_report(dataset: Path, out: Path, models, *, cold: bool) -> float:
    env = dict(os.environ)
    if cold:
        env["FACELAB_CACHE"] = tempfile.mkdtemp(prefix="facelab-cold-")
    cmd = ["facelab", "report", str(dataset), "--out", str(out)] + [a for m in models for a in ("--model", m)]
    print("$", " ".join(cmd), f"(load {os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True)
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--two-id", type=Path, help="the two-ID set (facelab data two-id)")
    ap.add_argument("--teaching", type=Path, help="the 62-identity teaching set (facelab data teaching-set)")
    ap.add_argument("--lfw", type=Path, help="LFW's lfw-deepfunneled folder (5,749 identities)")
    ap.add_argument("--model", action="append", help="model(s) to report (default: the report's default)")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "report_scale")
    ap.add_argument("--cold", action="store_true", help="an empty cache for each run")
    ap.add_argument("--tabulate", type=Path, nargs="+", help="only tabulate these report folders")
    args = ap.parse_args(argv)
    folders = list(args.tabulate or [])
    if not folders:
        for name, ds in (("two_id", args.two_id), ("teaching", args.teaching), ("lfw", args.lfw)):
            if ds is None:
                continue
            out = args.out / name
            wall = run_report(ds, out, args.model or [], cold=args.cold)
            print(f"{name}: {wall:.1f} s wall (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
            folders.append(out)
    if not folders:
        ap.error("give at least one dataset (--two-id, --teaching, --lfw) or --tabulate")
    print(table([summarise(f) for f in folders]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
