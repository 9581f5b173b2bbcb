"""1:N search at scale: FAISS exact (IndexFlatIP) against HNSW and IVF-Flat.

    python benchmarks/search_scale.py [--sizes 10000 100000 1000000] [--dim 128] [--queries 1000]
                                      [--kinds exact hnsw ivf] [--hnsw-m 32] [--ef-construction 200]
                                      [--ef-search 128] [--nprobe 16]

Gallery: synthetic unit vectors, ``--dim`` wide, in clusters of 10 (ten "photos" per "person", a
random centre plus noise); queries: new noisy photos of random gallery people, so a query has a
true neighbourhood as a face probe has. For each size and index kind, in a fresh child process:
build seconds, queries/s (``--queries`` queries, top-10, every core), resident memory the index
added, and recall@1 / recall@10 against exact search (:meth:`facelab.identification.search.SearchIndex.measure_recall`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def make_data(n, dim, n_queries, seed=0):
    rng = np.random.default_rng(seed)
    people = max(1, n // 10)
    centres = rng.standard_normal((people, dim)).astype(np.float32)
    g = np.empty((n, dim), np.float32)
    for s in range(0, n, 100_000):  # in chunks: bounded temporaries at 1e6
        k = min(n, s + 100_000) - s
        g[s : s + k] = centres[np.arange(s, s + k) % people] + 0.8 * rng.standard_normal((k, dim)).astype(np.float32)
    q = centres[rng.integers(0, people, n_queries)] + 0.8 * rng.standard_normal((n_queries, dim)).astype(np.float32)
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return g, q


def rss_mb():
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def one(n, dim, n_queries, kind, opts):
    from facelab.identification.search import SearchIndex, exact_search, recall_at_k

    g, q = make_data(n, dim, n_queries)
    before = rss_mb()
    idx = SearchIndex(kind, dim, **opts)
    idx.add(g)
    mem = rss_mb() - before
    idx._exact = None  # the benchmark keeps its own copy for the exact reference
    t0 = time.perf_counter()
    _, rows = idx.search(q, k=10)
    qps = n_queries / (time.perf_counter() - t0)
    out = {"n": n, "kind": kind, "build_s": round(idx.build_seconds, 2), "qps": round(qps, 1), "index_mb": round(mem, 1)}
    if kind != "exact":
        _, exact = exact_search(g, q, k=10)
        out["recall@1"] = round(recall_at_k(rows, exact, 1), 4)
        out["recall@10"] = round(recall_at_k(rows, exact, 10), 4)
    else:
        out["recall@1"] = out["recall@10"] = 1.0
    return out


def _index_defaults() -> dict:
    import inspect

    from facelab.identification.search import SearchIndex

    return {k: p.default for k, p in inspect.signature(SearchIndex.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}


_DEFAULTS = _index_defaults()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=float, nargs="+", default=[1e4, 1e5, 1e6])
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--kinds", nargs="+", default=["exact", "hnsw", "ivf"])
    # Defaults: facelab.identification.search.SearchIndex's own, so that the figures are what a user gets.
    ap.add_argument("--hnsw-m", type=int, default=_DEFAULTS["hnsw_m"])
    ap.add_argument("--ef-construction", type=int, default=_DEFAULTS["ef_construction"])
    ap.add_argument("--ef-search", type=int, default=_DEFAULTS["ef_search"])
    ap.add_argument("--nprobe", type=int, default=_DEFAULTS["nprobe"])
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        n, kind = a.child.split(":")
        opts = {"exact": {}, "hnsw": {"hnsw_m": a.hnsw_m, "ef_construction": a.ef_construction, "ef_search": a.ef_search},
                "ivf": {"nprobe": a.nprobe}}[kind]
        print(json.dumps(one(int(n), a.dim, a.queries, kind, opts)))
        return
    print(f"{'N':>9} {'index':>6} {'build s':>8} {'queries/s':>10} {'memory MB':>10} {'recall@1':>9} {'recall@10':>9}")
    for n in a.sizes:
        for kind in a.kinds:
            cmd = [sys.executable, __file__, "--child", f"{int(n)}:{kind}", "--dim", str(a.dim), "--queries", str(a.queries),
                   "--hnsw-m", str(a.hnsw_m), "--ef-construction", str(a.ef_construction), "--ef-search", str(a.ef_search),
                   "--nprobe", str(a.nprobe)]
            r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            print(f"{r['n']:>9,} {r['kind']:>6} {r['build_s']:>8.2f} {r['qps']:>10,.0f} {r['index_mb']:>10.1f} "
                  f"{r['recall@1']:>9.4f} {r['recall@10']:>9.4f}", flush=True)


if __name__ == "__main__":
    main()
