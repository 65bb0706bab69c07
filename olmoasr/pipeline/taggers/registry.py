"""Tagger registry: YAML `tag:` name -> tagger class. Adding a tagger = one module + one line here."""

from __future__ import annotations

from olmoasr.pipeline.taggers.base import Tagger
from olmoasr.pipeline.taggers.casing import CasingTagger
from olmoasr.pipeline.taggers.edit_dist import EditDistTagger
from olmoasr.pipeline.taggers.has_comma_period import HasCommaPeriodTagger
from olmoasr.pipeline.taggers.has_proper_cap_after_punct_line import HasProperCapAfterPunctLineTagger
from olmoasr.pipeline.taggers.num_words import NumWordsTagger
from olmoasr.pipeline.taggers.repeating_lines import RepeatingLinesTagger
from olmoasr.pipeline.taggers.seg_edit_dist import SegEditDistTagger
from olmoasr.pipeline.taggers.seg_num_words import SegNumWordsTagger
from olmoasr.pipeline.taggers.text_lang import TextLangTagger

TAGGERS: dict[str, type[Tagger]] = {
    cls.name: cls
    for cls in (
        CasingTagger,
        RepeatingLinesTagger,
        TextLangTagger,
        EditDistTagger,
        SegEditDistTagger,
        HasCommaPeriodTagger,
        HasProperCapAfterPunctLineTagger,
        NumWordsTagger,
        SegNumWordsTagger,
    )
}


def tagger_names() -> list[str]:
    return sorted(TAGGERS)
