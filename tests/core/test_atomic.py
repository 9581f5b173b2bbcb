"""Folders written atomically: complete or absent, never half-written."""

from __future__ import annotations

import pytest

from facelab.core.atomic import staged_directory


def test_success_replaces_the_old_folder(tmp_path):
    out = tmp_path / "result"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with staged_directory(out) as staging:
        assert staging.parent == tmp_path and staging.name.startswith(".result.partial-")
        (staging / "new.txt").write_text("new")
        assert (out / "old.txt").is_file()  # readers still see the old result meanwhile
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["result"]  # no staging or old copy left


@pytest.mark.parametrize("exc", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failure_keeps_the_old_folder_and_leaves_no_staging(tmp_path, exc):
    out = tmp_path / "nested" / "result"
    with pytest.raises(type(exc)):
        with staged_directory(out) as staging:
            (staging / "half.txt").write_text("half")
            raise exc
    assert list((tmp_path / "nested").iterdir()) == []


# --------------------------------------------------------------------------------------------
# Files, and the permissions of what is handed on
# --------------------------------------------------------------------------------------------


@pytest.fixture
def umask_022():
    import os

    old = os.umask(0o022)
    yield
    os.umask(old)


def test_results_get_the_users_normal_permissions(tmp_path, umask_022):
    # Bug: mkdtemp / mkstemp made reports 0700 / 0600, unreadable for a colleague or a web server.
    import stat

    from facelab.core.atomic import atomic_write_bytes, atomic_write_text

    with staged_directory(tmp_path / "report") as staging:
        atomic_write_text(staging / "metrics.json", "{}\n")
    assert stat.S_IMODE((tmp_path / "report").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "report" / "metrics.json").stat().st_mode) == 0o644
    atomic_write_bytes(tmp_path / "e.npz", lambda fh: fh.write(b"x"))
    assert stat.S_IMODE((tmp_path / "e.npz").stat().st_mode) == 0o644


def test_a_stricter_umask_is_respected(tmp_path):
    import os
    import stat

    from facelab.core.atomic import atomic_write_text

    old = os.umask(0o077)
    try:
        atomic_write_text(tmp_path / "private.txt", "secret")
        with staged_directory(tmp_path / "private") as staging:
            (staging / "x").write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "private.txt").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o700


def test_atomic_writes_replace_in_one_step_and_clean_up(tmp_path):
    from facelab.core.atomic import atomic_write_bytes, atomic_write_text, staged_file

    target = tmp_path / "sub" / "a.txt"
    assert atomic_write_text(target, "héllo\n") == target and target.read_text(encoding="utf-8") == "héllo\n"
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"

    def fail(fh):
        fh.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write_bytes(target, fail)
    assert target.read_bytes() == b"new"  # the old content, whole
    with pytest.raises(KeyboardInterrupt):
        with staged_file(target) as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"]  # no temporary left


# --------------------------------------------------------------------------------------------
# A place that cannot hold the result: one clear error (the CLI prints it as one line)
# --------------------------------------------------------------------------------------------


def _writers(tmp_path):
    from facelab.core.atomic import atomic_write_text, staged_file

    def staged(path):
        with staged_file(path) as tmp:
            tmp.write_text("x")

    def folder(path):
        with staged_directory(path) as staging:
            (staging / "x").write_text("x")

    return {"atomic_write_text": lambda p: atomic_write_text(p, "x"), "staged_file": staged,
            "staged_directory": folder}


@pytest.mark.parametrize("writer", ["atomic_write_text", "staged_file", "staged_directory"])
def test_a_file_in_the_way_is_a_one_line_error(tmp_path, writer):
    from facelab.core.errors import FacelabError, OutputPathError

    (tmp_path / "afile").write_text("keep me")
    target = tmp_path / "afile" / "sub" / "out"
    with pytest.raises(OutputPathError) as exc:
        _writers(tmp_path)[writer](target)
    assert isinstance(exc.value, FacelabError) and isinstance(exc.value, OSError)
    assert str(exc.value) == f"cannot write {target}: {tmp_path / 'afile'} is a file, not a folder"
    assert (tmp_path / "afile").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing left behind


def test_the_other_kind_in_the_way_is_refused(tmp_path):
    from facelab.core.atomic import atomic_write_text
    from facelab.core.errors import OutputPathError

    (tmp_path / "afolder").mkdir()
    (tmp_path / "afile").write_text("keep me")
    with pytest.raises(OutputPathError, match=r"afolder: .*afolder is a folder, not a file$"):
        atomic_write_text(tmp_path / "afolder", "x")
    with pytest.raises(OutputPathError, match=r"afile: .*afile is a file, not a folder$"):
        with staged_directory(tmp_path / "afile"):
            pass
    assert (tmp_path / "afile").read_text() == "keep me" and (tmp_path / "afolder").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "afolder"]


@pytest.mark.parametrize("writer", ["atomic_write_text", "staged_directory"])
def test_a_refusal_by_the_system_is_a_one_line_error(tmp_path, monkeypatch, writer):
    # What a read-only or full disk answers when the staging file or folder is made (this suite
    # runs as root, who may write anywhere, so the system's refusal is played by tempfile).
    import errno
    import tempfile

    from facelab.core.errors import OutputPathError

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    target = tmp_path / "out"
    with pytest.raises(OutputPathError) as exc:
        _writers(tmp_path)[writer](target)
    assert str(exc.value) == f"cannot write {target}: Read-only file system"
    assert list(tmp_path.iterdir()) == []
