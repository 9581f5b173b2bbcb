"""Which labels of a folder-per-identity dataset look wrong: ranked candidates for mislabelled
photos, near-duplicates and outliers, from the embeddings alone (``facelab audit``).

How a face is judged
--------------------
For each embedded face ``i`` of identity ``A`` (cosine similarities of unit embeddings):

* ``own``: the mean cosine of its ``k`` (3) nearest faces of ``A`` -- leaving out itself and its
  near-duplicates (a copy of a photo is no second piece of evidence); fewer when ``A`` has fewer
  other faces, NaN when it has none (the face cannot be judged against its label);
* ``other``: the same mean for the other identity ``B`` whose faces come closest, and ``B``;
  ``second``: the same for the next closest identity.

Using the ``k`` nearest rather than the centroid keeps an identity of several looks (ages, poses)
whole, and ``k > 1`` keeps a single stray photo of ``B`` from pulling ``A``'s faces towards ``B``.

The kinds of candidate, in the order they are ranked:

1. **duplicate across identities**: a near-duplicate (cosine at or above the near-duplicate
   level) of a face of another identity -- one photo under two names, so at least one label is
   wrong (or the photo holds both people and the same face was chosen twice). The row names the
   face whose own identity fits it less (a face with no other face of its identity fits least);
2. **mislabel**: ``other >= threshold`` (it passes for ``B``'s person at the model's calibrated
   threshold) and ``B`` stands out: ``standout = other - max(own, second) >= margin``. Against
   thousands of identities some identity always comes close to a hard photo (the best of many
   draws), and then the next one comes about as close; a photo of ``B``'s person finds ``B``
   well above every other identity. Its score is ``standout``;
3. **duplicate within an identity**: a near-duplicate of another face of its own identity (one
   row per extra copy, naming its closest copy): not a label error, but every copy adds a
   genuine pair that is easy, which flatters a verification figure;
4. **outlier**: ``own < threshold`` and not a mislabel: far from its own identity and not
   clearly another's. Often the wrong face of a group photo (the row says how many faces the
   detector found), a photo of nobody in the set, or a hard photo of the right person.
   Its score is ``threshold - own``.

A candidate whose photo holds several faces can then be checked face by face: when another face
of the photo matches its label, it becomes a **wrong face** (ranked after the mislabels;
:mod:`facelab.analysis.audit_faces`, which the command runs: it embeds, this module does not).

A face gets one row, of its first kind (the ``flags`` column lists every kind that applies).
Within a kind the rows are ranked by their score (the pair's cosine for duplicates). The order of
the kinds is the strength of the evidence: another label's faces contradicting this one comes
before a weak fit, which a hard photo also gives. A face that is its identity's only one has no
``own``: it is judged only as a duplicate (a mislabel row whose ``B`` has one face says so: the
error may be that face's).

The levels
----------
``threshold``: the model's calibrated threshold (as a cosine). ``margin``: one unit of the
calibration's log-odds (``calibration.std / 2`` in cosine: at the same distance from the
threshold, the calibrated odds of ``B``'s person are e times those of the next candidate). The near-duplicate level is measured per model by
``benchmarks/duplicate_level.py`` (:data:`DUPLICATE_LEVELS`): copies of teaching-set photos
re-saved five ways (re-encoded, rescaled, cropped, brightened, all four) keep at least this
cosine with their original in 99% of cases, while different photos of one person stay below it
(4 of 1,239 teaching-set photos reach it with dlib: LFW's own duplicates). A model not measured
falls back on :data:`FALLBACK_DUPLICATE_DISTANCE` on the calibrated scale (see
:func:`near_duplicate_level`), and the result says so.

Cost: one pass over all pairs in row blocks (:func:`facelab.core.vectors.block_rows`), never the
``N x N`` matrix at once; all of LFW (13,233 faces) takes tens of seconds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from facelab.core.errors import EvaluationError

__all__ = ["AuditSettings", "DatasetAudit", "DUPLICATE_LEVELS", "KINDS", "WRONG_FACE", "audit_embeddings",
           "audit_result", "near_duplicate_level"]

#: Kinds of candidate, in ranking order (see the module docstring).
#: A candidate whose photo holds another face that matches its label (set by
#: :mod:`facelab.analysis.audit_faces`, never by :func:`audit_embeddings`).
WRONG_FACE = "wrong face"
KINDS = ("duplicate across identities", "mislabel", WRONG_FACE, "duplicate within identity", "outlier")
#: Short names of the kinds (the explorer's colour legend, metrics keys).
SHORT = {"duplicate across identities": "duplicate_across", "mislabel": "mislabel", WRONG_FACE: "wrong_face",
         "duplicate within identity": "duplicate_within", "outlier": "outlier"}
DEFAULT_K = 3
#: Cosine at or above which two faces are near-duplicates, per model: the 1st percentile of the
#: cosine between a teaching-set photo and its re-saved copies (``benchmarks/duplicate_level.py``,
#: 186 photos x 5 edits each; /work/notes/audit/NOTES.md has the figures).
DUPLICATE_LEVELS = {"dlib": 0.991, "edgeface_xs": 0.912}
#: A model without a measured level: near-duplicates are pairs whose squared distance is at most
#: this share of the calibration's ``mean`` (the distance of a coin-flip pair).
FALLBACK_DUPLICATE_DISTANCE = 0.1


def near_duplicate_level(model: str, calibration) -> tuple[float, str]:
    """The near-duplicate cosine level of a model and how it was chosen.

    A model of :data:`DUPLICATE_LEVELS` gets its measured level; any other the cosine whose squared
    distance is :data:`FALLBACK_DUPLICATE_DISTANCE` of its calibration's ``mean`` (not measured:
    pass ``duplicate_level=`` / ``--duplicate-level`` after running ``benchmarks/duplicate_level.py``).
    """
    from facelab.core.calibration import distance_to_cosine

    name = str(model).lower()
    if name in DUPLICATE_LEVELS:
        return DUPLICATE_LEVELS[name], (f"measured for {name}: the 1st percentile of the cosine between a photo and "
                                        "its re-saved copies (benchmarks/duplicate_level.py)")
    level = float(distance_to_cosine(FALLBACK_DUPLICATE_DISTANCE * calibration.mean))
    return level, (f"not measured for {name}: the cosine at {FALLBACK_DUPLICATE_DISTANCE:g} x the calibration's "
                   "coin-flip distance (run benchmarks/duplicate_level.py and pass --duplicate-level)")


@dataclass(frozen=True)
class AuditSettings:
    """The levels an audit judged by (all cosines); see the module docstring."""

    model: str
    k: int
    threshold: float
    margin: float
    duplicate_level: float
    duplicate_source: str = ""
    threshold_source: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DatasetAudit:
    """The audit of a dataset: per-face evidence, ranked candidates, near-duplicate pairs.

    Attributes
    ----------
    faces : pandas.DataFrame
        One row per embedded face (embedding order): ``image_id``, ``identity``, ``path``,
        ``n_faces`` (faces the detector found in the photo), ``box`` (the chosen face, when known),
        ``own``, ``own_n`` (own faces averaged), ``other``, ``other_identity``, ``other_image``
        (its nearest face of that identity), ``margin`` (``other - own``), ``kind`` (``""``: not a
        candidate) and ``flags`` (every kind that applies, ``"; "``-joined).
    candidates : pandas.DataFrame
        The ranked candidates, one per flagged face: ``rank``, ``image_id``, ``identity``,
        ``kind``, ``score``, ``reason``, ``flags``, ``other_identity`` and ``other_image`` (the
        identity and face the evidence points to), ``cosine`` (duplicates: of the pair), ``own``,
        ``other``, ``margin``, ``n_faces``, ``path``, ``other_path``, ``row`` / ``other_row``
        (embedding rows; -1 where none).
    duplicates : pandas.DataFrame
        Every near-duplicate pair: ``image_a``, ``image_b``, ``identity_a``, ``identity_b``,
        ``cosine``, ``across`` (different identities), ``row_a``, ``row_b``.
    settings : AuditSettings
    names : dict
        identity -> display name.
    skipped : pandas.DataFrame
        ``image``, ``reason``: every photo or file that gave no face, never audited.
    n_images : int
        Photos read (embedded or not).
    seconds : dict
        ``similarity`` (the pass over all pairs) and whatever the caller adds (``embed``, ``page``).
    """

    faces: pd.DataFrame
    candidates: pd.DataFrame
    duplicates: pd.DataFrame
    settings: AuditSettings
    embeddings: np.ndarray
    names: dict = field(default_factory=dict)
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["image", "reason"]))
    n_images: int = 0
    seconds: dict = field(default_factory=dict)
    #: Every face of the multi-face candidates' photos against their label
    #: (:func:`facelab.analysis.audit_faces.other_face_matches`); empty when not checked.
    other_faces: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def n_identities(self) -> int:
        return int(self.faces.identity.nunique())

    @property
    def n_unjudged(self) -> int:
        """Faces whose identity has no other face: nothing to judge their label against."""
        return int(self.faces.own.isna().sum())

    def label(self, identity) -> str:
        """An identity's display name (its folder name when it has none)."""
        return self.names.get(str(identity), str(identity))

    def counts(self) -> dict:
        """Candidates per kind (:data:`SHORT` names), and the near-duplicate pairs."""
        kinds = self.candidates.kind.value_counts()
        out = {SHORT[k]: int(kinds.get(k, 0)) for k in KINDS}
        out["duplicate_pairs"] = int(len(self.duplicates))
        out["duplicate_pairs_across"] = int(self.duplicates.across.sum()) if len(self.duplicates) else 0
        return out

    def flags(self) -> np.ndarray:
        """Each face's kind (``""`` when not a candidate), in embedding order: the explorer's colour."""
        return self.faces.kind.to_numpy(dtype=object).astype(str)

    def top(self, n: int = 10) -> pd.DataFrame:
        return self.candidates.head(int(n))

    def evidence(self, rank: int, *, per_identity: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The faces to show beside candidate ``rank`` (1-based): ``(own, other)`` embedding rows.

        Each list starts with the faces the evidence rests on -- the candidate's near-duplicate
        where it has one, then its identity's nearest faces (the ``k`` of the score) -- and is
        filled up to ``per_identity`` with a seeded sample of that identity's other faces. ``own``:
        the candidate's identity, ``other``: the identity it resembles (empty for a duplicate
        within its identity).
        """
        c = self.candidates.iloc[int(rank) - 1]
        r, o = int(c.row), int(c.other_row)
        ids = self.faces.identity.to_numpy()
        rng = np.random.default_rng(seed)

        def pick(identity, first):
            members = np.flatnonzero(ids == identity)
            members = members[members != r]
            if members.size == 0:
                return np.zeros(0, np.int64)
            cos = self.embeddings[members] @ self.embeddings[r]
            near = [m for m in members[np.argsort(-cos, kind="stable")] if m not in first][:self.settings.k]
            chosen = [*first, *near]
            rest = [m for m in members if m not in chosen]
            more = rng.permutation(rest)[:max(0, per_identity - len(chosen))] if rest else []
            return np.asarray([*chosen, *more][:per_identity], np.int64)

        dup = [o] if c.kind.startswith("duplicate") and o >= 0 else []
        if c.kind == "duplicate within identity":
            return pick(c.identity, dup), np.zeros(0, np.int64)
        other_ident = ids[o] if o >= 0 else ""
        return pick(c.identity, []), (pick(other_ident, dup) if other_ident else np.zeros(0, np.int64))

    def summary(self) -> str:
        c = self.counts()
        return (f"audit of {len(self.faces)} faces of {self.n_identities} identities ({self.settings.model}): "
                f"{c['mislabel']} suspected label errors, {c['duplicate_across']} duplicates across identities, "
                f"{c['duplicate_within']} duplicates within an identity, {c['outlier']} outliers "
                f"({len(self.candidates)} candidates; {self.n_unjudged} faces are their identity's only face and "
                f"{len(self.skipped)} photos or files gave no face)")

    def to_dict(self, *, top: int = 20) -> dict:
        """Counts, levels and the first ``top`` candidates (JSON-safe)."""
        from facelab.core.jsonsafe import json_safe

        cols = ["rank", "image_id", "identity", "kind", "score", "reason", "other_identity", "other_image"]
        return json_safe({
            "faces": int(len(self.faces)), "identities": self.n_identities, "images": int(self.n_images),
            "skipped": int(len(self.skipped)), "unjudged_faces": self.n_unjudged,
            "candidates": int(len(self.candidates)), "counts": self.counts(), "settings": self.settings.to_dict(),
            "top": self.candidates[cols].head(int(top)).to_dict("records"), "seconds": dict(self.seconds),
        })


def _segments(identities: np.ndarray):
    """Identity codes, the column order that makes each identity contiguous, and segment starts."""
    uniq, inv = np.unique(identities, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    starts = np.flatnonzero(np.r_[True, inv[order][1:] != inv[order][:-1]])
    return uniq, inv, order, starts


def _top_mean(values: np.ndarray, k: int) -> tuple[float, int, int]:
    """Mean of the ``k`` largest finite values, how many were averaged, and where the largest is."""
    ok = np.flatnonzero(np.isfinite(values))
    if ok.size == 0:
        return -np.inf, 0, -1
    v = values[ok]
    m = min(k, v.size)
    top = np.partition(v, v.size - m)[v.size - m:]
    return float(top.mean()), m, int(ok[np.argmax(v)])


def _evidence(e: np.ndarray, inv: np.ndarray, order: np.ndarray, starts: np.ndarray, *, k: int, level: float,
              chunk_size: Optional[int]):
    """One pass over all pairs in row blocks: each face's own and best / second-best other
    identity (top-``k`` means), the best other identity's nearest face, and every pair at or
    above ``level``.

    Only identities whose nearest face could beat the second best are averaged: a top-``k``
    mean is at most the identity's maximum, so identities are tried by their maximum (one
    ``maximum.reduceat`` per block) until the next one's maximum falls below the second best.
    """
    from facelab.core.vectors import block_rows

    n = e.shape[0]
    sizes = np.diff(np.r_[starts, n])
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n)
    cols = e[order]
    own = np.full(n, np.nan)
    own_n = np.zeros(n, np.int64)
    other = np.full(n, np.nan)
    second = np.full(n, np.nan)
    other_id = np.full(n, -1, np.int64)
    other_row = np.full(n, -1, np.int64)
    pairs = []
    n_ids = starts.size
    step = block_rows(n, chunk_size)
    for s0 in range(0, n, step):
        rows = np.arange(s0, min(n, s0 + step))
        b = rows.size
        at = np.arange(b)
        s = e[rows] @ cols.T  # (b, n), columns grouped by identity
        s[at, pos[rows]] = -np.inf  # itself
        hit = np.nonzero(s >= level)
        pairs.append((rows[hit[0]], order[hit[1]], s[hit].astype(np.float64)))
        s[hit] = -np.inf  # near-duplicates are no independent evidence
        top = np.maximum.reduceat(s, starts, axis=1)
        mine = inv[rows]
        top[at, mine] = -np.inf
        c = min(n_ids, 8)
        cand = np.argpartition(-top, c - 1, axis=1)[:, :c] if c < n_ids else np.tile(np.arange(n_ids), (b, 1))
        for q in range(b):
            a = starts[mine[q]]
            own_mean, own_n[rows[q]], _ = _top_mean(s[q, a:a + sizes[mine[q]]], k)
            own[rows[q]] = own_mean if own_n[rows[q]] else np.nan
            first = cand[q][np.argsort(-top[q, cand[q]], kind="stable")]
            best = [(-np.inf, -1, -1), (-np.inf, -1, -1)]
            for tried in (first, None):
                if tried is None:  # rare: the first c were all close; go on down the whole list
                    if c == n_ids or not top[q, first[-1]] > best[1][0]:
                        break
                    tried = np.argsort(-top[q], kind="stable")[c:]
                for j in tried:
                    if not top[q, j] > best[1][0]:
                        break  # no identity further down can enter the best two
                    a = starts[j]
                    mean, _, arg = _top_mean(s[q, a:a + sizes[j]], k)
                    if mean > best[0][0]:
                        best = [(mean, j, a + arg), best[0]]
                    elif mean > best[1][0]:
                        best[1] = (mean, j, a + arg)
                else:
                    continue
                break
            if best[0][1] >= 0:
                other[rows[q]], other_id[rows[q]], other_row[rows[q]] = best[0][0], best[0][1], order[best[0][2]]
            if best[1][1] >= 0:
                second[rows[q]] = best[1][0]
    i = np.concatenate([p[0] for p in pairs]) if pairs else np.zeros(0, np.int64)
    jj = np.concatenate([p[1] for p in pairs]) if pairs else np.zeros(0, np.int64)
    c = np.concatenate([p[2] for p in pairs]) if pairs else np.zeros(0)
    keep = i < jj
    return own, own_n, other, second, other_id, other_row, (i[keep], jj[keep], c[keep])


def _fmt(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3f}"


def audit_embeddings(embeddings, identities, *, threshold: float, duplicate_level: float, margin: float,
                     k: int = DEFAULT_K, image_ids: Optional[Sequence[str]] = None,
                     paths: Optional[Sequence[str]] = None, n_faces: Optional[Sequence[int]] = None,
                     boxes: Optional[Sequence] = None, names: Optional[Mapping] = None, model: str = "",
                     duplicate_source: str = "", threshold_source: str = "",
                     chunk_size: Optional[int] = None) -> DatasetAudit:
    """Audit faces with identity labels (see the module docstring).

    Parameters
    ----------
    embeddings : (N, D) array
    identities : sequence of N labels
    threshold : float
        Cosine at or above which two faces pass for one person (the model's calibrated threshold).
    duplicate_level : float
        Cosine at or above which two faces are near-duplicates.
    margin : float
        How much closer (cosine) another identity must be for a mislabel.
    k : int
        Nearest faces averaged per identity.
    image_ids, paths, n_faces, boxes : sequences of N, optional
        Shown in the candidates (``n_faces``: faces the detector found in each photo).
    names : mapping, optional
        identity -> display name, for the reasons.
    chunk_size : int, optional
        Rows per block of the pass over all pairs.

    Raises
    ------
    EvaluationError
        Fewer than two faces or two identities, or a level out of range.
    """
    import time

    from facelab.core.vectors import unit_rows

    if int(k) < 1:
        raise EvaluationError(f"k must be at least 1, got {k}")
    if not -1 < threshold < duplicate_level <= 1:
        raise EvaluationError(f"need -1 < threshold ({threshold:.4f}) < duplicate level ({duplicate_level:.4f}) <= 1")
    if not margin >= 0:
        raise EvaluationError(f"the margin must be >= 0, got {margin}")
    e = unit_rows(embeddings, dtype=np.float32, finite=True)
    n = e.shape[0]
    ids = np.asarray(identities).astype(str)
    if ids.shape != (n,):
        raise EvaluationError(f"{n} embeddings but {np.size(identities)} identity labels")
    names = {str(a): str(b) for a, b in dict(names or {}).items()}
    if n < 2:
        raise EvaluationError(f"{n} face{'s' if n != 1 else ''} to audit: an audit compares faces with each other, "
                              "it needs at least two faces of two identities")
    uniq, inv, order, starts = _segments(ids)
    if uniq.size < 2:
        raise EvaluationError(f"every face is of one identity ({names.get(uniq[0], uniq[0])}): an audit judges each "
                              "face against its own identity and the others, it needs at least two identities")

    def column(values, what, default):
        if values is None:
            return [default] * n
        values = list(values)
        if len(values) != n:
            raise EvaluationError(f"{what}: expected {n} values, got {len(values)}")
        return values

    img = [str(x) for x in column(image_ids, "image_ids", None)] if image_ids is not None else [str(i) for i in range(n)]
    pth = [str(x) for x in column(paths, "paths", "")]
    nf = np.asarray(column(n_faces, "n_faces", 1), dtype=np.int64)
    bx = column(boxes, "boxes", None)
    t0 = time.perf_counter()
    own, own_n, other, second, other_id, other_row, (di, dj, dc) = _evidence(e, inv, order, starts, k=int(k),
                                                                      level=float(duplicate_level),
                                                                      chunk_size=chunk_size)
    seconds = {"similarity": time.perf_counter() - t0}
    other_ident = np.where(other_id >= 0, uniq[np.maximum(other_id, 0)], "")
    # How far the best other identity stands out above the face's own and the next other one.
    standout = other - np.fmax(own, np.where(np.isnan(second), -np.inf, second))
    faces = pd.DataFrame({"image_id": img, "identity": ids, "path": pth, "n_faces": nf, "box": bx, "own": own,
                          "own_n": own_n, "other": other, "other_identity": other_ident, "second": second,
                          "other_image": [img[r] if r >= 0 else "" for r in other_row], "margin": other - own,
                          "standout": standout})
    dups = pd.DataFrame({"image_a": [img[x] for x in di], "image_b": [img[x] for x in dj],
                         "identity_a": ids[di], "identity_b": ids[dj], "cosine": dc, "across": ids[di] != ids[dj],
                         "row_a": di, "row_b": dj}).sort_values(["across", "cosine"], ascending=[False, False],
                                                                ignore_index=True)

    def label(x):
        return names.get(x, x)

    settings = AuditSettings(model=str(model), k=int(k), threshold=float(threshold), margin=float(margin),
                             duplicate_level=float(duplicate_level), duplicate_source=duplicate_source,
                             threshold_source=threshold_source)
    found: dict = {kind: {} for kind in KINDS}  # kind -> {row: (score, other_row, cosine, reason)}

    # 1. Duplicates across identities: the face its own identity supports less is the suspect.
    fit = np.where(np.isnan(own), -np.inf, own)
    for a, b, c in zip(dups.row_a[dups.across], dups.row_b[dups.across], dups.cosine[dups.across]):
        s, o = (a, b) if (fit[a], -a) < (fit[b], -b) else (b, a)
        if s in found[KINDS[0]] and found[KINDS[0]][s][0] >= c:
            continue
        fits = (f"its own identity's other faces average {_fmt(own[s])} against {_fmt(own[o])} for the other's"
                if np.isfinite(own[s]) else f"it is the only face of {label(ids[s])}")
        found[KINDS[0]][s] = (c, o, c, f"near-duplicate (cosine {c:.4f} >= {duplicate_level:.3f}) of {img[o]} under "
                                       f"another identity, {label(ids[o])}: the same photo under two names; "
                                       f"{fits}")
    # 2. Mislabels: another identity passes the threshold and stands out above its own and every other one.
    n_of = pd.Series(ids).value_counts()
    for r in np.flatnonzero(np.isfinite(own) & (other >= threshold) & (standout >= margin)):
        b = other_ident[r]
        lone = (f"; {label(b)} has one face: that photo's label may be the wrong one" if n_of.get(b, 0) == 1 else "")
        found["mislabel"][r] = (float(standout[r]), int(other_row[r]), np.nan,
                              f"closer to {label(b)} (its {min(k, n_of.get(b, 0))} nearest faces average "
                              f"{other[r]:.3f}, at or above the threshold {threshold:.3f}) than to its own "
                              f"{label(ids[r])} ({own[r]:.3f} over {own_n[r]} face{'s' if own_n[r] != 1 else ''}) "
                              f"and to any other identity (next best {_fmt(second[r])}): by {standout[r]:.3f}{lone}")
    # 3. Duplicates within an identity: every copy but the first (by image id) of each group.
    within = dups[~dups.across]
    parent = {}

    def root(x):
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for a, b in zip(within.row_a, within.row_b):
        ra, rb = root(a), root(b)
        if ra != rb:
            keep, join = sorted((ra, rb), key=lambda x: img[x])
            parent[join] = keep
    best_pair = {}  # each face's closest near-duplicate of its identity: the one its row names
    for a, b, c in zip(within.row_a, within.row_b, within.cosine):
        for x, y in ((a, b), (b, a)):
            if c > best_pair.get(x, (-1.0, -1))[0]:
                best_pair[x] = (float(c), int(y))
    for x in parent:
        first = root(x)
        if x == first:
            continue
        c, y = best_pair[x]
        found["duplicate within identity"][x] = (c, y, c, f"near-duplicate (cosine {c:.4f} >= {duplicate_level:.3f}) of {img[y]} of the "
                                       f"same identity (the copies' first by image id: {img[first]}): one photo "
                                       "counted twice, an easy genuine pair")
    # 4. Outliers.
    for r in np.flatnonzero(np.isfinite(own) & (own < threshold)):
        if r in found["mislabel"]:
            continue
        near = (f"; the nearest other identity, {label(other_ident[r])}, averages {_fmt(other[r])}"
                if other_id[r] >= 0 else "")
        group = (f"; the photo has {nf[r]} faces: the face used may be someone else's" if nf[r] > 1 else "")
        found["outlier"][r] = (float(threshold - own[r]), int(other_row[r]), np.nan,
                              f"far from its own identity {label(ids[r])}: its {own_n[r]} nearest faces average "
                              f"{own[r]:.3f}, below the threshold {threshold:.3f}{near}{group}")

    rows, kinds_of = [], {}
    for kind in KINDS:
        for r in found[kind]:
            kinds_of.setdefault(r, []).append(kind)
    for kind in KINDS:
        part = sorted(found[kind].items(), key=lambda kv: (-kv[1][0], img[kv[0]]))
        for r, (score, o, c, reason) in part:
            if kinds_of[r][0] != kind:
                continue  # ranked under its first kind
            extra = [found[x][r][3] for x in kinds_of[r][1:]]
            rows.append({"image_id": img[r], "identity": ids[r], "kind": kind, "score": score,
                         "reason": " | ".join([reason, *extra]), "flags": "; ".join(kinds_of[r]),
                         "other_identity": ids[o] if o >= 0 else "", "other_image": img[o] if o >= 0 else "",
                         "cosine": c, "own": own[r], "other": other[r], "second": second[r],
                         "margin": other[r] - own[r], "standout": standout[r],
                         "n_faces": int(nf[r]), "path": pth[r], "other_path": pth[o] if o >= 0 else "",
                         "row": int(r), "other_row": int(o)})
    cand = pd.DataFrame(rows, columns=["image_id", "identity", "kind", "score", "reason", "flags", "other_identity",
                                       "other_image", "cosine", "own", "other", "second", "margin", "standout",
                                       "n_faces", "path",
                                       "other_path", "row", "other_row"])
    cand.insert(0, "rank", np.arange(1, len(cand) + 1))
    faces["kind"] = ""
    faces["flags"] = ""
    faces.loc[cand.row.to_numpy(), "kind"] = cand.kind.to_numpy()
    faces.loc[cand.row.to_numpy(), "flags"] = cand["flags"].to_numpy()
    return DatasetAudit(faces=faces, candidates=cand, duplicates=dups, settings=settings, embeddings=e, names=names,
                        n_images=n, seconds=seconds)


def audit_result(result, *, names: Optional[Mapping] = None, threshold: Optional[float] = None,
                 duplicate_level: Optional[float] = None, margin: Optional[float] = None,
                 k: int = DEFAULT_K, chunk_size: Optional[int] = None) -> DatasetAudit:
    """Audit an :class:`~facelab.engine.result.EmbeddingResult` of a folder-per-identity dataset.

    The levels default to the model's (see the module docstring): ``threshold`` its calibrated
    threshold, ``margin`` one unit of its calibrated log-odds, ``duplicate_level`` from
    :func:`near_duplicate_level`. Photos without a face are the audit's ``skipped`` (with the folder
    reader's skipped files), never dropped silently.

    Raises
    ------
    EvaluationError
        No face at all (saying how many photos gave none), or fewer than two faces or identities.
    """
    cal = result.calibration
    table = result.table
    skipped = result.skipped
    rows = result.embedded
    if len(rows) == 0:
        raise EvaluationError(f"no face found in any of the {len(table)} photos ({len(skipped)} photos or files "
                              "skipped; see skipped.csv or 'facelab embed' for their reasons): nothing to audit")
    t_src = ""
    if threshold is None:
        threshold, t_src = float(cal.cosine_threshold), f"the model's calibrated threshold ({cal.source or 'calibration'})"
    if margin is None:
        margin = float(cal.std) / 2
    d_src = "given"
    if duplicate_level is None:
        duplicate_level, d_src = near_duplicate_level(result.model, cal)
    audit = audit_embeddings(result.embeddings, list(rows.identity), image_ids=list(rows.image_id),
                             paths=list(rows.path) if "path" in rows else None,
                             n_faces=list(rows.n_faces.fillna(1).astype(int)) if "n_faces" in rows else None,
                             boxes=list(rows.box) if "box" in rows else None, names=names, threshold=float(threshold),
                             duplicate_level=float(duplicate_level), margin=float(margin), k=k, model=result.model,
                             duplicate_source=d_src, threshold_source=t_src or "given", chunk_size=chunk_size)
    audit.skipped = skipped.reset_index(drop=True)
    audit.n_images = int(len(table))
    return audit

