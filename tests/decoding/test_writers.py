"""Each writer's exact output format."""

from __future__ import annotations

import json
import math

import pytest

from olmoasr.errors import UsageError
from olmoasr.outputs import parse_formats, write_result

RESULT = {
    "text": " Hello there. General Kenobi!",
    "language": "en",
    "segments": [
        {"id": 0, "start": 0.0, "end": 1.5004, "text": " Hello\tthere.", "no_speech_prob": math.nan},
        {"id": 1, "start": 3661.25, "end": 3662.0, "text": " General --> Kenobi!", "avg_logprob": -0.1},
        {"id": 2, "start": 3662.0, "end": 3662.0, "text": "", "avg_logprob": -0.1},
    ],
}


def test_all_formats_written_atomically(tmp_path):
    paths = write_result(RESULT, "/data/talk.mp3", tmp_path, "all")
    assert sorted(p.name for p in paths) == ["talk.json", "talk.srt", "talk.tsv", "talk.txt", "talk.vtt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]

    assert (tmp_path / "talk.txt").read_text() == "Hello\tthere.\nGeneral --> Kenobi!\n"
    assert (tmp_path / "talk.srt").read_text() == (
        "1\n00:00:00,000 --> 00:00:01,500\nHello\tthere.\n\n2\n01:01:01,250 --> 01:01:02,000\nGeneral -> Kenobi!\n"
    )
    assert (tmp_path / "talk.vtt").read_text() == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello\tthere.\n\n01:01:01.250 --> 01:01:02.000\nGeneral -> Kenobi!\n"
    )
    assert (tmp_path / "talk.tsv").read_text() == (
        "start\tend\ttext\n0\t1500\tHello there.\n3661250\t3662000\tGeneral --> Kenobi!\n"
    )
    data = json.loads((tmp_path / "talk.json").read_text())
    assert data["segments"][0]["no_speech_prob"] is None  # NaN is not JSON
    assert data["text"] == RESULT["text"]


def test_format_selection():
    assert parse_formats("srt, VTT,json") == ["srt", "vtt", "json"]
    assert parse_formats("all") == ["txt", "srt", "vtt", "tsv", "json"]
    with pytest.raises(UsageError, match="unknown output format 'docx'"):
        parse_formats("srt,docx")
