"""What `tag lang` needs from a segment record: whether its transcript has speech, and its audio."""

from __future__ import annotations

from typing import Any

import numpy as np

from olmoasr.audio import load_audio
from olmoasr.errors import AudioError, TranscriptError
from olmoasr.pipeline.transcripts import parse_transcript, transcript_text


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
    """16 kHz mono float32 samples of the segment's audio (raises AudioError)."""
    try:
        from olmoasr.pipeline.segment_audio import load_segment_audio
    except ImportError:
        return _read_segment_audio(record)
    return load_segment_audio(record)


def _read_segment_audio(record: dict[str, Any]) -> np.ndarray:
    path = record.get("audio_file")
    if not isinstance(path, str) or not path:
        raise AudioError("<record>", "missing_audio", f"segment {record.get('seg_id')!r} has no audio_file")
    offset, nbytes = record.get("audio_offset"), record.get("audio_nbytes")
    if isinstance(offset, int) and isinstance(nbytes, int):
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                data = fh.read(nbytes)
        except OSError as err:
            raise AudioError(path, "missing_audio", f"cannot read segment audio ({err.strerror or err})") from err
        return load_audio(data)
    return load_audio(path)
