"""The report's distractor curve: 1:N as people who are not enrolled join the gallery.

``compute_report(..., distractors=PATH)`` (``facelab report --distractors PATH``) reads PATH once
-- a JSON / ``.npz`` embeddings file or a Parquet store folder, through the loader of
``facelab identify --distractors`` (:func:`facelab.identification.distractors.load_distractors`) -- and,
for each model of the report that made those embeddings, computes the MegaFace-style curve with
:func:`facelab.identification.distractors.distractor_curve_for_split`: rank-1, FNIR and FPIR at 0, 10,
100, ... and all the distractors, on the first seeded gallery/probe split of the report's own
identification (so the 0-distractor row is that split's open-set result).

Which model made the file:

* a store records each row's settings fingerprint (:func:`facelab.engine.settings.settings_key`: model,
  weights, flip, detector, policy, alignment). The model's own fingerprint is used when the store
  has it; otherwise the same model with another detector or policy (``facelab embed --store``
  picks the largest face by default, the report the central one) -- that is still the model's
  embedding space. A store with none of the model's fingerprints was made by another model.
* a JSON / ``.npz`` file carries no metadata: only the embedding dimension can be checked. With
  several models of that dimension in the report, which one made the file cannot be told: an
  error (a store can tell).

Several models: the curve of each model the file matches; each other model is listed with the
reason (section, ``metrics.json``). No model matches: :class:`DistractorMismatchError`.

Distractors must be people who are not in the dataset: a distractor whose embedding equals one of
the dataset's (cosine >= :data:`DUPLICATE_COSINE`, the same photo) is an error.

Computing only: the figure is in :mod:`facelab.report.figures`, the section in
:mod:`facelab.report.html`, the CSV and the ``metrics.json`` block in :mod:`facelab.report.files`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from facelab.core.errors import FacelabError

__all__ = ["DistractorMismatchError", "DistractorFile", "ModelDistractors", "ReportDistractors", "compute_distractors",
           "add_distractors", "distractor_file", "CSV_NAME"]

#: A distractor at least this close to one of the dataset's faces is the same photo.
DUPLICATE_COSINE = 0.9999
#: The curve's table beside the other report files (every model's rows, a ``model`` column).
CSV_NAME = "distractor_curve.csv"


class DistractorMismatchError(FacelabError):
    """The distractors cannot be used with the report's model(s): another dimension or model, or
    images of the dataset among them."""


@dataclass(frozen=True)
class DistractorFile:
    """The distractor file as read (recorded in the provenance).

    Attributes
    ----------
    path : str
    kind : {"json", "npz", "store"}
    n : int
        Embeddings it holds (a store: of every settings).
    dim : int
    size_bytes : int
        The file's size (a store: its partition files together).
    sha256 : str
        The file's SHA-256 (a store: over its partitions' names and SHA-256s, in order).
    settings_keys : tuple of str
        A store's settings fingerprints (empty for a file: it records none).
    """

    path: str
    kind: str
    n: int
    dim: int
    size_bytes: int
    sha256: str
    settings_keys: tuple = ()

    def to_dict(self) -> dict:
        return {"path": self.path, "format": self.kind, "count": self.n, "dim": self.dim,
                "size_bytes": self.size_bytes, "sha256": self.sha256, "settings_keys": list(self.settings_keys)}


@dataclass(frozen=True)
class ModelDistractors:
    """One model's distractor curve.

    Attributes
    ----------
    model : str
    curve : facelab.identification.distractors.DistractorCurve
        ``table`` (one row per count: ``n_distractors``, ``gallery_size``, ``rank1``, ``fnir``,
        ``fpir``, ``n_mated``, ``n_nonmated``, ``search``), ``threshold`` (the model's operating
        cosine), ``n_enrolled``, ``recall`` (None when every search was exact).
    n_gallery, n_probes : int
        Gallery images of the enrolled people and probe images (mated + non-mated).
    n_distractors : int
        Distractor embeddings used (the file's, or the store's rows of ``settings_key``).
    checked : str
        What tied the file to this model, in words.
    settings_key : str or None
        The store rows used (None for a file).
    seed : int
        Seed of the split and of the order in which distractors are taken.
    """

    model: str
    curve: object
    n_gallery: int
    n_probes: int
    n_distractors: int
    checked: str
    settings_key: Optional[str] = None
    seed: int = 0

    @property
    def table(self) -> pd.DataFrame:
        return self.curve.table

    @property
    def n_mated(self) -> int:
        return int(self.table.n_mated.iloc[0])

    @property
    def n_nonmated(self) -> int:
        return int(self.table.n_nonmated.iloc[0])

    def to_dict(self) -> dict:
        from facelab.core.jsonsafe import json_safe

        rec = self.curve.recall
        return json_safe({
            "threshold": self.curve.threshold, "n_enrolled": self.curve.n_enrolled, "n_gallery": self.n_gallery,
            "n_probes": self.n_probes, "n_mated": self.n_mated, "n_nonmated": self.n_nonmated,
            "n_distractors": self.n_distractors, "checked": self.checked, "settings_key": self.settings_key,
            "seed": self.seed, "curve": self.table.to_dict("records"),
            "recall": None if rec is None else dataclasses.asdict(rec),
        })


@dataclass(frozen=True)
class ReportDistractors:
    """The distractor curves of a report.

    Attributes
    ----------
    file : DistractorFile
    models : tuple of ModelDistractors
        One per model the file matches, in the report's model order.
    not_computed : tuple of (model, reason)
        The report's other models, each with why the file does not fit it.
    """

    file: DistractorFile
    models: tuple
    not_computed: tuple = ()

    def for_model(self, name: str) -> Optional[ModelDistractors]:
        return next((m for m in self.models if m.model == name), None)

    def table(self) -> pd.DataFrame:
        """Every model's curve in one table (a ``model`` column first): the CSV beside the report."""
        return pd.concat([m.table.assign(model=m.model)[["model", *m.table.columns]] for m in self.models],
                         ignore_index=True)

    def to_dict(self) -> dict:
        from facelab.core.jsonsafe import json_safe

        return json_safe({"file": self.file.to_dict(), "csv": CSV_NAME,
                          "models": {m.model: m.to_dict() for m in self.models},
                          "not_computed": [{"model": n, "reason": r} for n, r in self.not_computed]})


