"""Fixtures of the language-ID tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from lid_helpers import build_micro_model

from olmoasr.pipeline.lang_id.voxlingua import save_speechbrain_model


@pytest.fixture(scope="session")
def micro_model_dir(tmp_path_factory) -> Path:
    """A SpeechBrain-layout model directory (hyperparams.yaml, two .ckpt, label_encoder.txt), random weights."""
    return save_speechbrain_model(build_micro_model(), tmp_path_factory.mktemp("lid") / "micro-voxlingua")


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Micro-model convolutions are far faster single-threaded, above all on a loaded machine."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
