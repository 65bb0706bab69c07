"""Degenerate inputs, timestamp sanity, batched-vs-sequential agreement."""

from __future__ import annotations

import numpy as np
import pytest

from olmoasr.model.batched import split_segments, transcribe_batched
from olmoasr.model.tokenizer import get_tokenizer
from olmoasr.model.transcribe import transcribe

FAST = dict(temperature=0.0, sample_len=16)


@pytest.mark.parametrize("n_samples", [0, 1600], ids=["empty", "0.1s"])
def test_empty_and_tiny_audio(model_pair, n_samples):
    ours, _ = model_pair
    audio = np.random.default_rng(0).standard_normal(n_samples).astype(np.float32) * 0.1
    result = transcribe(ours, audio, **FAST)
    assert set(result) == {"text", "segments", "language"} and result["language"] == "en"
    for segment in result["segments"]:
        assert 0 <= segment["start"] <= segment["end"] <= n_samples / 16000


def test_timestamps_monotonic_and_within_duration(model_pair, speech):
    ours, _ = model_pair
    audio = np.concatenate([speech, np.zeros(16000 * 25, dtype=np.float32)])
    result = transcribe(ours, audio, condition_on_previous_text=False, **FAST)
    duration = len(audio) / 16000
    starts = [s["start"] for s in result["segments"]]
    assert result["segments"] and starts == sorted(starts)
    assert all(0 <= s["start"] <= s["end"] <= duration for s in result["segments"])


def test_silence_is_never_decoded_with_vad(model_pair):
    ours, _ = model_pair
    silence = np.zeros(16000 * 40, dtype=np.float32)
    [result] = transcribe_batched(ours, [silence], batch_size=4, vad=True, **FAST)
    assert result == {"text": "", "segments": [], "language": "en", "dropped": []}


def test_batched_equals_sequential_on_short_clips(model_pair, librivox_utterances):
    ours, _ = model_pair
    paths = [path for path, _ in librivox_utterances[:3]]
    # random weights never end a window cleanly, so the sequential loop re-decodes timestamped output;
    # text-only decoding is one window per clip in both modes (timestamps: see the real-weights tests)
    options = dict(FAST, compression_ratio_threshold=None, no_speech_threshold=None, without_timestamps=True)
    sequential = [transcribe(ours, path, **options) for path in paths]
    batched = transcribe_batched(ours, paths + ["/no/such/file.wav"], batch_size=2, vad=False, **options)
    assert [r["text"] for r in batched[:3]] == [r["text"] for r in sequential]
    assert [[(s["start"], s["end"]) for s in r["segments"]] for r in batched[:3]] == [
        [(s["start"], s["end"]) for s in r["segments"]] for r in sequential
    ]
    assert "not found" in str(batched[3])


def test_chunk_segments_map_to_file_time():
    tokenizer = get_tokenizer(False)
    ts = tokenizer.timestamp_begin
    hello, world = tokenizer.encode(" hello"), tokenizer.encode(" world")
    tokens = [ts, *hello, ts + 50, ts + 60, *world]  # the second segment never closes
    segments = split_segments(tokens, tokenizer, 100.0, 104.0)
    assert [(s, e) for s, e, _ in segments] == [(100.0, 101.0), (101.2, 104.0)]


def test_follow_up_chunk_when_speech_was_left_undecoded(model_pair):
    from olmoasr.model.batched import BatchedTranscriber, _Chunk, _FileState

    tokenizer = get_tokenizer(False)
    ts = tokenizer.timestamp_begin
    transcriber = BatchedTranscriber(model_pair[0], batch_size=2, vad=True)
    samples = np.zeros(16000 * 40, dtype=np.float32)
    chunk = _Chunk(0, 10.0, samples[160000:640000])  # 10 s .. 40 s of the file
    closed = {"start": 10.0, "end": 20.0, "tokens": [ts, 11, ts + 500]}
    state = _FileState("en", 1, samples, speech=[(10.0, 20.0), (24.0, 29.0)])
    segments = [dict(closed), {"start": 20.0, "end": 40.0, "tokens": [ts + 500, 12]}]
    follow_up = transcriber._follow_up(chunk, state, segments, tokenizer)
    assert follow_up is not None and follow_up.start == 20.0 and len(follow_up.samples) == 16000 * 20
    assert segments == [closed]  # the unfinished tail is decoded again in the follow-up

    silent_after = _FileState("en", 1, samples, speech=[(10.0, 20.0)])
    assert transcriber._follow_up(chunk, silent_after, [dict(closed)], tokenizer) is None


def test_follow_up_without_vad_when_the_model_did_not_say_it_was_done(model_pair):
    from olmoasr.model.batched import BatchedTranscriber, _Chunk, _FileState

    tokenizer = get_tokenizer(False)
    ts = tokenizer.timestamp_begin
    transcriber = BatchedTranscriber(model_pair[0], batch_size=2, vad=False)
    samples = np.zeros(16000 * 60, dtype=np.float32)
    chunk = _Chunk(0, 30.0, samples[16000 * 30 :])
    state = _FileState("en", 1, samples, speech=[])
    closed = {"start": 30.0, "end": 40.0, "tokens": [ts, 11, ts + 500]}
    # ends on a timestamp pair: the sequential loop would seek to 40 s and decode on
    follow_up = transcriber._follow_up(chunk, state, [dict(closed)], tokenizer, [ts, 11, ts + 500, ts + 500])
    assert follow_up is not None and follow_up.start == 40.0 and len(follow_up.samples) == 16000 * 20
    # ends on a single timestamp: the model says the window's speech is over
    assert transcriber._follow_up(chunk, state, [dict(closed)], tokenizer, [ts, 11, ts + 500]) is None
