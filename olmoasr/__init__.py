"""olmoasr: open toolkit for Whisper-style speech recognition, from raw web audio to trained models."""

from __future__ import annotations

from olmoasr.lazy import lazy_dir, lazy_exports

__version__ = "0.1.0"

# Lazy, so `import olmoasr` stays light (no torch) for the data-pipeline commands.
_EXPORTS = {
    "load_model": "olmoasr.model.checkpoints",
    "save_model": "olmoasr.model.checkpoints",
    "available_models": "olmoasr.model.hub",
}
__all__ = ["__version__", *_EXPORTS]
__getattr__ = lazy_exports(__name__, _EXPORTS)
__dir__ = lazy_dir(globals(), __all__)
