"""The one record schema shared by every stage: a document (one audio + transcript pair) and a segment
(one <= 30 s training window). Field names and order follow the original's JSONL so its files load
unchanged. Tags are optional fields; unknown fields (other tools' tags) are kept on round-trip.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict

from olmoasr.timestamps import norm_end_to_ms, parse_range_ms

Casing = Literal["upper", "lower", "mixed"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, validate_assignment=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with unset optional tags left out (the original never wrote nulls for tags)."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_json_bytes(self) -> bytes:
        return orjson.dumps(self.to_dict())


class DocumentTags(_Record):
    """Document-level tags (spec §3, §4). All optional: a stage adds the ones it computes."""

    casing: Casing | None = None
    repeating_lines: bool | None = None
    text_lang: str | None = None
    edit_dist: float | None = None
    has_comma_period: bool | None = None
    has_proper_cap_after_punct_line: bool | None = None
    num_words: int | None = None
    audio_lang: str | None = None


class _DocumentFields(_Record):
    subtitle_file: str
    content: str
    length: float
    audio_file: str | None = None
    id: str
    mach_content: str | None = None
    mach_subtitle_file: str | None = None


class DocumentRecord(DocumentTags, _DocumentFields):
    """One audio/transcript pair, as written by `prep jsonl`. Serialised fields: core first, then tags."""


class _SegmentFields(_Record):
    subtitle_file: str
    seg_content: str
    text_timestamp: str
    audio_timestamp: str
    norm_end: int | str
    id: str
    seg_id: str
    audio_file: str | None = None
    # Where the segment's FLAC bytes sit inside `audio_file` when that is a container (tar) file:
    # byte offset of the member's data and its size, so a reader seeks instead of scanning.
    audio_offset: int | None = None
    audio_nbytes: int | None = None
    ts_mode: bool = True
    no_ts_mode: bool = True
    only_no_ts_mode: bool = False
    num_tokens_ts_mode: int = 0
    num_tokens_no_ts_mode: int = 0
    # Manual/machine alignment (spec §2.5) and segment-level tags.
    seg_text: str | None = None
    mach_seg_text: str | None = None
    mach_seg_content: str | None = None
    mach_timestamp: str | None = None
    seg_edit_dist: float | None = None
    seg_num_words: int | None = None
    timestamp: str | None = None


class SegmentRecord(DocumentTags, _SegmentFields):
    """One training window, as written by `prep segment`. Document tags are carried into it."""

    @property
    def norm_end_ms(self) -> int:
        value = norm_end_to_ms(self.norm_end)
        assert value is not None
        return value

    @property
    def audio_range_ms(self) -> tuple[int, int]:
        return parse_range_ms(self.audio_timestamp)

    @property
    def duration_s(self) -> float:
        start, end = self.audio_range_ms
        return (end - start) / 1000.0


def segment_duration_s(record: dict[str, Any]) -> float:
    """Audio duration of a segment dict without building a model (hot path of filter/sample)."""
    ts = record.get("audio_timestamp")
    if isinstance(ts, str):
        try:
            start, end = parse_range_ms(ts)
            return max(0, end - start) / 1000.0
        except ValueError:
            pass
    return 30.0


def record_duration_s(record: dict[str, Any]) -> float:
    """Duration of a document (its `length`) or a segment (its audio window) from a plain dict."""
    if "seg_id" in record or "audio_timestamp" in record:
        return segment_duration_s(record)
    length = record.get("length")
    return float(length) if isinstance(length, int | float) else 0.0
