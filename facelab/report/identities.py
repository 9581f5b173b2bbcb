"""The report's identity list: one row per identity, for a table a reader can sort and search.

Per identity and model: its photos, the faces the model found, its closed-set rank-1 (over the
identification section's repeated splits), its hardest genuine pair (its two least alike faces)
and the closest face of another person (over every pair of the set, not only the report's sample
of impostor pairs). Computing only: :mod:`facelab.report.html` draws the table and
:mod:`facelab.report.files` writes it to ``identities.csv``.
"""

from __future__ import annotations

from pathlib import PurePosixPath

import numpy as np
import pandas as pd

__all__ = ["identity_rows", "identity_table", "IDENTITY_COLUMNS"]

#: Columns of one model's rows (:func:`identity_rows`), beside ``identity``, ``name``, ``photos``.
IDENTITY_COLUMNS = ("faces", "searches", "rank1", "genuine_min", "genuine_pair", "closest_other", "closest_cos",
                    "closest_pair")


def _short(image_id, name: str = "") -> str:
    """A photo's file stem, without its identity's name where it starts with it (LFW's
    ``Tony_Blair_0012`` of Tony_Blair: ``0012``)."""
    stem = PurePosixPath(str(image_id)).name
    return stem[len(name) + 1:] if name and stem.startswith(f"{name}_") and len(stem) > len(name) + 1 else stem


def identity_rows(dataset, model) -> pd.DataFrame:
    """One model's columns of the identity list, indexed by identity (every identity folder).

    Columns: ``faces`` (faces embedded), ``searches`` and ``rank1`` (closed-set rank-1 of its
    mated probes over the repeated splits; NaN when it has none: one face, or none), ``genuine_min``
    and ``genuine_pair`` (its lowest-scoring pair of its own faces), ``closest_other``,
    ``closest_cos`` and ``closest_pair`` (the face of another identity most like one of its faces).
    Photos are named by their file stems, less the identity's name where they start with it
    (``0012 & 0044``).
    """
    from facelab.verification.pair_summary import hardest_partners

    m = model
    rows = m.result.embedded
    ids = np.asarray(m.identities).astype(str)
    image_ids = rows.image_id.astype(str).to_numpy()
    hp = hardest_partners(m.embeddings, ids)
    per_face = pd.DataFrame({"identity": ids, "face": np.arange(ids.size), "gen": hp.genuine,
                             "gen_score": hp.genuine_score, "imp": hp.impostor, "imp_score": hp.impostor_score})
    faces = per_face.groupby("identity").size()
    # The lowest genuine score and the highest impostor score of each identity (first face on ties).
    g = per_face.dropna(subset=["gen_score"]).sort_values(["gen_score", "face"]).groupby("identity").head(1)
    i = per_face.dropna(subset=["imp_score"]).sort_values(["imp_score", "face"], ascending=[False, True])
    i = i.groupby("identity").head(1)
    out = pd.DataFrame(index=pd.Index([str(x) for x in dataset.identities], name="identity"))
    out["faces"] = faces.reindex(out.index).fillna(0).astype(int)
    r1 = m.identification.rank1_by_identity(ids)
    out["searches"] = r1["searches"].reindex(out.index).fillna(0).astype(int)
    out["rank1"] = r1["rank1"].reindex(out.index)
    g = g.set_index("identity")
    out["genuine_min"] = g.gen_score.reindex(out.index)
    label = {ident: dataset.label(ident) for ident in out.index}
    out["genuine_pair"] = [f"{_short(image_ids[int(a)], label[ident])} & {_short(image_ids[int(b)], label[ident])}"
                           if ident in g.index else ""
                           for ident, a, b in zip(out.index, g.face.reindex(out.index).fillna(-1),
                                                  g.gen.reindex(out.index).fillna(-1))]
    i = i.set_index("identity")
    other = i.imp.reindex(out.index)
    out["closest_other"] = [dataset.label(ids[int(j)]) if j == j else "" for j in other]
    out["closest_cos"] = i.imp_score.reindex(out.index)
    out["closest_pair"] = [f"{_short(image_ids[int(a)], label[ident])} & {_short(image_ids[int(b)], dataset.label(ids[int(b)]))}"
                           if b == b else "" for ident, a, b in zip(out.index, i.face.reindex(out.index).fillna(-1), other)]
    return out


def identity_table(data) -> pd.DataFrame:
    """The identity list of a report: ``identity``, ``name``, ``photos``, then each model's
    :func:`identity_rows` columns (prefixed ``<model>: `` when the report has several)."""
    ds = data.dataset
    out = pd.DataFrame({"identity": [str(x) for x in ds.identities],
                        "name": [ds.label(x) for x in ds.identities],
                        "photos": [int(ds.images_per_identity.get(x, 0)) for x in ds.identities]})
    for m in data.models:
        rows = m.per_identity.reset_index(drop=True)
        if data.multi:
            rows = rows.add_prefix(f"{m.name}: ")
        out = pd.concat([out, rows], axis=1)
    return out
