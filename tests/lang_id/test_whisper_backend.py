"""The `whisper` backend: a multilingual Whisper-format checkpoint's language detection, end to end."""

from __future__ import annotations

import pytest

from olmoasr.audio import load_audio
from olmoasr.errors import UsageError
from olmoasr.io import iter_jsonl
from olmoasr.model.languages import LANGUAGES
from olmoasr.pipeline.lang_id import LangIdOptions, get_classifier, tag_audio_language

from .lid_helpers import segment, write_shard, write_tone


def test_whisper_backend_classifies_votes_and_writes(tmp_path, micro_whisper_checkpoints):
    checkpoint = str(micro_whisper_checkpoints["multilingual"])
    audio = tmp_path / "audio"
    records = [
        segment("doc1", 0, write_tone(audio / "a.flac", 300, seconds=0.5)),
        segment("doc1", 1, write_tone(audio / "b.flac", 900, seconds=0.7, seed=1)),
        segment("doc1", 2, write_tone(audio / "c.flac", 600, seconds=0.4, seed=2)),
        segment("doc2", 0, write_tone(audio / "d.flac", 300, seconds=0.3, seed=3), text=""),
    ]
    write_shard(tmp_path / "segs" / "s.jsonl", records)
    report = tag_audio_language(
        tmp_path / "segs",
        tmp_path / "out",
        LangIdOptions(backend="whisper", model=checkpoint, batch_size=2, device="cpu", workers=1),
        show_progress=False,
    )
    assert report.ok and report.summary["backend"] == "whisper"
    assert report.summary["segments_classified"] == 3 and report.summary["documents_without_audio_lang"] == 1
    written = {r["seg_id"]: r["audio_lang"] for _, r in iter_jsonl(tmp_path / "out" / "s.jsonl")}
    assert written["doc2_0"] is None
    assert written["doc1_0"] == written["doc1_1"] == written["doc1_2"] in LANGUAGES
    # The winner is the majority of the model's own per-segment detections (ties: first seen).
    classifier = get_classifier("whisper", checkpoint, "cpu")
    votes: dict[str, int] = {}
    for record in records[:3]:
        language = classifier.classify([load_audio(record["audio_file"])])[0].language
        votes[language] = votes.get(language, 0) + 1
    assert written["doc1_0"] == max(votes.items(), key=lambda kv: kv[1])[0]


def test_english_only_or_missing_checkpoint_is_rejected_in_one_line(micro_whisper_checkpoints, tmp_path):
    write_shard(tmp_path / "segs" / "s.jsonl", [segment("d", 0, None)])
    with pytest.raises(UsageError) as err:
        tag_audio_language(
            tmp_path / "segs",
            tmp_path / "out",
            LangIdOptions(backend="whisper", model=str(micro_whisper_checkpoints["english"]), device="cpu"),
        )
    assert "English-only" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(UsageError, match="--backend whisper needs --model"):
        tag_audio_language(tmp_path / "segs", tmp_path / "out", LangIdOptions(backend="whisper", device="cpu"))
