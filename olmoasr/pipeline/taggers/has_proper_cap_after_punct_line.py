"""`has_proper_cap_after_punct_line`: False when a caption that follows one ending in `.`, `!` or `?`
starts with a lower-case letter; True otherwise (spec §3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from olmoasr.pipeline.taggers.base import TagContext, Tagger

_ENDS_SENTENCE = re.compile(r"[.!?]\s*$")


def proper_cap_after_punct(captions: list[str] | tuple[str, ...]) -> bool:
    previous_ends_sentence = False
    for text in captions:
        start = text.lstrip()
        if previous_ends_sentence and start and start[0].islower():
            return False
        previous_ends_sentence = bool(_ENDS_SENTENCE.search(text))
    return True


@dataclass
class HasProperCapAfterPunctLineTagger(Tagger):
    name: ClassVar[str] = "has_proper_cap_after_punct_line"
    field: ClassVar[str] = "has_proper_cap_after_punct_line"

    def tag(self, ctx: TagContext) -> bool:
        return proper_cap_after_punct(ctx.captions)
