import pytest

from olmoasr.records.schema import DocumentRecord, SegmentRecord, record_duration_s
from olmoasr.timestamps import format_range_ms, format_time_ms, norm_end_to_ms, parse_time_ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [("00:00:01,000", 1000), ("00:01:02.345", 62345), ("01:02.5", 62500), ("1:00:00.000", 3_600_000), ("7", 7000)],
)
def test_parse_time(text, ms):
    assert parse_time_ms(text) == ms


@pytest.mark.parametrize("bad", ["", "aa:bb", "00:00:01,x", "1:2:3:4"])
def test_parse_time_rejects(bad):
    with pytest.raises(ValueError):
        parse_time_ms(bad)


def test_format_never_wraps_negative():
    assert format_time_ms(3_723_004, ",") == "01:02:03,004"
    assert format_range_ms(500, 30500) == "00:00:00,500_00:00:30,500"
    with pytest.raises(ValueError):
        format_time_ms(-1)


def test_norm_end_both_original_forms():
    assert norm_end_to_ms(30000) == 30000
    assert norm_end_to_ms("00:00:24.500") == 24500


def test_extra_fields_survive_round_trip_and_order_is_the_originals():
    raw = {
        "subtitle_file": "a.vtt",
        "content": "WEBVTT",
        "length": 3.0,
        "audio_file": "a.m4a",
        "id": "a",
        "my_tool_score": 0.5,
    }
    doc = DocumentRecord.model_validate(raw)
    out = doc.to_dict()
    assert out == raw
    assert list(out)[:5] == ["subtitle_file", "content", "length", "audio_file", "id"]


def test_segment_durations():
    seg = SegmentRecord(
        subtitle_file="x.srt",
        seg_content="",
        text_timestamp="00:00:00,000_00:00:27,000",
        audio_timestamp="00:01:03,000_00:01:30,000",
        norm_end="00:00:27.000",
        id="a",
        seg_id="a_3",
    )
    assert seg.duration_s == 27.0
    assert seg.norm_end_ms == 27000
    assert record_duration_s(seg.to_dict()) == 27.0
    assert record_duration_s({"length": 12.5, "id": "d"}) == 12.5
