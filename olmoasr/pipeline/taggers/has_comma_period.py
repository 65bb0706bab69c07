"""`has_comma_period`: some caption contains "." and some caption contains "," (spec §3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from olmoasr.pipeline.taggers.base import TagContext, Tagger


@dataclass
class HasCommaPeriodTagger(Tagger):
    name: ClassVar[str] = "has_comma_period"
    field: ClassVar[str] = "has_comma_period"

    def tag(self, ctx: TagContext) -> bool:
        return any("." in text for text in ctx.captions) and any("," in text for text in ctx.captions)
