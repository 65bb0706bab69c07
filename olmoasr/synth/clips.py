"""A handful of distinct spoken sentences, each one raw pair and one line of an eval manifest.

    OUT/raw/shard_00000/<id>/audio_<id>.flac, transcript_<id>.srt     (what `prep jsonl` reads)
    OUT/clips/<id>.flac     the spoken sentence alone
    OUT/clips.jsonl         {"id", "audio": "clips/<id>.flac", "text"}   (what `eval --manifest` reads)

Training on the pairs and evaluating on the manifest asks whether a model learnt to tell the clips apart
by listening: the chain from captions to targets, features, export and decoding must agree for every clip
to come back with its own text. The manifest's audio is the caption's span of the pair (the pair adds
0.4 s of silence on each side), which is exactly what `prep segment` cuts for training: a model trained
on six clips cannot be expected to cope with a shift it never saw. `speak_manifest` writes other
recordings (another voice, new sentences) as a manifest only, to separate memorised text from listening.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from olmoasr.audio import SAMPLE_RATE, encode_audio
from olmoasr.io.atomic import atomic_write_bytes, atomic_write_text
from olmoasr.synth.pairs import PairSpec, synthesise_pair, write_pair
from olmoasr.synth.speech import FLITE_RMS, Voice, synthesize
from olmoasr.synth.texts import sentence_generator

SHARD = "shard_00000"
MANIFEST = "clips.jsonl"


@dataclass(frozen=True)
class ClipSet:
    raw_dir: Path  # the raw pair layout (one shard)
    manifest: Path  # {"id", "audio", "text"} lines, audio relative to the manifest
    texts: tuple[str, ...]


def distinct_sentences(n: int, seed: int = 0) -> tuple[str, ...]:
    stream = sentence_generator(seed)
    return tuple(next(stream) for _ in range(n))


def make_clip_set(
    out_dir: str | Path, n_clips: int = 6, seed: int = 0, voice: Voice = FLITE_RMS, texts: tuple[str, ...] = ()
) -> ClipSet:
    """`n_clips` generated sentences (or `texts`), each spoken by `voice` as a one-caption pair."""
    out = Path(out_dir)
    texts = texts or distinct_sentences(n_clips, seed)
    lines = []
    for i, text in enumerate(texts):
        pair_id = f"clip{i:03d}"
        spec = PairSpec(pair_id, (text,), voice=voice, audio_suffix=".flac", machine_error_rate=None, seed=seed)
        pair = synthesise_pair(spec)
        write_pair(pair, out / "raw" / SHARD)
        (cue,) = pair.spoken_cues
        spoken = pair.audio[cue.start_ms * SAMPLE_RATE // 1000 : cue.end_ms * SAMPLE_RATE // 1000]
        atomic_write_bytes(out / "clips" / f"{pair_id}.flac", encode_audio(spoken, ".flac"))
        lines.append({"id": pair_id, "audio": f"clips/{pair_id}.flac", "text": text})
    manifest = out / MANIFEST
    atomic_write_text(manifest, "".join(json.dumps(line) + "\n" for line in lines))
    return ClipSet(out / "raw", manifest, tuple(texts))


def speak_manifest(out_dir: str | Path, texts: tuple[str, ...], voices: tuple[Voice, ...], name: str) -> Path:
    """Each text spoken by the voice at the same position (cycled): `out_dir/<name>.jsonl` + audio files."""
    out = Path(out_dir)
    lines = []
    for i, text in enumerate(texts):
        voice = voices[i % len(voices)]
        audio = f"{name}/{i:04d}.flac"
        atomic_write_bytes(out / audio, encode_audio(synthesize(text, voice), ".flac"))
        lines.append({"id": f"{name}-{i:04d}", "audio": audio, "text": text, "voice": voice.label})
    manifest = out / f"{name}.jsonl"
    atomic_write_text(manifest, "".join(json.dumps(line) + "\n" for line in lines))
    return manifest
