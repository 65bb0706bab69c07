"""Audio I/O with PyAV (FFmpeg in the wheel, no system ffmpeg): the ONE loader used by prep, training,
tagging, evaluation and inference, so every stage sees the same samples.

Samples are 16 kHz mono float32 in [-1, 1). Stereo is downmixed like `ffmpeg -ac 1` by resampling to
16-bit mono first (PyAV's float downmix is ~1.41x louder and can exceed 1.0; via s16 it matches ffmpeg
to 1 LSB); `channel=N` picks one channel instead.

Encoding lives here too: `encode_flac` (segment audio), `encode_audio` (reproducible bytes in any of
`AUDIO_SUFFIXES`, for synthetic data) and `write_audio` (test and sample files).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import av
import numpy as np

from olmoasr.errors import AudioError
from olmoasr.io.storage import as_path, is_remote, is_url

SAMPLE_RATE = 16000
PCM16_SCALE = 32768.0
# decode_window decodes from the start for windows starting in the first minute, seeks for later ones,
# landing this far before the window so the decoder and resampler settle.
SEEK_AFTER_MS = 60_000
SEEK_MARGIN_S = 2.0

AudioSource = str | os.PathLike[str] | bytes | BinaryIO  # or a UPath (object storage)

AUDIO_EXTENSIONS = frozenset(
    {
        ".wav",
        ".flac",
        ".mp3",
        ".m4a",
        ".aac",
        ".ogg",
        ".opus",
        ".oga",
        ".wma",
        ".webm",
        ".mp4",
        ".mkv",
        ".mov",
        ".avi",
        ".m4v",
        ".3gp",
        ".amr",
        ".aiff",
        ".aif",
        ".au",
        ".caf",
        ".mka",
    }
)


def is_media_file(path: str | os.PathLike[str]) -> bool:
    return os.path.splitext(str(path))[1].lower() in AUDIO_EXTENSIONS


def _name(source: AudioSource) -> str:
    if isinstance(source, bytes):
        return "<bytes>"
    if isinstance(source, str | os.PathLike) or is_remote(source):
        return str(source)
    return getattr(source, "name", "<stream>")


@contextlib.contextmanager
def open_container(source: AudioSource) -> Iterator[av.container.InputContainer]:
    """An opened PyAV container with at least one audio stream; typed `AudioError`s for what a user can
    fix. A URL (`s3://...`) is read as a stream through fsspec."""
    name = _name(source)
    stream_in: BinaryIO | None = None
    if is_remote(source) or (isinstance(source, str) and is_url(source)):
        try:
            stream_in = as_path(source).open("rb")
        except FileNotFoundError:
            raise AudioError(name, "missing_audio", "audio file not found") from None
        if getattr(stream_in, "size", None) == 0:  # fsspec files know their size from opening
            stream_in.close()
            raise AudioError(name, "empty_audio", "audio file is empty (0 bytes)")
        target: str | BinaryIO = stream_in
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        try:  # loops, permissions and folders fail here and are named as such (not "corrupt")
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise AudioError(name, "unreadable_audio", "not a regular file")
            with open(path, "rb"):
                pass
        except FileNotFoundError:
            raise AudioError(name, "missing_audio", "audio file not found") from None
        except OSError as err:
            raise AudioError(name, "unreadable_audio", f"cannot read ({err.strerror or type(err).__name__})") from None
        if info.st_size == 0:
            raise AudioError(name, "empty_audio", "audio file is empty (0 bytes)")
        target = os.fspath(path)
    elif isinstance(source, bytes):
        if not source:
            raise AudioError(name, "empty_audio", "audio data is empty (0 bytes)")
        target = io.BytesIO(source)
    else:
        target = source
    try:
        try:
            container = av.open(target, mode="r", metadata_errors="ignore")
        except (av.error.FFmpegError, OSError, ValueError) as err:
            raise AudioError(name, "corrupt_audio", f"cannot open audio ({_short(err)})") from None
        with container:
            if not container.streams.audio:
                raise AudioError(name, "no_audio_stream", "file has no audio stream")
            yield container
    finally:
        if stream_in is not None:
            stream_in.close()


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:160] or type(err).__name__


def probe_duration(source: AudioSource) -> float:
    """Audio duration in seconds from the container header (no decoding when the header knows it)."""
    name = _name(source)
    with open_container(source) as container:
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = None
    if duration is None or duration <= 0:
        # No usable header: decode (streaming) and count samples.
        samples = sum(len(chunk) for chunk in iter_audio(source))
        duration = samples / SAMPLE_RATE
    if duration <= 0:
        raise AudioError(name, "empty_audio", "audio has zero duration")
    return duration


# A file counts as whole when audio decodes to within this of its header's duration (codec priming and
# padding differ by tens of milliseconds between the header and what decodes).
DURATION_TOLERANCE_S = 0.25


def decoded_duration(source: AudioSource, header_s: float, tail_s: float = 2.0) -> float:
    """How long `source` really is: `header_s` when its last `tail_s` seconds decode, else the length of
    what decodes. A file cut short (a half-downloaded MP3, a truncated FLAC) keeps the header of the
    whole file; only decoding finds out. Whole files cost one seek and `tail_s` of decoding."""
    end = None
    with open_container(source) as container:
        stream = container.streams.audio[0]
        if stream.time_base is not None:
            with contextlib.suppress(av.error.FFmpegError, OSError, ValueError):
                container.seek(int(max(0.0, header_s - tail_s) / stream.time_base), stream=stream, backward=True)
                for frame in container.decode(stream):
                    if frame.time is not None and frame.sample_rate:
                        end = frame.time + frame.samples / frame.sample_rate
    if end is not None and end >= header_s - DURATION_TOLERANCE_S:
        return header_s
    samples = 0
    with contextlib.suppress(AudioError):  # a cut file may end mid-frame: count what decoded before that
        for pcm in iter_pcm16(source):
            samples += len(pcm)
    return samples / SAMPLE_RATE


def iter_pcm16(
    source: AudioSource,
    sample_rate: int = SAMPLE_RATE,
    channel: int | None = None,
) -> Iterator[np.ndarray]:
    """Decode `source` once, streaming, yielding int16 mono chunks at `sample_rate`.

    Memory stays bounded by one decoded frame, whatever the file's length. Prep cuts and FLAC-encodes
    these samples as they are; `iter_audio` is the same stream as float32.
    """
    name = _name(source)
    with open_container(source) as container:
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        _check_channel(name, stream, channel)
        yield from _resampled(name, container.decode(stream), _resampler(sample_rate, channel), channel)


def iter_audio(
    source: AudioSource,
    sample_rate: int = SAMPLE_RATE,
    channel: int | None = None,
) -> Iterator[np.ndarray]:
    """Decode `source` once, streaming, yielding float32 mono chunks at `sample_rate`."""
    for pcm in iter_pcm16(source, sample_rate=sample_rate, channel=channel):
        yield pcm16_to_float(pcm)


def pcm16_to_float(pcm: np.ndarray) -> np.ndarray:
    """int16 samples -> float32 in [-1, 1): the one 16-bit scale (2**15) of the whole toolkit."""
    return pcm.astype(np.float32) / PCM16_SCALE


def float_to_pcm16(samples: np.ndarray) -> np.ndarray:
    """float32 samples -> int16 on the same scale, rounded and clipped (exact for decoded 16-bit audio)."""
    return np.clip(np.round(samples * PCM16_SCALE), -32768, 32767).astype(np.int16)


def _resampler(sample_rate: int, channel: int | None) -> av.AudioResampler:
    if channel is None:
        return av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
    return av.AudioResampler(format="s16p", rate=sample_rate)


def _check_channel(name: str, stream: av.audio.stream.AudioStream, channel: int | None) -> None:
    n_channels = stream.codec_context.channels or 1
    if channel is not None and not 0 <= channel < n_channels:
        raise AudioError(name, "bad_channel", f"channel {channel} requested, file has {n_channels}")


def _resampled(
    name: str, frames: Iterator[av.AudioFrame], resampler: av.AudioResampler, channel: int | None
) -> Iterator[np.ndarray]:
    """int16 rows of `frames` through `resampler`, which is flushed at the end of the stream."""
    try:
        for frame in frames:
            frame.pts = None
            for out in resampler.resample(frame):
                yield _row(out, channel)
        for out in resampler.resample(None):
            yield _row(out, channel)
    except av.error.FFmpegError as err:
        raise AudioError(name, "corrupt_audio", f"decoding failed ({_short(err)})") from None


def _row(frame: av.AudioFrame, channel: int | None) -> np.ndarray:
    data = frame.to_ndarray()
    return data[0] if channel is None else data[channel]


def load_audio(source: AudioSource, sample_rate: int = SAMPLE_RATE, channel: int | None = None) -> np.ndarray:
    """The whole file as one float32 mono array at `sample_rate`."""
    chunks = list(iter_pcm16(source, sample_rate=sample_rate, channel=channel))
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return pcm16_to_float(np.concatenate(chunks))


def decode_window(source: AudioSource, start_ms: int, end_ms: int, channel: int | None = None) -> np.ndarray:
    """float32 samples [start_ms, end_ms) of a recording, equal to that slice of `load_audio`.

    Windows starting within the first minute are cut from a decode from the start (cheap, exact); later
    ones seek near their start instead. Seeking is exact for PCM, FLAC, MP3 and Opus at any sample rate;
    AAC differs by a few LSB (its noise substitution depends on the decoding history).
    """
    first = start_ms * SAMPLE_RATE // 1000
    last = end_ms * SAMPLE_RATE // 1000
    if last <= first:
        return np.zeros(0, dtype=np.float32)
    if start_ms < SEEK_AFTER_MS:
        return pcm16_to_float(_slice(iter_pcm16(source, channel=channel), 0, first, last))
    return pcm16_to_float(_seeked_slice(source, first, last, channel))


def _slice(chunks: Iterator[np.ndarray], origin: int, first: int, last: int) -> np.ndarray:
    """Samples [first, last) of a stream of int16 chunks whose first sample has index `origin`."""
    parts = []
    pos = origin
    for chunk in chunks:
        end = pos + len(chunk)
        if end > first:
            parts.append(chunk[max(0, first - pos) : last - pos])
        pos = end
        if pos >= last:
            break
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


def _seeked_slice(source: AudioSource, first: int, last: int, channel: int | None) -> np.ndarray:
    name = _name(source)
    with open_container(source) as container:
        stream = container.streams.audio[0]
        _check_channel(name, stream, channel)
        target_s = max(0.0, first / SAMPLE_RATE - SEEK_MARGIN_S)
        container.seek(int(target_s * av.time_base), any_frame=False, backward=True)
        # A full decode counts samples from the stream's first frame, whose pts can be > 0 (MP3/AAC
        # encoder delay): measure positions from there too.
        t0 = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        frames = container.decode(stream)
        try:
            start = _first_frame_on_grid(frames, t0, target_s)
        except av.error.FFmpegError as err:
            raise AudioError(name, "corrupt_audio", f"decoding failed ({_short(err)})") from None
        if start is None:
            return np.zeros(0, dtype=np.int16)
        origin, frame = start
        chunks = _resampled(name, itertools.chain([frame], frames), _resampler(SAMPLE_RATE, channel), channel)
        return _slice(chunks, origin, first, last)


def _first_frame_on_grid(
    frames: Iterator[av.AudioFrame], t0: float, target_s: float
) -> tuple[int, av.AudioFrame] | None:
    """The first decoded frame, trimmed to start on an input sample where the full decode's 16 kHz grid
    has a sample too (every 441st at 44.1 kHz): the resampler then has the same filter phase and gives
    the same output samples. Returns (index of its first output sample, frame)."""
    for frame in frames:
        t = float(frame.pts * frame.time_base) if frame.pts is not None else target_s
        rate_in = frame.sample_rate
        period = rate_in // math.gcd(rate_in, SAMPLE_RATE)
        first_in = round((t - t0) * rate_in)
        skip = -first_in % period
        if skip >= frame.samples:
            continue
        if skip:
            frame = _drop_leading_samples(frame, skip)
        return (first_in + skip) * SAMPLE_RATE // rate_in, frame
    return None


def _drop_leading_samples(frame: av.AudioFrame, n: int) -> av.AudioFrame:
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    data = data[:, n:] if frame.format.is_planar else data[:, n * channels :]
    out = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=frame.format.name, layout=frame.layout.name)
    out.sample_rate = frame.sample_rate
    return out


def encode_flac(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Lossless 16-bit FLAC bytes of a float32 (or int16) mono signal."""
    if samples.dtype != np.int16:
        samples = float_to_pcm16(samples)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="flac") as container:
        stream = container.add_stream("flac", rate=sample_rate, layout="mono")
        stream.codec_context.format = "s16"
        _encode_mono_s16(container, stream, samples, sample_rate, frame_size=4608)
    return buf.getvalue()


