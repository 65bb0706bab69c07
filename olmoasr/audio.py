"""Audio I/O with PyAV (FFmpeg in the wheel, no system ffmpeg): the ONE loader used by prep, training,
tagging, evaluation and inference, so every stage sees the same samples.

Samples are 16 kHz mono float32 in [-1, 1). Stereo is downmixed like `ffmpeg -ac 1` by resampling to
16-bit mono first (PyAV's float downmix is ~1.41x louder and can exceed 1.0; via s16 it matches ffmpeg
to 1 LSB); `channel=N` picks one channel instead.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from olmoasr.errors import AudioError
from olmoasr.io.storage import as_path, is_remote, is_url

SAMPLE_RATE = 16000

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
        if not path.exists():
            raise AudioError(name, "missing_audio", "audio file not found")
        if path.is_file() and path.stat().st_size == 0:
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


def iter_audio(
    source: AudioSource,
    sample_rate: int = SAMPLE_RATE,
    channel: int | None = None,
) -> Iterator[np.ndarray]:
    """Decode `source` once, streaming, yielding float32 mono chunks at `sample_rate`.

    Memory stays bounded by one decoded frame, whatever the file's length.
    """
    name = _name(source)
    with open_container(source) as container:
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        n_channels = stream.codec_context.channels or 1
        if channel is not None and not 0 <= channel < n_channels:
            raise AudioError(name, "bad_channel", f"channel {channel} requested, file has {n_channels}")
        if channel is None:
            resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        else:
            resampler = av.AudioResampler(format="s16p", rate=sample_rate)
        try:
            for frame in container.decode(stream):
                frame.pts = None
                for out in resampler.resample(frame):
                    yield _to_float(out, channel)
            for out in resampler.resample(None):
                yield _to_float(out, channel)
        except av.error.FFmpegError as err:
            raise AudioError(name, "corrupt_audio", f"decoding failed ({_short(err)})") from None


def _to_float(frame: av.AudioFrame, channel: int | None) -> np.ndarray:
    data = frame.to_ndarray()
    row = data[0] if channel is None else data[channel]
    return row.astype(np.float32) / 32768.0


def load_audio(source: AudioSource, sample_rate: int = SAMPLE_RATE, channel: int | None = None) -> np.ndarray:
    """The whole file as one float32 mono array at `sample_rate`."""
    chunks = list(iter_audio(source, sample_rate=sample_rate, channel=channel))
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks)


def encode_flac(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Lossless 16-bit FLAC bytes of a float32 (or int16) mono signal."""
    if samples.dtype != np.int16:
        samples = np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="flac") as container:
        stream = container.add_stream("flac", rate=sample_rate, layout="mono")
        stream.codec_context.format = "s16"
        frame_size = 4608
        for start in range(0, max(len(samples), 1), frame_size):
            chunk = samples[start : start + frame_size]
            if len(chunk) == 0:
                break
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = sample_rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


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
        pcm = (
            np.clip(np.round(resampled * 32768.0), -32768, 32767).astype(np.int16) if sample_fmt == "s16" else resampled
        )
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
