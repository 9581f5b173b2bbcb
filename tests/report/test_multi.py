"""A two-model report (dlib and EdgeFace-XS) on a small two-ID subset: every section, and the paired
statistics of ``metrics.json`` against brute-force values from the saved pair scores."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from facelab.verification.comparison import paired_bootstrap


@pytest.fixture(scope="module")
def multi_report(tmp_path_factory, copy_two_id, edgeface_weights):
    from facelab.cli import main

    src = copy_two_id(tmp_path_factory.mktemp("multi") / "two_id", 8)
    out = tmp_path_factory.mktemp("reports") / "multi"
    rc = main(["report", str(src), "--model", "dlib", "--model", "edgeface_xs", "--out", str(out), "--quiet",
               "--n-boot", "60"])
    assert rc == 0
    return out


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections, self.files, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a["id"])
        if tag == "img":
            self.files.append((self.sections[-1], a["data-file"]))

    def handle_data(self, data):
        self.text.append(data)


def test_every_section_of_the_comparison(multi_report):
    page = _Page()
    page.feed((multi_report / "index.html").read_text())
    assert page.sections == ["summary", "faces", "dataset-health", "verification", "identification", "embedding-space",
                             "failures", "comparison", "skipped", "provenance"]
    files = {f: sec for sec, f in page.files}
    text = " ".join(page.text)
    # One ROC and one DET, overlaid; score distributions, thresholds sweeps and maps per model.
    assert files["figures/roc.png"] == "verification" and files["figures/det.png"] == "verification"
    for name in ("dlib", "edgeface_xs"):
        assert files[f"figures/scores_{name}.png"] == "verification"
        assert files[f"figures/umap_{name}.png"] == "embedding-space"
        assert files[f"figures/aligned_{name}.png"] == "faces"
    assert "research and teaching use only" in text  # EdgeFace's licence, in the model summary
    assert "McNemar's test" in text and "Paired bootstrap" in text
    assert "dlib vs edgeface_xs" in text
    m = json.loads((multi_report / "metrics.json").read_text())
    if m["comparison"][0]["disagreements"]["pairs"]:  # the gallery of the pairs where they disagree
        assert files["figures/disagreements_dlib_vs_edgeface_xs.png"] == "comparison"
    for f in (multi_report / "figures").iterdir():
        assert f"figures/{f.name}" in files  # every written figure is on the page


def test_metrics_models_and_comparison_equal_brute_force(multi_report):
    m = json.loads((multi_report / "metrics.json").read_text())
    assert set(m["models"]) == {"dlib", "edgeface_xs"}
    # The top level keeps describing the first model.
    assert m["model"] == m["models"]["dlib"]["model"] and m["verification"] == m["models"]["dlib"]["verification"]
    assert m["models"]["edgeface_xs"]["model"]["embedding_size"] == 512
    assert m["models"]["dlib"]["model"]["embedding_size"] == 128
    from facelab.models.weights import default_detector

    assert m["models"]["edgeface_xs"]["model"]["detector"] == default_detector("edgeface_xs")  # each its own
    assert m["models"]["dlib"]["model"]["detector"] == default_detector("dlib")
    (c,) = m["comparison"]
    df = pd.read_csv(multi_report / "comparison_dlib_vs_edgeface_xs.csv")
    a, b, y = df["cosine_dlib"].to_numpy(), df["cosine_edgeface_xs"].to_numpy(), df["same"].to_numpy(bool)
    assert c["pairs"] == len(df) and c["genuine_pairs"] == int(y.sum())

    # McNemar, brute force: each model's accuracy-best threshold over every candidate cut, the 2x2 table,
    # and the exact two-sided binomial p-value.
    def best(s):
        cands = np.unique(s)
        accs = [((s >= t) == y).mean() for t in cands]
        return accs[int(np.argmax(accs))]

    mc = c["mcnemar"]
    assert mc["accuracy_a"] == pytest.approx(best(a), abs=2e-6)
    assert mc["accuracy_b"] == pytest.approx(best(b), abs=2e-6)
    ra = (a >= mc["threshold_a"]) == y
    rb = (b >= mc["threshold_b"]) == y
    assert (mc["a_only_right"], mc["b_only_right"]) == (int((ra & ~rb).sum()), int((~ra & rb).sum()))
    assert mc["both_right"] == int((ra & rb).sum()) and mc["both_wrong"] == int((~ra & ~rb).sum())
    n, k = mc["n_discordant"], min(mc["a_only_right"], mc["b_only_right"])
    p = 1.0 if n == 0 else min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)
    assert mc["p_value"] == pytest.approx(p)
    # The pairs where they disagree, at each model's own operating threshold.
    ta = m["models"]["dlib"]["verification"]["operating_point"]["cosine"]
    tb = m["models"]["edgeface_xs"]["verification"]["operating_point"]["cosine"]
    da, db = (a >= ta) == y, (b >= tb) == y
    dis = c["disagreements"]
    assert (dis["pairs"], dis["a_right"], dis["b_right"]) == (int((da != db).sum()), int((da & ~db).sum()),
                                                              int((~da & db).sum()))

    # AUC of each model by brute force (every genuine/impostor pair of pairs), and the paired bootstrap
    # recomputed from the saved scores with the report's seed and replicates.
    def auc(s):
        g, i = s[y], s[~y]
        return float(((g[:, None] > i[None, :]) + 0.5 * (g[:, None] == i[None, :])).mean())

    pb = c["paired_bootstrap"]
    assert pb["auc"]["a"] == pytest.approx(auc(a), abs=1e-6) and pb["auc"]["b"] == pytest.approx(auc(b), abs=1e-6)
    assert pb["auc"]["difference"] == pytest.approx(auc(a) - auc(b), abs=1e-6)
    again = paired_bootstrap(a, b, y, df["identity1"].to_numpy(str), df["identity2"].to_numpy(str),
                             metrics=tuple(pb), n_boot=60, seed=0)
    for metric, d in again.items():
        for key in ("difference", "low", "high"):
            want = getattr(d, key)
            assert pb[metric][key] == (pytest.approx(want, abs=1e-6) if math.isfinite(want) else None)
