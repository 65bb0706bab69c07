"""Fixtures of the language-ID tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from olmoasr.pipeline.lang_id.voxlingua import save_speechbrain_model

from .lid_helpers import build_micro_model


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


@pytest.fixture(scope="session")
def micro_whisper_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Random-weight Whisper-architecture micro models saved in OpenAI .pt format: multilingual and English-only."""
    import torch

    from olmoasr.model.checkpoints import save_model
    from olmoasr.model.dims import ENGLISH_VOCAB, MULTILINGUAL_VOCAB, ModelDimensions
    from olmoasr.model.network import Whisper

    root = tmp_path_factory.mktemp("whisper-lid")
    paths = {}
    for name, vocab in (("multilingual", MULTILINGUAL_VOCAB), ("english", ENGLISH_VOCAB)):
        dims = ModelDimensions(80, 1500, 16, 2, 1, vocab, 8, 16, 2, 1)
        torch.manual_seed(0)
        paths[name] = save_model(Whisper(dims), root / f"micro-{name}.pt")
    return paths
