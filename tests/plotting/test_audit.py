"""The audit's contact sheet: each candidate beside faces of its identity and of the one it resembles."""

from __future__ import annotations

import numpy as np

from facelab.plotting.audit import AuditSheetDisplay, photo_thumbnail


def test_contact_sheet_of_a_real_audit(small_audit):
    a = small_audit
    first = a.candidates.iloc[0]
    assert first.kind == "duplicate across identities" and first.image_id.endswith("/copy")
    d = AuditSheetDisplay.from_audit(a, top=3, per_identity=4)
    assert len(d.rows) == min(3, len(a.candidates))
    row = d.rows[0]
    # The copy's own identity (4 others shown), and the identity it came from: its original first.
    assert len(row.own) == 4 and len(row.other) >= 1
    own, other = a.evidence(1, per_identity=4)
    assert other[0] == first.other_row and a.faces.identity.iloc[int(other[0])] != first.identity
    assert np.abs(row.face.astype(int) - row.other[0].astype(int)).mean() < 3  # the same picture
    d.plot()
    axes = d.axes_
    assert axes.shape == (len(d.rows), 2 + 2 * 4)
    drawn = [len(ax.images) for ax in axes[0]]
    assert drawn[:2] == [1, 1] and sum(drawn[2:6]) == 4 and sum(drawn[6:]) == len(row.other)
    assert "duplicate across identities" in axes[0, 0].get_title(loc="left")


def test_photo_thumbnail_boxes_the_face(small_audit):
    f = small_audit.faces.iloc[0]
    t = photo_thumbnail(f.path, f.box, size=96)
    plain = photo_thumbnail(f.path, None, size=96)
    assert t.shape == (96, 96, 3) and t.dtype == np.uint8
    red = (t[..., 0] > 180) & (t[..., 1] < 80) & (t[..., 2] < 80)
    red_plain = (plain[..., 0] > 180) & (plain[..., 1] < 80) & (plain[..., 2] < 80)
    assert red.sum() > red_plain.sum() + 50
