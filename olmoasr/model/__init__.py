"""The Whisper-architecture model: tokenizer, features, network, checkpoints (decoding lives beside them).

Names are imported lazily so `import olmoasr.model.tokenizer` does not pull in torch.
"""

from __future__ import annotations

from olmoasr.lazy import lazy_dir, lazy_exports

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
__getattr__ = lazy_exports(__name__, _EXPORTS)
__dir__ = lazy_dir(globals(), _EXPORTS)
