"""Windows of one batch with prompts of different lengths decode as each would alone (left padding)."""

from __future__ import annotations

import pytest
import torch

from olmoasr.model.decoding import DecodingOptions, decode
from olmoasr.model.decoding.options import DecodingOptionsError

PROMPTS = [[50, 60, 70, 80, 90, 100, 110], None, [5], [300, 301, 302]]


@pytest.mark.parametrize(
    "options",
    [dict(), dict(without_timestamps=True), dict(beam_size=2), dict(temperature=0.5, best_of=2),
     dict(no_speech_after="notimestamps")],
    ids=["greedy", "no-timestamps", "beam", "best-of", "no-speech-after-notimestamps"],
)  # fmt: skip
def test_each_window_decodes_as_alone(model_pair, options):
    ours, _ = model_pair
    mel = torch.randn(len(PROMPTS), 80, 3000, generator=torch.Generator().manual_seed(21))
    features = ours.embed_audio(mel)
    window_options = DecodingOptions(sample_len=24, **options)
    sampled = window_options.temperature > 0
    together = decode(ours, features, window_options, torch.Generator().manual_seed(0) if sampled else None, PROMPTS)
    for row, prompt in enumerate(PROMPTS):
        alone = decode(ours, features[row : row + 1], DecodingOptions(sample_len=24, prompt=prompt, **options))[0]
        if not sampled:  # samples are drawn for the whole batch at once
            assert together[row].tokens == alone.tokens
            assert together[row].avg_logprob == pytest.approx(alone.avg_logprob, abs=1e-4)
        assert together[row].no_speech_prob == pytest.approx(alone.no_speech_prob, abs=1e-4)


def test_window_prompts_are_checked(model_pair):
    ours, _ = model_pair
    mel = torch.randn(2, 80, 3000, generator=torch.Generator().manual_seed(22))
    with pytest.raises(DecodingOptionsError, match="prompt per window"):
        decode(ours, mel, DecodingOptions(sample_len=4, prompt="hello"), prompts=[None, [5]])
    with pytest.raises(ValueError, match="3 prompts for 2 windows"):
        decode(ours, mel, DecodingOptions(sample_len=4), prompts=[None, [5], [6]])
