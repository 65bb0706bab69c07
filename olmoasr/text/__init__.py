"""Text utilities shared by tagging, training metrics and evaluation."""

from olmoasr.text.normalize import normalize_english
from olmoasr.text.wer import WerResult, corpus_wer

__all__ = ["WerResult", "corpus_wer", "normalize_english"]
