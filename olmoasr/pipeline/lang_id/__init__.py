"""Spoken-language identification of segments and per-document majority vote (`olmoasr tag lang`).

Importing this package does not import torch; the model classes load on first use.
"""

from __future__ import annotations

from typing import Any

from olmoasr.pipeline.lang_id.api import AudioLangReport, LangIdOptions, tag_audio_language
from olmoasr.pipeline.lang_id.backends import BACKENDS, LanguageClassifier, Prediction, get_classifier, resolve_model
from olmoasr.pipeline.lang_id.votes import DocumentVotes, majority

_LAZY = {
    "VOXLINGUA107_REPO": "olmoasr.pipeline.lang_id.speechbrain_format",
    "SpeechBrainLanguageId": "olmoasr.pipeline.lang_id.voxlingua",
    "VoxLinguaClassifier": "olmoasr.pipeline.lang_id.voxlingua",
    "load_speechbrain_model": "olmoasr.pipeline.lang_id.voxlingua",
    "save_speechbrain_model": "olmoasr.pipeline.lang_id.voxlingua",
    "WhisperLanguageClassifier": "olmoasr.pipeline.lang_id.whisper_lid",
    "WhisperEnglishClassifier": "olmoasr.pipeline.lang_id.whisper_en",
    "EnglishSpeechScore": "olmoasr.pipeline.lang_id.whisper_en",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BACKENDS",
    "AudioLangReport",
    "DocumentVotes",
    "LangIdOptions",
    "LanguageClassifier",
    "Prediction",
    "get_classifier",
    "majority",
    "resolve_model",
    "tag_audio_language",
    *_LAZY,
]
