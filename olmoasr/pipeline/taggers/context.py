"""From a record to what taggers read: caption texts, the manual text, the machine text (lazily).

Document level reads `content` (+ `mach_content`); segment level reads `seg_content` (+ prep's aligned
`mach_seg_text` / `mach_seg_content`). Transcripts in the common form take the parser's texts-only fast
path (`canonical_caption_texts`); anything unusual goes through the one transcript parser
(`olmoasr.records.transcripts`). What each tag then means: `docs/taggers.md`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from olmoasr.errors import TranscriptError
from olmoasr.pipeline.taggers.base import Level, TagContext
from olmoasr.records.schema import record_duration_s
from olmoasr.records.transcripts import canonical_caption_texts, machine_transcript_text, parse_transcript


class UnparseableRecord(Exception):
    """A record the taggers cannot read (no transcript field, or a transcript that does not parse)."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


def caption_texts(content: str, name: str | None, source: str) -> list[str]:
    """A transcript's cue texts: the fast path where it answers, else the full parser (an empty transcript
    has none). Raises TranscriptError for one that does not parse."""
    texts = canonical_caption_texts(content)
    if texts is not None:
        return texts
    try:
        return [c.text for c in parse_transcript(content, source=source, name=name).captions]
    except TranscriptError as err:
        if err.reason == "empty_transcript":
            return []
        raise


def _machine_loader(content: Any, fallback_text: Any, source: str) -> Callable[[], str | None]:
    def load() -> str | None:
        if isinstance(fallback_text, str):
            return fallback_text
        if not isinstance(content, str):
            return None
        return machine_transcript_text(caption_texts(content, None, source))

    return load


def build_context(
    record: dict[str, Any], level: Level, source: str = "<record>", duration_s: float | None = None
) -> TagContext:
    """Parse a record's transcript(s) into what taggers read. Raises UnparseableRecord."""
    content_key = "content" if level == "document" else "seg_content"
    content = record.get(content_key)
    if not isinstance(content, str):
        raise UnparseableRecord(f"missing:{content_key}", f"no `{content_key}` string in the record")
    name = record.get("subtitle_file")
    try:
        texts = caption_texts(content, name if isinstance(name, str) else None, source)
    except TranscriptError as err:
        detail = str(err).removeprefix(f"{source}: ")
        raise UnparseableRecord(err.reason, f"`{content_key}` does not parse: {detail}") from None
    if level == "document":
        mach = _machine_loader(record.get("mach_content"), None, source)
    else:
        mach_text = record.get("mach_seg_text")
        mach = _machine_loader(record.get("mach_seg_content"), None if mach_text == "None" else mach_text, source)
    return TagContext(
        captions=texts,
        man_text=" ".join(filter(None, map(str.strip, texts))),
        duration_s=record_duration_s(record) if duration_s is None else duration_s,
        level=level,
        mach_loader=mach,
    )
