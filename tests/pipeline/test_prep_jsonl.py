"""`prep jsonl`: layout discovery at any depth, real durations, machine captions, typed rejects, parts, CLI."""

from __future__ import annotations

import gzip
import signal
import subprocess
import sys
import time

import pytest

from olmoasr.cli.main import run
from olmoasr.errors import UsageError
from olmoasr.io import iter_jsonl
from olmoasr.pipeline import prep_jsonl
from olmoasr.records.schema import DocumentRecord

from .helpers import make_pair

MACHINE_VTT = "WEBVTT\n\n00:00:00.400 --> 00:00:05.000\ncaption zero of\n"


def docs_by_id(path):
    return {r["id"]: r for _, r in iter_jsonl(path)}


def read_rejects(path):
    lines = path.read_text().splitlines()
    assert lines[0] == "id\tpath\treason\tmessage"
    return {row.split("\t")[0]: row.split("\t")[2] for row in lines[1:]}


def test_documents_rejects_and_machine_captions(tmp_path):
    raw = tmp_path / "raw"
    shard = raw / "deep" / "er" / "shard_00007"
    make_pair(shard, "good_srt", "mp3", seconds=12.5, machine=MACHINE_VTT)
    make_pair(shard, "good_vtt", "wav", seconds=7.25, fmt="vtt")
    make_pair(shard, "no_audio", "wav", seconds=2).joinpath("audio_no_audio.wav").unlink()
    make_pair(shard, "no_text", "wav", seconds=2).joinpath("transcript_no_text.srt").unlink()
    make_pair(shard, "corrupt", "wav", seconds=2).joinpath("audio_corrupt.wav").write_bytes(b"RIFF" + b"\x01" * 300)
    make_pair(shard, "zero", "wav", seconds=2).joinpath("audio_zero.wav").write_bytes(b"")
    make_pair(shard, "empty_text", "wav", seconds=2).joinpath("transcript_empty_text.srt").write_text("\n\n")
    make_pair(shard, "prose", "wav", seconds=2).joinpath("transcript_prose.srt").write_text("no timings here\n")
    bad_machine = make_pair(shard, "bad_mach", "wav", seconds=3, machine="garbage without cues")

    report = prep_jsonl(raw, tmp_path / "docs", workers=1, show_progress=False)

    out = tmp_path / "docs" / "shard_00007.jsonl.gz"
    docs = docs_by_id(out)
    assert sorted(docs) == ["bad_mach", "good_srt", "good_vtt"]
    good = DocumentRecord(**docs["good_srt"])
    assert good.length == pytest.approx(12.5, abs=0.06)  # the audio's duration, not the caption span
    assert docs["good_vtt"]["length"] == pytest.approx(7.25, abs=0.01)
    assert good.subtitle_file.endswith("shard_00007/good_srt/transcript_good_srt.srt")
    assert good.audio_file.startswith("/") and good.audio_file.endswith("audio_good_srt.mp3")
    assert good.content.startswith("1\n00:00:00,500 --> 00:00:05,000\nCaption 0 of good srt")
    assert good.mach_content == MACHINE_VTT
    assert "mach_content" not in docs["bad_mach"]  # an unusable machine transcript is ignored, not fatal
    assert bad_machine.exists()
    assert read_rejects(tmp_path / "docs" / "shard_00007.rejects.tsv") == {
        "no_audio": "missing_audio",
        "no_text": "missing_transcript",
        "corrupt": "corrupt_audio",
        "zero": "empty_audio",
        "empty_text": "empty_transcript",
        "prose": "unparseable_transcript",
    }
    stats = report.stats
    assert stats["pairs"] == 9 and stats["docs"] == 3
    assert stats["hours_in"] == pytest.approx((12.5 + 7.25 + 3) / 3600, rel=0.01)
    assert stats["rejects.missing_audio"] == 1 and stats["rejects.unparseable_transcript"] == 1
    assert stats["docs_with_machine"] == 1 and stats["machine_transcripts_ignored"] == 1


