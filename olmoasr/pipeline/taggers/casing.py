"""`casing`: upper / lower / mixed, from the per-caption casing of ASCII letters (spec §3)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from olmoasr.pipeline.taggers.base import TagContext, Tagger

_HAS_UPPER = re.compile("[A-Z]").search
_HAS_LOWER = re.compile("[a-z]").search


def caption_casing(text: str) -> str:
    """Empty -> mixed; ASCII upper and lower -> mixed; only upper -> upper; else (lower or no letters) -> lower."""
    if not text.strip():
        return "mixed"
    has_upper = _HAS_UPPER(text) is not None
    has_lower = _HAS_LOWER(text) is not None
    if has_upper and has_lower:
        return "mixed"
    return "upper" if has_upper else "lower"


def document_casing(counts: dict[str, int], ratio: float = 0.6) -> str:
    """The most frequent class. A tie is `mixed` if mixed is among the tied classes, otherwise `upper`
    (the first of upper, lower), and is final. A single winner is then adjusted: lower wins but
    mixed/lower > ratio -> mixed; mixed wins but upper/mixed > ratio -> upper."""
    upper, lower, mixed = counts.get("upper", 0), counts.get("lower", 0), counts.get("mixed", 0)
    best = max(upper, lower, mixed)
    tied = [name for name, n in (("upper", upper), ("lower", lower), ("mixed", mixed)) if n == best]
    if len(tied) > 1:
        return "mixed" if "mixed" in tied else tied[0]
    winner = tied[0]
    if winner == "lower" and mixed / lower > ratio:
        return "mixed"
    if winner == "mixed" and upper / mixed > ratio:
        return "upper"
    return winner


@dataclass
class CasingTagger(Tagger):
    name: ClassVar[str] = "casing"
    field: ClassVar[str] = "casing"
    ratio: float = 0.6

    def tag(self, ctx: TagContext) -> str:
        counts = {"upper": 0, "lower": 0, "mixed": 0}
        for text in ctx.captions:
            counts[caption_casing(text)] += 1
        return document_casing(counts, self.ratio)
