"""Folders written atomically: complete or absent, never half-written."""

from __future__ import annotations

import pytest

from facelab.atomic import staged_directory


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
