"""Whisper's log-mel features (spec §7.4): 16 kHz audio -> [n_mels, frames], 100 frames per second.

The mel filterbank is the Slaney-style one (librosa's default): mel scale linear below 1 kHz and
logarithmic above, triangular filters normalised to equal area.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from functools import cache

import numpy as np
import torch
import torch.nn.functional as F

SAMPLE_RATE = 16_000
N_FFT = 400
HOP_LENGTH = 160
CHUNK_LENGTH = 30  # seconds per model window
N_SAMPLES = CHUNK_LENGTH * SAMPLE_RATE  # 480 000 samples in a window
N_FRAMES = N_SAMPLES // HOP_LENGTH  # 3000 mel frames in a window
N_SAMPLES_PER_TOKEN = HOP_LENGTH * 2  # the encoder's second conv has stride 2
FRAMES_PER_SECOND = SAMPLE_RATE // HOP_LENGTH  # 100 mel frames per second (10 ms)
TOKENS_PER_SECOND = SAMPLE_RATE // N_SAMPLES_PER_TOKEN  # 50 audio positions per second (20 ms)

AudioInput = str | os.PathLike | bytes | np.ndarray | torch.Tensor


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    linear_step = 200.0 / 3  # Hz per mel below 1 kHz
    log_start_mel = 1000.0 / linear_step
    log_step = math.log(6.4) / 27.0
    mel = hz / linear_step
    above = hz >= 1000.0
    mel[above] = log_start_mel + np.log(hz[above] / 1000.0) / log_step
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    linear_step = 200.0 / 3
    log_start_mel = 1000.0 / linear_step
    log_step = math.log(6.4) / 27.0
    hz = mel * linear_step
    above = mel >= log_start_mel
    hz[above] = 1000.0 * np.exp(log_step * (mel[above] - log_start_mel))
    return hz


@cache
def _mel_filterbank_np(n_mels: int, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    fft_hz = np.linspace(0.0, sample_rate / 2, 1 + n_fft // 2)
    edges_mel = np.linspace(_hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([sample_rate / 2]))[0], n_mels + 2)
    edges_hz = _mel_to_hz(edges_mel)
    widths = np.diff(edges_hz)
    distance = edges_hz[:, None] - fft_hz[None, :]
    rising = -distance[:-2] / widths[:-1, None]
    falling = distance[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]  # equal-area ("slaney") normalisation
    return weights.astype(np.float32)


def mel_filters(n_mels: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The [n_mels, N_FFT // 2 + 1] filterbank (80 or 128 bins in Whisper models)."""
    return torch.from_numpy(_mel_filterbank_np(n_mels)).to(device)


def pad_or_trim(array: torch.Tensor | np.ndarray, length: int = N_SAMPLES, *, axis: int = -1):
    """Zero-pad or cut `array` along `axis` to exactly `length` (the model's 30 s input)."""
    size = array.shape[axis]
    if isinstance(array, torch.Tensor):
        if size > length:
            return array.narrow(axis, 0, length)
        if size < length:
            pad = [0, 0] * array.ndim
            pad[2 * (array.ndim - 1 - (axis % array.ndim)) + 1] = length - size
            return F.pad(array, pad)
        return array
    if size > length:
        return np.take(array, np.arange(length), axis=axis)
    if size < length:
        widths = [(0, 0)] * array.ndim
        widths[axis] = (0, length - size)
        return np.pad(array, widths)
    return array


