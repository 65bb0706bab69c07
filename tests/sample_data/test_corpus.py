"""The larger synthetic corpus: deterministic plan, raw shard layout, held-out eval manifest, resumable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from olmoasr.audio import load_audio
from olmoasr.errors import UsageError
from olmoasr.io import iter_jsonl
from olmoasr.synth import speech
from olmoasr.synth.corpus import make_corpus, plan_corpus
from olmoasr.synth.texts import generated_sentence, sentence_generator, vocabulary


def test_plan_is_deterministic_and_holds_out_unseen_texts():
    shards, evals = plan_corpus(200, seed=3, holdout_fraction=0.1, pairs_per_shard=10)
    again_shards, again_evals = plan_corpus(200, seed=3, holdout_fraction=0.1, pairs_per_shard=10)
    assert shards == again_shards and evals == again_evals
    train_texts = [s for specs in shards.values() for spec in specs for s in spec.sentences]
    eval_texts = [u.text for utts in evals.values() for u in utts]
    assert len(eval_texts) == 20 and len(train_texts) == 180
    assert not set(train_texts) & set(eval_texts)
    ids = [spec.pair_id for specs in shards.values() for spec in specs] + [
        u.utterance_id for utts in evals.values() for u in utts
    ]
    assert len(ids) == len(set(ids))
    assert all(len(specs) <= 10 for specs in shards.values())
    voices = {spec.voice.engine for specs in shards.values() for spec in specs}
    assert voices == {"flite", "espeak-ng"}
    assert plan_corpus(200, seed=4, holdout_fraction=0.1, pairs_per_shard=10)[1] != evals


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_utterances": 1}, "--utterances"),
        ({"holdout_fraction": 0.0}, "--holdout-fraction"),
        ({"holdout_fraction": 1.0}, "--holdout-fraction"),
        ({"pairs_per_shard": 0}, "--pairs-per-shard"),
    ],
)
def test_plan_rejects_bad_options(kwargs, message):
    options = {"n_utterances": 10, "seed": 0, "holdout_fraction": 0.1, "pairs_per_shard": 5} | kwargs
    with pytest.raises(UsageError, match=message):
        plan_corpus(**options)


def test_generated_sentences_are_distinct_and_use_the_word_lists():
    stream = sentence_generator(7)
    sentences = [next(stream) for _ in range(500)]
    assert len(set(sentences)) == 500
    vocab = vocabulary()
    for sentence in sentences:
        assert sentence[0].isupper() and sentence[-1] in ".?"
        assert all(w.strip(".,?").lower() in vocab for w in sentence.split()), sentence
    assert generated_sentence.__module__ == "olmoasr.synth.texts"


@pytest.mark.skipif(not speech.engines_available(), reason="flite/espeak-ng not installed")
def test_make_corpus_writes_layout_and_eval_manifest_and_resumes(tmp_path):
    out = tmp_path / "corpus"
    summary = make_corpus(
        out, n_utterances=8, seed=1, holdout_fraction=0.25, pairs_per_shard=2, workers=1, show_progress=False
    )
    assert summary.stats["train_utterances"] == 6 and summary.stats["eval_utterances"] == 2
    shards = sorted(p.name for p in (out / "raw").iterdir())
    assert shards[0] == "shard_00000" and len(shards) == -(-int(summary.stats["train_pairs"]) // 2)
    pair_dirs = [p for shard in (out / "raw").iterdir() for p in shard.iterdir()]
    assert len(pair_dirs) == summary.stats["train_pairs"]
    for pair in pair_dirs:
        names = sorted(p.name for p in pair.iterdir())
        pid = pair.name
        assert names[0] == f"audio_{pid}.ogg" and names[1] == f"mach_transcript_{pid}.vtt"
        assert names[2] in (f"transcript_{pid}.srt", f"transcript_{pid}.vtt")
    records = [rec for _, rec in iter_jsonl(summary.eval_manifest)]
    assert len(records) == 2
    for rec in records:
        assert not Path(rec["audio"]).is_absolute()  # relative to the manifest: the corpus can move
        samples = load_audio(summary.eval_manifest.parent / rec["audio"])
        assert abs(len(samples) / 16000 - rec["duration_s"]) < 0.1
        assert rec["text"][0].isupper()
    info = json.loads((out / "corpus.json").read_text())
    assert info["utterances"] == 8 and info["eval_manifest"] == "eval/eval.jsonl"

    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and ".olmoasr" not in p.parts}
    again = make_corpus(
        out, n_utterances=8, seed=1, holdout_fraction=0.25, pairs_per_shard=2, workers=1, show_progress=False
    )
    assert again.tasks_run == 0 and again.stats == summary.stats
    for path, mtime in before.items():
        if path.parent.name not in ("eval", "corpus"):
            assert path.stat().st_mtime_ns == mtime, path
