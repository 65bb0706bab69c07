"""Text utilities shared by tagging, training metrics and evaluation. Names load lazily (WER needs jiwer)."""

from __future__ import annotations

from olmoasr.lazy import lazy_exports

_EXPORTS = {
    "normalize_english": "olmoasr.text.normalize",
    "WerResult": "olmoasr.text.wer",
    "corpus_wer": "olmoasr.text.wer",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
