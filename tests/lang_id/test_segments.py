"""Which segments vote: only those whose transcript has caption text."""

from __future__ import annotations

import pytest

from olmoasr.pipeline.lang_id.segments import has_speech


@pytest.mark.parametrize(
    ("content", "speech"),
    [
        ("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nhello\n", True),
        ("1\n00:00:00,000 --> 00:00:01,000\nbonjour\n", True),  # SRT
        ("", False),
        ("   \n", False),
        ("WEBVTT\n\n", False),  # the original still classified these
        ("WEBVTT\nKind: captions\nLanguage: en\n\n", False),
        ("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<c> </c>\n", False),  # markup only
        ("just some words without timings", True),  # unparseable but has text: the audio is still identified
        (None, False),
    ],
)
def test_has_speech(content, speech):
    assert has_speech({"seg_content": content}) is speech
