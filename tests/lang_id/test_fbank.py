"""Fbank features against a hand computation with numpy (SpeechBrain's conventions written out)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from olmoasr.pipeline.lang_id.fbank import Fbank, FbankConfig, relative_lengths, triangular_filterbank


def hand_filterbank(n_mels: int, n_fft: int = 400, sr: int = 16000) -> np.ndarray:
    mel = lambda f: 2595 * math.log10(1 + f / 700)  # noqa: E731
    points = np.linspace(mel(0), mel(sr / 2), n_mels + 2)
    hz = 700 * (10 ** (points / 2595) - 1)
    freqs = np.linspace(0, sr // 2, n_fft // 2 + 1)
    bank = np.zeros((freqs.size, n_mels))
    for k in range(n_mels):
        centre, width = hz[k + 1], hz[k + 1] - hz[k]
        for j, f in enumerate(freqs):
            bank[j, k] = max(0.0, 1 - abs(f - centre) / width)
    return bank


def test_filterbank_matches_hand_computed_triangles():
    ours = triangular_filterbank(8).numpy()
    assert ours.shape == (201, 8)
    np.testing.assert_allclose(ours, hand_filterbank(8), atol=1e-6)
    # The first filter of 8 peaks near 2595*log10(1+f/700) spacing: centre ~ 257 Hz -> bin 6 (40 Hz bins).
    assert int(np.argmax(ours[:, 0])) == round(700 * (10 ** ((2595 * math.log10(1 + 8000 / 700)) / 9 / 2595) - 1) / 40)


def hand_fbank(wave: np.ndarray, n_mels: int) -> np.ndarray:
    n_fft, hop = 400, 160
    window = 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(400) / 400)  # periodic Hamming, 25 ms
    padded = np.pad(wave.astype(np.float64), (n_fft // 2, n_fft // 2))
    frames = 1 + len(wave) // hop
    bank = hand_filterbank(n_mels)
    out = np.zeros((frames, n_mels))
    for t in range(frames):
        spectrum = np.fft.rfft(padded[t * hop : t * hop + n_fft] * window)
        out[t] = 10 * np.log10(np.maximum(np.abs(spectrum) ** 2 @ bank, 1e-10))
    return np.maximum(out, out.max() - 80.0)


def test_fbank_values_and_shape_match_hand_computation():
    rng = np.random.default_rng(1)
    t = np.arange(4000) / 16000
    wave = (0.5 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    feats = Fbank(FbankConfig(n_mels=24))(torch.from_numpy(wave)[None])
    assert feats.shape == (1, 1 + 4000 // 160, 24)
    np.testing.assert_allclose(feats[0].numpy(), hand_fbank(wave, 24), atol=2e-3)


def test_fbank_clips_to_80_db_below_each_utterance_maximum():
    loud = np.zeros(3200, dtype=np.float32)
    loud[:1600] = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(1600) / 16000)
    feats = Fbank(FbankConfig(n_mels=10))(torch.from_numpy(np.stack([loud, loud * 0.1])))
    for row in feats:
        assert float(row.min()) == pytest.approx(float(row.max()) - 80.0, abs=1e-4)
    # The quieter copy (-20 dB) keeps its own 80 dB range.
    assert float(feats[0].max() - feats[1].max()) == pytest.approx(20.0, abs=0.01)


def test_frame_count_and_relative_lengths():
    config = FbankConfig()
    assert (config.win_length, config.hop_length) == (400, 160)
    assert config.num_frames(16000) == 101
    np.testing.assert_allclose(relative_lengths([8000, 16000, 4000]).numpy(), [0.5, 1.0, 0.25])
