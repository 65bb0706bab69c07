"""The schema as the validator at stage boundaries: field names, the Pydantic path and the plain-dict check."""

from __future__ import annotations

import copy

import pytest

from olmoasr.records.schema import (
    DOCUMENT_FIELDS,
    SEGMENT_FIELDS,
    TAG_FIELDS,
    DocumentRecord,
    RecordError,
    check_document,
    check_segment,
    document_record,
    segment_record,
    validate_document,
    validate_segment,
)

DOCUMENT = {"subtitle_file": "/d/a.vtt", "content": "WEBVTT\n\n", "length": 3, "audio_file": "/d/a.m4a", "id": "a"}
SEGMENT = {
    "subtitle_file": "/d/00:00:00,000_00:00:05,000.vtt",
    "seg_content": "WEBVTT\n\n",
    "text_timestamp": "00:00:00,000_00:00:05,000",
    "audio_timestamp": "00:00:00,000_00:00:05,000",
    "norm_end": 5000,
    "id": "a",
    "seg_id": "a_0",
    "audio_file": "/s/a.tar",
    "audio_offset": 512,
    "audio_nbytes": 100,
    "casing": "mixed",
    "my_tool_score": 0.5,
}


def test_field_names_come_from_the_models():
    assert DOCUMENT_FIELDS == (
        "subtitle_file",
        "content",
        "length",
        "audio_file",
        "id",
        "mach_content",
        "mach_subtitle_file",
    )
    assert SEGMENT_FIELDS[:7] == (
        "subtitle_file",
        "seg_content",
        "text_timestamp",
        "audio_timestamp",
        "norm_end",
        "id",
        "seg_id",
    )
    assert "casing" in TAG_FIELDS and "casing" not in DOCUMENT_FIELDS
    assert set(DOCUMENT_FIELDS) | set(TAG_FIELDS) == set(DocumentRecord.model_fields)


def test_good_records_pass_both_paths():
    assert check_document(DOCUMENT) is None and check_segment(SEGMENT) is None
    assert validate_document(DOCUMENT).id == "a"
    assert validate_segment(SEGMENT).audio_offset == 512


BAD_SEGMENTS = [
    ("seg_id", None, "missing:seg_id"),
    ("norm_end", [5000], "bad:norm_end"),
    ("audio_offset", "512", "bad:audio_offset"),
    ("ts_mode", "yes", "bad:ts_mode"),
    ("casing", "Upper", "bad:casing"),
    ("seg_content", 7, "bad:seg_content"),
]


@pytest.mark.parametrize(("field", "value", "reason"), BAD_SEGMENTS)
def test_bad_segments_are_rejected_with_the_same_reason_by_both_paths(field, value, reason):
    record = copy.deepcopy(SEGMENT)
    if value is None:
        del record[field]
    else:
        record[field] = value
    assert check_segment(record) == reason
    with pytest.raises(RecordError) as info:
        validate_segment(record, where="shard.jsonl:3")
    assert info.value.reason == reason
    assert str(info.value).startswith("shard.jsonl:3: field `")


def test_not_an_object_is_a_bad_record():
    assert check_document(["a"]) == "bad:record"
    assert check_segment("text") == "bad:record"
    with pytest.raises(RecordError) as info:
        validate_document(3)
    assert info.value.reason == "bad:record"


def test_writers_get_schema_ordered_dicts_without_unset_fields():
    doc = document_record(id="a", length=3.0, content="c", subtitle_file="s.srt", my_tag=1)
    assert list(doc) == ["subtitle_file", "content", "length", "id", "my_tag"]
    seg = segment_record(**{k: v for k, v in SEGMENT.items() if k != "casing"})
    assert seg["ts_mode"] is True and seg["num_tokens_ts_mode"] == 0  # schema defaults filled in
    assert list(seg)[-1] == "my_tool_score"  # extra fields kept, after the schema's
    with pytest.raises(RecordError):
        segment_record(seg_id="x")
