"""Speech synthesis, encoding and caption writers (synthesis tests skip without flite/espeak-ng)."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from olmoasr.audio import AUDIO_SUFFIXES, encode_audio, load_audio, probe_duration
from olmoasr.synth import speech
from olmoasr.synth.captions import (
    Cue,
    TimedWord,
    corrupt_like_asr,
    format_srt,
    format_vtt,
    machine_words,
    rolling_cues,
    word_timings,
    youtube_auto_vtt,
)
from olmoasr.synth.speech import SynthesizerError, Voice, synthesize
from olmoasr.text.wer import corpus_wer
from olmoasr.timestamps import parse_time_ms

needs_engines = pytest.mark.skipif(not speech.engines_available(), reason="flite/espeak-ng not installed")

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank."


@needs_engines
@pytest.mark.parametrize(
    "voice",
    [Voice("flite", "rms"), Voice("flite", "slt", speed=1.2), Voice("espeak-ng", "en-us+f3", speed=0.9, pitch=60)],
    ids=lambda v: v.label,
)
def test_synthesize_gives_speech_of_plausible_duration(voice):
    samples = synthesize(SENTENCE, voice)
    assert samples.dtype == np.float32
    words_per_second = len(SENTENCE.split()) / (len(samples) / 16000)
    assert 1.5 < words_per_second < 7
    assert 0.05 < float(np.abs(samples).max()) <= 1.0
    # trimmed: speech right at both ends
    assert np.abs(samples[:800]).max() > 1e-3 and np.abs(samples[-800:]).max() > 1e-3


@needs_engines
def test_speed_changes_duration_and_output_is_deterministic():
    slow = synthesize(SENTENCE, Voice("flite", "rms", speed=0.8))
    fast = synthesize(SENTENCE, Voice("flite", "rms", speed=1.25))
    assert len(slow) > 1.3 * len(fast)
    voice = Voice("espeak-ng", "en-gb")
    assert np.array_equal(synthesize("Hello there.", voice), synthesize("Hello there.", voice))


def test_missing_engine_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(SynthesizerError, match=r"^flite is not installed; install it with: apt-get install flite"):
        synthesize("hello", Voice("flite", "rms"))
    assert not speech.engines_available()


def test_voice_and_text_validation():
    with pytest.raises(ValueError, match="unknown speech engine"):
        Voice("festival", "kal")
    with pytest.raises(ValueError, match="speed"):
        Voice("flite", "rms", speed=5)
    with pytest.raises(ValueError, match="empty"):
        synthesize("  ")


@needs_engines
def test_bad_voice_fails_with_engine_message():
    # both engines fall back to a default voice silently; we refuse instead
    with pytest.raises(SynthesizerError, match="espeak-ng has no voice 'no-such-voice'"):
        synthesize("hello", Voice("espeak-ng", "no-such-voice"))
    with pytest.raises(SynthesizerError, match="variant 'zz9'"):
        synthesize("hello", Voice("espeak-ng", "en-us+zz9"))
    with pytest.raises(SynthesizerError, match="flite has no voice 'nosuch'"):
        synthesize("hello", Voice("flite", "nosuch"))


@pytest.mark.parametrize("suffix", AUDIO_SUFFIXES)
def test_encode_audio_round_trips_every_container_reproducibly(suffix):
    t = np.arange(16000 * 2) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    data = encode_audio(tone, suffix)
    assert data == encode_audio(tone, suffix)
    decoded = load_audio(data)
    assert abs(len(decoded) / 16000 - 2.0) < 0.15
    assert probe_duration(data) == pytest.approx(2.0, abs=0.15)
    if suffix in (".wav", ".flac"):
        assert np.max(np.abs(decoded - tone)) < 1e-4
    else:
        middle = decoded[8000:24000]
        assert float(np.sqrt(np.mean(middle**2))) == pytest.approx(0.3 / np.sqrt(2), rel=0.2)


def _cue_times(text: str) -> list[tuple[int, int]]:
    return [
        (parse_time_ms(a), parse_time_ms(b.split()[0]))
        for a, b in re.findall(r"^(\S+) --> (.+)$", text, flags=re.MULTILINE)
    ]


CUES = [Cue(400, 3200, "Hello, world."), Cue(3500, 7250, "Second line here."), Cue(65_010, 66_000, "Late!")]


def test_srt_and_vtt_writers_round_trip_times():
    srt = format_srt(CUES)
    assert srt.startswith("1\n00:00:00,400 --> 00:00:03,200\nHello, world.\n\n2\n")
    assert _cue_times(srt) == [(c.start_ms, c.end_ms) for c in CUES]
    assert "\r\n" in format_srt(CUES, crlf=True) and "\n\n" not in format_srt(CUES, crlf=True).replace("\r\n", "")
    vtt = format_vtt(CUES, cue_ids=True, note="by hand")
    assert vtt.startswith("WEBVTT\n\nNOTE by hand\n\ncue-1\n00:00:00.400 --> 00:00:03.200\nHello, world.\n")
    assert _cue_times(vtt) == [(c.start_ms, c.end_ms) for c in CUES]


def test_word_timings_cover_the_cue_in_order():
    words = word_timings(Cue(1000, 4000, "a bb ccc dddd"))
    assert [w.text for w in words] == ["a", "bb", "ccc", "dddd"]
    assert words[0].start_ms == 1000 and words[-1].end_ms == 4000
    assert all(a.end_ms == b.start_ms for a, b in zip(words, words[1:], strict=False))
    assert words[3].end_ms - words[3].start_ms > words[0].end_ms - words[0].start_ms


def test_machine_words_are_lowercase_without_punctuation():
    words = machine_words(word_timings(Cue(0, 2000, "Don't stop, Anna! It's well-known.")))
    assert [w.text for w in words] == ["don't", "stop", "anna", "it's", "well-known"]


def test_asr_corruption_has_the_requested_error_rate_and_no_error_runs():
    sentence = "The farmer carried the heavy basket to the market today."
    cues = [Cue(i * 3000, i * 3000 + 2500, sentence) for i in range(60)]
    words = [w for c in cues for w in word_timings(c)]
    clean = machine_words(words)
    noisy = corrupt_like_asr(words, 0.15, random.Random(1))
    wer = corpus_wer([" ".join(w.text for w in clean)], [" ".join(w.text for w in noisy)]).wer
    assert 0.08 < wer < 0.2
    assert corrupt_like_asr(words, 0.15, random.Random(1)) == noisy
    assert [w.text for w in corrupt_like_asr(words, 0.0, random.Random(1))] == [w.text for w in clean]
    assert all(a.start_ms <= b.start_ms for a, b in zip(noisy, noisy[1:], strict=False))


def test_rolling_cues_repeat_the_previous_cue():
    rolled = rolling_cues([Cue(0, 4000, "One two three four five six."), Cue(4500, 5000, "Short one.")])
    assert [c.text for c in rolled] == ["One two three", "One two three four five six.", "Short one."]
    assert rolled[0].end_ms == rolled[1].start_ms == 2000


def _extract_machine_text(vtt: str) -> str:
    """Spec §2.5's rule for YouTube auto-captions, written independently of the generator."""
    cues = []
    for block in vtt.strip().split("\n\n")[1:]:
        lines = block.split("\n")[1:]
        cues.append(re.sub(r"<[^>]+>", "", "\n".join(lines)).strip())
    if len(cues) >= 2 and cues[0] == cues[1]:
        cues = [cues[0], *cues[2:]]
    return " ".join([c for c in cues[:-1] if "\n" not in c] + [cues[-1].split("\n")[-1]])


def test_youtube_auto_vtt_recovers_words_and_times():
    words = [TimedWord(500 + 400 * i, 850 + 400 * i, f"word{i}") for i in range(25)]
    words.append(TimedWord(45_000, 45_400, "after"))  # a long silence before the last word
    vtt = youtube_auto_vtt(words)
    assert vtt.startswith("WEBVTT\nKind: captions\nLanguage: en\n\n")
    assert _extract_machine_text(vtt) == " ".join(w.text for w in words)
    assert "word0<00:00:00.900><c> word1</c>" in vtt
    times = _cue_times(vtt)
    assert all(s < e for s, e in times)
    assert all(a[0] <= b[0] for a, b in zip(times, times[1:], strict=False))
    assert times[-1][0] == 45_000
    assert max(e for s, e in times[:-1]) < 45_000 - 10_000  # no cue spans the silence
    assert youtube_auto_vtt([]) == "WEBVTT\nKind: captions\nLanguage: en\n"
    assert _extract_machine_text(youtube_auto_vtt(words[:1])) == "word0"
