"""olmoasr: open toolkit for Whisper-style speech recognition, from raw web audio to trained models."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_model", "save_model", "available_models"]

_LAZY = {
    "load_model": "olmoasr.model.checkpoints",
    "save_model": "olmoasr.model.checkpoints",
    "available_models": "olmoasr.model.hub",
}


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> Any:
    # Lazy, so `import olmoasr` stays light (no torch) for the data-pipeline commands.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'olmoasr' has no attribute {name!r}")
