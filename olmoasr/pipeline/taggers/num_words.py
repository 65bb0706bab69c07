"""`num_words`: whitespace-separated words over all captions (spec §3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from olmoasr.pipeline.taggers.base import TagContext, Tagger


@dataclass
class NumWordsTagger(Tagger):
    name: ClassVar[str] = "num_words"
    field: ClassVar[str] = "num_words"

    def tag(self, ctx: TagContext) -> int:
        return sum(len(text.split()) for text in ctx.captions)
