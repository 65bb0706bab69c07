"""The one record schema shared by every stage: a document (one audio + transcript pair) and a segment
(one <= 30 s training window). Field names and order follow the original's JSONL so its files load
unchanged. Tags are optional fields; unknown fields (other tools' tags) are kept on round-trip.

The models are the single source of field names and types. Writers build records through them
(`document_record`, `segment_record`: validated, serialisable dicts); readers choose per boundary:
`validate_document` / `validate_segment` (Pydantic, a few µs a record, typed `RecordError`) where a stage
works on few records, or `check_document` / `check_segment` (a plain-dict check derived from the same
models, about a third of Pydantic's cost: `benchmarks/bench_schema.py`) where a hot loop must skip and
count bad records.
"""

from __future__ import annotations

import os
import re
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from olmoasr.errors import InputError, UsageError
from olmoasr.timestamps import norm_end_to_ms, parse_range_ms

Casing = Literal["upper", "lower", "mixed"]


class _Record(BaseModel):
    # Strict: JSON types as they are (no "512" -> 512), so `check_*` and `validate_*` agree on every record.
    model_config = ConfigDict(extra="allow", populate_by_name=True, validate_assignment=False, strict=True)

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
    ts_mode: bool = True
    no_ts_mode: bool = True
    only_no_ts_mode: bool = False
    num_tokens_no_ts_mode: int = 0
    num_tokens_ts_mode: int = 0
    # Where the segment's FLAC bytes sit inside `audio_file` when that is a container (tar) file:
    # byte offset of the member's data and its size, so a reader seeks instead of scanning.
    audio_offset: int | None = None
    audio_nbytes: int | None = None
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


_CANONICAL_RANGE = re.compile(r"(\d\d):(\d\d):(\d\d)[.,](\d\d\d)_(\d\d):(\d\d):(\d\d)[.,](\d\d\d)")


def segment_duration_s(record: dict[str, Any]) -> float:
    """Audio duration of a segment dict without building a model (hot path of filter/sample)."""
    ts = record.get("audio_timestamp")
    if isinstance(ts, str):
        canonical = _CANONICAL_RANGE.fullmatch(ts)
        if canonical is not None:  # `HH:MM:SS,mmm_HH:MM:SS,mmm`, as prep writes it: one match, no splitting
            h0, m0, s0, ms0, h1, m1, s1, ms1 = map(int, canonical.groups())
            end_ms = ((h1 * 60 + m1) * 60 + s1) * 1000 + ms1
            return max(0, end_ms - (((h0 * 60 + m0) * 60 + s0) * 1000 + ms0)) / 1000.0
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


# ------------------------------------------------------------------------------------ field names

DOCUMENT_FIELDS: tuple[str, ...] = tuple(_DocumentFields.model_fields)
"""The fields that are the document itself, in the original's order; every other field is a tag."""
SEGMENT_FIELDS: tuple[str, ...] = tuple(_SegmentFields.model_fields)
TAG_FIELDS: tuple[str, ...] = tuple(DocumentTags.model_fields)


# ------------------------------------------------------------------------------------ validation


class RecordError(InputError):
    """A record that does not match the schema. `reason` is `missing:<field>` or `bad:<field>`."""


def _first_error(err: ValidationError) -> tuple[str, str]:
    detail = err.errors()[0]
    field = str(detail["loc"][0]) if detail["loc"] else "record"
    kind = "missing" if detail["type"] == "missing" else "bad"
    return f"{kind}:{field}", f"field `{field}`: {detail['msg']}"


def _validate(model: type[_Record], record: Any, where: str) -> Any:
    if not isinstance(record, dict):
        raise RecordError(where, "bad:record", f"expected a JSON object, got {type(record).__name__}")
    try:
        return model.model_validate(record)
    except ValidationError as err:
        reason, message = _first_error(err)
        raise RecordError(where, reason, message) from None


def validate_document(record: Any, where: str = "<record>") -> DocumentRecord:
    """The record as a `DocumentRecord`, or a `RecordError` naming the first bad field."""
    return _validate(DocumentRecord, record, where)


