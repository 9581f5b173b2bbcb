"""Does another face of the photo match its label? The audit's every-face check.

``facelab audit`` judges the one face each photo gave (policy ``central``). In a photo of several
people that face can be someone else's: the photo then looks like a label error, a duplicate of
another identity's photo or an outlier, while its label is right. So for each candidate whose photo
holds more than one face (``n_faces > 1``; only those few photos, never the whole dataset) every
face of the photo is embedded (every-face mode, ``policy="all"``) and compared with the labelled
identity's faces by the same top-``k`` mean as ``own`` (the candidate's own face and near-duplicates
left out). When another face passes the threshold by the audit's margin (one unit of calibrated
log-odds, as a mislabel's identity must stand out) and fits the identity better than the face used,
the row becomes a **wrong face**: "face k of the photo matches <identity>: the wrong face was used,
the label is probably right". The margin is there because the claim overturns a label error: on
LFW (dlib, YuNet) the face of Recep_Tayyip_Erdogan_0004 used is Abdullah Gül's, a mislabel standing
out by 0.041, and a face cut off by the photo's top edge matched Erdoğan at 0.906 against the
threshold 0.904 -- too little to call the label right.

Why a kind of its own, ranked after the label errors (duplicates across identities, mislabels) and
before duplicates within an identity and outliers: the evidence now speaks for the label, against
the face selection. A person must still look (the photo's embedding in every figure is someone
else's, and the face selection, not the label, is what to fix), but a photo whose label is
contradicted with no face of the labelled person in it is the stronger reason to look first. It
still ranks above the weaker kinds: a matching face is positive evidence of what went wrong, which
an outlier row lacks.

:func:`other_face_matches` and :func:`mark_wrong_faces` only compute; :func:`check_other_faces`
takes the function that embeds (the command passes the engine's ``embed_images`` in every-face
mode), so the audit itself (:func:`facelab.analysis.audit.audit_embeddings`) stays pure.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from facelab.analysis.audit import KINDS, WRONG_FACE

__all__ = ["CHECKED_KINDS", "MATCH_COLUMNS", "check_other_faces", "mark_wrong_faces", "other_face_matches",
           "photos_to_check"]

#: The kinds whose photos are checked: those a wrong face can cause (a duplicate within an
#: identity is the same photo twice, whichever face was used).
CHECKED_KINDS = ("duplicate across identities", "mislabel", "outlier")
#: One row per face of each photo checked.
MATCH_COLUMNS = ["row", "image_id", "identity", "face", "box", "cosine", "used", "used_cosine", "match"]


def photos_to_check(audit) -> pd.DataFrame:
    """The candidates whose photo holds several faces (``image_id``, ``path``, ``identity``, ``row``):
    the photos to embed in every-face mode."""
    c = audit.candidates
    sel = c[(c.n_faces > 1) & c.kind.isin(CHECKED_KINDS)]
    return pd.DataFrame({"image_id": list(sel.image_id), "path": list(sel.path), "identity": list(sel.identity),
                         "row": list(sel.row)})


def _iou(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size != 4 or b.size != 4 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return 0.0
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def other_face_matches(audit, every) -> pd.DataFrame:
    """Every face of the checked photos against its photo's labelled identity (:data:`MATCH_COLUMNS`).

    Parameters
    ----------
    audit : DatasetAudit
    every : EmbeddingResult
        The photos of :func:`photos_to_check` embedded in every-face mode (same model).

    Returns
    -------
    pandas.DataFrame
        ``row`` (the candidate's audit row), ``face`` (its index in the photo), ``box``,
        ``cosine`` (top-``k`` mean with the labelled identity's faces; NaN when the identity has
        no other face), ``used`` (the face the audit judged: the one whose box overlaps the audit's
        box most), ``used_cosine`` (the audit's ``own``) and ``match`` (another face passes the
        threshold by the margin and beats the face used).
    """
    s = audit.settings
    faces = audit.faces
    ids = faces.identity.to_numpy()
    row_of = {img: int(r) for img, r in zip(faces.image_id, range(len(faces)))}
    emb = every.embedded
    out = []
    for image_id, grp in emb.groupby("image_id", sort=False):
        r = row_of.get(str(image_id))
        if r is None:
            continue
        members = np.flatnonzero(ids == ids[r])
        members = members[members != r]
        vecs = every.embeddings[grp.row.to_numpy()]
        vecs = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
        cos = vecs @ audit.embeddings[members].T if members.size else np.zeros((len(grp), 0))
        overlap = [_iou(b, faces.box.iloc[r]) for b in grp.box]
        used = int(np.argmax(overlap)) if max(overlap, default=0) > 0 else -1
        own = float(faces.own.iloc[r])
        for q, (face, box) in enumerate(zip(grp.face, grp.box)):
            c = cos[q][cos[q] < s.duplicate_level]  # near-duplicates are no second piece of evidence
            mean = float(np.sort(c)[::-1][:s.k].mean()) if c.size else math.nan
            match = (q != used and math.isfinite(mean) and mean >= s.threshold + s.margin
                     and (not math.isfinite(own) or mean > own))
            out.append({"row": r, "image_id": str(image_id), "identity": ids[r], "face": int(face), "box": box,
                        "cosine": mean, "used": int(grp.face.iloc[used]) if used >= 0 else -1, "used_cosine": own,
                        "match": bool(match)})
    return pd.DataFrame(out, columns=MATCH_COLUMNS)


def mark_wrong_faces(audit, matches: pd.DataFrame):
    """Turn each candidate with a matching other face into a :data:`~facelab.analysis.audit.WRONG_FACE`
    row and re-rank (in place; returns ``audit``). Its score is the matching face's cosine minus the
    face used's (how much better the other face fits the label); its reason says which face matched."""
    audit.other_faces = matches.reset_index(drop=True)
    c = audit.candidates.copy()
    c["face_match"] = -1
    c["face_match_cosine"] = np.nan
    hits = matches[matches.match]
    if len(hits):
        best = hits.sort_values("cosine", ascending=False).drop_duplicates("row")
        where = {int(r): i for i, r in enumerate(c.row)}
        t, margin = audit.settings.threshold, audit.settings.margin
        for m in best.itertuples():
            i = where[int(m.row)]
            old = c.iloc[i]
            used = (f"the face used fits it at {old.own:.3f}" if math.isfinite(old.own)
                    else "the face used has no other face of it to fit")
            reason = (f"face {m.face} of the photo matches {audit.label(old.identity)} (cos {m.cosine:.3f}, at or above "
                      f"the threshold {t:.3f} by the margin {margin:.3f}; {used}): the wrong face was used, the label is probably right")
            c.iloc[i, c.columns.get_loc("reason")] = f"{reason} | {old.reason}"
            c.iloc[i, c.columns.get_loc("flags")] = f"{WRONG_FACE}; {old.flags}"
            c.iloc[i, c.columns.get_loc("kind")] = WRONG_FACE
            c.iloc[i, c.columns.get_loc("score")] = m.cosine - (old.own if math.isfinite(old.own) else t)
            c.iloc[i, c.columns.get_loc("face_match")] = int(m.face)
            c.iloc[i, c.columns.get_loc("face_match_cosine")] = m.cosine
        order = np.lexsort((c.image_id.to_numpy(), -c.score.to_numpy(float),
                            c.kind.map(KINDS.index).to_numpy()))
        c = c.iloc[order].reset_index(drop=True)
        c["rank"] = np.arange(1, len(c) + 1)
        audit.faces.loc[c.row.to_numpy(), "kind"] = c.kind.to_numpy()
        audit.faces.loc[c.row.to_numpy(), "flags"] = c["flags"].to_numpy()
    audit.candidates = c
    return audit


def check_other_faces(audit, embed_every: Callable[[pd.DataFrame], object]):
    """Embed every face of the candidates' multi-face photos with ``embed_every`` (an images table
    -> an every-face :class:`~facelab.engine.result.EmbeddingResult`), compare them with the
    labels (:func:`other_face_matches`) and mark the wrong faces (:func:`mark_wrong_faces`).
    Returns ``audit``; ``audit.seconds["other_faces"]`` is the time taken."""
    import time

    t0 = time.perf_counter()
    todo = photos_to_check(audit)
    matches = (other_face_matches(audit, embed_every(todo[["image_id", "path", "identity"]]))
               if len(todo) else pd.DataFrame(columns=MATCH_COLUMNS))
    mark_wrong_faces(audit, matches)
    audit.seconds["other_faces"] = time.perf_counter() - t0
    return audit
