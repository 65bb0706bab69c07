"""Log-mel of a whole recording for long-form transcription, computed in blocks to bound memory.

Transcription slides a 30 s window over the log-mel of the whole recording (plus 30 s of appended
silence). Whisper computes that spectrogram in one piece, whose STFT alone costs ~600 MB per hour
of audio. Here the audio is streamed (from a file, or sliced from an array) through the STFT a
block of frames at a time; only the float32 log-mel itself (32 KB per second at 80 bins) is kept.
The values equal the one-piece computation: the same frames, the same reflect padding at the
start, the same whole-recording peak for the dynamic-range floor.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from olmoasr.model.features import HOP_LENGTH, N_FFT, N_FRAMES, N_SAMPLES, SAMPLE_RATE, mel_filters, pad_or_trim

BLOCK_FRAMES = 6000 * 5  # 5 minutes of frames per STFT block
HALF_WINDOW = N_FFT // 2


def _sample_chunks(audio: str | os.PathLike | bytes | np.ndarray | torch.Tensor) -> Iterator[np.ndarray]:
    if isinstance(audio, str | os.PathLike | bytes):
        from olmoasr.audio import iter_audio

        yield from iter_audio(audio, sample_rate=SAMPLE_RATE)
        return
    samples = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
    if samples.ndim != 1:
        raise ValueError(f"audio must be mono samples [n], got shape {tuple(samples.shape)}")
    step = BLOCK_FRAMES * HOP_LENGTH
    for start in range(0, len(samples), step):
        yield samples[start : start + step].astype(np.float32, copy=False)


def _padded_stream(chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """The samples as the centred STFT sees them: reflect-padded start, audio, 30 s of zeros, zero tail."""
    head: list[np.ndarray] = []
    head_len = 0
    iterator = iter(chunks)
    for chunk in iterator:
        head.append(chunk)
        head_len += len(chunk)
        if head_len > HALF_WINDOW:
            break
    start = np.concatenate(head) if head else np.zeros(0, dtype=np.float32)
    start_with_silence = np.concatenate([start, np.zeros(HALF_WINDOW + 1, dtype=np.float32)])
    yield start_with_silence[1 : HALF_WINDOW + 1][::-1].copy()
    yield start
    yield from iterator
    yield np.zeros(N_SAMPLES + HALF_WINDOW, dtype=np.float32)


class LogMelWindows:
    """The normalised log-mel [n_mels, frames] of a recording and its 30 s windows."""

    def __init__(
        self,
        audio: str | os.PathLike | bytes | np.ndarray | torch.Tensor,
        n_mels: int,
        device: torch.device | str | None = None,
    ):
        self.n_mels = n_mels
        self.device = device
        log_mel, n_samples = self._compute(_padded_stream(_sample_chunks(audio)))
        peak = log_mel.max() if log_mel.numel() else torch.tensor(0.0)
        torch.maximum(log_mel, peak - 8.0, out=log_mel)
        log_mel.add_(4.0).div_(4.0)
        self.mel = log_mel
        self.n_samples = n_samples
        self.content_frames = log_mel.shape[-1] - N_FRAMES

    @property
    def duration(self) -> float:
        return self.content_frames * HOP_LENGTH / SAMPLE_RATE

    def _compute(self, stream: Iterator[np.ndarray]) -> tuple[torch.Tensor, int]:
        filters = mel_filters(self.n_mels)
        window = torch.hann_window(N_FFT)
        block_samples = (BLOCK_FRAMES - 1) * HOP_LENGTH + N_FFT
        buffer = np.zeros(0, dtype=np.float32)
        blocks: list[torch.Tensor] = []
        total = 0
        for chunk in stream:
            total += len(chunk)
            buffer = np.concatenate([buffer, chunk]) if len(buffer) else chunk
            while len(buffer) >= block_samples + HOP_LENGTH:
                blocks.append(self._log_mel(buffer[:block_samples], filters, window))
                buffer = buffer[BLOCK_FRAMES * HOP_LENGTH :]
        # the stream ends with the zero tail; the centred STFT's last frame is dropped, as in Whisper
        n_audio = total - 2 * HALF_WINDOW - N_SAMPLES
        remaining_frames = (n_audio + N_SAMPLES) // HOP_LENGTH - sum(block.shape[-1] for block in blocks)
        if remaining_frames > 0:
            needed = (remaining_frames - 1) * HOP_LENGTH + N_FFT
            blocks.append(self._log_mel(buffer[:needed], filters, window))
        return torch.cat(blocks, dim=-1), n_audio

    @staticmethod
    def _log_mel(samples: np.ndarray, filters: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
        signal = torch.from_numpy(np.ascontiguousarray(samples))
        spectrum = torch.stft(signal, N_FFT, HOP_LENGTH, window=window, center=False, return_complex=True)
        power = spectrum.abs() ** 2
        return torch.clamp(filters @ power, min=1e-10).log10()

    def window(self, seek: int, n_frames: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Frames [seek, seek + n_frames) zero-padded to a full 30 s window, on the model's device."""
        segment = self.mel[:, seek : seek + n_frames]
        return pad_or_trim(segment, N_FRAMES).to(device=self.device, dtype=dtype)
