"""Classes 2, 3 and 6 (prep): truncated audio, non-UTF-8 subtitles and symbolic-link loops in the raw tree.
No silently wrong data: a cut file's `length` is what decodes and no segment's transcript runs past its
audio; a Latin-1 caption keeps its `é`; a loop is one line and the walk goes on."""

from __future__ import annotations

import gzip
import io
import json
import os

import av
import pytest

from .conftest import record
from .raw_pairs import cut_in_half, make_pair, spoken_cues, srt

# A caption may stay on screen up to 1 s after the audio ends (olmoasr's windowing rule); the bug this
# guards against had a transcript run 8 s past its audio.
CAPTION_OVERHANG_MS = 1000


def documents(folder):
    out = {}
    for path in sorted(folder.glob("*.jsonl.gz")):
        for line in gzip.decompress(path.read_bytes()).decode().splitlines():
            doc = json.loads(line)
            out[doc["id"]] = doc
    return out


def stage_stats(folder) -> dict:
    totals: dict = {}
    for path in folder.glob("*.stats.json"):
        for key, value in json.loads(path.read_text()).items():
            if isinstance(value, int | float):
                totals[key] = totals.get(key, 0) + value
    return totals


def decoded_seconds(data: bytes) -> float:
    """Seconds that decode (a cut file may fail at the cut: what came before counts)."""
    samples = 0
    with av.open(io.BytesIO(data)) as container:
        try:
            for frame in container.decode(audio=0):
                samples += frame.samples
        except av.error.InvalidDataError:
            pass
    return samples / 16000


def segment_audio(segs, seg) -> bytes:
    """A segment's FLAC bytes, read straight from its tar container by offset."""
    container = seg["audio_file"] if os.path.isabs(seg["audio_file"]) else segs / seg["audio_file"]
    with open(container, "rb") as fh:
        fh.seek(seg["audio_offset"])
        return fh.read(seg["audio_nbytes"])


def ms(stamp: str) -> int:
    h, m, rest = stamp.split(":")
    s, milli = rest.split(",")
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(milli)


@pytest.mark.parametrize("kind", ["mp3", "flac", "m4a"])
def test_truncated_audio_is_cut_to_what_decodes(tmp_path, cli, kind):
    shard = tmp_path / "raw" / "shard_0"
    make_pair(shard, "good", kind=kind)
    cut = cut_in_half(make_pair(shard, "cut", kind=kind) / f"audio_cut.{kind}")
    outcome = cli("prep", "jsonl", tmp_path / "raw", "-o", tmp_path / "docs", "-w", "1", "-q")
    warned = [line for line in outcome.warning_lines if str(cut) in line and "decodes" in line]
    docs = documents(tmp_path / "docs")
    truth = decoded_seconds(cut.read_bytes())
    counted = stage_stats(tmp_path / "docs").get("audio_truncated") == 1
    jsonl_ok = (outcome.code == 0 and len(warned) == 1 and counted and abs(docs["cut"]["length"] - truth) < 0.1
                and docs["good"]["length"] == pytest.approx(20, abs=0.1))  # fmt: skip

    outcome2 = cli("prep", "segment", tmp_path / "docs", "-o", tmp_path / "segs", "-w", "1", "-q")
    segments = [s for s in documents(tmp_path / "segs").values() if s["id"] == "cut"]
    honest = segments and all(
        ms(s["audio_timestamp"].split("_")[1]) <= truth * 1000 + 50
        and decoded_seconds(segment_audio(tmp_path / "segs", s)) * 1000
        >= ms(s["text_timestamp"].split("_")[1]) - ms(s["text_timestamp"].split("_")[0]) - CAPTION_OVERHANG_MS
        for s in segments
    )
    record(f"truncated {kind}: prep jsonl + prep segment", outcome, handled=jsonl_ok and outcome2.code == 0,
           data_lost=not honest)  # fmt: skip
    assert jsonl_ok, (outcome.err, docs["cut"]["length"], truth, stage_stats(tmp_path / "docs"))
    assert outcome2.code == 0 and honest, [(s["audio_timestamp"], s["text_timestamp"]) for s in segments]


