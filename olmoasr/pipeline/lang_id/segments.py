"""What `tag lang` needs from a segment record: whether its transcript has speech, and its audio."""

from __future__ import annotations

from typing import Any

import numpy as np

from olmoasr.errors import TranscriptError
from olmoasr.records.segment_store import load_segment_audio
from olmoasr.records.transcripts import parse_transcript, transcript_text


def has_speech(record: dict[str, Any]) -> bool:
    """False for no-speech segments: an empty `seg_content`, or one with no caption text (a bare
    `WEBVTT` header, which the original still classified). Unparseable non-empty text counts as speech:
    the audio can still be identified."""
    content = record.get("seg_content")
    if not isinstance(content, str) or not content.strip("\ufeff \t\r\n"):
        return False
    try:
        captions = parse_transcript(content, allow_empty=True).captions
    except TranscriptError as err:
        return err.reason != "empty_transcript"
    return bool(transcript_text(captions))


def load_segment_waveform(record: dict[str, Any]) -> np.ndarray:
    """16 kHz mono float32 samples of the segment's audio, from any storage prep writes (raises AudioError)."""
    return load_segment_audio(record)
