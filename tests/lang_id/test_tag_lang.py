"""`tag lang` end to end: shards in, the same shards out with one `audio_lang` per document."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from olmoasr.audio import load_audio
from olmoasr.io import iter_jsonl
from olmoasr.io.completion import marker_path
from olmoasr.pipeline.lang_id import LangIdOptions, VoxLinguaClassifier, get_classifier, tag_audio_language

from .lid_helpers import FrequencyClassifier, segment, write_shard, write_tone

EN, DE, FR = 300.0, 500.0, 900.0  # FrequencyClassifier: <350 Hz en, <700 Hz de, else fr


@pytest.fixture
def corpus(tmp_path) -> dict[str, Path]:
    audio = tmp_path / "audio"
    tone = lambda name, freq: write_tone(audio / f"{name}.flac", freq, seed=hash(name) % 1000)  # noqa: E731
    segs = tmp_path / "segs"
    shard_a = [
        segment("doc1", 0, tone("d1s0", EN)),
        segment("doc1", 1, tone("d1s1", DE)),
        segment("doc1", 2, tone("d1s2", EN)),
        segment("doc2", 0, tone("d2s0", FR)),
        segment("doc2", 1, tone("d2s1", EN), text=""),  # no speech: does not vote
        segment("doc2", 2, tone("d2s2", EN)) | {"seg_content": "WEBVTT\n\n"},  # header only: no speech
        segment("doc3", 0, tone("d3s0", EN), text=""),  # only no-speech -> null
        segment("doc4", 0, tone("d4s0", DE)),
        segment("doc4", 1, tone("d4s1", EN)),  # tie 1-1 -> de, seen first
        segment("doc5", 0, tone("d5s0", FR)),
    ]
    write_shard(segs / "shard_a.jsonl", shard_a)
    shard_b = [
        segment("doc5", 1, tone("d5s1", EN)),  # doc5 spans two shards: fr 1, en 2 -> en everywhere
        segment("doc5", 2, tone("d5s2", EN)),
        segment("doc6", 0, str(audio / "missing.flac")),  # audio error -> no vote -> null
        {k: v for k, v in segment("docX", 0, tone("dxs0", EN)).items() if k != "id"},  # no id: cannot vote
    ]
    write_shard(segs / "sub" / "shard_b.jsonl.gz", shard_b)
    with gzip.open(segs / "sub" / "shard_b.jsonl.gz", "ab") as fh:
        fh.write(b"{not json\n")
    docs = tmp_path / "docs"
    write_shard(
        docs / "docs_000.jsonl",
        [{"id": f"doc{i}", "subtitle_file": f"doc{i}.vtt", "content": "WEBVTT\n", "length": 1.0} for i in range(1, 8)],
    )
    return {"segs": segs, "docs": docs, "root": tmp_path}


def read_all(path: Path) -> list[dict]:
    return [record for _, record in iter_jsonl(path)]


EXPECTED = {"doc1": "en", "doc2": "fr", "doc3": None, "doc4": "de", "doc5": "en", "doc6": None}


def test_majority_vote_nulls_and_counts_with_a_deterministic_classifier(corpus):
    out, docs_out = corpus["root"] / "out", corpus["root"] / "docs_out"
    report = tag_audio_language(
        corpus["segs"],
        out,
        LangIdOptions(batch_size=1, device="cpu", workers=1),  # buffers of 4 segments: several per shard
        docs=corpus["docs"],
        docs_output_dir=docs_out,
        classifier=FrequencyClassifier(),
        show_progress=False,
    )
    assert report.ok
    seg_a, seg_b = read_all(out / "shard_a.jsonl"), read_all(out / "sub" / "shard_b.jsonl.gz")
    assert len(seg_a) == 10 and len(seg_b) == 4
    for record in seg_a + seg_b:
        assert "audio_lang" in record
        assert record["audio_lang"] == EXPECTED.get(record.get("id"))
    assert [r["seg_id"] for r in seg_a] == [r["seg_id"] for _, r in iter_jsonl(corpus["segs"] / "shard_a.jsonl")]
    s = report.summary
    assert s["documents"] == 6
    assert s["documents_by_audio_lang"] == {"en": 2, "de": 1, "fr": 1}
    assert s["documents_without_audio_lang"] == 2
    assert s["segments"] == 14 and s["segments_classified"] == 9 and s["segments_no_speech"] == 3
    assert s["segments_audio_error"] == {"missing_audio": 1}
    assert s["segments_without_id"] == 1 and s["malformed_lines"] == 1
    assert s["segments_by_audio_lang"] == {"en": 5, "de": 2, "fr": 2}
    assert s["throughput"]["segments_per_second"] > 0 and s["audio_hours_classified"] == pytest.approx(9 * 0.6 / 3600)
    assert s["document_records"] == {
        "written": 7,
        "with_audio_lang": 4,
        "without_audio_lang": 2,
        "without_segments": 1,
        "malformed_lines": 0,
    }
    assert orjson.loads((out / "audio_lang_summary.json").read_bytes())["documents"] == 6
    docs = {r["id"]: r["audio_lang"] for r in read_all(docs_out / "docs_000.jsonl")}
    assert docs == EXPECTED | {"doc7": None}
    assert marker_path(out, "tag-lang", "sub/shard_b").exists()
    assert marker_path(out, "tag-lang-classify", "shard_a").exists()

    before = (out / "shard_a.jsonl").read_bytes()
    again = tag_audio_language(
        corpus["segs"],
        out,
        LangIdOptions(batch_size=3, device="cpu", workers=1),
        docs=corpus["docs"],
        docs_output_dir=docs_out,
        classifier=FrequencyClassifier(),
        show_progress=False,
    )
    assert [r.tasks_skipped for r in again.stages] == [2, 2, 1]
    assert again.summary["documents_by_audio_lang"] == s["documents_by_audio_lang"]
    assert again.summary["segments_classified"] == 9
    assert again.summary["throughput"]["segments_per_second"] is None  # nothing was classified in this run
    assert again.summary["throughput"]["worker_seconds"] == s["throughput"]["worker_seconds"] > 0
    assert (out / "shard_a.jsonl").read_bytes() == before


def test_changed_votes_rewrite_only_affected_outputs(corpus):
    out = corpus["root"] / "out"
    options = LangIdOptions(device="cpu", workers=1)
    tag_audio_language(corpus["segs"], out, options, classifier=FrequencyClassifier(), show_progress=False)
    # A new shard adds two German segments of doc1: its winner changes, so shard_a is written again.
    write_shard(
        corpus["segs"] / "shard_c.jsonl",
        [segment("doc1", 9, write_tone(corpus["root"] / "audio" / f"c{i}.flac", DE, seed=i)) for i in range(2)],
    )
    report = tag_audio_language(corpus["segs"], out, options, classifier=FrequencyClassifier(), show_progress=False)
    classify, write = report.stages[0], report.stages[1]
    assert (classify.tasks_skipped, classify.tasks_run) == (2, 1)
    assert write.tasks_run == 2 and write.tasks_skipped == 1  # shard_a (doc1 changed) and the new shard_c
    langs = {r["seg_id"]: r["audio_lang"] for r in read_all(out / "shard_a.jsonl")}
    assert langs["doc1_0"] == "de"  # en 2 vs de 1+2: de
    assert all(r["audio_lang"] == "de" for r in read_all(out / "shard_c.jsonl"))


def test_real_network_path_from_a_speechbrain_directory(corpus, micro_model_dir):
    out = corpus["root"] / "out-net"
    report = tag_audio_language(
        corpus["segs"],
        out,
        LangIdOptions(model=str(micro_model_dir), batch_size=4, device="cpu", workers=1),
        show_progress=False,
    )
    assert report.ok and report.summary["backend"] == "voxlingua107"
    assert report.summary["model"] == str(micro_model_dir)
    assert report.summary["segments_classified"] == 9 and report.summary["documents_without_audio_lang"] == 2
    # Each document's audio_lang is the majority of the network's own per-segment predictions.
    classifier = get_classifier("voxlingua107", str(micro_model_dir), "cpu")  # the instance the run used
    assert isinstance(classifier, VoxLinguaClassifier)
    expected: dict[str, dict[str, int]] = {}
    for shard in (corpus["segs"] / "shard_a.jsonl", corpus["segs"] / "sub" / "shard_b.jsonl.gz"):
        for _, record in iter_jsonl(shard, report=False):
            if "id" not in record or "hello" not in record["seg_content"] or "missing" in record["audio_file"]:
                continue
            language = classifier.classify([load_audio(record["audio_file"])])[0].language
            counts = expected.setdefault(record["id"], {})
            counts[language] = counts.get(language, 0) + 1
    winners = {doc: max(counts.items(), key=lambda kv: kv[1])[0] for doc, counts in expected.items()}
    written = {
        r["id"]: r["audio_lang"]
        for r in read_all(out / "shard_a.jsonl") + read_all(out / "sub/shard_b.jsonl.gz")
        if "id" in r
    }
    assert written == winners | {"doc3": None, "doc6": None}
    assert sum(report.summary["documents_by_audio_lang"].values()) == 4
    assert set(report.summary["documents_by_audio_lang"]) <= {"en", "de", "fr"}


def test_run_killed_after_classifying_resumes_to_identical_outputs(corpus, capsys):
    out = corpus["root"] / "out"
    options = LangIdOptions(device="cpu", workers=1)
    tag_audio_language(corpus["segs"], out, options, classifier=FrequencyClassifier(), show_progress=False)
    reported = capsys.readouterr().err
    assert reported.count("malformed JSON") == 1  # reported once, by the first pass only
    reference = {p: p.read_bytes() for p in (out / "shard_a.jsonl", out / "sub" / "shard_b.jsonl.gz")}
    # As if killed after the classify stage: no write markers, one output gone, one left as a temporary.
    for marker in (out / ".olmoasr" / "tag-lang").rglob("*.done.json"):
        marker.unlink()
    (out / "shard_a.jsonl").unlink()
    (out / "sub" / "shard_b.jsonl.gz").rename(out / "sub" / ".shard_b.jsonl.gz.tmp-1-dead")
    report = tag_audio_language(corpus["segs"], out, options, classifier=FrequencyClassifier(), show_progress=False)
    assert report.stages[0].tasks_skipped == 2 and report.stages[1].tasks_run == 2
    assert {p: p.read_bytes() for p in reference} == reference
    assert not list((out / "sub").glob(".*.tmp-*"))
