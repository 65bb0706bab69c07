"""One synthetic audio–transcript pair in the raw shard layout that `prep jsonl` reads:

    <shard>/<pair_id>/audio_<pair_id>.<ext>
    <shard>/<pair_id>/transcript_<pair_id>.<srt|vtt>
    <shard>/<pair_id>/mach_transcript_<pair_id>.vtt      (optional, YouTube auto-caption style)

Each sentence is synthesised separately and the clips are concatenated with short pauses, so every
caption's timestamps are exact. A pair's `kind` says which single defect it carries on purpose.
"""

from __future__ import annotations

import os
import random
import shutil
import string
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from olmoasr.audio import SAMPLE_RATE, encode_audio
from olmoasr.io.atomic import temporary_sibling
from olmoasr.synth.captions import (
    Cue,
    TimedWord,
    corrupt_like_asr,
    format_transcript,
    machine_words,
    rolling_cues,
    word_timings,
    youtube_auto_vtt,
)
from olmoasr.synth.speech import FLITE_RMS, Voice, silence, synthesize

KINDS = (
    "good",
    "all_caps",
    "repeating",
    "non_english",
    "mistranscribed",
    "corrupt_audio",
    "empty_transcript",
)

_ID_ALPHABET = string.ascii_letters + string.digits + "-_"


def youtube_like_id(rng: random.Random) -> str:
    """An 11-character id in YouTube's alphabet (the pool's pair ids look like this)."""
    first = rng.choice(_ID_ALPHABET[:-2])  # no leading "-": such ids read as options on command lines
    return first + "".join(rng.choice(_ID_ALPHABET) for _ in range(10))


@dataclass(frozen=True)
class PairSpec:
    pair_id: str
    sentences: tuple[str, ...]  # what is spoken, one caption each
    kind: str = "good"
    voice: Voice = FLITE_RMS
    audio_suffix: str = ".mp3"
    transcript_suffix: str = ".srt"
    machine_error_rate: float | None = 0.1  # None: no machine transcript
    language: str = "en"
    transcript_sentences: tuple[str, ...] | None = None  # a different text for the manual transcript
    silences: dict[int, float] = field(default_factory=dict)  # extra silence (s) after sentence i
    transcript_options: dict[str, object] = field(default_factory=dict)  # crlf / cue_ids / note
    empty_transcript_text: str = ""  # what an empty_transcript pair's file holds
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown pair kind {self.kind!r}")
        if self.transcript_sentences is not None and len(self.transcript_sentences) != len(self.sentences):
            raise ValueError("transcript_sentences must have one entry per spoken sentence")


@dataclass(frozen=True)
class SynthesisedPair:
    spec: PairSpec
    audio: np.ndarray
    spoken_cues: list[Cue]
    manual_cues: list[Cue]
    machine: list[TimedWord] | None

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def lay_out(
    clips: list[np.ndarray],
    texts: list[str],
    rng: random.Random,
    lead_s: float = 0.4,
    tail_s: float = 0.4,
    pause_s: tuple[float, float] = (0.25, 0.7),
    silences: dict[int, float] | None = None,
) -> tuple[np.ndarray, list[Cue]]:
    """Concatenate speech clips with pauses; return the audio and one exactly-timed cue per clip."""
    silences = silences or {}
    pieces = [silence(lead_s)]
    cues = []
    position = len(pieces[0])
    for i, (clip, text) in enumerate(zip(clips, texts, strict=True)):
        start_ms = round(position * 1000 / SAMPLE_RATE)
        pieces.append(clip)
        position += len(clip)
        cues.append(Cue(start_ms, round(position * 1000 / SAMPLE_RATE), text))
        gap = tail_s if i == len(clips) - 1 else rng.uniform(*pause_s)
        gap += silences.get(i, 0.0)
        pieces.append(silence(gap))
        position += len(pieces[-1])
    return np.concatenate(pieces).astype(np.float32), cues


