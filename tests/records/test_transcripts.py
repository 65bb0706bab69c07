"""SRT / WebVTT parsing of messy real-world files, serialisation, and the text extraction rules."""

from __future__ import annotations

import pytest

from olmoasr.errors import TranscriptError
from olmoasr.records.transcripts import (
    Caption,
    detect_format,
    format_transcript,
    is_rolling,
    machine_transcript_text,
    machine_units,
    parse_transcript,
    read_transcript,
    transcript_text,
)


def cues(transcript):
    return [(c.start_ms, c.end_ms, c.text) for c in transcript.captions]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # plain SRT, missing final blank line
        (
            "1\n00:00:01,000 --> 00:00:02,500\nHello\n\n2\n00:00:03,000 --> 00:00:04,000\nworld",
            [(1000, 2500, "Hello"), (3000, 4000, "world")],
        ),
        # BOM + CRLF
        ("\ufeff1\r\n00:00:01,000 --> 00:00:02,000\r\nHi there\r\n\r\n", [(1000, 2000, "Hi there")]),
        # old Mac CR line ends
        ("1\r00:00:01,000 --> 00:00:02,000\rA\r\r", [(1000, 2000, "A")]),
        # MM:SS.mmm times and cue settings in VTT
        ("WEBVTT\n\n00:01.000 --> 00:02.500 align:start position:0%\nshort form\n", [(1000, 2500, "short form")]),
        # hours beyond 99 minutes, dot separator in an SRT
        ("1\n01:40:00.000 --> 01:40:01.000\nlate\n", [(6_000_000, 6_001_000, "late")]),
        # tags and entities; multi-line text kept with newlines
        (
            "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Roger>Tom &amp; <i>Jerry</i></v>\n"
            "<c.yellow>line&nbsp;two</c> &lt;3\n",
            [(1000, 2000, "Tom & Jerry\nline two <3")],
        ),
        # SRT font tags and ASS override
        ('1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<font color="#fff">top</font>\n', [(1000, 2000, "top")]),
        # YouTube karaoke timestamps inside a cue
        (
            "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\nso<00:00:01.500><c> we</c><00:00:02.000><c> go</c>\n",
            [(1000, 3000, "so we go")],
        ),
        # NOTE / STYLE / REGION blocks and a cue identifier
        (
            "WEBVTT - title\nKind: captions\n\nNOTE a comment\nspanning lines\n\nSTYLE\n::cue { color: red }\n\n"
            "REGION\nid:fred\n\nintro\n00:00:00.000 --> 00:00:01.000\nfirst\n",
            [(0, 1000, "first")],
        ),
        # blank lines missing between SRT cues: the index line belongs to the next cue
        (
            "1\n00:00:01,000 --> 00:00:02,000\none\n2\n00:00:02,000 --> 00:00:03,000\ntwo\n",
            [(1000, 2000, "one"), (2000, 3000, "two")],
        ),
        # out-of-order and overlapping cues: sorted by start, overlap kept
        (
            "1\n00:00:05,000 --> 00:00:06,000\nlater\n\n2\n00:00:01,000 --> 00:00:05,500\nearlier\n",
            [(1000, 5500, "earlier"), (5000, 6000, "later")],
        ),
        # whitespace-only lines inside the cue text
        ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n \nbottom line\n", [(1000, 2000, "bottom line")]),
    ],
)
def test_quirky_files_parse(content, expected):
    assert cues(parse_transcript(content)) == expected


