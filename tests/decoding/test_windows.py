"""The streamed, block-wise log-mel equals the one-piece spectrogram; memory stays bounded for long files."""

from __future__ import annotations

import resource

import numpy as np
import pytest
import torch

from olmoasr.audio import load_audio, write_audio
from olmoasr.model import windows
from olmoasr.model.features import N_FRAMES, N_SAMPLES, log_mel_spectrogram
from olmoasr.model.windows import LogMelWindows


@pytest.mark.parametrize("n_samples", [0, 50, 1600, 16000 * 7 + 13, 16000 * 65 + 77])
def test_blockwise_log_mel_equals_whole(monkeypatch, n_samples):
    monkeypatch.setattr(windows, "BLOCK_FRAMES", 2000)  # many blocks even for a short clip
    audio = np.random.default_rng(n_samples).standard_normal(n_samples).astype(np.float32) * 0.1
    expected = log_mel_spectrogram(audio, 80, padding=N_SAMPLES)
    mel = LogMelWindows(audio, 80)
    assert mel.mel.shape == expected.shape
    torch.testing.assert_close(mel.mel, expected, atol=1e-5, rtol=0)
    assert mel.content_frames == n_samples // 160
    assert mel.window(mel.content_frames, 0).shape == (80, N_FRAMES)


def test_from_file_matches_array(tmp_path):
    audio = (np.sin(np.arange(16000 * 3) * 0.05) * 0.3).astype(np.float32)
    write_audio(tmp_path / "tone.flac", audio)
    decoded = load_audio(tmp_path / "tone.flac")  # 16-bit FLAC: compare against the decoded samples
    torch.testing.assert_close(LogMelWindows(tmp_path / "tone.flac", 80).mel, LogMelWindows(decoded, 80).mel)


@pytest.mark.slow
def test_one_hour_file_memory_is_bounded(tmp_path):
    hour = (np.sin(np.arange(16000 * 3600) * 0.01) * 0.1).astype(np.float32)
    path = tmp_path / "hour.flac"
    write_audio(path, hour)
    del hour
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    mel = LogMelWindows(path, 80)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    assert mel.content_frames == 360_000
    # the log-mel itself is 115 MB; a one-piece STFT of the hour would need well over 1 GB
    assert grown < 400 * 2**20
