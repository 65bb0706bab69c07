"""The `whisper-en` backend: English-or-not with an English-only Whisper checkpoint, end to end."""

from __future__ import annotations

import json
import math

import pytest
import torch

from olmoasr.audio import load_audio
from olmoasr.cli.main import run
from olmoasr.errors import UsageError
from olmoasr.io import iter_jsonl, jsonl_files
from olmoasr.pipeline.lang_id import LangIdOptions, get_classifier, tag_audio_language
from olmoasr.pipeline.lang_id.whisper_en import DEFAULT_THRESHOLD, EnglishSpeechScore

from .lid_helpers import segment, write_shard, write_tone


@pytest.mark.parametrize(
    ("score", "threshold", "english"),
    [
        (EnglishSpeechScore(-0.2, 1.5, 0.01, "The moon is bright."), DEFAULT_THRESHOLD, True),
        (EnglishSpeechScore(-0.69, 1.5, 0.01, "Hello there."), -0.7, True),
        (EnglishSpeechScore(-0.7, 1.5, 0.01, "Hello there."), -0.7, False),  # strictly above the threshold
        (EnglishSpeechScore(-1.2, 1.4, 0.6, "I'm not sure if I can do it."), DEFAULT_THRESHOLD, False),
        (EnglishSpeechScore(-1.2, 1.4, 0.6, "I'm not sure if I can do it."), -1.5, True),
        (EnglishSpeechScore(-0.2, 13.9, 0.3, "I'm not a fan of the music, " * 20), DEFAULT_THRESHOLD, False),
        (EnglishSpeechScore(-0.2, 2.4, 0.3, "a looping line"), DEFAULT_THRESHOLD, True),
        (EnglishSpeechScore(-0.2, 1.6, 0.3, "no end of text", finished=False), DEFAULT_THRESHOLD, False),
        (EnglishSpeechScore(-0.1, 0.0, 0.9, "  "), DEFAULT_THRESHOLD, False),
        (EnglishSpeechScore(math.nan, 1.0, 0.1, "text"), DEFAULT_THRESHOLD, False),
    ],
)
def test_english_rule(score, threshold, english):
    assert score.is_english(threshold) is english


@pytest.fixture(scope="module")
def ending_english_checkpoint(tmp_path_factory):
    """An English-only micro model whose decoder always says one word and then ends: constant final
    hidden state, end-of-text row aligned with it (blank suppression keeps it off the first step). Its
    outputs are finished, non-empty and improbable (avg log-prob about -5), so the threshold decides."""
    from olmoasr.model.checkpoints import save_model
    from olmoasr.model.dims import ENGLISH_VOCAB, ModelDimensions
    from olmoasr.model.network import Whisper
    from olmoasr.model.tokenizer import get_tokenizer

    torch.manual_seed(1)
    model = Whisper(ModelDimensions(80, 1500, 16, 2, 1, ENGLISH_VOCAB, 8, 16, 2, 1))
    eot = get_tokenizer(False).eot
    with torch.no_grad():
        direction = torch.randn(16)
        model.decoder.ln.weight.zero_()
        model.decoder.ln.bias.copy_(direction)
        model.decoder.token_embedding.weight[eot] = 20 * direction / direction.norm()
    return save_model(model, tmp_path_factory.mktemp("whisper-en") / "micro-ending.en.pt")


@pytest.fixture
def tone_segments(tmp_path):
    audio = tmp_path / "audio"
    records = [
        segment("doc1", 0, write_tone(audio / "a.flac", 300, seconds=0.5)),
        segment("doc1", 1, write_tone(audio / "b.flac", 900, seconds=0.7, seed=1)),
        segment("doc1", 2, write_tone(audio / "c.flac", 600, seconds=0.4, seed=2)),
        segment("doc2", 0, write_tone(audio / "d.flac", 300, seconds=0.3, seed=3), text=""),
    ]
    write_shard(tmp_path / "segs" / "s.jsonl", records)
    return records


def _tag(tmp_path, checkpoint, threshold=None, out="out"):
    return tag_audio_language(
        tmp_path / "segs",
        tmp_path / out,
        LangIdOptions(
            backend="whisper-en", model=str(checkpoint), threshold=threshold, batch_size=2, device="cpu", workers=1
        ),
        show_progress=False,
    )


