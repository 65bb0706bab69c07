"""`filter`: every shipped config on hand-made records, missing fields, rejects, funnel, seg_content clean-up."""

from __future__ import annotations

import orjson
import pytest

from olmoasr.pipeline.filter_config import clean_caption_text, load_filter_config
from olmoasr.pipeline.filtering import FUNNEL_FILE, apply_filters, filter_records
from olmoasr.records.transcripts import parse_transcript

from ._records import read_shard, seg, srt, vtt, write_shard

GOOD = {
    "audio_lang": "en",
    "text_lang": "en",
    "casing": "mixed",
    "repeating_lines": False,
    "edit_dist": 0.1,
    "seg_edit_dist": 0.1,
}


def rec(**changes):
    record = seg("vid_0", "Hello there.", **GOOD)
    record.update(changes)
    return {k: v for k, v in record.items() if v is not None}


# (config, changes that must be dropped with that reason, changes that must be kept)
CASES = {
    "lang_align": (
        [({"audio_lang": "de"}, "audio_lang"), ({"text_lang": "un"}, "text_lang")],
        [{"casing": "upper"}, {"repeating_lines": True}, {"edit_dist": 3.0}],
    ),
    "mixed_lang_eq": (
        [({"casing": "lower"}, "casing"), ({"casing": "upper"}, "casing"), ({"text_lang": "fr"}, "text_lang")],
        [{"repeating_lines": True}],
    ),
    "mixed_no_repeats_lang_eq": (
        [({"casing": "lower"}, "casing"), ({"repeating_lines": True}, "repeating_lines")],
        [{"edit_dist": 0.9}],
    ),
    "no_repeats_lang_eq": (
        [({"repeating_lines": True}, "repeating_lines"), ({"audio_lang": "es"}, "audio_lang")],
        [{"casing": "upper"}],
    ),
    "no_upper_lang_eq": (
        [({"casing": "upper"}, "casing"), ({"repeating_lines": True}, "repeating_lines")],
        [{"casing": "lower"}, {"casing": "mixed"}],
    ),
    "seg_edit_dist_0.2_edit_dist_0.2": (
        [({"edit_dist": 0.21}, "edit_dist"), ({"seg_edit_dist": 0.3}, "seg_edit_dist")],
        [{"edit_dist": 0.2, "seg_edit_dist": 0.2}, {"casing": "upper"}],
    ),
    "seg_edit_dist_0.4_edit_dist_0.4": (
        [({"edit_dist": 0.41}, "edit_dist"), ({"seg_edit_dist": 0.5}, "seg_edit_dist")],
        [{"edit_dist": 0.4, "seg_edit_dist": 0.4}],
    ),
    "seg_edit_dist_0.6_edit_dist_0.4": (
        [({"edit_dist": 0.45}, "edit_dist"), ({"seg_edit_dist": 0.61}, "seg_edit_dist")],
        [{"edit_dist": 0.4, "seg_edit_dist": 0.6}],
    ),
    "seg_edit_dist_0.7_edit_dist_0.5": (
        [({"edit_dist": 0.51}, "edit_dist"), ({"seg_edit_dist": 0.71}, "seg_edit_dist")],
        [{"edit_dist": 0.5, "seg_edit_dist": 0.7}, {"edit_dist": 0}],
    ),
    "text_heurs_seg_edit_dist_edit_dist": (
        [
            ({"audio_lang": "fr"}, "audio_lang"),
            ({"text_lang": "fr"}, "text_lang"),
            ({"casing": "upper"}, "casing"),
            ({"repeating_lines": True}, "repeating_lines"),
            ({"edit_dist": 0.51}, "edit_dist"),
            ({"seg_edit_dist": 0.71}, "seg_edit_dist"),
        ],
        [{"casing": "lower"}, {"edit_dist": 0.5, "seg_edit_dist": 0.7}],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_shipped_config_drops_and_keeps_what_spec_5_2_says(name):
    config = load_filter_config(name)
    dropped, kept = CASES[name]
    assert apply_filters(rec(), config.steps) is None
    for changes, reason in dropped:
        result = apply_filters(rec(**changes), config.steps)
        assert result is not None and result[1] == reason, (name, changes)
    for changes in kept:
        assert apply_filters(rec(**changes), config.steps) is None, (name, changes)


def test_missing_and_wrongly_typed_fields():
    steps = load_filter_config("text_heurs_seg_edit_dist_edit_dist").steps
    assert apply_filters(rec(audio_lang=None), steps) == (0, "missing:audio_lang")
    assert apply_filters(rec(seg_edit_dist=None), steps) == (5, "missing:seg_edit_dist")
    assert apply_filters(rec(audio_lang=None, seg_edit_dist=None), steps, missing="pass") is None  # the original
    assert apply_filters(rec(edit_dist="0.1"), steps) == (4, "type:edit_dist")
    assert apply_filters(rec(repeating_lines="False"), steps) == (3, "type:repeating_lines")
    assert apply_filters(rec(edit_dist=float("nan")), steps) == (4, "type:edit_dist")
    assert apply_filters(rec(edit_dist=True), steps) == (4, "type:edit_dist")


def test_exclusive_bounds_and_lower_bounds(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: c\npipeline:\n  - tag: edit_dist\n    lower_bound: 0.1\n    upper_bound: 0.5\n    inclusive: false\n"
    )
    steps = load_filter_config(path).steps
    assert [apply_filters({"edit_dist": v}, steps) is None for v in (0.1, 0.2, 0.5, 0.05, 0.6)] == [
        False,
        True,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("John Smith : hello there", "hello there"),  # speaker label
        ("JOHN : hi", "hi"),
        ("He said: yes", "He said: yes"),  # not a label (no space before the colon)
        ("rock &amp; roll", "rock roll"),
        ("a &nbsp; b", "a b"),
        ("x &lt;y&gt; z", "x y z"),
        ("wait... what", "wait what"),
        ("a = b", "a b"),
        ("one\\htwo", "one two"),
        ("line one...\nLine two", "line one\nLine two"),
    ],
)
def test_caption_clean_up(text, expected):
    assert clean_caption_text(text) == expected


@pytest.mark.parametrize("fmt", ["vtt", "srt"])
def test_seg_content_clean_up_step_rewrites_vtt_and_srt(fmt):
    steps = load_filter_config("text_heurs_seg_edit_dist_edit_dist").steps
    record = rec(seg_content=(vtt if fmt == "vtt" else srt)("John Smith : so... we go", "fine = good"))
    assert apply_filters(record, steps) is None
    transcript = parse_transcript(record["seg_content"])
    assert transcript.fmt == fmt
    assert [c.text for c in transcript.captions] == ["so we go", "fine good"]
    empty = rec(seg_content="WEBVTT\n\n")
    assert apply_filters(empty, steps) is None and empty["seg_content"] == "WEBVTT\n\n"


def test_filter_stage_outputs_rejects_and_funnel(tmp_path):
    src = tmp_path / "tagged"
    good = [rec(seg_id=f"g_{i}", audio_timestamp="00:00:00,000_00:00:30,000") for i in range(4)]
    upper = [rec(seg_id=f"u_{i}", casing="upper", audio_timestamp="00:00:00,000_00:00:10,000") for i in range(2)]
    missing = [rec(seg_id="m_0", edit_dist=None)]
    write_shard(src / "shard_00000.jsonl.gz", good[:2] + upper + missing)
    write_shard(src / "sub" / "shard_00001.jsonl", good[2:])
    with open(src / "sub" / "shard_00001.jsonl", "ab") as fh:
        fh.write(b"{not json\n")
    out, rejects = tmp_path / "kept", tmp_path / "rejected"
    result = filter_records(
        src, out, "text_heurs_seg_edit_dist_edit_dist", rejects_dir=rejects, workers=1, show_progress=False
    )
    assert result.ok
    assert [r["seg_id"] for r in read_shard(out / "shard_00000.jsonl.gz")] == ["g_0", "g_1"]
    assert [r["seg_id"] for r in read_shard(out / "sub" / "shard_00001.jsonl")] == ["g_2", "g_3"]
    rejected = read_shard(rejects / "shard_00000.jsonl.gz")
    assert [(r["seg_id"], r["_drop_reason"], r["_drop_step"]) for r in rejected] == [
        ("u_0", "casing", 2),
        ("u_1", "casing", 2),
        ("m_0", "missing:edit_dist", 4),
    ]
    funnel = orjson.loads((out / FUNNEL_FILE).read_bytes())
    assert funnel == result.funnel
    assert funnel["input"]["records"] == 7 and funnel["kept"]["records"] == 4
    assert funnel["input"]["hours"] == pytest.approx((5 * 30 + 2 * 10) / 3600)
    assert funnel["kept"]["hours"] == pytest.approx(4 * 30 / 3600)
    steps = funnel["steps"]
    assert [s["records"] for s in steps] == [7, 7, 7, 5, 5, 4, 4, 4]
    assert steps[3]["pct_records"] == pytest.approx(100 * 5 / 7)
    assert steps[3]["hours"] == pytest.approx(5 * 30 / 3600)
    assert steps[3]["pct_hours"] == pytest.approx(100 * 150 / 170)
    assert steps[5]["pct_records"] == pytest.approx(80.0)
    assert funnel["drop_reasons"] == {"casing": 2, "missing:edit_dist": 1}
    assert funnel["malformed_lines"] == 1
    # --missing pass keeps the record without edit_dist (the original's behaviour); a new marker set is used
    again = filter_records(
        src, tmp_path / "kept2", "text_heurs_seg_edit_dist_edit_dist", missing="pass", workers=1, show_progress=False
    )
    assert again.funnel["kept"]["records"] == 5


def test_filter_rerun_skips_finished_shards(tmp_path):
    src = tmp_path / "tagged"
    write_shard(src / "a.jsonl", [rec(seg_id="a_0")])
    write_shard(src / "b.jsonl", [rec(seg_id="b_0", text_lang="fr")])
    out = tmp_path / "out"
    first = filter_records(src, out, "lang_align", workers=1, show_progress=False)
    second = filter_records(src, out, "lang_align", workers=1, show_progress=False)
    assert first.report.tasks_run == 2 and second.report.tasks_run == 0 and second.report.tasks_skipped == 2
    assert second.funnel["kept"] == first.funnel["kept"] and first.funnel["kept"]["records"] == 1
    assert read_shard(out / "b.jsonl") == []  # an all-dropped shard still exists (empty)