def test_several_shards_and_split_parts_equal_one_pass(tmp_path):
    raw = tmp_path / "raw"
    for s in range(2):
        for p in range(5):
            make_pair(raw / f"shard_0000{s}", f"s{s}p{p}", "flac", seconds=3, seed=p)
    whole = prep_jsonl(raw, tmp_path / "whole", workers=1, show_progress=False)
    split = prep_jsonl(raw, tmp_path / "split", workers=2, show_progress=False, pairs_per_part=2)
    assert whole.tasks_run == 2 and split.tasks_run == 6
    for shard in ("shard_00000", "shard_00001"):
        a = gzip.decompress((tmp_path / "whole" / f"{shard}.jsonl.gz").read_bytes())
        b = gzip.decompress((tmp_path / "split" / f"{shard}.jsonl.gz").read_bytes())
        assert a == b and a.count(b"\n") == 5
    assert whole.stats == split.stats
    assert not list((tmp_path / "split").rglob("*.part-*.jsonl.gz"))  # parts merged away
    again = prep_jsonl(raw, tmp_path / "split", workers=2, show_progress=False, pairs_per_part=2)
    assert again.tasks_run == 0 and again.stats == split.stats


def test_shards_with_one_name_in_two_places_stay_apart(tmp_path):
    raw = tmp_path / "raw"
    make_pair(raw / "a" / "shard_00000", "x1", "wav", seconds=2)
    make_pair(raw / "b" / "shard_00000", "y1", "wav", seconds=2)
    prep_jsonl(raw, tmp_path / "docs", workers=1, show_progress=False)
    names = sorted(p.name for p in (tmp_path / "docs").glob("*.jsonl.gz"))
    assert len(names) == 2 and "shard_00000.jsonl.gz" in names


def test_bad_invocations_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(UsageError):
        prep_jsonl(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    assert run(["prep", "jsonl", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 1
    assert run(["prep", "jsonl", str(tmp_path / "missing"), "-o", str(tmp_path / "out")]) == 1
    assert run(["prep", "jsonl", str(tmp_path), "-o", str(tmp_path / "out"), "--frobnicate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert "no audio_<id>" in err[0] and "not found" in err[1] and "--frobnicate" in err[2]


def test_cli_summary_table(tmp_path, capsys):
    make_pair(tmp_path / "raw" / "shard_00000", "p1", "wav", seconds=2)
    assert run(["prep", "jsonl", str(tmp_path / "raw"), "-o", str(tmp_path / "docs"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "pairs" in out and "hours in" in out and "documents" in out


def test_sigkill_then_rerun_equals_an_uninterrupted_run(tmp_path):
    raw = tmp_path / "raw"
    for p in range(40):
        make_pair(raw / "shard_00000", f"k{p:02d}", "wav", seconds=1, spans=[(0.1, 0.9)], seed=p)
    make_pair(raw / "shard_00000", "zz_bad", "wav", seconds=1).joinpath("audio_zz_bad.wav").write_bytes(b"")
    reference = tmp_path / "reference"
    prep_jsonl(raw, reference, workers=1, show_progress=False, pairs_per_part=1)
    killed = tmp_path / "killed"
    code = (
        "from olmoasr.pipeline import prep_jsonl\n"
        f"prep_jsonl({str(raw)!r}, {str(killed)!r}, workers=1, show_progress=False, pairs_per_part=1)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    markers = killed / ".olmoasr" / "prep_jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(markers.glob("*.done.json"))) < 3 and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < len(list(markers.glob("*.done.json"))) < 41, "the run was not interrupted mid-way"
    report = prep_jsonl(raw, killed, workers=1, show_progress=False, pairs_per_part=1)
    assert report.ok and report.stats["docs"] == 40 and report.stats["rejects.empty_audio"] == 1

    def outputs(root):
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".done.json")
        }

    assert outputs(killed) == outputs(reference)
