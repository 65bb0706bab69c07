"""Raw audio/transcript pairs for the hostile suite, made with PyAV and plain Python (no olmoasr code)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

CODECS = {"mp3": ("libmp3lame", None, {}), "flac": ("flac", None, {}), "m4a": ("aac", "mp4", {"movflags": "faststart"})}


def encode_tone(path: Path, seconds: float, kind: str, rate: int = 16000) -> Path:
    """`seconds` of a 440 Hz tone as MP3, FLAC or M4A (AAC, index first so a cut file still opens)."""
    codec, fmt, options = CODECS[kind]
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format=fmt, options=options) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        size = stream.codec_context.frame_size or 1024
        for start in range(0, len(samples), size):
            chunk = samples[start : start + size]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def cut_in_half(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def srt(cues: list[tuple[float, float, str]]) -> str:
    def stamp(seconds: float) -> str:
        ms = round(seconds * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "".join(f"{i}\n{stamp(a)} --> {stamp(b)}\n{text}\n\n" for i, (a, b, text) in enumerate(cues, 1))


def spoken_cues(seconds: float, step: float = 2.5) -> list[tuple[float, float, str]]:
    words = ["red green", "blue yellow", "black white", "orange purple"]
    return [(t, t + step - 0.5, words[i % 4]) for i, t in enumerate(np.arange(0.5, seconds - step + 0.5, step))]


def make_pair(shard: Path, pair_id: str, seconds: float = 20.0, kind: str = "flac",
              transcript: bytes | None = None) -> Path:  # fmt: skip
    folder = shard / pair_id
    encode_tone(folder / f"audio_{pair_id}.{kind}", seconds, kind)
    text = transcript if transcript is not None else srt(spoken_cues(seconds)).encode()
    (folder / f"transcript_{pair_id}.srt").write_bytes(text)
    return folder
