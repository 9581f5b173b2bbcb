"""The report's distractor curve: real LFW strangers against the session's two-ID report, checked
against brute-force search; the page, ``metrics.json`` and the CSV; files made by another model;
``facelab report --distractors`` end to end."""

from __future__ import annotations

import dataclasses
import json
import math
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from facelab.core.errors import FacelabError
from facelab.report.distractors import CSV_NAME, DistractorMismatchError, add_distractors, compute_distractors

#: LFW people taken as distractors (one photo each): enough for the 0, 10, N counts.
N_STRANGERS = 40
#: Photos of each enrolled person that are not in the two-ID set ("unclean" distractors, see below).
N_TWINS = 5


@pytest.fixture(scope="module")
def faces(lfw, two_id_data):
    """Embedded as the report's model embeds (dlib, its detector and face policy), in one run:
    one LFW photo each of N_STRANGERS people outside the two-ID set, and N_TWINS other LFW photos
    of each of its two people (not among its images)."""
    from facelab.core.hashing import file_sha256
    from facelab.engine.pipeline import embed_images

    m = two_id_data.model
    enrolled = {"Colin_Powell", "Tony_Blair"}
    assert set(two_id_data.dataset.names.values()) == enrolled
    imgs = lfw.images()
    people = [p for p in sorted(set(imgs.identity)) if p not in enrolled][::97][:N_STRANGERS + 6]  # a few spare
    used = set(m.result.table.sha256)
    twins = [g[[file_sha256(p) not in used for p in g.path]].head(N_TWINS + 2)
             for _, g in imgs[imgs.identity.isin(enrolled)].groupby("identity")]
    chosen = pd.concat([imgs[imgs.identity.isin(people)].groupby("identity").head(1), *twins])
    res = embed_images(chosen, model=m.spec, detector=m.detector, policy=m.result.settings["policy"], progress=False)
    ok = res.embedded.reset_index(drop=True)
    rows = {"strangers": ok.index[~ok.identity.isin(enrolled)][:N_STRANGERS],
            "twins": ok[ok.identity.isin(enrolled)].groupby("identity").head(N_TWINS).index}
    assert len(rows["strangers"]) == N_STRANGERS and len(rows["twins"]) == 2 * N_TWINS
    return {k: (res, list(ok.image_id.astype(str)[r]), res.embeddings[ok.row.to_numpy()[r]]) for k, r in rows.items()}


@pytest.fixture(scope="module")
def strangers(faces):
    """``(result, ids, vectors)`` of the strangers: people who are not enrolled."""
    return faces["strangers"]


@pytest.fixture(scope="module")
def npz(strangers, tmp_path_factory):
    from facelab.embedders.files import write_embeddings

    _, ids, vecs = strangers
    return write_embeddings(tmp_path_factory.mktemp("distractors") / "strangers.npz", ids, vecs)


def _unit(x):
    x = np.asarray(x, np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_curve_equals_brute_force_search(two_id_data, faces, tmp_path):
    """Strangers, and other photos of the enrolled people filed as distractors (what MegaFace had to
    clean out of its distractor set): their best matches take rank-1 away, exactly as brute force says."""
    from facelab.embedders.files import write_embeddings
    from facelab.identification.evaluate import gallery_probe_split

    m = two_id_data.model
    (_, ids_s, vec_s), (_, ids_t, vec_t) = faces["strangers"], faces["twins"]
    vecs = np.vstack([vec_s, vec_t])
    n = len(vecs)
    path = write_embeddings(tmp_path / "unclean.json", ids_s + ids_t, vecs)
    dis = compute_distractors(path, two_id_data.models, gallery_size=two_id_data.settings.gallery_size)
    (d,) = dis.models
    t = d.table
    assert list(t.n_distractors) == [0, 10, n] and d.n_distractors == n
    assert dis.file.n == n and dis.file.dim == 128 and dis.file.kind == "json" and not dis.not_computed
    # No distractors: the first split of the report's own identification, its open-set numbers.
    run0 = m.identification.runs[0]
    assert t.rank1[0] == pytest.approx(run0.rank1) and t.fnir[0] == pytest.approx(run0.fnir)
    assert math.isnan(t.fpir[0]) == math.isnan(run0.fpir)  # two enrolled people: no non-mated probe
    assert t.rank1[0] > 0.9  # dlib finds Colin Powell and Tony Blair
    # All of them: plain argmax over the gallery and every distractor (distractors first: a tie goes to them).
    split = gallery_probe_split(m.identities, k=two_id_data.settings.gallery_size, seed=0)
    ids = m.identities
    gal = np.vstack([_unit(vecs), _unit(m.embeddings[split.gallery])])
    labels = np.concatenate([np.full(n, None, object), ids[split.gallery].astype(object)])
    sims = _unit(m.embeddings[split.probes]) @ gal.T
    best = sims.argmax(axis=1)
    right = labels[best] == ids[split.probes]
    mated = split.mated
    assert t.rank1.iloc[-1] == pytest.approx(right[mated].mean())
    accepted = sims.max(axis=1) >= m.threshold
    assert t.fnir.iloc[-1] == pytest.approx(1 - (right & accepted)[mated].mean())
    assert d.n_mated == int(mated.sum()) and d.n_probes == len(split.probes) and d.n_gallery == len(split.gallery)
    # More distractors can only take best matches away; the enrolled people's other photos do.
    assert (np.diff(t.rank1) <= 0).all() and (np.diff(t.fnir) >= 0).all()
    assert t.rank1.iloc[-1] < t.rank1[0] - 0.1
    assert (t.search == "exact").all() and d.curve.threshold == m.threshold


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections, self.files, self.nav, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a["id"])
        if tag == "img":
            self.files.append((self.sections[-1] if self.sections else None, a["data-file"]))
        if tag == "a" and a.get("href", "").startswith("#"):
            self.nav.append(a["href"][1:])

    def handle_data(self, data):
        self.text.append(data)


