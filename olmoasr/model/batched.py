"""Batched long-form transcription: many 30-second chunks decoded at once, across files, one model.

Each recording is cut into chunks of at most 30 s: with VAD, chunks hold the speech regions that
Silero VAD finds (silence is never decoded, so it cannot be hallucinated over); without VAD,
consecutive 30 s windows. Chunks from all files join one queue and are decoded `batch_size` at a
time (encoder and decoder batched, temperature fallback only for the chunks that fail). Chunk
timestamps are shifted back to file time. Chunks whose output still looks like a hallucination
(repetitive, or silent by the no-speech probability) are dropped.
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


@dataclass
class _Chunk:
    file_index: int
    start: float  # seconds in the file
    samples: np.ndarray


@dataclass
class _FileState:
    language: str
    pending: int
    samples: np.ndarray
    speech: list[tuple[float, float]]  # VAD speech regions (seconds); empty without VAD
    pieces: list[tuple[float, list[dict], list[int]]] = field(default_factory=list)

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

    def _follow_up(self, chunk: _Chunk, state: _FileState, segments: list[dict], tokenizer: Tokenizer) -> _Chunk | None:
        """A chunk for the speech the model left undecoded at the end of `chunk` (it stopped early).

        The sequential loop would seek to the last timestamp and decode on; a chunk has no next
        window, so when VAD heard speech after the last completed segment, decode from there again.
        """
        if self.options.without_timestamps or not state.speech:
            return None
        closed = [segment for segment in segments if segment["tokens"][-1] >= tokenizer.timestamp_begin]
        if not closed:
            return None
        resume = closed[-1]["end"]
        chunk_end = chunk.start + len(chunk.samples) / SAMPLE_RATE
        if resume < chunk.start + 1.0 or chunk_end - resume < 1.0 or not state.has_speech(resume + 0.2, chunk_end):
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
            results = decode_with_fallback(self.engine, mel, options, self.policy)
            for chunk, result in zip(chunks, results, strict=True):
                state = states[chunk.file_index]
                state.pending -= 1
                if not self._is_hallucination(result):
                    segments = self._segments(chunk, result, tokenizer)
                    follow_up = self._follow_up(chunk, state, segments, tokenizer)
                    if follow_up is not None:
                        follow_ups.append(follow_up)
                        state.pending += 1
                    state.pieces.append((chunk.start, segments, result.tokens))
        return follow_ups

    def _is_hallucination(self, result: DecodingResult) -> bool:
        policy = self.policy
        if policy.looks_silent(result):
            return True
        threshold = policy.compression_ratio_threshold
        return threshold is not None and result.compression_ratio > threshold

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
        return {"text": tokenizer.decode(tokens), "segments": segments, "language": state.language}

    def run(self, sources: Sequence[AudioInput]) -> Iterator[tuple[int, dict[str, Any] | OlmoasrError]]:
        """Yield (index, result) per source as soon as its last chunk is decoded, or (index, error)."""
        states: dict[int, _FileState] = {}
        queue: list[_Chunk] = []
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
            for start, end in spans:
                first, last = round(start * SAMPLE_RATE), round(end * SAMPLE_RATE)
                queue.append(_Chunk(index, start, samples[first:last]))
            while len(queue) >= self.batch_size:
                batch, queue = queue[: self.batch_size], queue[self.batch_size :]
                queue += self._decode(batch, states)
                yield from self._completed(states)
            yield from self._completed(states)
        while queue:
            batch, queue = queue[: self.batch_size], queue[self.batch_size :]
            queue += self._decode(batch, states)
            yield from self._completed(states)

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
    **options: Any,
) -> list[dict[str, Any] | OlmoasrError]:
    """Transcribe several recordings with one model, decoding chunks `batch_size` at a time.

    Returns one result dict ({"text", "segments", "language"}) per input, in input order, or the
    error for an input that could not be read. Options are those of `transcribe` that apply to
    independent chunks (language, task, beam_size, temperature schedule, thresholds,
    without_timestamps, word_timestamps, ...).
    """
    transcriber = BatchedTranscriber(model, batch_size=batch_size, vad=vad, **options)
    results: list[dict[str, Any] | OlmoasrError | None] = [None] * len(audios)
    for index, outcome in transcriber.run(audios):
        results[index] = outcome
        if on_result is not None:
            on_result(index, outcome)
    return [result for result in results if result is not None]
