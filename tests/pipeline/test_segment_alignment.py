"""Manual/machine window alignment and per-segment edit distance (spec §2.5, intended behaviour)."""

from __future__ import annotations

import pytest

from olmoasr.pipeline.machine_alignment import alignment_fields, machine_windows, seg_edit_distance
from olmoasr.pipeline.segmenting import segment_windows
from olmoasr.records.transcripts import Caption, parse_transcript


def caps(*items):
    return [Caption(round(a * 1000), round(b * 1000), text) for a, b, text in items]


def words(text):
    return len(text.split())


MANUAL = caps(
    (0.5, 5, "Hello there."),
    (6, 12, "General Kenobi!"),
    (13, 25, "You are a bold one."),
    (26, 33, "Kill him."),
    (80, 85, "Back away."),
    (86, 90, "I will deal with this Jedi slime myself."),
)


def test_machine_windows_follow_the_manual_windows():
    windows = segment_windows(MANUAL, words)
    machine = caps(
        (0.3, 5.2, "hello there"),
        (6.1, 11.8, "general kenobi"),
        (12.9, 24.9, "you are a bowl one"),
        (26.2, 33.1, "kill him"),
        (79.8, 85.2, "back away"),
        (86.1, 90.3, "i will deal with this jedi slime myself"),
    )
    aligned = machine_windows(windows, machine)
    assert [[c.text for c in m.captions] for m in aligned] == [
        ["hello there", "general kenobi", "you are a bowl one"],
        ["kill him"],
        [],  # the no-speech window: the machine heard nothing either
        ["back away", "i will deal with this jedi slime myself"],
    ]
    assert [m.timestamp for m in aligned] == [
        "00:00:00,300_00:00:24,900",
        "00:00:26,200_00:00:33,100",
        None,
        "00:01:19,800_00:01:30,300",
    ]
    fields = [alignment_fields(w, m, "vtt") for w, m in zip(windows, aligned, strict=True)]
    assert fields[0]["seg_text"] == "hello there general kenobi you are a bold one"
    assert fields[0]["mach_seg_text"] == "hello there general kenobi you are a bowl one"
    assert fields[0]["seg_edit_dist"] == pytest.approx(1 / 9)
    assert fields[0]["mach_seg_content"].startswith("WEBVTT\n\n00:00:00.000 --> 00:00:04.700\nhello there\n\n")
    assert fields[1]["seg_edit_dist"] == 0.0
    assert fields[2] == {"seg_text": "", "mach_seg_text": "", "mach_seg_content": "WEBVTT\n\n", "seg_edit_dist": 0.0}
    assert fields[3]["seg_edit_dist"] == 0.0


def test_machine_captions_are_never_used_twice_and_can_run_out():
    windows = segment_windows(MANUAL, words)
    aligned = machine_windows(windows, caps((0.3, 5.2, "hello there")))
    assert [len(m.captions) for m in aligned] == [1, 0, 0, 0]
    fields = alignment_fields(windows[1], aligned[1], "srt")
    assert fields["seg_edit_dist"] == 1.0 and fields["mach_seg_content"] == ""


ROLLING = (
    "WEBVTT\n\n"
    "00:00:00.500 --> 00:00:03.000\n \nhello<00:00:01.000><c> there</c>\n\n"
    "00:00:03.000 --> 00:00:03.010\nhello there\n \n\n"
    "00:00:03.010 --> 00:00:06.000\nhello there\ngeneral<00:00:04.000><c> kenobi</c>\n\n"
    "00:00:06.000 --> 00:00:06.010\ngeneral kenobi\n \n\n"
    "00:00:06.010 --> 00:00:12.000\ngeneral kenobi\nyou are a bold one\n"
)


def test_rolling_auto_captions_give_each_line_once():
    windows = segment_windows(caps((0.5, 12, "Hello there. General Kenobi! You are a bold one.")), words)
    machine = parse_transcript(ROLLING).captions
    aligned = machine_windows(windows, machine)
    fields = alignment_fields(windows[0], aligned[0], "vtt")
    assert fields["mach_seg_text"] == "hello there general kenobi you are a bold one"
    assert fields["seg_edit_dist"] == 0.0


@pytest.mark.parametrize(
    ("manual", "machine", "expected"),
    [
        ("hello world", "hello word", 0.5),
        ("", "", 0.0),
        ("", "something heard", 1.0),
        ("said words", "", 1.0),
        ("a b c d", "a b c d e f", 0.5),
    ],
)
def test_seg_edit_distance_fallbacks(manual, machine, expected):
    assert seg_edit_distance(manual, machine, manual, machine) == pytest.approx(expected)


def test_normalised_manual_text_empty_compares_raw_texts():
    # the normaliser can remove everything (e.g. only a bracketed sound); then the raw texts are compared
    assert seg_edit_distance("[music]", "[music]", "", "") == 0.0
    assert seg_edit_distance("[music]", "", "", "") == 1.0


def test_karaoke_word_times_place_the_boundary_exactly():
    """A rolling line still on screen after its last word: word times keep it out of the next window."""
    from olmoasr.records.transcripts import karaoke_word_starts

    manual = caps((0.5, 2.0, "one two three"), (40.0, 41.0, "four"))
    windows = segment_windows(manual, words)
    vtt = (
        "WEBVTT\n\n00:00:00.500 --> 00:00:06.000\n \none<00:00:01.000><c> two</c><00:00:01.500><c> three</c>\n\n"
        "00:00:06.000 --> 00:00:06.010\none two three\n \n\n"
        "00:00:40.000 --> 00:00:41.000\none two three\nfour\n"
    )
    karaoke = karaoke_word_starts(vtt)
    assert karaoke == [(500, "one"), (1000, "two"), (1500, "three")]
    timed = machine_windows(windows, parse_transcript(vtt).captions, karaoke)
    untimed = machine_windows(windows, parse_transcript(vtt).captions)
    assert [w.text for w in timed] == ["one two three", "", "four"]
    assert [w.text for w in untimed][0] != "one two three"  # interpolating over 6 s spills into the silence
