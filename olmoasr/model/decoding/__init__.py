"""Decoding 30-second windows: options, logit filters, search strategies, language id, temperature fallback.

`decode(model, mel, options)` is the entry point; `olmoasr.model.transcribe` builds long-form
transcription on top of it.
"""

from olmoasr.model.decoding.fallback import DEFAULT_TEMPERATURES, FallbackPolicy, decode_with_fallback
from olmoasr.model.decoding.options import DecodingOptions, DecodingOptionsError, DecodingResult
from olmoasr.model.decoding.task import DecodingTask, compression_ratio, decode, detect_language

__all__ = [
    "DEFAULT_TEMPERATURES",
    "DecodingOptions",
    "DecodingOptionsError",
    "DecodingResult",
    "DecodingTask",
    "FallbackPolicy",
    "compression_ratio",
    "decode",
    "decode_with_fallback",
    "detect_language",
]
