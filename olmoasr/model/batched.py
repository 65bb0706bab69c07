"""Batched long-form transcription: many 30-second chunks decoded at once, across files, one model.

Each recording is cut into chunks of at most 30 s: with VAD, chunks hold the speech regions that
Silero VAD finds (silence is never decoded, so it cannot be hallucinated over); without VAD,
consecutive 30 s windows. Chunks from all files join one queue and are decoded `batch_size` at a
time (encoder and decoder batched, temperature fallback only for the chunks that fail). Chunk
timestamps are shifted back to file time. A chunk is dropped only on evidence that it holds no
speech (`BatchedTranscriber.drop_reason`), and every dropped chunk is listed in the file's result
under "dropped" (time range, reason), so no speech is lost without a word.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from olmoasr.engines import as_engine
from olmoasr.errors import OlmoasrError
from olmoasr.model import defaults
from olmoasr.model.decoding import DecodingResult, decode_with_fallback
from olmoasr.model.decoding.task import get_decoding_tokenizer
from olmoasr.model.features import HOP_LENGTH, N_FRAMES, SAMPLE_RATE, log_mel_batch
from olmoasr.model.runtime import warn_if_fp16_ignored
from olmoasr.model.timing import add_word_timestamps
from olmoasr.model.transcribe import TIME_PRECISION, split_options, window_segments
from olmoasr.model.vad import VadOptions, merge_into_chunks, speech_probabilities, speech_regions

if TYPE_CHECKING:
    from olmoasr.engines.base import Engine
    from olmoasr.model.network import Whisper
    from olmoasr.model.tokenizer import Tokenizer

AudioInput = str | os.PathLike | bytes | np.ndarray | torch.Tensor
Progress = Callable[[int, float, float], None]  # (file index, audio seconds done, audio seconds in the file)


@dataclass
class _Chunk:
    file_index: int
    start: float  # seconds in the file
    samples: np.ndarray
    share: float = 0.0  # seconds of the file's progress this chunk accounts for (0 for a follow-up)


@dataclass
class _FileState:
    language: str
    pending: int
    samples: np.ndarray
    speech: list[tuple[float, float]]  # VAD speech regions (seconds); empty without VAD
    pieces: list[tuple[float, list[dict], list[int]]] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)
    done: float = 0.0  # seconds of the file accounted for by decoded chunks (progress)

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def has_speech(self, start: float, end: float, at_least: float = 0.3) -> bool:
        return any(min(end, r_end) - max(start, r_start) >= at_least for r_start, r_end in self.speech)


def _load(source: AudioInput) -> np.ndarray:
    if isinstance(source, torch.Tensor):
        return source.detach().cpu().numpy().astype(np.float32, copy=False)
    if isinstance(source, np.ndarray):
        return source.astype(np.float32, copy=False)
    from olmoasr.audio import load_audio

    return load_audio(source)


def fixed_chunks(n_samples: int, max_seconds: float = 30.0) -> list[tuple[float, float]]:
    duration = n_samples / SAMPLE_RATE
    starts = np.arange(0.0, duration, max_seconds)
    return [(float(start), float(min(duration, start + max_seconds))) for start in starts]


def split_segments(
    tokens: list[int], tokenizer: Tokenizer, start: float, end: float
) -> list[tuple[float, float, list[int]]]:
    """A chunk's tokens -> (start, end, tokens) segments, as the sequential loop cuts a window.

    The sequential loop would decode text after the last timestamp pair again in the next window;
    a chunk has no next window, so that text becomes a segment ending at the chunk's end.
    """
    if not tokens:
        return []
    n_frames = min(N_FRAMES, round((end - start) * SAMPLE_RATE) // HOP_LENGTH)
    pieces, _, _ = window_segments(tokens, tokenizer, start, n_frames)
    covered = sum(len(piece) for _, _, piece in pieces)
    rest = tokens[covered:]
    if any(token < tokenizer.eot for token in rest):
        ts_begin = tokenizer.timestamp_begin
        rest_start = start + (rest[0] - ts_begin) * TIME_PRECISION if rest[0] >= ts_begin else pieces[-1][1]
        pieces.append((rest_start, end, rest))
    return [(min(s, end), min(max(e, s), end), piece) for s, e, piece in pieces]


def _single_timestamp_ending(tokens: list[int], tokenizer: Tokenizer) -> bool:
    ts_begin = tokenizer.timestamp_begin
    return len(tokens) >= 2 and tokens[-2] < ts_begin <= tokens[-1]


class BatchedTranscriber:
    """Decodes chunks of many recordings in shared batches; yields each file's result when it completes."""

    def __init__(
        self,
        model: Whisper | Engine,
        *,
        batch_size: int = defaults.BATCH_SIZE,
        vad: bool = True,
        vad_options: VadOptions | None = None,
        word_timestamps: bool = False,
        **options: Any,
    ):
        if batch_size < 1:
            raise OlmoasrError(f"batch_size must be >= 1, got {batch_size}")
        for name in (
            "condition_on_previous_text",
            "initial_prompt",
            "carry_initial_prompt",
            "clip_timestamps",
            "hallucination_silence_threshold",
        ):
            options.pop(name, None)  # sequential-only settings: chunks are decoded independently
        fp16 = options.pop("fp16", None)
        _, self.policy, self.options = split_options(options)
        self.engine = engine = as_engine(model)
        warn_if_fp16_ignored(fp16, engine.precision)
        self.options.check_model(engine)
        self.batch_size = batch_size
        self.vad = vad
        self.vad_options = vad_options or VadOptions()
        self.word_timestamps = word_timestamps

    def _language(self, samples: np.ndarray) -> str:
        if self.options.language is not None:
            return self.options.language
        engine = self.engine
        if not engine.is_multilingual:
            return "en"
        mel = log_mel_batch([samples], engine.n_mels, pad="mel", device=engine.device)
        tokenizer = get_decoding_tokenizer(engine, None, "transcribe")
        probs = engine.detect_language(engine.encode(mel), tokenizer)[0]
        return max(probs, key=probs.__getitem__)

    def _chunks(self, samples: np.ndarray) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """(chunks, speech regions) of one recording."""
        if not self.vad:
            return fixed_chunks(len(samples)), []
        probs = speech_probabilities(samples, self.vad_options)
        regions = speech_regions(probs, len(samples) / SAMPLE_RATE, self.vad_options)
        return merge_into_chunks(regions, 30.0, probs), regions

    def _follow_up(
        self,
        chunk: _Chunk,
        state: _FileState,
        segments: list[dict],
        tokenizer: Tokenizer,
        tokens: list[int] | None = None,
    ) -> _Chunk | None:
        """A chunk for the speech the model left undecoded at the end of `chunk` (it stopped early).

        The sequential loop would seek to the last timestamp and decode on; a chunk has no next
        window, so decode from there again: with VAD, when VAD heard speech after the last
        completed segment; without VAD, when the model did not end on a single timestamp (its
        way of saying the window's speech is over), exactly when the sequential loop seeks on.
        """
        if self.options.without_timestamps:
            return None
        closed = [segment for segment in segments if segment["tokens"][-1] >= tokenizer.timestamp_begin]
        if not closed:
            return None
        resume = closed[-1]["end"]
        chunk_end = chunk.start + len(chunk.samples) / SAMPLE_RATE
        if resume < chunk.start + 1.0 or chunk_end - resume < 1.0:
            return None
        if self.vad:
            if not state.has_speech(resume + 0.2, chunk_end):
                return None
        elif tokens is None or _single_timestamp_ending(tokens, tokenizer):
            return None
        segments[:] = segments[: segments.index(closed[-1]) + 1]
        first, last = round(resume * SAMPLE_RATE), round(chunk_end * SAMPLE_RATE)
        return _Chunk(chunk.file_index, resume, state.samples[first:last])

    def _decode(self, batch: list[_Chunk], states: dict[int, _FileState]) -> list[_Chunk]:
        """Decode one batch; returns follow-up chunks for speech that was left undecoded."""
        follow_ups: list[_Chunk] = []
        by_language: dict[str, list[_Chunk]] = {}
        for chunk in batch:
            by_language.setdefault(states[chunk.file_index].language, []).append(chunk)
        for language, chunks in by_language.items():
            options = dataclasses.replace(self.options, language=language)
            tokenizer = get_decoding_tokenizer(self.engine, language, options.task)
            clips = [chunk.samples for chunk in chunks]
            mel = log_mel_batch(clips, self.engine.n_mels, pad="mel", device=self.engine.device)
            results = decode_with_fallback(self.engine, mel, options, self.policy, keep="best")
            for chunk, result in zip(chunks, results, strict=True):
                state = states[chunk.file_index]
                state.pending -= 1
                state.done += chunk.share
                reason = self.drop_reason(result)
                if reason is not None:
                    state.dropped.append(self._dropped(chunk, result, reason, tokenizer))
                    continue
                segments = self._segments(chunk, result, tokenizer)
                follow_up = self._follow_up(chunk, state, segments, tokenizer, result.tokens)
                if follow_up is not None:
                    follow_ups.append(follow_up)
                    state.pending += 1
                state.pieces.append((chunk.start, segments, result.tokens))
        return follow_ups

    def drop_reason(self, result: DecodingResult) -> str | None:
        """Why a chunk's final result is dropped, or None to keep it.

        A chunk reaches this point after the whole temperature schedule, holding its most likely
        attempt (`decode_with_fallback(keep="best")`: the one with the highest average log-prob
        when no attempt passed the thresholds; the sequential loop keeps the last, as
        openai-whisper does). It is dropped only on evidence that it holds no speech:

        - "no speech": the no-speech probability is above `no_speech_threshold` and the text is
          not confident (average log-prob below `logprob_threshold`). This is the sequential
          loop's rule for skipping a window, so both modes drop the same silence.
        - "repetitive and improbable": the text compresses more than
          `compression_ratio_threshold` *and* its average log-prob is below `logprob_threshold`
          at every temperature: a loop the model itself does not believe.

        A high compression ratio alone is not evidence of a hallucination. Speech that really
        repeats (a sentence read twice, a refrain, a list of numbers) compresses like a loop
        does, but the model transcribes it confidently; dropping it lost real speech without a
        word (a 49.5 s recording of sentences read twice stopped at 20.2 s). Such a chunk is
        kept, as the sequential loop keeps it.
        """
        policy = self.policy
        if policy.looks_silent(result):
            return "no speech"
        ratio, logprob = policy.compression_ratio_threshold, policy.logprob_threshold
        if (
            ratio is not None
            and logprob is not None
            and result.compression_ratio > ratio
            and not result.avg_logprob >= logprob
        ):
            return "repetitive and improbable"
        return None

    @staticmethod
    def _dropped(chunk: _Chunk, result: DecodingResult, reason: str, tokenizer: Tokenizer) -> dict:
        return {
            "start": round(chunk.start, 3),
            "end": round(chunk.start + len(chunk.samples) / SAMPLE_RATE, 3),
            "reason": reason,
            "text": tokenizer.decode([token for token in result.tokens if token < tokenizer.eot]),
            "temperature": result.temperature,
            "avg_logprob": result.avg_logprob,
            "compression_ratio": result.compression_ratio,
            "no_speech_prob": result.no_speech_prob,
        }

    def _segments(self, chunk: _Chunk, result: DecodingResult, tokenizer: Tokenizer) -> list[dict]:
        end = chunk.start + len(chunk.samples) / SAMPLE_RATE
        if self.options.without_timestamps:
            pieces = [(chunk.start, end, result.tokens)] if result.tokens else []
        else:
            pieces = split_segments(result.tokens, tokenizer, chunk.start, end)
        segments = []
        for start, seg_end, tokens in pieces:
            text_tokens = [token for token in tokens if token < tokenizer.eot]
            text = tokenizer.decode(text_tokens)
            if not text.strip():
                continue
            segments.append(
                {
                    "seek": round(chunk.start * SAMPLE_RATE / HOP_LENGTH),
                    "start": round(start, 3),
                    "end": round(seg_end, 3),
                    "text": text,
                    "tokens": tokens,
                    "temperature": result.temperature,
                    "avg_logprob": result.avg_logprob,
                    "compression_ratio": result.compression_ratio,
                    "no_speech_prob": result.no_speech_prob,
                }
            )
        if self.word_timestamps and segments:
            n_frames = min(N_FRAMES, len(chunk.samples) // HOP_LENGTH)
            add_word_timestamps(
                segments=segments,
                engine=self.engine,
                tokenizer=tokenizer,
                audio_features=result.audio_features,
                num_frames=n_frames,
                time_offset=chunk.start,
                last_speech_timestamp=chunk.start,
            )
        return segments

    def _finish(self, state: _FileState) -> dict[str, Any]:
        tokenizer = get_decoding_tokenizer(self.engine, state.language, self.options.task)
        segments: list[dict] = []
        tokens: list[int] = []
        for _, chunk_segments, _ in sorted(state.pieces, key=lambda piece: piece[0]):
            for segment in chunk_segments:
                segments.append({"id": len(segments), **segment})
                tokens.extend(token for token in segment["tokens"] if token < tokenizer.eot)
        dropped = sorted(state.dropped, key=lambda chunk: chunk["start"])
        return {"text": tokenizer.decode(tokens), "segments": segments, "language": state.language, "dropped": dropped}

    def run(
        self, sources: Sequence[AudioInput], progress: Progress | None = None
    ) -> Iterator[tuple[int, dict[str, Any] | OlmoasrError]]:
        """Yield (index, result) per source as soon as its last chunk is decoded, or (index, error).

        `progress(index, done_seconds, total_seconds)` is called for a file when it is loaded and
        after each batch that decoded some of it (done reaches total when its last chunk is done).
        """
        states: dict[int, _FileState] = {}
        queue: list[_Chunk] = []

        def decode_batch() -> Iterator[tuple[int, dict[str, Any]]]:
            nonlocal queue
            batch, queue = queue[: self.batch_size], queue[self.batch_size :]
            queue += self._decode(batch, states)
            if progress is not None:
                for index in dict.fromkeys(chunk.file_index for chunk in batch):
                    state = states[index]
                    progress(index, state.duration if state.pending == 0 else state.done, state.duration)
            yield from self._completed(states)

        for index, source in enumerate(sources):
            try:
                samples = _load(source)
                language = self._language(samples)
                spans, speech = self._chunks(samples)
            except OlmoasrError as err:
                yield index, err
                continue
            state = _FileState(language=language, pending=len(spans), samples=samples, speech=speech)
            states[index] = state
            if progress is not None:
                progress(index, 0.0, state.duration)
            spanned = sum(end - start for start, end in spans)
            for start, end in spans:
                first, last = round(start * SAMPLE_RATE), round(end * SAMPLE_RATE)
                share = (end - start) / spanned * state.duration if spanned else 0.0
                queue.append(_Chunk(index, start, samples[first:last], share))
            while len(queue) >= self.batch_size:
                yield from decode_batch()
            yield from self._completed(states)
        while queue:
            yield from decode_batch()

    def _completed(self, states: dict[int, _FileState]) -> Iterator[tuple[int, dict[str, Any]]]:
        for index in [index for index, state in states.items() if state.pending == 0]:
            yield index, self._finish(states.pop(index))


def transcribe_batched(
    model: Whisper | Engine,
    audios: Sequence[AudioInput],
    *,
    batch_size: int = defaults.BATCH_SIZE,
    vad: bool = True,
    on_result: Callable[[int, dict[str, Any] | OlmoasrError], None] | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> list[dict[str, Any] | OlmoasrError]:
    """Transcribe several recordings with one model, decoding chunks `batch_size` at a time.

    Returns one result dict ({"text", "segments", "language", "dropped"}) per input, in input
    order, or the error for an input that could not be read. "dropped" lists the chunks left out
    of the transcript ({"start", "end", "reason", "text", ...}; see `BatchedTranscriber.drop_reason`).
    `progress(index, done_seconds, total_seconds)` follows each file's decoding. Options are those
    of `transcribe` that apply to independent chunks (language, task, beam_size, temperature
    schedule, thresholds, without_timestamps, word_timestamps, ...).
    """
    transcriber = BatchedTranscriber(model, batch_size=batch_size, vad=vad, **options)
    results: list[dict[str, Any] | OlmoasrError | None] = [None] * len(audios)
    for index, outcome in transcriber.run(audios, progress):
        results[index] = outcome
        if on_result is not None:
            on_result(index, outcome)
    return [result for result in results if result is not None]
