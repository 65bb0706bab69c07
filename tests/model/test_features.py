"""Log-mel features: parity with openai-whisper, the Slaney filterbank, pad/trim, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from olmoasr.audio import write_audio
from olmoasr.model.features import (
    FRAMES_PER_SECOND,
    N_FRAMES,
    N_SAMPLES,
    SAMPLE_RATE,
    TOKENS_PER_SECOND,
    log_mel_batch,
    log_mel_spectrogram,
    mel_filters,
    pad_or_trim,
)


def _tone_and_noise(seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    rng = np.random.default_rng(0)
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)


def test_constants():
    assert (N_SAMPLES, N_FRAMES, FRAMES_PER_SECOND, TOKENS_PER_SECOND) == (480_000, 3000, 100, 50)


@pytest.mark.parametrize("n_mels", [80, 128])
def test_filterbank_shape_and_area(n_mels):
    filters = mel_filters(n_mels)
    assert filters.shape == (n_mels, 201)
    assert (filters >= 0).all()
    assert (filters.sum(dim=1) > 0).all()  # every filter covers at least one FFT bin


@pytest.mark.parametrize("n_mels", [80, 128])
def test_parity_with_openai_whisper(n_mels):
    whisper_audio = pytest.importorskip("whisper.audio")
    audio = _tone_and_noise()
    assert torch.allclose(mel_filters(n_mels), whisper_audio.mel_filters("cpu", n_mels), atol=1e-7)
    ours = log_mel_spectrogram(audio, n_mels, padding=N_SAMPLES)
    theirs = whisper_audio.log_mel_spectrogram(audio, n_mels, padding=N_SAMPLES)
    assert ours.shape == theirs.shape == (n_mels, 300 + N_FRAMES)
    assert (ours - theirs).abs().max() < 1e-5


def test_values_follow_the_log_floor():
    mel = log_mel_spectrogram(_tone_and_noise())
    assert mel.max() - mel.min() <= 2.0 + 1e-6  # floored at max - 8 (log10), scaled by 1/4
    silence = log_mel_spectrogram(np.zeros(16_000, dtype=np.float32))
    assert torch.allclose(silence, torch.full_like(silence, (-10 + 4) / 4))


def test_batched_equals_one_by_one():
    a, b = _tone_and_noise(), _tone_and_noise()[::-1].copy() * 0.1
    batch = log_mel_spectrogram(torch.from_numpy(np.stack([a, b])))
    assert batch.shape == (2, 80, 300)
    assert torch.allclose(batch[0], log_mel_spectrogram(a), atol=1e-6)
    assert torch.allclose(batch[1], log_mel_spectrogram(b), atol=1e-6)


def test_path_input_decodes_audio(tmp_path):
    audio = _tone_and_noise(1.0)
    path = tmp_path / "clip.wav"
    write_audio(str(path), audio)
    from_path = log_mel_spectrogram(str(path))
    assert from_path.shape == (80, 100)
    assert (from_path - log_mel_spectrogram(audio)).abs().max() < 5e-3  # 16-bit WAV quantisation


@pytest.mark.parametrize("kind", ["torch", "numpy"])
def test_pad_or_trim(kind):
    make = torch.ones if kind == "torch" else np.ones
    assert tuple(pad_or_trim(make((2, 5)), 8).shape) == (2, 8)
    assert tuple(pad_or_trim(make((2, 5)), 3).shape) == (2, 3)
    assert tuple(pad_or_trim(make((5, 2)), 7, axis=0).shape) == (7, 2)
    padded = pad_or_trim(make((3,)), 5)
    assert list(padded.tolist()) == [1, 1, 1, 0, 0]
    assert tuple(pad_or_trim(make((N_SAMPLES + 10,))).shape) == (N_SAMPLES,)


@pytest.mark.parametrize(("n_samples", "n_frames"), [(0, 0), (100, 0), (160, 1), (199, 1), (1600, 10)])
def test_very_short_audio(n_samples, n_frames):
    audio = np.full(n_samples, 0.1, dtype=np.float32)
    mel = log_mel_spectrogram(audio)
    assert mel.shape == (80, n_frames)
    assert torch.isfinite(mel).all()


def test_mel_batch_pads_audio_as_a_window_of_silence():
    clips = [_tone_and_noise(3.0), _tone_and_noise(31.0)[::-1].copy() * 0.1, np.zeros(0, dtype=np.float32)]
    batch = log_mel_batch(clips, 80, pad="audio")
    assert batch.shape == (3, 80, N_FRAMES)
    for row, clip in zip(batch, clips, strict=True):
        one = log_mel_spectrogram(pad_or_trim(clip, N_SAMPLES))
        assert (row - one).abs().max() < 1e-5
    assert torch.allclose(batch[0, :, -1], torch.full((80,), batch[0].min().item()))  # the log floor


def test_mel_batch_pads_mel_as_the_long_form_loop_sees_a_window():
    from olmoasr.model.windows import LogMelWindows

    clips = [_tone_and_noise(3.0), _tone_and_noise(12.34), _tone_and_noise(30.0), _tone_and_noise(0.005)]
    batch = log_mel_batch(clips, 128, pad="mel", dtype=torch.float64)
    assert batch.shape == (4, 128, N_FRAMES) and batch.dtype == torch.float64
    for row, clip in zip(batch, clips, strict=True):
        windows = LogMelWindows(clip, 128)
        n_frames = min(N_FRAMES, len(clip) // 160)
        assert (row.float() - windows.window(0, n_frames)).abs().max() < 1e-5
        assert not row[:, n_frames:].any()


def test_mel_batch_of_a_shorter_window_and_bad_input():
    assert log_mel_batch([_tone_and_noise(3.0)], pad="audio", n_samples=32_000).shape == (1, 80, 200)
    assert log_mel_batch([], 80).shape == (0, 80, N_FRAMES)
    with pytest.raises(ValueError, match="pad must be"):
        log_mel_batch([_tone_and_noise(1.0)], pad="zeros")
    with pytest.raises(ValueError, match="pad must be"):
        log_mel_batch([_tone_and_noise(1.0)], pad=["mel", "audio"])
    with pytest.raises(ValueError, match="mono"):
        log_mel_batch([np.zeros((2, 100), dtype=np.float32)])


def test_mel_batch_pads_each_clip_its_own_way_exactly_as_transcribe_or_the_audio_padding():
    from olmoasr.model.windows import LogMelWindows

    clips = [_tone_and_noise(s) for s in (2.5, 12.0, 30.0)] + [_tone_and_noise(0.3)[:1234]]
    mel = log_mel_batch(clips, pad=["mel", "audio", "mel", "mel"])
    for row in (0, 2, 3):  # the spectrogram padding: transcribe's first window of the clip, bit for bit
        windows = LogMelWindows(clips[row], 80)
        assert torch.equal(mel[row], windows.window(0, min(N_FRAMES, windows.content_frames)))
    floor = log_mel_spectrogram(pad_or_trim(torch.from_numpy(clips[1])))  # the audio padding: the log floor
    assert torch.equal(mel[1], floor) and floor[:, 1300:].max() < -0.4
    assert torch.equal(mel[1:2], log_mel_batch(clips[1:2], pad="audio"))