def _encode_mono_s16(container: Any, stream: Any, pcm: np.ndarray, sample_rate: int, frame_size: int) -> None:
    """Feed int16 mono samples to `stream` in frames of `frame_size`, flush the encoder, mux every packet."""
    for start in range(0, len(pcm), frame_size):
        frame = av.AudioFrame.from_ndarray(pcm[start : start + frame_size].reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def write_audio(path: str | os.PathLike[str], samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write a mono float32 signal to any container/codec FFmpeg infers from the suffix (tests, samples)."""
    fmt_codec = {
        ".wav": ("wav", "pcm_s16le", "s16"),
        ".flac": ("flac", "flac", "s16"),
        ".mp3": ("mp3", "libmp3lame", "fltp"),
        ".m4a": ("mp4", "aac", "fltp"),
        ".ogg": ("ogg", "libopus", "flt"),
        ".opus": ("ogg", "libopus", "flt"),
    }
    suffix = Path(path).suffix.lower()
    if suffix not in fmt_codec:
        raise ValueError(f"write_audio: unsupported suffix {suffix}")
    fmt, codec, sample_fmt = fmt_codec[suffix]
    rate = 48000 if codec == "libopus" else sample_rate
    if rate != sample_rate:
        resampled = np.interp(
            np.arange(int(len(samples) * rate / sample_rate)) * (sample_rate / rate),
            np.arange(len(samples)),
            samples,
        ).astype(np.float32)
    else:
        resampled = samples.astype(np.float32)
    with av.open(os.fspath(path), mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        frame_size = stream.codec_context.frame_size or 1024
        pcm = float_to_pcm16(resampled) if sample_fmt == "s16" else resampled
        for start in range(0, len(pcm), frame_size):
            chunk = pcm[start : start + frame_size]
            if sample_fmt == "fltp" and len(chunk) < frame_size:
                chunk = np.pad(chunk, (0, frame_size - len(chunk)))
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format=sample_fmt, layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


# encode_audio: suffix -> (container format, codec, default bit rate in bit/s; None = lossless)
_CODECS: dict[str, tuple[str, str, int | None]] = {
    ".wav": ("wav", "pcm_s16le", None),
    ".flac": ("flac", "flac", None),
    ".mp3": ("mp3", "libmp3lame", 24_000),
    ".m4a": ("mp4", "aac", 32_000),
    ".ogg": ("ogg", "libopus", 16_000),
    ".opus": ("ogg", "libopus", 16_000),
}
AUDIO_SUFFIXES = tuple(_CODECS)


def encode_audio(samples: np.ndarray, suffix: str, bit_rate: int | None = None) -> bytes:
    """Encode 16 kHz mono float32 samples into the container/codec of `suffix`, byte-for-byte reproducibly.

    Lossy codecs default to low speech bit rates (mp3 24k, aac 32k, opus 16k) to keep sample data small;
    `bitexact` keeps random stream serials and version strings out of the bytes.
    """
    suffix = suffix.lower()
    if suffix not in _CODECS:
        raise ValueError(f"encode_audio: unsupported suffix {suffix!r} (use one of {', '.join(_CODECS)})")
    fmt, codec, default_rate = _CODECS[suffix]
    pcm = float_to_pcm16(np.asarray(samples, dtype=np.float32))
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt, options={"fflags": "+bitexact"}) as container:
        # libopus at its default complexity 10 encodes only ~40x real time; 5 is twice as fast, same size
        options = {"compression_level": "5"} if codec == "libopus" else {}
        stream = container.add_stream(codec, rate=SAMPLE_RATE, layout="mono", options=options)
        if default_rate is not None:
            stream.bit_rate = bit_rate or default_rate
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        # one second per frame; the encoder re-frames internally
        _encode_mono_s16(container, stream, pcm, SAMPLE_RATE, frame_size=SAMPLE_RATE)
    return buf.getvalue()
