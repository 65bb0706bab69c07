"""`edit_dist`: word error rate of the machine transcript against the manual one, spec §3.

jiwer on text normalised with Whisper's English normaliser. Fallbacks (same as the original):
- manual text normalises to "" and is itself empty -> machine (normalised, else raw) vs "": 1.0 if the
  machine transcript has words, 0.0 if both are empty;
- manual text non-empty but normalises to "" (e.g. only "[Music]") -> raw manual vs normalised machine;
- no machine transcript at all -> machine text "" -> 1.0 for any manual text with words.
At segment level the same rule runs on the segment's manual and aligned machine texts (`seg_edit_dist`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jiwer

from olmoasr.pipeline.taggers.base import TagContext, Tagger
from olmoasr.text import normalize_english


def manual_machine_wer(man_text: str, mach_text: str | None) -> float:
    mach_text = mach_text or ""
    norm_man = normalize_english(man_text).strip() if man_text.strip() else ""
    norm_mach = normalize_english(mach_text).strip() if mach_text.strip() else ""
    if norm_man:
        return float(jiwer.wer(norm_man, norm_mach))
    if not man_text.strip():
        return 1.0 if (norm_mach or mach_text.strip()) else 0.0
    return float(jiwer.wer(man_text.strip(), norm_mach))


def edit_dist_bucket(value: object) -> str | None:
    if not isinstance(value, int | float):
        return None
    if value == 0:
        return "=0"
    if value == 1:
        return "=1"
    return ">1" if value > 1 else "(0,1)"


@dataclass
class EditDistTagger(Tagger):
    name: ClassVar[str] = "edit_dist"
    field: ClassVar[str] = "edit_dist"

    def tag(self, ctx: TagContext) -> float:
        mach = ctx.mach_text
        if mach is None:
            self.note("no_machine_transcript")
        return manual_machine_wer(ctx.man_text, mach)

    def bucket(self, value: object) -> str | None:
        return edit_dist_bucket(value)
