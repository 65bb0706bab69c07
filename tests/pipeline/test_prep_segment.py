"""`prep segment` end to end: audio in many containers/codecs, text-only mode, tags, rejects, resume."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time

import numpy as np
import orjson
import pytest

from olmoasr.audio import load_audio
from olmoasr.cli.main import run
from olmoasr.errors import UsageError
from olmoasr.io import JsonlWriter, iter_jsonl
from olmoasr.pipeline import prep_jsonl, prep_segment
from olmoasr.records.schema import SegmentRecord
from olmoasr.records.segment_store import SegmentAudioReader, iter_container, load_segment_audio
from olmoasr.timestamps import parse_range_ms

from .helpers import make_pair

CODECS = ["wav", "flac", "mp3", "m4a", "ogg", "video.mp4", "stereo44k.wav", "8k.wav"]
AUDIO_FIELDS = {"audio_file", "audio_offset", "audio_nbytes", "audio_is_source"}


def records(path):
    return [r for _, r in iter_jsonl(path)]


@pytest.fixture(scope="module")
def codec_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("codecs")
    shard = tmp / "raw" / "shard_00000"
    machine = "WEBVTT\n\n00:00:00.400 --> 00:00:05.100\ncaption zero of p zero said clearly\n"
    for i, kind in enumerate(CODECS):
        make_pair(shard, f"p_{i}", kind, seconds=36, seed=i, machine=machine if i == 0 else None)
    prep_jsonl(tmp / "raw", tmp / "docs", workers=1, show_progress=False)
    report = prep_segment(tmp / "docs", tmp / "segs", workers=1, show_progress=False, segments_per_container=3)
    return tmp, report


def test_segment_audio_is_the_one_loaders_samples_for_every_codec(codec_run):
    tmp, report = codec_run
    segs = records(tmp / "segs" / "shard_00000.jsonl.gz")
    docs = {r["id"]: r for r in records(tmp / "docs" / "shard_00000.jsonl.gz")}
    assert len(segs) == 2 * len(CODECS) and report.stats["segments"] == len(segs)
    full = {doc_id: load_audio(doc["audio_file"]) for doc_id, doc in docs.items()}
    with SegmentAudioReader() as reader:
        for seg in segs:
            record = SegmentRecord(**seg)
            start, end = parse_range_ms(seg["audio_timestamp"])
            expected = full[seg["id"]][start * 16 : end * 16]
            assert len(expected) > 0.9 * (end - start) * 16
            np.testing.assert_array_equal(reader.read(seg), expected, err_msg=seg["seg_id"])
            np.testing.assert_array_equal(load_segment_audio(record), expected)
    assert [s["audio_timestamp"] for s in segs[:2]] == ["00:00:00,500_00:00:30,500", "00:00:25,000_00:00:33,000"]
    tars = sorted((tmp / "segs" / "audio" / "shard_00000").iterdir())
    assert len(tars) == 6  # 16 segments, 3 per container
    streamed = [seg_id for tar in tars for seg_id, _ in iter_container(tar)]
    assert streamed == [s["seg_id"] for s in segs]


def test_segment_records_follow_the_spec(codec_run):
    tmp, _ = codec_run
    seg = records(tmp / "segs" / "shard_00000.jsonl.gz")[0]
    assert list(seg)[:9] == [
        "subtitle_file",
        "seg_content",
        "text_timestamp",
        "audio_timestamp",
        "norm_end",
        "id",
        "seg_id",
        "audio_file",
        "ts_mode",
    ]
    assert seg["seg_id"] == "p_0_0" and seg["text_timestamp"] == "00:00:00,500_00:00:25,000"
    assert seg["norm_end"] == "00:00:24.500"
    assert seg["seg_content"].startswith("1\n00:00:00,000 --> 00:00:04,500\nCaption 0 of p 0, said clearly.\n\n2\n")
    assert seg["subtitle_file"].endswith("p_0/00:00:00,500_00:00:25,000.srt")
    assert os.path.isabs(seg["audio_file"])
    # machine alignment fields (spec 2.5) for the pair with machine captions
    assert seg["mach_timestamp"] == "00:00:00,400_00:00:05,100"
    assert seg["mach_seg_text"] == "caption 0 of p 0 said clearly"
    assert seg["seg_text"].startswith("caption 0 of p 0 said clearly caption ")
    assert 0 < seg["seg_edit_dist"] < 1


def test_text_only_gives_the_same_segments_pointing_at_the_source(codec_run):
    tmp, _ = codec_run
    prep_segment(tmp / "docs", tmp / "text", text_only=True, workers=1, show_progress=False)
    with_audio = records(tmp / "segs" / "shard_00000.jsonl.gz")
    text_only = records(tmp / "text" / "shard_00000.jsonl.gz")

    def strip(rows):
        return [{k: v for k, v in r.items() if k not in AUDIO_FIELDS} for r in rows]

    assert strip(with_audio) == strip(text_only)
    assert not (tmp / "text" / "audio").exists()
    for container_record, source_record in zip(with_audio[:4], text_only[:4], strict=True):
        assert source_record["audio_is_source"] is True and source_record["audio_file"].startswith("/")
        np.testing.assert_array_equal(load_segment_audio(source_record), load_segment_audio(container_record))


def test_segment_records_given_to_prep_segment_fail_once(codec_run, tmp_path, capsys):
    # The wrong stage's output: once every record was rejected on its own warning line and the run exited 0
    tmp, _ = codec_run
    argv = ["prep", "segment", str(tmp / "segs"), "-o", str(tmp_path / "again"), "--text-only", "-q"]
    assert run(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: {tmp / 'segs' / 'shard_00000.jsonl.gz'}: holds segment records, not documents; "
        "prep segment reads the output of prep jsonl"
    ]
    assert not (tmp_path / "again").exists()


def test_channel_option_picks_one_channel(codec_run):
    tmp, _ = codec_run
    stereo_id = f"p_{CODECS.index('stereo44k.wav')}"
    doc = next(r for r in records(tmp / "docs" / "shard_00000.jsonl.gz") if r["id"] == stereo_id)
    with JsonlWriter(tmp / "stereo_docs" / "s.jsonl") as writer:
        writer.write(doc)
    prep_segment(tmp / "stereo_docs", tmp / "ch1", channel=1, workers=1, show_progress=False)
    seg = records(tmp / "ch1" / "s.jsonl.gz")[0]
    got = load_segment_audio(seg)
    right = load_audio(doc["audio_file"], channel=1)[8000 : 8000 + len(got)]
    downmix = load_audio(doc["audio_file"])[8000 : 8000 + len(got)]
    np.testing.assert_array_equal(got, right)
    assert np.abs(got - downmix).max() > 0.05


def test_document_tags_are_carried_into_segments(tmp_path):
    make_pair(tmp_path / "raw" / "shard_00000", "t1", "wav", seconds=36)
    prep_jsonl(tmp_path / "raw", tmp_path / "docs", workers=1, show_progress=False)
    doc = records(tmp_path / "docs" / "shard_00000.jsonl.gz")[0]
    doc.update({"casing": "mixed", "edit_dist": 0.25, "my_tool_score": [1, 2], "seg_id": "not carried over"})
    with JsonlWriter(tmp_path / "tagged" / "shard_00000.jsonl.gz") as writer:
        writer.write(doc)
    prep_segment(tmp_path / "tagged", tmp_path / "segs", text_only=True, workers=1, show_progress=False)
    segs = records(tmp_path / "segs" / "shard_00000.jsonl.gz")
    assert len(segs) == 2
    for i, seg in enumerate(segs):
        assert (seg["casing"], seg["edit_dist"], seg["my_tool_score"]) == ("mixed", 0.25, [1, 2])
        assert seg["seg_id"] == f"t1_{i}"  # segment fields win over document fields
        assert "content" not in seg and "length" not in seg


def test_bad_documents_are_rejected_and_the_rest_goes_on(tmp_path):
    make_pair(tmp_path / "raw" / "shard_00000", "ok", "wav", seconds=36)
    prep_jsonl(tmp_path / "raw", tmp_path / "docs0", workers=1, show_progress=False)
    good = records(tmp_path / "docs0" / "shard_00000.jsonl.gz")[0]
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"\xff\xfb" + os.urandom(2000))
    docs = tmp_path / "docs" / "shard_00000.jsonl"
    docs.parent.mkdir()
    lines = [
        orjson.dumps({**good, "id": "gone", "audio_file": str(tmp_path / "nope.wav")}),
        b"{not json",
        orjson.dumps({**good, "id": "broken", "audio_file": str(corrupt)}),
        orjson.dumps({**good, "id": "notext", "content": "just words"}),
        orjson.dumps({k: v for k, v in good.items() if k != "id"}),
        orjson.dumps(good),
    ]
    docs.write_bytes(b"\n".join(lines) + b"\n")
    report = prep_segment(tmp_path / "docs", tmp_path / "segs", workers=1, show_progress=False)
    assert [s["id"] for s in records(tmp_path / "segs" / "shard_00000.jsonl.gz")] == ["ok", "ok"]
    rejects = (tmp_path / "segs" / "shard_00000.rejects.tsv").read_text().splitlines()[1:]
    reasons = {row.split("\t")[0]: row.split("\t")[2] for row in rejects}
    assert reasons == {
        "gone": "missing_audio",
        "broken": "corrupt_audio",
        "notext": "unparseable_transcript",
        "line 5": "bad_record",
    }
    assert report.stats["malformed_lines"] == 1 and report.stats["docs"] == 1
    # no audio of rejected documents in the containers
    tar = next((tmp_path / "segs" / "audio" / "shard_00000").iterdir())
    assert [seg_id for seg_id, _ in iter_container(tar)] == ["ok_0", "ok_1"]


def _all_outputs(root):
    """Relative path -> bytes for every output file (records decompressed, own dir name neutralised)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = str(path.relative_to(root))
        data = path.read_bytes()
        if rel.endswith(".done.json"):
            data = orjson.dumps(orjson.loads(data)["stats"])
        elif rel.endswith(".gz"):
            data = gzip.decompress(data).replace(str(root).encode(), b"ROOT")
        out[rel] = data
    return out


