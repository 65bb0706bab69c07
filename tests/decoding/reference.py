"""Test helpers: openai-whisper (a test-only dependency) as the reference on the same weights."""

from __future__ import annotations

import pytest
import torch

from olmoasr.model.dims import ModelDimensions
from olmoasr.model.network import Whisper, init_fan_in_gaussian_

whisper = pytest.importorskip("whisper")

MICRO_DIMS = dict(
    n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=4, n_audio_layer=2,
    n_vocab=51864, n_text_ctx=448, n_text_state=64, n_text_head=4, n_text_layer=2,
)  # fmt: skip


def random_pair(seed: int = 1, **overrides) -> tuple[Whisper, whisper.model.Whisper]:
    """Our network and openai-whisper's holding the same random (fan-in Gaussian) weights.

    The fan-in init gives varied random output with timestamp pairs (openai-whisper's default
    init makes a micro decoder repeat one token).
    """
    dims = {**MICRO_DIMS, **overrides}
    torch.manual_seed(seed)
    ours = init_fan_in_gaussian_(Whisper(ModelDimensions(**dims))).eval()
    reference = whisper.model.Whisper(whisper.model.ModelDimensions(**dims)).eval()
    reference.load_state_dict(ours.state_dict())
    return ours, reference
