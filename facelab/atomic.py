"""Whole folders written atomically: a result appears complete, or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["staged_directory"]


@contextmanager
def staged_directory(out) -> Iterator[Path]:
    """An empty staging folder beside ``out`` that replaces ``out`` when the block succeeds.

    The staging folder (``.<name>.partial-*``, on the same file system) is renamed onto ``out``
    in one step; an existing ``out`` is moved aside first and deleted after, so readers never see
    a half-written result. If the block raises (an error, Ctrl-C) the staging folder is removed
    and ``out`` is left as it was.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    try:
        yield staging
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
