"""``facelab weights list | fetch``."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from facelab.cli import main
from facelab.models import weights as W


def test_list_not_found_lists_places_fetch_and_licence(capsys, no_weights_checkout):
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert out.count("NOT FOUND") == 3
    assert "facelab weights fetch edgeface_xs`" in out and "facelab weights fetch edgeface_xxs`" in out
    assert "facelab weights fetch yunet_n`" in out
    assert str(no_weights_checkout / "weights" / "edgeface_xs_q.pt") in out
    assert out.count("research and teaching use only") == 2 and out.count("Apache-2.0") == 1
    assert "dlib" in out


def test_list_found_and_verified(capsys, monkeypatch, edgeface_weights, no_weights_checkout, tmp_path):
    monkeypatch.setenv(W.WEIGHTS_ENV_VAR, str(edgeface_weights["edgeface_xs"].parent))
    assert main(["weights", "list", "--format", "json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    for name, path in edgeface_weights.items():
        assert rows[name]["found"] == str(path) and rows[name]["sha256_ok"] and rows[name]["size_ok"]
        assert rows[name]["licence"].startswith("research and teaching use only")
    # A damaged copy given explicitly is shown as a mismatch, the other model still found.
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "edgeface_xs_q.pt").write_bytes(edgeface_weights["edgeface_xs"].read_bytes()[:1000])
    assert main(["weights", "list", "--weights", str(bad)]) == 0
    out = capsys.readouterr().out
    assert f"{bad / 'edgeface_xs_q.pt'} (1,000 bytes, SHA-256 MISMATCH" in out
    assert f"{edgeface_weights['edgeface_xxs']} (1,734,661 bytes, SHA-256 ok)" in out


def test_fetch_from_a_local_server(capsys, tmp_path, monkeypatch, edgeface_weights, no_weights_checkout, serve_folder):
    served = tmp_path / "served"
    served.mkdir()
    shutil.copyfile(edgeface_weights["edgeface_xxs"], served / "edgeface_xxs_q.pt")
    base = serve_folder(served)
    info = W.KNOWN_WEIGHTS["edgeface_xxs"]
    monkeypatch.setitem(W.KNOWN_WEIGHTS, "edgeface_xxs", replace(info, urls=(f"{base}/edgeface_xxs_q.pt",)))
    dest = tmp_path / "dest"
    assert main(["weights", "fetch", "edgeface_xxs", "--dest", str(dest), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "research and teaching use only" in out and f"verified (SHA-256 {info.sha256[:16]}" in out
    assert W.verify_weights("edgeface_xxs", dest / "edgeface_xxs_q.pt")
    # A server with the wrong bytes: exit 2, a clear error, nothing left behind.
    (served / "edgeface_xxs_q.pt").write_bytes(b"not it")
    assert main(["weights", "fetch", "edgeface_xxs", "--dest", str(tmp_path / "d2"), "--quiet"]) == 2
    assert "checksum mismatch" in capsys.readouterr().err
    assert not list((tmp_path / "d2").iterdir())


def test_fetch_unknown_name(capsys, no_weights_checkout):
    with pytest.raises(SystemExit) as exc:
        main(["weights", "fetch", "arcface_r100"])
    assert exc.value.code == 2 and "invalid choice: 'arcface_r100'" in capsys.readouterr().err
