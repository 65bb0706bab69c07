"""`seg_edit_dist`: manual vs aligned machine text of one segment (prep's `mach_seg_*`), spec §2.5."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from olmoasr.pipeline.taggers.base import TagContext, Tagger
from olmoasr.pipeline.taggers.edit_dist import edit_dist_bucket, manual_machine_wer


@dataclass
class SegEditDistTagger(Tagger):
    name: ClassVar[str] = "seg_edit_dist"
    field: ClassVar[str] = "seg_edit_dist"
    levels: ClassVar[tuple] = ("segment",)

    def tag(self, ctx: TagContext) -> float:
        mach = ctx.mach_text
        if mach is None:
            self.note("no_machine_segment")
        return manual_machine_wer(ctx.man_text, mach)

    def bucket(self, value: object) -> str | None:
        return edit_dist_bucket(value)
