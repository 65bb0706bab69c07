"""The packaged sample shard: layout, manifest, decodable audio, caption timing, deliberate defects."""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from olmoasr.audio import load_audio, probe_duration
from olmoasr.errors import AudioError
from olmoasr.sample_data import (
    MANIFEST_NAME,
    SHARD_NAME,
    extract_sample_shard,
    sample_manifest,
    sample_pair_dir,
    sample_shard_archive,
)
from olmoasr.synth.speech import engines_available
from olmoasr.timestamps import parse_time_ms

KINDS = {"good", "all_caps", "repeating", "non_english", "mistranscribed", "corrupt_audio", "empty_transcript"}


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory) -> Path:
    return extract_sample_shard(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def manifest(raw_dir) -> list[dict]:
    return sample_manifest(raw_dir)


def cue_times(path: Path) -> list[tuple[int, int]]:
    """(start, end) ms of every cue line in an SRT/VTT file (cue settings ignored)."""
    times = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if "-->" in line:
            start, _, rest = line.partition("-->")
            times.append((parse_time_ms(start), parse_time_ms(rest.split()[0])))
    return times


def test_archive_is_small_and_reproducible_in_form():
    archive = sample_shard_archive()
    assert archive.stat().st_size <= 5_000_000
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert all(m.mtime == 0 and m.uid == 0 and m.uname == "" for m in members)
    assert MANIFEST_NAME in names
    assert archive.read_bytes()[4:8] == b"\x00\x00\x00\x00"  # gzip header without a timestamp


def test_extract_is_idempotent_and_leaves_no_temporaries(tmp_path):
    first = extract_sample_shard(tmp_path)
    marker = first / SHARD_NAME / "marker"
    marker.write_text("kept")
    second = extract_sample_shard(tmp_path)
    assert second == first
    assert marker.read_text() == "kept"  # reused, not re-extracted
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name]


def test_layout_matches_manifest(raw_dir, manifest):
    shard = raw_dir / SHARD_NAME
    assert sorted(p.name for p in shard.iterdir()) == sorted(e["id"] for e in manifest)
    for entry in manifest:
        pair_id = entry["id"]
        assert len(pair_id) == 11
        files = sorted(p.name for p in (shard / pair_id).iterdir())
        expected = [entry["audio_file"], entry["transcript_file"]]
        if entry["machine_transcript_file"]:
            expected.append(entry["machine_transcript_file"])
        assert files == sorted(expected)
        assert entry["audio_file"].startswith(f"audio_{pair_id}.")
        assert entry["transcript_file"] in (f"transcript_{pair_id}.srt", f"transcript_{pair_id}.vtt")


def test_manifest_covers_every_kind_and_container(manifest):
    kinds = Counter(e["kind"] for e in manifest)
    assert set(kinds) == KINDS
    assert kinds["good"] >= 10
    assert 18 <= len(manifest) <= 24
    suffixes = {Path(e["audio_file"]).suffix for e in manifest}
    assert suffixes == {".mp3", ".m4a", ".ogg", ".wav", ".flac"}
    assert {Path(e["transcript_file"]).suffix for e in manifest} == {".srt", ".vtt"}
    durations = [e["duration_s"] for e in manifest]
    assert 180 <= sum(durations) <= 900
    assert max(durations) > 60 and sum(d > 30 for d in durations) >= 3
    assert any(max(e.get("silences_s", {"": 0}).values()) >= 30 for e in manifest)


def test_good_pairs_decode_and_captions_match_audio(raw_dir, manifest):
    for entry in manifest:
        if entry["kind"] in ("corrupt_audio",):
            continue
        pair = sample_pair_dir(raw_dir, entry["id"])
        samples = load_audio(pair / entry["audio_file"])
        decoded_s = len(samples) / 16000
        assert decoded_s == pytest.approx(entry["duration_s"], abs=0.15), entry["id"]
        assert probe_duration(pair / entry["audio_file"]) == pytest.approx(entry["duration_s"], abs=0.15)
        assert 0.05 < float(abs(samples).max()) <= 1.0
        if entry["kind"] == "empty_transcript":
            continue
        times = cue_times(pair / entry["transcript_file"])
        assert len(times) == entry["num_captions"]
        assert all(start < end for start, end in times)
        last_end_s = times[-1][1] / 1000
        assert last_end_s == pytest.approx(entry["speech_end_s"], abs=0.001)
        assert 0 < decoded_s - last_end_s < 1.0, entry["id"]


def test_caption_timings_are_exact_speech_boundaries(raw_dir, manifest):
    """Captions start where speech starts: the audio before the first caption is silent, the first 200 ms of
    the caption is not."""
    entry = next(e for e in manifest if e["kind"] == "good" and e["audio_file"].endswith(".wav"))
    samples = load_audio(sample_pair_dir(raw_dir, entry["id"]) / entry["audio_file"])
    start = int(entry["speech_start_s"] * 16000)
    assert abs(samples[: start - 80]).max() < 1e-3
    assert abs(samples[start : start + 3200]).max() > 0.05


def test_long_silence_pair_is_silent_between_captions(raw_dir, manifest):
    entry = next(e for e in manifest if "silences_s" in e)
    pair = sample_pair_dir(raw_dir, entry["id"])
    times = cue_times(pair / entry["transcript_file"])
    gaps = [(b[0] - a[1], a[1], b[0]) for a, b in zip(times, times[1:], strict=False)]
    gap_ms, gap_start, gap_end = max(gaps)
    assert gap_ms >= 30_000
    samples = load_audio(pair / entry["audio_file"])
    middle = samples[int((gap_start / 1000 + 1) * 16000) : int((gap_end / 1000 - 1) * 16000)]
    assert abs(middle).max() < 0.01


