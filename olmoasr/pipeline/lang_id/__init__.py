"""Spoken-language identification of segments and per-document majority vote (`olmoasr tag lang`)."""

from olmoasr.pipeline.lang_id.api import AudioLangReport, LangIdOptions, tag_audio_language
from olmoasr.pipeline.lang_id.backends import BACKENDS, LanguageClassifier, get_classifier, resolve_model
from olmoasr.pipeline.lang_id.speechbrain_format import VOXLINGUA107_REPO
from olmoasr.pipeline.lang_id.votes import DocumentVotes, majority
from olmoasr.pipeline.lang_id.voxlingua import (
    Prediction,
    SpeechBrainLanguageId,
    VoxLinguaClassifier,
    load_speechbrain_model,
    save_speechbrain_model,
)

__all__ = [
    "BACKENDS",
    "VOXLINGUA107_REPO",
    "AudioLangReport",
    "DocumentVotes",
    "LangIdOptions",
    "LanguageClassifier",
    "Prediction",
    "SpeechBrainLanguageId",
    "VoxLinguaClassifier",
    "get_classifier",
    "load_speechbrain_model",
    "majority",
    "resolve_model",
    "save_speechbrain_model",
    "tag_audio_language",
]
