"""The teaching set: the LFW identities with at least 20 photos (62 people), 20 photos each.

With two identities an identity-level bootstrap has nothing to resample (notebook 04 says so);
with 62 it gives intervals that mean something, while 1,240 images still embed in about a minute
on a laptop. The set is built seed-style like the two-ID set (:func:`facelab.data.datasets.build_two_id`:
one folder per identity ``1 .. 62`` in name order, a seeded sample per identity, ``ids.json``
naming who is who with every image's SHA-256, written atomically).

``facelab data teaching-set [--min-images 20] [--per-identity 20] [--out data/teaching]``.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["build_teaching_set"]

TEACHING_ENV_VAR = "FACELAB_TEACHING"
MIN_IMAGES = 20
PER_IDENTITY = 20


def teaching_identities(lfw=None, *, min_images: int = MIN_IMAGES) -> list[str]:
    """LFW identities with at least ``min_images`` photos, in name order (62 for 20)."""
    from facelab.data.datasets import LFW

    lfw = lfw if lfw is not None else LFW()
    ids = lfw.identities()
    return sorted(ids.identity[ids.images >= int(min_images)])


def default_teaching_dir() -> Path:
    """``$FACELAB_TEACHING``, else ``data/teaching`` in the checkout."""
    from facelab.data.datasets import repo_root

    env = os.environ.get(TEACHING_ENV_VAR)
    return Path(env).expanduser() if env else repo_root() / "data" / "teaching"


def build_teaching_set(
    out: os.PathLike | str | None = None,
    *,
    lfw_root: os.PathLike | str | None = None,
    min_images: int = MIN_IMAGES,
    per_identity: int | None = PER_IDENTITY,
    seed: int = 0,
    overwrite: bool = False,
) -> Path:
    """Build the teaching set (see the module docstring) and return its folder.

    Parameters
    ----------
    min_images : int
        Identities with at least this many LFW photos.
    per_identity : int or None
        Photos per identity (a seeded sample); None = ``min_images``.
    overwrite : bool
        Replace a set built with other settings (an identical one is left as it is).
    """
    from facelab.core.errors import EvaluationError
    from facelab.data.datasets import LFW, build_two_id

    per = int(per_identity or min_images)
    if per > int(min_images):
        raise EvaluationError(f"per_identity ({per}) cannot exceed min_images ({min_images})")
    lfw = LFW(lfw_root)
    names = teaching_identities(lfw, min_images=min_images)
    if len(names) < 2:
        raise EvaluationError(f"fewer than two LFW identities have {min_images} photos")
    out = Path(out) if out is not None else default_teaching_dir()
    return build_two_id(out, lfw_root=lfw.root, identities=names, per_identity=per, seed=seed, overwrite=overwrite)
