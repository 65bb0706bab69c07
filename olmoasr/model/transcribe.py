"""Sequential long-form transcription: Whisper's 30-second sliding window with timestamps.

Each window is decoded (with temperature fallback); the output is cut into segments at pairs of
timestamp tokens. A window ending in a single timestamp has no speech left, so the whole window is
consumed; otherwise the next window starts at the last timestamp so an unfinished sentence is
decoded again in full. The previous windows' text is the prompt for the next one.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from olmoasr.engines import as_engine
from olmoasr.errors import UsageError
from olmoasr.model.decoding import DecodingOptions, DecodingResult, FallbackPolicy, decode_with_fallback
from olmoasr.model.decoding.options import DecodingOptionsError
from olmoasr.model.decoding.task import get_decoding_tokenizer
from olmoasr.model.features import FRAMES_PER_SECOND, HOP_LENGTH, N_FRAMES, SAMPLE_RATE
from olmoasr.model.runtime import warn_if_fp16_ignored
from olmoasr.model.timing import APPEND_PUNCTUATIONS, PREPEND_PUNCTUATIONS, add_word_timestamps
from olmoasr.model.windows import LogMelWindows

if TYPE_CHECKING:
    from olmoasr.engines.base import Engine
    from olmoasr.model.network import Whisper
    from olmoasr.model.tokenizer import Tokenizer

INPUT_STRIDE = 2  # mel frames per audio position (the encoder's stride-2 convolution)
TIME_PRECISION = INPUT_STRIDE * HOP_LENGTH / SAMPLE_RATE  # 0.02 s per timestamp step
PUNCTUATION = PREPEND_PUNCTUATIONS + APPEND_PUNCTUATIONS

AudioInput = str | os.PathLike | bytes | np.ndarray | torch.Tensor
Progress = Callable[[float, float], None]  # (audio seconds done, audio seconds in the recording)


@dataclass(frozen=True)
class LongFormOptions:
    """Settings of the sliding-window loop (per-window decoding settings live in DecodingOptions)."""

    condition_on_previous_text: bool = True
    initial_prompt: str | None = None
    carry_initial_prompt: bool = False
    word_timestamps: bool = False
    prepend_punctuations: str = PREPEND_PUNCTUATIONS
    append_punctuations: str = APPEND_PUNCTUATIONS
    clip_timestamps: str | Sequence[float] = "0"
    hallucination_silence_threshold: float | None = None

    def __post_init__(self) -> None:
        clips = parse_clip_timestamps(self.clip_timestamps)
        object.__setattr__(self, "clip_timestamps", clips)
        if self.hallucination_silence_threshold is not None and self.hallucination_silence_threshold <= 0:
            raise UsageError("hallucination_silence_threshold must be > 0 seconds")


def parse_clip_timestamps(value: str | Sequence[float]) -> tuple[float, ...]:
    """'0' / '10,20,35' / [10.0, 20.0] -> start, end, start, ... seconds (validated)."""
    if isinstance(value, str):
        try:
            clips = tuple(float(part) for part in value.split(",") if part.strip())
        except ValueError:
            raise UsageError(f"clip_timestamps must be comma-separated seconds, got {value!r}") from None
    else:
        clips = tuple(float(part) for part in value)
    if any(t < 0 for t in clips):
        raise UsageError(f"clip_timestamps must be >= 0, got {clips}")
    pairs = list(zip(clips[::2], clips[1::2], strict=False))
    if any(end < start for start, end in pairs):
        raise UsageError(f"clip_timestamps: every clip must end after it starts, got {clips}")
    return clips


def split_options(options: dict[str, Any]) -> tuple[LongFormOptions, FallbackPolicy, DecodingOptions]:
    """Sort keyword options into loop settings, the fallback policy and per-window decoding options."""
    long_form_names = {f.name for f in dataclasses.fields(LongFormOptions)}
    policy_names = {f.name for f in dataclasses.fields(FallbackPolicy)}
    decode_names = {f.name for f in dataclasses.fields(DecodingOptions)}
    unknown = sorted(set(options) - long_form_names - policy_names - decode_names - {"temperature"})
    if unknown:
        raise UsageError(f"unknown transcribe option(s): {', '.join(unknown)}")
    long_form = LongFormOptions(**{k: v for k, v in options.items() if k in long_form_names})
    search = {name: options.get(name) for name in ("beam_size", "best_of", "patience")}
    temperature = options.get("temperature", FallbackPolicy.temperatures)
    thresholds = {k: v for k, v in options.items() if k in policy_names - set(search) - {"temperatures"}}
    policy = FallbackPolicy(temperatures=temperature, **search, **thresholds)
    decode_kwargs = {k: v for k, v in options.items() if k in decode_names and k not in search and k != "temperature"}
    decode_kwargs.pop("prompt", None)  # the loop builds each window's prompt
    decode_options = DecodingOptions(**decode_kwargs)
    policy.check(decode_options)
    return long_form, policy, decode_options


def window_segments(
    tokens: list[int],
    tokenizer: Tokenizer,
    time_offset: float,
    segment_frames: int,
) -> tuple[list[tuple[float, float, list[int]]], int, bool]:
    """Cut one window's tokens into (start, end, tokens) segments at timestamp pairs.

    Returns the segments, how many frames the window consumed, and whether it ended on a single
    timestamp (no speech after it).
    """
    ts_begin = tokenizer.timestamp_begin
    is_ts = [token >= ts_begin for token in tokens]
    single_timestamp_ending = is_ts[-2:] == [False, True]
    cuts = [i + 1 for i in range(len(tokens) - 1) if is_ts[i] and is_ts[i + 1]]
    if not cuts:
        timestamps = [token for token in tokens if token >= ts_begin]
        duration = segment_frames * HOP_LENGTH / SAMPLE_RATE
        if timestamps and timestamps[-1] != ts_begin:
            duration = (timestamps[-1] - ts_begin) * TIME_PRECISION
        return [(time_offset, time_offset + duration, tokens)], segment_frames, single_timestamp_ending

    if single_timestamp_ending:
        cuts.append(len(tokens))
    segments = []
    previous = 0
    for cut in cuts:
        piece = tokens[previous:cut]
        start = time_offset + (piece[0] - ts_begin) * TIME_PRECISION
        end = time_offset + (piece[-1] - ts_begin) * TIME_PRECISION
        segments.append((start, end, piece))
        previous = cut
    consumed = segment_frames if single_timestamp_ending else (tokens[previous - 1] - ts_begin) * INPUT_STRIDE
    return segments, consumed, single_timestamp_ending


def last_word_end(segments: list[dict]) -> float | None:
    """End of the last word (or of the last segment when no segment has words)."""
    for segment in reversed(segments):
        for word in reversed(segment.get("words") or []):
            return word["end"]
    return segments[-1]["end"] if segments else None


def _word_anomaly(word: dict) -> float:
    probability = word.get("probability", 0.0)
    duration = word["end"] - word["start"]
    score = 0.0
    if probability < 0.15:
        score += 1.0
    if duration < 0.133:
        score += (0.133 - duration) * 15
    if duration > 2.0:
        score += duration - 2.0
    return score


def is_anomalous(segment: dict | None) -> bool:
    """Words that are very short, very long or improbable: the signature of a hallucination."""
    if segment is None or not segment.get("words"):
        return False
    words = [word for word in segment["words"] if word["word"] not in PUNCTUATION][:8]
    score = sum(_word_anomaly(word) for word in words)
    return score >= 3 or score + 0.01 >= len(words)


def _first_with_words(segments: list[dict]) -> dict | None:
    return next((segment for segment in segments if segment.get("words")), None)


def _print_segments(segments: list[dict]) -> None:
    from olmoasr.console import stdout_console
    from olmoasr.timestamps import format_seconds

    for segment in segments:
        line = f"[{format_seconds(segment['start'])} --> {format_seconds(segment['end'])}] {segment['text']}"
        stdout_console().print(line, markup=False, highlight=False)


class SequentialTranscriber:
    """Runs the sliding-window loop over one recording."""

    def __init__(
        self,
        model: Whisper | Engine,
        long_form: LongFormOptions,
        policy: FallbackPolicy,
        decode_options: DecodingOptions,
        verbose: bool | None = None,
        generator: torch.Generator | None = None,
        progress: Progress | None = None,
    ):
        self.engine = as_engine(model)
        self.progress = progress
        self.long_form = long_form
        self.policy = policy
        self.decode_options = decode_options
        self.verbose = verbose
        self.generator = generator

    def _language(self, mel: LogMelWindows) -> str:
        if self.decode_options.language is not None:
            return self.decode_options.language
        engine = self.engine
        if not engine.is_multilingual:
            return "en"
        tokenizer = get_decoding_tokenizer(engine, None, "transcribe")
        probs = engine.detect_language(engine.encode(mel.window(0, N_FRAMES)), tokenizer)[0]
        language = max(probs, key=probs.__getitem__)
        if self.verbose is not None:
            from olmoasr.log import note

            note(f"detected language: {language} ({probs[language]:.0%})")
        return language

    def run(self, audio: AudioInput) -> dict[str, Any]:
        engine = self.engine
        mel = LogMelWindows(audio, engine.n_mels, engine.device)
        language = self._language(mel)
        options = dataclasses.replace(self.decode_options, language=language)
        options.check_model(engine)
        tokenizer = get_decoding_tokenizer(engine, language, options.task)
        content_frames = mel.content_frames
        content_duration = mel.duration
        long_form = self.long_form

        seek_points = [round(t * FRAMES_PER_SECOND) for t in long_form.clip_timestamps] or [0]
        if len(seek_points) % 2 == 1:
            seek_points.append(content_frames)
        clips = list(zip(seek_points[::2], seek_points[1::2], strict=True))

        all_tokens: list[int] = []
        all_segments: list[dict] = []
        prompt_reset_since = 0
        remaining_prompt_length = engine.n_text_ctx // 2 - 1
        initial_prompt_tokens: list[int] = []
        if long_form.initial_prompt is not None:
            initial_prompt_tokens = tokenizer.encode(" " + long_form.initial_prompt.strip())
            all_tokens.extend(initial_prompt_tokens)
            remaining_prompt_length -= len(initial_prompt_tokens)
        last_speech_timestamp = 0.0

        seek = 0
        for clip_start, clip_end in clips:
            seek = max(seek, clip_start)
            while seek < min(clip_end, content_frames):
                time_offset = seek * HOP_LENGTH / SAMPLE_RATE
                if self.progress is not None:
                    self.progress(min(time_offset, content_duration), content_duration)
                window_end_time = (seek + N_FRAMES) * HOP_LENGTH / SAMPLE_RATE
                segment_frames = min(N_FRAMES, content_frames - seek, clip_end - seek)
                segment_duration = segment_frames * HOP_LENGTH / SAMPLE_RATE
                window = mel.window(seek, segment_frames)

                if long_form.carry_initial_prompt:
                    ignored = max(len(initial_prompt_tokens), prompt_reset_since)
                    prompt = initial_prompt_tokens + all_tokens[ignored:][-remaining_prompt_length:]
                else:
                    prompt = all_tokens[prompt_reset_since:]
                window_options = dataclasses.replace(options, prompt=prompt or None)
                result = decode_with_fallback(engine, window, window_options, self.policy, self.generator)[0]

                if self.policy.looks_silent(result):
                    seek += segment_frames
                    continue

                previous_seek = seek
                pieces, consumed, single_ending = window_segments(result.tokens, tokenizer, time_offset, segment_frames)
                seek += consumed
                current = [
                    self._segment(previous_seek, start, end, piece, result, tokenizer) for start, end, piece in pieces
                ]

                if long_form.word_timestamps:
                    add_word_timestamps(
                        segments=current,
                        engine=engine,
                        tokenizer=tokenizer,
                        audio_features=result.audio_features,
                        num_frames=segment_frames,
                        time_offset=time_offset,
                        last_speech_timestamp=last_speech_timestamp,
                        prepend_punctuations=long_form.prepend_punctuations,
                        append_punctuations=long_form.append_punctuations,
                    )
                    if not single_ending:
                        word_end = last_word_end(current)
                        if word_end is not None and word_end > time_offset:
                            seek = round(word_end * FRAMES_PER_SECOND)
                    threshold = long_form.hallucination_silence_threshold
                    if threshold is not None:
                        skip_to = self._skip_hallucination(
                            current,
                            threshold,
                            single_ending,
                            previous_seek,
                            segment_frames,
                            time_offset,
                            window_end_time,
                            segment_duration,
                            last_speech_timestamp,
                            content_duration,
                            content_frames,
                        )
                        if skip_to is not None:
                            seek, leading_silence = skip_to
                            if leading_silence:
                                continue
                    word_end = last_word_end(current)
                    if word_end is not None:
                        last_speech_timestamp = word_end

                if self.verbose:
                    _print_segments(current)
                for segment in current:
                    if segment["start"] == segment["end"] or not segment["text"].strip():
                        segment["text"], segment["tokens"], segment["words"] = "", [], []
                all_segments.extend({"id": i, **segment} for i, segment in enumerate(current, len(all_segments)))
                all_tokens.extend(token for segment in current for token in segment["tokens"])
                if not long_form.condition_on_previous_text or result.temperature > 0.5:
                    prompt_reset_since = len(all_tokens)  # do not carry text decoded at a high temperature

        if self.progress is not None:
            self.progress(content_duration, content_duration)
        for segment in all_segments:
            # a window's timestamps may run past the end of the audio (into the padding); never report that
            segment["start"] = min(segment["start"], content_duration)
            segment["end"] = min(max(segment["end"], segment["start"]), content_duration)
            if not long_form.word_timestamps:
                segment.pop("words", None)
            for word in segment.get("words", []):
                word["start"] = min(float(word["start"]), content_duration)
                word["end"] = min(max(float(word["end"]), word["start"]), content_duration)
        return {
            "text": tokenizer.decode(all_tokens[len(initial_prompt_tokens) :]),
            "segments": all_segments,
            "language": language,
        }

    def _segment(
        self, seek: int, start: float, end: float, tokens: list[int], result: DecodingResult, tokenizer: Tokenizer
    ) -> dict:
        text_tokens = [token for token in tokens if token < tokenizer.eot]
        return {
            "seek": seek,
            "start": start,
            "end": end,
            "text": tokenizer.decode(text_tokens),
            "tokens": list(tokens),
            "temperature": result.temperature,
            "avg_logprob": result.avg_logprob,
            "compression_ratio": result.compression_ratio,
            "no_speech_prob": result.no_speech_prob,
        }

    @staticmethod
    def _skip_hallucination(
        current: list[dict],
        threshold: float,
        single_ending: bool,
        previous_seek: int,
        segment_frames: int,
        time_offset: float,
        window_end_time: float,
        segment_duration: float,
        last_speech_timestamp: float,
        content_duration: float,
        content_frames: int,
    ) -> tuple[int, bool] | None:
        """Where to seek when the window looks like a hallucination surrounded by silence.

        Returns (seek, skip_window): skip_window means drop this window's segments and retry from
        `seek` (a long silence precedes an anomalous first segment). Trims `current` in place.
        """
        seek: int | None = None
        if not single_ending:
            word_end = last_word_end(current)
            if word_end is not None and word_end > time_offset:
                remaining = window_end_time - word_end
                seek = round(word_end * FRAMES_PER_SECOND) if remaining > threshold else previous_seek + segment_frames

        first = _first_with_words(current)
        if first is not None and is_anomalous(first):
            gap = first["start"] - time_offset
            if gap > threshold:
                return previous_seek + round(gap * FRAMES_PER_SECOND), True

        hallucination_last_end = last_speech_timestamp
        for index, segment in enumerate(current):
            if not segment.get("words"):
                continue
            if is_anomalous(segment):
                following = _first_with_words(current[index + 1 :])
                next_start = following["words"][0]["start"] if following else time_offset + segment_duration
                silence_before = (
                    segment["start"] - hallucination_last_end > threshold
                    or segment["start"] < threshold
                    or segment["start"] - time_offset < 2.0
                )
                silence_after = (
                    next_start - segment["end"] > threshold
                    or is_anomalous(following)
                    or window_end_time - segment["end"] < 2.0
                )
                if silence_before and silence_after:
                    seek = round(max(time_offset + 1, segment["start"]) * FRAMES_PER_SECOND)
                    if content_duration - segment["end"] < threshold:
                        seek = content_frames
                    del current[index:]
                    break
            hallucination_last_end = segment["end"]
        return None if seek is None else (seek, False)


def transcribe(
    model: Whisper | Engine,
    audio: AudioInput,
    *,
    verbose: bool | None = None,
    generator: torch.Generator | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Transcribe a recording of any length: {"text", "segments", "language"}.

    `audio` is a path (any format PyAV reads), bytes, or 16 kHz mono samples. Options: the
    DecodingOptions fields (language, task, beam_size, best_of, patience, length_penalty,
    suppress_tokens, without_timestamps, ...), `temperature` (a value or a fallback schedule),
    compression_ratio_threshold, logprob_threshold, no_speech_threshold, condition_on_previous_text,
    initial_prompt, carry_initial_prompt, word_timestamps, prepend/append_punctuations,
    clip_timestamps, hallucination_silence_threshold. Invalid combinations raise before decoding.
    `progress(done_seconds, total_seconds)` is called before each window and once at the end.
    """
    engine = as_engine(model)
    warn_if_fp16_ignored(options.pop("fp16", None), engine.precision)
    long_form, policy, decode_options = split_options(options)
    if long_form.hallucination_silence_threshold is not None and not long_form.word_timestamps:
        raise DecodingOptionsError("invalid decoding options: hallucination_silence_threshold needs word_timestamps")
    decode_options.check_model(engine)
    return SequentialTranscriber(engine, long_form, policy, decode_options, verbose, generator, progress).run(audio)