@pytest.fixture(scope="module")
def resume_docs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    for i in range(8):
        make_pair(tmp / "raw" / "shard_00000", f"r_{i}", "flac", seconds=36, seed=i)
    prep_jsonl(tmp / "raw", tmp / "docs", workers=1, show_progress=False)
    return tmp


def test_sigkill_then_rerun_equals_an_uninterrupted_run(resume_docs):
    tmp = resume_docs
    reference = tmp / "reference"
    prep_segment(tmp / "docs", reference, workers=1, show_progress=False, docs_per_part=1, segments_per_container=3)
    killed = tmp / "killed"
    code = (
        "from olmoasr.pipeline import prep_segment; import time\n"
        f"prep_segment({str(tmp / 'docs')!r}, {str(killed)!r}, workers=1, show_progress=False, docs_per_part=1,"
        " segments_per_container=3)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    markers = killed / ".olmoasr" / "prep_segment"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(markers.glob("*.done.json"))) < 2 and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_at_kill = len(list(markers.glob("*.done.json")))
    assert 0 < done_at_kill < 8, "the run was not interrupted mid-way"
    assert not (killed / "shard_00000.jsonl.gz").exists()
    report = prep_segment(
        tmp / "docs", killed, workers=1, show_progress=False, docs_per_part=1, segments_per_container=3
    )
    assert report.tasks_skipped >= done_at_kill and report.ok
    assert _all_outputs(killed) == _all_outputs(reference)
    assert not [p for p in killed.rglob("*") if ".tmp-" in p.name]


def test_rerun_skips_finished_shards(resume_docs):
    tmp = resume_docs
    out = tmp / "rerun"
    first = prep_segment(tmp / "docs", out, workers=1, show_progress=False)
    mtime = (out / "shard_00000.jsonl.gz").stat().st_mtime_ns
    again = prep_segment(tmp / "docs", out, workers=1, show_progress=False)
    assert again.tasks_run == 0 and again.tasks_skipped == 1 and again.seconds < 5  # no decoding at all
    assert again.stats == first.stats
    assert (out / "shard_00000.jsonl.gz").stat().st_mtime_ns == mtime


def test_bad_invocations_are_one_line_errors(tmp_path, capsys, resume_docs):
    with pytest.raises(UsageError):
        prep_segment(tmp_path / "missing", tmp_path / "out")
    with pytest.raises(UsageError):
        prep_segment(resume_docs / "docs", tmp_path / "out", max_segments_per_doc=-1)
    (tmp_path / "empty").mkdir()
    assert run(["prep", "segment", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 1
    assert run(["prep", "segment", str(tmp_path / "missing"), "-o", str(tmp_path / "out")]) == 1
    assert run(["prep", "segment", str(resume_docs / "docs"), "-o", str(resume_docs / "docs" / "x")]) == 1
    assert run(["prep", "segment", str(tmp_path), "-o", str(tmp_path / "out"), "--nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("error: ") for line in err)


def test_packaged_sample_shard_end_to_end(tmp_path):
    """The sample shard's manifest knows each pair's kind and its worst per-window machine WER."""
    from olmoasr.sample_data import extract_sample_shard, sample_manifest

    raw = extract_sample_shard(tmp_path)
    manifest = {p["id"]: p for p in sample_manifest(raw)}
    prep_jsonl(raw, tmp_path / "docs", workers=1, show_progress=False)
    report = prep_segment(tmp_path / "docs", tmp_path / "segs", workers=1, show_progress=False)
    rows = (tmp_path / "docs" / "shard_00000.rejects.tsv").read_text().splitlines()[1:]
    rejected = {row.split("\t")[0]: row.split("\t")[2] for row in rows}
    expected = {pid: p["kind"] for pid, p in manifest.items() if p["kind"] in ("corrupt_audio", "empty_transcript")}
    assert rejected == expected
    docs = {r["id"]: r for r in records(tmp_path / "docs" / "shard_00000.jsonl.gz")}
    for pid, doc in docs.items():
        assert doc["length"] == pytest.approx(manifest[pid]["duration_s"], abs=0.1)
    worst: dict[str, float] = {}
    for seg in records(tmp_path / "segs" / "shard_00000.jsonl.gz"):
        SegmentRecord(**seg)
        worst[seg["id"]] = max(worst.get(seg["id"], 0.0), seg["seg_edit_dist"])
    assert set(worst) == set(docs)
    for pid, wer in worst.items():
        assert wer == pytest.approx(manifest[pid]["max_window_wer"], abs=1e-3), pid
    assert report.stats["segments.no_speech"] >= 1  # the pair with a 35 s silence


def test_split_shard_parts_equal_one_pass(resume_docs, tmp_path):
    docs = records(resume_docs / "docs" / "shard_00000.jsonl.gz")
    with JsonlWriter(tmp_path / "in" / "s.jsonl") as writer:
        writer.write_many(docs[:3])
    with open(tmp_path / "in" / "s.jsonl", "ab") as fh:
        fh.write(b"\n{broken\n")
        fh.write(b"\n".join(orjson.dumps(d) for d in docs[3:]) + b"\n")
    one = prep_segment(tmp_path / "in", tmp_path / "one", text_only=True, workers=1, show_progress=False)
    split = prep_segment(
        tmp_path / "in", tmp_path / "split", text_only=True, workers=1, show_progress=False, docs_per_part=2
    )
    assert split.tasks_run == 5 and one.tasks_run == 1  # 9 non-blank lines in parts of 2
    assert records(tmp_path / "one" / "s.jsonl.gz") == records(tmp_path / "split" / "s.jsonl.gz")
    assert one.stats == pytest.approx(split.stats) and one.stats["malformed_lines"] == 1
    assert [r["id"] for r in records(tmp_path / "split" / "s.jsonl.gz")][::2] == [d["id"] for d in docs]