def test_corrupt_audio_really_fails(raw_dir, manifest):
    entry = next(e for e in manifest if e["kind"] == "corrupt_audio")
    path = sample_pair_dir(raw_dir, entry["id"]) / entry["audio_file"]
    with pytest.raises(AudioError) as err:
        load_audio(path)
    assert err.value.reason == "corrupt_audio"
    with pytest.raises(AudioError):
        probe_duration(path)


def test_empty_transcripts_are_empty(raw_dir, manifest):
    contents = []
    for entry in manifest:
        if entry["kind"] == "empty_transcript":
            contents.append((sample_pair_dir(raw_dir, entry["id"]) / entry["transcript_file"]).read_text())
    assert "" in contents and any(c.strip() == "WEBVTT" for c in contents)


def test_each_defect_is_present(raw_dir, manifest):
    by_kind = {e["kind"]: e for e in manifest}
    pair = lambda e: sample_pair_dir(raw_dir, e["id"])  # noqa: E731

    caps = (pair(by_kind["all_caps"]) / by_kind["all_caps"]["transcript_file"]).read_text()
    caption_lines = [ln for ln in caps.splitlines() if ln and "-->" not in ln and not ln.isdigit()]
    assert all(ln == ln.upper() for ln in caption_lines) and caption_lines

    rolling = pair(by_kind["repeating"]) / by_kind["repeating"]["transcript_file"]
    texts = [ln for ln in rolling.read_text().splitlines()[1:] if ln and "-->" not in ln]
    assert any(len(a.split()) > 1 and a in b for a, b in zip(texts, texts[1:], strict=False))

    for entry in manifest:
        if entry["kind"] == "non_english":
            assert entry["language"] in ("de", "es") and entry["text_lang"] == entry["language"]
        elif entry["kind"] != "corrupt_audio":
            assert entry["text_lang"] == "en"
    assert by_kind["mistranscribed"]["doc_wer"] >= 0.8
    assert by_kind["mistranscribed"]["transcript_text"] != by_kind["mistranscribed"]["text"]


def test_good_pairs_are_clearly_good(raw_dir, manifest):
    """Mixed case, punctuation, no rolling repeats, machine captions close to the manual ones."""
    from olmoasr.text.normalize import normalize_english
    from olmoasr.text.wer import corpus_wer

    good = [e for e in manifest if e["kind"] == "good"]
    assert any(e["doc_wer"] == 0 for e in good) and any(e["doc_wer"] > 0.05 for e in good)
    for entry in good:
        assert entry["machine_transcript_file"], entry["id"]
        assert entry["doc_wer"] < 0.3 and entry["max_window_wer"] < 0.5
        machine = entry["machine_text"]
        assert machine == machine.lower() and "." not in machine and "," not in machine
        # recompute rather than trust the manifest
        wer = corpus_wer([normalize_english(entry["text"])], [normalize_english(machine)]).wer
        assert wer == pytest.approx(entry["doc_wer"], abs=1e-3)
        text = entry["text"]
        assert any(c.isupper() for c in text) and any(c.islower() for c in text) and "." in text


def test_machine_captions_are_youtube_rolling_style(raw_dir, manifest):
    """Two-line cues carry per-word times, single-line 10 ms cues carry each finished line once: the
    extraction rule of spec §2.5 recovers the machine text exactly."""
    import re

    for entry in manifest:
        if not entry["machine_transcript_file"] or entry["kind"] == "empty_transcript":
            continue
        vtt = (sample_pair_dir(raw_dir, entry["id"]) / entry["machine_transcript_file"]).read_text()
        assert vtt.startswith("WEBVTT\nKind: captions\nLanguage: ")
        assert "<c>" in vtt
        cues = []
        for block in vtt.split("\n\n")[1:]:
            lines = block.split("\n")
            text = re.sub(r"<[^>]+>", "", "\n".join(lines[1:])).strip()
            cues.append(text)
        if len(cues) >= 2 and cues[0] == cues[1]:
            cues = [cues[0], *cues[2:]]
        kept = [c for c in cues[:-1] if "\n" not in c] + [cues[-1].split("\n")[-1]]
        assert " ".join(kept) == entry["machine_text"], entry["id"]


def test_concurrent_extractions_agree(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: extract_sample_shard(tmp_path), range(4)))
    assert len(set(results)) == 1
    assert [p.name for p in tmp_path.iterdir()] == [results[0].name]
    assert len(list((results[0] / SHARD_NAME).iterdir())) == len(sample_manifest())


def test_manifest_readable_without_extracting(manifest):
    assert sample_manifest() == manifest


@pytest.mark.slow
@pytest.mark.skipif(not engines_available(), reason="flite/espeak-ng not installed")
def test_regenerating_the_archive_is_deterministic(tmp_path):
    from olmoasr.synth.sample_shard import build_sample_archive

    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    build_sample_archive(first)
    build_sample_archive(second)
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first, "r:gz") as tar:
        regenerated = json.loads(tar.extractfile(MANIFEST_NAME).read())["pairs"]

    def identity(entries):
        return [(e["id"], e["kind"], e["text"]) for e in entries]

    assert identity(regenerated) == identity(sample_manifest())
