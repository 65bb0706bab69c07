"""The tag stage: document and segment level, SRT and VTT, stats, summary, markers, resume, bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import orjson
import pytest

from olmoasr.io.completion import marker_path
from olmoasr.pipeline.tagging import load_tagging_config, tag_documents, tag_record, tag_segments

from ._records import doc, read_shard, seg, vtt, write_shard


def documents():
    return [
        doc(
            "good",
            "Hello there, my friend.",
            "How are you today?",
            mach=vtt("hello there my friend", "how are you today"),
        ),
        doc("caps", "HELLO THERE MY FRIEND", "HOW ARE YOU TODAY", mach=vtt("hello there my friend")),
        doc("roll", "we are going to", "we are going to the shop now", fmt="srt"),
        doc("fr", "Bonjour à tous, je suis très content", "de vous voir ici aujourd'hui mes amis", fmt="srt"),
    ]


def test_tag_documents_vtt_and_srt(tmp_path):
    src = tmp_path / "docs"
    write_shard(src / "shard_00000.jsonl.gz", documents())
    out = tmp_path / "tagged"
    result = tag_documents(src, out, "main_tagging", workers=1, show_progress=False)
    assert result.ok
    records = {r["id"]: r for r in read_shard(out / "shard_00000.jsonl.gz")}
    tags = {k: (r["casing"], r["repeating_lines"], r["text_lang"], r["edit_dist"]) for k, r in records.items()}
    assert tags == {
        "good": ("mixed", False, "en", 0.0),
        "caps": ("upper", False, "en", pytest.approx(0.5)),
        "roll": ("lower", True, "en", None),  # no machine transcript: no edit distance
        "fr": ("mixed", False, "fr", None),
    }
    assert records["good"]["content"] == documents()[0]["content"]  # the record itself is untouched
    summary = orjson.loads((out / "main_tagging_summary.json").read_bytes())
    assert summary == result.summary
    assert summary["records"] == 4 and summary["level"] == "document"
    assert summary["tags"]["casing"]["buckets"]["mixed"]["records"] == 2
    assert summary["tags"]["text_lang"]["buckets"]["other"]["records"] == 1
    assert summary["tags"]["edit_dist"]["buckets"]["null"]["records"] == 2
    assert summary["tags"]["edit_dist"]["mean"] == pytest.approx(0.25)  # over the two records with a value
    assert summary["tags"]["edit_dist"]["events"] == {"no_machine_transcript": 2}
    shard_stats = orjson.loads((out / "shard_00000_stats.json").read_bytes())
    assert shard_stats["stats"]["records"] == 4
    assert marker_path(out, result.report.stage, "shard_00000").exists()


def test_rerun_skips_and_a_changed_config_redoes(tmp_path):
    src = tmp_path / "docs"
    write_shard(src / "a.jsonl", documents()[:2])
    write_shard(src / "b.jsonl", documents()[2:])
    out = tmp_path / "tagged"
    first = tag_documents(src, out, "main_tagging", workers=1, show_progress=False)
    again = tag_documents(src, out, "main_tagging", workers=1, show_progress=False)
    assert first.report.tasks_run == 2 and again.report.tasks_run == 0
    assert again.summary["records"] == first.summary["records"] == 4
    other = tmp_path / "num_words.yaml"
    other.write_text("name: words\npipeline:\n  - tag: num_words\n  - tag: has_comma_period\n")
    third = tag_documents(src, out, other, workers=1, show_progress=False)
    assert third.report.tasks_run == 2
    assert [r["num_words"] for r in read_shard(out / "a.jsonl")] == [8, 8]


def test_bad_lines_and_unparseable_transcripts_are_counted_not_fatal(tmp_path, capsys):
    src = tmp_path / "docs"
    records = documents()[:1] + [doc("bad", "x") | {"content": "this is not a subtitle file"}, {"id": "nocontent"}]
    write_shard(src / "s.jsonl", records)
    with open(src / "s.jsonl", "ab") as fh:
        fh.write(b'{"id": "cut"\n')
    out = tmp_path / "tagged"
    result = tag_documents(src, out, "main_tagging", workers=1, show_progress=False)
    assert result.ok
    kept = read_shard(out / "s.jsonl")
    assert [r["id"] for r in kept] == ["good", "bad", "nocontent"]
    assert "casing" not in kept[1] and "casing" not in kept[2]  # untagged: a filter drops them as missing:<tag>
    assert result.summary["malformed_lines"] == 1
    assert result.summary["untagged"] == {"unparseable_transcript": 1, "missing:content": 1}
    err = capsys.readouterr().err
    assert f"{src / 's.jsonl'}:2: not tagged" in err and f"{src / 's.jsonl'}:4: malformed JSON" in err


def test_empty_transcripts_are_tagged_and_counted(tmp_path):
    record = doc("empty", "x") | {"content": "WEBVTT\n\n"}
    config = load_tagging_config("main_tagging")
    tagged = tag_record(dict(record), config)
    assert tagged["text_lang"] == "un" and tagged["edit_dist"] is None and tagged["casing"] == "mixed"
    with_machine = tag_record(record | {"mach_content": "WEBVTT\n\n"}, config)
    assert with_machine["edit_dist"] == 0.0  # an empty machine transcript is present: both empty -> 0.0


def test_tag_segments_uses_the_segment_texts(tmp_path):
    src = tmp_path / "segs"
    segments = [
        seg(
            "v_0",
            "Hello there, friend.",
            casing="mixed",
            edit_dist=0.2,
            mach_seg_content=vtt("hello there friend"),
            mach_seg_text="hello there friend",
            seg_text="hello there friend",
        ),
        seg("v_1", "The cat sat on the mat.", edit_dist=0.2, mach_seg_content=vtt("the dog sat on a mat")),
        seg("v_2", fmt="srt", edit_dist=0.2) | {"seg_content": ""},  # no-speech SRT segment
        seg("v_3", "Only manual text here.", edit_dist=0.2),  # no machine segment: null
    ]
    write_shard(src / "shard_seg_00000.jsonl", segments)
    out = tmp_path / "tagged"
    config = tmp_path / "seg.yaml"
    config.write_text("name: seg\npipeline:\n  - tag: edit_dist\n  - tag: seg_num_words\n  - tag: casing\n")
    result = tag_segments(src, out, config, workers=1, show_progress=False)
    assert result.ok
    got = [
        (r["seg_edit_dist"], r["seg_num_words"], r["seg_casing"], r["edit_dist"], r.get("casing"))
        for r in read_shard(out / "shard_seg_00000.jsonl")
    ]
    assert got == [
        (0.0, 3, "mixed", 0.2, "mixed"),  # the document's tags copied by prep stay as they were
        (pytest.approx(2 / 6), 6, "mixed", 0.2, None),
        (None, 0, "mixed", 0.2, None),
        (None, 4, "mixed", 0.2, None),
    ]
    # the original's segment config works unchanged
    shipped = tag_segments(src, tmp_path / "shipped", "main_tagging_seg", workers=1, show_progress=False)
    assert [r["seg_edit_dist"] for r in read_shard(tmp_path / "shipped" / "shard_seg_00000.jsonl")] == [
        0.0,
        pytest.approx(2 / 6),
        None,
        None,
    ]
    assert shipped.summary["tags"]["seg_edit_dist"]["events"] == {"no_machine_segment": 2}


def test_sigkill_then_rerun_gives_identical_output(tmp_path):
    src = tmp_path / "docs"
    many = [
        doc(f"d{i}", f"Caption number {i}, spoken clearly.", "And THEN another one!", mach=vtt(f"caption {i}"))
        for i in range(1500)
    ]
    for k in range(3):
        write_shard(src / f"shard_{k}.jsonl.gz", many[k * 500 : (k + 1) * 500])
    reference = tmp_path / "reference"
    tag_documents(src, reference, "main_tagging", workers=1, show_progress=False)
    out = tmp_path / "killed"
    code = (
        "from olmoasr.pipeline.tagging import tag_documents;"
        f"tag_documents({str(src)!r}, {str(out)!r}, 'main_tagging', workers=1, show_progress=False)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=os.environ | {"PYTHONWARNINGS": "ignore"})
    deadline = time.time() + 60
    while time.time() < deadline and not any(out.glob(".*.tmp-*")) and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    tag_documents(src, out, "main_tagging", workers=1, show_progress=False)
    for k in range(3):
        name = f"shard_{k}.jsonl.gz"
        assert (out / name).read_bytes() == (reference / name).read_bytes()
    assert not list(out.glob(".*.tmp-*"))


def test_a_flood_of_bad_records_is_counted_but_reported_only_a_few_times(tmp_path, capsys):
    src = tmp_path / "segs"
    bad = [{k: v for k, v in doc(f"v_{i}", "Hi.").items() if k != "content"} for i in range(30)]
    write_shard(src / "s.jsonl", bad)  # documents without `content`
    result = tag_documents(src, tmp_path / "out", "main_tagging", workers=1, show_progress=False)
    assert result.summary["untagged"] == {"missing:content": 30}
    err = capsys.readouterr().err.splitlines()
    assert len([line for line in err if "not tagged" in line]) == 20
    assert any("more records like this (missing:content) are counted, not reported" in line for line in err)
