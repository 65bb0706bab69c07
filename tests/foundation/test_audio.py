import numpy as np
import pytest

from olmoasr.audio import encode_flac, iter_audio, load_audio, probe_duration, write_audio
from olmoasr.errors import AudioError


def tone(seconds=2.0, sr=16000, freq=440.0, amp=0.3):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3", ".m4a", ".ogg"])
def test_each_codec_decodes_to_16k_mono(tmp_path, suffix):
    path = tmp_path / f"a{suffix}"
    write_audio(path, tone())
    audio = load_audio(path)
    assert audio.dtype == np.float32
    # lossy codecs add encoder delay / frame padding (AAC: ~1-2 frames)
    assert abs(len(audio) / 16000 - 2.0) < 0.15
    assert abs(probe_duration(path) - 2.0) < 0.15
    assert 0.25 < np.abs(audio).max() < 0.35


def test_stereo_441k_downmix_matches_ffmpeg_ac1_and_channel_pick(tmp_path):
    import av

    sr = 44100
    left, right = tone(1.0, sr, 440, 0.6), tone(1.0, sr, 440, 0.6)
    path = tmp_path / "stereo.wav"
    with av.open(str(path), "w", format="wav") as c:
        s = c.add_stream("pcm_s16le", rate=sr, layout="stereo")
        pcm = np.stack([left, right * 0.0]).T.copy()  # right channel silent
        data = (pcm * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout="stereo")
        frame.sample_rate = sr
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    mixed = load_audio(path)
    first = load_audio(path, channel=0)
    assert abs(len(mixed) - 16000) < 50
    # ffmpeg -ac 1 averages channels: half amplitude, never above 1.0
    assert np.abs(mixed).max() == pytest.approx(0.3, abs=0.02)
    assert np.abs(first).max() == pytest.approx(0.6, abs=0.02)
    with pytest.raises(AudioError, match="channel 5"):
        load_audio(path, channel=5)


def test_flac_bytes_are_lossless_at_16_bit():
    x = tone(3.0)
    data = encode_flac(x)
    y = load_audio(data)
    assert len(y) == len(x)
    assert np.abs(y - x).max() < 1 / 32768 + 1e-6
    assert len(data) < x.size * 2  # smaller than 16-bit PCM


def test_streaming_yields_bounded_chunks(tmp_path):
    path = tmp_path / "long.flac"
    write_audio(path, tone(20.0))
    sizes = [len(c) for c in iter_audio(path)]
    assert sum(sizes) == 320000
    assert max(sizes) < 16000


@pytest.mark.parametrize(
    ("content", "reason"), [(None, "missing_audio"), (b"", "empty_audio"), (b"\x00garbage" * 64, "corrupt_audio")]
)
def test_bad_audio_is_a_typed_one_line_error(tmp_path, content, reason):
    path = tmp_path / "bad.mp3"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AudioError) as info:
        load_audio(path)
    assert info.value.reason == reason
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)