def test_a_document_whose_length_overstates_its_audio_loses_only_the_segments_past_the_end(tmp_path, cli):
    """Records made before the fix (or by another tool) still say the header's 20 s: prep segment drops
    and counts the segments that run past what decodes."""
    audio = cut_in_half(make_pair(tmp_path / "raw" / "s", "cut", kind="flac") / "audio_cut.flac")
    truth = decoded_seconds(audio.read_bytes())
    doc = {"subtitle_file": str(tmp_path / "raw" / "s" / "cut" / "transcript_cut.srt"), "content": srt(spoken_cues(20)),
           "length": 20.0, "audio_file": str(audio), "id": "cut"}  # fmt: skip
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "s.jsonl").write_text(json.dumps(doc) + "\n")
    outcome = cli("prep", "segment", tmp_path / "docs", "-o", tmp_path / "segs", "-w", "1", "-q")
    segments = list(documents(tmp_path / "segs").values())
    past_end = [s for s in segments if ms(s["text_timestamp"].split("_")[1]) > truth * 1000 + CAPTION_OVERHANG_MS]
    stats = stage_stats(tmp_path / "segs")
    counted = stats.get("docs_audio_shorter_than_length") == 1 and stats.get("dropped.captions_past_audio", 0) >= 1
    warned = [line for line in outcome.warning_lines if str(audio) in line and "decodes to" in line]
    handled = outcome.code == 0 and counted and len(warned) == 1
    record("document length past its audio: prep segment", outcome, handled=handled, data_lost=bool(past_end))
    assert handled, (outcome.err, stats)
    assert not past_end and segments


CAPTIONS = {
    "latin-1": "Le café est très bon, naïve façade, señor Müller.",
    "cp1252": "Le café “coûte” 5 € — d’accord?",
    "shift_jis": "こんにちは、世界。今日はいい天気ですね。",
    "utf-16": "Grüße aus Köln, ça va?",
}


@pytest.mark.parametrize("encoding", list(CAPTIONS))
def test_non_utf8_subtitles_keep_their_characters_and_are_counted(tmp_path, cli, encoding):
    text = CAPTIONS[encoding]
    data = srt([(0.5, 4.0, text), (5.0, 9.0, text)]).encode(encoding)
    make_pair(tmp_path / "raw" / "shard_0", "p", seconds=10, transcript=data)
    outcome = cli("prep", "jsonl", tmp_path / "raw", "-o", tmp_path / "docs", "-w", "1", "-q")
    docs = documents(tmp_path / "docs")
    counted = {k: v for k, v in stage_stats(tmp_path / "docs").items() if k.startswith("transcripts_redecoded")}
    kept = "p" in docs and text in docs["p"]["content"] and "\ufffd" not in docs["p"]["content"]
    expect_counted = encoding != "utf-16"  # a byte-order mark names its encoding: nothing to guess
    handled = outcome.code == 0 and (sum(counted.values()) == 1) == expect_counted
    record(f"subtitle in {encoding}", outcome, handled=handled, data_lost=not kept)
    assert kept, docs.get("p", {}).get("content")
    assert handled, (outcome.err, counted)


def test_an_undecodable_subtitle_is_rejected_and_counted_never_replaced(tmp_path, cli):
    garbage = b"1\n00:00:00,500 --> 00:00:02,000\n" + bytes(range(128, 256)) * 3 + b"\n"
    make_pair(tmp_path / "raw" / "shard_0", "bad", seconds=4, transcript=garbage)
    make_pair(tmp_path / "raw" / "shard_0", "good", seconds=4)
    outcome = cli("prep", "jsonl", tmp_path / "raw", "-o", tmp_path / "docs", "-w", "1", "-q")
    docs = documents(tmp_path / "docs")
    stats = stage_stats(tmp_path / "docs")
    replaced = any("\ufffd" in d["content"] for d in docs.values())
    handled = outcome.code == 0 and set(docs) == {"good"} and stats.get("rejects.undecodable_transcript") == 1
    record("undecodable subtitle bytes", outcome, handled=handled, data_lost=replaced)
    assert handled and not replaced, (outcome.err, stats, list(docs))


def test_symbolic_link_loops_are_one_line_each_and_the_walk_goes_on(tmp_path, cli):
    shard = tmp_path / "raw" / "shard_0"
    make_pair(shard, "good", seconds=4)
    os.symlink(".", shard / "good" / "self")  # a folder that contains itself
    os.symlink("..", shard / "up")  # back to the top of the tree
    looped = make_pair(shard, "looped", seconds=4) / "audio_looped.flac"
    looped.unlink()
    os.symlink(looped.name, looped)  # a file link to itself
    outcome = cli("prep", "jsonl", tmp_path / "raw", "-o", tmp_path / "docs", "-w", "1", "-q")
    docs = documents(tmp_path / "docs")
    stats = stage_stats(tmp_path / "docs")
    loop_lines = [line for line in outcome.warning_lines if "loop" in line]
    handled = (outcome.code == 0 and set(docs) == {"good"} and stats.get("rejects.unreadable_audio") == 1
               and any(str(looped) in line for line in outcome.err.splitlines())
               and len(loop_lines) >= 2 and "Traceback" not in outcome.err)  # fmt: skip
    record("symbolic-link loops in prep jsonl input", outcome, handled=handled)
    assert handled, (outcome.code, outcome.err, stats, list(docs))
