"""From a record to what taggers read: caption texts, the manual text, the machine text (lazily).

Document level reads `content` (+ `mach_content`); segment level reads `seg_content` (+ prep's aligned
`mach_seg_text` / `mach_seg_content`). Plain transcripts take a fast path that only splits captions;
anything unusual goes through the one transcript parser (`olmoasr.pipeline.transcripts`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from olmoasr.errors import TranscriptError
from olmoasr.pipeline.taggers.base import Level, TagContext
from olmoasr.pipeline.transcripts import machine_transcript_text, parse_transcript
from olmoasr.schema import record_duration_s


class UnparseableRecord(Exception):
    """A record the taggers cannot read (no transcript field, or a transcript that does not parse)."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


_FORMAT_BY_SUFFIX = {".srt": "srt", ".vtt": "vtt"}


def _format_hint(record: dict[str, Any], content: str) -> str | None:
    name = record.get("subtitle_file")
    if isinstance(name, str):
        dot = name.rfind(".")
        fmt = _FORMAT_BY_SUFFIX.get(name[dot:].lower()) if dot >= 0 else None
        # Trust the extension only when the content agrees (a `.srt` name over WebVTT text happens).
        if fmt == "srt" and content.lstrip("\ufeff \r\n").startswith("WEBVTT"):
            return "vtt"
        return fmt
    return None


_CANONICAL_TIMING = re.compile(r"(\d\d:\d\d:\d\d[.,]\d\d\d) --> (\d\d:\d\d:\d\d[.,]\d\d\d)")
_NEEDS_FULL_PARSER = re.compile(r"[\r\ufeff<&{\xa0]")


def canonical_caption_texts(content: str) -> list[str] | None:
    """Caption texts of a transcript in the plain form `format_transcript` writes (and most tools do), or
    None for anything else. A fast path for taggers, which need texts only: where it answers, it answers
    exactly what `parse_transcript` would (tested for parity); markup, entities, cue settings, CR line ends,
    unsorted, empty, duplicate or backwards cues all return None, and the full parser decides."""
    if _NEEDS_FULL_PARSER.search(content) is not None:
        return None
    texts: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    previous = ""
    for block in content.split("\n\n"):
        if "-->" not in block:
            continue  # header, NOTE, index-only or stray text: never a caption (the full parser agrees)
        lines = block.split("\n")
        while not lines[0].strip():
            lines.pop(0)
        row = 0 if "-->" in lines[0] else 1
        timing = _CANONICAL_TIMING.fullmatch(lines[row]) if row < len(lines) else None
        if timing is None:
            return None
        body = lines[row + 1 :]
        if any("-->" in line for line in body):
            return None
        start, end = timing.groups()
        start, end = start[:8] + start[9:], end[:8] + end[9:]  # without the separator: compares as numbers
        if end < start or start < previous:
            return None
        previous = start
        text = "\n".join(stripped for stripped in (line.strip() for line in body) if stripped)
        if not text or (start, end, text) in seen:
            return None
        seen.add((start, end, text))
        texts.append(text)
    return texts or None


def _captions(content: str, fmt: str | None, source: str) -> list:
    try:
        return parse_transcript(content, fmt, source=source).captions
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
        try:
            return machine_transcript_text(_captions(content, None, source))
        except TranscriptError:
            return None

    return load


def build_context(
    record: dict[str, Any], level: Level, source: str = "<record>", duration_s: float | None = None
) -> TagContext:
    """Parse a record's transcript(s) into what taggers read. Raises UnparseableRecord."""
    content_key = "content" if level == "document" else "seg_content"
    content = record.get(content_key)
    if not isinstance(content, str):
        raise UnparseableRecord(f"missing:{content_key}", f"no `{content_key}` string in the record")
    texts = canonical_caption_texts(content)
    if texts is None:
        try:
            texts = [c.text for c in _captions(content, _format_hint(record, content), source)]
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
        man_text=" ".join(text for text in (t.strip() for t in texts) if text),
        duration_s=record_duration_s(record) if duration_s is None else duration_s,
        level=level,
        mach_loader=mach,
    )
