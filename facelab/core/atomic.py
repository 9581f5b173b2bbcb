"""Results written atomically: a file or folder appears complete, or not at all.

Every writer stages its result beside the target (same file system) and renames it into place
in one step. Temporary files and folders are created private (``mkstemp`` / ``mkdtemp`` give
0600 / 0700); the result is given the user's normal permissions (``0666`` / ``0777`` less the
umask) before it is renamed, so a report handed on can be read by a colleague or a web server
exactly as if it had been written with ``open()`` / ``mkdir()``.

A place that cannot hold the result (a file where a folder of the path should be, a folder where
the file should go, no permission) raises :class:`~facelab.core.errors.OutputPathError` before
anything is written; :func:`check_output_path` runs the same check up front (the command line
calls it when it parses ``--out``, so nothing is computed for a result that cannot be saved).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Union

from facelab.core.errors import OutputPathError

__all__ = ["staged_directory", "staged_file", "atomic_write_bytes", "atomic_write_text", "check_output_path"]


def current_umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:  # Linux: reading it from /proc avoids the (thread-unsafe) set-and-restore
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _chmod_default(path: Path, *, directory: bool) -> None:
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


def _output_problem(path: Path, *, folder: bool) -> str | None:
    """Why ``path`` cannot become a file (``folder=False``) or a folder, or None when nothing says so."""
    if path.is_dir() and not folder:
        return f"{path} is a folder, not a file"
    if folder and path.exists() and not path.is_dir():
        return f"{path} is a file, not a folder"
    # The staging file or folder goes beside the result: the nearest existing folder above it must take it.
    for above in (path.parent, *path.parent.parents):
        if above.exists():
            if not above.is_dir():
                return f"{above} is a file, not a folder"
            if not os.access(above, os.W_OK | os.X_OK):
                return f"no permission to write in {above}"
            return None
    return None


def check_output_path(path, *, folder: bool = False) -> Path:
    """``path`` as a ``Path`` if a file (or, ``folder=True``, a folder) can be written there.

    Nothing is created. Raises :class:`~facelab.core.errors.OutputPathError` (one line: ``cannot
    write PATH: REASON``) when a file stands where a folder of the path should be, the other kind
    is already there, or the nearest existing folder is not writable.
    """
    path = Path(path)
    problem = _output_problem(path, folder=folder)
    if problem:
        raise OutputPathError(f"cannot write {path}: {problem}")
    return path


@contextmanager
def _making(path: Path, *, folder: bool) -> Iterator[None]:
    """Check ``path`` and turn the system's refusal to make its staging area into :class:`OutputPathError`."""
    check_output_path(path, folder=folder)
    try:
        yield
    except OSError as exc:
        raise OutputPathError(f"cannot write {path}: {exc.strerror or exc}") from exc


@contextmanager
def staged_file(path, *, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces ``path`` when the block succeeds.

    For writers that want a file name (``torch.save``, ``torch.onnx.export``). The parent
    folder is created; ``suffix`` ends the temporary name (for writers that look at it). If the
    block raises, the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    with _making(path, folder=False):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        _chmod_default(tmp, directory=False)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path, data_or_writer: Union[bytes, Callable]) -> Path:
    """Write a file atomically (temporary file + rename in the same folder).

    Parameters
    ----------
    path : path-like
    data_or_writer : bytes or callable
        The content, or ``writer(fh)`` that writes it into a binary file object (e.g.
        ``lambda fh: np.savez(fh, ...)``).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    with staged_file(path) as tmp:
        with open(tmp, "wb") as fh:
            if callable(data_or_writer):
                data_or_writer(fh)
            else:
                fh.write(data_or_writer)
    return path


def atomic_write_text(path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write a text file atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode(encoding))


@contextmanager
def staged_directory(out) -> Iterator[Path]:
    """An empty staging folder beside ``out`` that replaces ``out`` when the block succeeds.

    The staging folder (``.<name>.partial-*``, on the same file system) is renamed onto ``out``
    in one step; an existing ``out`` is moved aside first and deleted after, so readers never see
    a half-written result. If the block raises (an error, Ctrl-C) the staging folder is removed
    and ``out`` is left as it was. The result has the permissions ``mkdir`` would give it.
    """
    out = Path(out)
    with _making(out, folder=True):
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    try:
        _chmod_default(staging, directory=True)
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
