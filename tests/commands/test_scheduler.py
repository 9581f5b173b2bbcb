"""``--scheduler`` (and ``$FACELAB_SCHEDULER``) on the commands that embed: the session's real Dask
cluster (``tests/conftest.py``) gives the numbers of the local run."""

from __future__ import annotations

import json
import shutil

import pytest

from facelab.cli import main

# One fold of 3 matched + 3 mismatched pairs, then a second fold that --limit-folds 1 leaves out.
NAMES = ("Colin_Powell", "Tony_Blair", "George_W_Bush", "Donald_Rumsfeld")
PAIRS = """2\t3
Colin_Powell\t1\t2
Tony_Blair\t1\t2
George_W_Bush\t1\t2
Colin_Powell\t3\tTony_Blair\t3
Donald_Rumsfeld\t1\tGeorge_W_Bush\t3
Tony_Blair\t1\tDonald_Rumsfeld\t2
Donald_Rumsfeld\t1\t2
Colin_Powell\t1\t3
Tony_Blair\t2\t3
Colin_Powell\t2\tDonald_Rumsfeld\t3
George_W_Bush\t1\tTony_Blair\t2
Colin_Powell\t1\tGeorge_W_Bush\t2
"""
FAST = ["--detector", "dlib", "--no-flip", "--no-cache", "--workers", "1", "--quiet", "--format", "json"]


@pytest.fixture(scope="module")
def tiny_lfw(tmp_path_factory, lfw):
    """Real LFW photos in LFW's own layout, with a two-fold pairs.txt."""
    root = tmp_path_factory.mktemp("tiny_lfw")
    for name in NAMES:
        d = root / "lfw-deepfunneled" / name
        d.mkdir(parents=True)
        for k in range(1, 4):
            shutil.copy(lfw.image_path(name, k), d / f"{name}_{k:04d}.jpg")
    (root / "pairs.txt").write_text(PAIRS)
    return root


def _run(argv, capsys) -> tuple[dict, str]:
    assert main(argv) == 0
    cap = capsys.readouterr()
    return json.loads(cap.out), cap.err


def test_lfw_on_the_cluster_equals_the_local_run(cluster, tiny_lfw, capsys):
    argv = ["lfw", "--root", str(tiny_lfw), "--limit-folds", "1", "--n-boot", "0", *FAST]
    local, err = _run(argv, capsys)
    assert "Dask" not in err
    dist, err = _run(argv + ["--scheduler", cluster.address], capsys)
    assert "computed on a Dask cluster" in err
    assert dist["protocol"]["n_pairs"] == 6 and dist["images"] == 11
    for key in ("accuracy", "auc", "eer", "no_face", "model", "images"):
        assert dist[key] == pytest.approx(local[key]) if isinstance(local[key], float) else dist[key] == local[key]


def test_identify_through_facelab_scheduler_equals_the_local_run(cluster, small_lfw, capsys, monkeypatch):
    argv = ["identify", str(small_lfw), "--repeats", "2", *FAST]
    monkeypatch.delenv("FACELAB_SCHEDULER", raising=False)
    local, err = _run(argv, capsys)
    assert "Dask" not in err
    monkeypatch.setenv("FACELAB_SCHEDULER", cluster.address)
    dist, err = _run(argv, capsys)
    assert "computed on a Dask cluster" in err
    assert dist["embedded"] == local["embedded"] == 20
    assert dist["mean"] == pytest.approx(local["mean"], nan_ok=True)
    assert dist["reference_line"] == local["reference_line"]