def _hash_files(files: Sequence[Path], root: Path) -> tuple[str, int]:
    from facelab.core.hashing import file_sha256

    h, size = hashlib.sha256(), 0
    for f in files:
        h.update(f"{f.relative_to(root).as_posix()}\t{file_sha256(f)}\n".encode())
        size += f.stat().st_size
    return h.hexdigest(), size


def distractor_file(path) -> tuple[DistractorFile, Optional[tuple[list, np.ndarray]]]:
    """Describe (and, for a JSON / npz file, read) a distractor file.

    Returns the :class:`DistractorFile` and ``(ids, vectors)`` of a file; None for a store (its
    rows are read per settings, see :func:`compute_distractors`).

    Raises
    ------
    facelab.core.errors.FacelabError
        A missing or unreadable file, an empty store (the loader's own messages).
    """
    from facelab.core.hashing import file_sha256
    from facelab.identification.distractors import load_distractors

    p = Path(path)
    if p.is_dir():
        from facelab.engine.store import EmbeddingStore

        store = EmbeddingStore(p)
        keys = tuple(store.settings_keys()) if store.partitions() else ()
        if not keys:
            raise DistractorMismatchError(f"{p}: the store holds no embeddings")
        sha, size = _hash_files(sorted(store.partitions()), p)
        n = int((store.read(columns=["status"]).status == "ok").sum())  # the latest row of each image
        return DistractorFile(str(p), "store", n, int(store.dim() or 0), size, sha, keys), None
    ids, vecs = load_distractors(p)
    kind = "npz" if p.suffix.lower() == ".npz" else "json"
    return DistractorFile(str(p), kind, len(ids), int(vecs.shape[1]), p.stat().st_size, file_sha256(p)), (ids, vecs)


def _candidate_keys(result) -> dict:
    """``settings_key -> (detector, policy)`` of ``result``'s model with every detector and policy."""
    from facelab.engine.settings import SETTINGS_FIELDS, settings_key
    from facelab.stages.detection import DETECTORS, DLIB_UPSAMPLE_LADDER, POLICIES

    base = {k: v for k, v in result.settings.items() if k in SETTINGS_FIELDS}
    if base.get("embedder") is None:  # no fingerprint (random weights): nothing can match
        return {}
    out = {}
    for det in DETECTORS.names():
        for pol in POLICIES:
            s = {k: v for k, v in base.items() if k != "upsample"}
            s.update(detector=det, policy=pol)
            if det == "dlib":
                s["upsample"] = list(DLIB_UPSAMPLE_LADDER)
            out.setdefault(settings_key(s), (det, pol))
    return out


def _store_match(m, keys: Sequence[str]) -> tuple[Optional[str], str]:
    """The store key holding ``m``'s embeddings (its own settings first) and how it was matched,
    or ``(None, reason)``."""
    own = m.result.settings_key
    if own in keys:
        return own, f"store settings {own}: this model, detector and policy"
    cands = _candidate_keys(m.result)
    det, pol = m.result.settings.get("detector"), m.result.settings.get("policy")
    found = sorted((k for k in keys if k in cands), key=lambda k: (cands[k][0] != det, cands[k][1] != pol, k))
    if found:
        k = found[0]
        return k, (f"store settings {k}: this model, faces found with detector {cands[k][0]} and policy "
                   f"{cands[k][1]} (the report's: {det}, {pol})")
    return None, (f"the store's embeddings (settings {', '.join(keys)}) were made by another model or weights "
                  f"than {m.name} ({m.result.settings.get('embedder')})")