def test_report_page_metrics_and_csv(two_id_data, npz, tmp_path):
    from facelab.core.hashing import file_sha256
    from facelab.report import write_report

    data = add_distractors(two_id_data, npz)
    assert two_id_data.distractors is None and "distractors" not in two_id_data.model.provenance  # left as it was
    res = write_report(data, tmp_path / "r", interactive=False)
    out = res.out_dir
    page = _Page()
    page.feed((out / "index.html").read_text())
    assert page.sections.index("distractors") == page.sections.index("identification") + 1
    assert "distractors" in page.nav
    assert ("distractors", "figures/distractors.png") in page.files and (out / "figures/distractors.png").is_file()
    text = " ".join(page.text)
    d = data.distractors.models[0]
    assert f"{d.curve.n_enrolled} enrolled identities ({d.n_gallery} gallery images), {d.n_probes} probes" in text
    assert f"{N_STRANGERS:,} embeddings of people who are not enrolled" in text
    m = json.loads((out / "metrics.json").read_text())
    block = m["distractors"]
    assert block["file"]["count"] == N_STRANGERS and block["file"]["sha256"] == file_sha256(npz)
    curve = block["models"]["dlib"]["curve"]
    assert [r["n_distractors"] for r in curve] == [0, 10, N_STRANGERS]
    assert [r["rank1"] for r in curve] == pytest.approx(list(d.table.rank1))
    assert all(r["fpir"] is None for r in curve)  # NaN written as null
    assert m["provenance"]["distractors"]["sha256"] == file_sha256(npz)
    csv = pd.read_csv(out / CSV_NAME)
    assert list(csv.model.unique()) == ["dlib"]
    np.testing.assert_allclose(csv.rank1, d.table.rank1, atol=1e-6)
    np.testing.assert_allclose(csv.fnir, d.table.fnir, atol=1e-6)


def test_another_dimension_is_a_clear_error(two_id_data, strangers, tmp_path):
    from facelab.embedders.files import write_embeddings

    _, ids, vecs = strangers
    bad = write_embeddings(tmp_path / "wide.json", ids, np.hstack([vecs, vecs]))  # 256-d: not this model's
    with pytest.raises(DistractorMismatchError, match=r"256-d, dlib embeds 128-d") as err:
        compute_distractors(bad, two_id_data.models)
    assert isinstance(err.value, FacelabError)


def test_the_datasets_own_faces_are_refused(two_id_data, two_id_report):
    # The report's own embeddings handed back as distractors: people who ARE enrolled.
    with pytest.raises(DistractorMismatchError, match="not in the dataset"):
        compute_distractors(two_id_report / "face_embeddings.json", two_id_data.models)