def test_full_path_with_a_micro_english_model(tmp_path, tone_segments, ending_english_checkpoint):
    strict = _tag(tmp_path, ending_english_checkpoint)
    lenient = _tag(tmp_path, ending_english_checkpoint, threshold=-50.0, out="out_lenient")
    for report in (strict, lenient):
        assert report.ok and report.summary["backend"] == "whisper-en"
        assert report.summary["segments_classified"] == 3 and report.summary["documents_without_audio_lang"] == 1
    assert strict.summary["threshold"] == DEFAULT_THRESHOLD and lenient.summary["threshold"] == -50.0
    assert strict.summary["segments_by_audio_lang"] == {"un": 3}
    assert lenient.summary["segments_by_audio_lang"] == {"en": 3}
    for out, language in (("out", "un"), ("out_lenient", "en")):
        written = {r["seg_id"]: r["audio_lang"] for _, r in iter_jsonl(tmp_path / out / "s.jsonl")}
        assert written == {"doc1_0": language, "doc1_1": language, "doc1_2": language, "doc2_0": None}

    # Batched scores are the one-at-a-time scores: padding to 30 s is per segment.
    classifier = get_classifier("whisper-en", str(ending_english_checkpoint), "cpu", -50.0)
    waves = [load_audio(r["audio_file"]) for r in tone_segments[:3]]
    batched = classifier.score(waves)
    for wave, score in zip(waves, batched, strict=True):
        alone = classifier.score([wave])[0]
        assert score.text == alone.text and score.finished and score.text.strip()
        assert score.avg_logprob == pytest.approx(alone.avg_logprob, abs=1e-4)
        assert -50.0 < score.avg_logprob < DEFAULT_THRESHOLD
    assert classifier.classify([waves[0][:0]]) == [None]


def test_decoding_stops_at_a_token_rate_no_speech_reaches(tmp_path):
    """A random model never ends its text: it is cut at 8 tokens per second of audio (+16) and counts as
    looping, whatever its log-probability."""
    from olmoasr.model.checkpoints import save_model
    from olmoasr.model.dims import ENGLISH_VOCAB, ModelDimensions
    from olmoasr.model.network import Whisper
    from olmoasr.pipeline.lang_id.whisper_en import WhisperEnglishClassifier

    torch.manual_seed(0)
    path = save_model(Whisper(ModelDimensions(80, 1500, 16, 2, 1, ENGLISH_VOCAB, 64, 16, 2, 1)), tmp_path / "m.pt")
    classifier = WhisperEnglishClassifier(str(path), "cpu", threshold=-1000.0)
    short, longer = (
        load_audio(write_tone(tmp_path / "a.flac", 300, seconds=0.5)),
        load_audio(write_tone(tmp_path / "b.flac", 300, seconds=1.5)),
    )
    assert [s.num_tokens for s in classifier.score([short])] == [20]  # 8 * 0.5 + 16
    scores = classifier.score([short, longer])  # one limit per batch, from its longest member: 8 * 1.5 + 16
    assert [s.num_tokens for s in scores] == [28, 28] and not any(s.finished for s in scores)
    assert [p.language for p in classifier.classify([short])] == ["un"]


def test_rerun_with_another_threshold_classifies_again(tmp_path, tone_segments, ending_english_checkpoint):
    def languages():
        return {r["audio_lang"] for _, r in iter_jsonl(tmp_path / "out" / "s.jsonl")}

    first = _tag(tmp_path, ending_english_checkpoint, threshold=-50.0)
    assert first.stages[0].tasks_run == 1 and languages() == {"en", None}
    same = _tag(tmp_path, ending_english_checkpoint, threshold=-50.0)
    assert same.stages[0].tasks_skipped == 1 and languages() == {"en", None}
    stricter = _tag(tmp_path, ending_english_checkpoint)
    assert stricter.stages[0].tasks_run == 1 and languages() == {"un", None}


def test_cli_whisper_en_with_threshold(tmp_path, tone_segments, ending_english_checkpoint, capsys):
    args = [
        "tag",
        "lang",
        str(tmp_path / "segs"),
        "--backend",
        "whisper-en",
        "--model",
        str(ending_english_checkpoint),
        "--device",
        "cpu",
        "--workers",
        "1",
    ]
    assert run([*args, "-o", str(tmp_path / "lenient"), "--threshold", "-50"]) == 0
    out = capsys.readouterr().out
    assert "audio language of 2 documents" in out and "en" in out
    summary = json.loads((tmp_path / "lenient" / "audio_lang_summary.json").read_text())
    assert summary["documents_by_audio_lang"] == {"en": 1} and summary["threshold"] == -50.0
    assert run([*args, "-o", str(tmp_path / "strict")]) == 0
    assert "un (not confidently English)" in capsys.readouterr().out
    assert run([*args, "-o", str(tmp_path / "bad"), "--threshold", "0.5"]) == 1
    assert "negative" in capsys.readouterr().err


