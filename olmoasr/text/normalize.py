"""Whisper's English text normaliser semantics, from the maintained `whisper-normalizer` package.

One shared instance: tagging (edit distances), training metrics and evaluation must normalise the same way.
"""

from __future__ import annotations

from functools import cache


@cache
def _normalizer():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalize_english(text: str) -> str:
    """Lower-case, spell out / standardise numbers, spellings and punctuation like Whisper's normaliser."""
    return _normalizer()(text)
