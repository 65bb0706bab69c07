"""Voice activity detection with Silero VAD (its TorchScript model ships in the `silero-vad` wheel).

The model scores 32 ms frames (512 samples at 16 kHz) and carries a recurrent state from frame to
frame. Scoring a long recording frame by frame costs ~2 ms per call on a CPU, so the recording is
cut into `stream_seconds` pieces that are scored side by side as one batch; each piece starts a few
frames early so its recurrent state is warm when its own frames begin.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from olmoasr.errors import UsageError

SAMPLE_RATE = 16_000
FRAME_SAMPLES = 512
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
WARMUP_FRAMES = 16


@cache
def load_silero_vad() -> torch.jit.ScriptModule:
    threads = torch.get_num_threads()
    try:
        import silero_vad
    except ImportError:
        raise UsageError("voice activity detection needs the silero-vad package: pip install silero-vad") from None
    finally:
        torch.set_num_threads(threads)  # importing silero_vad sets one thread for the whole process
    path = os.path.join(os.path.dirname(silero_vad.__file__), "data", "silero_vad.jit")
    if not os.path.exists(path):
        raise UsageError(f"the silero-vad package has no TorchScript model at {path}; reinstall silero-vad")
    model = torch.jit.load(path, map_location="cpu")
    model.eval()
    return model


@dataclass(frozen=True)
class VadOptions:
    threshold: float = 0.5
    min_speech_seconds: float = 0.25
    min_silence_seconds: float = 0.3
    speech_pad_seconds: float = 0.2
    stream_seconds: float = 3.0

    def __post_init__(self) -> None:
        if not 0 < self.threshold < 1:
            raise UsageError(f"VAD threshold must be between 0 and 1, got {self.threshold}")


@torch.no_grad()
def speech_probabilities(audio: np.ndarray, options: VadOptions = VadOptions()) -> np.ndarray:
    """Probability of speech for each 32 ms frame of 16 kHz mono `audio`."""
    n_frames = math.ceil(len(audio) / FRAME_SAMPLES)
    if n_frames == 0:
        return np.zeros(0, dtype=np.float32)
    frames = np.zeros(n_frames * FRAME_SAMPLES, dtype=np.float32)
    frames[: len(audio)] = audio
    frames = frames.reshape(n_frames, FRAME_SAMPLES)

    per_stream = max(1, round(options.stream_seconds / FRAME_SECONDS))
    n_streams = math.ceil(n_frames / per_stream)
    steps = per_stream + WARMUP_FRAMES
    batch = np.zeros((n_streams, steps, FRAME_SAMPLES), dtype=np.float32)
    for stream in range(n_streams):
        first = stream * per_stream - WARMUP_FRAMES  # warm-up frames precede the stream's own frames
        lo, hi = max(0, first), min(n_frames, first + steps)
        batch[stream, lo - first : hi - first] = frames[lo:hi]

    model = load_silero_vad()
    model.reset_states()
    probs = np.zeros((n_streams, steps), dtype=np.float32)
    tensor = torch.from_numpy(batch)
    for step in range(steps):
        probs[:, step] = model(tensor[:, step], SAMPLE_RATE)[:, 0].numpy()
    model.reset_states()
    own = probs[:, WARMUP_FRAMES:].reshape(-1)
    return own[:n_frames]


def speech_regions(probs: np.ndarray, duration: float, options: VadOptions = VadOptions()) -> list[tuple[float, float]]:
    """Speech regions (start, end) in seconds from frame probabilities, padded and merged."""
    on, off = options.threshold, max(options.threshold - 0.15, 0.01)
    regions: list[list[float]] = []
    start: float | None = None
    silence_since: float | None = None
    for index, prob in enumerate(probs):
        time = index * FRAME_SECONDS
        if start is None:
            if prob >= on:
                start, silence_since = time, None
            continue
        if prob >= on:
            silence_since = None
        elif prob < off:
            silence_since = time if silence_since is None else silence_since
            if time + FRAME_SECONDS - silence_since >= options.min_silence_seconds:
                regions.append([start, silence_since])
                start, silence_since = None, None
    if start is not None:
        regions.append([start, min(duration, len(probs) * FRAME_SECONDS)])

    padded: list[list[float]] = []
    for region_start, region_end in regions:
        if region_end - region_start < options.min_speech_seconds:
            continue
        region = [
            max(0.0, region_start - options.speech_pad_seconds),
            min(duration, region_end + options.speech_pad_seconds),
        ]
        if padded and region[0] <= padded[-1][1]:
            padded[-1][1] = max(padded[-1][1], region[1])
        else:
            padded.append(region)
    return [(start, end) for start, end in padded]


def merge_into_chunks(
    regions: list[tuple[float, float]], max_seconds: float = 30.0, probs: np.ndarray | None = None
) -> list[tuple[float, float]]:
    """Group consecutive speech regions into chunks of at most `max_seconds` (from first start to last end).

    A region longer than `max_seconds` is cut, at the least speech-like frame of each window's
    last third when `probs` are given.
    """
    pieces: list[tuple[float, float]] = []
    for start, end in regions:
        while end - start > max_seconds:
            cut = start + max_seconds
            if probs is not None:
                lo, hi = int((start + max_seconds * 2 / 3) / FRAME_SECONDS), int(cut / FRAME_SECONDS)
                if hi > lo:
                    cut = (lo + int(np.argmin(probs[lo:hi]))) * FRAME_SECONDS
            pieces.append((start, cut))
            start = cut
        pieces.append((start, end))

    chunks: list[tuple[float, float]] = []
    for start, end in pieces:
        if chunks and end - chunks[-1][0] <= max_seconds:
            chunks[-1] = (chunks[-1][0], end)
        else:
            chunks.append((start, end))
    return chunks
