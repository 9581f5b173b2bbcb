"""``--device auto|cpu|cuda``: one resolver; on a machine without CUDA nothing changes."""

from __future__ import annotations

import numpy as np
import pytest

from facelab.core.devices import DeviceError, resolve_device

torch = pytest.importorskip("torch")
HAS_CUDA = torch.cuda.is_available()


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == resolve_device(None) == ("cuda" if HAS_CUDA else "cpu")
    with pytest.raises(DeviceError, match="unknown device 'tpu'"):
        resolve_device("tpu")


@pytest.mark.skipif(HAS_CUDA, reason="this machine has CUDA: --device cuda is valid here")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(DeviceError) as exc:
        resolve_device("cuda")
    assert "sees no CUDA device" in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.skipif(HAS_CUDA, reason="this machine has CUDA: --device cuda is valid here")
def test_cli_cuda_without_a_gpu_is_one_line_exit_2(tmp_path, capsys):
    from facelab.cli import main

    (tmp_path / "ds" / "someone").mkdir(parents=True)
    code = main(["embed", str(tmp_path / "ds"), "--out", str(tmp_path / "e.json"), "--device", "cuda", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--device cuda" in err[0] and "no CUDA device" in err[0]
    assert not (tmp_path / "e.json").exists()


def test_cpu_and_auto_give_the_same_vectors(tmp_path, copy_two_id):
    from facelab.engine.pipeline import embed_folder

    root = copy_two_id(tmp_path / "ds", 2)
    cpu = embed_folder(root, cache=False, progress=False, workers=1, device="cpu")
    auto = embed_folder(root, cache=False, progress=False, workers=1, device="auto")
    assert len(cpu.embeddings) == 4
    if HAS_CUDA:  # the GPU's kernels round differently
        np.testing.assert_allclose(auto.embeddings, cpu.embeddings, atol=1e-4)
    else:
        np.testing.assert_array_equal(auto.embeddings, cpu.embeddings)
    # The device is not part of the cache key: it changes vectors only to float rounding.
    assert cpu.settings == auto.settings