def log_mel_spectrogram(
    audio: AudioInput,
    n_mels: int = 80,
    padding: int = 0,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Log-mel spectrogram [n_mels, frames] (or [batch, n_mels, frames] for batched audio).

    `audio` is 16 kHz mono float samples, or a path / bytes decoded with `olmoasr.audio.load_audio`.
    `padding` zero samples are appended first (transcription pads one 30 s window). Values are
    log10 power clamped to the example's maximum minus 8, then scaled as `(x + 4) / 4`.
    """
    if isinstance(audio, str | os.PathLike | bytes):
        from olmoasr.audio import load_audio

        audio = load_audio(audio, sample_rate=SAMPLE_RATE)
    samples = torch.from_numpy(np.ascontiguousarray(audio)) if isinstance(audio, np.ndarray) else audio
    samples = samples.to(device=device, dtype=torch.float32)
    if padding > 0:
        samples = F.pad(samples, (0, padding))
    n_frames = samples.shape[-1] // HOP_LENGTH
    if n_frames == 0:
        return samples.new_zeros((*samples.shape[:-1], n_mels, 0))
    if samples.shape[-1] <= N_FFT // 2:  # too short for the STFT's reflect padding: zero-extend, keep the frames
        samples = F.pad(samples, (0, N_FFT // 2 + 1 - samples.shape[-1]))
    window = torch.hann_window(N_FFT, device=samples.device)
    spectrum = torch.stft(samples, N_FFT, HOP_LENGTH, window=window, return_complex=True)
    power = spectrum[..., :n_frames].abs() ** 2
    mel = mel_filters(n_mels, samples.device) @ power
    log_spec = torch.clamp(mel, min=1e-10).log10()
    peak = log_spec.amax(dim=(-2, -1), keepdim=True)
    log_spec = torch.maximum(log_spec, peak - 8.0)
    return (log_spec + 4.0) / 4.0


# What fills a model window after a clip shorter than 30 s (see `log_mel_batch`).
FEATURE_PADDINGS = ("audio", "mel")


def log_mel_batch(
    clips: Sequence[np.ndarray | torch.Tensor],
    n_mels: int = 80,
    *,
    pad: str | Sequence[str] = "audio",
    n_samples: int = N_SAMPLES,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """One model window per clip: 16 kHz mono clips -> log-mel [batch, n_mels, n_samples // HOP_LENGTH].

    Each clip is cut to the window (`n_samples`, 30 s) first; the spectrogram runs on `device` and is
    returned in `dtype`. What fills the window after a short clip (`pad`, one choice for all clips or one
    per clip):

    - `"audio"`: silence. The clip is zero-padded to the window before the spectrogram, so the rest of
      the window holds the log floor: what the original trainer and eval, Hugging Face's feature extractor
      and the Open ASR Leaderboard give a model.
    - `"mel"`: zeros of the normalised log-mel after the clip's frames, exactly as the long-form loop
      (`transcribe`, like openai-whisper's) sees a window that starts at the clip's first sample.
    """
    pads = [pad] * len(clips) if isinstance(pad, str) else list(pad)
    if len(pads) != len(clips) or any(p not in FEATURE_PADDINGS for p in pads):
        raise ValueError(f"pad must be 'audio' or 'mel' (or one of them per clip), got {pad!r}")
    n_frames = n_samples // HOP_LENGTH
    mel = torch.zeros(len(clips), n_mels, n_frames, device=device, dtype=dtype)
    rows = [_as_samples(clip)[:n_samples] for clip in clips]
    # "mel": the clip followed by enough silence for every frame that overlaps it, as the long-form loop
    # computes it (the log floor then comes from the same peak)
    for choice, width in (("audio", n_samples), ("mel", n_samples + N_FFT)):
        index = [row for row, p in enumerate(pads) if p == choice]
        if not index:
            continue
        audio = torch.zeros(len(index), width)
        for i, row in enumerate(index):
            audio[i, : len(rows[row])] = rows[row]
        part = log_mel_spectrogram(audio, n_mels, device=device)[..., :n_frames]
        if choice == "mel":
            for i, row in enumerate(index):
                part[i, :, len(rows[row]) // HOP_LENGTH :] = 0
        mel[index] = part.to(dtype)
    return mel


def _as_samples(clip: np.ndarray | torch.Tensor) -> torch.Tensor:
    if isinstance(clip, torch.Tensor):
        samples = clip.detach().to("cpu", torch.float32)
    else:
        samples = torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32))
    if samples.ndim != 1:
        raise ValueError(f"a clip must be mono samples [n], got shape {tuple(samples.shape)}")
    return samples
