"""The packaged sample shard: ~20 synthetic pairs, good ones and pairs with exactly one defect each.

`build_sample_archive(path)` synthesises every pair, checks that each is good or bad on exactly the
property its kind names (manual-vs-machine WER per document and per 30 s window, text language), and
writes a reproducible `.tar.gz` (sorted entries, mtime 0, no owner names, gzip without a timestamp).
"""

from __future__ import annotations

import gzip
import io
import json
import random
import tarfile
import tempfile
from pathlib import Path

import pycld2

from olmoasr.io.atomic import atomic_write_bytes
from olmoasr.synth.captions import Cue, TimedWord
from olmoasr.synth.pairs import PairSpec, SynthesisedPair, pair_file_names, synthesise_pair, write_pair, youtube_like_id
from olmoasr.synth.speech import Voice
from olmoasr.synth.texts import GERMAN, PARAGRAPHS, SPANISH
from olmoasr.text.normalize import normalize_english
from olmoasr.text.wer import corpus_wer

SHARD_NAME = "shard_00000"
MANIFEST_NAME = "manifest.json"
SEED = 20250625
WINDOW_MS = 30_000

# Quality bounds the packaged pairs are checked against (the filter's are 0.5 per document, 0.7 per window).
GOOD_MAX_DOC_WER = 0.3
GOOD_MAX_WINDOW_WER = 0.5
MISTRANSCRIBED_MIN_DOC_WER = 0.8


def _p(name: str, start: int = 0, stop: int | None = None) -> tuple[str, ...]:
    return tuple(PARAGRAPHS[name][start:stop])


def sample_specs(seed: int = SEED) -> list[PairSpec]:
    """The recipe of the sample shard (ids are reproducible from `seed`)."""
    rng = random.Random(seed)
    espeak_us = Voice("espeak-ng", "en-us", speed=0.95, pitch=45)
    specs: list[dict[str, object]] = [
        # good pairs: mixed case, punctuation, machine captions close to the manual ones
        dict(sentences=_p("bakery", 0, 4), audio_suffix=".mp3", transcript_suffix=".srt", machine_error_rate=0.08),
        dict(sentences=_p("lighthouse"), audio_suffix=".m4a", transcript_suffix=".vtt", machine_error_rate=0.1),
        dict(sentences=_p("garden") + _p("kitchen", 0, 4), audio_suffix=".ogg", machine_error_rate=0.1),
        dict(
            sentences=_p("train") + _p("library") + _p("bakery", 4, 6),
            audio_suffix=".mp3",
            transcript_suffix=".vtt",
            machine_error_rate=0.12,
        ),
        dict(sentences=_p("bees"), silences={3: 35.0}, audio_suffix=".mp3", machine_error_rate=0.08),
        dict(sentences=_p("river", 0, 3), voice=espeak_us, audio_suffix=".wav", machine_error_rate=0.0),
        dict(
            sentences=_p("river", 3, 8),
            voice=Voice("espeak-ng", "en-gb+f3", speed=1.0, pitch=60),
            audio_suffix=".flac",
            transcript_suffix=".vtt",
            machine_error_rate=0.08,
        ),
        dict(
            sentences=_p("moon", 0, 5),
            voice=Voice("flite", "slt"),
            audio_suffix=".ogg",
            transcript_suffix=".vtt",
            machine_error_rate=0.02,
        ),
        dict(
            sentences=_p("moon", 5, 8) + _p("weather", 0, 4),
            audio_suffix=".m4a",
            machine_error_rate=0.1,
            transcript_options={"crlf": True},
        ),
        dict(
            sentences=_p("weather", 4, 8),
            voice=Voice("flite", "awb"),
            audio_suffix=".mp3",
            transcript_suffix=".vtt",
            machine_error_rate=0.06,
            transcript_options={"cue_ids": True, "note": "captions written by hand"},
        ),
        dict(
            sentences=_p("bicycle"),
            voice=Voice("espeak-ng", "en-us+m3", speed=0.9, pitch=40),
            audio_suffix=".mp3",
            machine_error_rate=0.1,
        ),
        dict(sentences=_p("kitchen", 4, 8), audio_suffix=".flac", machine_error_rate=0.01),
        # bad pairs, one defect each
        dict(kind="all_caps", sentences=_p("harbour", 0, 5), audio_suffix=".mp3", machine_error_rate=0.08),
        dict(
            kind="repeating",
            sentences=_p("museum", 0, 6),
            audio_suffix=".m4a",
            transcript_suffix=".vtt",
            machine_error_rate=0.02,
        ),
        dict(
            kind="non_english",
            language="de",
            sentences=tuple(GERMAN),
            voice=Voice("espeak-ng", "de", speed=0.95),
            audio_suffix=".ogg",
            transcript_suffix=".vtt",
            machine_error_rate=0.02,
        ),
        dict(
            kind="non_english",
            language="es",
            sentences=tuple(SPANISH),
            voice=Voice("espeak-ng", "es", speed=0.95),
            audio_suffix=".mp3",
            machine_error_rate=0.02,
        ),
        dict(
            kind="mistranscribed",
            sentences=_p("snow", 0, 4),
            transcript_sentences=_p("snow", 4, 8),
            audio_suffix=".mp3",
            machine_error_rate=0.08,
        ),
        dict(kind="corrupt_audio", sentences=_p("museum", 6, 8), audio_suffix=".m4a", machine_error_rate=0.05),
        dict(
            kind="empty_transcript",
            sentences=_p("harbour", 5, 8),
            audio_suffix=".mp3",
            machine_error_rate=None,
        ),
        dict(
            kind="empty_transcript",
            sentences=_p("bakery", 6, 8),
            audio_suffix=".ogg",
            transcript_suffix=".vtt",
            machine_error_rate=0.05,
            empty_transcript_text="WEBVTT\n\n",
        ),
    ]
    return [PairSpec(pair_id=youtube_like_id(rng), seed=seed, **spec) for spec in specs]  # type: ignore[arg-type]


