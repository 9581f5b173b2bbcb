"""The audit's every-face check on real LFW faces: a two-person photo labelled as the person whose
face ``central`` does not pick is a wrong face (the label is right), and one holding nobody of its
label stays a label error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from facelab.analysis.audit import KINDS, WRONG_FACE, audit_result
from facelab.analysis.audit_faces import CHECKED_KINDS, check_other_faces
from facelab.data.photo_folder import CUTOUT

#: Three people of the dataset (5 single photos each), and one who is not in it.
PEOPLE = ("Colin_Powell", "Tony_Blair", "Donald_Rumsfeld")
STRANGER = "Gerhard_Schroeder"


def _two_faces(lfw, side: tuple[str, int], centre: tuple[str, int], out) -> None:
    """A 640 x 300 photo: ``centre``'s face in the middle (what ``central`` picks), ``side``'s at the
    left edge."""
    canvas = Image.new("RGB", (640, 300), (190, 180, 170))
    for (name, num), x in ((side, 10), (centre, 230)):
        canvas.paste(Image.open(lfw.image_path(name, num)).convert("RGB").crop(CUTOUT), (x, 55))
    canvas.save(out, quality=92)


@pytest.fixture(scope="module")
def audited(lfw, tmp_path_factory):
    from facelab.data.datasets import read_identity_folders
    from facelab.engine.executors import SerialExecutor
    from facelab.engine.pipeline import embed_images

    root = tmp_path_factory.mktemp("audit_faces") / "ds"
    for name in PEOPLE:
        (root / name).mkdir(parents=True)
        for k in range(1, 6):
            Image.open(lfw.image_path(name, k)).save(root / name / f"{name}_{k:04d}.jpg", quality=95)
    # Labelled Colin Powell, holding Powell (at the edge) and Tony Blair (centred): the wrong face is used.
    _two_faces(lfw, ("Colin_Powell", 10), ("Tony_Blair", 10), root / "Colin_Powell" / "group_right_label.jpg")
    # Labelled Colin Powell, holding a stranger (edge) and Tony Blair (centred): no face of Powell at all.
    _two_faces(lfw, (STRANGER, 1), ("Tony_Blair", 11), root / "Colin_Powell" / "group_wrong_label.jpg")
    ds = read_identity_folders(root)
    kw = dict(model="dlib", cache=False, progress=False, executor=SerialExecutor())
    res = embed_images(ds.images, policy="central", **kw)
    audit = audit_result(res, names=ds.names)
    before = audit.candidates.copy()
    calls = []

    def embed_every(images):
        calls.append(images)
        return embed_images(images, policy="all", **kw)

    check_other_faces(audit, embed_every)
    return audit, before, calls


def _row(candidates, stem):
    hit = candidates[candidates.image_id.str.endswith(stem)]
    assert len(hit) == 1, candidates[["image_id", "kind", "reason"]].to_string()
    return hit.iloc[0]


def test_central_picks_the_wrong_person_and_the_audit_flags_it(audited):
    audit, before, _ = audited
    for stem in ("group_right_label", "group_wrong_label"):
        row = _row(before, stem)
        # Blair's face was used: the photo looks like a label error, pointing at Blair.
        assert row.n_faces == 2 and row.kind in ("mislabel", "outlier")
        assert row.other_identity == "Tony_Blair"


def test_another_face_matching_the_label_makes_a_wrong_face(audited):
    audit, before, calls = audited
    row = _row(audit.candidates, "group_right_label")
    assert row.kind == WRONG_FACE and row["flags"].startswith(WRONG_FACE)
    assert row.reason.startswith(f"face {row.face_match} of the photo matches {audit.label('Colin_Powell')} (cos ")
    assert "the wrong face was used, the label is probably right" in row.reason
    assert row.face_match_cosine >= audit.settings.threshold + audit.settings.margin
    # The matching face is Powell's, at the left edge; the face used (Blair's) is the other.
    m = audit.other_faces[audit.other_faces.image_id == row.image_id].set_index("face")
    assert len(m) == 2 and m.loc[row.face_match, "match"] and m.box.loc[row.face_match][0] < 230
    assert m.loc[row.face_match, "cosine"] > m.loc[m.used.iloc[0], "used_cosine"]
    assert m.used.iloc[0] != row.face_match and not m.loc[m.used.iloc[0], "match"]
    # Only the multi-face candidates' photos were embedded again, once.
    multi = before[(before.n_faces > 1) & before.kind.isin(CHECKED_KINDS)]
    assert len(calls) == 1 and sorted(calls[0].image_id) == sorted(multi.image_id)
    assert len(calls[0]) < len(audit.faces) / 4


def test_no_face_of_the_label_stays_a_label_error(audited):
    audit, before, _ = audited
    row = _row(audit.candidates, "group_wrong_label")
    assert row.kind == _row(before, "group_wrong_label").kind != WRONG_FACE
    assert row.face_match == -1 and "matches" not in row.reason.split(" | ")[0]
    m = audit.other_faces[audit.other_faces.image_id == row.image_id]
    assert len(m) == 2 and not m.match.any()


def test_wrong_faces_rank_after_label_errors(audited):
    audit, _, _ = audited
    c = audit.candidates
    order = [KINDS.index(k) for k in c.kind]
    assert order == sorted(order) and list(c["rank"]) == list(range(1, len(c) + 1))
    assert audit.counts()["wrong_face"] == 1
    faces = audit.faces.set_index("image_id")
    assert faces.loc[_row(c, "group_right_label").image_id, "kind"] == WRONG_FACE


def test_the_page_shows_the_matching_face(audited, tmp_path):
    from facelab.report.audit_page import write_audit

    audit, _, _ = audited
    out = write_audit(audit, tmp_path / "page", explorer=False)
    page = (out / "index.html").read_text()
    rank = int(_row(audit.candidates, "group_right_label")["rank"])
    block = page.split(f'id="rank-{rank}"')[1].split('<div class="cand')[0]
    assert 'class="match"' in block and "matches its label" in block
    other = pd.read_csv(out / "other_faces.csv")
    assert len(other) == len(audit.other_faces) and other.match.sum() == 1
    assert np.isfinite(other.cosine).all()
