"""The windowing rules of spec §2.1 as table tests, including its worked example."""

from __future__ import annotations

import pytest

from olmoasr.pipeline.segmenting import WindowingOptions, WindowingStats, segment_windows
from olmoasr.records.transcripts import Caption


def caps(*spans, text=None):
    return [Caption(round(a * 1000), round(b * 1000), text or f"caption {i}") for i, (a, b) in enumerate(spans)]


def words(text: str) -> int:
    return len(text.split())


def summary(windows):
    """(kind, start s, text end s, audio end s, [(relative start s, end s)]) per window."""
    return [
        (
            w.kind,
            w.start_ms / 1000,
            w.text_end_ms / 1000,
            w.audio_end_ms / 1000,
            [(c.start_ms / 1000, c.end_ms / 1000) for c in w.relative_captions()],
        )
        for w in windows
    ]


CASES = {
    "spec worked example": (
        caps((0.5, 5), (6, 12), (13, 25), (26, 33), (80, 85), (86, 90)),
        None,
        [
            ("speech", 0.5, 25, 30.5, [(0, 4.5), (5.5, 11.5), (12.5, 24.5)]),
            ("speech", 25, 33, 55, [(1, 8)]),
            ("no_speech", 33, 63, 63, []),
            ("speech", 63, 90, 90, [(17, 22), (23, 27)]),
        ],
        {},
    ),
    "single caption: last window audio ends with it": (
        caps((1, 3)),
        None,
        [("speech", 1, 3, 3, [(0, 2)])],
        {},
    ),
    "silence of exactly two windows": (
        caps((0, 5), (65, 70)),
        None,
        [
            ("speech", 0, 5, 30, [(0, 5)]),
            ("no_speech", 5, 35, 35, []),
            ("no_speech", 35, 65, 65, []),
            ("speech", 65, 70, 70, [(0, 5)]),
        ],
        {},
    ),
    "short gap before a caption that does not fit": (
        caps((0, 10), (20, 45)),
        None,
        [
            ("speech", 0, 10, 30, [(0, 10)]),
            ("gap", 10, 20, 40, []),
            ("speech", 20, 45, 45, [(0, 25)]),
        ],
        {},
    ),
    "caption longer than 30 s is skipped": (
        caps((0, 5), (6, 40), (41, 45)),
        None,
        [
            ("speech", 0, 5, 30, [(0, 5)]),
            ("gap", 5, 6, 35, []),
            ("speech", 41, 45, 45, [(0, 4)]),
        ],
        {"over_30s_caption": 1},
    ),
    "only caption is longer than 30 s": (caps((0, 31)), None, [], {"over_30s_caption": 1}),
    "silence inside a window is just part of it": (
        caps((0, 2), (27, 29.5)),
        None,
        [("speech", 0, 29.5, 29.5, [(0, 2), (27, 29.5)])],
        {},
    ),
    "caption ending exactly 30 s after the start fits": (
        caps((0, 10), (20, 30), (31, 32)),
        None,
        [("speech", 0, 30, 30, [(0, 10), (20, 30)]), ("speech", 30, 32, 32, [(1, 2)])],
        {},
    ),
    "overlap before the window start is clamped": (
        caps((0, 25), (24, 31), (26, 40)),
        None,
        [("speech", 0, 25, 30, [(0, 25)]), ("speech", 25, 40, 40, [(0, 6), (1, 15)])],
        {},
    ),
    "audio shorter than the transcript: captions past its end by over 1 s are dropped": (
        caps((0, 5), (6, 10), (40, 45)),
        8_000,
        [("speech", 0, 5, 5, [(0, 5)])],
        {"captions_past_audio": 2},
    ),
    "a caption staying on screen up to 1 s past the audio's end is kept (audio clipped)": (
        caps((0, 5), (6, 8.9), (40, 45)),
        8_000,
        [("speech", 0, 8.9, 8, [(0, 5), (6, 8.9)])],
        {"captions_past_audio": 1},
    ),
    "windows under 15 ms are dropped": (caps((1, 1.010)), None, [], {"too_short": 1}),
    "a 15 ms window is kept": (caps((1, 1.015)), None, [("speech", 1, 1.015, 1.015, [(0, 0.015)])], {}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_windowing_rules(name):
    captions, duration_ms, expected, expected_drops = CASES[name]
    stats = WindowingStats()
    windows = segment_windows(captions, words, duration_ms, stats=stats)
    assert summary(windows) == expected
    assert stats.counts == expected_drops


def test_worked_example_record_fields():
    windows = segment_windows(caps((0.5, 5), (6, 12), (13, 25), (26, 33), (80, 85), (86, 90)), words)
    assert [w.norm_end for w in windows] == ["00:00:24.500", "00:00:08.000", 30000, "00:00:27.000"]
    assert [w.only_no_ts_mode for w in windows] == [False, False, False, False]
    # 2 words per caption: ts = text + 2 per caption (+1 unless last) + 2; no-ts = text + 3
    assert [(w.num_tokens_ts_mode, w.num_tokens_no_ts_mode) for w in windows] == [(15, 9), (7, 5), (0, 0), (10, 7)]


def test_overlap_flags_only_no_ts_mode():
    windows = segment_windows(caps((0, 25), (24, 31), (26, 40)), words)
    assert [w.only_no_ts_mode for w in windows] == [False, True]


@pytest.mark.parametrize(
    ("n_chars", "is_last", "ts_mode", "no_ts_mode"),
    [
        (444, True, True, True),  # ts 444+2+0+2 = 448
        (444, False, False, True),  # ts 449 > 448, no-ts 447
        (445, False, False, True),  # no-ts 448
        (446, False, False, False),  # both over: dropped
    ],
)
def test_token_limit_in_both_modes(n_chars, is_last, ts_mode, no_ts_mode):
    """count_tokens = characters (minus the leading space) to hit the limits exactly."""
    captions = [Caption(0, 5000, "x" * n_chars)]
    if not is_last:
        captions.append(Caption(40_000, 41_000, "y"))
    stats = WindowingStats()
    windows = segment_windows(captions, lambda s: len(s) - 1, stats=stats)
    first = [w for w in windows if w.start_ms == 0]
    if not ts_mode and not no_ts_mode:
        assert first == [] and stats.counts["over_ctx_len"] == 1
        assert windows[0].start_ms == 5000  # the next window still starts after the dropped one
    else:
        assert (first[0].ts_mode, first[0].no_ts_mode) == (ts_mode, no_ts_mode)


def test_whisper_tokenizer_counts():
    from olmoasr.model.tokenizer import get_tokenizer

    tokenizer = get_tokenizer(multilingual=False)
    windows = segment_windows(caps((0, 5), text="hello " * 444), lambda s: len(tokenizer.encode(s)))
    assert windows[0].num_tokens_no_ts_mode == 447 and windows[0].num_tokens_ts_mode == 448
    assert windows[0].ts_mode


def test_tokenizer_failure_drops_the_window_only():
    def fragile(text):
        if "boom" in text:
            raise ValueError("cannot encode")
        return 1

    stats = WindowingStats()
    captions = [Caption(0, 5000, "boom"), Caption(40_000, 45_000, "fine")]
    windows = segment_windows(captions, fragile, stats=stats)
    assert stats.counts == {"bad_text": 1}
    assert [(w.kind, w.start_ms) for w in windows] == [("no_speech", 5000), ("speech", 35_000)]


@pytest.mark.parametrize(("cap", "n_windows", "capped"), [(2, 2, True), (0, 4, False), (4, 4, False)])
def test_segment_cap_per_document(cap, n_windows, capped):
    stats = WindowingStats()
    windows = segment_windows(
        caps((0.5, 5), (6, 12), (13, 25), (26, 33), (80, 85), (86, 90)),
        words,
        options=WindowingOptions(max_segments=cap),
        stats=stats,
    )
    assert len(windows) == n_windows
    assert ("docs_capped" in stats.counts) == capped


def test_no_captions_no_windows():
    assert segment_windows([], words) == []
