"""Whisper English normaliser semantics (whisper-normalizer), on the cases edit distances depend on."""

from __future__ import annotations

import pytest

from olmoasr.text import normalize_english


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, World!", "hello world"),
        ("twenty one", "21"),  # spelled-out numbers become digits
        ("one two", "12"),  # ... including Whisper's quirk of joining consecutive number words
        ("It's 5 o'clock", "it is 50 clock"),
        ("it is five o'clock", "it is 50 clock"),  # so both spellings agree
        ("1,000,000", "1000000"),
        ("I'm gonna", "i am going to"),  # contractions and informal forms
        ("won't", "will not"),
        ("colour", "color"),  # British -> American spelling
        ("theatre", "theater"),
        ("Mr. Smith paid $20.50", "mister smith paid $20.50"),  # titles
        ("[Music]", ""),  # bracketed annotations removed
        ("hmm (laughs) yes", "yes"),  # parenthesised annotations and fillers removed
        ("uh I um think", "i think"),  # fillers removed
    ],
)
def test_normalizer_table(text, expected):
    assert normalize_english(text) == expected
