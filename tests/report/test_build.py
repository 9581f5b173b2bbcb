"""``facelab report`` / ``build_report`` end to end: the two-ID set, a folder laced with bad files,
errors, atomicity, and the caller's matplotlib backend left alone."""

from __future__ import annotations

import base64
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from facelab.cli import main
from facelab.core.errors import EvaluationError
from facelab.report import build_report


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.links, self.ids, self.scripts, self.refs = [], [], set(), [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.refs += [(tag, k, v) for k, v in attrs if k in ("src", "href", "srcset", "action", "data") and v]
        if tag in ("script", "link", "iframe", "object", "embed"):
            self.scripts.append((tag, a))
        if tag == "img":
            self.imgs.append(a)
        if tag == "a" and a.get("href", "").startswith("#"):
            self.links.append(a["href"][1:])
        if "id" in a:
            self.ids.add(a["id"])


def check_html(out: Path, *, interactive: bool = True) -> _Images:
    """Every figure the page references is there: inlined PNGs (plots) and JPEGs (photographs) that
    decode, each shown at its size (half its pixels: drawn at twice the density) and equal to its
    file; the page is self-contained: scripts only inline (BokehJS, the views' one script and the
    tables' when ``interactive``, none otherwise), no external link, every reference a data: URI or
    a fragment of the page; each figure once."""
    page = (out / "index.html").read_text()
    parser = _Images()
    parser.feed(page)
    if interactive:
        assert [t for t, a in parser.scripts] == ["script"] * len(parser.scripts) and len(parser.scripts) >= 3
        assert all(not a.get("src") for _, a in parser.scripts)  # inline only
        assert page.count('class="facelab-interactive"') == 3
    else:
        assert "<script" not in page and "http://" not in page and "https://" not in page
        assert "facelab-interactive" not in page
    assert not [r for r in parser.refs if not r[2].startswith(("data:", "#"))], parser.refs
    assert len(parser.imgs) >= 8
    kinds = {"data:image/png;base64,": (b"\x89PNG\r\n\x1a\n", ".png"), "data:image/jpeg;base64,": (b"\xff\xd8\xff", ".jpg")}
    for img in parser.imgs:
        src = img["src"]
        prefix = src[:src.index(",") + 1]
        assert prefix in kinds, src[:40]
        magic, ext = kinds[prefix]
        data = base64.b64decode(src.split(",", 1)[1])
        assert data.startswith(magic) and img["data-file"].endswith(ext)
        f = out / img["data-file"]
        assert f.is_file() and f.read_bytes() == data
        w, h = Image.open(f).size
        assert abs(int(img["width"]) - w / 2) <= 1 and abs(int(img["height"]) - h / 2) <= 1
        assert page.count(src[-64:]) == 1  # one copy of each figure
    assert set(parser.links) <= parser.ids  # every nav link lands on a section
    return parser


def test_two_id_report(two_id_report, capsys):
    out = two_id_report
    check_html(out)
    m = json.loads((out / "metrics.json").read_text())
    d, v, i = m["dataset"], m["verification"], m["identification"]
    assert d["images"] == 100 and d["identities"] == 2
    assert d["embedded"] + len(d["skipped"]) == 100 and d["embedded"] >= 95
    # dlib separates Colin Powell from Tony Blair almost perfectly.
    assert v["auc"] > 0.98 and v["eer"] < 0.08
    assert v["operating_point"]["accuracy"] > 0.9
    assert i["rank1"] > 0.9 and 0.9 < i["accuracy"] <= 1.0
    assert m["model"]["name"] == "dlib" and m["model"]["embedding_size"] == 128
    assert m["provenance"]["versions"]["torch"]
    # The fingerprint reuses the pipeline's content hashes: the same as hashing every file again.
    from facelab.data.datasets import read_identity_folders
    from facelab.report import dataset_fingerprint

    images = read_identity_folders(m["dataset"]["path"]).images
    assert m["provenance"]["dataset_sha256"] == dataset_fingerprint(images)
    table = pd.read_csv(out / "images.csv")
    assert table.sha256.str.fullmatch("[0-9a-f]{64}").all()
    for f in ("pair_scores.csv", "face_embeddings.json", "skipped.csv", "images.csv", "identities.csv", "faces.csv",
              "misjudged_pairs.csv"):
        assert (out / f).is_file()
    # Every stage of the report is timed, in the provenance.
    timings = m["provenance"]["timings"]
    for stage in ("embed", "dlib: verification", "dlib: umap", "dlib: identities", "tables", "figure: umap", "page",
                  "total"):
        assert timings[stage] >= 0, stage
    emb = json.loads((out / "face_embeddings.json").read_text())
    assert len(emb) == d["embedded"] and all(len(x) == 128 for x in emb.values())
    assert not list(out.parent.glob(".two_id.partial-*"))


@pytest.fixture(scope="module")
def laced_dir(tmp_path_factory, lfw):
    """Two LFW identities plus every kind of bad or awkward file, built from LFW photos."""
    root = tmp_path_factory.mktemp("laced")
    good = {"1": ("Colin_Powell", range(1, 9)), "2": ("Tony_Blair", range(1, 9))}
    for ident, (name, nums) in good.items():
        (root / ident).mkdir()
        for k in nums:
            shutil.copy(lfw.image_path(name, k), root / ident / f"{name}_{k:04d}.jpg")
    (root / "3_empty").mkdir()
    src = Image.open(lfw.image_path("Colin_Powell", 10)).convert("RGB")
    d1 = root / "1"
    # Awkward but usable: each must be kept.
    src.convert("L").save(d1 / "grey.jpg")
    rgba = src.convert("RGBA")
    rgba.putalpha(200)
    rgba.save(d1 / "rgba.png")
    Image.open(lfw.image_path("Colin_Powell", 11)).convert("CMYK").save(d1 / "cmyk.jpg")
    g16 = (np.asarray(Image.open(lfw.image_path("Colin_Powell", 12)).convert("L")).astype(np.uint16) * 257)
    Image.fromarray(g16).save(d1 / "grey16.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(lfw.image_path("Colin_Powell", 13)).transpose(Image.Transpose.ROTATE_90).save(
        d1 / "exif_rotated.jpg", exif=exif)
    Image.open(lfw.image_path("Colin_Powell", 14)).resize((1500, 1500), Image.Resampling.BICUBIC).save(
        d1 / "huge.jpg", quality=90)
    # Unusable: each must be listed with its reason.
    d2 = root / "2"
    data = lfw.image_path("Tony_Blair", 9).read_bytes()
    (d2 / "corrupt.jpg").write_bytes(data[: len(data) // 4])
    (d2 / "notes.txt").write_text("not a photo")
    (d2 / "fake.jpg").write_bytes(b"<html>not an image</html>")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (250, 250, 3), dtype=np.uint8)).save(d2 / "noise_no_face.png")
    Image.open(lfw.image_path("Tony_Blair", 10)).resize((16, 16)).save(d2 / "tiny.jpg")
    (d2 / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden: ignored, not an image of anyone
    return root


KEPT = {"grey.jpg", "rgba.png", "cmyk.jpg", "grey16.png", "exif_rotated.jpg", "huge.jpg"}
BAD = {"corrupt.jpg", "notes.txt", "fake.jpg", "noise_no_face.png", "tiny.jpg"}


def test_laced_report_keeps_every_usable_face_and_lists_every_bad_one(laced_dir, tmp_path, capsys):
    out = tmp_path / "laced-report"
    rc = main(["report", str(laced_dir), "--out", str(out), "--quiet", "--bootstrap", "50", "--no-thumbnails",
               "--static"])
    assert rc == 0
    printed = capsys.readouterr().out
    check_html(out, interactive=False)
    m = json.loads((out / "metrics.json").read_text())
    skipped = {Path(s["image"]).name: s["reason"] for s in m["dataset"]["skipped"]}
    assert BAD <= set(skipped), skipped
    assert not (KEPT & set(skipped)), skipped
    assert "3_empty" in skipped and "empty" in skipped["3_empty"]
    assert ".DS_Store" not in skipped
    assert "truncated" in skipped["corrupt.jpg"] or "corrupt" in skipped["corrupt.jpg"]
    assert "not an image" in skipped["notes.txt"] and "not an image" in skipped["fake.jpg"]
    assert "no_face" in skipped["noise_no_face.png"] or "no face" in skipped["noise_no_face.png"]
    assert m["dataset"]["embedded"] == 16 + len(KEPT)
    for name in BAD:
        assert name in printed
    page = (out / "index.html").read_text()
    for name in BAD:
        assert name in page


def test_one_identity_is_a_clear_error(tmp_path, lfw):
    (tmp_path / "only").mkdir()
    for k in (1, 2, 3):
        shutil.copy(lfw.image_path("Tony_Blair", k), tmp_path / "only" / f"{k}.jpg")
    with pytest.raises(EvaluationError, match="at least two identities"):
        build_report(tmp_path, out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists() and not list(tmp_path.glob(".r.*"))


def test_interrupted_run_leaves_no_half_report(two_id_data, tmp_path, monkeypatch):
    import facelab.report.html as H
    from facelab.report import write_report

    def boom(*a, **k):  # after metrics, tables and figures are in the staging folder
        raise KeyboardInterrupt

    monkeypatch.setattr(H, "render_page", boom)
    with pytest.raises(KeyboardInterrupt):
        write_report(two_id_data, tmp_path / "r")
    assert list(tmp_path.iterdir()) == []


def test_build_report_keeps_the_callers_backend(two_id_build):
    # build_report used to call matplotlib.use("Agg"), switching a notebook's inline figures off.
    assert two_id_build.backend_after == "svg"


def test_writing_reads_only_the_few_photos_it_draws_landmarks_on(two_id_build):
    # Chips and faces come from the pipeline: no reloading or re-aligning every image for the
    # aligned grid, the UMAP thumbnails or the failure gallery.
    samples = two_id_build.data.model.landmark_samples()
    assert sorted(two_id_build.loads_while_writing) == sorted(map(str, samples.path))
    assert 0 < len(samples) < len(two_id_build.data.model.embeddings)


def test_build_is_compute_then_write(two_id_build):
    m = json.loads((two_id_build.out / "metrics.json").read_text())
    from facelab.report.files import report_metrics

    expected = json.loads(json.dumps(report_metrics(two_id_build.data)))
    # The data holds the computing stages' times; the file adds the writing stages and the total.
    written = m["provenance"].pop("timings")
    computed = expected["provenance"].pop("timings")
    assert m == expected
    assert {k: written[k] for k in computed} == computed and "total" in written and "page" in written