def synthesise_pair(spec: PairSpec) -> SynthesisedPair:
    rng = random.Random(f"{spec.seed}:{spec.pair_id}")
    clips = [synthesize(sentence, spec.voice) for sentence in spec.sentences]
    audio, spoken = lay_out(clips, list(spec.sentences), rng, silences=spec.silences)
    manual = spoken
    if spec.transcript_sentences is not None:
        manual = [Cue(c.start_ms, c.end_ms, t) for c, t in zip(spoken, spec.transcript_sentences, strict=True)]
    if spec.kind == "all_caps":
        manual = [Cue(c.start_ms, c.end_ms, c.text.upper()) for c in manual]
    elif spec.kind == "repeating":
        manual = rolling_cues(manual)
    machine = None
    if spec.machine_error_rate is not None:
        words = [w for cue in spoken for w in word_timings(cue)]
        if spec.machine_error_rate > 0:
            machine = corrupt_like_asr(words, spec.machine_error_rate, rng)
        else:
            machine = machine_words(words)
    return SynthesisedPair(spec, audio, spoken, manual, machine)


def corrupt_bytes(rng: random.Random, size: int = 24_000) -> bytes:
    """Bytes no demuxer accepts (checked by the tests): random data that does not start like any container."""
    return b"\x00CORRUPT\x00" + bytes(rng.getrandbits(8) for _ in range(size))


def pair_file_names(spec: PairSpec) -> dict[str, str | None]:
    return {
        "audio": f"audio_{spec.pair_id}{spec.audio_suffix}",
        "transcript": f"transcript_{spec.pair_id}{spec.transcript_suffix}",
        "machine_transcript": None if spec.machine_error_rate is None else f"mach_transcript_{spec.pair_id}.vtt",
    }


def write_pair(pair: SynthesisedPair, shard_dir: Path) -> dict[str, object]:
    """Write the pair's folder atomically (temporary folder, then rename); return its manifest entry."""
    spec = pair.spec
    names = pair_file_names(spec)
    final = shard_dir / spec.pair_id
    tmp = temporary_sibling(final)
    tmp.mkdir(parents=True)
    try:
        if spec.kind == "corrupt_audio":
            audio_bytes = corrupt_bytes(random.Random(spec.pair_id))
        else:
            audio_bytes = encode_audio(pair.audio, spec.audio_suffix)
        (tmp / str(names["audio"])).write_bytes(audio_bytes)
        if spec.kind == "empty_transcript":
            transcript = spec.empty_transcript_text
        else:
            transcript = format_transcript(pair.manual_cues, spec.transcript_suffix, **spec.transcript_options)
        (tmp / str(names["transcript"])).write_bytes(transcript.encode("utf-8"))
        if names["machine_transcript"] is not None and pair.machine is not None:
            vtt = youtube_auto_vtt(pair.machine, language=spec.language)
            (tmp / str(names["machine_transcript"])).write_text(vtt, encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest_entry(pair, names)


def manifest_entry(pair: SynthesisedPair, names: dict[str, str | None]) -> dict[str, object]:
    spec = pair.spec
    entry: dict[str, object] = {
        "id": spec.pair_id,
        "kind": spec.kind,
        "language": spec.language,
        "voice": spec.voice.label,
        "audio_file": names["audio"],
        "transcript_file": names["transcript"],
        "machine_transcript_file": names["machine_transcript"],
        "text": " ".join(spec.sentences),
        "duration_s": round(pair.duration_s, 3),
        "speech_start_s": pair.spoken_cues[0].start_ms / 1000,
        "speech_end_s": pair.spoken_cues[-1].end_ms / 1000,
        "num_captions": 0 if spec.kind == "empty_transcript" else len(pair.manual_cues),
    }
    if spec.transcript_sentences is not None:
        entry["transcript_text"] = " ".join(spec.transcript_sentences)
    if pair.machine is not None:
        entry["machine_text"] = " ".join(w.text for w in pair.machine)
    if spec.silences:
        entry["silences_s"] = {str(k): v for k, v in spec.silences.items()}
    if spec.transcript_options:
        entry["transcript_quirks"] = sorted(spec.transcript_options)
    return entry


def build_pair(spec: PairSpec, shard_dir: str | os.PathLike[str]) -> dict[str, object]:
    """Synthesise one pair and write it into `shard_dir/<pair_id>/`; returns its manifest entry."""
    return write_pair(synthesise_pair(spec), Path(shard_dir))
