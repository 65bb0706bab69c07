"""Fixtures for decoding tests: micro random models shared with openai-whisper, short speech clips."""

from __future__ import annotations

import numpy as np
import pytest

from olmoasr.audio import load_audio


@pytest.fixture(scope="session")
def model_pair():
    from .reference import random_pair

    return random_pair(1)


@pytest.fixture(scope="session")
def speech(librivox_utterances) -> np.ndarray:
    """~10 s of real speech (two LibriVox utterances) as 16 kHz float32."""
    return np.concatenate([load_audio(path) for path, _ in librivox_utterances[:2]])
