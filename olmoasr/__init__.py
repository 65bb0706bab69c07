"""olmoasr: open toolkit for Whisper-style speech recognition, from raw web audio to trained models."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