def test_a_store_records_the_model(two_id_data, strangers, npz, tmp_path):
    from facelab.engine.settings import SETTINGS_FIELDS, settings_key
    from facelab.engine.store import EmbeddingStore

    res, ids, vecs = strangers
    m = two_id_data.model
    keep = res.embedded.head(N_STRANGERS)
    table = keep[["image_id", "path", "identity"]].assign(status="ok")
    base = {k: v for k, v in res.settings.items() if k in SETTINGS_FIELDS}
    # Made by the same model with another face policy (facelab embed --store's default): used, and said so.
    other_policy = dict(base, policy="largest")
    EmbeddingStore(tmp_path / "same").append(table, list(vecs), settings_key=settings_key(other_policy))
    dis = compute_distractors(tmp_path / "same", two_id_data.models)
    (d,) = dis.models
    assert "policy largest" in d.checked and dis.file.kind == "store" and dis.file.n == N_STRANGERS
    ref = compute_distractors(npz, two_id_data.models).models[0]
    pd.testing.assert_frame_equal(d.table, ref.table)
    # Another model's fingerprint in the store: refused, naming the model.
    other_model = dict(base, embedder="torch:ir_18:64:128:reference:0123abcd:flip=0")
    EmbeddingStore(tmp_path / "other").append(table, list(vecs), settings_key=settings_key(other_model))
    with pytest.raises(DistractorMismatchError, match=f"another model or weights than {m.name}"):
        compute_distractors(tmp_path / "other", two_id_data.models)


def test_several_models(two_id_data, npz):
    """A 128-d file and a report of dlib and another (here: dlib's 64-d PCA, a different embedding):
    the curve of dlib, the other listed with the reason; two 128-d models: which made the file cannot
    be told from a .npz."""
    from facelab.report import html

    m = two_id_data.model
    e = m.embeddings - m.embeddings.mean(0)
    pca = (e @ np.linalg.svd(e, full_matrices=False)[2][:64].T).astype(np.float32)
    other = dataclasses.replace(m, result=dataclasses.replace(m.result, model="dlib_pca64", embeddings=pca))
    dis = compute_distractors(npz, [m, other])
    assert [d.model for d in dis.models] == ["dlib"]
    assert dis.not_computed == (("dlib_pca64", "the distractors are 128-d, dlib_pca64 embeds 64-d vectors: they "
                                 "were made by another model"),)
    sec = html.distractors(dataclasses.replace(two_id_data, models=[m, other], distractors=dis), {})
    assert "<h3>dlib</h3>" in sec.body and "No curve for: <b>dlib_pca64</b>" in sec.body
    twin = dataclasses.replace(m, result=dataclasses.replace(m.result, model="dlib_twin"))
    with pytest.raises(DistractorMismatchError, match="cannot be told"):
        compute_distractors(npz, [m, twin])


def test_cli_report_with_distractors(copy_two_id, npz, tmp_path, capsys):
    from facelab.cli import main
    from facelab.core.hashing import file_sha256

    src = copy_two_id(tmp_path / "two_id", 8)
    out = tmp_path / "report"
    rc = main(["report", str(src), "--out", str(out), "--quiet", "--n-boot", "20", "--no-thumbnails",
               "--distractors", str(npz)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert f"distractors (dlib): {N_STRANGERS} from {npz}: rank-1" in printed
    m = json.loads((out / "metrics.json").read_text())
    d = m["distractors"]["models"]["dlib"]
    assert [r["n_distractors"] for r in d["curve"]] == [0, 10, N_STRANGERS]
    assert d["n_enrolled"] == 2 and d["n_gallery"] == 2 and d["n_probes"] == m["identification"]["probes"]
    assert d["n_probes"] == m["dataset"]["embedded"] - 2 and d["curve"][0]["rank1"] > 0.9
    assert m["provenance"]["distractors"] == m["distractors"]["file"]
    assert m["provenance"]["distractors"]["sha256"] == file_sha256(npz)
    page = _Page()
    page.feed((out / "index.html").read_text())
    assert "distractors" in page.sections and "distractors" in page.nav
    assert ("distractors", "figures/distractors.png") in page.files
    assert (out / CSV_NAME).is_file()


def test_without_distractors_nothing_changes(two_id_report, two_id_data):
    # The session's report (no --distractors): no section, no block, no CSV, nothing in the provenance.
    from facelab.report import html

    assert html.page_sections(two_id_data) == html.SECTIONS and html.distractors(two_id_data, {}) is None
    page = _Page()
    page.feed((two_id_report / "index.html").read_text())
    assert "distractors" not in page.sections and "distractors" not in page.nav
    m = json.loads((two_id_report / "metrics.json").read_text())
    assert "distractors" not in m and "distractors" not in m["provenance"]
    assert not (two_id_report / CSV_NAME).exists()
