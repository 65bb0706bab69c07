"""Inference engines behind one small interface (`Engine`): olmoasr's torch network or CTranslate2.

The decoding algorithm (fallback, no-speech, prompts, the long-form window, batched VAD chunks, word
timestamps) is olmoasr's and drives either engine; see `olmoasr.engines.base`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from olmoasr.engines.base import Engine, TokenAlignment

if TYPE_CHECKING:
    from olmoasr.model.network import Whisper

__all__ = ["Engine", "TokenAlignment", "as_engine"]


def as_engine(model: Whisper | Engine) -> Engine:
    """An engine as it is; a torch `Whisper` network wrapped in the torch engine."""
    if isinstance(model, Engine):
        return model
    from olmoasr.engines.torch_engine import TorchEngine
    from olmoasr.model.network import Whisper

    if isinstance(model, Whisper):
        return TorchEngine(model)
    raise TypeError(f"expected an olmoasr Whisper model or an engine, got {type(model).__name__}")


def __getattr__(name: str) -> Any:
    if name == "TorchEngine":
        from olmoasr.engines.torch_engine import TorchEngine

        return TorchEngine
    raise AttributeError(f"module 'olmoasr.engines' has no attribute {name!r}")
