"""``facelab data teaching-set`` on the real LFW copy."""

from __future__ import annotations

from facelab.cli import main


def test_teaching_set_command(capsys, tmp_path, lfw):
    out = tmp_path / "teaching"
    assert main(["data", "teaching-set", "--out", str(out), "--min-images", "150", "--per-identity", "3"]) == 0
    assert "6 images of 2 identities" in capsys.readouterr().out  # Bush (530) and Powell (236)
    assert main(["data", "teaching-set", "--out", str(out), "--min-images", "150", "--per-identity", "2"]) == 2
    assert "already holds" in capsys.readouterr().err
