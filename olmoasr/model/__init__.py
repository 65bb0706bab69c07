"""The Whisper-architecture model: tokenizer, features, network, checkpoints (decoding lives beside them).

Names are imported lazily so `import olmoasr.model.tokenizer` does not pull in torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Whisper": "olmoasr.model.network",
    "ResidualAttentionBlock": "olmoasr.model.network",
    "init_fan_in_gaussian_": "olmoasr.model.network",
    "KVCache": "olmoasr.model.kv_cache",
    "ModelDimensions": "olmoasr.model.dims",
    "VARIANTS": "olmoasr.model.dims",
    "get_tokenizer": "olmoasr.model.tokenizer",
    "Tokenizer": "olmoasr.model.tokenizer",
    "LANGUAGES": "olmoasr.model.languages",
    "log_mel_spectrogram": "olmoasr.model.features",
    "pad_or_trim": "olmoasr.model.features",
    "load_model": "olmoasr.model.checkpoints",
    "save_model": "olmoasr.model.checkpoints",
    "read_checkpoint": "olmoasr.model.checkpoints",
    "available_models": "olmoasr.model.hub",
    "default_model_name": "olmoasr.model.hub",
}

__all__ = sorted(_EXPORTS)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'olmoasr.model' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
