"""`edit_dist`: word error rate of the machine transcript against the manual one, spec §3.

WER (jiwer's definition) on texts normalised with Whisper's English normaliser, after decoded `<` / `>`
became spaces (`normalize_caption_text`). Fallbacks (the original's):
- manual text normalises to "" and is itself empty -> machine (normalised, else raw) vs "": 1.0 if the
  machine transcript has words, 0.0 if both are empty;
- manual text non-empty but normalises to "" (e.g. only "[Music]") -> raw manual vs normalised machine.
A record without a machine transcript (no `mach_content`, or null) has no edit distance: the tag is null
and counted (`no_machine_transcript`; `unparseable_machine_transcript` for one that does not parse), and
`filter --missing` decides what happens to it. A machine
transcript that is present but empty is a transcript with no words, and scores (1.0 against any manual
words). At segment level the same rule runs on the segment's manual and aligned machine texts
(`seg_edit_dist`), where a missing one is counted as `no_machine_segment`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from olmoasr.pipeline.taggers.base import TagContext, Tagger
from olmoasr.text.normalize import normalize_caption_text
from olmoasr.text.wer import word_error_rate


def manual_machine_wer(
    man_text: str,
    mach_text: str,
    normalize: Callable[[str], str] = normalize_caption_text,
    wer: Callable[[str, str], float] = word_error_rate,
) -> float:
    """The edit distance of one manual/machine pair (both present), with the fallbacks above. (`normalize`
    and `wer` are parameters so that a check can run the same rule on reference implementations.)"""
    norm_man = normalize(man_text).strip() if man_text.strip() else ""
    norm_mach = normalize(mach_text).strip() if mach_text.strip() else ""
    if norm_man:
        return float(wer(norm_man, norm_mach))
    if not man_text.strip():
        return 1.0 if (norm_mach or mach_text.strip()) else 0.0
    return float(wer(man_text.strip(), norm_mach))


def edit_dist_bucket(value: object) -> str | None:
    if value is None:
        return "null"
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

    def tag(self, ctx: TagContext) -> float | None:
        mach = ctx.mach_text
        if mach is None:
            what = "transcript" if ctx.level == "document" else "segment"
            self.note(f"unparseable_machine_{what}" if ctx.mach_unparseable else f"no_machine_{what}")
            return None
        return manual_machine_wer(ctx.man_text, mach, ctx.normalized)

    def bucket(self, value: object) -> str | None:
        return edit_dist_bucket(value)