def _windows(cues: list[Cue]) -> list[tuple[int, int, str]]:
    """(start, end, text) of the ≤ 30 s windows of whole captions that `prep segment` builds (spec §2.1)."""
    windows, current = [], []
    for cue in cues:
        if current and cue.end_ms - current[0].start_ms > WINDOW_MS:
            windows.append(current)
            current = []
        current.append(cue)
    if current:
        windows.append(current)
    return [(w[0].start_ms, w[-1].end_ms, " ".join(c.text for c in w)) for w in windows]


def _wer(reference: str, machine: list[TimedWord]) -> float:
    hypothesis = normalize_english(" ".join(w.text for w in machine))
    return corpus_wer([normalize_english(reference)], [hypothesis]).wer


def pair_quality(pair: SynthesisedPair) -> dict[str, object]:
    """Manual-vs-machine WER (document and worst 30 s window) and the manual text's language."""
    manual_text = " ".join(c.text for c in pair.manual_cues)
    quality: dict[str, object] = {"text_lang": pycld2.detect(manual_text)[2][0][1]}
    if pair.machine is not None:
        quality["doc_wer"] = round(_wer(manual_text, pair.machine), 4)
        window_wers = []
        for start, end, text in _windows(pair.manual_cues):
            inside = [w for w in pair.machine if start <= (w.start_ms + w.end_ms) // 2 <= end]
            window_wers.append(_wer(text, inside))
        quality["max_window_wer"] = round(max(window_wers), 4)
    return quality


def check_pair(pair: SynthesisedPair, quality: dict[str, object]) -> None:
    """Raise if a pair is not good/bad on exactly the property its kind names."""
    spec = pair.spec
    problems = []
    if spec.kind in ("good", "all_caps", "repeating", "non_english", "corrupt_audio"):
        # a rolling transcript repeats half of each sentence, so its WER against the machine is ~1/3
        doc_bound = 0.45 if spec.kind == "repeating" else GOOD_MAX_DOC_WER
        if quality.get("doc_wer", 0.0) > doc_bound:  # type: ignore[operator]
            problems.append(f"document WER {quality['doc_wer']}")
        if quality.get("max_window_wer", 0.0) > GOOD_MAX_WINDOW_WER:  # type: ignore[operator]
            problems.append(f"window WER {quality['max_window_wer']}")
    if spec.kind == "mistranscribed" and quality["doc_wer"] < MISTRANSCRIBED_MIN_DOC_WER:  # type: ignore[operator]
        problems.append(f"document WER only {quality['doc_wer']}")
    if quality["text_lang"] != spec.language:
        problems.append(f"text language detected as {quality['text_lang']}")
    if spec.kind == "good" and spec.machine_error_rate is None:
        problems.append("good pairs need a machine transcript")
    if problems:
        raise AssertionError(f"sample pair {spec.pair_id} ({spec.kind}): " + "; ".join(problems))


def build_sample_raw_dir(raw_dir: Path, seed: int = SEED) -> list[dict[str, object]]:
    """Synthesise and check every pair into `raw_dir/shard_00000/`, write `raw_dir/manifest.json`."""
    shard = raw_dir / SHARD_NAME
    shard.mkdir(parents=True, exist_ok=True)
    entries = []
    for spec in sample_specs(seed):
        pair = synthesise_pair(spec)
        quality = pair_quality(pair)
        check_pair(pair, quality)
        entry = write_pair(pair, shard)
        entry.update(quality)
        entries.append(entry)
    manifest = {
        "description": "olmoasr sample shard: synthetic speech (flite, espeak-ng), texts written for olmoasr",
        "shard": SHARD_NAME,
        "seed": seed,
        "layout": "shard_00000/<id>/audio_<id>.<ext>, transcript_<id>.<srt|vtt>, mach_transcript_<id>.vtt",
        "pairs": entries,
    }
    (raw_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return entries


def deterministic_tar_gz(root: Path) -> bytes:
    """`root`'s contents as .tar.gz bytes that depend only on file names and contents."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
            info = tarfile.TarInfo(path.relative_to(root).as_posix())
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path.is_dir():
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                data = path.read_bytes()
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def build_sample_archive(archive: Path, seed: int = SEED) -> list[dict[str, object]]:
    """Regenerate the packaged sample shard archive at `archive`; returns the manifest entries."""
    with tempfile.TemporaryDirectory(prefix="olmoasr-sample-") as tmp:
        raw_dir = Path(tmp) / "raw"
        entries = build_sample_raw_dir(raw_dir, seed)
        atomic_write_bytes(archive, deterministic_tar_gz(raw_dir))
    return entries


__all__ = [
    "MANIFEST_NAME",
    "SHARD_NAME",
    "build_sample_archive",
    "build_sample_raw_dir",
    "deterministic_tar_gz",
    "pair_file_names",
    "pair_quality",
    "sample_specs",
]
