"""Spoken-language identification of segments and per-document majority vote (`olmoasr tag lang`).

Importing this package does not import torch; the model classes load on first use.
"""

from __future__ import annotations

from olmoasr.lazy import lazy_exports

_EXPORTS = {
    "AudioLangReport": "olmoasr.pipeline.lang_id.api",
    "LangIdOptions": "olmoasr.pipeline.lang_id.api",
    "tag_audio_language": "olmoasr.pipeline.lang_id.api",
    "BACKENDS": "olmoasr.pipeline.lang_id.backends",
    "LanguageClassifier": "olmoasr.pipeline.lang_id.backends",
    "Prediction": "olmoasr.pipeline.lang_id.backends",
    "get_classifier": "olmoasr.pipeline.lang_id.backends",
    "resolve_model": "olmoasr.pipeline.lang_id.backends",
    "DocumentVotes": "olmoasr.pipeline.lang_id.votes",
    "majority": "olmoasr.pipeline.lang_id.votes",
    "VOXLINGUA107_REPO": "olmoasr.pipeline.lang_id.speechbrain_format",
    "SpeechBrainLanguageId": "olmoasr.pipeline.lang_id.voxlingua",
    "VoxLinguaClassifier": "olmoasr.pipeline.lang_id.voxlingua",
    "load_speechbrain_model": "olmoasr.pipeline.lang_id.voxlingua",
    "save_speechbrain_model": "olmoasr.pipeline.lang_id.voxlingua",
    "WhisperLanguageClassifier": "olmoasr.pipeline.lang_id.whisper_lid",
    "WhisperEnglishClassifier": "olmoasr.pipeline.lang_id.whisper_en",
    "EnglishSpeechScore": "olmoasr.pipeline.lang_id.whisper_en",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