def test_bad_cues_are_dropped_and_counted():
    content = (
        "1\n00:00:03,000 --> 00:00:02,000\nend before start\n\n"
        "2\n00:00:04,000 --> 00:00:05,000\n\n\n"
        "3\n00:00:xx,000 --> 00:00:06,000\nbad time\n\n"
        "4\n00:00:06,000 --> 00:00:07,000\nkept\n\n"
        "5\n00:00:06,000 --> 00:00:07,000\nkept\n\n"
        "6\n00:00:08,000 --> 00:00:08,000\nzero length is allowed\n"
    )
    t = parse_transcript(content)
    assert cues(t) == [(6000, 7000, "kept"), (8000, 8000, "zero length is allowed")]
    assert t.dropped == {"end_before_start": 1, "empty_text": 1, "bad_timing": 1, "duplicate": 1}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "empty_transcript"),
        ("   \n\n", "empty_transcript"),
        ("WEBVTT\n\n", "empty_transcript"),
        ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n\n", "empty_transcript"),
        ("1\n00:00:03,000 --> 00:00:01,000\nbackwards\n", "empty_transcript"),
        ("just some prose, no cue timing at all\n", "unparseable_transcript"),
        ("\x00\x01binary junk", "unparseable_transcript"),
    ],
)
def test_unusable_transcripts_raise_typed_errors(content, reason):
    with pytest.raises(TranscriptError) as info:
        parse_transcript(content, source="x.srt")
    assert info.value.reason == reason
    assert str(info.value).startswith("x.srt: ")


def test_allow_empty_for_segment_transcripts():
    assert parse_transcript("WEBVTT\n\n", allow_empty=True).captions == []
    assert parse_transcript("", fmt="srt", allow_empty=True).captions == []


@pytest.mark.parametrize(
    ("content", "name", "fmt"),
    [
        ("", "transcript_x.srt", "srt"),  # no timing line: the name decides
        ("\n\n", "/a/b.c/transcript.VTT", "vtt"),
        ("1\n00:00:01,000 --> 00:00:02,000\nx", "/a/b.c/transcript.vtt", "srt"),  # the text beats the name
        ("WEBVTT\n\n00:01.000 --> 00:02.000\nx", "t.srt", "vtt"),
        ("\ufeff\r\nWEBVTT", None, "vtt"),
        ("1\r\n00:00:01,000 --> 00:00:02,000\r\nx", None, "srt"),
        ("\ufeff1\n\n00:00:01.000 --> 00:00:02.000 align:start\nx", None, "srt"),  # index line, even with dots
        ("NOTE 1\n00:00:01.000 --> 00:00:02.000\nx", None, "vtt"),
        ("00:00:01.000 --> 00:00:02.000\nx", "a.srt", "vtt"),
        ("", None, "vtt"),
    ],
)
def test_detect_format(content, name, fmt):
    assert detect_format(content, name) == fmt


def test_detect_format_rejects_content_without_timing_lines():
    with pytest.raises(ValueError):
        detect_format("just some notes", "notes.txt")


def test_parse_transcript_detects_the_format():
    assert parse_transcript("1\n00:00:01.000 --> 00:00:02.000\nx\n", name="a.vtt").fmt == "srt"
    assert parse_transcript("", allow_empty=True, name="a.srt").fmt == "srt"


def test_format_round_trip_both_formats():
    caps = [Caption(0, 4500, "Hello there"), Caption(5500, 11_500, "two\nlines"), Caption(3_600_000, 3_601_001, "x")]
    vtt = format_transcript(caps, "vtt")
    srt = format_transcript(caps, "srt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:04.500\nHello there\n\n")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:04,500\nHello there\n\n2\n00:00:05,500 --> 00:00:11,500\n")
    assert "01:00:00,000 --> 01:00:01,001" in srt
    assert parse_transcript(vtt).captions == caps
    assert parse_transcript(srt).captions == caps
    assert format_transcript([], "vtt") == "WEBVTT\n\n"
    assert format_transcript([], "srt") == ""


def test_read_transcript_by_suffix(tmp_path):
    path = tmp_path / "transcript_a.srt"
    path.write_bytes("\ufeff1\r\n00:00:01,000 --> 00:00:02,000\r\ncaf\u00e9\r\n".encode())
    t = read_transcript(path)
    assert t.fmt == "srt" and cues(t) == [(1000, 2000, "caf\u00e9")]
    with pytest.raises(TranscriptError) as info:
        read_transcript(tmp_path / "missing.vtt")
    assert info.value.reason == "missing_transcript"


def test_transcript_text_joins_stripped_captions():
    caps = [Caption(0, 1, "  Hello "), Caption(1, 2, "big\nworld")]
    assert transcript_text(caps) == "Hello big\nworld"


