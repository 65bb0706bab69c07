"""Word timestamps: align text tokens to audio frames through the decoder's cross-attention.

The alignment heads' attention over the window (normalised per frame and median-filtered) is a
token x frame similarity matrix; dynamic time warping finds the monotonic path through it, and a
word starts at the frame where the path first reaches its first token.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from olmoasr.engines.base import TokenAlignment

if TYPE_CHECKING:
    from olmoasr.engines.base import Engine
    from olmoasr.model.network import Whisper
    from olmoasr.model.tokenizer import Tokenizer

TOKENS_PER_SECOND = 50  # one audio-encoder position per 20 ms
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"
SENTENCE_END_MARKS = ".。!！?？"


def median_filter(x: torch.Tensor, width: int) -> torch.Tensor:
    """Median over a sliding window of odd `width` along the last axis (reflect-padded at the ends)."""
    if width <= 0 or width % 2 == 0:
        raise ValueError(f"median filter width must be a positive odd number, got {width}")
    half = width // 2
    if x.shape[-1] <= half:
        return x
    shape = x.shape
    flat = x.reshape(1, -1, shape[-1])
    padded = F.pad(flat, (half, half), mode="reflect")
    filtered = padded.unfold(-1, width, 1).sort(dim=-1).values[..., half]
    return filtered.reshape(shape)


def dtw_path(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest monotonic path from (0, 0) to (N-1, M-1) through `cost` [N, M].

    Steps are diagonal, down (next token, same frame) or right (same token, next frame); ties
    prefer right. Computed one anti-diagonal at a time, so each step is a vectorised update.
    Returns (token_indices, frame_indices) along the path.
    """
    n_rows, n_cols = cost.shape
    total = np.full((n_rows + 1, n_cols + 1), np.inf, dtype=np.float32)
    trace = np.full((n_rows + 1, n_cols + 1), -1, dtype=np.int8)
    total[0, 0] = 0
    cost = cost.astype(np.float64)
    for diagonal in range(2, n_rows + n_cols + 1):
        rows = np.arange(max(1, diagonal - n_cols), min(n_rows, diagonal - 1) + 1)
        if rows.size == 0:
            continue
        cols = diagonal - rows
        from_diagonal = total[rows - 1, cols - 1]
        from_above = total[rows - 1, cols]
        from_left = total[rows, cols - 1]
        take_diagonal = (from_diagonal < from_above) & (from_diagonal < from_left)
        take_above = ~take_diagonal & (from_above < from_diagonal) & (from_above < from_left)
        step = np.where(take_diagonal, 0, np.where(take_above, 1, 2)).astype(np.int8)
        best = np.where(take_diagonal, from_diagonal, np.where(take_above, from_above, from_left))
        total[rows, cols] = (cost[rows - 1, cols - 1] + best.astype(np.float64)).astype(np.float32)
        trace[rows, cols] = step
    return _backtrack(trace)


