"""A larger synthetic corpus for training proofs: thousands of generated English sentences spoken by
varied flite/espeak-ng voices, in the raw shard layout, plus a held-out eval manifest.

    OUT/raw/shard_XXXXX/<id>/audio_<id>.ogg, transcript_<id>.<srt|vtt>, mach_transcript_<id>.vtt
    OUT/eval/audio/<id>.ogg
    OUT/eval/eval.jsonl          {"audio": "audio/<id>.ogg", "text": <reference>, "id": ..., "duration_s": ...}
                                 (audio paths relative to the manifest, so the corpus can be moved)
    OUT/corpus.json              counts, hours, seed, voices

Training pairs hold 1-6 sentences by one voice (so segments carry several timestamped captions);
held-out utterances are single sentences whose texts never occur in training. Everything is planned
up front from the seed, then synthesised by the shared executor (process pool, completion markers:
a re-run skips finished shards, a killed run resumes).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from olmoasr.audio import encode_audio
from olmoasr.errors import OlmoasrError, UsageError
from olmoasr.io import JsonlWriter, iter_jsonl
from olmoasr.io.atomic import atomic_write_bytes, atomic_write_text
from olmoasr.pipeline.executor import ProgressFn, ShardTask, Stats, run_stage
from olmoasr.synth.pairs import PairSpec, build_pair, youtube_like_id
from olmoasr.synth.speech import Voice, require_engine, synthesize
from olmoasr.synth.texts import sentence_generator

FLITE_VOICES = ("rms", "slt", "awb", "kal16")
ESPEAK_VOICES = (
    "en-us",
    "en-gb",
    "en-gb-x-rp",
    "en-gb-scotland",
    "en-029",
    "en-us+f2",
    "en-us+m3",
    "en-gb+f4",
    "en-us+m7",
    "en-gb+f1",
)
EVAL_PARTS = 4


@dataclass(frozen=True)
class EvalUtterance:
    utterance_id: str
    text: str
    voice: Voice


def random_voice(rng: random.Random) -> Voice:
    """A speaker drawn from both engines, with varied speed and (for espeak-ng) pitch."""
    if rng.random() < 0.5:
        return Voice("flite", rng.choice(FLITE_VOICES), speed=round(rng.uniform(0.85, 1.15), 2))
    return Voice(
        "espeak-ng", rng.choice(ESPEAK_VOICES), speed=round(rng.uniform(0.8, 1.2), 2), pitch=rng.randint(30, 70)
    )


@dataclass
class CorpusStage:
    """Executor stage: one task per raw shard (pairs) and per eval part (held-out utterances)."""

    output_dir: Path
    train_shards: dict[str, list[PairSpec]]
    eval_parts: dict[str, list[EvalUtterance]]
    audio_suffix: str = ".ogg"
    name: str = "synth-corpus"

    def plan(self) -> list[ShardTask]:
        tasks = [ShardTask(shard, weight=len(specs)) for shard, specs in self.train_shards.items()]
        return tasks + [ShardTask(part, weight=len(utts)) for part, utts in self.eval_parts.items()]

    def run_task(self, task: ShardTask, progress: ProgressFn) -> Stats:
        if task.shard in self.train_shards:
            return self._run_train_shard(task.shard, progress)
        return self._run_eval_part(task.shard, progress)

    def _run_train_shard(self, shard: str, progress: ProgressFn) -> Stats:
        stats: Stats = {"train_pairs": 0, "train_utterances": 0, "train_seconds": 0.0}
        for spec in self.train_shards[shard]:
            entry = build_pair(spec, self.output_dir / "raw" / shard)
            stats["train_pairs"] += 1
            stats["train_utterances"] += len(spec.sentences)
            stats["train_seconds"] += float(entry["duration_s"])  # type: ignore[arg-type]
            progress(1)
        return stats

    def _run_eval_part(self, part: str, progress: ProgressFn) -> Stats:
        audio_dir = self.output_dir / "eval" / "audio"
        stats: Stats = {"eval_utterances": 0, "eval_seconds": 0.0}
        with JsonlWriter(self.output_dir / "eval" / "parts" / f"{part}.jsonl") as out:
            for utt in self.eval_parts[part]:
                samples = synthesize(utt.text, utt.voice)
                path = audio_dir / f"{utt.utterance_id}{self.audio_suffix}"
                atomic_write_bytes(path, encode_audio(samples, self.audio_suffix))
                duration = round(len(samples) / 16000, 3)
                out.write(
                    {
                        "audio": f"audio/{path.name}",
                        "text": utt.text,
                        "id": utt.utterance_id,
                        "duration_s": duration,
                        "voice": utt.voice.label,
                    }
                )
                stats["eval_utterances"] += 1
                stats["eval_seconds"] += duration
                progress(1)
        return stats


@dataclass
class CorpusSummary:
    output_dir: Path
    raw_dir: Path
    eval_manifest: Path
    stats: Stats = field(default_factory=dict)
    tasks_run: int = 0
    tasks_skipped: int = 0

    def describe(self) -> str:
        s = self.stats
        return (
            f"corpus {self.output_dir}: {int(s.get('train_pairs', 0))} training pairs "
            f"({int(s.get('train_utterances', 0))} utterances, {s.get('train_seconds', 0) / 3600:.2f} h) in "
            f"{self.raw_dir}; {int(s.get('eval_utterances', 0))} held-out utterances "
            f"({s.get('eval_seconds', 0) / 60:.1f} min) in {self.eval_manifest}"
        )


def plan_corpus(
    n_utterances: int,
    seed: int,
    holdout_fraction: float,
    pairs_per_shard: int,
    max_sentences_per_pair: int = 6,
    machine_error_rate: float = 0.05,
) -> tuple[dict[str, list[PairSpec]], dict[str, list[EvalUtterance]]]:
    """Deterministic split of `n_utterances` generated sentences into training pairs and eval utterances."""
    if n_utterances < 2:
        raise UsageError(f"--utterances must be at least 2 (got {n_utterances})")
    if not 0.0 < holdout_fraction < 1.0:
        raise UsageError(f"--holdout-fraction must be between 0 and 1 (got {holdout_fraction})")
    if pairs_per_shard < 1:
        raise UsageError(f"--pairs-per-shard must be positive (got {pairs_per_shard})")
    stream = sentence_generator(seed)
    sentences = [next(stream) for _ in range(n_utterances)]  # distinct by construction
    n_eval = min(n_utterances - 1, max(1, round(n_utterances * holdout_fraction)))
    rng = random.Random(seed)
    eval_texts, train_texts = sentences[:n_eval], sentences[n_eval:]

    seen_ids: set[str] = set()

    def new_id() -> str:
        while (pair_id := youtube_like_id(rng)) in seen_ids:
            pass
        seen_ids.add(pair_id)
        return pair_id

    specs: list[PairSpec] = []
    position = 0
    while position < len(train_texts):
        count = rng.randint(1, max_sentences_per_pair)
        chunk = tuple(train_texts[position : position + count])
        position += count
        specs.append(
            PairSpec(
                pair_id=new_id(),
                sentences=chunk,
                voice=random_voice(rng),
                audio_suffix=".ogg",
                transcript_suffix=rng.choice((".srt", ".vtt")),
                machine_error_rate=round(rng.uniform(0.0, machine_error_rate), 3),
                seed=seed,
            )
        )
    starts = range(0, len(specs), pairs_per_shard)
    train_shards = {f"shard_{i // pairs_per_shard:05d}": specs[i : i + pairs_per_shard] for i in starts}
    utterances = [EvalUtterance(new_id(), text, random_voice(rng)) for text in eval_texts]
    n_parts = min(EVAL_PARTS, len(utterances))
    eval_parts = {f"eval_{p:05d}": utterances[p::n_parts] for p in range(n_parts)}
    return train_shards, eval_parts


def make_corpus(
    out_dir: str | Path,
    n_utterances: int = 3000,
    seed: int = 0,
    holdout_fraction: float = 0.05,
    pairs_per_shard: int = 100,
    workers: int = 2,
    show_progress: bool = True,
) -> CorpusSummary:
    """Synthesise the corpus into `out_dir` (resumable); returns counts and the eval manifest path."""
    require_engine("flite")
    require_engine("espeak-ng")
    out = Path(out_dir)
    train_shards, eval_parts = plan_corpus(n_utterances, seed, holdout_fraction, pairs_per_shard)
    stage = CorpusStage(out, train_shards, eval_parts)
    report = run_stage(stage, workers=workers, show_progress=show_progress)
    if report.failures:
        key, message = report.failures[0]
        raise OlmoasrError(f"{out}: {len(report.failures)} corpus task(s) failed, first {key}: {message}")
    eval_manifest = out / "eval" / "eval.jsonl"
    with JsonlWriter(eval_manifest) as writer:
        for part in eval_parts:
            for _, record in iter_jsonl(out / "eval" / "parts" / f"{part}.jsonl"):
                writer.write(record)
    summary = CorpusSummary(out, out / "raw", eval_manifest, report.stats, report.tasks_run, report.tasks_skipped)
    info = {
        "seed": seed,
        "utterances": n_utterances,
        "holdout_fraction": holdout_fraction,
        "raw_dir": "raw",
        "eval_manifest": "eval/eval.jsonl",
        "shards": sorted(train_shards),
        "flite_voices": list(FLITE_VOICES),
        "espeak_voices": list(ESPEAK_VOICES),
        **{k: round(v, 3) for k, v in report.stats.items()},
    }
    atomic_write_text(out / "corpus.json", json.dumps(info, indent=1) + "\n")
    return summary
