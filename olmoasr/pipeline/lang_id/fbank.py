"""Log-mel filterbank features with SpeechBrain's `Fbank` conventions (what the VoxLingua107 ECAPA saw
in training), in plain torch: 25 ms Hamming windows every 10 ms (centred, zero-padded ends), power
spectrum, symmetric triangular filters on the HTK mel scale whose half-width is the spacing to the
previous centre (not Slaney-normalised), 10*log10 with a 1e-10 floor and an 80 dB range below each
utterance's maximum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def hz_to_mel(hz: float | torch.Tensor) -> float | torch.Tensor:
    if isinstance(hz, torch.Tensor):
        return 2595.0 * torch.log10(1.0 + hz / 700.0)
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def triangular_filterbank(
    n_mels: int, n_fft: int = 400, sample_rate: int = 16000, f_min: float = 0.0, f_max: float | None = None
) -> torch.Tensor:
    """(n_fft // 2 + 1, n_mels) matrix. Filter k is centred on mel point k+1 of n_mels+2 equally spaced
    points and falls to zero one left-spacing away on both sides (so the filters are symmetric in Hz)."""
    f_max = sample_rate / 2 if f_max is None else f_max
    mel_points = torch.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2, dtype=torch.float64)
    hz_points = mel_to_hz(mel_points)
    centres = hz_points[1:-1]
    half_widths = (hz_points[1:] - hz_points[:-1])[:-1]
    freqs = torch.linspace(0, sample_rate // 2, n_fft // 2 + 1, dtype=torch.float64)
    slope = (freqs[None, :] - centres[:, None]) / half_widths[:, None]
    filters = torch.clamp(torch.minimum(1.0 + slope, 1.0 - slope), min=0.0)
    return filters.T.to(torch.float32).contiguous()


@dataclass(frozen=True)
class FbankConfig:
    n_mels: int = 60
    sample_rate: int = 16000
    n_fft: int = 400
    win_ms: float = 25.0
    hop_ms: float = 10.0
    f_min: float = 0.0
    f_max: float | None = None
    amin: float = 1e-10
    top_db: float = 80.0

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate / 1000.0 * self.win_ms))

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate / 1000.0 * self.hop_ms))

    def num_frames(self, num_samples: int) -> int:
        """Frames of a centred STFT over `num_samples` samples."""
        return 1 + num_samples // self.hop_length


class Fbank(torch.nn.Module):
    """(batch, samples) float waveforms -> (batch, frames, n_mels) log-mel features in dB."""

    def __init__(self, config: FbankConfig | None = None):
        super().__init__()
        self.config = config or FbankConfig()
        c = self.config
        self.register_buffer("window", torch.hamming_window(c.win_length), persistent=False)
        self.register_buffer(
            "filters", triangular_filterbank(c.n_mels, c.n_fft, c.sample_rate, c.f_min, c.f_max), persistent=False
        )

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        c = self.config
        spec = torch.stft(
            waves.float(),
            n_fft=c.n_fft,
            hop_length=c.hop_length,
            win_length=c.win_length,
            window=self.window,
            center=True,
            pad_mode="constant",
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        power = spec.real.pow(2) + spec.imag.pow(2)  # (batch, freq, frames)
        mel = torch.matmul(power.transpose(1, 2), self.filters)  # (batch, frames, n_mels)
        db = 10.0 * torch.log10(torch.clamp(mel, min=c.amin))
        floor = db.amax(dim=(-2, -1), keepdim=True) - c.top_db
        return torch.maximum(db, floor)


def relative_lengths(num_samples: list[int] | torch.Tensor) -> torch.Tensor:
    """Each waveform's length as a fraction of the longest (SpeechBrain's `wav_lens`)."""
    lengths = torch.as_tensor(num_samples, dtype=torch.float32)
    return lengths / lengths.max().clamp(min=1.0)
