"""Run a recogniser over one set's utterances: skip, decode audio, batch, time, score, write per-utterance rows.

Speed follows the Open ASR Leaderboard: one untimed warm-up batch, then RTFx = total audio seconds /
total inference seconds, where inference is feature extraction plus decoding (audio file decoding and
scoring are not timed).
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from olmoasr.audio import SAMPLE_RATE
from olmoasr.errors import InputError, OlmoasrError
from olmoasr.evaluation.scoring import UtteranceScore, corpus_score, score_utterance, skip_reason
from olmoasr.evaluation.sources import AudioDecoder, EvalData, Utterance
from olmoasr.io.jsonl import JsonlWriter
from olmoasr.log import warn
from olmoasr.text import normalize_english

MAX_REPORTED_FAILURES = 5


class Recognizer(Protocol):
    """What evaluation needs from an ASR system; `ModelRecognizer` wraps an olmoasr model."""

    device: str

    def short_form(self, batch: Sequence[np.ndarray]) -> list[str]:
        """Transcripts of <= 30 s clips, decoded together."""
        ...

    def long_form(self, audio: np.ndarray) -> str:
        """Transcript of a whole recording."""
        ...

    def synchronize(self) -> None:
        """Wait for queued device work, so timings are real."""
        ...


@dataclass(frozen=True)
class RunOptions:
    batch_size: int = 16
    limit: int | None = None
    bootstrap_draws: int = 1000
    seed: int = 0
    warmup: bool = True


@dataclass
class SetResult:
    name: str
    form: str
    source: str
    status: str = "ok"  # "ok" or "error"
    error: str | None = None
    rows: int = 0
    scored: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    wer: float | None = None  # percent
    ci_low: float | None = None
    ci_high: float | None = None
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    hits: int = 0
    reference_words: int = 0
    audio_seconds: float = 0.0
    inference_seconds: float = 0.0
    rtfx: float | None = None
    published_wer: float | None = None  # the OLMoASR report's figure for this model and set, when known
    utterances_file: str | None = None

    @classmethod
    def failed_to_load(cls, name: str, form: str, source: str, error: str) -> SetResult:
        return cls(name=name, form=form, source=source, status="error", error=error)


@dataclass
class _Tally:
    rows: int = 0
    skipped: Counter = field(default_factory=Counter)
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    audio_seconds: float = 0.0
    inference_seconds: float = 0.0
    scores: list[UtteranceScore] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failed += 1
        if len(self.failures) < MAX_REPORTED_FAILURES:
            self.failures.append(message)
        warn(message)


def run_set(
    data: EvalData,
    recognizer: Recognizer,
    options: RunOptions,
    utterances_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> SetResult:
    """Evaluate one set. Bad rows and undecodable audio are counted and reported; the rest is scored."""
    tally = _Tally()
    writer = JsonlWriter(utterances_path) if utterances_path is not None else None
    try:
        rows = _usable(data, tally, writer, options.limit, progress)
        if data.form == "long":
            _run_long(rows, recognizer, options, tally, writer)
        else:
            _run_short(rows, recognizer, options, tally, writer)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    if writer is not None:
        writer.close()
    return _result(data, tally, options, utterances_path)


def _usable(
    data: EvalData,
    tally: _Tally,
    writer: JsonlWriter | None,
    limit: int | None,
    progress: Callable[[int], None] | None,
) -> Iterator[tuple[Utterance, str, np.ndarray]]:
    """(utterance, normalised reference, samples) for every row that can be scored; the rest is tallied."""
    decode = AudioDecoder()
    rows = itertools.islice(data.utterances, limit) if limit is not None else data.utterances
    for utt in rows:
        tally.rows += 1
        if progress is not None:
            progress(1)
        if utt.problem:
            tally.fail(f"{data.name}: {utt.problem}")
            _write(writer, {"id": utt.id, "status": "failed", "reason": utt.problem, "reference": utt.reference})
            continue
        reference_normalized = normalize_english(utt.reference)
        reason = skip_reason(reference_normalized)
        if reason is not None:
            tally.skipped[reason] += 1
            _write(writer, {"id": utt.id, "status": "skipped", "reason": reason, "reference": utt.reference})
            continue
        try:
            samples = decode(utt.audio, utt.id)
        except InputError as err:
            tally.fail(f"{_where(data, utt)}: {err}")
            _write(writer, {"id": utt.id, "status": "failed", "reason": str(err), "reference": utt.reference})
            continue
        yield utt, reference_normalized, samples


def _where(data: EvalData, utt: Utterance) -> str:
    """The set and the row, each named once (a manifest's row ids already start with its name)."""
    return utt.id if utt.id.startswith(f"{data.name}:") else f"{data.name}: {utt.id}"


def _run_short(rows, recognizer: Recognizer, options: RunOptions, tally: _Tally, writer) -> None:
    warmed = not options.warmup
    while batch := list(itertools.islice(rows, options.batch_size)):
        clips = [samples for _, _, samples in batch]
        if not warmed:
            recognizer.short_form(clips)
            warmed = True
        recognizer.synchronize()
        started = time.perf_counter()
        hypotheses = recognizer.short_form(clips)
        recognizer.synchronize()
        tally.inference_seconds += time.perf_counter() - started
        for (utt, ref_norm, samples), hypothesis in zip(batch, hypotheses, strict=True):
            _score(utt, ref_norm, samples, hypothesis, tally, writer)


def _run_long(rows, recognizer: Recognizer, options: RunOptions, tally: _Tally, writer) -> None:
    warmed = not options.warmup
    for utt, ref_norm, samples in rows:
        if not warmed:
            recognizer.short_form([samples[: 30 * SAMPLE_RATE]])
            warmed = True
        recognizer.synchronize()
        started = time.perf_counter()
        hypothesis = recognizer.long_form(samples)
        recognizer.synchronize()
        tally.inference_seconds += time.perf_counter() - started
        _score(utt, ref_norm, samples, hypothesis, tally, writer)


def _score(utt: Utterance, ref_norm: str, samples: np.ndarray, hypothesis: str, tally: _Tally, writer) -> None:
    score = score_utterance(utt.id, utt.reference, hypothesis, ref_norm)
    tally.scores.append(score)
    duration = len(samples) / SAMPLE_RATE
    tally.audio_seconds += duration
    _write(writer, {**score.to_dict(), "status": "scored", "duration_s": round(duration, 3)})


def _write(writer: JsonlWriter | None, record: dict) -> None:
    if writer is not None:
        writer.write(record)


def _result(data: EvalData, tally: _Tally, options: RunOptions, utterances_path: Path | None) -> SetResult:
    result = SetResult(
        name=data.name,
        form=data.form,
        source=data.source,
        rows=tally.rows,
        scored=len(tally.scores),
        skipped=dict(tally.skipped),
        failed=tally.failed,
        failures=tally.failures,
        audio_seconds=round(tally.audio_seconds, 3),
        inference_seconds=round(tally.inference_seconds, 4),
        utterances_file=str(utterances_path) if utterances_path is not None else None,
    )
    if tally.inference_seconds > 0:
        result.rtfx = round(tally.audio_seconds / tally.inference_seconds, 2)
    if not tally.scores:
        result.status = "error"
        result.error = f"{data.name}: no utterance could be scored ({tally.rows} rows read)"
        return result
    score = corpus_score(tally.scores, options.bootstrap_draws, options.seed)
    result.wer = round(score.wer, 4)
    result.ci_low = None if score.ci_low is None else round(score.ci_low, 4)
    result.ci_high = None if score.ci_high is None else round(score.ci_high, 4)
    result.substitutions, result.deletions, result.insertions = score.substitutions, score.deletions, score.insertions
    result.hits, result.reference_words = score.hits, score.reference_words
    return result


def run_set_safely(data_opener: Callable[[], EvalData], name: str, form: str, source: str, *args, **kwargs):
    """`run_set`, with a set that cannot be opened or read turned into an error result (one line)."""
    try:
        data = data_opener()
        return run_set(data, *args, **kwargs)
    except OlmoasrError as err:
        return SetResult.failed_to_load(name, form, source, str(err))