def validate_segment(record: Any, where: str = "<record>") -> SegmentRecord:
    """The record as a `SegmentRecord`, or a `RecordError` naming the first bad field."""
    return _validate(SegmentRecord, record, where)


def document_record(**fields: Any) -> dict[str, Any]:
    """A document record as the writers store it: validated by `DocumentRecord`, fields in schema order
    (core, tags, then extra fields), unset optional fields left out. Raises `RecordError`."""
    return validate_document(fields, str(fields.get("subtitle_file") or fields.get("id"))).to_dict()


def segment_record(**fields: Any) -> dict[str, Any]:
    """A segment record as the writers store it (see `document_record`). Raises `RecordError`."""
    return validate_segment(fields, str(fields.get("seg_id"))).to_dict()


# ------------------------------------------------------------------------------------ fast check


def _json_types(annotation: Any) -> tuple[frozenset[type], frozenset[str] | None]:
    """The exact JSON value types a field's strict validation accepts, and a Literal's allowed values."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return frozenset({str}), frozenset(typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        found: set[type] = set()
        literals: set[str] = set()
        for arg in typing.get_args(annotation):
            arg_types, arg_literals = _json_types(arg)
            found |= arg_types
            literals |= arg_literals or set()
        return frozenset(found), frozenset(literals) if literals else None
    if annotation is float:
        return frozenset({float, int}), None  # strict mode takes an int for a float, never a bool
    if annotation in (type(None), bool, int, str):
        return frozenset({annotation}), None
    raise TypeError(f"no fast check for field type {annotation!r}")


@dataclass(frozen=True)
class _Checks:
    required: tuple[str, ...]
    typed: dict[str, frozenset[type]]
    literals: tuple[tuple[str, frozenset[str]], ...]


def _checks(model: type[_Record]) -> _Checks:
    typed, literals = [], []
    for name, info in model.model_fields.items():
        allowed, values = _json_types(info.annotation)
        typed.append((name, allowed))
        if values is not None:
            literals.append((name, values))
    required = tuple(name for name, info in model.model_fields.items() if info.is_required())
    return _Checks(required, dict(typed), tuple(literals))


_DOCUMENT_CHECKS = _checks(DocumentRecord)
_SEGMENT_CHECKS = _checks(SegmentRecord)


def _check(checks: _Checks, record: Any) -> str | None:
    if type(record) is not dict:
        return "bad:record"
    for name in checks.required:
        if name not in record:
            return f"missing:{name}"
    typed = checks.typed
    for name, value in record.items():  # fields the record leaves out keep their defaults
        allowed = typed.get(name)
        if allowed is not None and type(value) not in allowed:
            return f"bad:{name}"
    for name, values in checks.literals:
        value = record.get(name)
        if type(value) is str and value not in values:
            return f"bad:{name}"
    return None


def check_document(record: Any) -> str | None:
    """Why a plain dict is not a valid document (`missing:<field>`, `bad:<field>`), or None when it is.

    The hot-loop twin of `validate_document`: a record it accepts, `validate_document` accepts too."""
    return _check(_DOCUMENT_CHECKS, record)


def check_segment(record: Any) -> str | None:
    """Why a plain dict is not a valid segment, or None (see `check_document`)."""
    return _check(_SEGMENT_CHECKS, record)


RecordKind = Literal["document", "segment"]


def record_kind(record: Any) -> RecordKind | None:
    """Which of the two records a plain dict is (a segment has no `content`, a document no `seg_content`)."""
    if check_segment(record) is None:
        return "segment"
    return "document" if check_document(record) is None else None


def refuse_other_record_kind(paths: Iterable[str | os.PathLike[str]], expected: RecordKind, hint: str) -> None:
    """Fail once, naming the file, when a file's first record is the other kind (the wrong stage's output),
    before any work; otherwise every record would be skipped on its own line and the stage end empty."""
    from olmoasr.io.jsonl import iter_jsonl
    from olmoasr.io.storage import location_str

    other = "segment" if expected == "document" else "document"
    for path in paths:
        for _, record in iter_jsonl(path, report=False):
            if record_kind(record) == other:
                raise UsageError(f"{location_str(path)}: holds {other} records, not {expected}s; {hint}")
            break
