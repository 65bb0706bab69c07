"""Spoken-language classifiers behind one interface: `classify(waveforms) -> [Prediction | None]`.

voxlingua107 and whisper name the language; whisper-en (an English-only Whisper checkpoint) only tells
confidently-English speech (`en`) from the rest (`un`).

`resolve_model` runs once in the main process (so a missing model or an offline Hub is one clear line
before any work starts); `get_classifier` loads the model once per worker process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from olmoasr.errors import UsageError

BACKENDS = ("voxlingua107", "whisper", "whisper-en")


@dataclass(frozen=True)
class Prediction:
    """Top-1 spoken language of one waveform: a language code as the model names it (e.g. `en`)."""

    language: str
    probability: float


class LanguageClassifier(Protocol):
    name: str

    def classify(self, waves: list[np.ndarray]) -> list[Prediction | None]: ...


def resolve_device(device: str) -> str:
    from olmoasr.model.runtime import resolve_device as resolve

    try:
        return str(resolve(device))
    except UsageError as err:
        raise UsageError(f"--{err}") from None


def resolve_model(backend: str, model: str | None) -> str:
    """A local path the workers can load: a SpeechBrain directory or a Whisper checkpoint file."""
    if backend == "voxlingua107":
        from olmoasr.pipeline.lang_id.speechbrain_format import resolve_model_dir

        return str(resolve_model_dir(model))
    if backend == "whisper":
        from olmoasr.pipeline.lang_id.whisper_lid import resolve_whisper_checkpoint

        return resolve_whisper_checkpoint(model)
    if backend == "whisper-en":
        from olmoasr.pipeline.lang_id.whisper_en import resolve_english_checkpoint

        return resolve_english_checkpoint(model)
    raise UsageError(f"unknown language-ID backend {backend!r} (choose from {', '.join(BACKENDS)})")


_LOADED: dict[tuple[str, str, str, float | None], LanguageClassifier] = {}


def get_classifier(backend: str, model_path: str, device: str, threshold: float | None = None) -> LanguageClassifier:
    """`threshold`: the `whisper-en` backend's average log-probability cut (None: its calibrated default)."""
    key = (backend, model_path, device, threshold)
    if key not in _LOADED:
        if backend == "voxlingua107":
            from olmoasr.pipeline.lang_id.voxlingua import VoxLinguaClassifier

            _LOADED[key] = VoxLinguaClassifier(Path(model_path), device)
        elif backend == "whisper":
            from olmoasr.pipeline.lang_id.whisper_lid import WhisperLanguageClassifier

            _LOADED[key] = WhisperLanguageClassifier(model_path, device)
        elif backend == "whisper-en":
            from olmoasr.pipeline.lang_id.whisper_en import WhisperEnglishClassifier

            _LOADED[key] = WhisperEnglishClassifier(model_path, device, threshold)
        else:
            raise UsageError(f"unknown language-ID backend {backend!r}")
    return _LOADED[key]