# YouTube's layout: whitespace-only lines ("␣" below) inside cues, two-line rolling cues, 10 ms snapshots.
YOUTUBE_ROLLING = """WEBVTT
Kind: captions
Language: en

00:00:00.000 --> 00:00:02.500 align:start position:0%
␣
hello<00:00:00.500><c> world</c>

00:00:02.500 --> 00:00:02.510 align:start position:0%
hello world
␣

00:00:02.510 --> 00:00:05.000 align:start position:0%
hello world
this<00:00:03.000><c> is</c><00:00:03.500><c> a</c>

00:00:05.000 --> 00:00:05.010 align:start position:0%
this is a
␣

00:00:05.010 --> 00:00:07.000 align:start position:0%
this is a
test<00:00:06.000><c> today</c>
""".replace("␣", " ")


def test_machine_text_of_rolling_auto_captions_has_no_repeats():
    captions = parse_transcript(YOUTUBE_ROLLING).captions
    assert [c.text for c in captions][:2] == ["hello world", "hello world"]
    assert is_rolling([c.text for c in captions])
    assert machine_transcript_text([c.text for c in captions]) == "hello world this is a test today"
    # naive joining repeats every line
    assert transcript_text(captions).count("hello world") == 3


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        ([], ""),
        (["only\nlast line"], "only last line"),  # not rolling: kept whole
        (["a", "b\nc", "d"], "a b c d"),  # not rolling: nothing dropped
        (["a", "a", "b"], "a b"),  # rolling, first two identical: keep the first
        (["a", "a\nb", "b", "b\nc", "c"], "a b c"),  # snapshots kept, two-line cues dropped
        (["a", "a\nb", "b", "b\nc"], "a b c"),  # last caption: only its last line
        (["a b", "[Music]", "[Music]\nc d", "e f\ng h"], "a b [Music] [Music] c d e f g h"),  # 1 of 3 pairs rolls
        (["a", "a\nb", "c\nd", "d"], "a d"),  # 2 of 3 pairs roll: rolling
    ],
)
def test_machine_text_rules(texts, expected):
    assert machine_transcript_text(texts) == expected
    caps = [Caption(i * 1000, i * 1000 + 500, t) for i, t in enumerate(texts)]
    assert " ".join(unit.text for unit in machine_units(caps)) == expected


PLAIN_MACHINE = """WEBVTT

00:00:00.000 --> 00:00:03.000
so today we are going to talk
about the history of bread

00:00:03.000 --> 00:00:04.000
[Music]

00:00:04.000 --> 00:00:07.000
[Music]
and the first thing you need

00:00:07.000 --> 00:00:10.000
is a good sourdough starter
which takes about a week
"""


def test_a_plain_multi_line_machine_transcript_is_not_rolling():
    # Two cues meet at `[Music]` (one pair of three "rolls"): the old rule called the whole transcript rolling
    # and kept only single-line cues and the last line, so its text collapsed to "[Music] which takes ...".
    texts = [c.text for c in parse_transcript(PLAIN_MACHINE).captions]
    assert not is_rolling(texts)
    assert machine_transcript_text(texts) == (
        "so today we are going to talk about the history of bread [Music] [Music] and the first thing you need "
        "is a good sourdough starter which takes about a week"
    )


def test_rolling_needs_at_least_half_of_the_cue_pairs():
    assert not is_rolling([]) and not is_rolling(["a"])
    assert is_rolling(["a", "a\nb"])  # the one pair rolls
    assert not is_rolling(["a", "b", "b\nc", "d", "e"])  # 1 of 4
    assert is_rolling(["a", "b", "b\nc", "c", "e"])  # 2 of 4


def test_machine_units_are_timed_from_the_cue_where_the_line_was_spoken():
    units = machine_units(parse_transcript(YOUTUBE_ROLLING).captions)
    assert [(u.start_ms, u.end_ms, u.text) for u in units] == [
        (0, 2500, "hello world"),
        (2510, 5010, "this is a"),
        (5010, 7000, "test today"),
    ]
