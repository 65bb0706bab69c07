"""Builders for raw shard folders: generated audio in many containers/codecs plus SRT/VTT captions."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np

from olmoasr.audio import write_audio
from olmoasr.records.transcripts import Caption, format_transcript

SPANS = [(0.5, 5), (6, 12), (13, 25), (26, 33)]


def tone(seconds: float, rate: int = 16000, freq: float = 220.0, seed: int = 0) -> np.ndarray:
    """A modulated tone with a little noise: varied enough that misplaced cuts show up."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    x = 0.3 * np.sin(2 * np.pi * freq * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
    return (x + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def write_pcm(path: Path, channels: np.ndarray, rate: int) -> None:
    """WAV of any rate / channel count with PyAV (write_audio covers 16 kHz mono only)."""
    layout = "mono" if channels.shape[0] == 1 else "stereo"
    pcm = np.clip(np.round(channels * 32767), -32768, 32767).astype(np.int16)
    with av.open(os.fspath(path), mode="w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(pcm.T.reshape(1, -1).copy(), format="s16", layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def write_video(path: Path, samples: np.ndarray, rate: int = 44100) -> None:
    """An MP4 with a small MPEG-4 video track and an AAC audio track."""
    with av.open(os.fspath(path), mode="w") as container:
        video = container.add_stream("mpeg4", rate=5)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=rate, layout="mono")
        seconds = len(samples) / rate
        for i in range(int(seconds * 5)):
            img = np.full((48, 64, 3), (i * 7) % 255, dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        frame_size = audio.codec_context.frame_size or 1024
        for start in range(0, len(samples), frame_size):
            chunk = samples[start : start + frame_size]
            if len(chunk) < frame_size:
                chunk = np.pad(chunk, (0, frame_size - len(chunk)))
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1).astype(np.float32), format="fltp", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in audio.encode(frame):
                container.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                container.mux(packet)


def write_media(path: Path, kind: str, seconds: float, seed: int = 0) -> None:
    if kind == "stereo44k.wav":
        left, right = tone(seconds, 44100, 220, seed), tone(seconds, 44100, 550, seed + 1)
        write_pcm(path, np.stack([left, right]), 44100)
    elif kind == "8k.wav":
        write_pcm(path, tone(seconds, 8000, 300, seed)[None, :], 8000)
    elif kind == "video.mp4":
        write_video(path, tone(seconds, 44100, 330, seed))
    else:
        write_audio(path, tone(seconds, 16000, 220 + 40 * seed, seed))


def caption_text(pair_id: str, i: int) -> str:
    return f"Caption {i} of {pair_id.replace('_', ' ')}, said clearly."


def make_pair(
    shard_dir: Path,
    pair_id: str,
    kind: str = "wav",
    seconds: float = 40.0,
    spans=SPANS,
    fmt: str = "srt",
    machine: str | None = None,
    seed: int = 0,
) -> Path:
    """shard_dir/<pair_id>/audio_<pair_id>.<ext> + transcript_<pair_id>.<fmt> (+ machine captions)."""
    folder = shard_dir / pair_id
    folder.mkdir(parents=True, exist_ok=True)
    ext = kind.rsplit(".", 1)[-1]
    write_media(folder / f"audio_{pair_id}.{ext}", kind, seconds, seed)
    captions = [Caption(round(a * 1000), round(b * 1000), caption_text(pair_id, i)) for i, (a, b) in enumerate(spans)]
    (folder / f"transcript_{pair_id}.{fmt}").write_text(format_transcript(captions, fmt), encoding="utf-8")
    if machine is not None:
        (folder / f"mach_transcript_{pair_id}.vtt").write_text(machine, encoding="utf-8")
    return folder
