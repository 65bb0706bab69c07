"""Parity with openai-whisper on the same random weights: tokens, long-form text and timestamps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from olmoasr.model.decoding import DecodingOptions, decode
from olmoasr.model.transcribe import transcribe

from .reference import whisper


@pytest.mark.parametrize(
    "options",
    [dict(), dict(without_timestamps=True), dict(beam_size=3), dict(beam_size=2, patience=2.0, length_penalty=0.5),
     dict(prompt="the previous window said this")],
    ids=["greedy", "no-timestamps", "beam", "beam-patience", "prompt"],
)  # fmt: skip
def test_decode_tokens_identical(model_pair, options):
    ours, reference = model_pair
    mel = torch.randn(80, 3000, generator=torch.Generator().manual_seed(3))
    expected = whisper.decode(
        reference, mel, whisper.DecodingOptions(fp16=False, language="en", sample_len=48, **options)
    )
    got = decode(ours, mel, DecodingOptions(sample_len=48, **options))
    assert got.tokens == expected.tokens
    assert got.avg_logprob == pytest.approx(expected.avg_logprob, abs=1e-5)
    assert got.no_speech_prob == pytest.approx(expected.no_speech_prob, abs=1e-5)


@pytest.mark.parametrize("without_timestamps", [False, True])
def test_transcribe_identical_text_and_segments(model_pair, speech, without_timestamps):
    ours, reference = model_pair
    audio = np.concatenate([speech, speech, speech])[: 16000 * 34]  # two windows
    options = dict(temperature=0.0, sample_len=20, without_timestamps=without_timestamps)
    expected = reference.transcribe(audio, fp16=False, language="en", **options)
    got = transcribe(ours, audio, **options)
    duration = len(audio) / 16000
    assert got["text"] == expected["text"]
    assert [s["text"] for s in got["segments"]] == [s["text"] for s in expected["segments"]]
    # ours clips times that run into the padding past the end of the audio
    assert [(s["start"], s["end"]) for s in got["segments"]] == [
        (min(s["start"], duration), min(s["end"], duration)) for s in expected["segments"]
    ]
    assert len({s["seek"] for s in got["segments"]}) >= 2


@pytest.mark.slow  # openai-whisper JIT-compiles its DTW with numba on first use (~20 s)
def test_word_timestamps_identical(model_pair, speech):
    ours, reference = model_pair
    options = dict(temperature=0.0, sample_len=24, word_timestamps=True)
    expected = reference.transcribe(speech, fp16=False, language="en", **options)
    got = transcribe(ours, speech, **options)
    expected_words = [(w["word"], float(w["start"]), float(w["end"])) for s in expected["segments"] for w in s["words"]]
    got_words = [(w["word"], w["start"], w["end"]) for s in got["segments"] for w in s["words"]]
    assert got_words and got_words == expected_words


def test_multilingual_language_detection_and_translate_task():
    task = "translate"
    from .reference import random_pair

    ours, reference = random_pair(2, n_vocab=51865)
    mel = torch.randn(2, 80, 3000, generator=torch.Generator().manual_seed(5))
    expected = whisper.decode(reference, mel, whisper.DecodingOptions(fp16=False, sample_len=24, task=task))
    got = decode(ours, mel, DecodingOptions(sample_len=24, task=task))
    assert [r.language for r in got] == [r.language for r in expected]
    assert [r.tokens for r in got] == [r.tokens for r in expected]
    _, probs = ours.detect_language(mel[0])
    _, expected_probs = reference.detect_language(mel[0])
    assert max(probs, key=probs.get) == max(expected_probs, key=expected_probs.get)
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-4)


def test_batched_beam_search_equals_one_by_one(model_pair):
    ours, _ = model_pair
    mel = torch.randn(3, 80, 3000, generator=torch.Generator().manual_seed(11))
    options = DecodingOptions(sample_len=24, beam_size=2)
    together = decode(ours, mel, options)
    alone = [decode(ours, window, options) for window in mel]
    assert [r.tokens for r in together] == [r.tokens for r in alone]
