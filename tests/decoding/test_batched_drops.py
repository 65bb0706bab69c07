"""Batched mode's drop policy: repeated speech survives, a chunk is dropped only as silence (or an improbable
loop), and every dropped chunk is reported with its time range and reason; progress follows each file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from olmoasr.model.batched import BatchedTranscriber, transcribe_batched
from olmoasr.model.decoding import DecodingResult, FallbackPolicy, decode_with_fallback
from olmoasr.model.decoding.options import DecodingOptions
from olmoasr.model.features import log_mel_batch
from olmoasr.model.tokenizer import get_tokenizer

TOKENIZER = get_tokenizer(False)
TS = TOKENIZER.timestamp_begin
WORDS = TOKENIZER.encode(" he was not an ill disposed young man")
SAID = [TS, *WORDS, TS + 150]  # one segment, 0.0 -> 3.0 s


def _result(tokens=SAID, *, logprob=-0.3, ratio=1.5, no_speech=0.01, temperature=0.0, features=None):
    return DecodingResult(
        audio_features=features,
        language="en",
        tokens=list(tokens),
        text=TOKENIZER.decode([t for t in tokens if t < TOKENIZER.eot]),
        avg_logprob=logprob,
        compression_ratio=ratio,
        no_speech_prob=no_speech,
        temperature=temperature,
    )


def tone(hz: float, seconds: float) -> np.ndarray:
    """A sine tone (0 Hz: silence); the scripted engine tells chunks apart by their pitch."""
    t = np.arange(round(16000 * seconds)) / 16000
    return (0.1 * np.sin(2 * np.pi * hz * t)).astype(np.float32) if hz else np.zeros(len(t), np.float32)


class ScriptedEngine:
    """An engine whose windows decode by the pitch of a chunk's tone: silence -> no speech; 200 Hz ->
    one sentence; 1 kHz -> the sentence read twice (compresses > 2.4 at every temperature, likeliest cold)."""

    name = "scripted"
    n_mels = 80
    n_text_ctx = 448
    device = torch.device("cpu")
    precision = "float32"
    is_multilingual = False
    num_languages = 99

    def encode(self, mel):
        return mel[:, :, 100].argmax(dim=1)  # the loudest mel band: 0 for silence

    def decode(self, features, options, generator=None, prompts=None):
        t = options.temperature
        out = []
        for band in features.tolist():
            if band == 0:
                out.append(_result([TS, TS], logprob=-1.6, no_speech=0.9, temperature=t))
            elif band > 20:
                twice = [*SAID, TS + 150, *WORDS, TS + 300]
                out.append(_result(twice, ratio=2.9, logprob=-0.2 - t, temperature=t))
            else:
                out.append(_result(temperature=t))
        return out

    def detect_language(self, features, tokenizer):
        return [{"en": 1.0}] * len(features)

    def align(self, *args, **kwargs):
        raise AssertionError("these tests ask for no word timestamps")

    def transcribe(self, audio, **options):
        raise AssertionError("the batched transcriber never calls the engine's own transcribe")


def test_fallback_keeps_the_likeliest_attempt_when_every_temperature_fails():
    engine = ScriptedEngine()
    mel = log_mel_batch([tone(1000, 30)], 80, pad="mel")
    policy = FallbackPolicy()
    options = DecodingOptions()
    last = decode_with_fallback(engine, mel, options, policy)[0]
    best = decode_with_fallback(engine, mel, options, policy, keep="best")[0]
    assert last.temperature == 1.0  # openai-whisper's rule: the last attempt
    assert best.temperature == 0.0 and best.avg_logprob == pytest.approx(-0.2)
    with pytest.raises(ValueError, match="keep"):
        decode_with_fallback(engine, mel, options, policy, keep="first")


def test_a_passing_attempt_wins_over_a_likelier_failed_one():
    class Engine(ScriptedEngine):
        def decode(self, features, options, generator=None, prompts=None):
            t = options.temperature
            return [_result(ratio=2.9 if t < 0.4 else 1.5, logprob=-0.1 - t, temperature=t) for _ in features.tolist()]

    mel = torch.zeros(1, 80, 3000)
    best = decode_with_fallback(Engine(), mel, DecodingOptions(), FallbackPolicy(), keep="best")[0]
    assert best.temperature == 0.4 and best.compression_ratio == 1.5


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (_result(ratio=2.9, logprob=-0.3), None),  # speech that repeats, transcribed confidently: kept
        (_result(ratio=1.2, logprob=-1.5, no_speech=0.9), "no speech"),
        (_result(ratio=1.2, logprob=-0.2, no_speech=0.9), None),  # confident text despite the no-speech token
        (_result(ratio=3.5, logprob=-1.4, no_speech=0.2), "repetitive and improbable"),
        (_result(ratio=1.8, logprob=-1.4, no_speech=0.2), None),  # unlikely but not a loop: kept, as sequential
    ],
)
def test_drop_reason(result, reason):
    assert BatchedTranscriber(ScriptedEngine(), vad=False).drop_reason(result) == reason


def test_repeated_speech_is_kept_and_silence_is_reported():
    engine = ScriptedEngine()
    first = np.concatenate([tone(200, 30), tone(1000, 30), tone(0, 30)])
    second = tone(200, 45)
    seen: list[tuple[int, float, float]] = []
    first_result, second_result = transcribe_batched(
        engine, [first, second], batch_size=3, vad=False, progress=lambda *call: seen.append(call)
    )

    texts = [segment["text"] for segment in first_result["segments"]]
    assert len(texts) == 3 and [s["start"] for s in first_result["segments"]] == [0.0, 30.0, 33.0]
    assert texts[1] == texts[2]  # the chunk read twice survives, from its coldest (likeliest) attempt
    assert first_result["segments"][1]["temperature"] == 0.0
    assert first_result["dropped"] == [
        {
            "start": 60.0,
            "end": 90.0,
            "reason": "no speech",
            "text": "",
            "temperature": 0.0,
            "avg_logprob": -1.6,
            "compression_ratio": 1.5,
            "no_speech_prob": 0.9,
        }
    ]
    assert second_result["dropped"] == []

    for index, duration in ((0, 90.0), (1, 45.0)):
        calls = [(done, total) for i, done, total in seen if i == index]
        assert calls[0] == (0.0, duration) and calls[-1] == (duration, duration)
        assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def _write_wav(path, samples: np.ndarray) -> None:
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((samples * 32767).astype("<i2").tobytes())


def test_dropped_chunks_in_the_json_and_the_summary(tmp_path):
    import io
    import json

    from rich.console import Console

    from olmoasr.outputs.runner import print_dropped, transcribe_files

    _write_wav(tmp_path / "talk.wav", np.concatenate([tone(200, 30), tone(0, 30), tone(1000, 20)]))
    _write_wav(tmp_path / "clean.wav", tone(200, 10))
    summary = transcribe_files(
        ScriptedEngine(), [tmp_path / "talk.wav", tmp_path / "clean.wav"], tmp_path / "out", "json", batched=True,
        vad=False, batch_size=2, show_progress=False,
    )  # fmt: skip
    assert summary.succeeded == 2 and summary.audio_seconds == pytest.approx(90.0)
    talk = json.loads((tmp_path / "out" / "talk.json").read_text())
    assert [(d["start"], d["end"], d["reason"]) for d in talk["dropped"]] == [(30.0, 60.0, "no speech")]
    assert talk["segments"][-1]["end"] == pytest.approx(66.0)  # the 1 kHz chunk read twice survives
    assert json.loads((tmp_path / "out" / "clean.json").read_text())["dropped"] == []

    console = Console(file=io.StringIO(), width=200)
    print_dropped(summary, console)
    lines = console.file.getvalue().splitlines()
    assert lines[0].startswith("1 chunk(s) left out of the transcripts")
    assert lines[1] == f"  {tmp_path / 'talk.wav'}: 30.0-60.0 s (no speech)"


def test_sequential_progress_reaches_the_end(model_pair, speech):
    seen: list[tuple[float, float]] = []
    from olmoasr.model.transcribe import transcribe

    audio = np.concatenate([speech, np.zeros(16000 * 25, np.float32)])
    transcribe(model_pair[0], audio, temperature=0.0, sample_len=8, progress=lambda *call: seen.append(call))
    duration = len(audio) / 16000
    assert seen[0] == (0.0, duration) and seen[-1] == (duration, duration) and len(seen) >= 3
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