def test_multilingual_checkpoint_is_rejected_pointing_to_whisper(tmp_path, micro_whisper_checkpoints, capsys):
    write_shard(tmp_path / "segs" / "s.jsonl", [segment("d", 0, None)])
    with pytest.raises(UsageError) as err:
        _tag(tmp_path, micro_whisper_checkpoints["multilingual"])
    assert "multilingual" in str(err.value) and "--backend whisper " in str(err.value)
    assert "\n" not in str(err.value)
    code = run(
        [
            "tag",
            "lang",
            str(tmp_path / "segs"),
            "-o",
            str(tmp_path / "cli"),
            "--backend",
            "whisper-en",
            "--model",
            str(micro_whisper_checkpoints["multilingual"]),
            "--device",
            "cpu",
        ]
    )
    err_lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err_lines) == 1 and "--backend whisper " in err_lines[0]


def test_threshold_only_for_whisper_en_and_negative(tmp_path):
    with pytest.raises(UsageError, match="--threshold is for --backend whisper-en"):
        LangIdOptions(backend="whisper", threshold=-0.5)
    with pytest.raises(UsageError, match="negative"):
        LangIdOptions(backend="whisper-en", threshold=0.5)


def test_default_model_is_the_offline_tiny_en_or_one_line_how_to_get_it(tmp_path, monkeypatch):
    from olmoasr.model import hub
    from olmoasr.pipeline.lang_id.whisper_en import resolve_english_checkpoint

    installed = hub.offline_model_path()
    if installed is not None:
        assert resolve_english_checkpoint(None) == str(installed)
    monkeypatch.setattr(hub, "offline_model_path", lambda: None)
    with pytest.raises(UsageError) as err:
        resolve_english_checkpoint(None)
    assert "pip install 'olmoasr[offline]'" in str(err.value) and "\n" not in str(err.value)


# ---- real Whisper tiny.en ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_en_path():
    from olmoasr.model.hub import offline_model_path

    path = offline_model_path()
    if path is None:
        pytest.skip("real tiny.en weights not installed (pip install 'olmoasr[offline]')")
    return path


@pytest.mark.real_weights
def test_librivox_utterances_are_english(tmp_path, tiny_en_path, librivox_utterances):
    records = [segment(f"librivox{k}", 0, path) for k, (path, _) in enumerate(librivox_utterances)]
    write_shard(tmp_path / "segs" / "s.jsonl", records)
    report = tag_audio_language(
        tmp_path / "segs",
        tmp_path / "out",
        LangIdOptions(backend="whisper-en", batch_size=5, device="cpu", workers=1),
        show_progress=False,
    )
    assert report.summary["model"] == str(tiny_en_path)
    assert report.summary["documents_by_audio_lang"] == {"en": len(records)}


@pytest.mark.real_weights
@pytest.mark.slow
def test_sample_shard_english_pairs_are_en_and_non_english_pairs_are_not(tmp_path, tiny_en_path):
    from olmoasr import sample_data
    from olmoasr.pipeline import prep_jsonl, prep_segment

    raw = sample_data.extract_sample_shard(tmp_path)
    kinds = {p["id"]: p["kind"] for p in json.loads((raw / "manifest.json").read_text())["pairs"]}
    prep_jsonl(raw, tmp_path / "docs", workers=1, show_progress=False)
    prep_segment(tmp_path / "docs", tmp_path / "segs", workers=1, show_progress=False)
    report = tag_audio_language(
        tmp_path / "segs",
        tmp_path / "out",
        LangIdOptions(backend="whisper-en", batch_size=8, device="cpu"),
        docs=tmp_path / "docs",
        docs_output_dir=tmp_path / "docs_lang",
        show_progress=False,
    )
    assert report.ok
    docs = {r["id"]: r["audio_lang"] for p in jsonl_files(tmp_path / "docs_lang") for _, r in iter_jsonl(p)}
    good = [doc for doc, kind in kinds.items() if kind == "good" and doc in docs]
    non_english = [doc for doc, kind in kinds.items() if kind == "non_english"]
    assert len(good) >= 10 and len(non_english) == 2
    assert {doc: docs[doc] for doc in good} == dict.fromkeys(good, "en")
    assert all(docs[doc] != "en" for doc in non_english)
