"""`seg_num_words`: words of one segment's captions (the README schema's field; segment level only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from olmoasr.pipeline.taggers.base import TagContext, Tagger


@dataclass
class SegNumWordsTagger(Tagger):
    name: ClassVar[str] = "seg_num_words"
    field: ClassVar[str] = "seg_num_words"
    levels: ClassVar[tuple] = ("segment",)

    def tag(self, ctx: TagContext) -> int:
        return sum(len(text.split()) for text in ctx.captions)
