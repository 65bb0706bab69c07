"""faster-whisper is the reference for the CTranslate2 engine: same CTranslate2 model, same options -> same text."""

from __future__ import annotations

import numpy as np
import pytest

import olmoasr

pytest.importorskip("ctranslate2")
faster_whisper = pytest.importorskip("faster_whisper")
pytestmark = pytest.mark.real_weights


def _reference(offline_dir, compute_type: str):
    return faster_whisper.WhisperModel(str(offline_dir), device="cpu", compute_type=compute_type, cpu_threads=2)


def _theirs(model, audio: np.ndarray, **options) -> tuple[str, list[tuple[float, float]]]:
    segments, _ = model.transcribe(audio, language="en", **options)
    segments = list(segments)
    return "".join(s.text for s in segments), [(round(s.start, 2), round(s.end, 2)) for s in segments]


def _ours(model, audio: np.ndarray, **options) -> tuple[str, list[tuple[float, float]]]:
    if options.get("beam_size") == 1:
        options.pop("beam_size")  # olmoasr's greedy search is "no beam"
    result = model.transcribe(audio, language="en", **options)
    return result["text"], [(round(s["start"], 2), round(s["end"], 2)) for s in result["segments"]]


def test_same_text_as_faster_whisper_float32(offline_dir, tiny_ct2_fp32, utterances):
    reference = _reference(offline_dir, "float32")
    for audio in [*utterances, np.concatenate(utterances)]:
        assert _ours(tiny_ct2_fp32, audio, beam_size=1, temperature=0.0)[0] == _theirs(reference, audio, beam_size=1)[0]


@pytest.mark.parametrize(
    "options", [dict(beam_size=5, best_of=5), dict(beam_size=1, word_timestamps=True)], ids=["beam5", "words"]
)
def test_same_text_with_beam_search_and_word_timestamps(offline_dir, tiny_ct2_fp32, utterances, options):
    reference = _reference(offline_dir, "float32")
    for audio in utterances[:2]:
        assert _ours(tiny_ct2_fp32, audio, **options)[0] == _theirs(reference, audio, **options)[0]


def test_same_text_as_faster_whisper_int8(offline_dir, utterances):
    reference = _reference(offline_dir, "int8")
    ours = olmoasr.load_model("tiny.en-offline", device="cpu", engine="ctranslate2", compute_type="int8")
    for audio in utterances:
        assert _ours(ours, audio, beam_size=1, temperature=0.0)[0] == _theirs(reference, audio, beam_size=1)[0]


@pytest.mark.slow
def test_same_segments_as_faster_whisper_on_a_long_file(offline_dir, tiny_ct2_fp32, utterances):
    audio = np.concatenate(utterances * 3)
    reference = _reference(offline_dir, "float32")
    assert _ours(tiny_ct2_fp32, audio, beam_size=1, temperature=0.0) == _theirs(reference, audio, beam_size=1)
