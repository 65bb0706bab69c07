"""No-speech probability read where the checkpoint's training put <|nospeech|> (spec §11.1 item 10)."""

from __future__ import annotations

import pytest
import torch

from olmoasr.model.decoding import DecodingOptions, decode
from olmoasr.model.tokenizer import get_tokenizer


@pytest.mark.parametrize("without_timestamps", [False, True])
def test_no_speech_after_notimestamps(model_pair, without_timestamps):
    ours, _ = model_pair
    tokenizer = get_tokenizer(False)
    mel = torch.randn(80, 3000, generator=torch.Generator().manual_seed(7))
    features = ours.embed_audio(mel[None])
    with torch.no_grad():
        logits = ours.logits(torch.tensor([[tokenizer.sot, tokenizer.no_timestamps]]), features)[0]
    after_sot = logits[0].softmax(-1)[tokenizer.no_speech].item()
    after_notimestamps = logits[1].softmax(-1)[tokenizer.no_speech].item()

    options = DecodingOptions(sample_len=4, without_timestamps=without_timestamps)
    assert decode(ours, mel, options).no_speech_prob == pytest.approx(after_sot, rel=1e-4)
    olmoasr_style = DecodingOptions(sample_len=4, without_timestamps=without_timestamps, no_speech_after="notimestamps")
    assert decode(ours, mel, olmoasr_style).no_speech_prob == pytest.approx(after_notimestamps, rel=1e-4)
    assert after_sot != pytest.approx(after_notimestamps, rel=1e-3)
