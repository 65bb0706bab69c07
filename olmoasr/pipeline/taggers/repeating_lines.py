"""`repeating_lines`: a caption contains the previous caption's text (rolling auto-captions), spec §3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from olmoasr.pipeline.taggers.base import TagContext, Tagger


def has_repeating_lines(captions: list[str] | tuple[str, ...], min_words: int = 2) -> bool:
    """True at the first caption that contains the previous caption's text as a substring, when both have
    at least `min_words` whitespace-separated words (the original: more than one)."""
    previous = None
    previous_long = False
    for text in captions:
        long = len(text.split()) >= min_words
        if previous_long and long and previous in text:
            return True
        previous, previous_long = text, long
    return False


@dataclass
class RepeatingLinesTagger(Tagger):
    name: ClassVar[str] = "repeating_lines"
    field: ClassVar[str] = "repeating_lines"
    min_words: int = 2

    def tag(self, ctx: TagContext) -> bool:
        return has_repeating_lines(ctx.captions, self.min_words)