def _check_no_dataset_faces(m, ids, vecs, path) -> None:
    from facelab.identification.search import exact_search

    score, row = exact_search(m.embeddings, vecs, k=1)
    dup = np.flatnonzero(score[:, 0] >= DUPLICATE_COSINE)
    if dup.size:
        img = np.asarray(m.result.embedded.image_id.astype(str))
        shown = ", ".join(f"{ids[i]} = {img[row[i, 0]]}" for i in dup[:5])
        raise DistractorMismatchError(
            f"{path}: {dup.size} distractor embedding(s) equal {m.name} embeddings of the dataset's own images "
            f"(cosine >= {DUPLICATE_COSINE}): {shown}{' ...' if dup.size > 5 else ''}. Distractors must be "
            "people who are not in the dataset")


def compute_distractors(path, models: Sequence, *, gallery_size: int = 1, seed: int = 0,
                        read: Optional[tuple] = None) -> ReportDistractors:
    """The distractor curve of each model in ``models`` (:class:`~facelab.report.compute.ModelReport`)
    that made the embeddings at ``path``.

    Parameters
    ----------
    path : path-like
        ``.json`` / ``.npz`` embeddings or a Parquet store folder, as ``facelab identify --distractors``.
    models : sequence of ModelReport
    gallery_size : int
        Images enrolled per identity (the report's).
    seed : int
        The split (the report's first: seed 0) and the order in which distractors are taken.
    read : tuple, optional
        :func:`distractor_file` of ``path``, when already read.

    Raises
    ------
    DistractorMismatchError
        No model of the report made the file (another dimension, another model in a store's
        settings), a metadata-less file that fits several models, or dataset images among the
        distractors.
    facelab.core.errors.FacelabError
        A file that cannot be read (the loader's message).
    """
    from facelab.identification.distractors import distractor_curve_for_split, load_distractors
    from facelab.identification.evaluate import gallery_probe_split

    info, loaded = read if read is not None else distractor_file(path)
    chosen, skipped = [], []
    if loaded is None:
        for m in models:
            key, how = _store_match(m, info.settings_keys)
            (chosen if key else skipped).append((m, key, how))
    else:
        dims = {m.name: int(m.embeddings.shape[1]) for m in models}
        fit = [m for m in models if dims[m.name] == info.dim]
        if len(fit) > 1:
            raise DistractorMismatchError(
                f"{path}: {info.dim}-d embeddings with no record of the model that made them, and "
                f"{len(fit)} models of the report embed {info.dim}-d vectors ({', '.join(m.name for m in fit)}): "
                "which one made them cannot be told. Give a Parquet store (facelab embed --store records each "
                "model's settings) or report one model")
        for m in models:
            if dims[m.name] == info.dim:
                chosen.append((m, None, f"embedding dimension {info.dim} (a .{info.kind} file records no model)"))
            else:
                skipped.append((m, None, f"the distractors are {info.dim}-d, {m.name} embeds {dims[m.name]}-d "
                                         "vectors: they were made by another model"))
    if not chosen:
        raise DistractorMismatchError(f"{path}: no model of the report made these distractors: "
                                      + "; ".join(f"{m.name}: {why}" for m, _, why in skipped))
    out = []
    for m, key, how in chosen:
        ids, vecs = loaded if key is None else load_distractors(path, settings_key=key)
        if vecs.shape[1] != m.embeddings.shape[1]:
            raise DistractorMismatchError(f"{path}: the distractors are {vecs.shape[1]}-d, {m.name} embeds "
                                          f"{m.embeddings.shape[1]}-d vectors")
        _check_no_dataset_faces(m, ids, vecs, path)
        split = gallery_probe_split(m.identities, k=gallery_size, seed=seed)
        curve = distractor_curve_for_split(m.embeddings, m.identities, split, vecs, threshold=m.threshold, seed=seed)
        out.append(ModelDistractors(model=m.name, curve=curve, n_gallery=int(len(split.gallery)),
                                    n_probes=int(len(split.probes)), n_distractors=int(len(vecs)), checked=how,
                                    settings_key=key, seed=seed))
    return ReportDistractors(file=info, models=tuple(out), not_computed=tuple((m.name, why) for m, _, why in skipped))


def add_distractors(data, path, *, seed: int = 0, read: Optional[tuple] = None):
    """``data`` (a :class:`~facelab.report.compute.ReportData`) with the distractor curves of ``path``.

    A new ReportData (``data`` is left as it is): ``distractors`` set, and each model's provenance
    recording the file (path, format, count, dimension, size, SHA-256). See :func:`compute_distractors`.
    """
    dis = compute_distractors(path, data.models, gallery_size=data.settings.gallery_size, seed=seed, read=read)
    models = [dataclasses.replace(m, provenance={**m.provenance, "distractors": dis.file.to_dict()})
              for m in data.models]
    return dataclasses.replace(data, models=models, distractors=dis)
