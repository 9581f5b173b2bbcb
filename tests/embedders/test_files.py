"""facelab.embedders.files: embedding files (JSON reference layout, .npz), round trips and every malformed input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facelab.core.errors import EmbeddingsFileError
from facelab.embedders.files import read_embeddings, write_embeddings


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_embeddings_file_round_trip(tmp_path, suffix):
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(4, 7)).astype(np.float32)
    ids = ["a/1", "a/2", "Colin_Powell_0001", 'quote"d']
    path = write_embeddings(tmp_path / f"e{suffix}", ids, vecs)
    got_ids, got = read_embeddings(path)
    assert got_ids == ids
    np.testing.assert_array_equal(got, vecs)  # float32 exactly
    assert not list(tmp_path.glob(".*tmp"))


def test_json_is_the_reference_layout(tmp_path):
    path = write_embeddings(tmp_path / "e.json", ["x", "y"], np.eye(2, 3, dtype=np.float32))
    assert json.loads(path.read_text()) == {"x": [1.0, 0.0, 0.0], "y": [0.0, 1.0, 0.0]}


@pytest.mark.parametrize(
    "text,match",
    [
        ("not json", "not a JSON file"),
        ("[[1, 2]]", "expected a JSON object"),
        ("{}", "no embeddings"),
        ('{"a": [1, 2], "b": [1, 2, 3]}', "'b' has 3 values but 'a' has 2"),
        ('{"a": [1, "2"]}', r"'a': element 1 is not a number"),
        ('{"a": [1, true]}', r"'a': element 1 is not a number"),
        ('{"a": [1, 2], "b": [NaN, 1]}', r"'b': element 0 is nan"),
        ('{"a": 3}', r"'a': expected a list"),
        ('{"a": []}', "empty vector"),
    ],
)
def test_malformed_json_raises(tmp_path, text, match):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(EmbeddingsFileError, match=match):
        read_embeddings(path)


def test_malformed_npz_and_missing(tmp_path):
    np.savez(tmp_path / "a.npz", vectors=np.zeros((2, 3)))
    with pytest.raises(EmbeddingsFileError, match="'ids' and 'embeddings'"):
        read_embeddings(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", ids=np.array(["x", "y"]), embeddings=np.array([[0.0, 1.0], [np.nan, 0.0]]))
    with pytest.raises(EmbeddingsFileError, match="'y'.*not finite"):
        read_embeddings(tmp_path / "b.npz")
    (tmp_path / "c.npz").write_bytes(b"garbage")
    with pytest.raises(EmbeddingsFileError, match="not a readable"):
        read_embeddings(tmp_path / "c.npz")
    with pytest.raises(EmbeddingsFileError, match="not found"):
        read_embeddings(tmp_path / "none.json")


def test_write_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError, match="2 ids but 1 vectors"):
        write_embeddings(tmp_path / "e.json", ["a", "b"], np.zeros((1, 3)))
    with pytest.raises(ValueError, match="repeated"):
        write_embeddings(tmp_path / "e.json", ["a", "a"], np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        write_embeddings(tmp_path / "e.json", ["a"], np.full((1, 3), np.nan))
    with pytest.raises(ValueError, match=".json or .npz"):
        write_embeddings(tmp_path / "e.txt", ["a"], np.zeros((1, 3)))
