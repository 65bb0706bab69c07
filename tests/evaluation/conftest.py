"""Evaluation fixtures (speech clips, a micro model); plain builders live in helpers.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .helpers import SENTENCES, flite_wav


@pytest.fixture(scope="session")
def speech_clips(tmp_path_factory) -> list[tuple[Path, str]]:
    """[(wav path, reference text)] of generated speech (Debian's flite); skipped where flite is absent."""
    if shutil.which("flite") is None:
        pytest.skip("flite not installed (apt-get install flite)")
    folder = tmp_path_factory.mktemp("speech")
    return [(flite_wav(text, folder / f"utt{i}.wav"), text) for i, text in enumerate(SENTENCES)]


@pytest.fixture(scope="session")
def micro_model():
    """A random-weight Whisper network small enough for CPU tests (fan-in init: varied, non-empty output)."""
    torch = pytest.importorskip("torch")
    from olmoasr.model.dims import ENGLISH_VOCAB, ModelDimensions
    from olmoasr.model.network import Whisper, init_fan_in_gaussian_

    torch.manual_seed(0)
    dims = ModelDimensions(80, 1500, 64, 2, 2, ENGLISH_VOCAB, 448, 64, 2, 2)
    return init_fan_in_gaussian_(Whisper(dims)).eval()