def _backtrack(trace: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    trace = trace.copy()
    trace[0, :] = 2
    trace[:, 0] = 1
    i, j = trace.shape[0] - 1, trace.shape[1] - 1
    path = []
    while i > 0 or j > 0:
        path.append((i - 1, j - 1))
        step = trace[i, j]
        if step == 0:
            i, j = i - 1, j - 1
        elif step == 1:
            i -= 1
        else:
            j -= 1
    path_array = np.array(path[::-1], dtype=np.int64).reshape(-1, 2)
    return path_array[:, 0], path_array[:, 1]


@dataclass
class WordTiming:
    word: str
    tokens: list[int]
    start: float
    end: float
    probability: float


def alignment_matrix(
    model: Whisper, tokens: torch.Tensor, audio_features: torch.Tensor, num_frames: int, medfilt_width: int
) -> torch.Tensor:
    """Token x frame attention of the alignment heads over the audio part of the window,
    standardised per frame across tokens, median-filtered along time and averaged over heads."""
    n_positions = max(1, num_frames // 2)
    weights = model.cross_attention_weights(tokens, audio_features, n_positions)[:, 0].float()
    std, mean = torch.std_mean(weights, dim=-2, keepdim=True, unbiased=False)
    weights = (weights - mean) / std
    weights = median_filter(weights, medfilt_width)
    return weights.mean(dim=0)


@torch.inference_mode()
def torch_token_alignment(
    model: Whisper,
    tokenizer: Tokenizer,
    text_tokens: list[int],
    audio_features: torch.Tensor,
    num_frames: int,
    medfilt_width: int = 7,
) -> TokenAlignment:
    """The DTW path through the alignment heads' attention, and each text token's probability (torch network)."""
    sot_sequence = list(tokenizer.sot_sequence)
    tokens = torch.tensor(
        [[*sot_sequence, tokenizer.no_timestamps, *text_tokens, tokenizer.eot]], device=audio_features.device
    )
    features = audio_features.unsqueeze(0) if audio_features.ndim == 2 else audio_features

    logits = model.logits(tokens, features)[0].float()
    sampled_logits = logits[len(sot_sequence) :, : tokenizer.eot]
    token_probs = sampled_logits.softmax(dim=-1)
    text_token_probs = token_probs[torch.arange(len(text_tokens)), torch.tensor(text_tokens)].tolist()

    matrix = alignment_matrix(model, tokens, features, num_frames, medfilt_width)
    matrix = matrix[len(sot_sequence) : -1]
    text_indices, time_indices = dtw_path(-matrix.double().cpu().numpy())
    return TokenAlignment(text_indices, time_indices, text_token_probs)


def find_alignment(
    engine: Engine,
    tokenizer: Tokenizer,
    text_tokens: list[int],
    audio_features: Any,
    num_frames: int,
    *,
    medfilt_width: int = 7,
) -> list[WordTiming]:
    """Word timings (seconds from the window start) for `text_tokens` decoded from one window."""
    if not text_tokens:
        return []
    path = engine.align(audio_features, tokenizer, text_tokens, num_frames, medfilt_width)
    text_indices, time_indices = np.asarray(path.text_indices), np.asarray(path.time_indices)
    text_token_probs = path.text_token_probs

    words, word_tokens = tokenizer.split_to_word_tokens([*text_tokens, tokenizer.eot])
    if len(word_tokens) <= 1:
        return []
    boundaries = np.pad(np.cumsum([len(group) for group in word_tokens[:-1]]), (1, 0))
    jumps = np.pad(np.diff(text_indices), (1, 0), constant_values=1).astype(bool)
    jump_times = time_indices[jumps] / TOKENS_PER_SECOND
    starts = jump_times[boundaries[:-1]]
    ends = jump_times[boundaries[1:]]
    probabilities = [
        float(np.mean(text_token_probs[i:j])) for i, j in zip(boundaries[:-1], boundaries[1:], strict=True)
    ]
    return [
        WordTiming(word, group, float(start), float(end), probability)
        for word, group, start, end, probability in zip(words, word_tokens, starts, ends, probabilities, strict=False)
    ]


def merge_punctuations(alignment: list[WordTiming], prepended: str, appended: str) -> None:
    """Attach opening punctuation to the next word and closing punctuation to the previous one."""
    following = len(alignment) - 1
    for i in range(len(alignment) - 2, -1, -1):
        previous, nxt = alignment[i], alignment[following]
        if previous.word.startswith(" ") and previous.word.strip() in prepended:
            nxt.word = previous.word + nxt.word
            nxt.tokens = previous.tokens + nxt.tokens
            previous.word, previous.tokens = "", []
        else:
            following = i

    previous_index = 0
    for j in range(1, len(alignment)):
        previous, nxt = alignment[previous_index], alignment[j]
        if not previous.word.endswith(" ") and nxt.word in appended:
            previous.word = previous.word + nxt.word
            previous.tokens = previous.tokens + nxt.tokens
            nxt.word, nxt.tokens = "", []
        else:
            previous_index = j


def _clip_long_words_at_sentence_ends(alignment: list[WordTiming], max_duration: float) -> None:
    for i in range(1, len(alignment)):
        if alignment[i].end - alignment[i].start > max_duration:
            if alignment[i].word in SENTENCE_END_MARKS:
                alignment[i].end = alignment[i].start + max_duration
            elif alignment[i - 1].word in SENTENCE_END_MARKS:
                alignment[i].start = alignment[i].end - max_duration


def _fit_segment_edges(
    segment: dict, words: list[dict], last_speech: float, median_duration: float, max_duration: float
) -> None:
    """Long first/last words are usually silence swallowed by the alignment; trust the segment times then."""
    first_is_long = words[0]["end"] - words[0]["start"] > max_duration
    second_is_long = len(words) > 1 and words[1]["end"] - words[0]["start"] > max_duration * 2
    if words[0]["end"] - last_speech > median_duration * 4 and (first_is_long or second_is_long):
        if len(words) > 1 and words[1]["end"] - words[1]["start"] > max_duration:
            boundary = max(words[1]["end"] / 2, words[1]["end"] - max_duration)
            words[0]["end"] = words[1]["start"] = boundary
        words[0]["start"] = max(0, words[0]["end"] - max_duration)

    if segment["start"] < words[0]["end"] and segment["start"] - 0.5 > words[0]["start"]:
        words[0]["start"] = max(0, min(words[0]["end"] - median_duration, segment["start"]))
    else:
        segment["start"] = words[0]["start"]

    if segment["end"] > words[-1]["start"] and segment["end"] + 0.5 < words[-1]["end"]:
        words[-1]["end"] = max(words[-1]["start"] + median_duration, segment["end"])
    else:
        segment["end"] = words[-1]["end"]


def add_word_timestamps(
    *,
    segments: list[dict],
    engine: Engine,
    tokenizer: Tokenizer,
    audio_features: Any,
    num_frames: int,
    time_offset: float,
    last_speech_timestamp: float,
    prepend_punctuations: str = PREPEND_PUNCTUATIONS,
    append_punctuations: str = APPEND_PUNCTUATIONS,
    medfilt_width: int = 7,
) -> None:
    """Add `words` [{word, start, end, probability}] to each segment of one window (in place)."""
    if not segments:
        return
    tokens_per_segment = [[token for token in segment["tokens"] if token < tokenizer.eot] for segment in segments]
    text_tokens = list(itertools.chain.from_iterable(tokens_per_segment))
    alignment = find_alignment(engine, tokenizer, text_tokens, audio_features, num_frames, medfilt_width=medfilt_width)
    durations = np.array([timing.end - timing.start for timing in alignment])
    durations = durations[durations.nonzero()]
    median_duration = min(0.7, float(np.median(durations))) if len(durations) else 0.0
    max_duration = median_duration * 2
    if len(durations):
        _clip_long_words_at_sentence_ends(alignment, max_duration)
    merge_punctuations(alignment, prepend_punctuations, append_punctuations)

    word_index = 0
    for segment, segment_tokens in zip(segments, tokens_per_segment, strict=True):
        consumed = 0
        words = []
        while word_index < len(alignment) and consumed < len(segment_tokens):
            timing = alignment[word_index]
            if timing.word:
                words.append(
                    {
                        "word": timing.word,
                        "start": round(time_offset + timing.start, 2),
                        "end": round(time_offset + timing.end, 2),
                        "probability": timing.probability,
                    }
                )
            consumed += len(timing.tokens)
            word_index += 1
        if words:
            _fit_segment_edges(segment, words, last_speech_timestamp, median_duration, max_duration)
            last_speech_timestamp = segment["end"]
        segment["words"] = words
