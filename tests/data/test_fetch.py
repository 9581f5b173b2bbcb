"""The LFW fetcher against a local HTTP server on 127.0.0.1 serving a small LFW the test builds."""

from __future__ import annotations

import hashlib
import shutil
import tarfile

import pytest

from facelab.data.datasets import LFW, read_pairs_file
from facelab.data.fetch import DEFAULT_SOURCE, FetchError, LfwSource, RemoteFile, fetch_lfw, tree_sha256

PEOPLE = {"Colin_Powell": 3, "Tony_Blair": 2, "Hugo_Chavez": 1}


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def mirror(tmp_path_factory, lfw):
    """A mini LFW laid out like the LFW site (files at the root, images_deepfunneled/), plus a .tgz."""
    root = tmp_path_factory.mktemp("mirror")
    for name, n in PEOPLE.items():
        (root / "images_deepfunneled" / name).mkdir(parents=True)
        for k in range(1, n + 1):
            shutil.copy(lfw.image_path(name, k), root / "images_deepfunneled" / name / f"{name}_{k:04d}.jpg")
    (root / "lfw-names.txt").write_text("".join(f"{n}\t{c}\n" for n, c in sorted(PEOPLE.items())))
    (root / "pairs.txt").write_text("1\t1\nColin_Powell\t1\t2\nColin_Powell\t3\tTony_Blair\t1\n")
    # Archive layout: lfw-deepfunneled/<Name>/...
    stage = tmp_path_factory.mktemp("stage")
    shutil.copytree(root / "images_deepfunneled", stage / "lfw-deepfunneled")
    with tarfile.open(root / "lfw-deepfunneled.tgz", "w:gz") as tar:
        tar.add(stage / "lfw-deepfunneled", arcname="lfw-deepfunneled")
    tree, n = tree_sha256(stage / "lfw-deepfunneled")
    assert n == sum(PEOPLE.values())
    return root, tree


@pytest.fixture(scope="module")
def server(mirror, serve_folder):
    """The mirror served on 127.0.0.1: its base URL."""
    return serve_folder(mirror[0])


def _source(mirror, base, **kw) -> LfwSource:
    root, tree = mirror
    files = tuple(RemoteFile(f, f"{base}/{f}", _sha(root / f)) for f in ("lfw-names.txt", "pairs.txt"))
    return LfwSource(files=files, images_url=f"{base}/images_deepfunneled", tree_sha256=tree,
                     n_images=sum(PEOPLE.values()), workers=4, **kw)


def test_fetch_per_file(tmp_path, mirror, server):
    dest = fetch_lfw(tmp_path / "lfw", source=_source(mirror, server), progress=False)
    lfw = LFW(dest)
    assert dict(zip(lfw.identities().identity, lfw.identities().images)) == PEOPLE
    assert len(lfw.pairs()) == 2
    assert not list(tmp_path.glob(".lfw.partial*"))


def test_fetch_archive(tmp_path, mirror, server):
    src = _source(mirror, server, archive_url=f"{server}/lfw-deepfunneled.tgz",
                  archive_sha256=_sha(mirror[0] / "lfw-deepfunneled.tgz"))
    dest = fetch_lfw(tmp_path / "lfw", source=src, progress=False)
    assert len(LFW(dest).images()) == 6
    with pytest.raises(FetchError, match="already holds LFW"):
        fetch_lfw(dest, source=src, progress=False)
    fetch_lfw(dest, source=src, progress=False, overwrite=True)


def test_bad_checksum_leaves_nothing(tmp_path, mirror, server):
    src = _source(mirror, server)
    bad = LfwSource(files=(RemoteFile("pairs.txt", f"{server}/pairs.txt", "0" * 64),) + src.files[:1],
                    images_url=src.images_url, tree_sha256=src.tree_sha256)
    with pytest.raises(FetchError, match="checksum mismatch"):
        fetch_lfw(tmp_path / "lfw", source=bad, progress=False)
    assert not (tmp_path / "lfw").exists() and not list(tmp_path.iterdir())


def test_tampered_images_fail_tree_check(tmp_path, mirror, server):
    src = _source(mirror, server)
    from dataclasses import replace

    with pytest.raises(FetchError, match="do not match the published LFW"):
        fetch_lfw(tmp_path / "lfw", source=replace(src, tree_sha256="f" * 64), progress=False)
    assert not list(tmp_path.iterdir())


def test_missing_file_on_server(tmp_path, mirror, server):
    src = _source(mirror, server)
    from dataclasses import replace

    gone = replace(src, files=src.files + (RemoteFile("people.txt", f"{server}/people.txt", "0" * 64),))
    with pytest.raises(FetchError, match="download failed"):
        fetch_lfw(tmp_path / "lfw", source=gone, progress=False)


def test_default_source_checksums_match_the_shared_copy(lfw):
    """The published checksums baked into facelab are those of the real LFW copy."""
    for f in DEFAULT_SOURCE.files:
        assert _sha(lfw.root / f.name) == f.sha256, f.name
    assert tree_sha256(lfw.images_dir) == (DEFAULT_SOURCE.tree_sha256, DEFAULT_SOURCE.n_images)
    assert read_pairs_file(lfw.root / "pairs.txt").shape[0] == 6000


def test_cli_fetch_with_base_url(tmp_path, mirror, server, monkeypatch, capsys):
    """`facelab data fetch-lfw --base-url` keeps the published checksums, so a mini mirror fails them."""
    from facelab.cli import main

    rc = main(["data", "fetch-lfw", "--out", str(tmp_path / "lfw"), "--base-url", server])
    assert rc == 2
    err = capsys.readouterr().err
    assert "facelab data: error:" in err and ("checksum mismatch" in err or "download failed" in err)
    assert not (tmp_path / "lfw").exists()
