"""Text -> speech with Debian's `flite` and `espeak-ng` (subprocesses), and compact deterministic encoding.

Every clip goes through `olmoasr.audio.load_audio`, so synthetic speech reaches the pipeline as the
same 16 kHz mono float32 that every other stage sees.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from olmoasr.audio import SAMPLE_RATE, load_audio
from olmoasr.errors import OlmoasrError

ENGINES = ("flite", "espeak-ng")
INSTALL_HINT = "apt-get install flite espeak-ng"


class SynthesizerError(OlmoasrError):
    """A speech synthesiser is missing or failed."""


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker. `speed` > 1 speaks faster; `pitch` is engine-specific (None = default).

    flite: `name` is a built-in voice (rms, slt, awb, kal16), pitch is the mean F0 in Hz.
    espeak-ng: `name` is a voice such as `en-us`, `en-gb+f3`, `de`, `es`; pitch is 0-99.
    """

    engine: str
    name: str
    speed: float = 1.0
    pitch: int | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown speech engine {self.engine!r} (use one of {', '.join(ENGINES)})")
        if not 0.3 <= self.speed <= 3.0:
            raise ValueError(f"voice speed {self.speed} out of range 0.3-3.0")

    @property
    def label(self) -> str:
        pitch = "" if self.pitch is None else f",p{self.pitch}"
        return f"{self.engine}:{self.name}@{self.speed:.2f}{pitch}"


FLITE_RMS = Voice("flite", "rms")


def require_engine(engine: str) -> str:
    """Path of the engine's executable, or a one-line error telling how to install it."""
    if engine not in ENGINES:
        raise SynthesizerError(f"unknown speech engine {engine!r} (use one of {', '.join(ENGINES)})")
    path = shutil.which(engine)
    if path is None:
        raise SynthesizerError(f"{engine} is not installed; install it with: {INSTALL_HINT}")
    return path


@functools.cache
def installed_voices(engine: str) -> tuple[frozenset[str], frozenset[str]]:
    """(voice names, espeak-ng variant names) the installed engine knows, lower-cased.

    Both engines silently fall back to a default voice on an unknown name, so names are checked first.
    """
    exe = require_engine(engine)
    if engine == "flite":
        listing = subprocess.run([exe, "-lv"], capture_output=True, text=True, check=False).stdout
        return frozenset(listing.partition(":")[2].lower().split()), frozenset()
    names, variants = set(), set()
    for line in subprocess.run([exe, "--voices"], capture_output=True, text=True, check=False).stdout.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5:
            names.update({fields[1].lower(), fields[4].rsplit("/", 1)[-1].lower()})
    listing = subprocess.run([exe, "--voices=variant"], capture_output=True, text=True, check=False).stdout
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5 and fields[4].startswith("!v/"):
            variants.add(fields[4][3:].lower())
    return frozenset(names), frozenset(variants)


def require_voice(voice: Voice) -> None:
    names, variants = installed_voices(voice.engine)
    base, _, variant = voice.name.lower().partition("+")
    listing = "flite -lv" if voice.engine == "flite" else "espeak-ng --voices"
    if base not in names:
        raise SynthesizerError(f"{voice.engine} has no voice {voice.name!r} (see `{listing}`)")
    if variant and variant not in variants:
        raise SynthesizerError(f"espeak-ng has no voice variant {variant!r} (see `espeak-ng --voices=variant`)")


def engines_available() -> bool:
    return all(shutil.which(engine) for engine in ENGINES)


def _command(voice: Voice, text: str, wav_path: Path) -> tuple[list[str], bytes | None]:
    exe = require_engine(voice.engine)
    if voice.engine == "flite":
        cmd = [exe, "-voice", voice.name, "--setf", f"duration_stretch={1.0 / voice.speed:.4f}"]
        if voice.pitch is not None:
            cmd += ["--setf", f"int_f0_target_mean={voice.pitch}"]
        return cmd + ["-t", text, "-o", os.fspath(wav_path)], None
    words_per_minute = round(175 * voice.speed)
    cmd = [exe, "-v", voice.name, "-s", str(words_per_minute), "-w", os.fspath(wav_path), "--stdin"]
    if voice.pitch is not None:
        cmd += ["-p", str(voice.pitch)]
    return cmd, text.encode("utf-8")


def synthesize(text: str, voice: Voice = FLITE_RMS, trim: bool = True) -> np.ndarray:
    """Speak `text` with `voice`: 16 kHz mono float32, leading/trailing silence trimmed when `trim`."""
    if not text.strip():
        raise ValueError("synthesize: empty text")
    require_voice(voice)
    with tempfile.TemporaryDirectory(prefix="olmoasr-synth-") as tmp:
        wav_path = Path(tmp) / "speech.wav"
        cmd, stdin = _command(voice, text, wav_path)
        proc = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
        if proc.returncode != 0 or not wav_path.is_file() or wav_path.stat().st_size <= 44:
            detail = " ".join(proc.stderr.decode("utf-8", "replace").split())[:200]
            raise SynthesizerError(f"{voice.engine} failed for voice {voice.name!r} (exit {proc.returncode}) {detail}")
        samples = load_audio(wav_path)
    return trim_silence(samples) if trim else samples


def trim_silence(samples: np.ndarray, margin_s: float = 0.03, threshold: float = 0.02) -> np.ndarray:
    """Cut leading/trailing near-silence (10 ms frames below `threshold` x peak), keeping `margin_s`."""
    if len(samples) == 0:
        return samples
    frame = SAMPLE_RATE // 100
    n_frames = len(samples) // frame
    if n_frames == 0:
        return samples
    levels = np.abs(samples[: n_frames * frame]).reshape(n_frames, frame).max(axis=1)
    loud = np.flatnonzero(levels > threshold * max(float(levels.max()), 1e-6))
    if len(loud) == 0:
        return samples
    margin = int(margin_s * SAMPLE_RATE)
    start = max(0, loud[0] * frame - margin)
    end = min(len(samples), (loud[-1] + 1) * frame + margin)
    return samples[start:end]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)
